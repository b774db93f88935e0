"""The on-disk layout of a posting list in the packed codec, and its bulk decoding.

A posting list is a 4-byte tag, then blocks of up to BLOCK_POSTINGS postings, each a fixed
header followed by a body:

    header  <iIIfBBB  body length (negative for the last block), postings, last document
                      number, highest weight, shortest and longest field length (as Whoosh's
                      length bytes), flags (FLAG_ZLIB: the body is zlib-compressed)
    body    document numbers   packed (`archive.index.packing`): the first as it is, then
                               deltas
            values kind        one byte: VALUES_NONE, VALUES_POSITIONS or VALUES_BYTES
            counts / lengths   packed: positions per posting, or bytes per value
            weights kind       one byte, then its data (see _pack_weights)
            positions / bytes  packed deltas of positions (a posting's first position as it
                               is), or the values' bytes one after the other

Document numbers, weights and counts come before the positions, so reading a term's
documents never unpacks its positions. Nothing is pickled: a block is unpacked by a few
numpy calls, and a whole posting list is read from the file in one piece.
"""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
from isal import isal_zlib

from archive.index import packing

TAG = b"APk1"
HEADER = struct.Struct("<iIIfBBB")
FLAG_ZLIB = 1
VALUES_NONE, VALUES_POSITIONS, VALUES_BYTES = 0, 1, 2
# Weights: all 1; one float for all; whole numbers, packed; float32 each; the posting's
# position count times a float64 factor (the field boost), which is what Whoosh's
# Positions format writes.
_ONES, _SAME, _WHOLE, _FLOATS, _COUNTS = 0, 1, 2, 3, 4
ONES = _ONES  # for readers of small blocks elsewhere (archive.index.merging)
_FLOAT32 = np.dtype("<f4")
_FLOAT64 = np.dtype("<f8")
_POSITION = np.dtype("<u4")
# Blocks of up to this many postings are written without numpy (see _encode_small).
SMALL_BLOCK = 16


@dataclass(slots=True)
class Block:
    """One block unpacked: document numbers, weights (float64 holding float32 values, as
    Whoosh keeps them) and, when asked for, each posting's values."""

    ids: np.ndarray
    weights: np.ndarray
    kind: int
    counts: np.ndarray | None = None  # positions per posting (VALUES_POSITIONS)
    deltas: np.ndarray | None = None  # the positions, as written (see decode_positions)
    values: list[bytes] | None = None  # VALUES_BYTES: each posting's value


def encode_body(ids: list[int], weights: list[float], values: list[bytes], positions: bool,
                boost: float) -> bytes:
    """A block's body. `positions`: the values are PackedPositions' (4-byte positions)."""
    if len(ids) <= SMALL_BLOCK:
        small = _encode_small(ids, weights, values, positions, boost)
        if small is not None:
            return small
    docs = np.asarray(ids, dtype=np.int64)
    parts = [packing.pack(np.diff(docs, prepend=0))]
    counts = None
    if not any(values):
        parts.append(bytes([VALUES_NONE]))
    else:
        joined = b"".join(values)
        lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
        deltas = None
        if positions:
            counts = lengths // 4
            deltas = _deltas(np.frombuffer(joined, dtype=_POSITION).astype(np.int64), counts)
            if len(deltas) and deltas.min() < 0:  # not in order: kept as they came
                deltas = None
        if deltas is not None and counts is not None:
            parts += [bytes([VALUES_POSITIONS]), packing.pack(counts)]
        else:
            counts = None
            parts += [bytes([VALUES_BYTES]), packing.pack(lengths)]
    parts.append(_pack_weights(np.asarray(weights, dtype=_FLOAT32), counts, boost))
    if counts is not None and deltas is not None:
        parts.append(packing.pack(deltas))
    elif any(values):
        parts.append(joined)
    return b"".join(parts)


