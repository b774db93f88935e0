"""The packed posting format (issue 15): the same answers as Whoosh's own format, an index
that Whoosh alone can open and search, and the upgrade of an index in the old format."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import whoosh.index
from click.testing import CliRunner
from whoosh import formats, qparser
from whoosh.codec.whoosh3 import W3Codec

import archive.index.schema as schema_module
import archive.index.searchindex as searchindex
from archive.cli import main
from archive.config import InstancePaths
from archive.index import (
    SCHEMA_VERSION,
    IndexDoc,
    SearchIndex,
    SearchRequest,
    blocks,
    packing,
    postings,
)
from archive.index.codec import PackedCodec
from archive.index.phrases import TermPositions, in_sequence
from archive.index.schema import _VERSION_FILE
from archive.instance import Archive
from tests.conftest import EXAMPLES

WORDS = ("the of and to in a is that for it as was with be by on not he this are or his "
         "from at which but have an they you were her she there one all we their").split()
VOCABULARY = WORDS * 6 + [f"w{n}" for n in range(60)] + ["sanctions", "sanctioned", "lavrov"]


def _docs(count: int, seed: int = 3) -> list[IndexDoc]:
    rng = random.Random(seed)
    return [IndexDoc(id=number, title=" ".join(rng.choices(VOCABULARY, k=8)),
                     body=" ".join(rng.choices(VOCABULARY, k=rng.randrange(5, 400))),
                     byline=rng.choice(["Jo Smith", "Ann Lee", None]),
                     outlet=rng.choice(["Daily", "Weekly"]), published=None, language="en",
                     story=None)
            for number in range(1, count + 1)]


def _stock_schema():  # noqa: ANN202 - a Whoosh schema
    """The schema as the previous version wrote it: Whoosh's own Positions format."""
    schema = schema_module._schema()
    for name in ("title", "body", "byline", "outlet_text"):
        schema[name].format = formats.Positions(field_boost=schema[name].format.field_boost)
    return schema


@contextmanager
def _old_format() -> Iterator[None]:
    """Meanwhile, new indexes are written as the previous version wrote them."""
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(searchindex, "_schema", _stock_schema)
        patched.setattr(searchindex, "_codec", W3Codec)
        patched.setattr(searchindex, "SCHEMA_VERSION", 4)
        yield


def _build(path: Path, docs: list[IndexDoc]) -> SearchIndex:
    index = SearchIndex(path)
    # Below the bulk size: one process, so both formats number the documents alike.
    index.add(docs[:600])
    index.add(docs[600:])
    return index


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SearchIndex, SearchIndex]]:
    docs = _docs(900)
    with _old_format():
        old = _build(tmp_path_factory.mktemp("old") / "index", docs)
    new = _build(tmp_path_factory.mktemp("new") / "index", docs)
    yield old, new
    old.close()
    new.close()


QUERIES = ['"of the"', '"the of the"', '"w1 w2"', '"of the"~3', '"in a"~6 w7', 'the', 'w1 w2',
           'w1 OR w2 -w3', 'sanction*', 'w1*', 'lavorv~', 'w11~1', 'title:"the of"',
           'title:w5', 'byline:smith', 'outlet:daily "to the"', '"the the"', '"w3 the w4"~4',
           'body:"a the of"', '"and to" OR "to and"']


@pytest.mark.parametrize("text", QUERIES)
def test_old_and_new_formats_give_the_same_results(both, text):
    old, new = both
    for sort in ("relevance", "newest"):
        for page in (0, 10):
            request = SearchRequest(text=text, limit=10, offset=page, sort=sort)
            before, after = old.search(request), new.search(request)
            assert (after.total, after.ids, after.outlet_counts) == (
                before.total, before.ids, before.outlet_counts)
    assert new.explain(text).total == old.explain(text).total


def test_the_queries_find_something(both):
    _, new = both
    found = [text for text in QUERIES if new.search(SearchRequest(text=text)).total]
    assert len(found) >= len(QUERIES) - 3


def test_highlights_are_the_same(both):
    old, new = both
    text = "Lavrov said the sanctions of the west were sanctioned in a hurry"
    for query in ['"of the"', "sanction*", "lavorv~", "title:w5 west"]:
        assert (new.highlighter(query).passages("body", text)
                == old.highlighter(query).passages("body", text))


