"""Query strings to Whoosh queries: dates, fuzzy terms, and walking the parsed tree."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

from whoosh import query

from archive.facets import day_key
from archive.index.schema import _analyzer
from archive.index.types import QueryError

# Shortest start a wildcard may have: "a*" would expand to most of the vocabulary.
MIN_WILDCARD_PREFIX = 2
# Fuzzy terms must share their first letter: without that, one would scan every word.
FUZZY_PREFIX = 1
# Field names users may write before a colon, and the index field each one searches.
QUERY_FIELDS = {"title": "title", "body": "body", "byline": "byline", "outlet": "outlet_text",
                "date": "date"}
# "word~" with no number asks for the usual 2 differences (Whoosh would allow only 1).
_BARE_FUZZY = re.compile(r"(?<=\w)~(?![\d.])")
_DATE_CLAUSE = re.compile(
    r"\bdate:(?:\[\s*(?P<start>[\d-]*)\s*\b(?i:to)\b\s*(?P<end>[\d-]*)\s*\]"
    r"|(?P<single>\d{4}(?:-\d{2}){0,2})(?![\w-]))")
_BAD_DATE_CLAUSE = re.compile(r"\bdate:(?!\[\d+ TO \d+\])(\S*)")


def _rewrite_dates(text: str) -> str:
    """date:[2022-03-01 TO 2022-03-31], date:2022 and date:2022-03 as YYYYMMDD ranges;
    anything else after date: is an error, not silently a word."""

    def to_range(match: re.Match[str]) -> str:
        if match["single"]:
            start, end = _bounds(match["single"])
        else:
            start = _bounds(match["start"])[0] if match["start"] else 1  # 0 means undated
            end = _bounds(match["end"])[1] if match["end"] else 99991231
        return f"date:[{start} TO {end}]"

    rewritten = _DATE_CLAUSE.sub(to_range, text)
    if bad := _BAD_DATE_CLAUSE.search(rewritten):
        raise QueryError(f"'date:{bad[1]}' is not a date: write date:2022, date:2022-03, "
                         "date:2022-03-31 or date:[2022-03-01 TO 2022-03-31]")
    return rewritten


def _bounds(value: str) -> tuple[int, int]:
    """First and last day (YYYYMMDD) that a YYYY, YYYY-MM or YYYY-MM-DD stands for."""
    parts = [int(p) for p in value.split("-") if p]
    try:
        if len(parts) == 1:
            return parts[0] * 10000 + 101, parts[0] * 10000 + 1231
        if len(parts) == 2:
            first = dt.date(parts[0], parts[1], 1)
            following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
            return day_key(first), day_key(following - dt.timedelta(days=1))
        day = day_key(dt.date(*parts[:3]))
        return day, day
    except (ValueError, TypeError):
        raise QueryError(f"'{value}' is not a date: write dates as 2022, 2022-03 or "
                         "2022-03-31") from None


def _day(value: int | None) -> str:
    if not value or value >= 99991231:
        return "any date"
    return f"{value // 10000:04d}-{value // 100 % 100:02d}-{value % 100:02d}"


def _leaves(parsed: query.Query, kinds: tuple[type, ...]) -> Iterator[query.Query]:
    if isinstance(parsed, kinds):
        yield parsed
    for child in parsed.children():
        yield from _leaves(child, kinds)


def _clauses(parsed: query.Query, negated: bool = False) -> Iterator[tuple[query.Query, bool]]:
    """Leaf queries, with whether each sits under a NOT (or the right side of AndNot)."""
    if isinstance(parsed, query.Not):
        yield from _clauses(parsed.query, not negated)
    elif isinstance(parsed, query.AndNot):
        yield from _clauses(parsed.a, negated)
        yield from _clauses(parsed.b, not negated)
    elif (isinstance(parsed, query.Phrase | query.NumericRange) or not list(parsed.children())
          or _is_field_group(parsed)):
        yield parsed, negated
    else:
        for child in parsed.children():
            yield from _clauses(child, negated)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value




def _typed_words(text: str) -> dict[str, str]:
    """Each stem of a query string with the word the user typed for it."""
    return {token.text: token.original for token in _analyzer()(text, keeporiginal=True)}


def _is_field_group(node: query.Query) -> bool:
    """An Or of the same word, phrase or pattern in several fields (how "word" parses)."""
    children = list(node.children())
    if not isinstance(node, query.Or) or len(children) < 2:
        return False
    kinds = {type(c) for c in children}
    keys = {str(getattr(c, "text", getattr(c, "words", None))) for c in children}
    return len(kinds) == 1 and len(keys) == 1 and all(not list(c.children()) for c in children)


def _expansions(group: list[query.Query], reader) -> tuple[str, ...]:  # noqa: ANN001
    words: dict[str, None] = {}
    for leaf in group:
        for _, term in leaf.expanded_terms(reader):
            words.setdefault(_text(term))
    return tuple(words)[:50]
