"""What readers yield, and the size limits every reader applies."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from archive.document import RawDocument

# A single document over this size is refused unread: no article is that long, and reading
# one would hold it all in memory. Containers (WARC, JSON Lines, zip) may be larger; the
# limit then applies to each record in them.
DEFAULT_MAX_BYTES = 50_000_000
# A compressed input that expands more than this many times over is treated as a
# decompression bomb. Text compresses about 3-10 times; bombs thousands of times.
MAX_EXPANSION = 200
# After this many bad records, a file is probably not the format its name claims.
MAX_BAD_RECORDS = 1000


class ReadError(Exception):
    """A whole input that cannot be read; the message names the problem for the user."""


@dataclass(frozen=True, slots=True)
class InputFile:
    path: Path
    format: str | None  # None: not a kind of file archive reads
    size: int | None = None  # bytes, as found (None: standard input, or not looked at)


@dataclass(frozen=True, slots=True)
class BadRecord:
    """An input (or one record of it) that cannot be used; the rest goes on."""

    uri: str
    reason: str


@dataclass(frozen=True, slots=True)
class Skipped:
    """A record that is not an article (an image in a WARC, a redirect): counted, not failed."""

    uri: str
    reason: str


Item = RawDocument | BadRecord | Skipped


def read_bounded(stream: BinaryIO, max_bytes: int, *, what: str) -> bytes:
    """Read a whole stream, refusing it (without reading on) once it passes max_bytes."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ReadError(f"{what} is over the {max_bytes / 1e6:g} MB limit "
                        "(raise it with --max-size)")
    return data


def too_many_bad_records(uri: str) -> ReadError:
    return ReadError(f"stopped after {MAX_BAD_RECORDS} bad records in {uri}: is it really "
                     "the kind of file its name says?")