def test_whoosh_alone_opens_and_searches_the_new_index(both):
    old, new = both
    assert all(isinstance(segment.codec(), PackedCodec) for segment in new._index._segments())
    for query in ['"of the"', '"the of"~3', "w1 w2", "w1*", "title:w5", "sanctions OR lavrov"]:
        found = []
        for index in (old, new):
            opened = whoosh.index.open_dir(str(index.path))  # no archive code asked for
            with opened.searcher() as searcher:
                parsed = qparser.QueryParser("body", opened.schema).parse(query)
                results = searcher.search(parsed, limit=None)
                found.append(sorted(hit["id"] for hit in results))
        assert found[0] == found[1]
        assert found[1]


def test_merged_segments_keep_their_postings(tmp_path):
    docs = _docs(400, seed=9)
    index = SearchIndex(tmp_path / "index")
    for start in range(0, 400, 100):
        index.add(docs[start:start + 100])
    index.delete([5, 6, 7])
    # Sorted: until the merge drops them, deleted documents count in the words' weights.
    before = {text: sorted(index.search(SearchRequest(text=text, limit=500)).ids)
              for text in ['"of the"', "w1 w2", '"in a"~4', "title:w5"]}
    assert index.merge_segments(everything=True) == 1
    for text, ids in before.items():
        assert sorted(index.search(SearchRequest(text=text, limit=500)).ids) == ids
        assert ids and not {5, 6, 7} & set(ids)
    index.close()


@pytest.mark.parametrize("seed", range(5))
def test_packed_integers_come_back(seed):
    rng = np.random.default_rng(seed)
    for size in (0, 1, 7, 300):
        values = rng.integers(0, 200, size)
        values[rng.random(size) < 0.05] = rng.integers(0, 2**32 - 1, size)[:1] if size else 0
        packed = packing.pack(values) + b"tail"
        unpacked, end = packing.unpack(packed, size)
        assert unpacked.tolist() == values.tolist()
        assert packed[end:] == b"tail"


def test_blocks_keep_ids_weights_and_values():
    positions = [[1, 5, 9], [0], [3, 300, 70_000, 2**31]]
    values = [np.asarray(p, dtype="<u4").tobytes() for p in positions]
    for weights, boost in (([3.0, 1.0, 4.0], 1.0), ([6.0, 2.0, 8.0], 2.0), ([1.5, 1.0, 1.0], 1.0),
                           ([1.0] * 3, 1.0), ([2.0] * 3, 1.0)):
        body = blocks.encode_body([4, 10, 99], weights, values, True, boost)
        block = blocks.decode_body(body, 3, values=True)
        assert block.ids.tolist() == [4, 10, 99]
        assert block.weights.tolist() == weights
        assert blocks.positions_of(block).tolist() == [p for ps in positions for p in ps]
        small = blocks.decode_small(body, 3)  # Whoosh's matchers' way, for small blocks
        assert small is None or small == ([4, 10, 99], weights, values)
    # Positions out of order (not from the analyser) are kept as they came.
    odd = [np.asarray([5, 2], dtype="<u4").tobytes(), b"\x01\x00\x00\x00"]
    block = blocks.decode_body(blocks.encode_body([1, 2], [2.0, 1.0], odd, True, 1.0), 2,
                               values=True)
    assert block.values == odd


def test_a_posting_list_read_for_some_documents_holds_only_theirs():
    """A phrase's candidates are a tenth of a common word's documents, but lie in every
    block: the word's positions come back for the candidates alone."""
    ids = list(range(0, 60, 2))
    positions = [[i, i + 7, i + 9][: 1 + i % 3] for i in ids]
    data = bytearray(blocks.TAG)
    for start in range(0, len(ids), 8):
        chunk = slice(start, start + 8)
        body = blocks.encode_body(ids[chunk], [1.0] * len(ids[chunk]),
                                  [np.asarray(p, dtype="<u4").tobytes()
                                   for p in positions[chunk]], True, 1.0)
        last = start + 8 >= len(ids)
        data += blocks.HEADER.pack(-len(body) if last else len(body), len(ids[chunk]),
                                   ids[chunk][-1], 1.0, 1, 1, 0) + body
    wanted = np.array([4, 6, 30, 31, 58])
    found = blocks.read_all(bytes(data), positions=True, wanted=wanted)
    assert found.docs.tolist() == [4, 6, 30, 58]
    assert found.counts is not None and found.positions is not None
    expected = [positions[ids.index(doc)] for doc in (4, 6, 30, 58)]
    assert found.counts.tolist() == [len(p) for p in expected]
    assert found.positions.tolist() == [p for ps in expected for p in ps]
    every = blocks.read_all(bytes(data), positions=True)
    assert every.docs.tolist() == ids


