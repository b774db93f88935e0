"""How much work one search may do: a deadline, and caps on what a query's words expand to.

A deadline belongs to the request (the web app sets one per request, a command per call) and
is checked wherever a search loops over something that grows with the archive: posting
blocks, the words a pattern or fuzzy term expands to, phrase candidates, texts to mark."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from archive.index.types import QueryError

# A search that has not finished in this many seconds stops with a message (per archive:
# `[search] deadline_seconds` in the instance folder's settings.toml).
DEFAULT_DEADLINE_SECONDS = 10.0
# The analyser never indexes longer words (Whoosh's StemmingAnalyzer maxsize), so a longer
# query word could never match and is refused before any work is done.
MAX_WORD_CHARS = 40
# A prefix or wildcard searches at most this many of the words it matches, the most common.
PATTERN_WORDS = 200
# A fuzzy term searches at most this many of its similar words, the most common.
FUZZY_WORDS = 50
# Words of the index looked at to expand one pattern or fuzzy term.
WORDS_SCANNED = 500_000
# Texts are read only this far to mark snippets, find stand-out words, "more like this" and a
# suggestion's spelling: one enormous article then costs what a long normal one does.
TEXT_SAMPLE_CHARS = 100_000
# How often (in loop steps) long loops look at the clock.
CHECK_EVERY = 512

_deadline: ContextVar[tuple[float, float] | None] = ContextVar("search_deadline", default=None)


class SearchTimeout(QueryError):
    """The search ran past its deadline and was stopped."""


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Run a block under a deadline `seconds` from now; an earlier one already set stays."""
    current = _deadline.get()
    if seconds is None or seconds <= 0 or (
            current is not None and current[0] <= time.monotonic() + seconds):
        yield
        return
    token = _deadline.set((time.monotonic() + seconds, seconds))
    try:
        yield
    finally:
        _deadline.reset(token)


def check() -> None:
    """Raise SearchTimeout when the current deadline has passed."""
    current = _deadline.get()
    if current is not None and time.monotonic() > current[0]:
        raise SearchTimeout(
            f"the search was stopped after {current[1]:g} s, its time limit: narrow it (fewer "
            "or longer wildcard words, fewer fuzzy terms, a shorter phrase) and try again")


def remaining() -> float | None:
    """Seconds left before the current deadline (0 once it has passed); None: no deadline."""
    current = _deadline.get()
    return None if current is None else max(0.0, current[0] - time.monotonic())


def check_word(word: str) -> None:
    if len(word) > MAX_WORD_CHARS:
        raise QueryError(f"'{word[:20]}…' is {len(word)} characters long: words longer than "
                         f"{MAX_WORD_CHARS} are not indexed, so they cannot be searched")
