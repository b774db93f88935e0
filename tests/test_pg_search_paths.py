"""The PostgreSQL search engine's fast paths (issue 14, migration 0010): words matched from
the indexes of the vector's parts, the ranking of many matches bounded to the best, results
kept per process under the archive's generation, and the migration that brings an existing
archive to them. Every other behaviour of the engine is in tests/test_pg_search.py, against
the Whoosh engine's answers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from archive.config import InstancePaths
from archive.db import SCHEMA_HEAD, alembic_config, make_engine
from archive.index import IndexDoc, PostgresIndex, SearchHits, SearchRequest, pgsearch
from archive.index.cache import ResultCache
from archive.ingest import IngestOptions, ingest
from archive.instance import Archive
from tests.conftest import PATIENCE, database_env
from tests.pg_cluster import PostgresCluster
from tests.test_pg_search import ARTICLES

# Articles where "harbour" and "dock" stand more or less often, in the title or not, so
# that the ranks differ; and a phrase that stands once or twice.
RANKED = [
    (f"Harbour report {n}" if n % 3 == 0 else f"Report {n}",
     " ".join([f"Item {n}."] + ["The harbour was busy."] * (n % 4 + 1)
              + ["Dock workers met."] * (n % 3)
              + ["The union of the dock spoke for the workers."] * (n % 5 == 1)
              + ["The dock workers' union spoke for the dock workers."] * (n % 2)),
     f"Outlet {n % 4}", f"20{10 + n % 12:02d}-0{1 + n % 9}-1{n % 10}", "", "en")
    for n in range(36)
]


def _feed(folder: Path, rows: list[tuple[str, str, str, str, str, str]], name: str) -> str:
    path = folder / name
    path.write_text("".join(json.dumps({"title": t, "text": b, "outlet": o, "date": d,
                                        "byline": by, "language": lang}) + "\n"
                            for t, b, o, d, by, lang in rows))
    return str(path)


def searched_with_statements(archive: Archive, request: SearchRequest
                             ) -> tuple[SearchHits, list[str]]:
    """A search's hits, and the statements the PostgreSQL engine ran for it."""
    statements: list[str] = []
    rows = pgsearch._Reading.rows

    def watched(reading: Any, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
        statements.append(sql)
        return rows(reading, sql, params)

    pgsearch._Reading.rows = watched  # type: ignore[method-assign]
    try:
        return archive.index.search(request, remember=False), statements
    finally:
        pgsearch._Reading.rows = rows  # type: ignore[method-assign]


def _settings(root: Path, url: str) -> InstancePaths:
    root.mkdir(parents=True)
    (root / "settings.toml").write_text(f'[database]\nurl = "{url}"\n\n'
                                        '[search]\nengine = "postgresql"\n')
    return InstancePaths(root)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory, postgres_cluster: PostgresCluster
            ) -> Iterator[Archive]:
    folder = tmp_path_factory.mktemp("paths")
    paths = _settings(folder / "instance", postgres_cluster.url(
        postgres_cluster.create_database()))
    opened = Archive(paths)
    with opened.writing():
        ingest(opened, [_feed(folder, ARTICLES + RANKED, "feed.jsonl")], IngestOptions())
    assert isinstance(opened.index, PostgresIndex)
    yield opened
    opened.close()


def _index(archive: Archive) -> PostgresIndex:
    index = archive.index
    assert isinstance(index, PostgresIndex)
    return index


def _ranked(archive: Archive, text: str, limit: int = 50) -> list[tuple[int, float]]:
    """The engine's first ids for `text`, each with ts_rank of the query it ranks by."""
    index = _index(archive)
    parsed = index._parsed(text)
    assert parsed is not None
    found = index.search(SearchRequest(text, limit=limit))
    with index._reading() as reading:
        translation = pgsearch._Translation(reading)
        translation.condition(parsed.surface)
        scores = dict(reading.rows(
            "SELECT id, ts_rank(search_vector, CAST(:q AS tsquery)) FROM articles "
            "WHERE id = ANY(:ids)", {"q": translation.rank_query(), "ids": found.ids}))
    assert found.ids and len(found.ids) == min(found.total, limit)
    return [(i, scores[i]) for i in found.ids]


@pytest.mark.parametrize("text", ["harbour", "dock OR harbour", "title:harbour", "lavrov",
                                  "harbour -title:report", "dock workers", '"dock workers"'])
