"""The search engine inside PostgreSQL (`[search] engine = "postgresql"`): the same interface
as the Whoosh index (SearchIndex), answered with SQL over `articles.search_vector`.

One query language: a query string is parsed by the same Whoosh parser as for the Whoosh
index (searchindex.parse_query, so the same queries are accepted and refused with the same
messages), a second time with analysers that only lower-case, and that tree of words as
typed is translated to SQL: a tsquery (`&`, `|`, `!`, `<->`, `<N>`, `:*`, weights A for the
title, B the byline, D the body) where the parts search the articles' vector, plain SQL for
outlets and dates. PostgreSQL's own analyser (the configuration `archive_english` of
migration 0007) turns the words into its stems, so the query and the vectors always agree.

Nothing is kept in the process: every web worker on any machine sees the same archive, and
every statement runs in a read-only transaction under the request's remaining deadline
(`SET LOCAL statement_timeout`). The vectors are kept by a trigger when articles are written;
`add` records their words in `search_words` (the vocabulary that patterns, fuzzy terms,
suggestions and "more like this" look words up in) and, after `clear` (a rebuild),
recomputes the vectors of what it is given.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import OSA
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError
from whoosh import query
from whoosh.analysis import STOP_WORDS, LowercaseFilter, RegexTokenizer
from whoosh.fields import TEXT, Schema

from archive import phrase_index
from archive.facets import histogram_of_days
from archive.index import bounds
from archive.index.bounds import SearchTimeout
from archive.index.cache import ResultCache
from archive.index.highlight import Highlighter, _stem
from archive.index.parsing import QUERY_FIELDS, _clauses, _day, _is_field_group
from archive.index.results import query_key
from archive.index.schema import _schema
from archive.index.searchindex import SUGGEST_MIN_DOCS, parse_query
from archive.index.types import (
    UNKNOWN_YEAR,
    Clause,
    Explanation,
    IndexDoc,
    QueryError,
    SearchHits,
    SearchRequest,
)

logger = logging.getLogger(__name__)

# The text search configuration of articles.search_vector (migration 0007): English stems,
# stop words kept.
CONFIG = "archive_english"
# Which part of an article's vector each query field searches (setweight in the trigger).
WEIGHTS = {"title": "A", "body": "D", "byline": "B"}
# A proximity search ("a b c"~5) becomes one exact form per combination of gaps; more
# forms than this are refused (PostgreSQL's <N> means exactly N apart).
MAX_PROXIMITY_FORMS = 1000
# Words of an article that "more like this" searches for.
MORE_LIKE_WORDS = 12
# Errors of a statement that say something about the query rather than the server: data
# exceptions (22), syntax (42), program limits (54); 57014 is a cancelled statement.
_QUERY_STATES = ("22", "42", "54")
_CANCELLED = "57014"
# How deep a search's order is read and kept for later pages: the first two pages of 10,
# then 20 pages and the 200 best that stand-out words read (SIGNIFICANT_SAMPLE in
# archive.search). A deeper page is ranked again each time.
RANK_DEPTHS = (20, 200)
# Matches beyond which only those with a query word in the title, and this many of the
# longest others, are ranked: ts_rank reads each ranked match's vector, about 4 us apiece.
RANK_ALL = 1000
# The parts of the articles' vector that have an index of their own (migration 0010): the
# default title and body, and the title. Matched there without weights, a tsquery of words
# is answered by the index alone; on the whole vector PostgreSQL must read each candidate's
# vector to check the weights. The expressions are the indexes' own, to the letter.
PARTS = {"AD": "ts_filter(a.search_vector, '{a,d}')", "A": "ts_filter(a.search_vector, '{a}')"}
# A phrase of words in one part, one right after another: ('would':D <1> 'be':D).
_PHRASE_CHAIN = re.compile(r"\(?'(?:[^'\\]|''|\\.)+':(?P<weight>[AD])"
                           r"(?: <(?:-|1)> '(?:[^'\\]|''|\\.)+':(?P=weight))+\)?")
# A lexeme of a tsquery's text with what follows it: a prefix mark and the weights, or a
# phrase operator (<-> or <N>); quoted lexemes are read whole, quotes doubled inside.
_ITEM = re.compile(r"('(?:[^']|'')*')(?::(\*?)([A-D]*))?|(<(?:-|\d+)>)")
# One word of the articles' vector in some of its parts: 'harbour':AD.
_WEIGHTED_WORD = re.compile(r"^('(?:[^']|'')+':\*?)([A-D]+)$")


def _surface_schema() -> Schema:
    """The Whoosh schema with text fields that only lower-case: the parsed tree then holds
    the words as typed, for PostgreSQL's analyser."""
    schema = _schema()
    for name in ("title", "body"):
        schema.remove(name)
        schema.add(name, TEXT(analyzer=RegexTokenizer() | LowercaseFilter()))
    return schema


_SURFACE = _surface_schema()


# --- translation of a parsed query to SQL ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Ts:
    """A tsquery over the articles' vectors ("article") or the outlets' names ("outlet")."""

    text: str
    target: str


@dataclass(frozen=True, slots=True)
class _Sql:
    """A condition on the row `a` of articles."""

    text: str


_TRUE, _FALSE = _Sql("TRUE"), _Sql("FALSE")
_Part = _Ts | _Sql


