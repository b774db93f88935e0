"""An ingest killed at any moment leaves nothing half-written, and the next run repairs it."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archive.config import InstancePaths
from archive.index import SearchIndex

ARTICLES = 2400


def _write_corpus(folder: Path) -> None:
    """Many distinct small articles in JSON Lines files, so an ingest runs for a few seconds."""
    folder.mkdir(parents=True)
    for file_number in range(12):
        with open(folder / f"feed-{file_number}.jsonl", "w", encoding="utf-8") as out:
            for n in range(ARTICLES // 12):
                serial = file_number * 1000 + n
                body = " ".join(f"Paragraph {p} of report {serial} on the harbour works."
                                for p in range(20))
                out.write(json.dumps({"title": f"Report {serial}", "text": body,
                                      "date": f"2024-01-{1 + serial % 28:02d}",
                                      "outlet": f"Outlet {serial % 7}"}) + "\n")


def _ingest(instance: Path, corpus: Path, *, output: int = subprocess.DEVNULL
            ) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "archive.cli", "--instance", str(instance),
                             "ingest", str(corpus)], stdout=output, stderr=output)


def _stored(instance: Path) -> int:
    database = instance / "archive.db"
    if not database.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as connection:
            return connection.execute("SELECT count(*) FROM articles").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # the schema is still being created


def _kill(process: subprocess.Popen[bytes], instance: Path, when: str | float) -> None:
    """SIGKILL the ingest right after its next batch commit, or after some seconds."""
    if isinstance(when, float):
        time.sleep(when)
    else:
        before = _stored(instance)
        deadline = time.monotonic() + 120
        while _stored(instance) <= before and process.poll() is None:
            assert time.monotonic() < deadline, "ingest made no progress"
            time.sleep(0.01)
    assert process.poll() is None, "the ingest finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


# A commit is followed by indexing and marking: killing just after it lands between them.
@pytest.mark.parametrize("kill_points", [("commit", "commit"), (1.5, "commit", 2.0)])
def test_sigkill_during_ingest_loses_and_duplicates_nothing(tmp_path, kill_points):
    corpus, instance = tmp_path / "corpus", tmp_path / "instance"
    _write_corpus(corpus)
    for when in kill_points:
        _kill(_ingest(instance, corpus), instance, when)

    final = _ingest(instance, corpus, output=subprocess.PIPE)
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0, err.decode()

    with sqlite3.connect(instance / "archive.db") as connection:
        titles = [row[0] for row in connection.execute("SELECT title FROM articles")]
        unindexed = connection.execute(
            "SELECT count(*) FROM articles WHERE indexed_at IS NULL").fetchone()[0]
        db_ids = {row[0] for row in connection.execute("SELECT id FROM articles")}
        runs = [row[0] for row in connection.execute("SELECT status FROM ingest_runs")]
    assert len(titles) == ARTICLES and len(set(titles)) == ARTICLES
    assert unindexed == 0
    index = SearchIndex(InstancePaths(instance).index_dir)
    try:
        assert index.ids() == db_ids
        assert index.doc_count() == ARTICLES
    finally:
        index.close()
    # A kill before the run row was written leaves no row; every other killed run is marked.
    assert runs[-1] == "completed" and set(runs[:-1]) == {"interrupted"}

    check = subprocess.run([sys.executable, "-m", "archive.cli", "--instance", str(instance),
                            "check"], capture_output=True, text=True)
    assert check.returncode == 0 and "Consistent." in check.stdout


def _run_counts(instance: Path) -> list[tuple[int, str, int, int]]:
    """Each run's id, status, recorded articles_added, and the articles it really stored."""
    with sqlite3.connect(instance / "archive.db") as connection:
        return connection.execute(
            "SELECT r.id, r.status, r.articles_added, (SELECT count(*) FROM articles a JOIN "
            "sources s ON s.id = a.source_id WHERE s.ingest_run_id = r.id) "
            "FROM ingest_runs r ORDER BY r.id").fetchall()


def test_a_killed_run_records_the_articles_it_stored_and_is_reported(tmp_path):
    corpus, instance = tmp_path / "corpus", tmp_path / "instance"
    _write_corpus(corpus)
    process = _ingest(instance, corpus)
    _kill(process, instance, "commit")
    [(run_id, status, recorded, stored)] = _run_counts(instance)
    assert status == "running" and recorded == stored > 0

    check = subprocess.run([sys.executable, "-m", "archive.cli", "--instance", str(instance),
                            "check"], capture_output=True, text=True, timeout=300)
    assert (f"Ingest run {run_id} never finished (the process was killed or crashed); what "
            f"it stored ({stored} articles) is kept.") in check.stdout

    final = _ingest(instance, corpus, output=subprocess.PIPE)
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0, err.decode()
    assert (f"First noted that ingest run {run_id} never finished; what it stored "
            f"({stored} articles) is kept.") in out.decode()
    assert _run_counts(instance) == [(run_id, "interrupted", stored, stored),
                                     (run_id + 1, "completed", ARTICLES - stored,
                                      ARTICLES - stored)]


def _as_in_a_terminal() -> None:
    # A shell's background jobs ignore SIGINT and children inherit that: undo it, so the
    # ingest receives Ctrl-C as it would at a terminal.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_after_the_batch_in_hand_and_the_next_run_goes_on(tmp_path):
    corpus, instance = tmp_path / "corpus", tmp_path / "instance"
    _write_corpus(corpus)
    command = [sys.executable, "-m", "archive.cli", "--instance", str(instance), "ingest",
               "--jobs", "2", str(corpus)]
    # Its own process group, signalled as a whole: the terminal sends Ctrl-C to the ingest
    # and to every worker it started.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True,
                               preexec_fn=_as_in_a_terminal)
    deadline = time.monotonic() + 120
    while not _stored(instance):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=120)

    assert process.returncode == 130, err
    assert "Interrupted" in err and "Traceback" not in out + err
    with sqlite3.connect(instance / "archive.db") as connection:
        stored, unindexed = connection.execute(
            "SELECT count(*), sum(indexed_at IS NULL) FROM articles").fetchone()
        status = connection.execute("SELECT status FROM ingest_runs").fetchone()[0]
    assert 0 < stored < ARTICLES and unindexed == 0 and status == "interrupted"
    assert f"Added {stored} articles" in out

    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"Added {ARTICLES - stored} articles" in again.stdout
    check = subprocess.run([sys.executable, "-m", "archive.cli", "--instance", str(instance),
                            "check"], capture_output=True, text=True)
    assert "Consistent." in check.stdout


def test_a_second_ingest_is_refused_while_one_runs(tmp_path):
    corpus, instance = tmp_path / "corpus", tmp_path / "instance"
    _write_corpus(corpus)
    first = _ingest(instance, corpus)
    try:
        deadline = time.monotonic() + 60
        while not _stored(instance) and first.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        second = subprocess.run([sys.executable, "-m", "archive.cli", "--instance",
                                 str(instance), "ingest", str(corpus)],
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 1
        assert "is writing to the archive" in second.stderr and "--wait" in second.stderr
    finally:
        first.kill()
        first.wait()


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")
def test_a_killed_ingest_leaves_no_worker_processes_behind(tmp_path):
    corpus, instance = tmp_path / "corpus", tmp_path / "instance"
    _write_corpus(corpus)
    process = subprocess.Popen([sys.executable, "-m", "archive.cli", "--instance",
                                str(instance), "ingest", "--jobs", "2", str(corpus)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(_children(process.pid)) < 2:  # the extraction workers have started
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    workers = _children(process.pid)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers), "workers outlived the killed ingest"
