"""Compressed inputs: .gz and .zip files holding any format archive reads, bombs refused."""

from __future__ import annotations

import gzip
import io
import zipfile
import zlib
from collections.abc import Iterator
from typing import BinaryIO

from archive.readers.formats import format_of, inner_name, sniff
from archive.readers.items import MAX_EXPANSION, BadRecord, Item, ReadError, Skipped

# A zip inside a gzip inside a zip ... is not how anyone ships articles.
MAX_NESTING = 3
_CHUNK = 1 << 20


def gzip_documents(uri: str, stream: BinaryIO, size: int | None, max_bytes: int,
                   hints: dict[str, str], depth: int) -> Iterator[Item]:
    """What a .gz file holds, read as the format its inner name (or content) says."""
    from archive.readers import read_stream

    _check_depth(depth)
    budget = max(max_bytes, MAX_EXPANSION * (size or max_bytes))
    unpacked = _budgeted(gzip.GzipFile(fileobj=stream, mode="rb"), budget)
    name = inner_name(uri.rsplit("/", 1)[-1])
    try:
        fmt = format_of(name) or sniff(unpacked.peek(4096)[:4096])
        yield from read_stream(uri, unpacked, fmt, None, max_bytes, hints, depth + 1)
    except (gzip.BadGzipFile, zlib.error, EOFError) as exc:
        raise ReadError(f"corrupt or truncated gzip data ({_first_line(exc)})") from None


def zip_documents(uri: str, stream: BinaryIO, max_bytes: int, hints: dict[str, str],
                  depth: int) -> Iterator[Item]:
    """Every member of a zip file, each read as the format its name says."""
    from archive.readers import read_stream

    _check_depth(depth)
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ReadError(f"corrupt zip file ({_first_line(exc)})") from None
    with archive:
        for member in archive.infolist():
            if member.is_dir() or member.filename.rsplit("/", 1)[-1].startswith("."):
                continue
            where = f"{uri}!{member.filename}"
            fmt = format_of(member.filename)
            if fmt is None:
                yield Skipped(where, "not a supported kind of file")
                continue
            budget = max(max_bytes, MAX_EXPANSION * max(member.compress_size, 1))
            try:
                with archive.open(member) as raw:
                    yield from read_stream(where, _budgeted(raw, budget), fmt, None,
                                           max_bytes, hints, depth + 1)
            except ReadError as exc:
                yield BadRecord(where, str(exc))
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
                    RuntimeError) as exc:
                # RuntimeError: an encrypted member; NotImplementedError: an odd compression.
                yield BadRecord(where, f"cannot unpack this member ({_first_line(exc)})")


def _check_depth(depth: int) -> None:
    if depth >= MAX_NESTING:
        raise ReadError(f"compressed files nested more than {MAX_NESTING} deep")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


def _budgeted(inner: BinaryIO, budget: int) -> io.BufferedReader:
    return io.BufferedReader(_Budgeted(inner, budget), buffer_size=_CHUNK)


class _Budgeted(io.RawIOBase):
    """A decompressing stream that stops with ReadError once it has produced `budget` bytes,
    so a small file that expands enormously (a decompression bomb) is refused early."""

    def __init__(self, inner: BinaryIO, budget: int) -> None:
        self._inner = inner
        self._budget = budget
        self._produced = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        data = self._inner.read(min(len(buffer), _CHUNK))
        self._produced += len(data)
        if self._produced > self._budget:
            raise ReadError(
                f"expands to more than {self._budget / 1e6:g} MB, over {MAX_EXPANSION} times "
                "its compressed size: refused as a possible decompression bomb")
        buffer[: len(data)] = data
        return len(data)