def _quote(lexeme: str) -> str:
    """A lexeme as a tsquery literal."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def _unquote(literal: str) -> str:
    """The lexeme of a tsquery literal."""
    return re.sub(r"\\(.)|''", lambda m: m.group(1) or "'", literal[1:-1])


class _Translation:
    """One query's SQL: the condition, its bind parameters, the tsquery to rank by, the
    notes on what patterns left out, and the words each pattern searched."""

    def __init__(self, reading: _Reading) -> None:
        self._reading = reading
        self.params: dict[str, Any] = {}
        self.ranked: list[str] = []
        self.notes: dict[str, None] = {}
        self.expansions: dict[tuple[str, str, int], tuple[str, ...]] = {}
        self.lexemes: dict[str, list[str]] = {}
        # Whether a condition reads each candidate's vector (a phrase, weights over parts
        # that have no index of their own): then the matches are best gathered only once.
        self.reads_vectors = False

    def param(self, value: object) -> str:
        name = f"q{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def condition(self, node: query.Query) -> str:
        self.lexemes.update(self._reading.lexemes(
            w for w in _words(node) if w not in self.lexemes))
        return self.sql(self._part(node, negated=False))

    def sql(self, part: _Part) -> str:
        if isinstance(part, _Sql):
            return part.text
        if part.target == "article":
            vector, tsquery = _narrowed(part.text)
            if vector not in PARTS.values() and (paired := self._by_pairs(tsquery)):
                return paired
            self.reads_vectors |= vector not in PARTS.values()
            return f"{vector} @@ CAST({self.param(tsquery)} AS tsquery)"
        return (f"coalesce(a.outlet_id IN (SELECT id FROM outlets WHERE to_tsvector('simple', "
                f"name) @@ CAST({self.param(part.text)} AS tsquery)), FALSE)")

    def _by_pairs(self, tsquery: str) -> str | None:
        """A phrase in the title or the body whose every two neighbours include a function
        word, found in the index of such pairs (migration 0012): two words from the index
        alone, more narrowed by it before their vectors are read."""
        forms = tsquery.split(" | ")
        if len(forms) != 2:  # the phrase in the title | in the body, nothing else
            return None
        chains: dict[str, list[str]] = {}
        for form in forms:
            chain = _PHRASE_CHAIN.fullmatch(form)
            if chain is None:
                return None
            chains[chain["weight"]] = [_unquote(m.group(1)) for m in _ITEM.finditer(form)
                                       if m.group(1)]
        if set(chains) != {"A", "D"} or chains["A"] != chains["D"]:
            return None
        lexemes = chains["D"]
        pairs = [f"{first} {second}" for first, second in zip(lexemes, lexemes[1:],
                                                              strict=False)]
        if not set(pairs) <= self._reading.phrase_pairs(lexemes):
            return None
        found = f"archive_phrase_pairs(a.search_vector) @> CAST({self.param(pairs)} AS text[])"
        if len(pairs) == 1:
            return found
        self.reads_vectors = True
        return f"({found} AND a.search_vector @@ CAST({self.param(tsquery)} AS tsquery))"

    def rank_query(self) -> str | None:
        """The tsquery the matches are ranked by (ts_rank): the positive parts."""
        return " | ".join(f"({t})" for t in _merge_weights(list(dict.fromkeys(self.ranked)))
                          ) or None

    def _part(self, node: query.Query, negated: bool) -> _Part:
        if isinstance(node, query.And | query.Or):
            children = [self._part(child, negated) for child in node.children()]
            return self._combine(children, "&" if isinstance(node, query.And) else "|")
        if isinstance(node, query.Not):
            return _negated(self._part(node.query, not negated))
        if isinstance(node, query.AndNot):
            return self._combine([self._part(node.a, negated),
                                  _negated(self._part(node.b, not negated))], "&")
        if isinstance(node, query.AndMaybe):
            return self._part(node.a, negated)  # the optional part only ranks, in Whoosh
        if isinstance(node, query.Every):
            return _TRUE
        if isinstance(node, query.NumericRange) and node.fieldname == "date":
            return self._dates(node)
        if node is query.NullQuery or isinstance(node, type(query.NullQuery)):
            return _FALSE
        fieldname = getattr(node, "fieldname", None)
        if fieldname == "outlet_text":
            return self._outlet(node)
        weight = WEIGHTS.get(fieldname or "")
        if weight is None:
            raise QueryError(f"'{node}' cannot be searched by the PostgreSQL search engine")
        tsquery = self._article(node, weight)
        if tsquery is None:
            return _FALSE
        if not negated:
            self.ranked.append(tsquery)
        return _Ts(tsquery, "article")

    def _combine(self, parts: list[_Part], operator: str) -> _Part:
        absorbing, neutral = (_FALSE, _TRUE) if operator == "&" else (_TRUE, _FALSE)
        if absorbing in parts:
            return absorbing
        parts = [p for p in parts if p != neutral]
        if not parts:
            return neutral
        merged: list[_Part] = []
        for target in ("article", "outlet"):
            texts = [p.text for p in parts if isinstance(p, _Ts) and p.target == target]
            if operator == "|":
                texts = _merge_weights(texts)
            if texts:
                merged.append(_Ts(f" {operator} ".join(f"({t})" for t in texts), target))
        merged += [p for p in parts if isinstance(p, _Sql)]
        if len(merged) == 1:
            return merged[0]
        joiner = " AND " if operator == "&" else " OR "
        return _Sql("(" + joiner.join(self.sql(p) for p in merged) + ")")

    def _dates(self, node: query.NumericRange) -> _Part:
        try:
            start = _date_of(node.start or 1, dt.date.min)
            end = _date_of(node.end or 99991231, dt.date.max)
        except ValueError:
            raise QueryError(f"'{_day(node.start)} to {_day(node.end)}' is not a date range: "
                             "write date:[2022-03-01 TO 2022-03-31]") from None
        # Undated articles are outside every range, and inside its negation.
        return _Sql(f"coalesce(a.published_date BETWEEN {self.param(start)} AND "
                    f"{self.param(end)}, FALSE)")

    def _article(self, node: query.Query, weight: str) -> str | None:
        """The tsquery of one word, phrase or pattern in one part of the articles, or None
        when it cannot match anything."""
        if isinstance(node, query.Phrase):
            return self._phrase([self.lexemes.get(w, []) for w in node.words], node.slop,
                                weight)
        if isinstance(node, query.Prefix):
            return f"{_quote(node.text)}:*{weight}"
        if isinstance(node, query.Wildcard | query.FuzzyTerm):
            words = self._expanded(node)
            return " | ".join(f"{_quote(w)}:{weight}" for w in words) or None
        if isinstance(node, query.Term):
            lexemes = self.lexemes.get(node.text, [])
            return " <-> ".join(f"{_quote(w)}:{weight}" for w in lexemes) or None
        raise QueryError(f"'{node}' cannot be searched by the PostgreSQL search engine")

    def _phrase(self, words: list[list[str]], slop: int, weight: str) -> str | None:
        """Words one after another, each next one 1..slop positions after the last (as the
        Whoosh index matches them): one exact form per combination of gaps."""
        forms: list[str] = []
        skipped = 0  # words PostgreSQL's analyser keeps nothing of still take a position
        for lexemes in words:
            if not lexemes:
                skipped += 1
                continue
            word = " <-> ".join(_quote(w) + (f":{weight}" if weight else "") for w in lexemes)
            if not forms:
                forms = [word]
                skipped = 0
                continue
            gaps = range(1 + skipped, slop + skipped + 1)
            if len(forms) * len(gaps) > MAX_PROXIMITY_FORMS:
                raise QueryError(f"a proximity search of {len(words)} words within {slop} is "
                                 "too wide for the PostgreSQL search engine: use fewer words "
                                 "or a smaller distance")
            forms = [f"{form} <{gap}> {word}" for form in forms for gap in gaps]
            skipped = 0
        if not forms:
            return None
        return " | ".join(f"({form})" for form in forms) if len(forms) > 1 else forms[0]

    def _outlet(self, node: query.Query) -> _Part:
        """outlet: words, phrases and patterns, on the outlets' names as written (the Whoosh
        index analyses them the same way: lower case, no stems)."""
        if isinstance(node, query.Phrase):
            forms = self._phrase([[w] for w in node.words], node.slop, "")
            return _Ts(forms, "outlet") if forms else _FALSE
        if isinstance(node, query.Prefix):
            return _Ts(f"{_quote(node.text)}:*", "outlet")
        if isinstance(node, query.Wildcard):
            pattern = "".join("\\w*" if c == "*" else "\\w" if c == "?" else re.escape(c)
                              for c in node.text)
            regex = self.param("\\m" + pattern + "\\M")  # a word of the name
            return _Sql(f"coalesce(a.outlet_id IN (SELECT id FROM outlets WHERE lower(name) ~ "
                        f"{regex}), FALSE)")
        if isinstance(node, query.FuzzyTerm):
            raise QueryError(f"'outlet:{node.text}~': the PostgreSQL search engine does not "
                             "search outlet names with spelling variants; write the name")
        if isinstance(node, query.Term):
            return _Ts(_quote(node.text), "outlet")
        raise QueryError(f"'{node}' cannot be searched by the PostgreSQL search engine")

    def _expanded(self, node: query.Wildcard | query.FuzzyTerm) -> tuple[str, ...]:
        """The vocabulary's words a wildcard or fuzzy term stands for, its most common."""
        fuzzy = isinstance(node, query.FuzzyTerm)
        key = ("fuzzy" if fuzzy else "wildcard", node.text,
               node.maxdist if isinstance(node, query.FuzzyTerm) else 0)
        if key not in self.expansions:
            if isinstance(node, query.FuzzyTerm):
                found = self._reading.similar(node.text, node.maxdist, node.prefixlength)
                cap, typed = bounds.FUZZY_WORDS, f"{node.text}~{node.maxdist}"
                narrow = "allow fewer differences"
            else:
                found = self._reading.matching(node.text)
                cap, typed = bounds.PATTERN_WORDS, node.text
                narrow = "add letters before the * or ? to narrow it"
            if len(found) > cap:
                self.notes.setdefault(f"'{typed}' matches {len(found):,} words: only the "
                                      f"{cap:,} most common were searched ({narrow})")
            self.expansions[key] = tuple(found[:cap])
        return self.expansions[key]


