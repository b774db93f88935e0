"""`archive migrate-to`: a SQLite archive moved into a real PostgreSQL database answers the
same searches; an interrupted move goes on where it stopped; bad targets are refused."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive import migrate, phrase_index
from archive.cli import main
from archive.config import InstancePaths
from archive.settings import load_settings
from tests.conftest import EXAMPLES, PATIENCE
from tests.databases import execute, query
from tests.pg_cluster import PostgresCluster, free_port

QUERIES = ["tram", "drought OR strike", '"port strike"', "title:tram", ""]
TABLES = ["ingest_runs", "outlets", "sources", "articles", "story_keys", "boilerplate_lines",
          "ingest_errors"]


def _run(root: Path, *arguments: str, database: str | None = None) -> tuple[int, str]:
    chosen = ["--database", database] if database else []
    result = CliRunner().invoke(main, ["--instance", str(root), *chosen, *arguments])
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


@pytest.fixture
def sqlite_archive(tmp_path: Path) -> Path:
    """An archive of the examples, ingested twice (two runs) plus an input that fails."""
    root = tmp_path / "instance"
    broken = tmp_path / "broken" / "empty.html"
    broken.parent.mkdir()
    broken.write_bytes(b"")
    for inputs in ([str(EXAMPLES)], [str(EXAMPLES), str(broken)]):
        code, output = _run(root, "ingest", *inputs)
        assert code in (0, 1), output
    return root


def _searches(root: Path, database: str | None) -> list[tuple[int, list[object]]]:
    answers = []
    for text in QUERIES:
        code, output = _run(root, "search", text, "--json", "--limit", "50",
                            database=database)
        assert code == 0, output
        found = json.loads(output)
        answers.append((found["total"], [hit["id"] for hit in found["hits"]]))
    return answers


def _sql_counts(root: Path, database: str | None) -> list[str]:
    counts = []
    for table in TABLES:
        code, output = _run(root, "sql", f"SELECT count(*) AS n FROM {table}", "--format",
                            "csv", database=database)
        assert code == 0, output
        counts.append(output.strip())
    return counts


# Whether the index of phrase pairs is usable, and whether it is still to build.
PHRASE_INDEX_STATE = (f"SELECT ({phrase_index.USABLE}), phrase_index_deferred "
                      "FROM search_state")


def _pg_paths(root: Path, url: str) -> InstancePaths:
    return InstancePaths(root, url)


def test_migrated_archive_answers_alike(sqlite_archive, postgres_cluster: PostgresCluster):
    url = postgres_cluster.url(postgres_cluster.create_database(), password="hunter2")
    before = _searches(sqlite_archive, None)
    assert before[0][0] == 3
    code, output = _run(sqlite_archive, "migrate-to", url)
    assert code == 0, output
    assert "hunter2" not in output
    assert "Verified" in output and "--database" in output
    assert _searches(sqlite_archive, url) == before
    counts = _sql_counts(sqlite_archive, None)
    assert _sql_counts(sqlite_archive, url) == counts
    assert all(line.splitlines()[-1] != "0" for line in counts), counts  # every table
    code, output = _run(sqlite_archive, "check", database=url)
    assert code == 0 and "Consistent." in output, output
    # Raw inputs byte for byte, compression kept; sequences past the copied ids.
    sqlite_rows = query(InstancePaths(sqlite_archive),
                        "SELECT id, content, compression FROM sources ORDER BY id")
    pg_rows = query(_pg_paths(sqlite_archive, url),
                    "SELECT id, content, compression FROM sources ORDER BY id")
    assert [(i, bytes(c), z) for i, c, z in pg_rows] == [(i, bytes(c), z)
                                                        for i, c, z in sqlite_rows]
    next_id = query(_pg_paths(sqlite_archive, url),
                    "SELECT nextval(pg_get_serial_sequence('articles', 'id'))")[0][0]
    assert next_id > max(row[0] for row in sqlite_rows)
    # Run again: nothing to copy, still verified.
    code, output = _run(sqlite_archive, "migrate-to", url, "--switch")
    assert code == 0 and "Verified" in output, output
    assert "hunter2" not in output
    assert load_settings(sqlite_archive / "settings.toml").database_url == url
    # The folder now uses PostgreSQL by itself; an ingest there continues the ids.
    assert _searches(sqlite_archive, None) == before
    code, output = _run(sqlite_archive, "ingest", str(EXAMPLES))
    assert code == 0 and "Added 0 articles" in output, output


def test_interrupted_migration_goes_on(sqlite_archive, postgres_url, monkeypatch):
    batches = 0

    def stop_in_articles(table: str, _copied: int) -> None:
        nonlocal batches
        batches += 1
        if table == "articles":
            raise KeyboardInterrupt

    monkeypatch.setattr(migrate, "after_batch", stop_in_articles)
    code, output = _run(sqlite_archive, "migrate-to", postgres_url, "--batch-rows", "3")
    assert code == 130 and "run the same command again" in output, output
    pg = _pg_paths(sqlite_archive, postgres_url)
    assert query(pg, "SELECT count(*) FROM articles")[0][0] == 3
    assert query(pg, "SELECT count(*) FROM story_keys")[0][0] == 0
    # The index of phrase pairs is built once the whole archive is in (a bulk load).
    assert query(pg, f"{PHRASE_INDEX_STATE}")[0] == (False, True)
    monkeypatch.setattr(migrate, "after_batch", None)
    code, output = _run(sqlite_archive, "migrate-to", postgres_url, "--batch-rows", "3")
    assert code == 0 and "Verified" in output, output
    assert "going on after key 3" in output
    assert _sql_counts(sqlite_archive, postgres_url) == _sql_counts(sqlite_archive, None)
    assert query(pg, "SELECT count(DISTINCT id) = count(*) FROM articles")[0][0] is True
    assert query(pg, f"{PHRASE_INDEX_STATE}")[0] == (True, False)
    assert _searches(sqlite_archive, postgres_url) == _searches(sqlite_archive, None)


def test_targets_refused(sqlite_archive, postgres_cluster: PostgresCluster, tmp_path):
    code, output = _run(sqlite_archive, "migrate-to", f"sqlite:///{tmp_path / 'other.db'}")
    assert code == 1 and "is not a PostgreSQL database" in output, output
    code, output = _run(sqlite_archive, "migrate-to", "mysql://u:pw@host/db")
    assert code == 1 and "not mysql" in output and ":pw@" not in output, output
    down = f"postgresql://u:secret@127.0.0.1:{free_port()}/news"
    code, output = _run(sqlite_archive, "migrate-to", down)
    assert code == 1 and "cannot reach the database" in output, output
    assert "secret" not in output

    # A target holding other articles under the same ids.
    url = postgres_cluster.url(postgres_cluster.create_database())
    code, output = _run(sqlite_archive, "migrate-to", url)
    assert code == 0, output
    execute(_pg_paths(sqlite_archive, url),
            "UPDATE articles SET body_hash = repeat('0', 64) WHERE id = 2")
    code, output = _run(sqlite_archive, "migrate-to", url)
    assert code == 1 and "already holds a different archive" in output, output
    assert "articles 2" in output


def test_busy_source_refused(sqlite_archive, postgres_url):
    from archive.instance import Archive

    with Archive(InstancePaths(sqlite_archive)) as other, other.writing():
        code, output = _run(sqlite_archive, "migrate-to", postgres_url)
    assert code == 1 and "is writing to the archive" in output, output
    assert query(_pg_paths(sqlite_archive, postgres_url), "SELECT count(*) FROM articles") == []


def test_killed_migration_goes_on(sqlite_archive, postgres_url):
    """A migration killed outright (SIGKILL, as by a crash) in the middle of its batches:
    the next run finishes it, with every row once."""
    command = [sys.executable, "-m", "archive", "--instance", str(sqlite_archive),
               "migrate-to", postgres_url, "--batch-rows", "1"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith("articles: copying"):
            process.send_signal(signal.SIGKILL)
            break
    assert process.wait(timeout=PATIENCE) == -signal.SIGKILL
    process.stderr.close()
    assert process.stdout is not None
    process.stdout.close()
    pg = _pg_paths(sqlite_archive, postgres_url)
    assert query(pg, "SELECT count(*) FROM sources")[0][0] > 0
    # Killed as the articles began: none or a few of them are there, never all.
    assert query(pg, "SELECT count(*) FROM articles")[0][0] < 8
    code, output = _run(sqlite_archive, "migrate-to", postgres_url)
    assert code == 0 and "Verified" in output, output
    assert _sql_counts(sqlite_archive, postgres_url) == _sql_counts(sqlite_archive, None)
    assert _searches(sqlite_archive, postgres_url) == _searches(sqlite_archive, None)