def test_matches_come_in_ts_rank_order_ties_by_id(archive, text):
    ranked = _ranked(archive, text)
    assert ranked == sorted(ranked, key=lambda pair: (-pair[1], pair[0]))
    assert ranked[0][1] > ranked[-1][1]


@pytest.mark.parametrize("text", ["harbour", "dock OR harbour", "harb*"])
def test_many_matches_ranked_among_the_titled_give_the_same_order(archive, monkeypatch, text):
    # Past RANK_ALL matches only those with a word in the title are ranked: for a word or a
    # few alternatives, the same best ones in the same order.
    everything = _ranked(archive, text, 10)
    assert _index(archive).search(SearchRequest(text)).total > 12
    monkeypatch.setattr(pgsearch, "RANK_ALL", 3)
    monkeypatch.setattr(pgsearch, "RANK_DEPTHS", (10, 20))
    _index(archive).results = ResultCache()
    assert _ranked(archive, text, 10) == everything


def test_many_matches_of_several_words_are_ranked_among_the_titled_and_longest(archive,
                                                                            monkeypatch):
    monkeypatch.setattr(pgsearch, "RANK_ALL", 3)
    monkeypatch.setattr(pgsearch, "RANK_DEPTHS", (5, 10))
    _index(archive).results = ResultCache()
    ranked = _ranked(archive, "harbour dock", 5)
    assert ranked == sorted(ranked, key=lambda pair: (-pair[1], pair[0]))
    with archive.engine.connect() as connection:
        matching = connection.execute(sa.text(
            "SELECT id, title, word_count FROM articles WHERE ts_filter(search_vector, "
            "'{a,d}') @@ 'harbour & dock' ORDER BY word_count DESC, id")).all()
    assert len(matching) > 12
    pool = {i for i, title, _ in matching if "Harbour" in title} | {
        i for i, _, _ in matching[:3]}
    assert {i for i, _ in ranked} <= pool


def test_an_order_deeper_than_the_ranked_few_holds_every_match(archive, monkeypatch):
    # An export asks for every match at once: past the bounded ranking the others follow,
    # so that it is complete and continues the first pages.
    monkeypatch.setattr(pgsearch, "RANK_ALL", 3)
    monkeypatch.setattr(pgsearch, "RANK_DEPTHS", (5, 10))
    index = _index(archive)
    index.results = ResultCache()
    everything = index.search(SearchRequest("harbour OR dock", limit=1000), remember=False)
    assert len(everything.ids) == everything.total == len(set(everything.ids)) > 20
    first = index.search(SearchRequest("harbour OR dock", limit=5)).ids
    second = index.search(SearchRequest("harbour OR dock", offset=5, limit=5)).ids
    assert everything.ids[:10] == first + second
    with archive.engine.connect() as connection:
        matching = set(connection.execute(sa.text(
            "SELECT id FROM articles WHERE ts_filter(search_vector, '{a,d}') @@ "
            "'harbour | dock'")).scalars())
    assert set(everything.ids) == matching


@pytest.mark.parametrize(("text", "index"), [
    ("harbour", "ix_articles_search_text"), ("harbour dock -lavrov", "ix_articles_search_text"),
    ("harb*", "ix_articles_search_text"), ("title:harbour", "ix_articles_search_title"),
    ('title:"harbour report"', "ix_articles_search_title"),
    ("byline:smith", "ix_articles_search_vector"),
])
def test_words_are_matched_from_the_index_of_their_part(archive, text, index):
    engine = _index(archive)
    parsed = engine._parsed(text)
    assert parsed is not None
    with engine._reading() as reading:
        translation = pgsearch._Translation(reading)
        condition = translation.condition(parsed.surface)
        reading.connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = "\n".join(line for (line,) in reading.rows(
            f"EXPLAIN SELECT count(*) FROM articles a WHERE {condition}", translation.params))
    assert f"Bitmap Index Scan on {index}" in plan


