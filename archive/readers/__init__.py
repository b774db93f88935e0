"""Finding inputs and reading them into raw documents, whatever container they come in.

A file may hold one document (a text dump, an HTML page) or many (JSON Lines, CSV, WARC,
zip); compressed files are opened transparently. Problems with one record are reported for
that record and the rest of the file is read; problems with a whole file raise ReadError.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from archive.document import RawDocument
from archive.readers.formats import format_of, sniff
from archive.readers.items import (
    DEFAULT_MAX_BYTES,
    BadRecord,
    InputFile,
    Item,
    ReadError,
    Skipped,
    read_bounded,
)
from archive.readers.records import csv_records, json_records, jsonl_records
from archive.readers.warc import warc_records

__all__ = ["DEFAULT_MAX_BYTES", "STDIN", "BadRecord", "InputFile", "Item", "ReadError",
           "Skipped", "find_inputs", "read_input"]

STDIN = "-"
ALREADY_READ = "a folder already read through another path"


def find_inputs(paths: list[str]) -> Iterator[InputFile | BadRecord | Skipped]:
    """Expand files and folders (recursively, in a stable order) into input files. Only
    regular files are inputs: anything else, a symlink loop or an unreadable folder is
    reported for itself and the rest is read. Symlinked files and folders are followed; a
    folder reached twice is read once."""
    seen: set[tuple[int, int]] = set()
    for given in paths:
        if given == STDIN:
            yield InputFile(Path(STDIN), "stdin")
            continue
        # Absolute paths, so a source's uri still finds the file from any working folder.
        path = Path(given).absolute()
        try:
            info = path.stat()
        except OSError as exc:
            yield BadRecord(given, _cannot_stat(path, exc))
            continue
        key = (info.st_dev, info.st_ino)
        if stat.S_ISDIR(info.st_mode) and key in seen:
            yield Skipped(given, ALREADY_READ)
        elif stat.S_ISDIR(info.st_mode):
            seen.add(key)
            yield from _walk(path, key, seen)
        elif stat.S_ISREG(info.st_mode):
            yield InputFile(path, format_of(path.name) or _sniff_file(path), info.st_size)
        else:
            yield BadRecord(given, "not a regular file")


def _walk(top: Path, top_key: tuple[int, int], seen: set[tuple[int, int]]
          ) -> Iterator[InputFile | BadRecord | Skipped]:
    """Depth first, each folder's files before its subfolders, names in sorted order. An
    explicit stack: folders may nest deeper than Python's recursion limit."""
    stack = [(top, frozenset({top_key}))]
    while stack:
        folder, ancestors = stack.pop()
        try:
            with os.scandir(folder) as scan:
                entries = sorted((e for e in scan if not e.name.startswith(".")),
                                 key=lambda e: e.name)
        except OSError as exc:
            yield BadRecord(str(folder), _cannot_list(exc))
            continue
        subfolders = []
        for entry in entries:
            path = Path(entry.path)
            try:
                info = entry.stat()  # follows symlinks; never opens the entry
            except OSError as exc:
                yield BadRecord(str(path), _cannot_stat(path, exc))
                continue
            if stat.S_ISDIR(info.st_mode):
                key = (info.st_dev, info.st_ino)
                if key in ancestors:
                    yield BadRecord(str(path), "symlink loop (leads back to a folder that "
                                               "holds it)")
                elif key in seen:
                    yield Skipped(str(path), ALREADY_READ)
                else:
                    seen.add(key)
                    subfolders.append((path, ancestors | {key}))
            elif stat.S_ISREG(info.st_mode):
                yield InputFile(path, format_of(entry.name), info.st_size)
            else:
                yield BadRecord(str(path), "not a regular file")
        stack.extend(reversed(subfolders))


