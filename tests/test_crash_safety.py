"""An ingest killed at any moment leaves nothing half-written, and the next run repairs it
(on SQLite and on PostgreSQL); several ingests at once on PostgreSQL store each article once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from archive.config import InstancePaths
from archive.index import SearchIndex
from archive.instance import Archive, ArchiveBusy
from tests.conftest import EXAMPLES, PATIENCE, database_env
from tests.databases import count, query

ARTICLES = 2400
# Three batches of the ingest's 500 rows: a commit to wait for, and more to come after it.
FEW_ARTICLES = 1500
PARAGRAPHS = 8
WORDS = 9 * PARAGRAPHS  # each paragraph: "Paragraph p of report n on the harbour works."


def _write_corpus(folder: Path, articles: int = ARTICLES) -> None:
    """Many distinct small articles in JSON Lines files, so an ingest runs for a few seconds."""
    folder.mkdir(parents=True)
    for file_number in range(12):
        with open(folder / f"feed-{file_number}.jsonl", "w", encoding="utf-8") as out:
            for n in range(articles // 12):
                serial = file_number * 1000 + n
                body = " ".join(f"Paragraph {p} of report {serial} on the harbour works."
                                for p in range(PARAGRAPHS))
                out.write(json.dumps({"title": f"Report {serial}", "text": body,
                                      "date": f"2024-01-{1 + serial % 28:02d}",
                                      "outlet": f"Outlet {serial % 7}"}) + "\n")


def _ingest(instance: Path | InstancePaths, corpus: Path, *, output: int = subprocess.DEVNULL
            ) -> subprocess.Popen[bytes]:
    paths = instance if isinstance(instance, InstancePaths) else InstancePaths(instance)
    return subprocess.Popen([sys.executable, "-m", "archive.cli", "--instance",
                             str(paths.root), "ingest", str(corpus)], stdout=output,
                            stderr=output, env=database_env(paths))


def _stored(instance: Path | InstancePaths) -> int:
    paths = instance if isinstance(instance, InstancePaths) else InstancePaths(instance)
    return count(paths, "SELECT count(*) FROM articles")


def _wait_for(condition: Callable[[], bool], process: subprocess.Popen, what: str,
              poll: float = 0.01) -> None:
    """Return once condition() holds, failing if the process ends first; PATIENCE is there
    only so that a hang fails."""
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert process.poll() is None, f"the process ended before {what}"
        assert time.monotonic() < deadline, f"still no {what} after {PATIENCE:.0f} s"
        time.sleep(poll)


def _kill(process: subprocess.Popen[bytes], instance: Path | InstancePaths,
          when: str | float) -> None:
    """SIGKILL the ingest right after its next batch commit, or after some seconds."""
    if isinstance(when, float):
        time.sleep(when)  # a moment in the run, not a wait for it: any moment must be safe
    else:
        before = _stored(instance)
        _wait_for(lambda: _stored(instance) > before, process, "batch commit")
    assert process.poll() is None, "the ingest finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


# A commit is followed by indexing and marking: killing just after it lands between them.
# PostgreSQL runs the first case only (the second adds little and takes long).
@pytest.mark.parametrize(("database_choice", "kill_points", "articles"), [
    ("sqlite", ("commit", "commit"), FEW_ARTICLES),
    ("sqlite", (1.5, "commit", 2.0), ARTICLES),  # enough left for the last run to last past 2 s
    ("postgresql", ("commit", "commit"), FEW_ARTICLES),
], indirect=["database_choice"])
def test_sigkill_during_ingest_loses_and_duplicates_nothing(tmp_path, any_paths, kill_points,
                                                           articles):
    corpus, instance = tmp_path / "corpus", any_paths.root
    _write_corpus(corpus, articles)
    for when in kill_points:
        _kill(_ingest(any_paths, corpus), any_paths, when)

    final = _ingest(any_paths, corpus, output=subprocess.PIPE)
    out, err = final.communicate(timeout=PATIENCE)
    assert final.returncode == 0, err.decode()

    titles = [row[0] for row in query(any_paths, "SELECT title FROM articles")]
    unindexed = count(any_paths, "SELECT count(*) FROM articles WHERE indexed_at IS NULL")
    db_ids = {row[0] for row in query(any_paths, "SELECT id FROM articles")}
    runs = [row[0] for row in query(any_paths, "SELECT status FROM ingest_runs ORDER BY id")]
    assert len(titles) == articles and len(set(titles)) == articles
    assert unindexed == 0
    index = SearchIndex(InstancePaths(instance).index_dir)
    try:
        assert index.ids() == db_ids
        assert index.doc_count() == articles
    finally:
        index.close()
    # A kill before the run row was written leaves no row; every other killed run is marked.
    assert runs[-1] == "completed" and set(runs[:-1]) == {"interrupted"}

    check = subprocess.run([sys.executable, "-m", "archive.cli", "--instance", str(instance),
                            "check"], capture_output=True, text=True, env=database_env(any_paths))
    assert check.returncode == 0 and "Consistent." in check.stdout


def _run_counts(paths: InstancePaths) -> list[tuple[int, str, int, int]]:
    """Each run's id, status, recorded articles_added, and the articles it really stored."""
    return [tuple(row) for row in query(paths,
        "SELECT r.id, r.status, r.articles_added, (SELECT count(*) FROM articles a JOIN "
        "sources s ON s.id = a.source_id WHERE s.ingest_run_id = r.id) "
        "FROM ingest_runs r ORDER BY r.id")]


