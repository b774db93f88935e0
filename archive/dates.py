"""Publication dates from the many ways pages and exports write them.

A date written with a month name is read with the month table (archive.months), in any of
its languages: dateutil knows English names only and, when fuzzy, skips a word it does not
know and takes the day for the month ("5 января 2022" became May). Only what the table
cannot place goes to dateutil, and only when dateutil cannot misread it; otherwise the
date stays unknown. A wrong date is worse than none.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from dateutil import parser as dateparser
from dateutil.parser import UnknownTimezoneWarning

from archive import months
from archive.document import PublishedDate

_ISO_DAY = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})")
_ISO_MONTH = re.compile(r"^\s*(\d{4})-(\d{2})\s*$")
_YEAR = re.compile(r"^\s*(\d{4})\s*$")
_HAS_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d|2100)(?!\d)")
_HAS_DAY = re.compile(r"(?<!\d)(0?[1-9]|[12]\d|3[01])(?!\d)")
# Chinese and Japanese 2022年3月5日, Korean 2022년 3월 5일: the units say which number is which.
_CJK = re.compile(r"((?:1[89]|20)\d\d)\s*[年년]\s*(\d{1,2})\s*[月월](?:\s*(\d{1,2})\s*[日일])?")
# Vietnamese "ngày 5 tháng 3 năm 2022": the month is a number after "tháng".
_VIETNAMESE = re.compile(r"(?i)(?<!\d)(\d{1,2})\s+tháng\s+(\d{1,2})(?:\s+năm|\s*[,/])?\s+(\d{4})")
# 05.03.2022: dotted dates put the day first (Europe, Russia, Turkey ...; the US writes
# slashes), unless the second number is too large for a month ("11.14.2019").
_DOTTED = re.compile(r"(?<![\d.])(\d{1,2})\.(\d{1,2})\.(\d{4})(?![\d]|\.\d)")
# A month written as a number within a date ("5/3/2022", "2022.3.5", "03-2022").
_NUMERIC_MONTH = re.compile(r"(?<!\d)\d{1,4}[./-]\s?\d{1,2}(?:[./-]\s?\d{1,4})?(?!\d)|"
                            r"(?<!\d)\d{1,2}[./-]\d{4}(?!\d)")
_TIME = re.compile(r"(?<!\d)\d{1,2}[:h]\d{2}(?::\d{2})?(?:[.,]\d+)?(?!\d)")
_SEPARATORS = re.compile(r"([\s,.;:/|•·()\[\]{}\"'’‘`«»“”„‹›–—-]+)")
# Separators that end a date: nothing on their far side belongs to it ("Issue 12 | May 2022").
_STOPS = frozenset(";|•·\n")
_NUMBER = re.compile(r"^(\d+)")
# Words that stand between the parts of a date without changing it: "5 de março de 2023",
# "the 5th of March", "2023. gada 5. martā" (Latvian), "2023 m. kovo 5 d." (Lithuanian).
# Any one-letter word ("d'abril", "m.") also counts.
_FILLERS = frozenset("de del do da of the den el le em gada го".split())
# Plausible publication years; anything else is a parse accident (a phone number, a price).
MIN_YEAR, MAX_YEAR = 1800, 2100

Language = str | Callable[[], str | None] | None


def parse_date(value: str | None, language: Language = None) -> PublishedDate | None:
    """Parse a date as stated, keeping its precision; a date without a year is unknown, and
    so is one whose month cannot be told for certain.

    `language` (a code, or a function giving one, called only when needed) settles month
    names that differ between languages: "listopada" is November in Polish, October in
    Croatian."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if match := _ISO_DAY.match(value):
        return _make(int(match[1]), int(match[2]), int(match[3]), "day")
    if match := _ISO_MONTH.match(value):
        return _make(int(match[1]), int(match[2]), 1, "month")
    if match := _YEAR.match(value):
        return _make(int(match[1]), 1, 1, "year")
    if not _HAS_YEAR.search(value):
        return None  # "March 3" has no year: guessing one would be inventing data
    if match := _CJK.search(value):
        return _make(int(match[1]), int(match[2]), int(match[3] or 1),
                     "day" if match[3] else "month")
    if match := _VIETNAMESE.search(value):
        return _make(int(match[3]), int(match[2]), int(match[1]), "day")
    tokens = _tokens(value)
    named = _named_date(tokens, language)
    if not isinstance(named, _NotNamed):
        return named
    if match := _DOTTED.search(value):
        first, second = int(match[1]), int(match[2])
        day, month = (second, first) if second > 12 else (first, second)
        return _make(int(match[3]), month, day, "day")
    if not _dateutil_can_read(value, tokens):
        return None
    return _dateutil_date(value)


# --- dates with a month name -------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Token:
    text: str  # folded word, the digits of a number, or the separator for a break
    number: int | None  # for a number (a suffix such as "1st", "1er", "2022г" dropped)
    # A break between tokens: "stop" ends a date, "comma" ends one only on the side of the
    # day ("Issue 12, May 2022") since "March 5, 2023" puts one before the year.
    kind: str = "word"


class _NotNamed:
    """No month name in the text: another reading may apply."""


_NOT_NAMED = _NotNamed()


