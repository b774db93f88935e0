"""Search through the real index and database: ranking, filters, facets, snippets."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from archive.index import QueryError, SearchRequest
from archive.search import search

ARTICLES = [
    ("Lavrov visits Beijing", "Sergei Lavrov arrived in Beijing for talks on trade. The two "
     "sides praised their no limits partnership.", "TASS", "2022-03-20"),
    ("Wang Yi in Moscow", "Wang Yi met Vladimir Putin in Moscow. Lavrov welcomed the guest "
     "at the airport.", "The Courier", "2023-02-22"),
    ("Harbour strike", "Dock workers walked out over night-shift pay on Monday.", "The Courier",
     "2024-05-06"),
    ("Sanctions widen", "New sanctions were announced; sanctioned banks lose access.", "Reuters",
     "2024-06-01"),
    ("Undated note", "Lavrov spoke again, with no date given anywhere in this text.", "TASS", ""),
]


@pytest.fixture
def filled(archive, ingest_paths, write_file):
    lines = [json.dumps({"title": t, "text": b, "outlet": o, "date": d}) for t, b, o, d in ARTICLES]
    summary = ingest_paths(write_file("feed.jsonl", "\n".join(lines) + "\n"))
    assert summary.added == len(ARTICLES)
    return archive


def _titles(page):
    return [hit.plain_title for hit in page.hits]


def test_terms_are_anded_and_stemmed(filled):
    assert set(_titles(search(filled, SearchRequest("lavrov")))) == {
        "Lavrov visits Beijing", "Wang Yi in Moscow", "Undated note"}
    assert _titles(search(filled, SearchRequest("lavrov beijing"))) == ["Lavrov visits Beijing"]
    assert _titles(search(filled, SearchRequest("sanction"))) == ["Sanctions widen"]


def test_phrases_keep_stop_words(filled):
    assert _titles(search(filled, SearchRequest('"no limits"'))) == ["Lavrov visits Beijing"]
    assert _titles(search(filled, SearchRequest('"no date given"'))) == ["Undated note"]


def test_phrases_work_when_a_words_positions_outgrow_the_posting_cache(filled, monkeypatch):
    # At a million articles the positions of "in" alone exceed the cache; the cache dropped
    # them on arrival and the phrase search failed with a KeyError (HTTP 500).
    monkeypatch.setattr("archive.index.postings.PostingsCache.__init__.__defaults__", (1,))
    filled.index.close()
    assert _titles(search(filled, SearchRequest('"no limits"'))) == ["Lavrov visits Beijing"]
    assert _titles(search(filled, SearchRequest('"no date given"'))) == ["Undated note"]


def test_facets_count_all_matches_and_ignore_their_own_filter(filled):
    page = search(filled, SearchRequest("lavrov", outlets=("TASS",)))
    assert page.total == 2
    assert dict(page.outlet_counts) == {"TASS": 2, "The Courier": 1}
    assert dict(page.year_counts) == {2022: 1, 0: 1}


def test_date_range_excludes_unknown_dates(filled):
    page = search(filled, SearchRequest("lavrov", date_from=dt.date(2022, 1, 1),
                                        date_to=dt.date(2022, 12, 31)))
    assert _titles(page) == ["Lavrov visits Beijing"]
    assert dict(page.year_counts) == {2022: 1, 2023: 1, 0: 1}


@pytest.mark.parametrize("text", ["lavrov date:[2020 TO]", "lavrov date:[2020 TO 9999]",
                                  "lavrov date:[TO 2030]", "lavrov date:[2022 TO 2024]"])
def test_a_date_range_in_the_query_open_or_not_leaves_out_unknown_dates(filled, text):
    # Whoosh's own range over its tiered terms matched undated articles (stored as 0) when
    # the range was open at the top.
    assert "Undated note" not in _titles(search(filled, SearchRequest(text)))
    assert "Lavrov visits Beijing" in _titles(search(filled, SearchRequest(text)))


def test_sorting_by_date_and_paging_never_overlaps(filled):
    newest = search(filled, SearchRequest("", sort="newest", limit=2))
    assert _titles(newest) == ["Sanctions widen", "Harbour strike"] and newest.has_next
    second = search(filled, SearchRequest("", sort="newest", offset=2, limit=2))
    last = search(filled, SearchRequest("", sort="newest", offset=4, limit=2))
    seen = _titles(newest) + _titles(second) + _titles(last)
    assert len(seen) == len(set(seen)) == len(ARTICLES) and not last.has_next
    oldest = search(filled, SearchRequest("lavrov", sort="oldest"))
    assert _titles(oldest) == ["Lavrov visits Beijing", "Wang Yi in Moscow", "Undated note"]
    newest_lavrov = search(filled, SearchRequest("lavrov", sort="newest"))
    assert _titles(newest_lavrov)[-1] == "Undated note"  # unknown dates last either way


def test_snippets_mark_matches_and_titles_too(filled):
    hit = search(filled, SearchRequest("night shift")).hits[0]
    marked = [text for fragment in hit.snippet for text, match in fragment if match]
    assert [m.lower() for m in marked] == ["night", "shift"]
    assert "".join(t for t, _ in hit.snippet[0]).startswith("Dock workers")
    title_hit = search(filled, SearchRequest("harbour")).hits[0]
    assert ("Harbour", True) in title_hit.title


@pytest.mark.parametrize("query", ["a*", "((", '"', "-"])
def test_unusable_queries_raise_a_query_error_with_a_reason(filled, query):
    with pytest.raises(QueryError) as raised:
        search(filled, SearchRequest(query))
    assert str(raised.value)


@pytest.mark.parametrize("query", ['"unbalanced quote', "lavrov)", "OR OR", "foo:bar", "*"])
def test_odd_but_harmless_queries_just_run(filled, query):
    search(filled, SearchRequest(query))


def test_duplicate_bodies_are_skipped(archive, ingest_paths, write_file):
    body = "The same wire story, word for word, carried by two different sites today."
    one = write_file("a.jsonl", json.dumps({"title": "A", "text": body, "outlet": "X"}) + "\n")
    two = write_file("b.jsonl", json.dumps({"title": "B", "text": body.upper(), "outlet": "Y"})
                     + "\n")
    summary = ingest_paths(one, two)
    assert (summary.added, summary.duplicates) == (1, 1)


def test_a_broken_json_line_is_reported_with_its_number_and_the_rest_ingested(
        archive, ingest_paths, write_file):
    good = json.dumps({"title": "Fine", "text": "A perfectly good article body of some words."})
    path = write_file("mixed.jsonl", f"{good}\n{{not json\n")
    summary = ingest_paths(path)
    assert summary.added == 1
    assert [(uri, reason.split(":")[0]) for uri, reason in summary.failures] == [
        (f"{path}#L2", "invalid JSON")]


def test_a_readonly_archive_creates_and_migrates_nothing(tmp_path):
    from archive.config import InstancePaths
    from archive.db import DatabaseError
    from archive.instance import Archive

    with pytest.raises(DatabaseError, match="no archive at"):
        Archive(InstancePaths(tmp_path / "none"), readonly=True)
    assert not (tmp_path / "none").exists()


def test_bulk_matching_agrees_with_whoosh_across_segments_and_deletions(tmp_path):
    """The array-based matcher must find exactly what Whoosh's own matchers find."""
    import numpy as np

    from archive.index import IndexDoc, SearchIndex
    from archive.index.postings import _matching, _Postings

    index = SearchIndex(tmp_path / "index")
    words = ["harbour", "strike", "council", "bridge", "ferry", "budget", "storm", "market"]
    for batch in range(3):  # three commits: three segments
        index.add([IndexDoc(id=batch * 100 + n, title=f"{words[n % 8]} news",
                            body=" ".join(words[(n * k + batch) % 8] for k in range(1, 9)),
                            outlet="X", published=dt.date(2020 + n % 4, 1 + n % 12, 1),
                            language="en") for n in range(60)])
    index.delete([5, 105, 205])
    searcher = index._index.searcher()
    live = {docnum for docnum in searcher.reader().all_doc_ids()}
    for text in ["harbour", "harbour strike", "harbour OR ferry", "harbour -strike",
                 "market NOT budget", "brid*", "storn~", '"council bridge"', "title:ferry",
                 "(storm OR ferry) market -budget", "date:2021", '"bridge ferry"',
                 '"harbour strike council"', '"storm market"~3', '"market storm"~2',
                 'title:"ferry news"']:
        parsed = index.parse(text)
        fast = {int(d) for d in np.unique(_matching(_Postings(searcher), parsed))} & live
        assert fast == set(searcher.docs_for_query(parsed)), text
    searcher.close()
    index.close()


