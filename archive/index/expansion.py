"""Prefixes, wildcards and fuzzy terms expanded to a bounded number of the index's words.

Whoosh expands such a term to every word that fits, and finds fuzzy neighbours by an edit
distance computed in Python for every word that shares the first letter: on a large
vocabulary one query could read thousands of posting lists or run for a minute. Here each
expands to its most common matching words (the rest are reported as left out), neighbours
are found by rapidfuzz's compiled edit distance, and every loop watches the deadline."""

from __future__ import annotations

import copy
import heapq
import re
import threading
import weakref
from collections.abc import Iterator

from rapidfuzz import process
from rapidfuzz.distance import OSA
from whoosh import query

from archive.index import bounds
from archive.index.types import QueryError


class _Capped:
    """Mixed into Whoosh's Prefix, Wildcard and FuzzyTerm: `_btexts` (which matching,
    ranking, highlighting and the explain view all expand through) yields the kept words,
    worked out once per reader."""

    text: str
    fieldname: str
    limit: int
    # (words found, words kept) when the expansion was cut; None when all were kept.
    cut: tuple[int, int] | None = None

    def _btexts(self, ixreader) -> Iterator[bytes]:  # noqa: ANN001 - a Whoosh reader
        # A search expands its terms several times (matching, ranking, marking snippets,
        # stand-out words), and the same reader serves request after request until the
        # next commit: the expansion is kept with the reader.
        key = (type(self), self.fieldname, self.text, getattr(self, "maxdist", 0),
               getattr(self, "prefixlength", 0), self.limit)
        with _EXPANDED_LOCK:
            known = _EXPANDED.setdefault(ixreader, {})
            found = known.get(key)
        if found is None:
            found = self._expand(ixreader)
            with _EXPANDED_LOCK:
                if len(known) >= _EXPANSIONS_KEPT:
                    known.clear()
                known[key] = found
        kept, self.cut = found
        return iter(kept)

    def _expand(self, ixreader) -> tuple[list[bytes], tuple[int, int] | None]:  # noqa: ANN001
        found = self._candidates(ixreader)
        if len(found) <= self.limit:
            return sorted(found), None
        kept = heapq.nlargest(self.limit, found, key=lambda word: (
            ixreader.doc_frequency(self.fieldname, word), word))
        return sorted(kept), (len(found), len(kept))

    def _candidates(self, ixreader) -> list[bytes]:  # noqa: ANN001
        raise NotImplementedError

    def typed(self) -> str:
        raise NotImplementedError


# Expansions per open Whoosh reader; forgotten with the reader after a commit, or when this
# many different terms have been expanded through it.
_EXPANSIONS_KEPT = 1000
_EXPANDED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_EXPANDED_LOCK = threading.Lock()


def _scan(ixreader, fieldname: str, prefix: str) -> Iterator[bytes]:  # noqa: ANN001
    for step, word in enumerate(ixreader.expand_prefix(fieldname, prefix)):
        if step % bounds.CHECK_EVERY == 0:
            bounds.check()
            if step >= bounds.WORDS_SCANNED:
                raise QueryError(f"more than {bounds.WORDS_SCANNED:,} words of the archive "
                                 f"start with '{prefix}': add letters to narrow the search")
        yield word


class CappedPrefix(_Capped, query.Prefix):
    limit = bounds.PATTERN_WORDS

    def _candidates(self, ixreader) -> list[bytes]:  # noqa: ANN001
        return list(_scan(ixreader, self.fieldname, self.text))

    def typed(self) -> str:
        return f"{self.text}*"


class CappedWildcard(_Capped, query.Wildcard):
    limit = bounds.PATTERN_WORDS

    def _candidates(self, ixreader) -> list[bytes]:  # noqa: ANN001
        pattern = re.compile(self._get_pattern())
        prefix = self._find_prefix(self.text)
        return [word for word in _scan(ixreader, self.fieldname, prefix)
                if pattern.match(word.decode("utf-8"))]

    def typed(self) -> str:
        return self.text


class CappedFuzzy(_Capped, query.FuzzyTerm):
    limit = bounds.FUZZY_WORDS

    def _candidates(self, ixreader) -> list[bytes]:  # noqa: ANN001
        return [word.encode("utf-8") for word in similar_words(
            ixreader, self.fieldname, self.text, self.maxdist, self.prefixlength)]

    def typed(self) -> str:
        return f"{self.text}~{self.maxdist}"


def similar_words(ixreader, fieldname: str, word: str, maxdist: int,  # noqa: ANN001
                  prefix: int) -> list[str]:
    """Words of the index within `maxdist` edits (transpositions count as one) of `word`
    that share its first `prefix` letters."""
    shortest, longest = len(word) - maxdist, len(word) + maxdist
    near = [text for text in (w.decode("utf-8") for w in _scan(ixreader, fieldname,
                                                                  word[:prefix]))
            if shortest <= len(text) <= longest]
    bounds.check()
    return [text for text, _, _ in process.extract(word, near, scorer=OSA.distance,
                                                     score_cutoff=maxdist, limit=None)]


_CAPPED = {query.Prefix: CappedPrefix, query.Wildcard: CappedWildcard,
           query.FuzzyTerm: CappedFuzzy}


def capped(parsed: query.Query) -> query.Query:
    """The query with every prefix, wildcard and fuzzy term bounded."""

    def bound(node: query.Query) -> query.Query:
        kind = _CAPPED.get(type(node))
        if kind is None:
            return node
        bounded = copy.copy(node)
        bounded.__class__ = kind
        return bounded

    return parsed.accept(bound)


def expand_all(parsed: query.Query, ixreader) -> None:  # noqa: ANN001 - a Whoosh reader
    """Expand every pattern and fuzzy term of the query (kept with the reader), so that each
    knows whether it was cut, even one that matching never reached."""
    for node in _capped_leaves(parsed):
        node._btexts(ixreader)


def cut_notes(parsed: query.Query | None) -> list[str]:
    """A sentence for each pattern or fuzzy term whose expansion was cut (after a search)."""
    notes: dict[str, None] = {}
    for node in _capped_leaves(parsed):
        if node.cut is not None:
            found, kept = node.cut
            narrow = ("allow fewer differences" if isinstance(node, CappedFuzzy)
                      else "add letters before the * or ? to narrow it")
            notes.setdefault(f"'{node.typed()}' matches {found:,} words: only the {kept:,} "
                             f"most common were searched ({narrow})")
    return list(notes)


def _capped_leaves(parsed: query.Query | None) -> Iterator[_Capped]:
    if parsed is None:
        return
    if isinstance(parsed, _Capped):
        yield parsed
    for child in parsed.children():
        yield from _capped_leaves(child)
