"""A Whoosh codec whose posting blocks are packed arrays (`archive.index.blocks`).

Everything but the posting lists is Whoosh's format 3 (term table, columns, stored fields,
segments). Whoosh pickles the codec with each segment in the index's table of contents, so
`whoosh.index.open_dir` on its own finds this module and reads the index with Whoosh's own
matchers; this module's path and class names must stay as they are.
"""

from __future__ import annotations

import bisect
import zlib
from typing import Any

import numpy as np
from whoosh.codec import whoosh3
from whoosh.matching import ReadTooFar
from whoosh.util.numeric import byte_to_length, length_to_byte

from archive.index import blocks
from archive.index.fieldformat import PackedPositions, encode_positions

# Postings per block. Whoosh's 128 meant a read, an unpickling and a decompression per 128
# postings; search reads whole posting lists, and Whoosh's own matchers look a document up
# in a block by bisection here, so larger blocks cost them little.
BLOCK_POSTINGS = 1024
# zlib level for block bodies (0: none): packing takes most of the size; zlib takes another
# quarter off the positions at a small cost in reading.
COMPRESSION = 1


class PackedCodec(whoosh3.W3Codec):
    """Whoosh's format 3 with packed posting blocks."""

    # Class defaults, so that an index pickled with fewer attributes still opens.
    _blocklimit = BLOCK_POSTINGS
    _compression = COMPRESSION
    _inlinelimit = 1

    def __init__(self, blocklimit: int = BLOCK_POSTINGS, compression: int = COMPRESSION
                 ) -> None:
        super().__init__(blocklimit=blocklimit, compression=compression, inlinelimit=1)

    def postings_writer(self, dbfile: Any, byteids: bool = False) -> Any:
        if byteids:  # term vectors (which the archive does not use) stay Whoosh's
            return super().postings_writer(dbfile, byteids=True)
        return PackedPostingsWriter(dbfile, blocklimit=self._blocklimit,
                                    compression=self._compression)

    def postings_reader(self, dbfile: Any, terminfo: Any, format_: Any, term: Any = None,
                        scorer: Any = None) -> Any:
        if terminfo.is_inlined():  # never written by this codec; Whoosh's way, to be safe
            return super().postings_reader(dbfile, terminfo, format_, term=term,
                                           scorer=scorer)
        offset, length = terminfo.extent()
        return PackedLeafMatcher(dbfile, offset, length, format_, term=term, scorer=scorer)


def is_packed(reader: Any) -> bool:
    """Whether a segment reader's postings are in this codec's format."""
    codec = getattr(reader, "codec", None)
    return callable(codec) and isinstance(codec(), PackedCodec)


class PackedPostingsWriter(whoosh3.W3PostingsWriter):
    """Buffers a block's postings as Python lists and writes them packed."""

    _maxweight: float

    def __init__(self, postfile: Any, blocklimit: int, compression: int) -> None:
        super().__init__(postfile, blocklimit, byteids=False, compression=compression,
                         inlinelimit=1)

    def _new_block(self) -> None:
        # A block given whole by add_arrays: (counts, positions) as arrays, not bytes.
        self._arrays: tuple[Any, Any] | None = None
        self._ids: list[int] = []
        self._weights: list[float] = []
        self._values: list[bytes] = []
        self._minlength: int | None = None
        self._maxlength = 0
        self._maxweight = 0

    def add_posting(self, id_: int, weight: float, vbytes: bytes, length: int | None = None
                    ) -> None:
        # Whoosh's version checks every argument's type, once per posting.
        if len(self._ids) >= self._blocklimit:
            self._write_block()
        self._ids.append(id_)
        self._weights.append(weight)
        self._values.append(vbytes)
        if weight > self._maxweight:
            self._maxweight = weight
        if length:
            if self._minlength is None or length < self._minlength:
                self._minlength = length
            if length > self._maxlength:
                self._maxlength = length

    def add_arrays(self, ids: np.ndarray, weights: np.ndarray, counts: np.ndarray | None,
                   positions: np.ndarray | None, lengths: np.ndarray) -> None:
        """A whole posting list at once (a merge's), instead of add_posting per posting:
        document numbers (increasing), weights, positions per posting and the positions
        one after the other (None for a field without them), and the field length of each
        document number of the segment. Blocks, their statistics and the term's come out as
        add_posting would make them."""
        if self._ids:
            raise ValueError("add_arrays after add_posting in the same term")
        limit = self._blocklimit
        ends = None if counts is None else np.cumsum(counts)
        for start in range(0, len(ids), limit):
            stop = min(start + limit, len(ids))
            if start:  # add_posting writes a full block when the next posting comes
                self._write_block()
            self._ids = ids[start:stop].tolist()
            block_weights = weights[start:stop]
            self._weights = block_weights.tolist()
            self._maxweight = max(0, float(block_weights.max()))
            block_lengths = lengths[ids[start:stop]]
            present = block_lengths[block_lengths > 0]
            self._minlength = int(present.min()) if len(present) else None
            self._maxlength = int(present.max()) if len(present) else 0
            if counts is not None and positions is not None and ends is not None:
                first = int(ends[start - 1]) if start else 0
                self._arrays = (counts[start:stop], positions[first:int(ends[stop - 1])])
            else:
                self._arrays = (None, None)

    def _write_block(self, last: bool = False) -> None:
        if not self._blockcount:
            self._postfile.write(blocks.TAG)
        self._terminfo.add_block(self)
        boost = float(self._format.field_boost)
        if self._arrays is not None:
            counts, positions = self._arrays
            if self._format.fixed_value_size() == 0:
                counts = positions = None
            body = blocks.encode_arrays(np.asarray(self._ids), np.asarray(self._weights),
                                        counts, positions, boost)
        else:
            packed = isinstance(self._format, PackedPositions)
            values = self._values if self._format.fixed_value_size() != 0 else []
            body = blocks.encode_body(self._ids, self._weights, values, packed, boost)
        flags = 0
        if self._compression and len(body) > 64:
            squeezed = zlib.compress(body, self._compression)
            if len(squeezed) < len(body) * 0.9:
                body, flags = squeezed, blocks.FLAG_ZLIB
        length = -len(body) if last else len(body)
        self._postfile.write(blocks.HEADER.pack(
            length, len(self._ids), self._ids[-1], self._maxweight,
            length_to_byte(self._minlength), length_to_byte(self._maxlength), flags))
        self._postfile.write(body)
        self._blockcount += 1
        self._new_block()