def test_an_empty_index_searches_without_error(archive):
    page = search(archive, SearchRequest("anything", histogram=True))
    assert page.total == 0 and page.hits == [] and page.outlet_counts == []


def test_columns_read_as_arrays_agree_with_whoosh(tmp_path):

    from archive.index import IndexDoc, SearchIndex
    from archive.index.columns import _coded_column, numeric_column

    index = SearchIndex(tmp_path / "index")
    for batch in range(3):
        index.add([IndexDoc(batch * 1000 + n, "t", "body words", ["A", "B", None, "Ünï"][n % 4],
                            dt.date(2020, 1 + n % 12, 1 + n % 28) if n % 5 else None,
                            ["en", "fr", None][n % 3], story=(batch * 1000 + n) // 2 or 1)
                   for n in range(300)])
    index.delete([5, 1005])
    searcher = index._index.searcher()
    for sub, _ in searcher.subsearchers:
        reader = sub.reader()
        for name in ("date", "story"):
            assert numeric_column(reader, name).tolist() == list(reader.column_reader(name))
        for name in ("outlet", "language"):
            table: dict[str, int] = {}
            codes = _coded_column(reader, name, table)
            assert [list(table)[c] for c in codes] == list(reader.column_reader(name))
    searcher.close()
    index.close()


def test_segments_merge_by_tiers_and_lose_nothing(tmp_path):
    from archive.index import MERGE_FACTOR, IndexDoc, SearchIndex

    index = SearchIndex(tmp_path / "index")
    for batch in range(MERGE_FACTOR * 2 + 1):  # one small segment per commit
        index.add([IndexDoc(batch * 10 + n, "t", f"harbour report {batch}", "X", None, "en")
                   for n in range(3)])
        assert index.segment_count() <= MERGE_FACTOR + 1  # a tier merges at the next commit
    assert index.doc_count() == (MERGE_FACTOR * 2 + 1) * 3
    assert index.search(SearchRequest("harbour", limit=1)).total == index.doc_count()
    index.close()
