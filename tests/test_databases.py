"""The archive on either database: the SQLite file in the instance folder or PostgreSQL
(a real server, started for the test run). Commands, the API, `archive sql`, check and
upgrades on both; what only PostgreSQL does (several writers at once, full text as a
tsvector) and how a bad URL or a server that is down is reported."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive.cli import main
from archive.config import InstancePaths
from archive.db import SCHEMA_HEAD
from archive.index import SearchIndex, SearchRequest
from archive.ingest import IngestOptions, ReadProgress, ingest
from archive.instance import Archive, ArchiveBusy
from archive.writers import WriterLost
from tests.conftest import EXAMPLES, PATIENCE, archive_options, database_env
from tests.databases import count, execute, query
from tests.pg_cluster import PostgresCluster, free_port
from tests.test_sql_interface import _documented_queries

TRAM_TITLES = {"Council backs £48m tram extension to Eastfield after marathon debate"}


def _run(paths: InstancePaths, *arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*archive_options(paths), *arguments])
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def _ingested(paths: InstancePaths) -> InstancePaths:
    code, output = _run(paths, "ingest", str(EXAMPLES))
    assert code == 0, output
    return paths


def test_ingest_search_stats_and_api_work_alike(any_paths):
    _ingested(any_paths)
    code, output = _run(any_paths, "search", "tram", "--json")
    assert code == 0, output
    found = json.loads(output)
    assert found["total"] == 3
    assert {hit["title"] for hit in found["hits"]} >= TRAM_TITLES
    # Stored once: the same inputs again add nothing.
    code, output = _run(any_paths, "ingest", str(EXAMPLES))
    assert code == 0 and "Added 0 articles, skipped 8 duplicates" in output
    code, output = _run(any_paths, "stats")
    assert "8 articles from 8 sources" in output and "2 ingest runs" in output

    from archive_web import close_app, create_app

    app = create_app({"ARCHIVE_INSTANCE": any_paths, "TESTING": True})
    try:
        client = app.test_client()
        body = client.get("/api/search?q=tram&per_page=2").get_json()
        assert body["total"] == 3 and len(body["hits"]) == 2
        article = client.get(f"/api/articles/{body['hits'][0]['id']}").get_json()
        assert article["id"] == body["hits"][0]["id"] and "tram" in article["body"].lower()
        assert client.get("/api/articles/999").status_code == 404
        page = client.get("/?q=harbour")
        assert page.status_code == 200 and b"wall repairs" in page.data
    finally:
        close_app(app)
    code, output = _run(any_paths, "export", "--format", "jsonl")
    assert code == 0 and len(output.splitlines()) == 9  # the rows and the closing note


def test_sql_reads_in_every_format_and_refuses_writes(any_paths):
    _ingested(any_paths)
    code, output = _run(any_paths, "sql", "SELECT outlet, month, articles FROM "
                        "articles_per_outlet_month ORDER BY month, outlet", "--format", "csv")
    assert code == 0, output
    assert output.splitlines()[0] == "outlet,month,articles"
    assert "The Northport Gazette,2024-02,1" in output
    code, output = _run(any_paths, "sql", "SELECT id, published_date, provenance FROM "
                        "articles ORDER BY id LIMIT 2", "--format", "json")
    rows = json.loads(output)
    assert code == 0 and [row["id"] for row in rows] == [1, 2]
    assert rows[0]["published_date"][:2] == "20"  # ISO text on both
    assert json.loads(rows[0]["provenance"])["fields"]  # JSON as its text on both
    for write in ("INSERT INTO outlets (name) VALUES ('x')", "DROP TABLE outlets",
                  "UPDATE articles SET title = 'x'", "DELETE FROM articles"):
        code, output = _run(any_paths, "sql", write)
        assert code == 1 and "archive sql is read-only" in output, output
    assert count(any_paths, "SELECT count(*) FROM outlets") == 7
    assert count(any_paths, "SELECT count(*) FROM articles WHERE title = 'x'") == 0
    code, output = _run(any_paths, "sql", "SELECT nope FROM articles")
    assert code == 1 and "nope" in output
    forever = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) " \
              "SELECT count(*) FROM c"
    started = time.monotonic()
    code, output = _run(any_paths, "sql", forever, "--timeout", "1")
    assert code == 1 and "ran longer than 1 s" in output
    assert time.monotonic() - started < 30


def test_check_finds_and_repairs_what_differs(any_paths):
    _ingested(any_paths)
    assert _run(any_paths, "check") == (0, "Database: 8 articles; index: 8 documents.\n"
                                            "Consistent.\n")
    with Archive(any_paths) as archive, archive.writing():
        archive.index.delete([2])
    code, output = _run(any_paths, "check")
    assert code == 1 and "1 in the database but not in the index: 2" in output
    code, output = _run(any_paths, "check", "--repair")
    assert code == 0 and "Repaired." in output
    execute(any_paths, "UPDATE articles SET body = body || ' edited' WHERE id = 3")
    code, output = _run(any_paths, "check")
    assert code == 1 and "1 articles whose body changed since it was hashed" in output
    execute(any_paths, "UPDATE sources SET content = content || 'x'::bytea WHERE id = 5"
            if any_paths.database_choice else
            "UPDATE sources SET content = CAST(content || x'78' AS BLOB) WHERE id = 5")
    code, output = _run(any_paths, "check", "--repair")
    assert code == 1 and "1 raw inputs whose bytes no longer match their sha256" in output
    assert "cannot be: restore the database from a backup" in output


def test_db_upgrade_makes_an_archive_of_an_empty_database(any_paths):
    code, output = _run(any_paths, "db", "upgrade")
    assert code == 0, output
    assert "is at the newest schema" in output
    assert query(any_paths, "SELECT version_num FROM alembic_version") == [(SCHEMA_HEAD,)]
    for table in ("articles", "sources", "outlets", "story_keys", "boilerplate_lines",
                  "article_overview", "articles_per_outlet_month", "ingest_failures"):
        assert count(any_paths, f"SELECT count(*) FROM {table}") == 0
    code, output = _run(any_paths, "db", "upgrade")  # and again: nothing to do
    assert code == 0 and "is at the newest schema" in output


# What only PostgreSQL does, or does its own way.

def test_full_text_in_sql_is_a_tsvector_that_agrees_with_the_index(postgres_url, tmp_path):
    paths = _ingested(InstancePaths(tmp_path / "instance", postgres_url))
    with Archive(paths, create=False) as archive:
        for words in ("tram extension", "harbour", "strike pay"):
            hits = archive.index.search(SearchRequest(text=words, limit=100))
            in_sql = {row[0] for row in query(paths, (
                "SELECT id FROM articles WHERE search_vector @@ "
                f"websearch_to_tsquery('english', '{words}')"))}
            assert in_sql == set(hits.ids) and in_sql, words
    # The trigger follows edits: the column is the text, not a copy taken once.
    execute(paths, "UPDATE articles SET body = body || ' zeppelin' WHERE id = 1")
    assert query(paths, "SELECT id FROM articles WHERE search_vector @@ "
                        "to_tsquery('english', 'zeppelin')") == [(1,)]
    code, output = _run(paths, "sql", "SELECT a.id, ts_headline('english', a.title, q) AS "
                        "title FROM articles a, websearch_to_tsquery('english', 'tram') q "
                        "WHERE a.search_vector @@ q ORDER BY ts_rank(a.search_vector, q) DESC")
    assert code == 0 and "<b>tram</b>" in output


@pytest.fixture(scope="module")
def postgres_sample(postgres_cluster: PostgresCluster, tmp_path_factory) -> InstancePaths:
    """The examples/ archive on PostgreSQL, built once for the tests that only read it."""
    paths = InstancePaths(tmp_path_factory.mktemp("pg-sample") / "instance",
                          postgres_cluster.url(postgres_cluster.create_database()))
    return _ingested(paths)


@pytest.mark.parametrize("statement", _documented_queries("postgresql"),
                         ids=lambda q: " ".join(q.split())[:50])
def test_every_documented_query_runs_on_postgresql(postgres_sample, statement):
    from archive.sql import run_query

    columns, rows = run_query(postgres_sample, statement)  # as `archive sql` runs it
    assert columns and rows, "a documented example should show something on the sample archive"


def test_migrations_go_down_and_up_again_on_postgresql(postgres_url, tmp_path):
    from alembic import command

    from archive.db import alembic_config, make_engine

    paths = _ingested(InstancePaths(tmp_path / "instance", postgres_url))
    before = query(paths, "SELECT id, title, body_hash FROM articles ORDER BY id")
    engine = make_engine(postgres_url)
    config = alembic_config(postgres_url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0001")
            command.upgrade(config, "head")
            command.check(config)  # the models and the migrations agree here too
    finally:
        engine.dispose()
    assert query(paths, "SELECT id, title, body_hash FROM articles ORDER BY id") == before
    assert count(paths, "SELECT count(*) FROM articles WHERE search_vector @@ "
                        "to_tsquery('english', 'tram')") == 3
    code, output = _run(paths, "ingest", str(EXAMPLES))
    assert code == 0 and "First grouped 8 article(s) into stories." in output


def test_ctrl_c_stops_a_statement_on_postgresql(postgres_url, tmp_path):
    paths = _ingested(InstancePaths(tmp_path / "instance", postgres_url))
    process = subprocess.Popen(
        [sys.executable, "-m", "archive.cli", *archive_options(paths), "sql",
         "SELECT pg_sleep(86400)", "--timeout", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + PATIENCE
    # The cursor's rows are being fetched: the statement runs.
    while not query(paths, "SELECT pid FROM pg_stat_activity WHERE application_name = "
                           "'archive sql' AND state = 'active' AND query LIKE 'FETCH%'"):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    # The statement would sleep for a day: ending at all means Ctrl-C stopped it.
    out, err = process.communicate(timeout=PATIENCE)
    assert process.returncode == 130 and "stopped by Ctrl-C" in err
    assert "Traceback" not in err


def _corpus(folder: Path, first: int, last: int) -> Path:
    folder.mkdir(parents=True)
    with (folder / "feed.jsonl").open("w", encoding="utf-8") as out:
        for serial in range(first, last):
            body = " ".join(f"Paragraph {p} of dispatch {serial} from the ferry terminal."
                            for p in range(6))
            out.write(json.dumps({"title": f"Dispatch {serial}", "text": body,
                                  "date": "2024-05-01", "outlet": f"Wire {serial % 5}"}) + "\n")
    return folder


def test_two_ingests_at_once_store_every_article_once(postgres_url, tmp_path):
    """Two processes, overlapping inputs: 0-1199 and 600-1799, started together."""
    paths = InstancePaths(tmp_path / "instance", postgres_url)
    assert _run(paths, "db", "upgrade")[0] == 0
    corpora = [_corpus(tmp_path / "a", 0, 1200), _corpus(tmp_path / "b", 600, 1800)]
    processes = [subprocess.Popen([sys.executable, "-m", "archive.cli", "--instance",
                                   str(paths.root), "ingest", "--jobs", "1", str(corpus)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=database_env(paths))
                 for corpus in corpora]
    outputs = [process.communicate(timeout=PATIENCE) for process in processes]
    for process, (_, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
        assert "is writing" not in err
    # Both ran at once: each run started before the other finished.
    runs = query(paths, "SELECT status, started_at, finished_at, articles_added, "
                        "duplicates_skipped FROM ingest_runs ORDER BY id")
    assert [run[0] for run in runs] == ["completed", "completed"]
    assert runs[1][1] < runs[0][2] and runs[0][1] < runs[1][2]
    assert runs[0][3] + runs[1][3] == 1800 and runs[0][4] + runs[1][4] == 600
    titles = [row[0] for row in query(paths, "SELECT title FROM articles")]
    assert len(titles) == len(set(titles)) == 1800
    assert count(paths, "SELECT count(DISTINCT sha256) FROM sources") == \
        count(paths, "SELECT count(*) FROM sources") == 1800
    assert count(paths, "SELECT count(*) FROM articles WHERE indexed_at IS NULL") == 0
    assert count(paths, "SELECT count(*) FROM outlets") == 5
    index = SearchIndex(paths.index_dir)
    try:
        assert index.doc_count() == 1800
        assert index.ids() == {row[0] for row in query(paths, "SELECT id FROM articles")}
    finally:
        index.close()
    assert _run(paths, "check")[1].endswith("Consistent.\n")


def _dispatch(serial: int, topic: str) -> str:
    """A text of its own: its 4-word runs are shared with no other report's."""
    words = random.Random(f"{topic} {serial}").choices(_WORDS, k=150)
    return f"Report {serial} on the {topic}: " + " ".join(words) + "."


