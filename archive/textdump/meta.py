"""Title, date, outlet and byline from the lines of a text dump."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from archive.dates import parse_date
from archive.document import PublishedDate
from archive.outlets import outlet_for_url
from archive.textdump.clean import (
    CleanedLines,
    furniture_reason,
    is_credit,
    is_prose,
    word_total,
)

_BYLINE = re.compile(r"^by\s+(?P<name>.+)$", re.I)
_DATE_WORDS = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b,?\s*\d{4}"
    r"|\b\d{1,2}(?:st|nd|rd|th)?\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*"
    r"\.?,?\s+\d{4}|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}[./]\d{1,2}[./]\d{4}\b",
    re.I,
)
_UPDATED = re.compile(r"\b(?:updated|modified|last edited)\b", re.I)
_DATELINE_OUTLET = re.compile(r"^[A-Z][A-Z .,'-]+(?:,\s*[A-Za-z]+\.? \d{1,2})?\.?\s*/([A-Za-z][\w .&-]{1,40})/")
_REPORTS = re.compile(r"(?:reports|reported by|writes)\s+([A-Z][\w&.'-]*(?:\s+[A-Z][\w&.'-]*){0,5})\s*$")
_MORE_FROM = re.compile(r"^(?:more|latest)\s+from\s+(?:-\s*)?(.+?)\s*$", re.I)
_COPYRIGHT = re.compile(r"(?:©|\(c\)|copyright)\s*(?:\d{4}\s*(?:-\s*\d{4})?)?\s*([A-Z][^.|,]{1,60})", re.I)
_DESK = re.compile(r"\s+(?:news\s+desk|staff(?:\s+writer)?|reporters?|correspondent|editorial\s+team)$",
                   re.I)
# How far before the article's first line the headline block may start.
_HEAD_WINDOW = 12


@dataclass(slots=True)
class DumpMetadata:
    title: str | None = None
    published: PublishedDate | None = None
    outlet: str | None = None
    byline: str | None = None
    # Lines that carried metadata and so are not article text (a byline, a date line).
    consumed: set[int] = field(default_factory=set)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)

    def found(self, name: str, value: Any, line: int | None, rule: str) -> None:
        setattr(self, name, value)
        self.sources["date" if name == "published" else name] = {"rule": rule, "line": line}


def find_metadata(lines: list[str], cleaned: CleanedLines, hints: Mapping[str, str]) -> DumpMetadata:
    """Look around the article's first lines for its headline, byline and date."""
    meta = DumpMetadata()
    stripped = [line.strip() for line in lines]
    first = cleaned.kept[0] if cleaned.kept else cleaned.main_start
    head = range(max(0, first - _HEAD_WINDOW), min(len(stripped), first + 3))
    _find_byline_and_date(stripped, head, meta)
    _find_title(stripped, first, cleaned, meta)
    if meta.published is None:
        _find_date_anywhere(stripped, cleaned, meta)
    _find_outlet(stripped, cleaned, meta, hints)
    return meta


def _find_byline_and_date(stripped: list[str], head: range, meta: DumpMetadata) -> None:
    for index in head:
        line = stripped[index]
        if not line or word_total(line) > 30:
            continue
        date_match = _DATE_WORDS.search(line)
        byline = _BYLINE.match(line)
        if byline and meta.byline is None:
            name = byline["name"]
            if date_match:
                name = name[: date_match.start() - 3].strip()
            meta.found("byline", name.strip(" ,|-"), index, "'By …' line above the article")
            meta.consumed.add(index)
        if date_match and meta.published is None and not _UPDATED.search(line):
            published = parse_date(date_match.group(0))
            if published:
                meta.found("published", published, index, "date line above the article")
                if word_total(line) <= 12 or byline:
                    meta.consumed.add(index)


def _find_title(stripped: list[str], first: int, cleaned: CleanedLines,
                meta: DumpMetadata) -> None:
    for index in range(first - 1, max(-1, first - _HEAD_WINDOW), -1):
        line = stripped[index]
        if not line or index in meta.consumed or furniture_reason(line):
            continue
        if "caption" in cleaned.reasons.get(index, "") or is_credit(line):
            continue
        words = word_total(line)
        if words < 3 or words > 30 or _DATE_WORDS.search(line) or _BYLINE.match(line):
            continue
        if is_prose(line) and line.endswith("."):
            continue  # a standfirst or teaser sentence, not a headline
        meta.found("title", line, index, "last headline-like line above the article")
        return


def _find_date_anywhere(stripped: list[str], cleaned: CleanedLines, meta: DumpMetadata) -> None:
    start = max(0, cleaned.main_start - _HEAD_WINDOW)
    for index in range(start, min(len(stripped), cleaned.main_end + 1)):
        line = stripped[index]
        match = _DATE_WORDS.search(line)
        if match and not _UPDATED.search(line) and (published := parse_date(match.group(0))):
            meta.found("published", published, index, "first full date in or above the article")
            return


def _find_outlet(stripped: list[str], cleaned: CleanedLines, meta: DumpMetadata,
                 hints: Mapping[str, str]) -> None:
    url = hints.get("url")
    if url and (name := outlet_for_url(url)):
        meta.found("outlet", name, None, "outlet table, by domain of the supplied url")
        return
    start = cleaned.kept[0] if cleaned.kept else 0
    for index in cleaned.kept[:3]:
        if match := _DATELINE_OUTLET.match(stripped[index]):
            meta.found("outlet", match[1].strip(), index, "agency dateline /OUTLET/")
            return
    for index in range(max(0, start - _HEAD_WINDOW), min(len(stripped), start + 3)):
        if match := _REPORTS.search(stripped[index]):
            meta.found("outlet", match[1].strip(), index, "'… reports OUTLET'")
            return
    for index in range(cleaned.main_end + 1, len(stripped)):
        if match := _MORE_FROM.match(stripped[index]):
            meta.found("outlet", match[1].strip(), index, "'More from OUTLET' heading")
            return
    for index in range(len(stripped) - 1, -1, -1):
        if match := _COPYRIGHT.search(stripped[index]):
            meta.found("outlet", match[1].strip(), index, "copyright line")
            return
    if meta.byline and (name := _DESK.sub("", meta.byline)) != meta.byline:
        meta.found("outlet", name, meta.sources["byline"]["line"], "newsroom byline")
