"""Publication dates from the many ways pages and exports write them."""

from __future__ import annotations

import datetime as dt
import re
import warnings

from dateutil import parser as dateparser
from dateutil.parser import UnknownTimezoneWarning

from archive.document import PublishedDate

_ISO_DAY = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})")
_ISO_MONTH = re.compile(r"^\s*(\d{4})-(\d{2})\s*$")
_YEAR = re.compile(r"^\s*(\d{4})\s*$")
_HAS_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d|2100)(?!\d)")
_HAS_DAY = re.compile(r"(?<!\d)(0?[1-9]|[12]\d|3[01])(?!\d)")
# Plausible publication years; anything else is a parse accident (a phone number, a price).
MIN_YEAR, MAX_YEAR = 1800, 2100


def parse_date(value: str | None) -> PublishedDate | None:
    """Parse a date as stated, keeping its precision; a date without a year is unknown."""
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