# SQLite only, for the suite's time: on PostgreSQL the SIGKILL test above shows killed runs
# marked interrupted by the next one (which finds no live process holding their lock).
@pytest.mark.parametrize("database_choice", ["sqlite"], indirect=True)
def test_a_killed_run_records_the_articles_it_stored_and_is_reported(tmp_path, any_paths):
    corpus, instance = tmp_path / "corpus", any_paths.root
    _write_corpus(corpus, FEW_ARTICLES)
    process = _ingest(any_paths, corpus)
    _kill(process, any_paths, "commit")
    [(run_id, status, recorded, stored)] = _run_counts(any_paths)
    assert status == "running" and recorded == stored > 0

    check = subprocess.run([sys.executable, "-m", "archive.cli", "--instance", str(instance),
                            "check"], capture_output=True, text=True, timeout=300,
                           env=database_env(any_paths))
    assert (f"Ingest run {run_id} never finished (the process was killed or crashed); what "
            f"it stored ({stored} articles) is kept.") in check.stdout

    final = _ingest(any_paths, corpus, output=subprocess.PIPE)
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0, err.decode()
    assert (f"First noted that ingest run {run_id} never finished; what it stored "
            f"({stored} articles) is kept.") in out.decode()
    assert _run_counts(any_paths) == [(run_id, "interrupted", stored, stored),
                                     (run_id + 1, "completed", FEW_ARTICLES - stored,
                                      FEW_ARTICLES - stored)]


def _as_in_a_terminal() -> None:
    # A shell's background jobs ignore SIGINT and children inherit that: undo it, so the
    # ingest receives Ctrl-C as it would at a terminal.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_after_the_batch_in_hand_and_the_next_run_goes_on(tmp_path, any_paths):
    corpus, instance = tmp_path / "corpus", any_paths.root
    _write_corpus(corpus, FEW_ARTICLES)
    command = [sys.executable, "-m", "archive.cli", "--instance", str(instance), "ingest",
               "--jobs", "2", str(corpus)]
    # Its own process group, signalled as a whole: the terminal sends Ctrl-C to the ingest
    # and to every worker it started.
    env = database_env(any_paths)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True,
                               preexec_fn=_as_in_a_terminal, env=env)
    _wait_for(lambda: _stored(any_paths) > 0, process, "batch commit")
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=PATIENCE)

    assert process.returncode == 130, err
    assert "Interrupted" in err and "Traceback" not in out + err
    stored = count(any_paths, "SELECT count(*) FROM articles")
    unindexed = count(any_paths, "SELECT count(*) FROM articles WHERE indexed_at IS NULL")
    [(status,)] = query(any_paths, "SELECT status FROM ingest_runs")
    assert 0 < stored < FEW_ARTICLES and unindexed == 0 and status == "interrupted"
    assert f"Added {stored} articles" in out

    again = subprocess.run(command, capture_output=True, text=True, timeout=PATIENCE, env=env)
    assert again.returncode == 0, again.stderr
    assert f"Added {FEW_ARTICLES - stored} articles" in again.stdout
    check = subprocess.run([sys.executable, "-m", "archive.cli", "--instance", str(instance),
                            "check"], capture_output=True, text=True, env=env)
    assert "Consistent." in check.stdout


