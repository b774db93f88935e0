"""How the index's segments are merged as it grows, and a writer that merges them in bulk."""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
from whoosh import reading
from whoosh.writing import IndexingError, SegmentWriter

from archive.index import blocks, packing
from archive.index.codec import PackedCodec, PackedPostingsWriter, is_packed
from archive.index.fieldformat import PackedPositions

# Segments are grouped in tiers by size (powers of MERGE_FACTOR documents); a tier holding
# MERGE_FACTOR segments is merged into one of the next tier. Each document is rewritten a
# few times over an archive's life, and merges stay proportionate: Whoosh's own policy
# (MERGE_SMALL) every so often rewrote most of the index in the middle of a bulk load.
MERGE_FACTOR = 8


def _tier(segment) -> int:  # noqa: ANN001 - a Whoosh segment
    return int(math.log(max(segment.doc_count(), 1), MERGE_FACTOR))


def _tiers_to_merge(segments: list) -> list[list]:
    tiers: dict[int, list] = {}
    for segment in segments:
        tiers.setdefault(_tier(segment), []).append(segment)
    return [group for group in tiers.values() if len(group) >= MERGE_FACTOR]


def _merge_full_tiers(writer, segments: list) -> list:  # noqa: ANN001 - Whoosh's merge policy
    merging = {id(segment) for group in _tiers_to_merge(segments) for segment in group}
    for segment in segments:
        if id(segment) in merging:
            reader = reading.SegmentReader(writer.storage, writer.schema, segment)
            writer.add_reader(reader)
            reader.close()
    return [segment for segment in segments if id(segment) not in merging]


class MergingWriter(SegmentWriter):
    """Whoosh's segment writer, but segments of the packed codec that it merges (add_reader:
    a merge policy, or optimize) have their posting lists copied term by term, a whole
    list in a few array operations, instead of posting by posting through Whoosh's
    posting pool (a tuple, a pickling to a temporary run and an unpickling per posting:
    most of a merge's time). The merged segment holds the same terms, postings, positions,
    weights, stored fields and block statistics as Whoosh's merge would write.

    Documents added to this writer itself go through Whoosh's pool as usual; a writer that
    both adds documents and merges segments in bulk is refused (SearchIndex commits new
    documents and merges with separate writers)."""

    def __init__(self, ix: Any, **kwargs: Any) -> None:
        super().__init__(ix, **kwargs)
        # Segments merged in bulk: (segment, first new document number, document map or
        # None when no document was deleted), in the order of their new numbers.
        self._bulk: list[tuple[Any, int, dict[int, int] | None]] = []
        self._documents_added = False

    def add_document(self, **fields: Any) -> None:
        if self._bulk:
            raise IndexingError("documents added after a bulk merge in the same writer")
        self._documents_added = True
        super().add_document(**fields)

    def add_reader(self, reader: Any) -> None:
        if self._documents_added or not _bulk_mergeable(self, reader):
            super().add_reader(reader)
            return
        self._check_state()
        basedoc = self.docnum
        fieldnames = set(self.schema.names()) | {
            name for name in reader.indexed_field_names() if name in self.schema}
        docmap = self.write_per_doc(fieldnames, reader)
        self._bulk.append((reader.segment(), basedoc, docmap))
        self._added = True

    def _flush_segment(self) -> None:
        if not self._bulk:
            super()._flush_segment()
            return
        self.perdocwriter.close()
        lengths = self.per_document_reader()
        try:
            _write_merged(self, lengths)
        finally:
            lengths.close()
        self.fieldwriter.close()


def _bulk_mergeable(writer: SegmentWriter, reader: Any) -> bool:
    """Whether a reader's postings can be copied in bulk into this writer's segment: both
    in the packed codec, and every field either PackedPositions or without values (Whoosh's
    Existence format of ID and NUMERIC fields), with no term vectors or spelling words."""
    if not isinstance(writer.codec, PackedCodec) or not isinstance(reader,
                                                                   reading.SegmentReader):
        return False
    if not is_packed(reader):
        return False
    for name in reader.indexed_field_names():
        if name not in writer.schema:
            continue
        field = writer.schema[name]
        if field.vector or field.separate_spelling():
            return False
        if not (isinstance(field.format, PackedPositions)
                or field.format.fixed_value_size() == 0):
            return False
    return True