REQUESTS = [
    SearchRequest("harbour"),
    SearchRequest("harbour", offset=10),
    SearchRequest("harbour", outlets=("Outlet 1",)),
    SearchRequest("harbour", outlets=("Outlet 1", "Outlet 2"), languages=("en",)),
    SearchRequest("dock", date_from=dt.date(2012, 1, 1), date_to=dt.date(2016, 12, 31),
                  histogram=True),
    SearchRequest('"dock workers"', sort="newest", offset=5, limit=5),
    SearchRequest("terminal OR harbour", one_per_story=True),
    SearchRequest("", sort="oldest", histogram=True),
    SearchRequest("", one_per_story=True, languages=("de",)),
    SearchRequest("lavrov -beijing"),
    SearchRequest("outlet:courier OR harbour"),
    SearchRequest("harb*", outlets=("",)),
]


def _fresh(archive: Archive, request: SearchRequest) -> SearchHits:
    index = _index(archive)
    kept, index.results = index.results, ResultCache()
    try:
        return index.search(request, remember=False)
    finally:
        index.results = kept


@pytest.mark.parametrize("request_", REQUESTS, ids=repr)
def test_kept_answers_are_the_answers(archive, request_):
    index = _index(archive)
    first = index.search(request_)
    hits = index.results.counts["pg search hit"]
    again = index.search(request_)
    assert index.results.counts["pg search hit"] == hits + 1  # kept, not asked again
    assert again == first == _fresh(archive, request_)


YEAR_2014 = {"date_from": dt.date(2014, 1, 1), "date_to": dt.date(2014, 12, 31)}
CLICKS = [
    (SearchRequest("harbour"), {"outlets": ("Outlet 1",)}),
    (SearchRequest("harbour", outlets=("Outlet 1",)), {"outlets": ("Outlet 1", "Outlet 2")}),
    (SearchRequest("dock", languages=("en",), date_from=dt.date(2012, 1, 1),
                   date_to=dt.date(2016, 12, 31), histogram=True), {"outlets": ("Outlet 3",)}),
    (SearchRequest("harb*", sort="newest"), {"outlets": ("", "Outlet 0")}),
    (SearchRequest('"dock workers"'), {"outlets": ("Outlet 1",)}),
    (SearchRequest("harbour", one_per_story=True), {"outlets": ("Outlet 2",)}),
    (SearchRequest("harbour OR lavrov"), {"languages": ("en",)}),
    (SearchRequest("harbour", outlets=("Outlet 1",)), YEAR_2014),
    (SearchRequest("harbour", histogram=True), YEAR_2014),
    (SearchRequest("harbour", date_from=dt.date(2013, 1, 1)), {"date_to": dt.date(2015, 6, 30)}),
]
FACET_OF = {"outlets": "outlets", "languages": "languages", "date_from": "periods",
            "date_to": "periods"}


@pytest.mark.parametrize(("searched", "chosen"), CLICKS, ids=repr)
def test_a_click_on_a_facet_counts_it_from_the_search_it_narrows(archive, searched, chosen):
    # A facet of the search just answered is the click's (each facet is counted ignoring
    # its own filter); only the rest is counted again.
    index = _index(archive)
    index.results = ResultCache()
    index.search(searched)
    clicked = dataclasses.replace(searched, **chosen)
    hits = index.search(clicked)
    facet = FACET_OF[next(iter(chosen))]
    assert index.results.counts[f"pg {facet} hit"] == 1
    assert hits == _fresh(archive, clicked)
    if facet == "outlets":
        assert hits.total == sum(n for name, n in hits.outlet_counts if name in chosen[facet])


def test_pages_of_a_deep_order_follow_one_another(archive, monkeypatch):
    # Past the kept ranks a page is ranked again: it continues where the kept ones end.
    monkeypatch.setattr(pgsearch, "RANK_DEPTHS", (7, 12))
    index = _index(archive)
    for sort in ("relevance", "newest"):
        everything = _fresh(archive, SearchRequest("harbour OR lavrov", sort=sort, limit=100))
        assert everything.total > 20 and len(everything.ids) == everything.total
        paged = []
        for offset in range(0, everything.total, 5):
            paged += index.search(SearchRequest("harbour OR lavrov", sort=sort, offset=offset,
                                                limit=5)).ids
        assert paged == everything.ids


def _generation(archive: Archive) -> int:
    with archive.engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT generation FROM search_state")).scalar())