def encode_arrays(ids: np.ndarray, weights: np.ndarray, counts: np.ndarray | None,
                  positions: np.ndarray | None, boost: float) -> bytes:
    """encode_body's bytes for a block given as arrays (a merge's, which never makes a
    posting's values into bytes): `counts` positions per posting and the `positions`
    themselves one after the other, or both None for a field without positions."""
    if counts is None or positions is None:
        values: list[bytes] = [b""] * len(ids)
        return encode_body(ids.tolist(), weights.tolist(), values, False, boost)
    if len(ids) <= SMALL_BLOCK:  # the same few-posting form as encode_body's
        return encode_body(ids.tolist(), weights.tolist(), _values(counts, positions), True,
                           boost)
    deltas = _deltas(positions.astype(np.int64), counts)
    if not len(deltas) or deltas.min() < 0 or counts.min() == 0:
        # A posting without positions, or positions out of order: encode_body's own way.
        return encode_body(ids.tolist(), weights.tolist(), _values(counts, positions), True,
                           boost)
    return b"".join((packing.pack(np.diff(ids.astype(np.int64), prepend=0)),
                     bytes([VALUES_POSITIONS]), packing.pack(counts),
                     _pack_weights(weights.astype(_FLOAT32), counts, boost),
                     packing.pack(deltas)))


def _values(counts: np.ndarray, positions: np.ndarray) -> list[bytes]:
    """Each posting's positions as PackedPositions writes them."""
    raw = positions.astype(_POSITION).tobytes()
    ends = (np.cumsum(counts) * 4).tolist()
    return [raw[start:end] for start, end in zip([0, *ends[:-1]], ends, strict=True)]