class PackedLeafMatcher(whoosh3.W3LeafMatcher):
    """Whoosh's matcher interface over packed blocks, for Whoosh's own searching and
    merging (the archive's search reads whole posting lists through blocks.read_all)."""

    _data: Any
    _ids: Any
    _weights: Any
    _values: Any

    def _read_header(self) -> None:
        tag = self._postfile.get(self._startoffset, 4)
        if tag != blocks.TAG:
            raise ValueError(f"not a packed posting list: {tag!r}")
        self._baseoffset = self._startoffset + 4

    def _goto(self, position: int) -> None:
        self._data = None
        self._ids = None
        self._weights = None
        self._values = None
        self._i = 0
        header = self._postfile.get(position, blocks.HEADER.size)
        (length, self._blocklength, self._maxid, self._maxweight, shortest, longest,
         self._flags) = blocks.HEADER.unpack(header)
        self._lastblock = length < 0
        self._dataoffset = position + blocks.HEADER.size
        self._nextoffset = self._dataoffset + abs(length)
        self._compression = self._flags & blocks.FLAG_ZLIB
        self._minlength = byte_to_length(shortest)
        self._maxlength = byte_to_length(longest)

    def _read_data(self) -> None:
        body = self._postfile.get(self._dataoffset, self._nextoffset - self._dataoffset)
        if self._blocklength <= blocks.SMALL_BLOCK:
            small = blocks.decode_small(blocks.read_body(body, self._flags),
                                        self._blocklength)
            if small is not None:
                self._data = small
                self._ids, self._weights, self._values = small
                return
        block = blocks.decode_body(blocks.read_body(body, self._flags), self._blocklength,
                                   values=True)
        self._data = block
        self._ids = block.ids.tolist()
        self._weights = block.weights.tolist()

    def _read_ids(self) -> None:
        self._read_data()

    def _read_weights(self) -> None:
        if self._data is None:
            self._read_data()

    def _read_values(self) -> None:
        if self._data is None:
            self._read_data()
        block = self._data
        if block.kind == blocks.VALUES_POSITIONS:
            flat = blocks.positions_of(block).tolist()
            values, start = [], 0
            for count in block.counts.tolist():
                values.append(encode_positions(flat[start:start + count]))
                start += count
            self._values = values
        elif block.kind == blocks.VALUES_BYTES:
            self._values = block.values
        else:
            empty = None if self._fixedsize == 0 else b""
            self._values = [empty] * self._blocklength

    def skip_to(self, targetid: int) -> None:
        if not self.is_active():
            raise ReadTooFar
        if targetid <= self.id():
            return
        if targetid > self._maxid:
            self._skip_to_block(lambda: targetid > self._maxid)
        if self.is_active():
            if self._ids is None:
                self._read_ids()
            # Within a block of up to 1,024 postings: bisection, not a step at a time.
            self._i = bisect.bisect_left(self._ids, targetid, self._i)
            if self._i >= self._blocklength:  # cannot happen (targetid <= the block's last)
                self._next_block()


def read_term(reader: Any, fieldname: str, text: str | bytes, *, positions: bool,
              wanted: Any = None) -> blocks.Postings | None:
    """A term's whole posting list in one segment (a packed one: see is_packed), read from
    the file in one piece; None when the segment lacks the term. `wanted`: see
    blocks.read_all. Deleted documents are included (callers mask them out)."""
    if (fieldname, text) not in reader:
        return None
    terminfo = reader.term_info(fieldname, text)
    if terminfo.is_inlined():
        return blocks.from_inlined(terminfo, positions=positions)
    offset, length = terminfo.extent()
    if isinstance(length, tuple):  # W3TermInfo.from_bytes leaves struct's tuple there
        length = length[0]
    data = reader._terms._postfile.get(offset, length)
    return blocks.read_all(data, positions=positions, wanted=wanted)
