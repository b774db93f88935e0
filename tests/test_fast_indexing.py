"""Indexing in bulk (issue 15): the schema's analysers run in a few passes
(archive.index.analysis) and segments merge term by term (archive.index.merging). Both must
write the index Whoosh's own path writes: the same terms, postings, positions, weights,
block statistics, stored fields and columns, so that searches find the same."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import pytest
import whoosh.index
from whoosh import formats, qparser
from whoosh.analysis import StemmingAnalyzer

import archive.index.fieldformat as fieldformat
import archive.index.merging as merging
from archive.index import IndexDoc, SearchIndex, SearchRequest
from archive.index.analysis import plan_for
from archive.index.schema import _schema

TEXTS = [
    "",
    "   \n\t ",
    "The Minister said on Tuesday that talks with the U.S. would resume, e.g. in 3.14 days.",
    "Rates rose: rates, RATES, rating, rated; the rate-setters' decision (rated) 2024-03-01.",
    # Markup-like text, as a sloppy export leaves it.
    "<p class=\"lead\">Prices &amp; wages</p><br/>&nbsp;<a href='x.html'>more</a> a..b _x_",
    # Non-English: German, French, Turkish (İ lower-cases to two characters), Greek with a
    # final sigma, Russian, Arabic, Hebrew, Chinese, Japanese, Korean, and emoji.
    "Straße Übermäßig GROẞ naïve Café ﬁnancial ÆØÅ İstanbul IŞIK ıı",
    "ΟΔΟΣ ΣΙΣΥΦΟΣ Σ οδός. ΣΑΣ Μόσχα Москва ВЛАДИМИР путин сказал",
    "العربية للأنباء עברית חדשות 中文新闻报道 日本語のニュース 한국어 뉴스 🙂👍🏽",
    # Very long words, numbers and dotted runs.
    "a" * 2000 + " " + "ab" * 700 + " x" * 50 + " 1.2.3.4.5 www.example.com v2.0",
    "Don't won't l'homme O'Neil co-operate 10,000 £5m €3.5bn 50% #tag @user",
]


def _stock_word_values(field: Any, text: str) -> list[tuple]:
    """Whoosh's own Positions.word_values through the field's analyser chain."""
    return sorted(formats.Positions.word_values(field.format, text, field.analyzer,
                                                mode="index"))


@pytest.mark.parametrize("name", ["title", "body", "byline", "outlet_text"])
def test_analysis_gives_whooshs_terms_positions_and_weights(name):
    field = _schema()[name]
    assert plan_for(field.analyzer) is not None  # the fast path is the one under test
    rng = random.Random(5)
    words = " ".join(TEXTS).split()
    texts = TEXTS + [" ".join(rng.choices(words, k=rng.randrange(1, 300))) for _ in range(60)]
    for text in texts:
        fast = sorted(field.format.word_values(text, field.analyzer, mode="index"))
        assert fast == _stock_word_values(field, text), text[:60]


def test_other_analysers_go_through_whoosh():
    field = _schema()["body"]
    stops = StemmingAnalyzer()  # stop words and a minimum size: not a recognised chain
    assert plan_for(stops) is None
    text = TEXTS[2]
    assert (sorted(field.format.word_values(text, stops, mode="index"))
            == sorted(formats.Positions.word_values(field.format, text, stops, mode="index")))


def _docs(count: int) -> list[IndexDoc]:
    rng = random.Random(11)
    words = " ".join(TEXTS[2:]).split() + [f"w{n}" for n in range(400)]
    docs = []
    for number in range(1, count + 1):
        body = " ".join(rng.choices(words, k=rng.randrange(0, 600)))
        if number % 17 == 0:
            body = ""
        docs.append(IndexDoc(
            id=number, title=" ".join(rng.choices(words, k=rng.randrange(0, 9))), body=body,
            outlet=rng.choice(["Daily", "Weekly", None]),
            published=rng.choice([None, dt.date(2020, 1, 2), dt.date(1999, 12, 31)]),
            language=rng.choice(["en", "de", None]), byline=rng.choice(["Jo Smith", None]),
            story=rng.choice([None, 1, 2])))
    return docs


def _build(path: Path, docs: list[IndexDoc]) -> SearchIndex:
    index = SearchIndex(path)
    # Batches of 60 (tier 1): the eighth fills the tier and is merged by the policy.
    for start in range(0, 480, 60):
        index.add(docs[start:start + 60])
    index.delete([3, 64, 65, 200, 479])
    index.add(docs[480:], replace=True)
    index.add(docs[10:12], replace=True)  # replaced: the old copies are deleted documents
    assert index.merge_segments(everything=True) == 1
    return index


def _contents(index: SearchIndex) -> dict[str, Any]:
    reader = index._index.reader()
    try:
        assert reader.is_atomic()
        terms = {}
        for fieldname in reader.indexed_field_names():
            for btext in reader.lexicon(fieldname):
                info = reader.term_info(fieldname, btext)
                offset, length = info.extent()
                length = length[0] if isinstance(length, tuple) else length
                terms[fieldname, btext] = (
                    info.weight(), info.doc_frequency(), info.min_length(), info.max_length(),
                    info.max_weight(), info.min_id(), info.max_id(),
                    reader._terms._postfile.get(offset, length))
        count = reader.doc_count_all()
        return {
            "terms": terms,
            "stored": list(reader.all_stored_fields()),
            "lengths": {name: [reader.doc_field_length(d, name) for d in range(count)]
                        for name in ("title", "body", "byline", "outlet_text")},
            "columns": {name: list(reader.column_reader(name))
                        for name in ("outlet", "date", "language", "story")},
        }
    finally:
        reader.close()


QUERIES = ["rates", '"the minister said"', "straße", "οδοσ", "москва", "w1 w2", '"w3 w4"~5',
           "title:w7", "outlet:daily", "istanbul OR işik", "a" * 40, "rat*", "-w1 w2"]


def test_index_written_in_bulk_is_the_one_whoosh_writes(tmp_path, monkeypatch):
    docs = _docs(560)
    fast = _build(tmp_path / "fast", docs)
    with monkeypatch.context() as patched:
        # Whoosh's own path: its analyser chain and its posting pool for merges.
        patched.setattr(fieldformat, "plan_for", lambda analyzer: None)
        patched.setattr(merging, "_bulk_mergeable", lambda writer, reader: False)
        stock = _build(tmp_path / "stock", docs)
        stock_contents = _contents(stock)
    fast_contents = _contents(fast)
    assert fast_contents["terms"].keys() == stock_contents["terms"].keys()
    assert fast_contents == stock_contents  # down to the bytes of every posting list
    for text in QUERIES:
        request = SearchRequest(text=text, limit=600)
        found = fast.search(request)
        assert found.ids == stock.search(request).ids, text
    assert fast.search(SearchRequest(text="rates", limit=600)).total > 0
    fast.close()
    stock.close()


def test_merging_in_bulk_on_the_way_keeps_searches(tmp_path):
    """Tier merges during a load (no optimize): Whoosh alone opens and searches the result."""
    docs = _docs(560)
    index = SearchIndex(tmp_path / "index")
    for start in range(0, 560, 60):
        index.add(docs[start:start + 60])
    assert index.segment_count() < 9  # the eighth batch of 60 made the tier merge
    expected = {doc.id for doc in docs if "w5" in doc.body.split()}
    assert set(index.search(SearchRequest(text="body:w5", limit=600)).ids) == expected
    index.close()
    plain = whoosh.index.open_dir(str(tmp_path / "index"))
    with plain.searcher() as searcher:
        query = qparser.QueryParser("body", plain.schema).parse("w5")
        assert {int(hit["id"]) for hit in searcher.search(query, limit=None)} == expected