def _narrowed(tsquery: str) -> tuple[str, str]:
    """Where a tsquery of the articles is best matched, and how: on an indexed part of the
    vector without weights when every word searches that part (a phrase only in the title:
    the default title and body are one run of positions, where a phrase could straddle
    them), else on the whole vector as it is."""
    weights = {m.group(3) or "" for m in _ITEM.finditer(tsquery) if m.group(1)}
    phrase = any(m.group(4) for m in _ITEM.finditer(tsquery))
    if len(weights) != 1 or (part := weights.pop()) not in PARTS or (phrase and part != "A"):
        return "a.search_vector", tsquery
    return PARTS[part], _ITEM.sub(lambda m: m.group(4) or m.group(1) + (":*" if m.group(2)
                                                                        else ""), tsquery)


def _title_words(tsquery: str) -> str | None:
    """Any of a tsquery's words (prefixes kept), to find the articles whose title holds one."""
    words = dict.fromkeys(m.group(1) + (":*" if m.group(2) else "")
                          for m in _ITEM.finditer(tsquery) if m.group(1))
    return " | ".join(words) or None


def _merge_weights(texts: list[str]) -> list[str]:
    """Alternatives that search one word in several parts as one item ('a':A | 'a':D is
    'a':AD): the same matches, and the index looks the word up once, not once per part."""
    merged: dict[str, str] = {}
    weights: dict[str, set[str]] = {}
    for text_ in texts:
        found = _WEIGHTED_WORD.match(text_)
        if found is None:
            merged[text_] = text_
            continue
        word = found.group(1)  # with its colon, and a prefix's star
        if word not in weights:
            weights[word] = set()
            merged[word] = ""
        weights[word].update(found.group(2))
    return [f"{key}{''.join(sorted(weights[key]))}" if key in weights else text_
            for key, text_ in merged.items()]


def _negated(part: _Part) -> _Part:
    if part == _TRUE:
        return _FALSE
    if part == _FALSE:
        return _TRUE
    if isinstance(part, _Ts):
        return _Ts(f"!({part.text})", part.target)
    return _Sql(f"NOT {part.text}")


def _words(node: query.Query) -> Iterator[str]:
    """The words of a parsed tree that PostgreSQL's analyser must turn into stems."""
    if getattr(node, "fieldname", None) in WEIGHTS:
        if isinstance(node, query.Phrase):
            yield from node.words
        elif type(node) is query.Term:
            yield node.text
    for child in node.children():
        yield from _words(child)