def _tokens(value: str) -> list[_Token]:
    """Words and numbers, times of day left out ("10:30" is neither day nor year)."""
    tokens = []
    for index, piece in enumerate(_SEPARATORS.split(_TIME.sub(" ", value))):
        if index % 2:  # a run of separators
            if _STOPS.intersection(piece):
                tokens.append(_Token(piece, None, "stop"))
            elif "," in piece:
                tokens.append(_Token(piece, None, "comma"))
        elif match := _NUMBER.match(piece):
            tokens.append(_Token(match[1], int(match[1]), "number"))
        elif piece:
            tokens.append(_Token(months.fold(piece), None))
    return tokens


def _named_date(tokens: list[_Token], language: Language
                ) -> PublishedDate | None | _NotNamed:
    """The first "day month year", "month day, year", "year month day" (or month and year
    alone) whose month is a name in the table; None when a month name stands in the text
    but its date cannot be read for certain; _NOT_NAMED when there is no month name
    dateutil could not read as well."""
    only_english = True
    resolved: str | None = None
    for index, token in enumerate(tokens):
        if token.kind != "word" or (month := months.month_of(token.text)) is None:
            continue
        if month == months.AMBIGUOUS:
            if resolved is None:
                resolved = (language() if callable(language) else language) or ""
            month = months.month_of(token.text, resolved)
        only_english = only_english and _english_month(token.text) is not None
        before = _neighbours(tokens, index, -1)
        after = _neighbours(tokens, index, 1)
        found = _arrange(before, after)
        if found is None:
            continue
        if month is None or month == months.AMBIGUOUS:
            return None  # a word of two months, and the page's language names neither
        year, day = found
        return _make(year, month, day or 1, "day" if day else "month")
    # English names in an order the patterns do not cover ("Tue Nov 19 10:00:00 2019")
    # dateutil reads; another language's name it would skip, and guess the month.
    return _NOT_NAMED if only_english else None


def _arrange(before: list[int | None], after: list[int | None]) -> tuple[int, int] | None:
    """(year, day) from the numbers around a month name, day 0 when only a year is given."""
    b1, b2 = before
    a1, a2 = after
    # 5 March 2023 / 5 de março de 2023; March 5, 2023; 2023. március 5.; 2023. gada 5. martā
    for year, day in ((a1, b1), (a2, a1), (b1, a1), (b2, b1)):
        if year is not None and day is not None and _is_year(year) and 1 <= day <= 31:
            return year, day
    for year in (a1, b1):  # March 2023, 2023 March
        if year is not None and _is_year(year):
            return year, 0
    return None


def _is_year(number: int) -> bool:
    return MIN_YEAR <= number <= MAX_YEAR


def _neighbours(tokens: list[_Token], index: int, step: int) -> list[int | None]:
    """The next two tokens in one direction, fillers skipped: numbers, or None for a word."""
    found: list[int | None] = []
    index += step
    while 0 <= index < len(tokens) and len(found) < 2:
        token = tokens[index]
        if token.kind == "stop" or (token.kind == "comma" and step < 0):
            break
        if token.number is not None:
            found.append(token.number)
        elif token.kind == "word" and len(token.text) > 1 and token.text not in _FILLERS:
            found.append(None)
        index += step
    return found + [None] * (2 - len(found))


# --- the rest, through dateutil ----------------------------------------------------------

_DATEUTIL_WORDS = dateparser.parserinfo()


def _english_month(word: str) -> int | None:
    return _DATEUTIL_WORDS.month(word)


def _dateutil_can_read(value: str, tokens: list[_Token]) -> bool:
    """Whether dateutil will find the month in the text rather than guess it: a month name
    it knows, or a month written as a number within a date. Otherwise a lone day number
    would become the month; text with a year and no other number is safe (year only)."""
    if any(t.kind == "word" and _english_month(t.text) for t in tokens):
        return True
    if _NUMERIC_MONTH.search(_TIME.sub(" ", value)):
        return True
    return not any(t.number is not None and len(t.text) <= 2 and 1 <= t.number <= 31
                   for t in tokens)


def _dateutil_date(value: str) -> PublishedDate | None:
    try:
        with warnings.catch_warnings():
            # "EST" and friends: the zone does not matter for a calendar day.
            warnings.simplefilter("ignore", UnknownTimezoneWarning)
            # Two different defaults reveal which parts the string really contained.
            first = dateparser.parse(value, default=dt.datetime(2000, 1, 1), fuzzy=True)
            second = dateparser.parse(value, default=dt.datetime(2001, 2, 2), fuzzy=True)
    except (ValueError, OverflowError, TypeError):
        return None
    if first.year != second.year:
        return None
    if first.month != second.month:
        return _make(first.year, 1, 1, "year")
    if first.day != second.day or not _HAS_DAY.search(_drop_year(value)):
        return _make(first.year, first.month, 1, "month")
    return _make(first.year, first.month, first.day, "day")


def _drop_year(value: str) -> str:
    return _HAS_YEAR.sub(" ", value)


def _make(year: int, month: int, day: int, precision: str) -> PublishedDate | None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        return PublishedDate(dt.date(year, month, day), precision)  # type: ignore[arg-type]
    except ValueError:
        return None
