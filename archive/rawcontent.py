"""Raw inputs as `sources.content` stores them, and the one way to read them back.

The format is the SQLite Archive's (sqlar): a zlib stream when that is smaller than the
input, else the bytes as they are, with the input's size in `size_bytes` beside it. So the
stock `sqlite3` shell's `sqlar_uncompress(content, size_bytes)` reads every row, and the
view `sources_text` shows them as text; our own connections register a function of that
name (`register`), so the view works in `archive sql`, the web app and Alembic too.

`sources.compression` says how each row is stored: "zlib", "none" (compression did not
make it smaller), or NULL for rows stored before compression existed, which are the bytes
as they are until `compress_stored` rewrites them.
"""

from __future__ import annotations

import sqlite3
import zlib
from dataclasses import dataclass
from typing import Final

ZLIB: Final = "zlib"
NONE: Final = "none"
# zlib's default level. Measured on real inputs (bench/codecs.py, docs/performance.md):
# level 9 gains nothing over it, level 1 stores saved pages a fifth larger, and it costs
# about 30 ms of CPU per MB, a tenth of a millisecond for a typical JSON record.
LEVEL: Final = 6
SQL_FUNCTION: Final = "sqlar_uncompress"


class DamagedContent(ValueError):
    """A stored raw input that cannot be decompressed to its recorded size."""


@dataclass(frozen=True, slots=True)
class Stored:
    """What goes into `sources.content` and `sources.compression` for one input."""

    content: bytes
    compression: str


def pack(data: bytes) -> Stored:
    """The input as `sources.content` keeps it: compressed only when that makes it smaller,
    which is also what tells sqlar_uncompress (by comparing sizes) which rows to inflate."""
    packed = zlib.compress(data, LEVEL)
    if len(packed) < len(data):
        return Stored(packed, ZLIB)
    return Stored(bytes(data), NONE)


def unpack(content: bytes, compression: str | None, size: int) -> bytes:
    """The input exactly as it was read, from a `sources` row's content, compression and
    size_bytes. Raises DamagedContent when a compressed row does not inflate to its size."""
    if compression is None or compression == NONE:
        return bytes(content)
    if compression != ZLIB:
        raise DamagedContent(f"unknown compression {compression!r}")
    inflater = zlib.decompressobj()
    try:
        # Never more than the recorded size (plus one byte, to notice a longer stream),
        # whatever a damaged stream claims. max_length 0 would mean no limit.
        data = inflater.decompress(content, size + 1)
        if not inflater.eof and len(data) <= size:
            data += inflater.decompress(inflater.unconsumed_tail, size + 1 - len(data))
    except zlib.error as exc:
        raise DamagedContent(f"the compressed content does not inflate ({exc})") from None
    if len(data) != size or not inflater.eof:
        raise DamagedContent(f"the compressed content does not inflate to its {size} bytes")
    if inflater.unused_data:  # what was written ends with the stream: anything after is damage
        raise DamagedContent("bytes after the end of the compressed content")
    return data


def sqlar_uncompress(content: bytes | None, size: int | None) -> bytes | None:
    """SQL function with the sqlite3 shell's semantics: content of the given size is
    returned as it is, anything else inflated; NULL when it does not inflate to `size`
    bytes (so a damaged row shows as NULL, and no call can inflate beyond its size)."""
    if content is None or size is None or size < 0:
        return None
    if isinstance(content, str):
        content = content.encode("utf-8")
    if size == len(content):
        return bytes(content)
    try:
        return unpack(content, ZLIB, size)
    except DamagedContent:
        return None


def register(connection: sqlite3.Connection) -> None:
    """Make `sqlar_uncompress` callable on a connection (the `sources_text` view uses it)."""
    connection.create_function(SQL_FUNCTION, 2, sqlar_uncompress, deterministic=True)
