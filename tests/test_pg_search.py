"""The search engine inside PostgreSQL (`[search] engine = "postgresql"`) beside the Whoosh
index: the same archive ingested into both, the same queries, the same answers where the two
analysers agree; and every feature of the interface on the PostgreSQL engine."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import text

from archive.cli import main as archive_cli
from archive.config import InstancePaths
from archive.index import (
    PostgresIndex,
    QueryError,
    SearchIndex,
    SearchRequest,
    SearchTimeout,
    pgsearch,
)
from archive.index.cache import ResultCache
from archive.ingest import IngestOptions, ingest
from archive.instance import Archive
from archive.maintenance import check, reindex
from archive.search import explain, more_like_this, search, significant_terms
from archive.settings import SettingsError
from archive_web import close_app, create_app
from tests.conftest import EXAMPLES
from tests.pg_cluster import PostgresCluster
from tests.web_fixtures import build_research_archive

# A wire story copied by two outlets (one story), and articles with bylines and languages.
WIRE = ("The port authority said on Tuesday that the new container terminal would open in "
        "the spring, after two years of delays caused by flooding, a dispute with the "
        "builders and the late delivery of cranes from the manufacturer overseas.")
ARTICLES = [
    ("Lavrov visits Beijing", "Sergei Lavrov arrived in Beijing for talks on trade. The two "
     "sides praised their no limits partnership.", "TASS", "2022-03-20", "Ivan Petrov", "en"),
    ("Wang Yi in Moscow", "Wang Yi met Vladimir Putin in Moscow. Lavrov welcomed the guest "
     "at the airport.", "The Courier", "2023-02-22", "Anna Smith", "en"),
    ("Harbour strike", "Dock workers walked out over night-shift pay on Monday. The strike "
     "closed the harbour.", "The Courier", "2024-05-06", "", "en"),
    ("Sanctions widen", "New sanctions were announced; sanctioned banks lose access to the "
     "west.", "Reuters", "2024-06-01", "", "en"),
    ("Undated note", "Lavrov spoke again, with no date given anywhere in this text.", "TASS",
     "", "", "en"),
    ("Terminal opens in spring", WIRE, "Harbour News", "2024-03-01", "", "en"),
    ("Port terminal delayed", WIRE + " Shipping lines welcomed the news.", "Coast Daily",
     "2024-03-02", "", "en"),
    ("Hafen gesperrt", "Der Hafen wurde wegen des Streiks der Hafenarbeiter gesperrt.",
     "Kurier", "2024-05-07", "", "de"),
    ("Strikes spread", "Strikes spread from the harbour to the railways; strikers met the "
     "minister at night.", "Reuters", "2024-05-20", "", "en"),
]
# Queries whose answers the two engines must agree on: counts, facets and the matching ids.
PARITY = [
    "lavrov", "lavrov beijing", "sanction", "sanctions", "strike", '"no limits"',
    '"no date given"', '"the west"', "the", "lavrov -beijing", "lavrov NOT beijing",
    "lavrov OR harbour", "(lavrov OR harbour) -tass", "sanction*", "harb*", "lavorv~",
    "lavrv~1", "title:harbour", "body:harbour", "title:(harbour OR strike)", "outlet:courier",
    'outlet:"the courier"', "outlet:cour*", "byline:smith", "date:2022", "date:2024-05",
    "date:[2023-01-01 TO 2024-03-31]", "lavrov -date:2022", "date:[2020 TO]", "wa?g", "str?ke*",
    '"lavrov guest"~8', '"lavrov welcomed"~2', '"container terminal"', "terminal spring",
    "hafen", "Sanct*", 'title:"harbour strike"', 'byline:"anna smith"', 'outlet:"the courier"~2',
    '"the harbour"', '"would open in the spring"', 'harbour -"the west"',
    '"the harbour" OR "the west"', '"closed the harbour" OR lavrov',
    "*", "",
]


def _make(root: Path, database: str | None, engine: str) -> Archive:
    root.mkdir(parents=True)
    (root / "settings.toml").write_text(f'[search]\nengine = "{engine}"\n')
    return Archive(InstancePaths(root, database))


def _feed(folder: Path) -> str:
    path = folder / "feed.jsonl"
    path.write_text("".join(json.dumps({"title": t, "text": b, "outlet": o, "date": d,
                                        "byline": by, "language": lang}) + "\n"
                            for t, b, o, d, by, lang in ARTICLES))
    return str(path)


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory, postgres_cluster: PostgresCluster
         ) -> Iterator[tuple[Archive, Archive]]:
    """The same articles in a Whoosh archive and in a PostgreSQL one searched inside the
    database (read by the tests below, never changed)."""
    folder = tmp_path_factory.mktemp("engines")
    feed = _feed(folder)
    whoosh = _make(folder / "whoosh", None, "whoosh")
    postgres = _make(folder / "postgres", postgres_cluster.url(
        postgres_cluster.create_database()), "postgresql")
    for archive in (whoosh, postgres):
        with archive.writing():
            assert ingest(archive, [feed], IngestOptions()).added == len(ARTICLES)
    assert isinstance(postgres.index, PostgresIndex)
    assert isinstance(whoosh.index, SearchIndex)
    yield whoosh, postgres
    whoosh.close()
    postgres.close()


def _answer(archive: Archive, request: SearchRequest) -> dict[str, object]:
    page = search(archive, request, suggest=False)
    return {"total": page.total, "ids": sorted(h.id for h in page.hits),
            "outlets": page.outlet_counts, "years": page.year_counts,
            "months": page.month_counts, "languages": page.language_counts}


@pytest.mark.parametrize("text", PARITY)
def test_both_engines_answer_the_same(both, text):
    whoosh, postgres = both
    request = SearchRequest(text, limit=50)
    expected = _answer(whoosh, request)
    assert _answer(postgres, request) == expected


def test_parity_queries_find_something(both):
    # The comparison above means something: most of its queries match articles.
    _, postgres = both
    empty = [t for t in PARITY if not search(postgres, SearchRequest(t), suggest=False).total]
    assert empty == []


@pytest.mark.parametrize("request_", [
    SearchRequest("lavrov", outlets=("TASS",)),
    SearchRequest("lavrov OR harbour OR strike", outlets=("TASS", "Reuters")),
    SearchRequest("harbour", languages=("de",)),
    SearchRequest("lavrov", date_from=dt.date(2022, 1, 1), date_to=dt.date(2022, 12, 31)),
    SearchRequest("", date_from=dt.date(2024, 1, 1)),
    SearchRequest("", date_to=dt.date(2023, 12, 31)),
    SearchRequest("terminal", one_per_story=True),
    SearchRequest("", one_per_story=True, outlets=("Coast Daily",)),
], ids=lambda r: f"{r.text or 'all'}-{r.outlets}-{r.languages}-{r.date_from}-{r.one_per_story}")
def test_filters_stories_and_facets_agree(both, request_):
    whoosh, postgres = both
    assert _answer(postgres, request_) == _answer(whoosh, request_)


def test_facets_ignore_their_own_filter(both):
    _, postgres = both
    page = search(postgres, SearchRequest("lavrov", outlets=("TASS",)))
    assert page.total == 2
    assert dict(page.outlet_counts) == {"TASS": 2, "The Courier": 1}
    assert dict(page.year_counts) == {2022: 1, 0: 1}
    dated = search(postgres, SearchRequest("lavrov", date_from=dt.date(2022, 1, 1),
                                           date_to=dt.date(2022, 12, 31)))
    assert [h.plain_title for h in dated.hits] == ["Lavrov visits Beijing"]
    assert dict(dated.year_counts) == {2022: 1, 2023: 1, 0: 1}


def test_story_mode_counts_one_copy_per_story(both):
    _, postgres = both
    every = search(postgres, SearchRequest("terminal"))
    stories = search(postgres, SearchRequest("terminal", one_per_story=True))
    assert every.total == 2 and stories.total == 1
    # The earliest copy stands for the story, and lists the other.
    assert stories.hits[0].plain_title == "Terminal opens in spring"
    assert stories.hits[0].other_outlets == ["Coast Daily"]


@pytest.mark.parametrize("sort", ["newest", "oldest"])
def test_date_sorts_and_paging_agree(both, sort):
    whoosh, postgres = both
    seen = []
    for offset in range(0, len(ARTICLES), 4):
        request = SearchRequest("", sort=sort, offset=offset, limit=4)
        page = search(postgres, request, suggest=False)
        assert [h.id for h in page.hits] == [h.id for h in search(whoosh, request).hits]
        seen += [h.id for h in page.hits]
    assert len(seen) == len(set(seen)) == len(ARTICLES)
    assert search(postgres, SearchRequest("", sort=sort)).hits[-1].plain_title == (
        "Undated note")  # undated last either way


def test_relevance_ranks_title_matches_first(both):
    _, postgres = both
    page = search(postgres, SearchRequest("harbour"))
    assert [h.plain_title for h in page.hits] == ["Harbour strike", "Strikes spread"]


def test_each_search_is_planned_for_its_own_words(both, monkeypatch):
    # The driver prepares a statement run a few times; PostgreSQL would then plan it once
    # for all words, though the best plan for a word in half the articles (at a million,
    # seconds apart) is not the one for a rare word.
    _, postgres = both
    assert isinstance(postgres.index, PostgresIndex)
    modes: list[str] = []
    rows = pgsearch._Reading.rows

    def watched(reading: Any, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
        if "GROUPING SETS" in sql:
            modes.append(reading.connection.exec_driver_sql("SHOW plan_cache_mode").scalar())
        return rows(reading, sql, params)

    monkeypatch.setattr(pgsearch._Reading, "rows", watched)
    for story_mode in (False, True):
        postgres.index.results = ResultCache()
        search(postgres, SearchRequest("harbour", one_per_story=story_mode), suggest=False)
    assert modes == ["force_custom_plan"] * 2


@pytest.mark.parametrize("phrase", ['"the harbour"', '"no limits"', '"would open in the spring"'])
def test_phrases_with_a_function_word_are_found_in_the_index_of_pairs(both, monkeypatch,
                                                                      phrase):
    # Each candidate's vector is read to check a phrase's positions; a phrase whose every
    # two neighbours include a function word is found in the index of such pairs instead
    # (the one pair of a two-word phrase, from that index alone).
    _, postgres = both
    statements: list[str] = []
    rows = pgsearch._Reading.rows

    def watched(reading: Any, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
        statements.append(sql)
        return rows(reading, sql, params)

    monkeypatch.setattr(pgsearch._Reading, "rows", watched)
    assert isinstance(postgres.index, PostgresIndex)
    postgres.index.results = ResultCache()
    found = search(postgres, SearchRequest(phrase), suggest=False).total
    counts = [sql for sql in statements if "GROUPING SETS" in sql]
    assert counts and "archive_phrase_pairs(a.search_vector) @>" in counts[0]
    assert ("search_vector @@" in counts[0]) == (phrase.count(" ") > 1)
    with postgres.engine.connect() as connection:
        by_vectors = connection.execute(text(
            "SELECT count(*) FROM articles WHERE search_vector @@ "
            "phraseto_tsquery('archive_english', :words)"), {"words": phrase.strip('"')}).scalar()
        connection.exec_driver_sql("SET enable_seqscan = off")
        plan = "\n".join(connection.execute(text(
            "EXPLAIN SELECT count(*) FROM articles a WHERE "
            "archive_phrase_pairs(a.search_vector) @> ARRAY['the harbour']")).scalars())
    assert found == by_vectors > 0
    assert "ix_articles_phrase_pairs" in plan


def test_a_phrase_does_not_straddle_the_title_and_the_body(both):
    # "Terminal opens in spring" over "The port authority said...": "spring the" is no
    # phrase of either (nor for the Whoosh engine), though the positions run on.
    whoosh, postgres = both
    for archive in (whoosh, postgres):
        assert search(archive, SearchRequest('"spring the"'), suggest=False).total == 0
    assert search(postgres, SearchRequest('"the port"'), suggest=False).total == 2


def test_histogram_agrees(both):
    whoosh, postgres = both
    for request in (SearchRequest("", histogram=True),
                    SearchRequest("harbour OR strike", histogram=True),
                    SearchRequest("terminal", histogram=True, one_per_story=True),
                    SearchRequest("", histogram=True, date_from=dt.date(2024, 5, 1),
                                  date_to=dt.date(2024, 5, 31))):
        expected = search(whoosh, request).histogram
        found = search(postgres, request).histogram
        assert found == expected and found is not None
    chart = search(postgres, SearchRequest("", histogram=True)).histogram
    assert chart is not None and chart.granularity == "month" and chart.undated == 1
    assert sum(chart.counts) == len(ARTICLES) - 1 == sum(chart.totals)


def test_snippets_mark_the_words_found(both):
    _, postgres = both
    hit = search(postgres, SearchRequest("sanctions")).hits[0]
    marked = [text for fragment in hit.snippet for text, match in fragment if match]
    assert marked == ["sanctions", "sanctioned"]
    prefix = search(postgres, SearchRequest("sanct*")).hits[0]
    assert [t for f in prefix.snippet for t, m in f if m] == ["sanctions", "sanctioned"]
    fuzzy = search(postgres, SearchRequest("lavorv~ beijing")).hits[0]
    assert ("Lavrov", True) in fuzzy.title or ("Beijing", True) in fuzzy.title


def test_explain_counts_each_clause(both):
    _, postgres = both
    found = explain(postgres, 'lavrov "no limits" -beijing wa?g date:2022')
    kinds = [(c.kind, c.typed, c.matches, c.negated) for c in found.clauses]
    assert kinds == [("term", "lavrov", 3, False), ("phrase", "no limits", 1, False),
                     ("wildcard", "wa?g", 1, False),
                     ("date range", "2022-01-01 to 2022-12-31", 1, False),
                     ("term", "beijing", 1, True)]
    assert found.total == 0
    assert found.clauses[2].expansions == ("wang",)
    everything = explain(postgres, "")
    assert everything.total == len(ARTICLES)


def test_suggestions_more_like_this_and_stand_out_words(both):
    _, postgres = both
    page = search(postgres, SearchRequest("lavrv"))
    assert page.total == 0 and page.suggestion == "lavrov"
    assert search(postgres, SearchRequest("lavrov")).suggestion is None
    terminal = next(h.id for h in search(postgres, SearchRequest('title:"terminal opens"')).hits)
    similar = [h.plain_title for h in more_like_this(postgres, terminal)]
    assert "Port terminal delayed" not in similar  # the same story is not "more like" it
    harbour = search(postgres, SearchRequest("title:harbour")).hits[0].id
    assert "Strikes spread" in [h.plain_title for h in more_like_this(postgres, harbour)]
    words = dict(significant_terms(postgres, SearchRequest("strike OR strikes OR harbour")))
    assert "harbour" not in words and "strike" not in words  # the query's own words
    assert words and all(score > 0 for score in words.values())


@pytest.mark.parametrize("text", ['"unclosed', "title:", "a*", "lavrov~3", "-lavrov",
                                  "x" * 41, "date:yesterday", "(((", "AND OR NOT"])
def test_hostile_queries_are_query_errors_or_harmless(both, text):
    whoosh, postgres = both
    try:
        expected: object = _answer(whoosh, SearchRequest(text))
    except QueryError as exc:
        expected = type(exc)
    try:
        found: object = _answer(postgres, SearchRequest(text))
    except QueryError as exc:
        found = type(exc)
    assert found == expected


def test_a_statement_past_the_deadline_is_a_search_timeout(both):
    _, postgres = both
    index = postgres.index
    assert isinstance(index, PostgresIndex)
    index.deadline_seconds = 0.001
    try:
        # Slow on purpose: pg_sleep runs inside the statement the deadline bounds.
        with pytest.raises(SearchTimeout), index._reading() as reading:
            reading.rows("SELECT pg_sleep(2)")
    finally:
        index.deadline_seconds = postgres.settings.search_deadline_seconds


def test_check_reindex_and_export_on_the_postgresql_engine(both):
    _, postgres = both
    report = check(postgres)
    assert report.consistent and report.indexed == len(ARTICLES)
    with postgres.writing():
        assert reindex(postgres) == len(ARTICLES)
    assert postgres.index_is_current()
    assert search(postgres, SearchRequest("lavorv~")).total == 3  # the vocabulary is back
    assert postgres.index.doc_count() == len(ARTICLES)


def test_the_engine_is_refused_on_sqlite_and_unknown_names(tmp_path):
    root = tmp_path / "instance"
    root.mkdir()
    (root / "settings.toml").write_text('[search]\nengine = "postgresql"\n')
    with pytest.raises(SettingsError, match="PostgreSQL database"):
        Archive(InstancePaths(root))
    (root / "settings.toml").write_text('[search]\nengine = "lucene"\n')
    with pytest.raises(SettingsError, match="search.engine"):
        Archive(InstancePaths(root))


# --- the web UI and the API on the PostgreSQL engine ----------------------------------------


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory, postgres_cluster: PostgresCluster
            ) -> Iterator[tuple[FlaskClient, FlaskClient]]:
    """The research archive of the web tests (the examples and their records) served by
    the Whoosh engine and by the PostgreSQL one."""
    made = []
    for engine in ("whoosh", "postgresql"):
        root = tmp_path_factory.mktemp(engine)
        (root / "instance").mkdir()
        database = ""
        if engine == "postgresql":
            url = postgres_cluster.url(postgres_cluster.create_database())
            database = f'[database]\nurl = "{url}"\n'
        (root / "instance" / "settings.toml").write_text(
            f'[search]\nengine = "{engine}"\n{database}')
        app = create_app({"ARCHIVE_INSTANCE": build_research_archive(root), "TESTING": True})
        made.append(app)
    yield made[0].test_client(), made[1].test_client()
    for app in made:
        close_app(app)


def _api(client: FlaskClient, query: str) -> dict[str, Any]:
    response = client.get(f"/api/search?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    return {"total": body["total"], "facets": body["facets"], "histogram": body["histogram"],
            "ids": sorted(hit["id"] for hit in body["hits"]), "pages": body["pages"]}


@pytest.mark.parametrize("query", [
    "q=tram", "q=tram&stories=1&language=en", "q=harbour+dredging&sort=newest&histogram=1",
    "q=dredg*&per_page=3&page=2&sort=oldest", "q=&outlet=Harbour+Gazette&histogram=1",
    'q="dock+strike"', "q=strike+-dock&from=2020-01-01", "q=title:tram",
])
def test_the_api_answers_alike_on_both_engines(clients, query):
    whoosh, postgres = clients
    assert _api(postgres, query) == _api(whoosh, query)


def test_web_pages_work_on_the_postgresql_engine(clients):
    _, postgres = clients
    page = postgres.get("/?q=tram&histogram=1")
    assert page.status_code == 200 and "<mark>" in page.get_data(as_text=True).lower()
    explained = postgres.get("/explain?q=tram+-bus+dredg*")
    assert explained.status_code == 200 and "dredg" in explained.get_data(as_text=True)
    hit = postgres.get("/api/search?q=tram").get_json()["hits"][0]
    article = postgres.get(f"/articles/{hit['id']}")
    assert article.status_code == 200
    assert postgres.get("/search.atom?q=tram").status_code == 200
    bad = postgres.get("/api/search?q=a*")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "bad_query"
    assert postgres.get("/?q=%22unclosed").status_code in (200, 400)


def test_the_commands_on_the_postgresql_engine(tmp_path, postgres_url):
    root = tmp_path / "instance"
    root.mkdir()
    (root / "settings.toml").write_text(
        f'[search]\nengine = "postgresql"\n[database]\nurl = "{postgres_url}"\n')

    def run(*arguments: str) -> str:
        result = CliRunner().invoke(archive_cli, ["--instance", str(root), *arguments])
        assert result.exit_code == 0, result.output
        return result.output

    assert "Added 8 articles" in run("ingest", str(EXAMPLES))
    assert not (root / "index").exists()  # nothing of Whoosh's in the folder
    found = json.loads(run("search", "tram", "--json"))
    assert found["total"] >= 1 and found["hits"]
    assert "term" in run("search", "tram", "--explain")
    assert "Consistent." in run("check")
    assert "Indexed 8 articles." in run("reindex")
    assert "inside PostgreSQL" in run("optimize")
    run("db", "upgrade")
    assert json.loads(run("search", "tram", "--json"))["total"] == found["total"]
    exported = run("export", "--query", "tram", "--format", "jsonl")
    assert len([line for line in exported.splitlines() if line.startswith("{")]) == (
        found["total"])


def test_a_search_past_its_deadline_is_a_503_on_the_postgresql_engine(clients):
    _, postgres = clients
    index = postgres.application.extensions["archive"].get().index
    kept = index.deadline_seconds
    index.deadline_seconds = 1e-9
    try:
        response = postgres.get("/api/search?q=tram")
        assert response.status_code == 503
        assert response.get_json()["error"]["code"] == "search_timeout"
    finally:
        index.deadline_seconds = kept
    assert postgres.get("/api/search?q=tram").status_code == 200