def test_an_ingest_by_another_process_is_seen_by_the_next_search(archive, tmp_path):
    # A web process keeps what it found; another process's ingest moves the generation on,
    # so the next search is asked anew and finds the new article.
    reader = Archive(archive.paths, readonly=True)
    try:
        index = _index(reader)
        request = SearchRequest("zeppelin")
        assert index.search(request).total == 0
        assert index.search(request).total == 0
        assert index.results.counts["pg search hit"] == 1
        before = _generation(archive)
        feed = _feed(tmp_path, [("Zeppelin over the harbour", "A zeppelin was seen.",
                                 "Outlet 9", "2024-02-02", "", "en")], "new.jsonl")
        subprocess.run([sys.executable, "-m", "archive.cli", "--instance",
                        str(archive.paths.root), "ingest", feed], check=True,
                       env=database_env(archive.paths), capture_output=True, timeout=PATIENCE)
        assert _generation(archive) > before
        found = index.search(request)
        assert found.total == 1 and index.results.counts["pg search hit"] == 1
        assert dict(index.search(SearchRequest("harbour")).outlet_counts)["Outlet 9"] == 1
    finally:
        reader.close()


def test_what_moves_the_generation_on(archive):
    with archive.engine.begin() as connection:
        article = connection.execute(sa.text("SELECT min(id) FROM articles")).scalar()
    before = _generation(archive)
    with archive.engine.begin() as connection:  # marked indexed: nothing searched changed
        connection.execute(sa.text("UPDATE articles SET indexed_at = indexed_at "
                                   "WHERE id = :id"), {"id": article})
    assert _generation(archive) == before
    with archive.engine.begin() as connection:  # many rows, one transaction: one step
        connection.execute(sa.text("UPDATE articles SET title = title"))
        connection.execute(sa.text("UPDATE outlets SET name = name"))
    assert _generation(archive) == before + 1
    with archive.engine.begin() as connection:
        connection.execute(sa.text("UPDATE outlets SET name = name || '' WHERE id = "
                                   "(SELECT min(id) FROM outlets)"))
    assert _generation(archive) == before + 2
    # The vocabulary's words (what wildcards and fuzzy terms expand to) changed.
    _index(archive).add([IndexDoc(article, "", "", None, None, None)])
    assert _generation(archive) == before + 3


# --- migration 0010 ---------------------------------------------------------------------------


def _migrate(url: str, revision: str, direction: str = "downgrade") -> None:
    from alembic import command

    engine = make_engine(url)
    config = alembic_config(url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            getattr(command, direction)(config, revision)
    finally:
        engine.dispose()


def _answers(archive: Archive) -> list[dict[str, Any]]:
    return [dataclasses.asdict(_fresh(archive, r)) for r in REQUESTS]


def test_an_archive_from_before_0010_upgrades(tmp_path, postgres_cluster):
    url = postgres_cluster.url(postgres_cluster.create_database())
    paths = _settings(tmp_path / "instance", url)
    with Archive(paths) as archive, archive.writing():
        ingest(archive, [_feed(tmp_path, ARTICLES + RANKED, "feed.jsonl")], IngestOptions())
        expected = _answers(archive)
    _migrate(url, "0009")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.execute(sa.text(
                "SELECT to_regclass('search_state'), to_regclass('ix_articles_search_text')")
            ).one() == (None, None)
        result = subprocess.run(
            [sys.executable, "-m", "archive.cli", "--instance", str(paths.root), "db",
             "upgrade"], env=database_env(paths), capture_output=True, text=True,
            timeout=PATIENCE)
        assert result.returncode == 0, result.stderr
        with engine.connect() as connection:
            assert {name for (name,) in connection.execute(sa.text(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'articles' "
                "AND indexname LIKE 'ix_articles_search%'"))} == {
                "ix_articles_search_vector", "ix_articles_search_text",
                "ix_articles_search_title"}
            assert connection.execute(sa.text("SELECT version_num FROM alembic_version")
                                      ).scalar() == SCHEMA_HEAD
    finally:
        engine.dispose()
    with Archive(paths, readonly=True) as archive:
        assert _answers(archive) == expected


def test_the_postgresql_engine_indexes_rows_without_reading_their_text_back(
        tmp_path, postgres_cluster, monkeypatch):
    """Its vectors are the database's own, so indexing a batch reads ids only: reading every
    body back from the server was half the work of marking a batch indexed."""
    from archive import store

    def refuse(*_: object) -> None:
        raise AssertionError("the articles' text was read back for indexing")

    monkeypatch.setattr(store, "index_docs", refuse)
    url = postgres_cluster.url(postgres_cluster.create_database())
    paths = _settings(tmp_path / "instance", url)
    with Archive(paths) as archive, archive.writing():
        ingest(archive, [_feed(tmp_path, ARTICLES, "feed.jsonl")], IngestOptions())
        with archive.sessions() as session:
            assert store.unindexed_ids(session) == []
        assert _fresh(archive, SearchRequest("lavrov")).total == 3


def test_an_ingest_stores_rows_searchable_with_their_words_and_never_rewrites_them(
        tmp_path, postgres_cluster):
    """Marking rows indexed after their commit rewrote every row (and every index took its
    entries again): they are written marked, their words recorded in the same transaction."""
    url = postgres_cluster.url(postgres_cluster.create_database())
    paths = _settings(tmp_path / "instance", url)
    with Archive(paths) as archive:
        pass
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(
                "CREATE FUNCTION refuse_mark() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION 'an article row was rewritten to mark it indexed'; END $$"))
            connection.execute(sa.text(
                "CREATE TRIGGER refuse_mark BEFORE UPDATE OF indexed_at ON articles "
                "FOR EACH ROW EXECUTE FUNCTION refuse_mark()"))
    finally:
        engine.dispose()
    with Archive(paths) as archive, archive.writing():
        summary = ingest(archive, [_feed(tmp_path, ARTICLES, "feed.jsonl")], IngestOptions())
        assert summary.added == len(ARTICLES) and not summary.failures
        with archive.sessions() as session:
            from archive import store

            assert store.unindexed_ids(session) == []
            assert session.execute(sa.text(
                "SELECT articles FROM search_words WHERE word = 'lavrov'")).scalar() == 3
        assert _fresh(archive, SearchRequest("lavrov")).total == 3