def test_a_phrase_reads_its_common_word_only_where_the_rare_one_is(both, tmp_path,
                                                                   monkeypatch):
    """"the w7": the whole posting list of "the" (every article, at a million 72 MB of
    blocks to inflate) is read neither to match the phrase nor to rank its matches; the
    answers are those of the old format."""
    old, _ = both
    monkeypatch.setattr(searchindex, "_codec", lambda: PackedCodec(blocklimit=8))
    index = _build(tmp_path / "index", _docs(900))
    whole_lists: list[tuple[str, str | bytes]] = []
    read_whole = postings._Postings._read

    def spy(self, fieldname, text):  # noqa: ANN001, ANN202
        whole_lists.append((fieldname, text))
        return read_whole(self, fieldname, text)

    for text in ('body:"the w7"', 'body:"w7 the"', 'body:"of w3 the"~5'):
        request = SearchRequest(text=text, limit=20)
        expected = old.search(request)
        with monkeypatch.context() as spying:
            spying.setattr(postings._Postings, "_read", spy)
            found = index.search(request)
        assert found.total == expected.total > 0 and found.ids == expected.ids, text
    assert not [term for field, term in whole_lists if term in ("the", b"the", "of", b"of")]
    index.close()


def _sequence_reference(places: list[list[int]], slop: int) -> bool:
    """The rule, one position at a time: from a start of the first word, each next word's
    first position after the last one is at most `slop` further on."""
    for start in places[0]:
        current = start
        for following in places[1:]:
            later = [p for p in following if p > current]
            if not later or later[0] - current > slop:
                break
            current = later[0]
        else:
            return True
    return False


@pytest.mark.parametrize("seed", range(4))
def test_phrase_arrays_match_the_rule(seed):
    rng = random.Random(seed)
    docs = list(range(0, 300, 2))
    words = []
    for _ in range(3):
        lists = [sorted(rng.sample(range(60), rng.randrange(1, 12))) for _ in docs]
        counts = np.array([len(p) for p in lists])
        words.append((lists, TermPositions(np.array(docs), np.cumsum(counts) - counts, counts,
                                           np.array([p for ps in lists for p in ps],
                                                    dtype=np.uint32))))
    for size in (2, 3):
        for slop in (1, 2, 5):
            expected = [doc for i, doc in enumerate(docs)
                        if _sequence_reference([w[0][i] for w in words[:size]], slop)]
            found = in_sequence(np.array(docs), [w[1] for w in words[:size]], slop)
            assert found.tolist() == expected


def test_db_upgrade_rebuilds_an_index_of_the_old_format(instance_dir):
    runner = CliRunner()

    def run(*args: str):  # noqa: ANN202 - click's Result
        return runner.invoke(main, ["--instance", str(instance_dir), *args],
                             catch_exceptions=False)

    with _old_format():
        assert run("ingest", str(EXAMPLES)).exit_code == 0
        before = run("search", "the", "--json").stdout
    index_dir = InstancePaths(instance_dir).index_dir
    assert (index_dir / _VERSION_FILE).read_text().strip() == "4"
    opened = whoosh.index.open_dir(str(index_dir))
    assert not any(isinstance(s.codec(), PackedCodec) for s in opened._segments())

    refused = run("search", "the")
    assert refused.exit_code != 0 and "archive db upgrade" in refused.output
    upgraded = run("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert "rebuilt the search index" in upgraded.output
    assert f"index format 4; now {SCHEMA_VERSION}" in upgraded.output
    assert (index_dir / _VERSION_FILE).read_text().strip() == str(SCHEMA_VERSION)
    opened = whoosh.index.open_dir(str(index_dir))
    assert all(isinstance(s.codec(), PackedCodec) for s in opened._segments())
    assert run("search", "the", "--json").stdout == before
    with Archive(InstancePaths(instance_dir)) as archive:
        assert archive.index.doc_count() > 0


@pytest.mark.parametrize("share", [0, 4])
def test_phrases_read_only_the_blocks_they_need(both, tmp_path, monkeypatch, share):
    """Small blocks, and a phrase word's positions read either wholly or only in the blocks
    that hold candidates (share 0: always the latter): the same answers as the old format."""
    old, _ = both
    monkeypatch.setattr(searchindex, "_codec", lambda: PackedCodec(blocklimit=8))
    monkeypatch.setattr(postings, "SELECTIVE_SHARE", share)
    index = _build(tmp_path / "index", _docs(900))
    for text in [q for q in QUERIES if '"' in q]:
        request = SearchRequest(text=text, limit=20)
        assert index.search(request).ids == old.search(request).ids, text
    index.close()