def _cannot_stat(path: Path, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        if os.path.islink(path):
            return "broken symlink (what it points to does not exist)"
        return "no such file or folder"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return f"cannot read: {exc.strerror or exc}"


def _cannot_list(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied: cannot read folder"
    return f"cannot read folder: {exc.strerror or exc}"


def _sniff_file(path: Path) -> str:
    """A file named on the command line with an unknown suffix: look at its first bytes."""
    try:
        with _open_regular(path) as handle:
            return sniff(handle.read(4096))
    except (OSError, ReadError):
        return "txt"


def _open_regular(path: Path) -> BinaryIO:
    """Open for reading, refusing anything but a regular file. Non-blocking, because a file
    swapped for a FIFO since it was found would otherwise block the open until a writer
    comes; reads of a regular file ignore the flag."""
    handle = open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb")  # noqa: SIM115
    if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
        handle.close()
        raise ReadError("not a regular file")
    return handle


def read_input(item: InputFile, *, max_bytes: int = DEFAULT_MAX_BYTES,
               hints: dict[str, str] | None = None,
               position: Callable[[int], None] | None = None) -> Iterator[Item]:
    """The raw documents in one input; raises ReadError when it cannot be read at all.

    `position` is told, after each item, how many bytes of the file have been read (of a
    compressed file: of the compressed bytes), so that progress moves within a big file."""
    hints = hints or {}
    if item.format == "stdin":
        data = read_bounded(sys.stdin.buffer, max_bytes, what="standard input")
        yield from read_bytes("<stdin>", data, sniff(data[:4096]), max_bytes, hints)
        return
    try:
        with _open_regular(item.path) as handle:
            items = read_stream(str(item.path), handle, item.format or "txt",
                                os.fstat(handle.fileno()).st_size, max_bytes, hints)
            if position is None:
                yield from items
                return
            for found in items:
                position(handle.tell())
                yield found
    except PermissionError:
        raise ReadError("permission denied") from None
    except FileNotFoundError:
        raise ReadError("no such file (was it removed during the run?)") from None
    except OSError as exc:
        raise ReadError(f"cannot read: {exc.strerror or exc}") from None


def read_stream(uri: str, stream: BinaryIO, fmt: str, size: int | None, max_bytes: int,
                hints: dict[str, str], depth: int = 0) -> Iterator[Item]:
    """Documents from an open binary stream of a known format."""
    from archive.readers.containers import gzip_documents, zip_documents

    if fmt == "warc":
        yield from warc_records(uri, stream, max_bytes, hints)
    elif fmt == "gz":
        yield from gzip_documents(uri, stream, size, max_bytes, hints, depth)
    elif fmt == "zip":
        yield from zip_documents(uri, _seekable(stream, max_bytes), max_bytes, hints, depth)
    elif fmt == "jsonl":
        yield from jsonl_records(uri, stream, max_bytes, hints)
    elif fmt == "csv":
        yield from csv_records(uri, stream, max_bytes, hints)
    else:
        if size is not None and size > max_bytes:
            raise ReadError(f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:g} MB "
                            "limit (raise it with --max-size)")
        data = read_bounded(stream, max_bytes, what="file")
        yield from read_bytes(uri, data, fmt, max_bytes, hints)


def read_bytes(uri: str, data: bytes, fmt: str, max_bytes: int, hints: dict[str, str]
               ) -> Iterator[Item]:
    """Documents from bytes already in memory (standard input, a member of an archive)."""
    if fmt in ("txt", "html"):
        yield RawDocument(uri, data, fmt, dict(hints))
    elif fmt == "json":
        yield from json_records(uri, data, hints)
    else:
        yield from read_stream(uri, io.BytesIO(data), fmt, len(data), max_bytes, hints)


def _seekable(stream: BinaryIO, max_bytes: int) -> BinaryIO:
    """zipfile needs to seek; a zip inside a compressed stream is read into memory first."""
    try:
        if stream.seekable():
            return stream
    except (AttributeError, ValueError):
        pass
    return io.BytesIO(read_bounded(stream, max_bytes, what="zip file"))
