"""Files of many articles as rows: JSON Lines, JSON arrays and CSV exports.

Each row becomes one raw document of format "record": the row's JSON object, kept verbatim
for JSON Lines and rebuilt from the header for CSV. Its uri ends in #L<line> (or #<n> for a
JSON array), so a broken row is reported with its position while the rest is read.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator
from typing import BinaryIO

from charset_normalizer import from_bytes

from archive.document import RawDocument
from archive.readers.items import (
    MAX_BAD_RECORDS,
    BadRecord,
    Item,
    ReadError,
    too_many_bad_records,
)
from archive.spreadsheets import unguarded

# Keys under which JSON API dumps commonly wrap their list of articles.
_WRAPPER_KEYS = ("articles", "results", "data", "items", "stories", "docs")


def jsonl_records(uri: str, stream: BinaryIO, max_bytes: int, hints: dict[str, str]
                  ) -> Iterator[Item]:
    """One record per non-empty line; a line over max_bytes is refused without reading it."""
    number = 0
    seen_any = bad = 0
    while True:
        line = stream.readline(max_bytes + 1)
        if not line:
            break
        number += 1
        if len(line) > max_bytes and not line.endswith(b"\n"):
            _skip_to_newline(stream)
            bad += 1
            yield BadRecord(f"{uri}#L{number}", f"line is over the {max_bytes / 1e6:g} MB limit")
            continue
        line = line.strip()
        if not line:
            continue
        seen_any += 1
        if number == 1 and line.startswith(codecs.BOM_UTF8):
            line = line[len(codecs.BOM_UTF8):]
        if not line.startswith(b"{"):
            bad += 1
            if bad > MAX_BAD_RECORDS:
                raise too_many_bad_records(uri)
            yield BadRecord(f"{uri}#L{number}", "not a JSON object (a JSON Lines row must "
                            "start with '{')")
            continue
        yield RawDocument(f"{uri}#L{number}", line, "record", dict(hints))
    if not seen_any:
        raise ReadError("empty file")


def _skip_to_newline(stream: BinaryIO) -> None:
    while True:
        chunk = stream.readline(1 << 20)
        if not chunk or chunk.endswith(b"\n"):
            return


def json_records(uri: str, data: bytes, hints: dict[str, str]) -> Iterator[Item]:
    """A JSON file: one article object, a list of them, or a list wrapped in an object."""
    if not data.strip():
        raise ReadError("empty file")
    try:
        parsed = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f" at line {exc.lineno}, column {exc.colno}" if isinstance(
            exc, json.JSONDecodeError) else ""
        raise ReadError(f"invalid JSON{where}: {getattr(exc, 'msg', exc)}") from None
    if isinstance(parsed, dict):
        wrapped = next((parsed[key] for key in _WRAPPER_KEYS
                        if isinstance(parsed.get(key), list)), None)
        items = wrapped if wrapped is not None else [parsed]
    elif isinstance(parsed, list):
        items = parsed
    else:
        raise ReadError("a JSON file must hold an article object or a list of them")
    for number, item in enumerate(items, start=1):
        if isinstance(item, dict):
            payload = json.dumps(item, ensure_ascii=False).encode("utf-8")
            yield RawDocument(f"{uri}#{number}", payload, "record", dict(hints))
        else:
            yield BadRecord(f"{uri}#{number}", "not a JSON object")


def csv_records(uri: str, stream: BinaryIO, max_bytes: int, hints: dict[str, str]
                ) -> Iterator[Item]:
    """One record per row, keyed by the header row's column names."""
    head = stream.read(65536)
    if not head.strip():
        raise ReadError("empty file")
    encoding = _csv_encoding(head)
    text = io.TextIOWrapper(_Rewound(head, stream), encoding=encoding, errors="replace",
                            newline="")
    first_line = head.split(b"\n", 1)[0]
    delimiter = "\t" if first_line.count(b"\t") > first_line.count(b",") else ","
    csv.field_size_limit(max_bytes)
    reader = csv.DictReader(text, delimiter=delimiter)
    if not reader.fieldnames:
        raise ReadError("no header row")
    bad = 0
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            bad += 1
            if bad > MAX_BAD_RECORDS:
                raise too_many_bad_records(uri) from None
            yield BadRecord(f"{uri}#L{reader.line_num}", f"malformed CSV row: {exc}")
            continue
        values = {key: _unguard(value) for key, value in row.items()
                  if key is not None and value not in (None, "")}
        if values:
            payload = json.dumps(values, ensure_ascii=False).encode("utf-8")
            yield RawDocument(f"{uri}#L{reader.line_num}", payload, "record", dict(hints))


def _unguard(value: str | list[str]) -> str:
    if isinstance(value, list):  # more cells than header names
        value = ",".join(value)
    return unguarded(value)  # our own CSV export guarded it against spreadsheets


def _csv_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start > len(head) - 4:
            return "utf-8"  # a character cut by the 64 KB boundary
    best = from_bytes(head).best()
    return best.encoding if best else "utf-8"


class _Rewound(io.RawIOBase):
    """A stream that replays bytes already read from it, then continues."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = io.BytesIO(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        count = self._head.readinto(buffer)
        if count:
            return count
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