_WORDS = [f"{consonant}{vowel}{ending}" for consonant in "bdfgklmnprstvz" for vowel in "aeiou"
          for ending in ("", "n", "st", "rk")]


def test_two_ingests_at_once_store_a_text_once_and_join_its_copies_into_one_story(
        postgres_url, tmp_path):
    """Writers store at once and take turns only to settle: a text the other writer stored
    meanwhile is dropped, and a copy of a story it stored meanwhile joins that story."""
    paths = InstancePaths(tmp_path / "instance", postgres_url)
    assert _run(paths, "db", "upgrade")[0] == 0
    # Each report twice: the same ferry text from both writers, and the harbour text from
    # one and an updated copy of it from the other.
    feeds = {"a": [("Ferry", "ferry timetable", ""), ("Harbour", "harbour works", "")],
             "b": [("Ferry", "ferry timetable", ""),
                   ("Harbour", "harbour works", " Updated at noon with the council's reply.")]}
    for name, records in feeds.items():
        (tmp_path / name).mkdir()
        with (tmp_path / name / "feed.jsonl").open("w", encoding="utf-8") as out:
            for serial in range(1500):
                for kind, topic, tail in records:
                    out.write(json.dumps({"title": f"{kind} {serial} {name}",
                                          "text": _dispatch(serial, topic) + tail}) + "\n")
    processes = [subprocess.Popen([sys.executable, "-m", "archive.cli", "--instance",
                                   str(paths.root), "ingest", "--jobs", "1",
                                   str(tmp_path / name)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=database_env(paths))
                 for name in feeds]
    for process in processes:
        _, err = process.communicate(timeout=PATIENCE)
        assert process.returncode == 0, err
    runs = query(paths, "SELECT started_at, finished_at, articles_added, duplicates_skipped "
                        "FROM ingest_runs ORDER BY id")
    assert runs[1][0] < runs[0][1] and runs[0][0] < runs[1][1]
    assert runs[0][2] + runs[1][2] == 4500 and runs[0][3] + runs[1][3] == 1500
    assert count(paths, "SELECT count(DISTINCT body_hash) FROM articles") == 4500
    assert count(paths, "SELECT count(*) FROM sources") == 4500
    stories: dict[str, set[int]] = {}
    for title, story in query(paths, "SELECT title, story_id FROM articles"):
        stories.setdefault(title.rsplit(" ", 1)[0], set()).add(story)
    assert len(stories) == 3000 and all(len(ids) == 1 for ids in stories.values())
    harbour = query(paths, "SELECT count(*), count(DISTINCT story_id) FROM articles "
                           "WHERE title LIKE 'Harbour %'")
    assert harbour == [(3000, 1500)]
    assert count(paths, "SELECT count(*) FROM articles a JOIN articles s "
                        "ON s.id = a.story_id WHERE s.story_id <> s.id") == 0
    assert _run(paths, "check")[1].endswith("Consistent.\n")


def test_ingests_share_the_writer_lock_and_repairs_run_alone(postgres_url, tmp_path):
    paths = InstancePaths(tmp_path / "instance", postgres_url)
    with Archive(paths) as first, Archive(paths) as second, Archive(paths) as third:
        busy = rf"archive pid {os.getpid()} on .* is writing .*run alone"
        with (first.writing(shared=True), second.writing(shared=True),
              pytest.raises(ArchiveBusy, match=busy), third.writing()):
            pass
        with (third.writing(), pytest.raises(ArchiveBusy, match="is writing"),
              first.writing(shared=True)):
            pass
        with first.writing(shared=True):
            pass  # free again


def test_database_is_chosen_by_option_then_environment_then_settings(
        postgres_cluster: PostgresCluster, tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    from_settings = postgres_cluster.url(postgres_cluster.create_database())
    from_env = postgres_cluster.url(postgres_cluster.create_database(), password="hunter2")
    (instance / "settings.toml").write_text(f'[database]\nurl = "{from_settings}"\n')
    runner = CliRunner()

    def upgrade(*options: str, env: dict[str, str] | None = None) -> str:
        result = runner.invoke(main, ["--instance", str(instance), *options, "db", "upgrade"],
                               env=env)
        assert result.exit_code == 0, result.output
        return result.output

    assert f"Database {from_settings} is at" in upgrade()
    shown_env = from_env.replace(":hunter2@", ":***@")
    output = upgrade(env={"ARCHIVE_DATABASE_URL": from_env})
    assert f"Database {shown_env} is at" in output and "hunter2" not in output
    sqlite = f"sqlite:///{tmp_path / 'other.db'}"
    output = upgrade("--database", sqlite, env={"ARCHIVE_DATABASE_URL": from_env})
    assert f"Database {tmp_path / 'other.db'} is at" in output
    assert not (instance / "archive.db").exists()
    # Every command of the archive follows the setting, and the web app too.
    assert runner.invoke(main, ["--instance", str(instance), "ingest",
                                str(EXAMPLES)]).exit_code == 0
    assert count(InstancePaths(instance, from_settings), "SELECT count(*) FROM articles") == 8
    with Archive(InstancePaths(instance)) as archive:
        assert archive.paths.database_choice == from_settings


@pytest.mark.parametrize("url, words", [
    ("postgresql://archive:s3cret@127.0.0.1:{port}/news", "cannot open the archive database "
     "postgresql://archive:***@127.0.0.1:{port}/news: connection failed"),
    ("postgresql://archive:s3cret@127.0.0.1:{port}", "names no database"),
    ("mysql://archive:s3cret@localhost/news", "works with SQLite and PostgreSQL, not mysql"),
    ("not a url at all", "is not a database URL"),
])
def test_a_bad_url_or_a_server_that_is_down_is_said_plainly(tmp_path, url, words):
    port = free_port()  # nothing listens there
    url, words = url.format(port=port), words.format(port=port)
    for command in (["stats"], ["ingest", str(EXAMPLES)], ["sql", "SELECT 1"], ["check"]):
        result = CliRunner().invoke(main, ["--instance", str(tmp_path / "i"), "--database",
                                           url, *command])
        assert result.exit_code == 1, result.output
        assert words in result.output or ("sql" in command and "s3cret" not in result.output
                                          and "Error:" in result.output), result.output
        assert "s3cret" not in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("url, shown", [
    ("postgresql://archive:s3cret@db.example.org/news", "postgresql://archive:***@db.example.org/news"),
    ("postgresql+psycopg://archive@db:5433/news", "postgresql+psycopg://archive@db:5433/news"),
    ("postgresql://archive:s3cret@db:notaport/news", "postgresql://archive:***@db:notaport/news"),
])
def test_urls_are_shown_without_their_password(url, shown):
    from archive import dburl

    assert dburl.shown(url) == shown


@pytest.mark.parametrize("setting, words", [
    ("[database]\nurl = 5\n", "database.url must be a database URL"),
    ("[database]\nuri = \"postgresql://x/y\"\n", "unknown setting database.uri"),
])
def test_a_bad_database_setting_is_named(tmp_path, setting, words):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "settings.toml").write_text(setting)
    result = CliRunner().invoke(main, ["--instance", str(instance), "stats"])
    assert result.exit_code == 1 and words in result.output, result.output
    assert "Traceback" not in result.output


def _writer_lock_holders(paths: InstancePaths) -> list[int]:
    from archive.writers import NAMESPACE, WRITER

    return [row[0] for row in query(
        paths, "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
               f"AND classid = {NAMESPACE} AND objid = {WRITER} AND objsubid = 2")]


def test_an_ingest_whose_writer_lock_is_lost_stops_before_storing_more(postgres_url,
                                                                          tmp_path):
    """A server restart or a network cut ends the session holding an ingest's writer lock,
    and the server drops the lock; the ingest must not go on writing as if it held it."""
    paths = InstancePaths(tmp_path / "instance", postgres_url)
    corpus = _corpus(tmp_path / "feed", 0, 1200)
    cut: list[int] = []

    def cut_the_lock_midway(read: ReadProgress) -> None:
        if read.documents >= 600 and not cut:
            cut.extend(_writer_lock_holders(paths))
            for pid in cut:
                execute(paths, f"SELECT pg_terminate_backend({pid})")

    with (Archive(paths) as archive, archive.writing(shared=True),
          pytest.raises(WriterLost, match="writer lock .* was lost")):
        ingest(archive, [str(corpus)], IngestOptions(jobs=1), progress=cut_the_lock_midway)
    assert len(cut) == 1
    stored = count(paths, "SELECT count(*) FROM articles")
    assert stored < 1200
    code, output = _run(paths, "ingest", str(corpus))
    assert code == 0 and f"Added {1200 - stored} articles" in output, output
    assert count(paths, "SELECT count(DISTINCT title) FROM articles") == 1200
    code, output = _run(paths, "check")
    assert code == 0 and output.endswith("Consistent.\n"), output