def _date_of(value: int, default: dt.date) -> dt.date:
    if value <= 1:
        return dt.date.min
    if value >= 99991231:
        return default
    return dt.date(value // 10000, value // 100 % 100, value % 100)


def _bump(connection: Connection) -> None:
    """Move the archive's generation on (the vocabulary changed: wildcards and fuzzy terms
    may now find other words). The last statement of its transaction, so the counter's row
    is locked only until the commit that follows."""
    connection.execute(text("UPDATE search_state SET generation = generation + 1"))


# --- reading ---------------------------------------------------------------------------------


class _Reading:
    """One request's read-only transaction, each statement under what is left of its
    deadline."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
        left = bounds.remaining()
        if left is not None:
            bounds.check()
            # Milliseconds; SET cannot take a bind parameter, and this is a number.
            self.connection.exec_driver_sql(
                f"SET LOCAL statement_timeout = {max(1, math.ceil(left * 1000))}")
        return list(self.connection.execute(text(sql), params or {}))

    def generation(self) -> int:
        """The archive's generation (search_state, migration 0010): it moves on with every
        commit that changes what a search reads. Read before anything else, so what this
        transaction reads is never older than the generation it is kept under."""
        return int(self.scalar("SELECT generation FROM search_state"))

    def scalar(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        rows = self.rows(sql, params)
        return rows[0][0] if rows else None

    def lexemes(self, words: Iterable[str]) -> dict[str, list[str]]:
        """PostgreSQL's stems of each word (a word its parser splits has several)."""
        wanted = list(dict.fromkeys(words))
        if not wanted:
            return {}
        rows = self.rows(
            "SELECT t.w, ARRAY(SELECT v.lexeme FROM unnest(to_tsvector("
            f"'{CONFIG}', t.w)) AS v ORDER BY v.positions[1]) "
            "FROM unnest(CAST(:words AS text[])) AS t(w)", {"words": wanted})
        return {word: list(found) for word, found in rows}

    def phrase_pairs(self, lexemes: list[str]) -> set[str]:
        """Which neighbours of these lexemes, one after another, the index of pairs holds;
        none when the index is not there to use (dropped by the archive's owner for a faster
        ingest, held back by a bulk ingest, or still being built)."""
        vector = " ".join(f"{_quote(lexeme)}:{at}" for at, lexeme in enumerate(lexemes, 1))
        return set(self.scalar(
            f"SELECT archive_phrase_pairs(CAST(:vector AS tsvector)) WHERE ({phrase_index.USABLE})",
            {"vector": vector}) or ())

    def matching(self, pattern: str) -> list[str]:
        """The vocabulary's words matching a wildcard pattern, most common first."""
        like = "".join("%" if c == "*" else "_" if c == "?" else
                       ("\\" + c if c in "%_\\" else c) for c in pattern)
        rows = self.rows("SELECT word FROM search_words WHERE word LIKE :like "
                         "ORDER BY articles DESC, word LIMIT :most",
                         {"like": like, "most": bounds.WORDS_SCANNED})
        return [word for (word,) in rows]

    def similar(self, word: str, maxdist: int, prefix: int) -> list[str]:
        """The vocabulary's words within `maxdist` edits of `word` (sharing its first
        `prefix` letters), most common first."""
        start = word[:prefix].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self.rows(
            "SELECT word FROM search_words WHERE word LIKE :start AND length(word) BETWEEN "
            ":shortest AND :longest ORDER BY articles DESC, word LIMIT :most",
            {"start": start + "%", "shortest": len(word) - maxdist,
             "longest": len(word) + maxdist, "most": bounds.WORDS_SCANNED})
        near = [w for (w,) in rows]
        bounds.check()
        close = {text for text, _, _ in process.extract(word, near, scorer=OSA.distance,
                                                        score_cutoff=maxdist, limit=None)}
        return [w for w in near if w in close]

    def frequencies(self, words: Iterable[str]) -> dict[str, int]:
        rows = self.rows("SELECT word, articles FROM search_words WHERE word = ANY(:words)",
                         {"words": list(words)})
        return {word: n for word, n in rows}


@dataclass(frozen=True, slots=True)
class _Answer:
    """What one search statement found: kept per generation for paging and asking again."""

    total: int
    ranked: tuple[int, ...]  # the first of the order (all of it when there are few)
    outlets: tuple[tuple[str, int], ...]
    years: tuple[tuple[int, int], ...]
    months: tuple[tuple[int, int], ...]
    languages: tuple[tuple[str, int], ...]
    days: tuple[tuple[str, int], ...]  # (YYYY-MM-DD or '' for undated, n) for the chart
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Facet:
    """A facet: where its filter stands in a search's key (see search), the fields of an
    answer that hold its counts, and the flag its filter sets on each counted match."""

    filters: tuple[int, ...]
    fields: tuple[str, ...]
    flag: str


_FACETS = {"outlets": _Facet((3,), ("outlets",), "o_ok"),
           "languages": _Facet((4,), ("languages",), "l_ok"),
           "periods": _Facet((5, 6), ("years", "months"), "d_ok")}


def _facet_of(answer: _Answer, facet: str) -> tuple[Any, ...]:
    return tuple(getattr(answer, name) for name in _FACETS[facet].fields)


@dataclass(slots=True)
class _Parsed:
    """A query as the user sees it (stems, Whoosh's notation) and as it is translated."""

    shown: query.Query
    surface: query.Query


class PostgresIndex:
    """The search engine inside an archive's PostgreSQL database."""

    # add() needs only the articles' ids: the vectors are the database's own.
    reads_documents = False

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Seconds one search may take; the owner of the archive sets it from its settings.
        self.deadline_seconds: float | None = bounds.DEFAULT_DEADLINE_SECONDS
        # Results kept between requests, per generation of the archive (search_state).
        self.results = ResultCache()
        # After clear(): add() recomputes the vectors it is given (a rebuild).
        self._refresh = False

    @contextmanager
    def _reading(self) -> Iterator[_Reading]:
        with bounds.deadline(self.deadline_seconds):
            try:
                with self.engine.connect() as connection, connection.begin():
                    connection.exec_driver_sql("SET TRANSACTION READ ONLY")
                    yield _Reading(connection)
            except DBAPIError as exc:
                raise _query_error(exc) from None

    # --- writing -------------------------------------------------------------------------

    def add(self, docs: Sequence[IndexDoc], *, replace: bool = False) -> int:
        """Record the words of these (stored) articles in the vocabulary; after clear(), also
        recompute their vectors. The vectors themselves are kept by the database's trigger.
        With replace, an article indexed before counts twice: the counts are an upper bound
        until `archive reindex`."""
        ids = sorted({doc.id for doc in docs})
        if not ids:
            return 0
        with self.engine.begin() as connection:
            if self._refresh:
                connection.execute(text("UPDATE articles SET title = title WHERE id = ANY(:ids)"),
                                   {"ids": ids})
            self.record_words(connection, ids)
        return len(docs)

    @staticmethod
    def record_words(connection: Connection, ids: Sequence[int]) -> None:
        """Add these stored articles' words to the vocabulary, in the caller's transaction."""
        if not ids:
            return
        # ts_stat takes the text of a query; these are integers.
        listed = ",".join(str(int(i)) for i in ids)
        connection.execute(text(
            "INSERT INTO search_words (word, articles) SELECT word, ndoc FROM ts_stat("
            ":vectors) ON CONFLICT (word) DO UPDATE SET articles = search_words.articles "
            "+ excluded.articles"),
            {"vectors": f"SELECT search_vector FROM articles WHERE id IN ({listed})"})
        _bump(connection)

    def delete(self, ids: Iterable[int]) -> None:
        """Nothing to do: an article deleted from the database is gone from its searches."""

    def clear(self) -> None:
        """Empty the vocabulary for a rebuild, whose add() calls recompute the vectors."""
        with self.engine.begin() as connection:
            connection.execute(text("DELETE FROM search_words"))
            _bump(connection)
        self._refresh = True

    def merge_segments(self, *, everything: bool = False) -> int:
        """Nothing to merge (the database tidies its own indexes): no segments. A rebuild
        ends here, so later add() calls leave the vectors to the trigger again."""
        self._refresh = False
        return 0

    def segment_count(self) -> int:
        return 0

    def is_current(self) -> bool:
        """Whether the vocabulary was built (an archive switched to this engine needs a
        rebuild: `archive reindex`, or any writing command does it)."""
        with self.engine.connect() as connection:
            return bool(connection.execute(text(
                "SELECT EXISTS (SELECT 1 FROM search_words) "
                "OR NOT EXISTS (SELECT 1 FROM articles)")).scalar())

    # --- reading -------------------------------------------------------------------------

    def ids(self) -> set[int]:
        with self._reading() as reading:
            return {i for (i,) in reading.rows(
                "SELECT id FROM articles WHERE search_vector IS NOT NULL")}

    def doc_count(self) -> int:
        with self._reading() as reading:
            return int(reading.scalar("SELECT count(*) FROM articles"))

    def parse(self, text: str) -> query.Query | None:
        """The query for a user's search string (in Whoosh's notation, stems and all, as
        the explain view shows it); None means "everything"."""
        return parse_query(text)

    def _parsed(self, text: str) -> _Parsed | None:
        shown = parse_query(text)
        if shown is None:
            return None
        surface = parse_query(text, _SURFACE)
        assert surface is not None  # the same tree, with words as typed
        return _Parsed(shown, surface)

    def search(self, request: SearchRequest, *, remember: bool = True) -> SearchHits:
        """Matching ids for one page, the total, facet counts and (if asked) a histogram.

        The total, the counts and the first RANK_DEPTHS of the order come from one read-only
        transaction and are kept in the process for the archive's generation (search_state),
        so paging and asking again cost one small read; with remember=False (an export,
        which reads every match once) what is kept is used but nothing new is kept."""
        parsed = self._parsed(request.text)
        # Keyed by the words as typed (PostgreSQL stems them): two words that share a
        # Whoosh stem may not share PostgreSQL's.
        key = b"" if parsed is None else query_key(parsed.surface)
        sort = request.sort
        if sort == "relevance" and parsed is None:
            sort = "newest"  # without words there is nothing to rank by relevance
        end = request.offset + request.limit
        piece = ("pg search", key,
                 request.one_per_story, tuple(sorted(set(request.outlets))),
                 tuple(sorted(set(request.languages))), request.date_from, request.date_to,
                 sort, request.histogram)
        with self._reading() as reading:
            generation = reading.generation()

            # Each facet is counted ignoring its own filter: its counts are the same for
            # this search with any value of that filter chosen, or none. A click on a
            # facet then counts the rest over the chosen value's matches only.
            facet_pieces = {name: (f"pg {name}", *piece[1:3], *(
                value for position, value in enumerate(piece[3:7], 3)
                if position not in facet.filters)) for name, facet in _FACETS.items()}
            known = {} if piece[1] is None else {
                name: kept for name, at in facet_pieces.items()
                if any(piece[i] for i in _FACETS[name].filters)
                and (kept := self.results.peek(generation, at)) is not None}

            def compute(ranks: int) -> Callable[[], _Answer]:
                return lambda: self._answer(reading, parsed, request, sort, ranks, known)

            depth = next((depth for depth in RANK_DEPTHS if end <= depth), None)
            kept = None
            for shallower in RANK_DEPTHS:  # all of a short order is in the first one kept
                kept = self.results.peek(generation, (*piece, shallower))
                if isinstance(kept, _Answer) and (len(kept.ranked) >= end
                                                  or len(kept.ranked) == kept.total):
                    break
                kept = None
            if kept is not None:
                answer = kept
            elif piece[1] is None or depth is None:  # not kept: cannot be told apart safely,
                answer = compute(end)()              # or deeper than what is kept
            else:
                answer = self.results.get(generation, (*piece, depth), compute(depth),
                                          remember=remember)
            if piece[1] is not None:
                for facet, at in facet_pieces.items():
                    if facet not in known:
                        self.results.get(generation, at, partial(_facet_of, answer, facet),
                                         remember=remember)
            hits = SearchHits(
                total=answer.total,
                ids=list(answer.ranked[request.offset:end]),
                outlet_counts=list(answer.outlets),
                year_counts=list(answer.years),
                month_counts=list(answer.months),
                language_counts=list(answer.languages),
                notes=list(answer.notes),
            )
            if request.histogram:
                per_day = {dt.date.fromisoformat(d): n for d, n in answer.days if d}
                undated = sum(n for d, n in answer.days if not d)
                hits.histogram = histogram_of_days(
                    per_day, undated, lambda first, last: self._days(
                        reading, generation, first, last, request.one_per_story),
                    request.date_from, request.date_to)
        return hits

    def _answer(self, reading: _Reading, parsed: _Parsed | None, request: SearchRequest,
                sort: str, ranks: int,
                known: dict[str, Any] | None = None) -> _Answer:
        """The total, the facet counts (and the counts per day for the chart) and the first
        `ranks` ids of the order.

        The matches of words (not phrases) are read without their vectors, from the index
        of the part of the vector they search (PARTS), so each match costs a look at its
        row's narrow columns. The counts are one pass over the matches (grouping sets, each
        facet ignoring its own filter); the order is found apart, with the filters applied
        where the indexes can use them. The order by relevance is ts_rank's, ties by id,
        over the matches or, past RANK_ALL, the titled and longest; by date, from the
        matches' dates. When the matches' vectors must be read anyway (phrases outside the
        index of pairs) and in story mode (each story's first copy among the matches), the
        matches are gathered once and both are worked out from them. `known` facets'
        counts, kept from this search with another value of their filter, are not counted
        again: only the matches their filters let through are read for the other counts."""
        translation = _Translation(reading)
        match = "TRUE" if parsed is None else translation.condition(parsed.surface)
        # The order by relevance ranks by the query's words; without any, it is by id.
        rank = translation.rank_query() if parsed is not None and sort == "relevance" else None
        params = translation.params
        params.update(outlets=list(request.outlets), languages=list(request.languages),
                      date_from=request.date_from, date_to=request.date_to, ranks=ranks,
                      rank_all=RANK_ALL)
        # Outlets by id (names are unique): the matches are counted without joining outlets.
        outlet_in = ("(a.outlet_id IN (SELECT id FROM outlets WHERE name = ANY(:outlets))"
                     " OR (a.outlet_id IS NULL AND '' = ANY(:outlets)))")
        language_in = "coalesce(a.language, '') = ANY(:languages)"
        dates = (["a.published_date >= :date_from"] if request.date_from else []) + \
            (["a.published_date <= :date_to"] if request.date_to else [])
        filters = [outlet_in] * bool(request.outlets) + [language_in] * bool(request.languages) \
            + [" AND ".join(dates)] * bool(dates)
        # As columns, for the counts: NULL (an undated article, a date range) is "no".
        flags = {"o_ok": f"coalesce({outlet_in}, FALSE)" if request.outlets else "TRUE",
                 "l_ok": language_in if request.languages else "TRUE",
                 "d_ok": f"coalesce({' AND '.join(dates)}, FALSE)" if dates else "TRUE"}
        # Days for the chart, else months (years and months are added up from them); a
        # date's month without a time zone, which would make each date a timestamp in one.
        period = ("a.published_date" if request.histogram else
                  "CAST(date_trunc('month', CAST(a.published_date AS timestamp)) AS date)")
        if rank is not None:
            params.update(by_rank=rank, titled=_title_words(rank))
        # The planner misjudges how many articles a weighted or phrase tsquery matches and
        # would read every article's vector in a sequential scan instead of an index. The
        # same statement's best plan depends on how common its words are, so no plan is
        # reused for other words (the driver prepares a statement run a few times, and
        # PostgreSQL would then settle on one plan for all). And it would compile these
        # short statements to machine code anew each time (~20 ms).
        for setting in ("enable_seqscan = off", "plan_cache_mode = force_custom_plan",
                        "jit = off"):
            reading.connection.exec_driver_sql(f"SET LOCAL {setting}")
        if request.one_per_story or translation.reads_vectors:
            known = None  # gathered for every count anyway
            rows = _gathered_rows(reading, params, match, flags, period, sort, rank,
                                  stories=request.one_per_story)
        else:
            # A known facet's filter narrows the rows counted, in its flag's form: as a
            # plain condition the planner would find the rows by its index (a year's
            # articles) and read each one's vector to see whether it matches.
            counted = [match]
            for name in known or ():
                flag = _FACETS[name].flag
                counted.append(flags[flag])
                flags[flag] = "TRUE"
            columns = ", ".join(f"{value} AS {name}" for name, value in flags.items())
            rows = reading.rows(_counts(
                f"(SELECT a.outlet_id AS outlet, {period} AS period, coalesce(a.language, '') "
                f"AS language, {columns} FROM articles a WHERE {' AND '.join(counted)})"),
                params)
            where = " AND ".join([match, *filters])
            every = f"SELECT a.id FROM articles a WHERE {where}"
            if rank is None:
                order = _ORDERS[sort].format(day="a.published_date", id="a.id")
                page = f"{every} ORDER BY {order} LIMIT :ranks"
            else:
                # A word in the title is in the title and body: no need to read the vector
                # of each titled article (the planner would) to see whether it matches.
                titled = every if not _title_implies(match, params) else \
                    f"SELECT a.id FROM articles a WHERE {' AND '.join(filters) or 'TRUE'}"
                page = _ranked_page(f"{titled} AND {PARTS['A']} @@ CAST(:titled AS tsquery)",
                                    f"{every} ORDER BY a.word_count DESC, a.id LIMIT :rank_all",
                                    every, titled_first=_titled_first(rank))
            rows += [(-1, None, None, None, n, None, None, None, hit)
                     for n, (hit,) in enumerate(reading.rows(page, params), 1)]
        reading.connection.exec_driver_sql("SET LOCAL enable_seqscan = on")
        answer = _answer_of(rows, request.histogram, tuple(translation.notes))
        for facet, counts in (known or {}).items():
            answer = replace(answer, **dict(zip(_FACETS[facet].fields, counts, strict=True)))
        return answer

    def _days(self, reading: _Reading, generation: int, first: dt.date, last: dt.date,
              stories: bool) -> dict[dt.date, int]:
        """Articles (or stories, by their first copy) of the whole archive per day; kept
        for the generation (every chart of a search over the same dates asks for them)."""
        def count() -> tuple[tuple[dt.date, int], ...]:
            source = ("(SELECT DISTINCT ON (coalesce(story_id, id)) published_date FROM "
                      "articles ORDER BY coalesce(story_id, id), published_date ASC NULLS "
                      "LAST, id) AS a" if stories else "articles AS a")
            rows = reading.rows(f"SELECT a.published_date, count(*) FROM {source} WHERE "
                                "a.published_date BETWEEN :first AND :last GROUP BY 1",
                                {"first": first, "last": last})
            return tuple((day, int(n)) for day, n in rows)

        return dict(self.results.get(generation, ("pg days", first, last, stories), count))

    def explain(self, text: str) -> Explanation:
        """How a query was understood: each clause, what it looks up, how many it matches."""
        parsed = self._parsed(text)
        with self._reading() as reading:
            if parsed is None:
                count = int(reading.scalar("SELECT count(*) FROM articles"))
                return Explanation("everything", [Clause("all", "", text or "*", "*", count)],
                                   count)
            translation = _Translation(reading)
            typed = _typed(text)
            clauses = []
            # Counted from an index, not from every article's vector (see _answer).
            reading.connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            for (shown, negated), (surface, _) in zip(_clauses(parsed.shown),
                                                      _clauses(parsed.surface), strict=True):
                condition = translation.condition(surface)
                matches = int(reading.scalar(
                    f"SELECT count(*) FROM articles a WHERE {condition}", translation.params))
                clauses.append(_clause(shown, surface, negated, typed, matches, translation))
            total = int(reading.scalar(
                f"SELECT count(*) FROM articles a WHERE {translation.condition(parsed.surface)}",
                translation.params))
            return Explanation(str(parsed.shown), clauses, total, list(translation.notes))

    def highlighter(self, text_query: str) -> Highlighter:
        """What marks the query's words in texts. The Highlighter matches Porter stems (as
        the Whoosh index does): words and phrases are marked by their Whoosh stems, patterns
        and fuzzy terms by the words PostgreSQL found for them."""
        terms: dict[str, set[str]] = {}
        parsed = self._parsed(text_query)
        if parsed is not None:
            expanded: dict[tuple[str, str, int], tuple[str, ...]] = {}
            if any(isinstance(n, query.Wildcard | query.FuzzyTerm)
                   for n in _every(parsed.surface)):
                with self._reading() as reading:
                    translation = _Translation(reading)
                    translation.condition(parsed.surface)
                    expanded = translation.expansions
            for node, negated in _clauses(parsed.shown):
                if negated:
                    continue
                for leaf in _every(node):
                    fieldname = getattr(leaf, "fieldname", "")
                    wanted = terms.setdefault(fieldname, set())
                    if isinstance(leaf, query.Phrase):
                        wanted.update(leaf.words)
                    elif isinstance(leaf, query.Wildcard | query.FuzzyTerm):
                        for words in (v for k, v in expanded.items() if k[1] == leaf.text):
                            wanted.update(words)
                            wanted.update(_stem(w) for w in words)
                    elif isinstance(leaf, query.Term):
                        wanted.add(leaf.text)
        # A prefix marks every word that starts with it, as PostgreSQL matches it.
        return Highlighter({name: frozenset(found) for name, found in terms.items()},
                           _prefixes(parsed))

    def more_like(self, article_id: int, body: str, *, limit: int = 5) -> list[int]:
        """Ids of articles most like this one (its own story's copies left out): its words
        that are most particular to it (count in it times rarity in the archive), searched
        with any of them and ranked."""
        with self._reading() as reading:
            rows = reading.rows(
                "SELECT v.lexeme, coalesce(array_length(v.positions, 1), 1), w.articles "
                "FROM articles a, unnest(a.search_vector) AS v "
                "JOIN search_words w ON w.word = v.lexeme WHERE a.id = :id",
                {"id": article_id})
            if not rows:
                return []
            size = max(int(reading.scalar("SELECT count(*) FROM articles")), 1)
            scored = sorted(((count * math.log(size / max(df, 1)), lexeme)
                             for lexeme, count, df in rows
                             if len(lexeme) > 2 and not lexeme.isdigit() and df > 1),
                            reverse=True)[:MORE_LIKE_WORDS]
            if not scored:
                return []
            terms = " | ".join(_quote(lexeme) for _, lexeme in scored)
            # Ranked among the articles with one of the words in the title when there are
            # enough (ts_rank reads each one's vector, and these words match most of the
            # archive), else among all.
            found: list[Any] = []
            for where in (f"{PARTS['A']} @@ q", "a.search_vector @@ q"):
                found = reading.rows(
                    "SELECT a.id FROM articles a, articles own, CAST(:q AS tsquery) AS q "
                    f"WHERE own.id = :id AND {where} "
                    "AND coalesce(a.story_id, a.id) <> coalesce(own.story_id, own.id) "
                    "ORDER BY ts_rank(a.search_vector, q) DESC, a.id LIMIT :limit",
                    {"q": terms, "id": article_id, "limit": limit})
                if len(found) == limit:
                    break
        return [i for (i,) in found]

    def suggest(self, text: str, body_of: Callable[[int], str | None]) -> str | None:
        """The query with rare or unknown words replaced by close, common ones; or None. The
        word is shown as an article writes it (ts_headline marks it in one that has it, in
        the database: `body_of`, which the Whoosh engine needs, is not called)."""
        try:
            parsed = self._parsed(text)
        except QueryError:
            return None
        if parsed is None:
            return None
        searched = {leaf.text for leaf in _every(parsed.surface)
                    if type(leaf) is query.Term and leaf.fieldname in ("title", "body")}
        with self._reading() as reading:
            words = [w for w in dict.fromkeys(re.findall(r"\w+", text)) if w.lower() in searched]
            stems = reading.lexemes(w.lower() for w in words)
            single = {w: s[0] for w in words if len(s := stems.get(w.lower(), [])) == 1
                      and len(s[0]) >= 3}
            known = reading.frequencies(single.values())
            corrected = text
            for word, stem in single.items():
                found = known.get(stem, 0)
                if found >= SUGGEST_MIN_DOCS:
                    continue
                # An unknown word takes any known neighbour; a rare one only a far commoner.
                enough = 1 if found == 0 else max(SUGGEST_MIN_DOCS, 10 * found)
                near = [w for w in reading.similar(stem, 2, 1) if w != stem]
                counts = reading.frequencies(near)
                best = max(((counts.get(w, 0), w) for w in near if counts.get(w, 0) >= enough),
                           default=None)
                if best is None:
                    continue
                surface = reading.scalar(
                    f"SELECT substring(ts_headline('{CONFIG}', left(a.body, :chars), q, "
                    "'StartSel=\x01, StopSel=\x02, MaxWords=3, MinWords=1, MaxFragments=1') "
                    "FROM '\x01([^\x02]*)\x02') FROM articles a, CAST(:q AS tsquery) AS q "
                    "WHERE a.search_vector @@ q LIMIT 1",
                    {"q": _quote(best[1]), "chars": bounds.TEXT_SAMPLE_CHARS})
                replacement = (surface or best[1]).lower()
                corrected = re.sub(rf"\b{re.escape(word)}\b", replacement, corrected, count=1)
        return corrected if corrected != text else None

    def significant_terms(self, texts: Iterable[str], *, exclude: str = "", top: int = 12
                          ) -> list[tuple[str, float]]:
        """Words much more common in `texts` (a result set) than in the whole archive,
        scored like Elasticsearch's JLH: (fg% - bg%) * fg% / bg%; the background from the
        vocabulary, each word shown as the texts write it most often."""
        samples = [body[:bounds.TEXT_SAMPLE_CHARS] for body in texts]
        if len(samples) < 2:
            return []
        words_of = [set(re.findall(r"\w+", body.lower())) for body in samples]
        with self._reading() as reading:
            distinct = {w for words in words_of for w in words
                        if len(w) > 2 and not w.isdigit()}
            stems = reading.lexemes(sorted(distinct))
            queried = {s for found in reading.lexemes(
                re.findall(r"\w+", exclude.lower())).values() for s in found}
            in_sample: Counter[str] = Counter()
            surface: dict[str, Counter[str]] = {}
            for words in words_of:
                bounds.check()
                seen = set()
                for word in words:
                    found = stems.get(word, [])
                    if len(found) == 1 and len(found[0]) > 2 and found[0] not in queried:
                        seen.add(found[0])
                        surface.setdefault(found[0], Counter())[word] += 1
                in_sample.update(seen)
            common = [s for s, n in in_sample.items() if n >= 2]
            background = reading.frequencies(common)
            size = max(int(reading.scalar("SELECT count(*) FROM articles")), 1)
        scored = []
        for stem in common:
            foreground = in_sample[stem] / len(samples)
            share = max(background.get(stem, 1), 1) / size
            if foreground > share and stem not in STOP_WORDS:
                scored.append(((foreground - share) * foreground / share, stem))
        scored.sort(reverse=True)
        return [(surface[stem].most_common(1)[0][0], round(score, 3))
                for score, stem in scored[:top] if math.isfinite(score)]

    def close(self) -> None:
        """Nothing is held between requests (connections belong to the archive's engine)."""


# GROUPING() of each grouping set of the counts: which facet a row counts.
_TOTAL, _OUTLETS, _PERIODS, _LANGUAGES = 0b111, 0b011, 0b101, 0b110
# A search whose condition is one tsquery over the title and body.
_LONE_MATCH = re.compile(re.escape(PARTS["AD"]) + r" @@ CAST\(:(\w+) AS tsquery\)")
# The orders by date or id; relevance without words to rank by is the order of ids.
_ORDERS = {"relevance": "{id}", "newest": "{day} DESC NULLS LAST, {id}",
           "oldest": "{day} ASC NULLS LAST, {id}"}


def _counts(matches: str) -> str:
    """The counts over `matches` (a subquery of outlet, period, language and whether each
    filter lets the match through), one grouping set per facet, each ignoring its own
    filter; outlets named after counting."""
    return f"""
        SELECT grouped, coalesce(o.name, ''), period, language, everything, for_outlets,
               for_dates, for_languages, NULL
        FROM (SELECT GROUPING(outlet, period, language) AS grouped, outlet, period, language,
                     count(*) FILTER (WHERE o_ok AND l_ok AND d_ok) AS everything,
                     count(*) FILTER (WHERE l_ok AND d_ok) AS for_outlets,
                     count(*) FILTER (WHERE o_ok AND l_ok) AS for_dates,
                     count(*) FILTER (WHERE o_ok AND d_ok) AS for_languages
              FROM {matches} AS counted
              GROUP BY GROUPING SETS ((), (outlet), (period), (language))) AS counts
            LEFT JOIN outlets o ON o.id = counts.outlet"""


def _alternatives(tsquery: str) -> bool:
    """Whether a tsquery is words joined by OR only (no AND, NOT or phrase)."""
    return not any(m.group(4) for m in _ITEM.finditer(tsquery)) and \
        not any(c in _ITEM.sub("", tsquery) for c in "&!")


def _titled_first(rank: str) -> bool:
    """Whether every match with a query word in its title outranks every other: so for one
    word or up to three alternatives (ts_rank gives a title occurrence, weight 1, at least
    0.2, and any number of body occurrences, weight 0.1, less than 0.17)."""
    return 1 <= sum(1 for _ in _ITEM.finditer(rank)) <= 3 and _alternatives(rank)


def _title_implies(match: str, params: dict[str, Any]) -> bool:
    """Whether a query word in an article's title means the article matches: the query is
    one word, or alternatives, searched in the title and body."""
    found = _LONE_MATCH.fullmatch(match)
    return found is not None and _alternatives(params[found[1]])


def _ranked_page(titled: str, longest: str, every: str, *, titled_first: bool) -> str:
    """The first :ranks ids by relevance among the matches.

    Ranking reads each ranked match's vector (ts_rank), so past RANK_ALL matches only those
    with a query word in the title (`titled`, found in the titles' index) are ranked, and
    the RANK_ALL `longest` of the rest (all of them when there are fewer): among those
    ts_rank counts occurrences without regard to length, which long articles have most.
    When the titled outrank all others and are enough, the longest are not looked for.
    The pool is looked up by id as an array (joined, the planner expects a bigger pool and
    reads every article instead). An order deeper than the pool (an export, a far page)
    goes on with the rest of the matches (`every`), ranked after it."""
    enough = "(SELECT count(*) FROM titled) < :ranks" if titled_first else "TRUE"
    rank_of = "ts_rank(a.search_vector, CAST(:by_rank AS tsquery))"
    return f"""
        WITH titled AS MATERIALIZED ({titled}),
        pool AS MATERIALIZED (
            SELECT id FROM titled
            UNION SELECT id FROM ({longest}) AS longest WHERE {enough})
        SELECT id FROM (
            SELECT a.id, TRUE AS pooled, {rank_of} AS score FROM articles a
            WHERE a.id = ANY(ARRAY(SELECT id FROM pool))
            UNION ALL
            SELECT a.id, FALSE, {rank_of} FROM articles a
            WHERE (SELECT count(*) FROM pool) < :ranks
                AND a.id = ANY(ARRAY(SELECT id FROM ({every}) AS every
                                     EXCEPT SELECT id FROM pool))
            ) AS ranked
        ORDER BY pooled DESC, score DESC, id LIMIT :ranks"""


def _gathered_rows(reading: _Reading, params: dict[str, Any], match: str,
                   flags: dict[str, str], period: str, sort: str, rank: str | None, *,
                   stories: bool) -> list[Any]:
    """The counts and the order from the matches gathered once: matches found by reading
    their vectors, or in story mode each story's earliest copy among the matches (undated
    last)."""
    columns = ", ".join(f"{value} AS {name}" for name, value in flags.items())
    first_copies = ("DISTINCT ON (coalesce(a.story_id, a.id))" if stories else "")
    in_order = ("ORDER BY coalesce(a.story_id, a.id), a.published_date ASC NULLS LAST, a.id"
                if stories else "")
    every = "SELECT id FROM f WHERE o_ok AND l_ok AND d_ok"
    if rank is None:
        page = f"{every} ORDER BY {_ORDERS[sort].format(day='day', id='id')} LIMIT :ranks"
    else:
        page = _ranked_page(f"{every} AND id IN (SELECT a.id FROM articles a "
                            f"WHERE {PARTS['A']} @@ CAST(:titled AS tsquery))",
                            f"{every} ORDER BY words DESC, id LIMIT :rank_all", every,
                            titled_first=_titled_first(rank))
    return reading.rows(f"""
        WITH f AS MATERIALIZED (
            SELECT {first_copies} a.id, a.outlet_id AS outlet, a.published_date AS day,
                   {period} AS period, a.word_count AS words,
                   coalesce(a.language, '') AS language, {columns}
            FROM articles a WHERE {match} {in_order})
        {_counts("(SELECT outlet, period, language, o_ok, l_ok, d_ok FROM f)")}
        UNION ALL SELECT -1, NULL, NULL, NULL, row_number() OVER (), NULL, NULL, NULL, id
            FROM ({page}) AS page""", params)


def _answer_of(rows: Iterable[Any], histogram: bool, notes: tuple[str, ...]) -> _Answer:
    """The search statement's rows as an answer: the total, each facet's counts (years and
    months added up from the periods), the days for the chart, and the ranked ids (grouping
    -1, in order)."""
    total = 0
    outlets: list[tuple[str, int]] = []
    languages: list[tuple[str, int]] = []
    years: Counter[int] = Counter()
    months: Counter[int] = Counter()
    days: list[tuple[str, int]] = []
    ranked: list[tuple[int, int]] = []
    for grouping, outlet, period, language, everything, for_outlets, for_dates, \
            for_languages, hit in rows:
        if grouping == -1:
            ranked.append((int(everything), int(hit)))
        elif grouping == _TOTAL:
            total = int(everything)
        elif grouping == _OUTLETS and for_outlets:
            outlets.append((outlet, int(for_outlets)))
        elif grouping == _LANGUAGES and for_languages:
            languages.append((language, int(for_languages)))
        elif grouping == _PERIODS:
            if for_dates:
                years[period.year if period else UNKNOWN_YEAR] += int(for_dates)
                if period:
                    months[period.year * 100 + period.month] += int(for_dates)
            if histogram and everything:
                days.append((period.isoformat() if period else "", int(everything)))
    return _Answer(
        total=total, ranked=tuple(hit for _, hit in sorted(ranked)),
        outlets=tuple(_by_count(outlets)),
        years=tuple(sorted(years.items(), key=lambda p: -p[0])),
        months=tuple(sorted(months.items(), reverse=True)),
        languages=tuple(_by_count(languages)), days=tuple(days), notes=notes)


def _prefixes(parsed: _Parsed | None) -> dict[str, tuple[str, ...]]:
    if parsed is None:
        return {}
    found: dict[str, list[str]] = {}
    for node, negated in _clauses(parsed.surface):
        for leaf in _every(node):
            if isinstance(leaf, query.Prefix) and not negated:
                found.setdefault(leaf.fieldname, []).append(leaf.text)
    return {name: tuple(words) for name, words in found.items()}


def _by_count(pairs: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Facet counts as the Whoosh engine orders them: most first, then by name."""
    return sorted(pairs, key=lambda pair: (-pair[1], pair[0]))


def _every(node: query.Query) -> Iterator[query.Query]:
    yield node
    for child in node.children():
        yield from _every(child)


def _typed(text: str) -> dict[str, str]:
    """Each lower-cased query word with the word as the user typed it."""
    return {word.lower(): word for word in re.findall(r"\w+", text)}


def _clause(shown: query.Query, surface: query.Query, negated: bool, typed: dict[str, str],
            matches: int, translation: _Translation) -> Clause:
    group = list(surface.children()) if _is_field_group(surface) else [surface]
    leaf = group[0]
    fieldnames = (getattr(g, "fieldname", "") or "" for g in group)
    field = " or ".join(dict.fromkeys(
        next((name for name, real in QUERY_FIELDS.items() if real == fieldname), fieldname)
        for fieldname in fieldnames))
    expansions: tuple[str, ...] = ()
    lexemes = translation.lexemes
    if isinstance(leaf, query.Phrase):
        kind = "phrase" if leaf.slop <= 1 else f"words within {leaf.slop}"
        typed_text = " ".join(typed.get(w, w) for w in leaf.words)
        searched = " ".join(" ".join(lexemes.get(w, [w])) for w in leaf.words)
        if leaf.slop > 1:
            searched = f'"{searched}"~{leaf.slop}'
    elif isinstance(leaf, query.FuzzyTerm | query.Wildcard):
        kind = "fuzzy" if isinstance(leaf, query.FuzzyTerm) else "wildcard"
        typed_text = (f"{leaf.text}~{leaf.maxdist}" if isinstance(leaf, query.FuzzyTerm)
                      else leaf.text)
        expansions = tuple(dict.fromkeys(w for k, v in translation.expansions.items()
                                         if k[1] == leaf.text for w in v))[:50]
        searched = ", ".join(expansions) or ("(no similar words)" if kind == "fuzzy"
                                             else "(no words match)")
    elif isinstance(leaf, query.Prefix):
        kind, typed_text = "prefix", f"{leaf.text}*"
        searched = f"every word starting with '{leaf.text}'"
    elif isinstance(leaf, query.NumericRange):
        kind = "date range"
        typed_text = searched = f"{_day(leaf.start)} to {_day(leaf.end)}"
    elif isinstance(leaf, query.Term):
        kind, typed_text = "term", typed.get(leaf.text, leaf.text)
        searched = " ".join(lexemes.get(leaf.text, [leaf.text]))
    else:
        kind, typed_text, searched = type(shown).__name__.lower(), str(shown), str(shown)
    return Clause(kind, field, typed_text, searched, matches, negated, expansions)


def _query_error(exc: DBAPIError) -> Exception:
    """A statement's failure as the user should see it: a cancelled statement ran out of
    the search's time; an error about the query's data is the query's; the rest (the
    server gone, say) stays what it is."""
    state = getattr(exc.orig, "sqlstate", None) or ""
    if state == _CANCELLED:
        try:
            bounds.check()
        except SearchTimeout as timeout:
            return timeout
        return SearchTimeout("the search was stopped at its time limit: narrow it (fewer or "
                             "longer wildcard words, fewer fuzzy terms, a shorter phrase) "
                             "and try again")
    if state.startswith(_QUERY_STATES):
        logger.info("the database refused a search: %s", exc.orig)
        first = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else state
        return QueryError(f"the database could not run this search ({first}): rephrase it")
    return exc

