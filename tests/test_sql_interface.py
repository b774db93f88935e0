"""The database as an interface: documented queries, FTS5, views, `archive sql`, Datasette."""

from __future__ import annotations

import csv
import io
import json
import re
import signal
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
from tests.conftest import EXAMPLES, PATIENCE

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DOC = ROOT / "docs" / "schema.md"


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    """The examples/ archive, built once for this module (the tests here only read it)."""
    instance = tmp_path_factory.mktemp("sample") / "instance"
    result = CliRunner().invoke(main, ["--instance", str(instance), "ingest", str(EXAMPLES)])
    assert result.exit_code == 0, result.output
    return instance


def _documented_queries(database: str = "sqlite") -> list[str]:
    """The example queries for one database: blocks marked `sql` (both) and its own."""
    return re.findall(rf"```(?:sql|{database})\n(.+?)```", SCHEMA_DOC.read_text(encoding="utf-8"),
                      re.S)


def test_the_schema_docs_have_at_least_ten_example_queries():
    assert len(_documented_queries()) >= 10
    # Each database's own block stands beside the other's.
    assert len(_documented_queries("postgresql")) == len(_documented_queries())


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
        with urllib.request.urlopen(base + path, timeout=PATIENCE) as response:
            return json.load(response)

    try:
        deadline = time.monotonic() + PATIENCE
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
        # The raw inputs as text, through archive's Datasette plugin (sqlar_uncompress).
        raw = get("/sources_text.json?_shape=objects&_size=100&_col=uri&_col=content_text")
        assert len(raw["rows"]) == 8
        for row in raw["rows"]:
            if "#" not in row["uri"]:  # a whole file, not one record of a JSON Lines file
                assert row["content_text"] == Path(row["uri"]).read_text(encoding="utf-8")
    finally:
        server.terminate()
        server.wait(timeout=PATIENCE)
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


# --- `archive sql` is bounded: time, memory, Ctrl-C; only harmless functions; safe CSV --------

ENDLESS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c"
# Generous: these caps only turn a hang into a failure; a working command ends in seconds.


def _limit_memory() -> None:
    import resource

    # A regression to collecting every row then fails with MemoryError within seconds
    # instead of filling the shared machine's memory.
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def _start_sql(sample: Path, *arguments: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "archive.cli", "--instance", str(sample),
                             "sql", *arguments], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_limit_memory)


