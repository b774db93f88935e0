"""Per-document values (outlet, date, language, story, field lengths) read as arrays."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from whoosh import columns
from whoosh.codec import whoosh3
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length

from archive.facets import Codes, DocColumns

# Fields whose per-document lengths ranking needs.
_RANKED_FIELDS = ("title", "body", "byline", "outlet_text")
# Whoosh stores field lengths as one byte each; this table turns bytes back into lengths.
_LENGTH_OF_BYTE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float32)


@dataclass(slots=True)
class _SegmentColumns:
    outlets: np.ndarray  # codes into _ColumnCache.outlet_names
    dates: np.ndarray
    languages: np.ndarray
    stories: np.ndarray
    lengths: dict[str, np.ndarray]


class _ColumnCache:
    """Per-segment column arrays, read once per segment: a refresh after a commit reads only
    the new segments (a segment's documents never change; deletions are read each time)."""

    def __init__(self) -> None:
        self.outlet_codes: dict[str, int] = {}
        self.language_codes: dict[str, int] = {}
        self._segments: dict[str, _SegmentColumns] = {}
        # Requests of several threads share the cache; reading a segment's columns is
        # bounded work, so holding the lock meanwhile delays no one for long.
        self._lock = threading.Lock()

    def columns(self, searcher: Searcher) -> DocColumns:
        with self._lock:
            return self._columns(searcher)

    def _columns(self, searcher: Searcher) -> DocColumns:
        parts = [sub for sub, _ in searcher.subsearchers] if searcher.subsearchers else [searcher]
        pieces, lives, seen = [], [], set()
        for sub in parts:
            reader = sub.reader()
            segment = reader.segment()
            if segment is None:  # an index with no documents yet
                continue
            key = segment.segment_id()
            seen.add(key)
            if key not in self._segments:
                self._segments[key] = self._read(reader)
            pieces.append(self._segments[key])
            live = np.ones(reader.doc_count_all(), dtype=bool)
            deleted = list(segment.deleted_docs()) if segment.has_deletions() else []
            live[deleted] = False
            lives.append(live)
        for gone in set(self._segments) - seen:  # merged away
            del self._segments[gone]

        def joined(name: str, dtype: type) -> np.ndarray:
            arrays = [getattr(piece, name) for piece in pieces]
            return np.concatenate(arrays) if arrays else np.zeros(0, dtype=dtype)

        found = DocColumns(
            live=np.concatenate(lives) if lives else np.zeros(0, dtype=bool),
            outlets=Codes(joined("outlets", np.int32), list(self.outlet_codes)),
            dates=joined("dates", np.int64),
            languages=Codes(joined("languages", np.int32), list(self.language_codes)),
            stories=joined("stories", np.int64),
        )
        for name in _RANKED_FIELDS:
            arrays = [piece.lengths[name] for piece in pieces]
            found.field_lengths[name] = (np.concatenate(arrays) if arrays
                                         else np.zeros(0, dtype=np.float32))
        return found

    def _read(self, reader) -> _SegmentColumns:  # noqa: ANN001 - a Whoosh SegmentReader
        return _SegmentColumns(
            outlets=_coded_column(reader, "outlet", self.outlet_codes),
            dates=numeric_column(reader, "date"),
            languages=_coded_column(reader, "language", self.language_codes),
            stories=numeric_column(reader, "story"),
            lengths={name: _length_column(reader, name) for name in _RANKED_FIELDS},
        )


# struct typecodes of Whoosh's numeric columns (stored big-endian) as numpy types.
_NUMPY_TYPES = {"B": ">u1", "H": ">u2", "I": ">u4", "Q": ">u8", "b": ">i1", "h": ">i2",
                "i": ">i4", "q": ">i8"}


def numeric_column(reader, name: str) -> np.ndarray:  # noqa: ANN001 - a SegmentReader
    """A numeric column's values for every document, read as one block of bytes (iterating
    Whoosh's column reader costs about a microsecond per value)."""
    size = reader.doc_count_all()
    column = reader.column_reader(name, translate=False) if size else None
    if isinstance(column, columns.NumericColumn.Reader) and column._typecode in _NUMPY_TYPES:
        stored = min(column._count, size)
        data = column._dbfile.get(column._basepos, stored * column._fixedlen)
        values = np.frombuffer(data, dtype=_NUMPY_TYPES[column._typecode]).astype(np.int64)
        if stored < size:  # documents added after the last stored value take the default
            values = np.concatenate([values, np.full(size - stored, column._default)])
        return values
    return np.array(list(reader.column_reader(name)) if size else [], dtype=np.int64)


def _length_column(reader, fieldname: str) -> np.ndarray:  # noqa: ANN001 - a SegmentReader
    """Each document's length in a field (as Whoosh's one-byte approximation stores it)."""
    size = reader.doc_count_all()
    column = reader._perdoc._cached_reader(whoosh3._lenfield(fieldname),
                                           whoosh3.LENGTHS_COLUMN) if size else None
    if isinstance(column, columns.NumericColumn.Reader) and column._fixedlen == 1:
        stored = min(column._count, size)
        data = np.frombuffer(column._dbfile.get(column._basepos, stored), dtype=np.uint8)
        if stored < size:
            data = np.concatenate([data, np.zeros(size - stored, dtype=np.uint8)])
        return _LENGTH_OF_BYTE[data]
    return np.array([reader.doc_field_length(d, fieldname, 0) for d in range(size)],
                    dtype=np.float32)


def _coded_column(reader, name: str, table: dict[str, int]) -> np.ndarray:  # noqa: ANN001
    """A string column as codes into `table`: a reference column's per-document references
    are read as one array and its few distinct values translated once."""
    size = reader.doc_count_all()
    column = reader.column_reader(name, translate=False) if size else None
    if isinstance(column, columns.RefBytesColumn.Reader):
        data = column._dbfile.get(column._basepos, size * column._itemsize)
        refs = np.frombuffer(data, dtype=f">u{column._itemsize}").astype(np.int64)
        codes = Codes.of([value.decode("utf-8") for value in column._uniques], table)
        return codes[refs] if len(codes) else np.zeros(size, dtype=np.int32)
    return Codes.of(list(reader.column_reader(name)) if size else [], table)
