"""Finding inputs and reading them into raw documents, whatever container they come in.

A file may hold one document (a text dump, an HTML page) or many (JSON Lines, CSV, WARC,
zip); compressed files are opened transparently. Problems with one record are reported for
that record and the rest of the file is read; problems with a whole file raise ReadError.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
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


def find_inputs(paths: list[str]) -> Iterator[InputFile | BadRecord]:
    """Expand files and folders (recursively, in a stable order) into input files."""
    for given in paths:
        if given == STDIN:
            yield InputFile(Path(STDIN), "stdin")
            continue
        # Absolute paths, so a source's uri still finds the file from any working folder.
        path = Path(given).absolute()
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith("."):
                        child = Path(root) / name
                        yield InputFile(child, format_of(child.name))
        elif path.is_file():
            yield InputFile(path, format_of(path.name) or _sniff_file(path))
        elif path.exists():
            yield BadRecord(given, "not a regular file")
        else:
            yield BadRecord(given, "no such file or folder")


def _sniff_file(path: Path) -> str:
    """A file named on the command line with an unknown suffix: look at its first bytes."""
    try:
        with path.open("rb") as handle:
            return sniff(handle.read(4096))
    except OSError:
        return "txt"


def read_input(item: InputFile, *, max_bytes: int = DEFAULT_MAX_BYTES,
               hints: dict[str, str] | None = None) -> Iterator[Item]:
    """The raw documents in one input; raises ReadError when it cannot be read at all."""
    hints = hints or {}
    if item.format == "stdin":
        data = read_bounded(sys.stdin.buffer, max_bytes, what="standard input")
        yield from read_bytes("<stdin>", data, sniff(data[:4096]), max_bytes, hints)
        return
    try:
        size = item.path.stat().st_size
        with item.path.open("rb") as handle:
            yield from read_stream(str(item.path), handle, item.format or "txt", size,
                                   max_bytes, hints)
    except PermissionError:
        raise ReadError("permission denied") from None
    except IsADirectoryError:
        raise ReadError("is a folder, not a file") from None
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
