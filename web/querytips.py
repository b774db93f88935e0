"""What to tell someone whose query cannot run: where the problem is and what to try."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from archive.index import MIN_WILDCARD_PREFIX, QueryError

# The core quotes the part of the query it objects to: 'a*' needs at least ...
_QUOTED = re.compile(r"'([^']+)'")
_DATE_CLAUSE = re.compile(r"date:(\[[^\]]*\]?|\S+)")


@dataclass(frozen=True, slots=True)
class QueryProblem:
    message: str  # the core's explanation, as a sentence
    before: str  # the query split around the part the message is about
    problem: str
    after: str
    tip: str
    alternative: str | None  # a query that does run, close to what was typed


Check = Callable[[str], "QueryError | None"]
REPAIR_ROUNDS = 3  # a query can have several problems; each round fixes one


def describe(query: str, error: QueryError, check: Check) -> QueryProblem:
    """Point at the part of `query` that `error` is about and suggest a fix.

    `check` returns the error a candidate query raises (None if it runs), so no suggestion
    fails in its turn."""
    message = str(error)
    start, end, tip, _ = _analyse(query, message)
    alternative = _repair(query, message, check, REPAIR_ROUNDS)
    if alternative is None:
        plain = " ".join(re.findall(r"\w+", query))  # plain words nearly always run
        alternative = plain if plain and plain != query and check(plain) is None else None
    return QueryProblem(message=message[:1].upper() + message[1:].rstrip(".") + ".",
                        before=query[:start], problem=query[start:end], after=query[end:],
                        tip=tip, alternative=alternative)


def _analyse(query: str, message: str) -> tuple[int, int, str, list[str]]:
    quoted = _QUOTED.search(message)
    start, end = _locate(query, quoted.group(1) if quoted else "")
    tip, candidates = _advice(query, message, query[start:end], start, end)
    return start, end, tip, candidates


def _repair(query: str, message: str, check: Check, rounds: int) -> str | None:
    _, _, _, candidates = _analyse(query, message)
    for candidate in dict.fromkeys(" ".join(c.split()) for c in candidates):
        if not candidate or candidate == query:
            continue
        error = check(candidate)
        if error is None:
            return candidate
        if rounds > 1 and (fixed := _repair(candidate, str(error), check, rounds - 1)):
            return fixed
    return None


def _locate(query: str, part: str) -> tuple[int, int]:
    if not part:
        return 0, 0
    at = query.find(part)
    if at < 0:
        at = query.casefold().find(part.casefold())
    if at < 0:
        # "lavorv~" is reported as 'lavorv~2', a date as its value alone: find the word.
        word = re.match(r"\w+", part)
        at = query.find(word.group()) if word else -1
        if at < 0:
            return 0, 0
        end = at + len(word.group())  # type: ignore[union-attr]
        while end < len(query) and not query[end].isspace():
            end += 1
        return at, end
    return at, at + len(part)


def _advice(query: str, message: str, problem: str, start: int, end: int
            ) -> tuple[str, list[str]]:
    rest = query[:start] + " " + query[end:]
    if "letters before its first" in message:
        stem = problem.replace("*", "").replace("?", "")
        return (f"A wildcard needs at least {MIN_WILDCARD_PREFIX} letters before * or ?, "
                "as in sanction*. Type more of the word, or leave the * out.",
                [query[:start] + stem + query[end:], rest])
    if "letters may differ" in message:
        fixed = re.sub(r"~\d+$", "~2", problem)
        return ("A fuzzy word allows at most 2 different letters: write lavorv~ (2) or "
                "lavorv~1.", [query[:start] + fixed + query[end:]])
    if "is not a date" in message:
        clause = _DATE_CLAUSE.search(query)
        without = (query[:clause.start()] + query[clause.end():]) if clause else rest
        return ("Dates are written 2022, 2022-03 or 2022-03-31, ranges as "
                "date:[2022-03-01 TO 2022-03-31].", [without])
    if "no words to search for" in message:
        return ("The query has nothing to look for: only brackets or operators, or only "
                "words to leave out (-ferry finds nothing by itself; try tram -ferry).", [])
    return ("Check that quotes and brackets are closed, or search for plain words.", [])