def _finish(process: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        return process.communicate(timeout=PATIENCE)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise AssertionError("archive sql did not end") from None


def _first_line(process: subprocess.Popen[str]) -> str:
    """The first line the process prints, waiting for it (not for a fixed time)."""
    import select

    ready, _, _ = select.select([process.stdout], [], [], PATIENCE)
    if not ready:
        process.kill()
        _finish(process)
        raise AssertionError("archive sql printed nothing")
    return process.stdout.readline()


def test_a_statement_stops_at_the_time_limit(sample):
    counting = _start_sql(sample, "--timeout", "1", f"SELECT count(*) FROM ({ENDLESS})")
    out, err = _finish(counting)
    assert counting.returncode == 1 and out == ""
    assert ("stopped: the statement ran longer than 1 s (raise the limit with --timeout)"
            in err), err
    assert "Traceback" not in err


def test_csv_rows_stream_out_until_the_time_limit(sample):
    process = _start_sql(sample, "--format", "csv", "--timeout", "0.5", ENDLESS)
    out, err = _finish(process)
    assert process.returncode == 1 and "ran longer than 0.5 s" in err and "Traceback" not in err
    lines = out.splitlines()
    # Every row fetched within the limit was printed, in order (the last may be cut short).
    assert len(lines) > 10_000 and lines[:3] == ["x", "1", "2"]
    assert lines[-2] == str(len(lines) - 2)


def test_json_stopped_by_the_time_limit_is_left_unfinished(sample):
    process = _start_sql(sample, "--format", "json", "--timeout", "0.2", ENDLESS)
    out, err = _finish(process)
    assert process.returncode == 1 and "ran longer than 0.2 s" in err
    assert out.startswith('[\n{"x": 1},\n{"x": 2},')
    with pytest.raises(json.JSONDecodeError):  # a part is never mistaken for the whole
        json.loads(out)


def test_ctrl_c_stops_a_running_statement_at_once(sample):
    process = _start_sql(sample, "--format", "csv", ENDLESS)
    assert _first_line(process) == "x\n"
    assert process.stdout.readline() == "1\n"  # rows arrive while the statement still runs
    process.send_signal(signal.SIGINT)
    _, err = _finish(process)
    assert process.returncode == 130
    assert "stopped by Ctrl-C" in err and "Traceback" not in err


def test_a_reader_that_goes_away_ends_the_statement_quietly(sample):
    process = _start_sql(sample, "--format", "csv", ENDLESS)  # as in `archive sql ... | head`
    assert _first_line(process) == "x\n"
    process.stdout.close()
    try:
        process.wait(timeout=PATIENCE)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("archive sql kept running with nobody reading") from None
    finally:
        err = process.stderr.read()
        process.stderr.close()
    assert "Traceback" not in err and "Exception" not in err, err


@pytest.mark.parametrize("rows, cut", [(1000, False), (1500, True)])
def test_the_table_format_shows_at_most_a_thousand_rows(sample, rows, cut):
    statement = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                 f"WHERE x < {rows}) SELECT x FROM c")
    result = CliRunner().invoke(main, ["--instance", str(sample), "sql", statement])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:3] == ["x", "-" * 4, "1"]
    note = ("(showing the first 1,000 rows: use --format csv or --format json for all of "
            "them, or add LIMIT to the statement)")
    assert (lines[-1] == note) == cut
    assert lines[2 + 999] == "1000" and len(lines) == 2 + 1000 + cut


def test_no_time_limit_with_timeout_0(sample):
    result = CliRunner().invoke(main, ["--instance", str(sample), "sql", "--timeout", "0",
                                       "--format", "csv", "SELECT 1 AS one"])
    assert result.exit_code == 0 and result.output.splitlines() == ["one", "1"]


@pytest.mark.parametrize("function", [
    "fts3_tokenizer('simple')", "FTS3_Tokenizer('porter')", "load_extension('x')",
    "fts5(NULL)", "sqlite_log(1, 'x')", "rtreenode(2, x'00')", "optimize(1)", "matchinfo(1)"])
def test_functions_that_read_memory_or_files_are_refused(sample, function):
    result = CliRunner().invoke(main, ["--instance", str(sample), "sql",
                                       f"SELECT {function} FROM articles"])
    name = function.split("(")[0].lower()
    assert result.exit_code == 1
    assert f"archive sql does not allow the function {name}" in result.output, result.output


def test_ordinary_functions_are_allowed(sample):
    statement = ("SELECT abs(-1) + sqrt(4) + json_extract('{\"a\": 1}', '$.a') "
                 "+ ('{\"b\": 2}' ->> 'b') + row_number() OVER () AS n, "
                 "date('2024-03-14', '+1 day') AS day, upper(printf('%s', 'x')) AS x, "
                 "group_concat(1) OVER () AS g, typeof(randomblob(4)) AS t")
    result = CliRunner().invoke(main, ["--instance", str(sample), "sql", "--format", "json",
                                       statement])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [{"n": 7.0, "day": "2024-03-15", "x": "X", "g": "1",
                                          "t": "blob"}]


def test_csv_cells_that_spreadsheets_would_run_are_guarded(sample):
    statement = ("SELECT '=HYPERLINK(\"http://x\")' AS a, '+1' AS b, '-2' AS c, '@SUM(1)' AS d, "
                 "char(9) || 'tab' AS e, char(13) || 'cr' AS f, -3 AS g, 'plain' AS h")
    result = CliRunner().invoke(main, ["--instance", str(sample), "sql", "--format", "csv",
                                       statement])
    assert result.exit_code == 0, result.output
    assert list(csv.reader(io.StringIO(result.output, newline="")))[1] == [
        "'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@SUM(1)", "'\ttab", "'\rcr", "-3", "plain"]
