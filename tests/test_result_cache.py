"""Search results kept between requests: reused for paging, facet clicks and other sorts,
never across a commit, bounded, worked out once when many ask at once, and the same answer
whether they came from the cache or not. No timing: counters say what happened, threads
wait for events."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from archive.export import export_records
from archive.index import (
    IndexDoc,
    QueryError,
    SearchIndex,
    SearchRequest,
    SearchTimeout,
    bounds,
    cache,
    results,
    searchindex,
)
from archive.index.expansion import CappedPrefix
from archive.instance import Archive
from archive.search import search
from archive_web import close_app, create_app
from tests.conftest import PATIENCE

OUTLETS = ["Harbor Courier", "Daily Lantern", "Northern Wire"]


def _docs(first_id: int, count: int, word: str = "ferry") -> list[IndexDoc]:
    """Articles of three outlets over four years, some in French, copies of a story in pairs;
    `word` comes up from one to four times, so that scores tie and differ."""
    return [IndexDoc(
        id=first_id + n, title=f"Report {n}",
        body=" ".join([word] * (1 + n % 4) + ["harbour", "council", f"item{n}"] * (1 + n % 3)),
        outlet=OUTLETS[n % 3], published=dt.date(2020 + n % 4, 1 + n % 12, 1 + n % 28)
        if n % 7 else None, language="fr" if n % 5 == 0 else "en",
        story=first_id + n - n % 2) for n in range(count)]


@pytest.fixture
def index(tmp_path: Path) -> Iterator[SearchIndex]:
    opened = SearchIndex(tmp_path / "index")
    opened.add(_docs(1, 30))
    opened.add(_docs(100, 12, word="tram"))  # a second segment
    yield opened
    opened.close()


@pytest.fixture
def matchings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The queries whose matches were worked out (read from posting lists), in order."""
    calls: list[str] = []
    original = searchindex._matching

    def counted(postings, parsed):  # noqa: ANN001, ANN202
        calls.append(str(parsed))
        return original(postings, parsed)

    monkeypatch.setattr(searchindex, "_matching", counted)
    return calls


def _fresh(index: SearchIndex, request: SearchRequest, **options: bool) -> object:
    """The answer worked out from nothing: no results, posting lists or readers kept."""
    index.close()
    return index.search(request, **options)


def test_paging_facet_clicks_and_other_sorts_reuse_the_matches(index: SearchIndex,
                                                              matchings: list[str]) -> None:
    first = index.search(SearchRequest("ferry", limit=5, histogram=True))
    assert first.total == 30 and len(matchings) == 1
    counts = index.results.counts
    assert counts["found miss"] == counts["ranked miss"] == counts["counts miss"] == 1
    second = index.search(SearchRequest("ferry", offset=5, limit=5, histogram=True))
    assert counts["ranked hit"] == counts["counts hit"] == counts["histogram hit"] == 1
    assert not set(first.ids) & set(second.ids) and second.outlet_counts == first.outlet_counts
    # A facet click, another sort, story mode, stand-out words' 200 best: no posting list read.
    index.search(SearchRequest("ferry", outlets=(OUTLETS[1],), limit=5, histogram=True))
    index.search(SearchRequest("ferry", sort="newest"))
    index.search(SearchRequest("ferry", one_per_story=True))
    index.search(SearchRequest("ferry", limit=200))
    # The same query typed otherwise (case, spacing, a word ending) is the same search.
    index.search(SearchRequest("  FERRIES "))
    assert len(matchings) == 1 and counts["found miss"] == 1 and counts["scores miss"] == 1
    index.search(SearchRequest('"ferry harbour"'))
    assert len(matchings) == 2


