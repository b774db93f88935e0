"""The database as an interface: documented queries, FTS5, views, `archive sql`, Datasette."""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive.cli import main
from archive.index import SearchRequest
from tests.conftest import EXAMPLES

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DOC = ROOT / "docs" / "schema.md"


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    """The examples/ archive, built once for this module (the tests here only read it)."""
    instance = tmp_path_factory.mktemp("sample") / "instance"
    result = CliRunner().invoke(main, ["--instance", str(instance), "ingest", str(EXAMPLES)])
    assert result.exit_code == 0, result.output
    return instance


def _documented_queries() -> list[str]:
    return re.findall(r"```sql\n(.+?)```", SCHEMA_DOC.read_text(encoding="utf-8"), re.S)


def test_the_schema_docs_have_at_least_ten_example_queries():
    assert len(_documented_queries()) >= 10


@pytest.mark.parametrize("query", _documented_queries(),
                         ids=lambda q: " ".join(q.split())[:50])
def test_every_documented_query_runs_on_the_sample_archive(sample, query):
    from archive.sql import run_query

    columns, rows = run_query(sample / "archive.db", query)  # as `archive sql` runs it
    assert columns and rows, "a documented example should show something on the sample archive"


def test_every_table_and_view_is_documented(sample):
    with sqlite3.connect(sample / "archive.db") as db:
        names = [row[0] for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE "
            "'sqlite_%' AND name NOT LIKE 'articles_fts_%' AND name != 'alembic_version'")]
    text = SCHEMA_DOC.read_text(encoding="utf-8")
    assert [name for name in names if f"`{name}`" not in text] == []


PLAIN_QUERIES = ["tram", "harbour", "strike", "library", "ferry", "drought barley",
                 '"night shifts"', '"tram extension"', "council", "eastfield"]


@pytest.mark.parametrize("query", PLAIN_QUERIES)
def test_fts5_and_the_search_index_find_the_same_articles(sample, query):
    from archive.config import InstancePaths
    from archive.instance import Archive

    with sqlite3.connect(sample / "archive.db") as db:
        fts = {row[0] for row in db.execute(
            "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?", (query,))}
    with Archive(InstancePaths(sample), create=False) as archive:
        whoosh = set(archive.index.search(SearchRequest(query, limit=100)).ids)
    assert fts == whoosh and fts


def test_fts_follows_edits_and_deletes(tmp_path):
    instance = tmp_path / "instance"
    CliRunner().invoke(main, ["--instance", str(instance), "ingest", str(EXAMPLES)])
    with sqlite3.connect(instance / "archive.db") as db:
        db.execute("UPDATE articles SET body = 'Completely rewritten about zeppelins.' "
                   "WHERE id = 1")
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("DELETE FROM articles WHERE id = 2")
        found = lambda q: [r[0] for r in db.execute(  # noqa: E731
            "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?", (q,))]
        assert found("zeppelins") == [1]
        assert found("asbestos") == []  # article 1's old body is gone from the index
        assert found("library") == [1]  # its title was not edited
        assert 2 not in found("strike")


def test_sql_command_formats_and_refuses_writes(sample):
    run = CliRunner().invoke
    table = run(main, ["--instance", str(sample), "sql",
                       "SELECT outlet, count(*) AS n FROM article_overview GROUP BY outlet"])
    assert table.exit_code == 0 and table.output.splitlines()[0].split() == ["outlet", "n"]
    as_json = run(main, ["--instance", str(sample), "sql", "--format", "json",
                         "SELECT id, title FROM articles ORDER BY id LIMIT 2"])
    assert [row["id"] for row in json.loads(as_json.output)] == [1, 2]
    as_csv = run(main, ["--instance", str(sample), "sql", "--format", "csv",
                        "SELECT id FROM articles ORDER BY id LIMIT 1"])
    assert as_csv.output.splitlines() == ["id", "1"]
    for write in ("DELETE FROM articles", "UPDATE outlets SET name = 'x'",
                  "CREATE TABLE t (x)", "PRAGMA journal_mode = DELETE"):
        refused = run(main, ["--instance", str(sample), "sql", write])
        assert refused.exit_code == 1, write
        assert "read-only" in refused.output, refused.output
    with sqlite3.connect(sample / "archive.db") as db:
        assert db.execute("SELECT count(*) FROM articles").fetchone()[0] == 8
    bad = run(main, ["--instance", str(sample), "sql", "SELECT nope FROM articles"])
    assert bad.exit_code == 1 and "no such column: nope" in bad.output


