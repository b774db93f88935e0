"""Finding inputs and reading them into raw documents, one reader per kind of file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from archive.document import RawDocument

# Files over this size are refused unread: no article is that long, and reading one
# would hold the whole thing in memory.
DEFAULT_MAX_BYTES = 50 * 1024 * 1024

_FORMATS = {
    ".txt": "txt", ".text": "txt",
    ".html": "html", ".htm": "html", ".xhtml": "html",
    ".jsonl": "jsonl", ".ndjson": "jsonl",
}


class ReadError(Exception):
    """A whole input that cannot be read; the message names the problem for the user."""


@dataclass(frozen=True, slots=True)
class InputFile:
    path: Path
    format: str | None  # None: not a kind of file we read


@dataclass(frozen=True, slots=True)
class BadRecord:
    """One record of a multi-record file that cannot be used (the rest of the file can)."""

    uri: str
    reason: str


def find_inputs(paths: list[str]) -> Iterator[InputFile | BadRecord]:
    """Expand files and folders (recursively, in a stable order) into input files."""
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith("."):
                        child = Path(root) / name
                        yield InputFile(child, format_of(child))
        elif path.is_file():
            yield InputFile(path, format_of(path) or _sniff(path))
        elif path.exists():
            yield BadRecord(given, "not a regular file")
        else:
            yield BadRecord(given, "no such file or folder")


def format_of(path: Path) -> str | None:
    return _FORMATS.get(path.suffix.lower())


def _sniff(path: Path) -> str:
    """A file named on the command line with an unknown suffix: look at its first bytes."""
    try:
        with path.open("rb") as handle:
            head = handle.read(512).lstrip().lower()
    except OSError:
        return "txt"
    if head.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<html" in head:
        return "html"
    if head.startswith(b"{"):
        return "jsonl"
    return "txt"


def read_input(item: InputFile, *, max_bytes: int = DEFAULT_MAX_BYTES,
               hints: dict[str, str] | None = None) -> Iterator[RawDocument | BadRecord]:
    """The raw documents in one file; raises ReadError when the file cannot be read at all."""
    hints = hints or {}
    data = _read_bytes(item.path, max_bytes)
    if item.format == "jsonl":
        yield from _jsonl_records(item.path, data, hints)
    else:
        yield RawDocument(str(item.path), data, item.format or "txt", dict(hints))


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ReadError(f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB "
                            "limit (raise it with --max-size)")
        with path.open("rb") as handle:
            return handle.read(max_bytes + 1)
    except PermissionError:
        raise ReadError("permission denied") from None
    except IsADirectoryError:
        raise ReadError("is a folder, not a file") from None
    except OSError as exc:
        raise ReadError(f"cannot read: {exc.strerror or exc}") from None


def _jsonl_records(path: Path, data: bytes, hints: dict[str, str]
                   ) -> Iterator[RawDocument | BadRecord]:
    """One raw document per non-empty line; each keeps its line number in its uri."""
    if not data.strip():
        raise ReadError("empty file")
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        yield RawDocument(f"{path}#L{number}", line.strip(), "record", dict(hints))