def _row_options(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.text(
                "SELECT reloptions FROM pg_class WHERE relname = 'articles'")).scalar() or [])
    finally:
        engine.dispose()


def test_article_rows_are_kept_narrow_from_0011(tmp_path, postgres_cluster):
    """Searches read every match's row: from 0011 its larger values are stored apart, and
    the archive's answers do not change across the upgrade."""
    url = postgres_cluster.url(postgres_cluster.create_database())
    paths = _settings(tmp_path / "instance", url)
    with Archive(paths) as archive, archive.writing():
        ingest(archive, [_feed(tmp_path, ARTICLES + RANKED, "feed.jsonl")], IngestOptions())
        expected = _answers(archive)
    assert "toast_tuple_target=128" in _row_options(url)
    _migrate(url, "0010")
    assert _row_options(url) == []
    _migrate(url, "head", "upgrade")
    assert "toast_tuple_target=128" in _row_options(url)
    with Archive(paths, readonly=True) as archive:
        assert _answers(archive) == expected


def test_0010_changes_nothing_on_sqlite(tmp_path):
    paths = InstancePaths(tmp_path / "instance")
    with Archive(paths) as archive:
        url = archive.paths.database_url
        tables = set(sa.inspect(archive.engine).get_table_names())
    assert "search_state" not in tables
    _migrate(url, "0009")
    _migrate(url, "head", "upgrade")
    engine = make_engine(url)
    try:
        assert set(sa.inspect(engine).get_table_names()) == tables
    finally:
        engine.dispose()


def test_phrases_are_found_without_the_index_of_pairs(tmp_path, postgres_cluster):
    """The index of phrase pairs costs the ingest about a third of its speed; an archive
    whose owner dropped it finds phrases from the vectors, as before 0012."""
    url = postgres_cluster.url(postgres_cluster.create_database())
    paths = _settings(tmp_path / "instance", url)
    with Archive(paths) as archive, archive.writing():
        ingest(archive, [_feed(tmp_path, ARTICLES + RANKED, "feed.jsonl")], IngestOptions())
        with_pairs = archive.index.search(SearchRequest('"the harbour"'))
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP INDEX ix_articles_phrase_pairs")
    finally:
        engine.dispose()
    with Archive(paths, readonly=True) as archive:
        without, statements = searched_with_statements(archive, SearchRequest('"the harbour"'))
    assert with_pairs.total == without.total > 30
    assert with_pairs.ids == without.ids
    assert not any("archive_phrase_pairs(a.search_vector)" in sql for sql in statements)