def _archive_command(instance: Path, *arguments: str) -> list[str]:
    return [sys.executable, "-m", "archive.cli", "--instance", str(instance), *arguments]


def _holder(instance: Path) -> int | None:
    try:
        return int(InstancePaths(instance).writer_pid.read_text())
    except (OSError, ValueError):
        return None


def test_a_second_ingest_is_refused_while_one_runs_and_waits_with_wait(tmp_path):
    instance, log = tmp_path / "instance", tmp_path / "waiting.log"
    # Reading standard input, the first ingest holds the lock until that input ends: no race
    # with how fast it would otherwise finish.
    first = subprocess.Popen(_archive_command(instance, "ingest", "-"), stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    waiting: subprocess.Popen[bytes] | None = None
    try:
        _wait_for(lambda: _holder(instance) == first.pid, first, "lock taken")
        second = subprocess.run(_archive_command(instance, "ingest", str(EXAMPLES)),
                                capture_output=True, text=True, timeout=PATIENCE)
        assert second.returncode == 1
        assert f"another process (pid {first.pid}) is writing to the archive" in second.stderr
        assert "--wait" in second.stderr

        with log.open("wb") as stderr:
            waiting = subprocess.Popen(
                _archive_command(instance, "-v", "ingest", "--wait",
                                 str(EXAMPLES / "lakeside-chronicle-drought.txt")),
                stdout=subprocess.PIPE, stderr=stderr)
        _wait_for(lambda: f"waiting for process {first.pid}" in log.read_text(), waiting,
                  "word that it waits", poll=0.05)
        article = (EXAMPLES / "northport-gazette-tram-vote.txt").read_bytes()
        out, err = first.communicate(article, timeout=PATIENCE)
        assert first.returncode == 0, err.decode()
        assert b"Added 1 article" in out
        out, _ = waiting.communicate(timeout=PATIENCE)
        assert waiting.returncode == 0, log.read_text()
        assert b"Added 1 article" in out
        assert _holder(instance) is None  # the last writer cleared its name on leaving
    finally:
        for process in (first, waiting):
            if process is not None and process.poll() is None:
                process.kill()
                process.communicate()


def test_the_writer_lock_names_its_holder_and_is_free_again_after(tmp_path):
    paths = InstancePaths(tmp_path / "instance")
    with Archive(paths) as first, Archive(paths) as second:
        with (first.writing(),
              pytest.raises(ArchiveBusy, match=rf"\(pid {os.getpid()}\) is writing"),
              second.writing()):
            pass
        with second.writing():
            assert paths.writer_pid.read_text() == str(os.getpid())


def test_a_killed_writer_leaves_the_lock_free(tmp_path):
    instance = tmp_path / "instance"
    holder = subprocess.Popen(_archive_command(instance, "ingest", "-"), stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: _holder(instance) == holder.pid, holder, "lock taken")
    finally:
        holder.kill()  # SIGKILL: no clean-up of its own runs
        holder.communicate()
    assert _holder(instance) == holder.pid  # its name is left behind ...
    with Archive(InstancePaths(instance)) as archive, archive.writing():
        pass  # ... but the system released its lock


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
    _wait_for(lambda: len(_children(process.pid)) >= 2, process, "extraction workers",
              poll=0.05)
    workers = _children(process.pid)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + PATIENCE
    while any(_alive(pid) for pid in workers):
        assert time.monotonic() < deadline, "workers outlived the killed ingest"
        time.sleep(0.05)