def _write_merged(writer: MergingWriter, lengths: Any) -> None:
    """Write every posting list of the bulk-merged segments into the writer's new segment:
    field by field in name order, terms in byte order, each term's postings renumbered and
    joined in document order, as Whoosh's FieldWriter.add_postings would get them."""
    schema = writer.schema
    doc_count = writer.docnum
    sources = []
    try:
        for segment, basedoc, docmap in writer._bulk:
            reader = reading.SegmentReader(writer.storage, schema, segment)
            sources.append((reader, _renumbering(reader, basedoc, docmap)))
        fieldnames = sorted({name for reader, _ in sources
                             for name in reader.indexed_field_names() if name in schema})
        fieldwriter = writer.fieldwriter
        for fieldname in fieldnames:
            field = schema[fieldname]
            positions = isinstance(field.format, PackedPositions)
            field_lengths = np.fromiter(
                (lengths.doc_field_length(docnum, fieldname) or 0 for docnum in range(doc_count)),
                dtype=np.int64, count=doc_count)
            fieldwriter.start_field(fieldname, field)
            postwriter = fieldwriter._postwriter
            assert isinstance(postwriter, PackedPostingsWriter)
            lengths_list = field_lengths.tolist()
            for btext, parts in _terms(sources, fieldname, positions):
                small = [part for part in parts if isinstance(part, tuple)]
                if len(small) == len(parts):
                    # Only a few postings (most terms): one by one costs less than numpy.
                    if not any(docnums for docnums, _, _ in small):
                        continue  # every document holding it was deleted
                    fieldwriter.start_term(btext)
                    for docnums, weights, values in small:
                        for docnum, weight, value in zip(docnums, weights, values, strict=True):
                            postwriter.add_posting(docnum, weight, value, lengths_list[docnum])
                    fieldwriter.finish_term()
                    continue
                found = [_as_arrays(part, positions) for part in parts]
                ids = np.concatenate([part.docs for part in found])
                if not len(ids):
                    continue  # every document holding it was deleted
                fieldwriter.start_term(btext)
                counts, places = _joined_positions(found) if positions else (None, None)
                postwriter.add_arrays(ids, np.concatenate([part.weights for part in found]),
                                      counts, places, field_lengths)
                fieldwriter.finish_term()
            fieldwriter.finish_field()
    finally:
        for reader, _ in sources:
            reader.close()


def _joined_positions(found: list[blocks.Postings]
                      ) -> tuple[np.ndarray | None, np.ndarray | None]:
    counts, places = [], []
    for part in found:
        assert part.counts is not None and part.positions is not None
        counts.append(part.counts)
        places.append(part.positions)
    return np.concatenate(counts), np.concatenate(places)


def _renumbering(reader: Any, basedoc: int, docmap: dict[int, int] | None) -> np.ndarray:
    """New document number of each of a segment's documents (-1: deleted, left out)."""
    count = reader.doc_count_all()
    if docmap is None:
        return np.arange(basedoc, basedoc + count, dtype=np.int64)
    new = np.full(count, -1, dtype=np.int64)
    if docmap:
        old = np.fromiter(docmap.keys(), dtype=np.int64, count=len(docmap))
        new[old] = np.fromiter(docmap.values(), dtype=np.int64, count=len(docmap))
    return new


# A few postings read without numpy: document numbers, weights, values (as add_posting
# takes them).
_Small = tuple[list[int], list[float], list[bytes]]


def _terms(sources: list[tuple[Any, np.ndarray]], fieldname: str, positions: bool
           ) -> Iterator[tuple[bytes, list[blocks.Postings | _Small]]]:
    """Each term of a field over all sources, in byte order, with its postings in each
    source that has it (renumbered, deleted documents left out), in the sources' order."""
    streams = [_source_terms(index, reader, renumber, fieldname, positions)
               for index, (reader, renumber) in enumerate(sources)]
    current: bytes | None = None
    parts: list[blocks.Postings | _Small] = []
    for btext, _, read in heapq.merge(*streams, key=lambda item: (item[0], item[1])):
        if btext != current:
            if current is not None:
                yield current, parts
            current, parts = btext, []
        parts.append(read())
    if current is not None:
        yield current, parts