def _encode_small(ids: list[int], weights: list[float], values: list[bytes],
                  positions: bool, boost: float) -> bytes | None:
    """encode_body's bytes for a block of a few postings with positions, in plain Python
    (numpy's cost per call is most of the time there); None for any other block."""
    if not positions or not all(values):
        return None
    deltas_of_ids = [ids[0]] + [b - a for a, b in itertools.pairwise(ids)]
    counts = [len(value) // 4 for value in values]
    if sum(counts) > 4 * SMALL_BLOCK:
        return None
    deltas = []
    for value, count in zip(values, counts, strict=True):
        places = struct.unpack(f"<{count}I", value)
        deltas.append(places[0])
        deltas.extend(b - a for a, b in itertools.pairwise(places))
    if min(deltas) < 0:
        return None
    if all(w == c * boost for w, c in zip(weights, counts, strict=True)):
        weighting = bytes([_COUNTS]) + struct.pack("<d", boost)
    else:
        weighting = _pack_weights(np.asarray(weights, dtype=_FLOAT32), None, boost)
    return b"".join((packing.pack_list(deltas_of_ids), bytes([VALUES_POSITIONS]),
                     packing.pack_list(counts), weighting, packing.pack_list(deltas)))


def _deltas(positions: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Positions as deltas, each posting's first one as it is (negative where a posting's
    positions are out of order; decode_positions undoes them all the same)."""
    deltas = np.diff(positions, prepend=0)
    starts = (np.cumsum(counts) - counts)[counts > 0]
    deltas[starts] = positions[starts]
    return deltas


def _pack_weights(weights: np.ndarray, counts: np.ndarray | None, boost: float) -> bytes:
    if counts is not None and np.array_equal(weights, (counts * boost).astype(_FLOAT32)):
        return bytes([_COUNTS]) + struct.pack("<d", boost)
    if np.all(weights == 1):
        return bytes([_ONES])
    if np.all(weights == weights[0]):
        return bytes([_SAME]) + weights[:1].tobytes()
    if np.all((weights >= 0) & (weights < 2**24) & (weights == np.floor(weights))):
        return bytes([_WHOLE]) + packing.pack(weights.astype(np.int64))
    return bytes([_FLOATS]) + weights.astype(_FLOAT32).tobytes()


def decode_body(body: bytes | memoryview, count: int, *, values: bool) -> Block:
    """A block's body unpacked; its positions or values only if `values`."""
    deltas, end = packing.unpack(body, count)
    ids = np.cumsum(deltas)
    kind = body[end]
    end += 1
    counts = None
    if kind != VALUES_NONE:
        counts, end = packing.unpack(body, count, end)
    weights, end = _unpack_weights(body, end, count, counts if kind == VALUES_POSITIONS
                                   else None)
    block = Block(ids, weights, kind)
    if kind == VALUES_POSITIONS:
        block.counts = counts
        if values:
            assert counts is not None
            block.deltas, _ = packing.unpack(body, int(counts.sum()), end)
    elif kind == VALUES_BYTES and values:
        assert counts is not None
        ends = (np.cumsum(counts) + end).tolist()
        starts = [end, *ends[:-1]]
        raw = bytes(body)
        block.values = [raw[start:stop] for start, stop in zip(starts, ends, strict=True)]
    return block


def decode_small(body: bytes | memoryview, count: int) -> tuple[list[int], list[float], list[bytes]
                                                  ] | None:
    """A small block's document numbers, weights and values (positions as PackedPositions
    writes them) without numpy, for Whoosh's matchers that walk posting by posting (merges);
    None unless the block is one of _encode_small's."""
    deltas, end = packing.unpack_list(body, count)
    if body[end] != VALUES_POSITIONS:
        return None
    counts, end = packing.unpack_list(body, count, end + 1)
    if body[end] != _COUNTS:
        return None
    boost = struct.unpack_from("<d", body, end + 1)[0]
    places, _ = packing.unpack_list(body, sum(counts), end + 9)
    ids, current = [], 0
    for delta in deltas:
        current += delta
        ids.append(current)
    values, at = [], 0
    for number in counts:
        position, mine = 0, []
        for delta in places[at:at + number]:
            position += delta
            mine.append(position)
        at += number
        values.append(struct.pack(f"<{number}I", *mine))
    # As float32, like every weight read back (Whoosh keeps them so).
    weights = [struct.unpack("<f", struct.pack("<f", number * boost))[0] for number in counts]
    return ids, weights, values


def _unpack_weights(body: bytes | memoryview, start: int, count: int,
                    counts: np.ndarray | None) -> tuple[np.ndarray, int]:
    kind = body[start]
    start += 1
    if kind == _ONES:
        return np.ones(count), start
    if kind == _SAME:
        same = np.frombuffer(body, dtype=_FLOAT32, count=1, offset=start)
        return np.full(count, same[0], dtype=np.float64), start + 4
    if kind == _WHOLE:
        whole, end = packing.unpack(body, count, start)
        return whole.astype(np.float64), end
    if kind == _FLOATS:
        floats = np.frombuffer(body, dtype=_FLOAT32, count=count, offset=start)
        return floats.astype(np.float64), start + 4 * count
    assert kind == _COUNTS and counts is not None
    boost = struct.unpack_from("<d", body, start)[0]
    return (counts * boost).astype(_FLOAT32).astype(np.float64), start + 8


def decode_positions(deltas: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Every posting's positions, one after the other, from their deltas (the deltas of
    several blocks may be joined: each posting's first delta is its first position)."""
    total = np.cumsum(deltas)
    before = np.concatenate([[0], total])[np.cumsum(counts) - counts]
    return total - np.repeat(before, counts)


def positions_of(block: Block) -> np.ndarray:
    """The block's positions, one after the other (`block.counts` says whose)."""
    if block.kind == VALUES_POSITIONS:
        assert block.deltas is not None and block.counts is not None
        return decode_positions(block.deltas, block.counts)
    assert block.values is not None
    return np.frombuffer(b"".join(block.values), dtype=_POSITION).astype(np.int64)


def read_body(data: bytes | memoryview, flags: int) -> bytes | memoryview:
    return isal_zlib.decompress(data) if flags & FLAG_ZLIB else data


@dataclass(slots=True)
class Postings:
    """A whole posting list (of one segment): document numbers, weights and, when asked
    for, positions (uint32), the positions of document `docs[i]` being
    positions[starts[i]:starts[i] + counts[i]]."""

    docs: np.ndarray
    weights: np.ndarray
    counts: np.ndarray | None = None
    positions: np.ndarray | None = None


def from_inlined(terminfo: Any, *, positions: bool, position_type: Any = np.int64
                 ) -> Postings:
    """A posting list Whoosh kept inside its term info (the packed codec never writes one;
    read the Whoosh way, to be safe)."""
    ids, weights, values = terminfo.inlined_postings()
    found = Postings(np.asarray(ids, dtype=np.int64), np.asarray(weights, dtype=np.float64))
    if positions:
        found.counts = np.fromiter((len(v) // 4 for v in values), dtype=np.int64)
        found.positions = np.frombuffer(b"".join(values), dtype="<u4").astype(position_type)
    return found


def read_all(data: bytes, *, positions: bool, wanted: np.ndarray | None = None
             ) -> Postings:
    """Every block of a posting list read in one piece (`data`, from its tag on). With
    `wanted` (sorted document numbers), only the blocks that hold one of them are unpacked,
    and only the wanted documents are returned: a phrase with "the" at a million articles
    would otherwise hold the positions of every article, most of them never looked at."""
    if data[:4] != TAG:
        raise ValueError(f"not a packed posting list: {data[:4]!r}")
    view = memoryview(data)
    at, first = 4, 0
    docs, weights, counts, places = [], [], [], []
    while True:
        length, count, last, _, _, _, flags = HEADER.unpack_from(data, at)
        at += HEADER.size
        size = abs(length)
        if wanted is None or _holds(wanted, first, last):
            block = decode_body(read_body(view[at:at + size], flags), count,
                                values=positions)
            chosen = None if wanted is None else among(block.ids, wanted)
            docs.append(block.ids if chosen is None else block.ids[chosen])
            weights.append(block.weights if chosen is None else block.weights[chosen])
            if positions:
                # Block by block, as 4-byte numbers: the positions of a word like "the"
                # at a million articles are 30 million.
                block_counts, block_deltas = _positions(block, count)
                block_places = decode_positions(block_deltas, block_counts).astype(np.uint32)
                if chosen is not None:
                    starts = np.cumsum(block_counts) - block_counts
                    block_places = block_places[ranges(starts[chosen], block_counts[chosen])]
                    block_counts = block_counts[chosen]
                counts.append(block_counts)
                places.append(block_places)
        at += size
        first = last + 1
        if length < 0:
            break
    if not docs:
        return Postings(np.zeros(0, dtype=np.int64), np.zeros(0),
                        *((np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint32))
                          if positions else ()))
    found = Postings(np.concatenate(docs), np.concatenate(weights))
    if positions:
        found.counts = np.concatenate(counts)
        found.positions = np.concatenate(places)
    return found


def among(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Which of `ids` (sorted document numbers) are in `wanted` (sorted), as indices."""
    if not len(wanted):
        return np.zeros(0, dtype=np.int64)
    at = np.minimum(np.searchsorted(wanted, ids), len(wanted) - 1)
    return np.flatnonzero(wanted[at] == ids)


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The indices start, start + 1, … of each (start, length) pair, one run after another:
    where the positions of some postings lie in an array of many postings' positions."""
    ends = np.cumsum(lengths)
    return np.repeat(starts - (ends - lengths), lengths) + np.arange(
        int(ends[-1]) if len(ends) else 0)


def _holds(wanted: np.ndarray, first: int, last: int) -> bool:
    at = int(np.searchsorted(wanted, first))
    return at < len(wanted) and wanted[at] <= last


def _positions(block: Block, count: int) -> tuple[np.ndarray, np.ndarray]:
    """A block's position counts and deltas, whatever the kind of its values."""
    if block.kind == VALUES_POSITIONS:
        assert block.counts is not None and block.deltas is not None
        return block.counts, block.deltas
    if block.kind == VALUES_BYTES:
        counts = np.fromiter((len(v) // 4 for v in block.values or ()), dtype=np.int64,
                             count=count)
        return counts, _deltas(positions_of(block), counts)
    return np.zeros(count, dtype=np.int64), np.zeros(0, dtype=np.int64)