def test_migrations_down_and_up_keep_the_data(tmp_path):
    from alembic import command

    from archive.db import alembic_config, make_engine

    instance = tmp_path / "instance"
    CliRunner().invoke(main, ["--instance", str(instance), "ingest", str(EXAMPLES)])
    engine = make_engine(f"sqlite:///{instance / 'archive.db'}")
    config = alembic_config(str(engine.url))
    columns = ("id, source_id, url, title, byline, outlet_id, published_date, date_precision, "
               "language, body, word_count, body_hash, cleaner_version, provenance")
    with sqlite3.connect(instance / "archive.db") as db:
        before = db.execute(f"SELECT {columns} FROM articles ORDER BY id").fetchall()
        stories = db.execute("SELECT id, story_id FROM articles ORDER BY id").fetchall()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0001")
            command.upgrade(config, "head")
            command.check(config)  # the models and the migrations agree
    finally:
        engine.dispose()
    with sqlite3.connect(instance / "archive.db") as db:
        assert db.execute(f"SELECT {columns} FROM articles ORDER BY id").fetchall() == before
        assert db.execute("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH "
                          "'tram'").fetchone()[0] == 3
    # Stories went with the downgrade; the next writing command computes them again.
    result = CliRunner().invoke(main, ["--instance", str(instance), "ingest", str(EXAMPLES)])
    assert f"First grouped {len(stories)} article(s) into stories." in result.output
    with sqlite3.connect(instance / "archive.db") as db:
        assert db.execute("SELECT id, story_id FROM articles ORDER BY id").fetchall() == stories


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_datasette_reads_the_archive(sample):
    datasette = Path(sys.executable).parent / "datasette"
    if not datasette.exists():
        pytest.skip("datasette is not installed (pip install -e '.[test]')")
    port = _free_port()
    server = subprocess.Popen([str(datasette), "serve", str(sample / "archive.db"), "--port",
                               str(port), "--setting", "default_cache_ttl", "0"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}/archive"

    def get(path: str) -> dict:
        with urllib.request.urlopen(base + path, timeout=10) as response:
            return json.load(response)

    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                listing = get("/articles.json?_shape=objects&_size=100")
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()
                assert time.monotonic() < deadline, "datasette did not start"
                time.sleep(0.2)
        assert len(listing["rows"]) == 8
        facets = get("/article_overview.json?_facet=outlet&_shape=objects")
        outlets = {item["value"]: item["count"]
                   for item in facets["facet_results"]["outlet"]["results"]}
        assert outlets["The Harbour Times"] == 1 and sum(outlets.values()) == 8
        searched = get("/articles.json?_search=tram&_shape=objects")
        assert {row["id"] for row in searched["rows"]} == {1, 4, 6}
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stderr.close()


def test_db_upgrade_computes_stories_for_articles_stored_before_them(tmp_path):
    from alembic import command

    from archive.db import alembic_config, make_engine

    instance = tmp_path / "instance"
    runner = CliRunner()
    runner.invoke(main, ["--instance", str(instance), "ingest", str(EXAMPLES)])
    engine = make_engine(f"sqlite:///{instance / 'archive.db'}")
    config = alembic_config(str(engine.url))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0002")  # an archive from before stories
    finally:
        engine.dispose()
    result = runner.invoke(main, ["--instance", str(instance), "db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "Then grouped 8 article(s) into stories." in result.output
    with sqlite3.connect(instance / "archive.db") as db:
        copies = db.execute("SELECT count(*) FROM articles GROUP BY story_id "
                            "HAVING count(*) > 1").fetchall()
    assert copies == [(2,)]
