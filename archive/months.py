"""Month names of the languages the archive meets, from the table archive/data/months.csv.

One table serves both date readers (archive.dates for page metadata, the text-dump lexicon
for lines), so a language added there is read the same way everywhere.
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

TABLE = "months.csv"
# A word that names a month, but which one depends on the language ("listopada").
AMBIGUOUS = 0
# Language codes that share a column of the table with another code.
_SAME_LANGUAGE = {"nb": "no", "nn": "no", "bs": "sr"}


@dataclass(frozen=True, slots=True)
class MonthForm:
    form: str  # as written in the table
    language: str
    month: int
    abbreviation: bool


def fold(word: str) -> str:
    """A word as the table is keyed: case and accents of Latin, Greek and Cyrillic letters
    dropped ("März" -> "marz", "KASIM" and "kasım" -> "kasim"). Other scripts keep their
    marks: Devanagari or Thai vowel signs are letters of the word, not accents."""
    out = []
    for ch in word.casefold().replace("ı", "i"):
        if ch < "\u0530":  # Latin, Greek, Cyrillic
            if unicodedata.combining(ch):
                continue
            ch = unicodedata.normalize("NFKD", ch)[0]
        out.append(ch)
    return "".join(out)


def forms() -> Iterator[MonthForm]:
    """Every form in the table."""
    yield from _rows()


def month_of(word: str, language: str | None = None) -> int | None:
    """The month (1-12) a word names, AMBIGUOUS when languages disagree and `language`
    does not settle it, None when the word is no month name the table knows."""
    entries = _by_form().get(fold(word.rstrip(".")))
    if not entries:
        return None
    months = {month for _, month in entries}
    if len(months) == 1:
        return months.pop()
    if language:
        code = language.split("-")[0].split("_")[0].lower()
        code = _SAME_LANGUAGE.get(code, code)
        mine = {month for lang, month in entries if lang == code}
        if len(mine) == 1:
            return mine.pop()
    return AMBIGUOUS


@lru_cache(maxsize=1)
def _rows() -> tuple[MonthForm, ...]:
    table = resources.files("archive") / "data" / TABLE
    rows: list[MonthForm] = []
    with table.open(encoding="utf-8") as handle:
        lines = (line for line in handle if line.strip() and not line.startswith("#"))
        for record in csv.DictReader(lines):
            for column, abbreviation in (("names", False), ("abbreviations", True)):
                for form in (record[column] or "").split("|"):
                    if form.strip():
                        rows.append(MonthForm(form.strip(), record["language"],
                                              int(record["month"]), abbreviation))
    return tuple(rows)


@lru_cache(maxsize=1)
def _by_form() -> dict[str, frozenset[tuple[str, int]]]:
    found: dict[str, set[tuple[str, int]]] = {}
    for row in _rows():
        found.setdefault(fold(row.form), set()).add((row.language, row.month))
    return {form: frozenset(entries) for form, entries in found.items()}