def _source_terms(index: int, reader: Any, renumber: np.ndarray, fieldname: str,
                  positions: bool) -> Iterator[tuple[bytes, int, Any]]:
    """A segment's terms of one field in byte order, each with a function that reads its
    renumbered postings (called once, in term order, so reads go forward in the file)."""
    terms = reader._terms
    postfile = terms._postfile
    deleted = bool(len(renumber)) and bool((renumber < 0).any())
    renumber_list = renumber.tolist()
    for (name, btext), terminfo in terms.items_from(fieldname, b""):
        if name != fieldname:
            break

        def read(terminfo: Any = terminfo) -> blocks.Postings | _Small:
            if not terminfo.is_inlined() and terminfo.doc_frequency() <= blocks.SMALL_BLOCK:
                small = _read_small(_data(postfile, terminfo), positions)
                if small is not None:
                    ids, weights, values = small
                    new = [renumber_list[docnum] for docnum in ids]
                    if not deleted:
                        return new, weights, values
                    kept = [i for i, docnum in enumerate(new) if docnum >= 0]
                    return ([new[i] for i in kept], [weights[i] for i in kept],
                            [values[i] for i in kept])
            found = _read(postfile, terminfo, positions)
            return _renumbered(found, renumber, deleted, positions)

        yield btext, index, read


def _read(postfile: Any, terminfo: Any, positions: bool) -> blocks.Postings:
    if terminfo.is_inlined():
        return blocks.from_inlined(terminfo, positions=positions, position_type=np.uint32)
    return blocks.read_all(_data(postfile, terminfo), positions=positions)


def _data(postfile: Any, terminfo: Any) -> bytes:
    offset, length = terminfo.extent()
    if isinstance(length, tuple):  # W3TermInfo.from_bytes leaves struct's tuple there
        length = length[0]
    return postfile.get(offset, length)


def _read_small(data: bytes, positions: bool) -> _Small | None:
    """A posting list of one small block, without numpy: the blocks of a term in a few
    documents with positions (blocks.decode_small), or without values and of weight 1 (an
    ID field's); None for any other."""
    if data[:4] != blocks.TAG:
        return None
    length, count, _, _, _, _, flags = blocks.HEADER.unpack_from(data, 4)
    if length >= 0:  # more than one block
        return None
    start = 4 + blocks.HEADER.size
    body = blocks.read_body(data[start:start - length], flags)
    if positions:
        return blocks.decode_small(body, count)
    deltas, end = packing.unpack_list(body, count)
    if body[end] != blocks.VALUES_NONE or body[end + 1] != blocks.ONES:
        return None
    ids, current = [], 0
    for delta in deltas:
        current += delta
        ids.append(current)
    return ids, [1.0] * count, [b""] * count


def _as_arrays(part: blocks.Postings | _Small, positions: bool) -> blocks.Postings:
    if not isinstance(part, tuple):
        return part
    ids, weights, values = part
    found = blocks.Postings(np.asarray(ids, dtype=np.int64),
                            np.asarray(weights, dtype=np.float64))
    if positions:
        found.counts = np.fromiter((len(v) // 4 for v in values), dtype=np.int64,
                                   count=len(values))
        found.positions = np.frombuffer(b"".join(values), dtype="<u4").astype(np.uint32)
    return found


def _renumbered(found: blocks.Postings, renumber: np.ndarray, deleted: bool,
                positions: bool) -> blocks.Postings:
    docs = renumber[found.docs]
    if not deleted:
        found.docs = docs
        return found
    kept = docs >= 0
    result = blocks.Postings(docs[kept], found.weights[kept])
    if positions:
        assert found.counts is not None and found.positions is not None
        result.counts = found.counts[kept]
        result.positions = found.positions[np.repeat(kept, found.counts)]
    return result