def test_cached_answers_are_the_answers_worked_out_afresh(index: SearchIndex,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setattr(results, "KEPT_RANKS", 4)  # so that deep pages are ranked again
    requests = [SearchRequest(text, outlets=outlets, languages=languages, date_from=start,
                              date_to=end, sort=sort, one_per_story=stories, offset=offset,
                              limit=limit, histogram=True)
                for text in ("ferry", "harbour -tram", "item1*", "")
                for outlets, languages, start, end in [
                    ((), (), None, None), ((OUTLETS[0], OUTLETS[2]), (), None, None),
                    ((), ("fr",), dt.date(2021, 1, 1), dt.date(2022, 12, 31))]
                for sort in ("relevance", "oldest")
                for stories in (False, True)
                for offset, limit in ((0, 3), (3, 3), (6, 30))]
    warm = [index.search(request) for request in requests]
    again = [index.search(request) for request in requests]
    assert index.results.counts["found hit"] > len(requests)
    for request, kept, repeated in zip(requests, warm, again, strict=True):
        assert repeated == kept == _fresh(index, request), request
        assert index.search(request, remember=False) == kept, request


def test_pages_of_a_ranking_deeper_than_is_kept_are_one_ranking(index: SearchIndex,
                                                                  monkeypatch: pytest.MonkeyPatch
                                                                  ) -> None:
    monkeypatch.setattr(results, "KEPT_RANKS", 5)
    for sort in ("relevance", "newest"):
        whole = index.search(SearchRequest("ferry OR tram", sort=sort, limit=100)).ids
        pages = [index.search(SearchRequest("ferry OR tram", sort=sort, offset=offset, limit=4))
                 for offset in range(0, len(whole), 4)]
        assert [i for page in pages for i in page.ids] == whole and len(whole) == 42


def test_after_an_ingest_the_same_search_finds_the_new_article(
        archive: Archive, ingest_paths: Callable[..., object],
        write_file: Callable[[str, str], Path]) -> None:
    def feed(name: str, titles: list[str]) -> Path:
        return write_file(name, "".join(json.dumps({
            "title": title, "text": f"The ferry {title.lower()} sailed from the harbour at "
                                    "dawn with its passengers and their bicycles.",
            "outlet": "Harbor Courier", "date": "2023-05-01"}) + "\n" for title in titles))

    ingest_paths(feed("first.jsonl", ["Morning crossing", "Evening crossing"]))
    request = SearchRequest("ferry", outlets=("Harbor Courier",), limit=1, histogram=True)
    before = [search(archive, dataclasses.replace(request, offset=n)) for n in (0, 1)]
    assert [page.total for page in before] == [2, 2]
    assert search(archive, request).hits[0].id == before[0].hits[0].id  # from the cache
    assert archive.index.results.counts["ranked hit"] >= 1
    ingest_paths(feed("second.jsonl", ["Storm crossing"]))
    after = search(archive, dataclasses.replace(request, limit=10))
    assert after.total == 3 and after.outlet_counts == [("Harbor Courier", 3)]
    assert "Storm crossing" in [hit.plain_title for hit in after.hits]
    assert after.histogram is not None and sum(after.histogram.counts) == 3


def test_the_web_app_pages_and_narrows_a_search_from_its_kept_matches(
        archive: Archive, ingest_paths: Callable[..., object],
        write_file: Callable[[str, str], Path], matchings: list[str]) -> None:
    lines = [json.dumps({"title": f"Crossing {n}", "outlet": OUTLETS[n % 3],
                         "text": f"The ferry crossed the bay {n} times in a storm; the "
                                 f"harbour master counted {n * 7} passengers aboard.",
                         "date": f"202{n % 4}-05-{1 + n:02d}"}) for n in range(14)]
    ingest_paths(write_file("feed.jsonl", "\n".join(lines) + "\n"))
    app = create_app({"ARCHIVE_INSTANCE": archive.paths.root, "TESTING": True})
    try:
        client = app.test_client()
        api = [client.get("/api/search", query_string=query).json for query in (
            {"q": "ferry", "per_page": 5}, {"q": "ferry", "per_page": 5, "page": 2},
            {"q": "Ferry", "per_page": 5, "outlet": OUTLETS[0], "histogram": 1})]
        assert [body["total"] for body in api] == [14, 14, 5]
        assert not {h["id"] for h in api[0]["hits"]} & {h["id"] for h in api[1]["hits"]}
        # The results page (with its chart and stand-out words) and its next page.
        for page in (1, 2):
            response = client.get("/", query_string={"q": "ferry", "page": page})
            assert response.status_code == 200 and "14 articles" in response.get_data(True)
    finally:
        close_app(app)
    assert len(matchings) == 1


def test_a_deleted_article_is_gone_from_the_next_answer(index: SearchIndex) -> None:
    assert 2 in index.search(SearchRequest("ferry", limit=50)).ids
    index.delete([2])
    assert 2 not in index.search(SearchRequest("ferry", limit=50)).ids


def test_an_index_rebuilt_elsewhere_is_not_answered_from_the_old_one(tmp_path: Path) -> None:
    # `archive reindex` in another process starts a new index whose generations count from
    # 0 again; the web process's readers of the old one refresh one by one. Generation numbers
    # alone then meet twice: posting lists kept for the old index's 2nd generation answered a
    # reader of the new one's 2nd (wrong documents); segments tell them apart.
    writer = SearchIndex(tmp_path / "index")
    writer.add(_docs(1, 2, word="ferry"))  # generation 1: ferry in documents 0 and 1
    served = SearchIndex(tmp_path / "index", create=False)
    with served._reading():  # one request holds a reader of generation 1 ...
        writer.add(_docs(10, 2, word="tram"))  # ... a commit: generation 2
        assert served.search(SearchRequest("ferry")).total == 2  # another reader, of 2
    writer.clear()  # the rebuild: a new index, generation 0
    writer.add(_docs(20, 3, word="tram"))  # generation 1
    writer.add(_docs(30, 3, word="ferry"))  # generation 2: ferry in documents 3 to 5
    # The next request gets the reader of generation 1 back, which refreshes to the new 2.
    hits = served.search(SearchRequest("ferry", limit=10))
    assert sorted(hits.ids) == [30, 31, 32] and hits.total == 3
    served.close()
    writer.close()


def test_exports_use_what_is_kept_and_keep_nothing(archive: Archive,
                                                  ingest_paths: Callable[..., object],
                                                  write_file: Callable[[str, str], Path]
                                                  ) -> None:
    lines = [json.dumps({"title": f"Crossing {n}", "text": f"The ferry crossed {n} times.",
                         "outlet": "Harbor Courier", "date": f"2023-05-{n:02d}"})
             for n in range(1, 8)]
    ingest_paths(write_file("feed.jsonl", "\n".join(lines) + "\n"))
    request = SearchRequest("ferry")
    assert len(list(export_records(archive, request))) == 7
    kept = archive.index.results
    assert len(kept) == 0 and kept.counts["found miss"] == 1
    search(archive, request)
    size = len(kept)
    for _ in range(2):
        assert len(list(export_records(archive, request))) == 7
    assert len(kept) == size and kept.counts["found hit"] == 2


def test_notes_say_what_a_pattern_left_out_however_the_answer_was_found(
        index: SearchIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CappedPrefix, "limit", 2)  # item* matches 30 words: 2 are searched
    note = ("'item*' matches 30 words: only the 2 most common were searched (add letters "
            "before the * or ? to narrow it)")
    # Matching stops at "nothingmatches", before item* is expanded: the note is there all
    # the same, whichever sort asked first, and from the cache.
    for sort in ("newest", "relevance"):
        index.close()
        for _ in range(2):
            assert index.search(SearchRequest("nothingmatches item*", sort=sort)).notes == [note]
    assert index.explain("nothingmatches item*").notes == [note]


def test_a_search_past_its_deadline_stops_even_when_its_answer_is_kept(
        index: SearchIndex) -> None:
    index.search(SearchRequest("ferry"))
    with bounds.deadline(1e-9), pytest.raises(SearchTimeout):
        index.search(SearchRequest("ferry"))
    assert index.results.counts["found hit"] == 1


# --- many requests at once ----------------------------------------------------------------


class _Blocked:
    """Matching that waits, in the first request only, until the test lets it go on."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch,
                 failure: BaseException | None = None) -> None:
        self.entered, self.release = threading.Event(), threading.Event()
        self.calls = 0
        self._failure = failure
        original = searchindex._matching

        def matching(postings, parsed):  # noqa: ANN001, ANN202
            self.calls += 1
            if self.calls == 1:
                self.entered.set()
                assert self.release.wait(PATIENCE)
                if self._failure is not None:
                    raise self._failure
            return original(postings, parsed)

        monkeypatch.setattr(searchindex, "_matching", matching)


def _run(target: Callable[[], object], count: int) -> tuple[list[threading.Thread], list[object]]:
    outcomes: list[object] = []

    def run() -> None:
        try:
            outcomes.append(target())
        except Exception as exc:  # noqa: BLE001 - what a request raised is its outcome
            outcomes.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads, outcomes


def _until(condition: Callable[[], bool]) -> None:
    give_up = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < give_up, "the threads never got there"
        time.sleep(0.005)


def _join(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join(PATIENCE)
        assert not thread.is_alive()


def test_many_requests_for_the_same_search_work_it_out_once(index: SearchIndex,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    blocked = _Blocked(monkeypatch)
    owner, first = _run(lambda: index.search(SearchRequest("ferry")), 1)
    assert blocked.entered.wait(PATIENCE)
    others, answers = _run(lambda: index.search(SearchRequest("ferry")), 5)
    _until(lambda: index.results.counts["found wait"] == 5)
    blocked.release.set()
    _join(owner + others)
    assert blocked.calls == 1
    assert len(answers) == 5 and all(answer == first[0] for answer in answers)


def test_a_waiting_request_stops_at_its_own_deadline(index: SearchIndex,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = _Blocked(monkeypatch)
    owner, first = _run(lambda: index.search(SearchRequest("ferry")), 1)
    assert blocked.entered.wait(PATIENCE)

    def impatient() -> object:
        with bounds.deadline(0.05):
            return index.search(SearchRequest("ferry"))

    waiter, outcome = _run(impatient, 1)
    _join(waiter)  # while the first is still at work
    assert isinstance(outcome[0], SearchTimeout) and not blocked.release.is_set()
    blocked.release.set()
    _join(owner)
    assert blocked.calls == 1 and getattr(first[0], "total", None) == 30


def test_when_the_first_runs_out_of_time_a_waiting_request_works_it_out(
        index: SearchIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = _Blocked(monkeypatch, failure=SearchTimeout("the first one's time was up"))
    owner, first = _run(lambda: index.search(SearchRequest("ferry")), 1)
    assert blocked.entered.wait(PATIENCE)
    others, answers = _run(lambda: index.search(SearchRequest("ferry")), 4)
    _until(lambda: index.results.counts["found wait"] == 4)
    blocked.release.set()
    _join(owner + others)
    assert isinstance(first[0], SearchTimeout)
    assert blocked.calls == 2  # one of the waiting ones, for all of them
    assert [getattr(answer, "total", answer) for answer in answers] == [30] * 4


def test_a_query_that_cannot_run_fails_once_for_everyone_waiting(
        index: SearchIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = _Blocked(monkeypatch, failure=QueryError("more than 500,000 words start with"))
    owner, first = _run(lambda: index.search(SearchRequest("ferry")), 1)
    assert blocked.entered.wait(PATIENCE)
    others, outcomes = _run(lambda: index.search(SearchRequest("ferry")), 3)
    _until(lambda: index.results.counts["found wait"] == 3)
    blocked.release.set()
    _join(owner + others)
    assert blocked.calls == 1
    for outcome in [*first, *outcomes]:
        assert type(outcome) is QueryError and "500,000 words" in str(outcome)


# --- bounds ---------------------------------------------------------------------------------


def test_the_cache_keeps_within_its_entries_and_bytes(index: SearchIndex) -> None:
    index.results = kept = cache.ResultCache(budget=40_000, entries=12)
    for n in range(30):
        index.search(SearchRequest(f"item{n} OR ferry", histogram=True))
        assert len(kept) <= 12 and kept.used <= 40_000
    assert sum(n for event, n in kept.counts.items() if event.endswith("evicted")) > 0
    # The newest are kept, the oldest gone.
    index.search(SearchRequest("item29 OR ferry", histogram=True))
    assert kept.counts["found hit"] == 1


def test_a_piece_too_big_for_its_share_is_used_once_and_not_kept() -> None:
    kept = cache.ResultCache(budget=4_000, entries=10)
    big = np.zeros(1_000, dtype=np.int32)  # 4,000 bytes: more than a quarter of the budget
    assert kept.get("g", ("found", b"q"), lambda: big) is big
    assert len(kept) == 0 and kept.counts["found miss"] == 1


def test_a_new_generation_drops_the_old_and_late_answers_of_the_old_are_not_kept() -> None:
    kept = cache.ResultCache()
    kept.get("g1", ("found", b"q"), lambda: 1)
    kept.get("g2", ("found", b"q"), lambda: 2)
    assert len(kept) == 1
    assert kept.get("g1", ("found", b"r"), lambda: 3) == 3  # a request still reading g1
    assert len(kept) == 1 and kept.counts["found stale"] == 1
    assert kept.get("g2", ("found", b"q"), lambda: 0) == 2


def test_a_suggestion_is_worked_out_once_per_index_generation(index: SearchIndex) -> None:
    """"Did you mean" is asked by every page and facet click of a search that found little;
    the next commit may know the word, so a new generation works it out again."""
    bodies: list[int] = []

    def body_of(article_id: int) -> str:
        bodies.append(article_id)
        return "the ferry left the harbour"

    assert index.suggest("ferrry", body_of) == "ferry"
    assert index.suggest("ferrry", body_of) == "ferry"
    assert index.results.counts["suggestion miss"] == 1
    assert index.results.counts["suggestion hit"] == 1 and len(bodies) == 1
    index.add(_docs(200, 3, word="ferrry"))
    assert index.suggest("ferrry", body_of) is None  # the new articles made it a word
    assert index.results.counts["suggestion miss"] == 2
