"""Marking a query's words in texts and choosing the passages to show."""

from __future__ import annotations

import re
from functools import lru_cache

from archive.index.bounds import TEXT_SAMPLE_CHARS
from archive.index.types import Fragment
from archive.stemming import stem as porter_stem

_WORDS = re.compile(r"\w", re.UNICODE)
# The tokens the index's analyser makes (Whoosh's RegexTokenizer default), for highlighting.
_TOKEN = re.compile(r"\w+(\.?\w+)*", re.UNICODE)
# Passages are looked for this far into a text.
SCAN_CHARS = TEXT_SAMPLE_CHARS


class Highlighter:
    """Marks the words of a query in texts, and picks the passages with most of them.

    Written here rather than using Whoosh's highlighter, which builds a token object per
    word and was half the time of a results page (about 5 ms per body)."""

    SURROUND = 60

    def __init__(self, terms: dict[str, frozenset[str]],
                 prefixes: dict[str, tuple[str, ...]] | None = None) -> None:
        self.terms = terms
        # Words starting with one of these are marked too (the PostgreSQL engine's prefixes).
        self.prefixes = prefixes or {}

    def passages(self, field: str, text: str, *, top: int = 3, maxchars: int = 220,
                 whole: bool = False) -> list[Fragment]:
        """The best `top` passages of `text` in text order, or the whole text as one (in
        both cases marking words in its first SCAN_CHARS characters only)."""
        wanted = self.terms.get(field, frozenset())
        starts = self.prefixes.get(field, ())
        if not (wanted or starts) or not text:
            return []
        hits = [(m.start(), m.end()) for m in _TOKEN.finditer(text, 0, SCAN_CHARS)
                if _stem(m.group().lower()) in wanted
                or (starts and m.group().lower().startswith(starts))]
        if not hits:
            return []
        if whole:
            return [_fragment(text, 0, len(text), hits)]
        windows = []
        for first in range(len(hits)):
            last = first
            while (last + 1 < len(hits)
                   and hits[last + 1][1] - hits[first][0] <= maxchars - self.SURROUND):
                last += 1
            words = {text[a:b].lower() for a, b in hits[first:last + 1]}
            windows.append((len(words), last - first, -first, first, last))
        chosen: list[tuple[int, int]] = []
        for *_, first, last in sorted(windows, reverse=True):
            if len(chosen) == top:
                break
            if all(last < a or first > b for a, b in chosen):
                chosen.append((first, last))
        fragments = []
        for first, last in sorted(chosen):
            start = _word_start(text, max(0, hits[first][0] - self.SURROUND))
            end = _word_end(text, min(len(text), hits[last][1] + self.SURROUND))
            fragments.append(_fragment(text, start, end, hits[first:last + 1]))
        return fragments


def _fragment(text: str, start: int, end: int, hits: list[tuple[int, int]]) -> Fragment:
    # A passage that stops only punctuation short of either end of the text takes that
    # punctuation in ("... at night." rather than "... at night …"; a leading "=" kept).
    if not _WORDS.search(text, 0, start):
        start = 0
    if not _WORDS.search(text, end):
        end = len(text.rstrip())
    out = Fragment()
    position = start
    for a, b in hits:
        if a < position or b > end:
            continue
        if a > position:
            out.append((text[position:a], False))
        out.append((text[a:b], True))
        position = b
    if position < end:
        out.append((text[position:end], False))
    out.cut_start, out.cut_end = start > 0, end < len(text.rstrip())
    out.start, out.end = start, end
    return out


def _word_start(text: str, position: int) -> int:
    while 0 < position < len(text) and text[position - 1].isalnum():
        position -= 1
    return position


def _word_end(text: str, position: int) -> int:
    while position < len(text) and text[position].isalnum():
        position += 1
    return position


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return porter_stem(word)
