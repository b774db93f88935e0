"""The index's analysers run in a few passes over a whole text, for indexing.

Whoosh analyses a text through a chain of generators (tokenizer, lower-case, stemmer), one
Token object and four generator steps per word, and the stemmer's LRU cache wraps every
lookup in Python code of its own: a third of the index helper's CPU. The chains the schema
uses (`archive.index.schema`) are recognised here and run as one regular expression over
the text, a dictionary of word -> stem and one loop that gathers positions, giving the same
terms, positions and weights. Any other chain (another pattern, stop words, other stemmers,
an index written by something else) goes through Whoosh as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from whoosh.analysis import CompositeAnalyzer, LowercaseFilter, RegexTokenizer, StemFilter
from whoosh.analysis.tokenizers import default_pattern
from whoosh.lang.porter import stem as porter_stem

from archive.stemming import stem as archive_stem

# The stems of this many distinct words (surface forms, as written) are kept; then the
# table starts again. A news archive's vocabulary grows slowly after the first thousands of
# articles, so the table rarely fills; the bound keeps a process's memory in check.
STEM_CACHE_WORDS = 300_000

# Terms of a text: (term, [positions]) in the order of their first occurrence.
Terms = dict[str, list[int]]


class _Plan:
    """How to analyse a text like one recognised Whoosh analyser."""

    __slots__ = ("find", "stem", "stems")

    def __init__(self, pattern: re.Pattern[str], stem: Callable[[str], str] | None) -> None:
        self.find = pattern.findall
        self.stem = stem
        self.stems: dict[str, str] | None = {} if stem else None

    def terms(self, text: str) -> Terms:
        words = self.find(text)
        # Each word to its term: lower-cased then stemmed, like LowercaseFilter then
        # StemFilter, looked up by the word as written (most words are seen before).
        stems = self.stems
        if stems is None:
            terms: Iterable[str] = map(str.lower, words)
        else:
            if len(stems) > STEM_CACHE_WORDS:
                stems.clear()
            get, stem = stems.get, self.stem
            assert stem is not None
            found = []
            for word in words:
                term = get(word)
                if term is None:
                    term = stems[word] = stem(word.lower())
                found.append(term)
            terms = found
        positions: Terms = {}
        for position, term in enumerate(terms):
            seen = positions.get(term)
            if seen is None:
                positions[term] = [position]
            else:
                seen.append(position)
        return positions


# One plan per kind of chain, shared by every analyser object of that kind: Whoosh unpickles
# new ones with the schema at every writer, and the stems learnt are worth keeping.
_plans: dict[tuple[str, int, Callable[[str], str] | None], _Plan] = {}
# Stemmers known to be plain functions of the lower-cased word: the schema's
# (archive.stemming) and Whoosh's own Porter stemmer (indexes made before it).
_KNOWN_STEMMERS = (archive_stem, porter_stem)


def _recognise(analyzer: Any) -> tuple[str, int, Callable[[str], str] | None] | None:
    """What a RegexTokenizer (Whoosh's default pattern, no gaps) | LowercaseFilter,
    optionally | StemFilter (a known stemmer, no ignored words, no other language) is made
    of (its pattern, the pattern's flags, its stemmer); None for any other analyser."""
    if not isinstance(analyzer, CompositeAnalyzer):
        return None
    items = list(analyzer.items)
    if len(items) not in (2, 3):
        return None
    tokenizer, lower = items[0], items[1]
    if (type(tokenizer) is not RegexTokenizer or tokenizer.gaps
            or tokenizer.expression.pattern != default_pattern.pattern
            or tokenizer.expression.flags != default_pattern.flags
            or type(lower) is not LowercaseFilter):
        return None
    stem = None
    if len(items) == 3:
        stemmer = items[2]
        if (type(stemmer) is not StemFilter or stemmer.stemfn not in _KNOWN_STEMMERS
                or getattr(stemmer, "lang", None) or stemmer.ignore):
            return None
        stem = stemmer.stemfn
    return default_pattern.pattern, default_pattern.flags, stem


def plan_for(analyzer: Any) -> Callable[[str], Terms] | None:
    """The fast analysis of `analyzer`, if it is one of the recognised chains."""
    kind = _recognise(analyzer)
    if kind is None:
        return None
    plan = _plans.get(kind)
    if plan is None:
        pattern, flags, stem = kind
        # The same matches as Whoosh's pattern (\w+(\.?\w+)*), whose group would make
        # findall return the group instead of the whole match.
        plan = _plans[kind] = _Plan(re.compile(pattern.replace("(", "(?:"), flags), stem)
    return plan.terms
