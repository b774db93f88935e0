"""Searches across commits and rebuilds, and what they say about themselves."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive.index import IndexDoc, SearchIndex, SearchRequest
from archive.index.expansion import CappedPrefix

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


@pytest.fixture
def index(tmp_path: Path) -> Iterator[SearchIndex]:
    opened = SearchIndex(tmp_path / "index")
    opened.add(_docs(1, 30))
    opened.add(_docs(100, 12, word="tram"))  # a second segment
    yield opened
    opened.close()


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
