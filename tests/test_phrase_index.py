"""`archive ingest --bulk` on PostgreSQL: the index of phrase pairs held back during the
load and built once at its end; left to `archive optimize` when the load is interrupted."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive import maintenance, phrase_index
from archive.cli import main
from archive.config import InstancePaths
from archive.db import make_engine
from archive.index import SearchHits, SearchRequest
from archive.ingest import IngestOptions, _Run, ingest
from archive.instance import Archive
from tests.pg_cluster import PostgresCluster
from tests.test_pg_search import ARTICLES
from tests.test_pg_search_paths import RANKED, _feed, _settings, searched_with_statements

PHRASE = SearchRequest('"the harbour"')


def _state(url: str) -> tuple[bool, bool, bool]:
    """Whether the index is there, whether the planner may use it, and whether it is
    marked as held back."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return (bool(connection.exec_driver_sql(phrase_index._PRESENT).scalar()),
                    bool(connection.exec_driver_sql(phrase_index.USABLE).scalar()),
                    phrase_index.is_deferred(connection))
    finally:
        engine.dispose()


def _phrase_search(archive: Archive) -> tuple[SearchHits, bool]:
    """The phrase's hits, and whether they came from the index of pairs."""
    hits, statements = searched_with_statements(archive, PHRASE)
    return hits, any("archive_phrase_pairs(a.search_vector) @>" in sql for sql in statements)


def _execute(url: str, sql: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(sql)
    finally:
        engine.dispose()


@pytest.fixture
def feed(tmp_path: Path) -> str:
    return _feed(tmp_path, ARTICLES + RANKED, "feed.jsonl")


def test_a_bulk_ingest_stores_without_the_index_of_pairs_and_builds_it_at_the_end(
        tmp_path, postgres_cluster: PostgresCluster, feed, monkeypatch):
    usual_url = postgres_cluster.url(postgres_cluster.create_database())
    with Archive(_settings(tmp_path / "usual", usual_url)) as archive, archive.writing():
        ingest(archive, [feed], IngestOptions())
        expected, from_pairs = _phrase_search(archive)
    assert from_pairs and expected.total > 30

    url = postgres_cluster.url(postgres_cluster.create_database())
    seen_while_storing: list[tuple[bool, bool, bool]] = []
    flush = _Run.flush

    def watched_flush(run: _Run) -> list[int]:
        seen_while_storing.append(_state(url))
        return flush(run)

    monkeypatch.setattr(_Run, "flush", watched_flush)
    paths = _settings(tmp_path / "bulk", url)
    result = CliRunner().invoke(main, ["--instance", str(paths.root), "ingest", "--bulk",
                                       feed])
    assert result.exit_code == 0, result.output
    assert "Then built the index of phrase pairs" in result.output
    assert seen_while_storing and all(state == (False, False, True)
                                      for state in seen_while_storing)
    assert _state(url) == (True, True, False)
    with Archive(paths, readonly=True) as archive:
        hits, from_pairs = _phrase_search(archive)
    assert from_pairs
    assert (hits.total, hits.ids) == (expected.total, expected.ids)


def test_an_interrupted_bulk_ingest_leaves_the_index_to_build(
        tmp_path, postgres_cluster: PostgresCluster, feed):
    url = postgres_cluster.url(postgres_cluster.create_database())
    paths = _settings(tmp_path / "instance", url)
    stop = threading.Event()
    stop.set()  # as Ctrl-C does: the run stops after the batch in hand
    with Archive(paths) as archive, archive.writing():
        summary = ingest(archive, [feed], IngestOptions(bulk=True), stop=stop)
        assert summary.interrupted and summary.phrase_index_left
        assert summary.phrase_index_seconds is None
        ingest(archive, [feed], IngestOptions(bulk=True))  # the rest, and builds it
    assert _state(url) == (True, True, False)
    with Archive(paths) as archive:
        everything, _ = _phrase_search(archive)

    # Interrupted again, with an index left invalid (a build stopped half-way): searches
    # do not use it, `archive check` says so, and `archive optimize` builds it again.
    _execute(url, "UPDATE search_state SET phrase_index_deferred = true")
    _execute(url, "UPDATE pg_index SET indisvalid = false WHERE indexrelid = "
                  f"'{phrase_index.INDEX}'::regclass")
    assert _state(url) == (True, False, True)
    with Archive(paths) as archive:
        hits, from_pairs = _phrase_search(archive)
        assert not from_pairs and (hits.total, hits.ids) == (everything.total, everything.ids)
        with archive.writing():
            assert maintenance.check(archive).phrase_index_left
    result = CliRunner().invoke(main, ["--instance", str(paths.root), "check"])
    assert "held back by a bulk ingest that did not finish" in result.output
    result = CliRunner().invoke(main, ["--instance", str(paths.root), "optimize"])
    assert result.exit_code == 0, result.output
    assert _state(url) == (True, True, False)
    with Archive(paths, readonly=True) as archive:
        hits, from_pairs = _phrase_search(archive)
    assert from_pairs and (hits.total, hits.ids) == (everything.total, everything.ids)


def test_bulk_ingests_at_once_leave_the_build_to_the_last_and_an_owners_choice_alone(
        tmp_path, postgres_cluster: PostgresCluster, feed):
    url = postgres_cluster.url(postgres_cluster.create_database())
    paths = _settings(tmp_path / "instance", url)
    with Archive(paths) as archive, archive.writing():
        ingest(archive, [feed], IngestOptions())
    engine = make_engine(url)
    try:
        with phrase_index.deferred(engine, True) as first:
            with phrase_index.deferred(engine, True) as second:
                assert first.active and second.active
                assert second.build() is None  # the first is still loading
            assert _state(url) == (False, False, True)
            assert phrase_index.build_if_deferred(engine) is None  # nor a plain ingest
            assert first.build() is not None
        assert _state(url) == (True, True, False)

        # Dropped by the archive's owner (docs/deploy.md): a bulk ingest does not bring it back.
        _execute(url, f"DROP INDEX {phrase_index.INDEX}")
        with phrase_index.deferred(engine, True) as deferral:
            assert not deferral.active
            assert deferral.build() is None
        assert _state(url) == (False, False, False)
    finally:
        engine.dispose()


def test_bulk_is_accepted_and_changes_nothing_on_sqlite(tmp_path, feed):
    root = tmp_path / "instance"
    result = CliRunner().invoke(main, ["--instance", str(root), "ingest", "--bulk", feed])
    assert result.exit_code == 0, result.output
    assert "phrase pairs" not in result.output
    with Archive(InstancePaths(root)) as archive:
        assert archive.index.search(PHRASE).total > 30
