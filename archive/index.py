"""The full-text index. The only module that touches Whoosh: a server engine replaces this file.

The index is derived data: it holds what search needs (ids, analysed title, body and byline,
outlet, date, language, story) and nothing that cannot be rebuilt from the database.
Filtering, counting and date ordering happen over per-document arrays (archive/facets.py);
Whoosh parses queries, finds matching documents and ranks the page of results.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
import os
import pickle
import re
import shutil
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
from whoosh import columns, formats, index, qparser, query, reading
from whoosh.analysis import STOP_WORDS, StandardAnalyzer, StemmingAnalyzer
from whoosh.codec import whoosh3
from whoosh.fields import ID, NUMERIC, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.lang.porter import stem as porter_stem
from whoosh.searching import Searcher
from whoosh.system import _INT_SIZE
from whoosh.util.numeric import byte_to_length
from whoosh.writing import IndexWriter

from archive.facets import Codes, DocColumns, Histogram, day_key

Sort = Literal["relevance", "newest", "oldest"]
SORTS: tuple[Sort, ...] = ("relevance", "newest", "oldest")
UNKNOWN_YEAR = 0  # the year facet value of articles whose date is unknown
# Bump when the fields change: an index of another version is rebuilt from the database.
SCHEMA_VERSION = 4
_VERSION_FILE = "archive-schema-version"
# Batches at least this big are indexed by two processes.
BULK_DOCS = 1000
# A word in fewer articles than this is worth a "did you mean"; a suggestion must reach it.
SUGGEST_MIN_DOCS = 3
# Shortest start a wildcard may have: "a*" would expand to most of the vocabulary.
MIN_WILDCARD_PREFIX = 2
# Fuzzy terms must share their first letter: without that, one would scan every word.
FUZZY_PREFIX = 1
# Field names users may write before a colon, and the index field each one searches.
QUERY_FIELDS = {"title": "title", "body": "body", "byline": "byline", "outlet": "outlet_text",
                "date": "date"}
# "word~" with no number asks for the usual 2 differences (Whoosh would allow only 1).
_WORDS = re.compile(r"\w", re.UNICODE)
# The tokens the index's analyser makes (Whoosh's RegexTokenizer default), for highlighting.
_TOKEN = re.compile(r"\w+(\.?\w+)*", re.UNICODE)
_BARE_FUZZY = re.compile(r"(?<=\w)~(?![\d.])")
_DATE_CLAUSE = re.compile(
    r"\bdate:(?:\[\s*(?P<start>[\d-]*)\s*\b(?i:to)\b\s*(?P<end>[\d-]*)\s*\]"
    r"|(?P<single>\d{4}(?:-\d{2}){0,2})(?![\w-]))")
_BAD_DATE_CLAUSE = re.compile(r"\bdate:(?!\[\d+ TO \d+\])(\S*)")


def _remember_columns() -> None:
    """Whoosh 2.7 asks the file system whether a segment has a column file once per posting
    while committing (millions of stat calls per batch; a third of commit time). A segment's
    files never change once written, so each reader can remember the answer."""
    original = whoosh3.W3PerDocReader.has_column
    if getattr(original, "remembers", False):
        return

    def has_column(self: whoosh3.W3PerDocReader, fieldname: str) -> bool:
        known = self.__dict__.setdefault("_archive_columns", {})
        if fieldname not in known:
            known[fieldname] = original(self, fieldname)
        return known[fieldname]

    has_column.remembers = True  # type: ignore[attr-defined]
    whoosh3.W3PerDocReader.has_column = has_column


_remember_columns()


def _open_readers_safely() -> None:
    """Whoosh 2.7 opens a reader per segment in a list comprehension: when a writer in
    another process deletes a segment half-way (it retries then), the readers already
    opened are never closed, and the old searcher's readers are closed even though the new
    one failed. This opens all or nothing and leaves the old readers alone on failure."""
    if getattr(index.FileIndex._reader, "safe", False):
        return

    def _reader(cls, storage, schema, segments, generation, reuse=None):  # noqa: ANN001, ANN202
        if not segments:
            return reading.EmptyReader(schema)
        opened = []
        try:
            for segment in segments:
                opened.append(reading.SegmentReader(storage, schema, segment,
                                                    generation=generation))
        except BaseException:
            for reader in opened:
                reader.close()
            raise
        if reuse is not None:
            for old, _ in reuse.leaf_readers():  # nothing is shared with the new reader
                old.close()
        return opened[0] if len(opened) == 1 else reading.MultiReader(opened,
                                                                       generation=generation)

    _reader.safe = True  # type: ignore[attr-defined]
    index.FileIndex._reader = classmethod(_reader)


_open_readers_safely()


class QueryError(ValueError):
    """A query the index cannot run; the message tells the user what to change."""


class IndexMissing(Exception):
    """There is no usable index where one was expected; `archive reindex` builds it."""


@dataclass(frozen=True, slots=True)
class IndexDoc:
    id: int
    title: str
    body: str
    outlet: str | None
    published: dt.date | None
    language: str | None
    byline: str | None = None
    story: int | None = None  # the id of the story's first copy; its own id when alone


@dataclass(frozen=True, slots=True)
class SearchRequest:
    text: str = ""
    outlets: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    sort: Sort = "relevance"
    offset: int = 0
    limit: int = 10
    # One result per story (its earliest copy); counts then count stories.
    one_per_story: bool = False
    histogram: bool = False


@dataclass(slots=True)
class SearchHits:
    total: int
    ids: list[int]
    # Counts over all matches, most frequent first. Each facet ignores its own filter, so
    # more outlets (or another year) can be added: outlets ignore the outlet filter, years
    # and months the date filter, languages the language filter.
    outlet_counts: list[tuple[str, int]] = field(default_factory=list)
    year_counts: list[tuple[int, int]] = field(default_factory=list)
    month_counts: list[tuple[int, int]] = field(default_factory=list)  # (YYYYMM, n)
    language_counts: list[tuple[str, int]] = field(default_factory=list)
    histogram: Histogram | None = None


class Fragment(list):
    """One passage of a snippet: (text, is_match) pieces. cut_start/cut_end say whether the
    passage begins or ends inside the text (so the reader should see an ellipsis)."""

    cut_start: bool = False
    cut_end: bool = False
    start: int = 0  # offsets of the passage in the text
    end: int = 0


@dataclass(frozen=True, slots=True)
class Clause:
    """One part of a query as the index understood it."""

    kind: str  # term, phrase, prefix, wildcard, fuzzy, date range, all
    field: str
    typed: str  # what the user wrote (as well as it can be recovered)
    searched: str  # what is looked up: stems, expansions
    matches: int
    negated: bool = False
    expansions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Explanation:
    query: str  # the parsed query in Whoosh's notation
    clauses: list[Clause]
    total: int


def _analyzer() -> StemmingAnalyzer:
    # Stop words are kept: news searches depend on phrases like "no limits" or "the west".
    return StemmingAnalyzer(stoplist=None, minsize=1, cachesize=100_000)


def _schema() -> Schema:
    analyzer = _analyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(analyzer=analyzer, field_boost=2.0),
        # No spelling=True: it cost 40% of indexing speed and half again the size; "did
        # you mean" works from the stems instead (see suggest).
        body=TEXT(analyzer=analyzer),
        byline=TEXT(analyzer=StandardAnalyzer(stoplist=None)),
        # Columns of references into a list of distinct values: read straight into arrays.
        outlet=ID(sortable=columns.RefBytesColumn()),
        outlet_text=TEXT(analyzer=StandardAnalyzer(stoplist=None)),
        date=NUMERIC(int, bits=32, sortable=True, signed=False),  # YYYYMMDD, 0 when unknown
        language=ID(sortable=columns.RefBytesColumn()),
        story=NUMERIC(int, bits=64, sortable=True, signed=False),
    )


_SCHEMA = _schema()  # the same for every index of this SCHEMA_VERSION; parsed queries use it


class SearchIndex:
    """A Whoosh index in one folder: one writer at a time, any number of readers."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._searcher: Searcher | None = None
        self._columns: DocColumns | None = None
        self._columns_of: Searcher | None = None
        self._column_cache = _ColumnCache()
        self._postings: _Postings | None = None
        if index.exists_in(str(path)):
            if self.version() != SCHEMA_VERSION:
                raise IndexMissing(f"the search index in {path} was built by another version "
                                   "of archive: run `archive reindex`")
            self._index = _storage(path).open_index()
        elif not create:
            raise IndexMissing(f"there is no search index in {path}: run `archive reindex`")
        else:
            self._create()

    def version(self) -> int | None:
        return _version(self.path)

    @staticmethod
    def exists(path: Path) -> bool:
        """Whether `path` holds an index this version of archive can use."""
        return index.exists_in(str(path)) and _version(path) == SCHEMA_VERSION

    def _create(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self._index = _storage(self.path).create_index(_schema())
        (self.path / _VERSION_FILE).write_text(f"{SCHEMA_VERSION}\n")

    # --- writing -------------------------------------------------------------------------

    def add(self, docs: Sequence[IndexDoc], *, replace: bool = False) -> int:
        """Index documents and commit; with replace, an existing id is overwritten."""
        count = 0
        bulk = not replace and len(docs) >= BULK_DOCS and (os.cpu_count() or 1) > 1
        # A big batch is analysed in two processes, each writing its own segment (measured:
        # 397 against 321 docs/s); merge_segments() folds the segments together afterwards.
        writer = (self._writer(procs=2, limitmb=256, multisegment=True) if bulk
                  else self._writer(limitmb=128))
        try:
            for doc in docs:
                fields = _fields(doc)
                if replace:
                    writer.update_document(**fields)
                else:
                    writer.add_document(**fields)
                count += 1
        except BaseException:
            writer.cancel()
            raise
        if bulk:
            writer.commit()  # its own segments, unmerged; merged below when a tier fills
            if _tiers_to_merge(self._index._segments()):
                self._writer().commit(mergetype=_merge_full_tiers)
        else:
            writer.commit(mergetype=_merge_full_tiers)
        return count

    def delete(self, ids: Iterable[int]) -> None:
        writer = self._writer()
        try:
            for doc_id in ids:
                writer.delete_by_term("id", str(doc_id))
        except BaseException:
            writer.cancel()
            raise
        writer.commit()

    def clear(self) -> None:
        """Remove everything (for a rebuild)."""
        self.close()
        shutil.rmtree(self.path, ignore_errors=True)
        self._create()

    def merge_segments(self, *, everything: bool = False) -> int:
        """Merge full tiers of segments (or, with everything, all of them into one); returns
        how many segments are left. Fewer segments make searches and opening faster."""
        writer = self._writer()
        if everything:
            writer.commit(optimize=True)
        else:
            writer.commit(mergetype=_merge_full_tiers)
        return len(self._index._segments())

    def segment_count(self) -> int:
        return len(self._index._segments())

    def _writer(self, **options: object) -> IndexWriter:
        # Callers hold the archive's writer lock, so waiting here only covers a stale lock
        # file's owner finishing; Whoosh's own lock is the last guard against two writers.
        return self._index.writer(timeout=30.0, **options)

    # --- reading -------------------------------------------------------------------------

    def ids(self) -> set[int]:
        """Every article id the index holds."""
        with self._lock:
            searcher = self._current_searcher()
            return {int(fields["id"]) for fields in searcher.all_stored_fields()}

    def doc_count(self) -> int:
        with self._lock:
            return self._current_searcher().doc_count()

    def search(self, request: SearchRequest) -> SearchHits:
        """Matching ids for one page, the total, facet counts and (if asked) a histogram."""
        parsed = self.parse(request.text)
        with self._lock:
            searcher = self._current_searcher()
            columns = self._columns_for(searcher)
            postings = self._postings_for(searcher)
            found = columns.select(None if parsed is None else _matching(postings, parsed))
            matched = columns.story_representatives(found) if request.one_per_story else found
            outlet_ok = columns.outlet_mask(request.outlets)
            language_ok = columns.language_mask(request.languages)
            date_ok = columns.date_mask(request.date_from, request.date_to)
            selected = matched & outlet_ok & language_ok & date_ok
            undated_range = matched & outlet_ok & language_ok
            hits = SearchHits(
                total=int(selected.sum()),
                ids=self._page(postings, columns, parsed, selected, request),
                outlet_counts=columns.count_outlets(matched & language_ok & date_ok),
                year_counts=columns.count_years(undated_range),
                month_counts=columns.count_months(undated_range),
                language_counts=columns.count_languages(matched & outlet_ok & date_ok),
            )
            if request.histogram:
                hits.histogram = columns.histogram(selected, request.date_from,
                                                   request.date_to,
                                                   stories=request.one_per_story)
        return hits

    def _page(self, postings: _Postings, columns: DocColumns, parsed: query.Query | None,
              selected: np.ndarray, request: SearchRequest) -> list[int]:
        end = request.offset + request.limit
        if request.sort == "relevance" and parsed is not None:
            ranked = _rank(postings, columns, parsed, np.flatnonzero(selected), end)
            docnums = ranked[request.offset:end].tolist()
        else:
            ordered = columns.by_date(selected, newest_first=request.sort != "oldest")
            docnums = ordered[request.offset:end].tolist()
        stored = postings.searcher.stored_fields
        return [int(stored(docnum)["id"]) for docnum in docnums]

    def parse(self, text: str) -> query.Query | None:
        """The query for a user's search string; None means "everything"."""
        if not text.strip():
            return None
        try:
            parsed = self._parser().parse(_BARE_FUZZY.sub("~2", _rewrite_dates(text)))
        except QueryError:
            raise
        except Exception as exc:  # Whoosh raises bare exceptions on some odd input
            raise QueryError(f"could not understand the query: {exc}") from None
        for wildcard in _leaves(parsed, (query.Wildcard, query.Prefix)):
            pattern = wildcard.text + ("*" if isinstance(wildcard, query.Prefix) else "")
            prefix = pattern.split("*")[0].split("?")[0]
            if len(prefix) < MIN_WILDCARD_PREFIX:
                raise QueryError(
                    f"'{pattern}' needs at least {MIN_WILDCARD_PREFIX} letters before its "
                    "first * or ? (a shorter start would match most words)")
        for fuzzy in _leaves(parsed, (query.FuzzyTerm,)):
            fuzzy.prefixlength = max(fuzzy.prefixlength, FUZZY_PREFIX)
            if fuzzy.maxdist > 2:
                raise QueryError(f"'{fuzzy.text}~{fuzzy.maxdist}': at most 2 letters may differ")
        if parsed is query.NullQuery:
            raise QueryError("the query has no words to search for")
        if isinstance(parsed, query.Not) or (isinstance(parsed, query.And) and all(
                isinstance(c, query.Not) for c in parsed.children())):
            raise QueryError("the query only says what to leave out: add a word to look for "
                             "(e.g. 'harbour -ferry')")
        if isinstance(parsed, query.Every) or (
                isinstance(parsed, query.Or) and all(isinstance(c, query.Every)
                                                     for c in parsed.children())):
            return None  # a lone * asks for everything
        return parsed

    def _parser(self) -> qparser.QueryParser:
        parser = qparser.MultifieldParser(["title", "body"], _SCHEMA, group=qparser.AndGroup)
        parser.remove_plugin_class(qparser.FieldsPlugin)
        names = "|".join(QUERY_FIELDS)
        parser.add_plugin(qparser.FieldsPlugin(expr=rf"(?P<text>{names}):"))
        parser.add_plugin(qparser.FieldAliasPlugin({"outlet_text": ["outlet"]}))
        parser.add_plugin(qparser.FuzzyTermPlugin())
        parser.add_plugin(qparser.PlusMinusPlugin())
        return parser

    def explain(self, text: str) -> Explanation:
        """How a query was understood: each clause, what it looks up, how many it matches."""
        parsed = self.parse(text)
        with self._lock:
            searcher = self._current_searcher()
            if parsed is None:
                count = searcher.doc_count()
                return Explanation("everything", [Clause("all", "", text or "*", "*", count)],
                                   count)
            typed = _typed_words(text)
            clauses = [self._clause(searcher, leaf, negated, typed)
                       for leaf, negated in _clauses(parsed)]
            total = sum(1 for _ in searcher.docs_for_query(parsed))
        return Explanation(str(parsed), clauses, total)

    def _clause(self, searcher: Searcher, node: query.Query, negated: bool,
                typed_words: dict[str, str]) -> Clause:
        reader = searcher.reader()
        matches = sum(1 for _ in searcher.docs_for_query(node))
        # A word searched in title and body at once is one clause to the user.
        group = list(node.children()) if _is_field_group(node) else [node]
        leaf = group[0]
        shown = " or ".join(dict.fromkeys(
            next((name for name, real in QUERY_FIELDS.items() if real == fieldname), fieldname)
            for fieldname in (getattr(g, "fieldname", "") or "" for g in group)))
        expansions: tuple[str, ...] = ()
        if isinstance(leaf, query.Phrase):
            typed = " ".join(typed_words.get(word, word) for word in leaf.words)
            kind, searched = "phrase", " ".join(leaf.words)
            if leaf.slop > 1:
                kind, searched = f"words within {leaf.slop}", f'"{searched}"~{leaf.slop}'
        elif isinstance(leaf, query.FuzzyTerm):
            kind, typed = "fuzzy", f"{leaf.text}~{leaf.maxdist}"
            expansions = _expansions(group, reader)
            searched = ", ".join(expansions) or "(no similar words)"
        elif isinstance(leaf, query.Prefix | query.Wildcard):
            kind = "prefix" if isinstance(leaf, query.Prefix) else "wildcard"
            typed = leaf.text + ("*" if kind == "prefix" else "")
            expansions = _expansions(group, reader)
            searched = ", ".join(expansions) or "(no words match)"
        elif isinstance(leaf, query.NumericRange):
            kind, typed = "date range", f"{_day(leaf.start)} to {_day(leaf.end)}"
            searched = typed
        elif isinstance(leaf, query.Term):
            kind, searched = "term", _text(leaf.text)
            typed = typed_words.get(searched, searched)
        else:
            kind, typed, searched = leaf.__class__.__name__.lower(), str(leaf), str(leaf)
        return Clause(kind, shown, typed, searched, matches, negated, expansions)


    def highlighter(self, text_query: str) -> Highlighter:
        """What marks the query's words in texts: its terms expanded once through the index
        (so sanction* and lavorv~ mark the words they found), for any number of texts."""
        parsed = self.parse(text_query)
        terms: dict[str, set[str]] = {}
        if parsed is not None:
            with self._lock:
                reader = self._current_searcher().reader()
                for node, negated in _clauses(parsed):
                    if negated:
                        continue
                    # Not existing_terms(): Whoosh 2.7 reuses a loop variable there and
                    # skips every field after the first.
                    for leaf in node.leaves():
                        for fieldname, term in leaf.expanded_terms(reader, phrases=True):
                            terms.setdefault(fieldname, set()).add(_text(term))
        return Highlighter({name: frozenset(found) for name, found in terms.items()})

    def highlight(self, text_query: str, field: str, text: str, *, top: int = 3,
                  maxchars: int = 220, whole: bool = False) -> list[Fragment]:
        """The best passages of `text` for the query, matches marked; [] if none match."""
        return self.highlighter(text_query).passages(field, text, top=top, maxchars=maxchars,
                                                     whole=whole)

    def more_like(self, article_id: int, body: str, *, limit: int = 5) -> list[int]:
        """Ids of articles most like this one (its own story's copies left out)."""
        with self._lock:
            searcher = self._current_searcher()
            docnum = searcher.document_number(id=str(article_id))
            if docnum is None:
                return []
            columns = self._columns_for(searcher)
            own_story = columns.story[docnum]
            results = searcher.more_like(docnum, "body", text=body, top=limit * 4,
                                         numterms=12)
            found = []
            for hit in results:
                if columns.story[hit.docnum] != own_story and len(found) < limit:
                    found.append(int(searcher.stored_fields(hit.docnum)["id"]))
        return found

    def suggest(self, text: str, body_of: Callable[[int], str | None]) -> str | None:
        """The query with rare or unknown words replaced by close, common ones; or None.

        The index holds stems only; `body_of(article id)` lends the text of an article with
        the better stem, so the suggestion shows the word as articles write it."""
        try:
            parsed = self.parse(text)
        except QueryError:
            return None
        if parsed is None:
            return None
        analyzer = _analyzer()
        corrected = text
        with self._lock:
            searcher = self._current_searcher()
            reader = searcher.reader()
            searched = {_text(t) for f, t in parsed.iter_all_terms() if f in ("body", "title")}
            replacements = {}
            for word in dict.fromkeys(re.findall(r"\w+", text, re.UNICODE)):
                stems = [token.text for token in analyzer(word.lower())]
                if len(stems) != 1 or stems[0] not in searched or len(stems[0]) < 3:
                    continue
                found = reader.doc_frequency("body", stems[0])
                if found >= SUGGEST_MIN_DOCS:
                    continue
                # An unknown word takes any known neighbour; a rare one only a far commoner.
                enough = 1 if found == 0 else max(SUGGEST_MIN_DOCS, 10 * found)
                options = [(reader.doc_frequency("body", _text(t)), _text(t)) for t in
                           reader.terms_within("body", stems[0], 2, prefix=1)]
                frequent = max((o for o in options if o[0] >= enough), default=None)
                if frequent:
                    docnum = next(searcher.docs_for_query(query.Term("body", frequent[1])))
                    replacements[word] = (frequent[1],
                                          int(searcher.stored_fields(docnum)["id"]))
        for word, (stem, article_id) in replacements.items():
            surface = _surface_form(stem, body_of(article_id) or "", analyzer) or stem
            corrected = re.sub(rf"\b{re.escape(word)}\b", surface, corrected, count=1)
        return corrected if corrected != text else None

    def significant_terms(self, texts: Iterable[str], *, exclude: str = "", top: int = 12
                          ) -> list[tuple[str, float]]:
        """Words much more common in `texts` (a result set) than in the whole archive,
        scored like Elasticsearch's JLH: (fg% - bg%) * fg% / bg%."""
        analyzer = _analyzer()
        in_sample: Counter[str] = Counter()
        surface: dict[str, Counter[str]] = {}
        sample_size = 0
        for body in texts:
            sample_size += 1
            seen = set()
            for token in analyzer(body, keeporiginal=True):
                if (token.text not in seen and len(token.text) > 2 and not token.text.isdigit()
                        and token.text not in STOP_WORDS):
                    seen.add(token.text)
                    surface.setdefault(token.text, Counter())[token.original.lower()] += 1
            in_sample.update(seen)
        if sample_size < 2:
            return []
        queried = {t.text for t in analyzer(exclude)}
        with self._lock:
            searcher = self._current_searcher()
            reader = searcher.reader()
            size = max(searcher.doc_count(), 1)
            scored = []
            for stem, count in in_sample.items():
                if count < 2 or stem in queried:
                    continue
                foreground = count / sample_size
                background = max(reader.doc_frequency("body", stem), 1) / size
                if foreground > background:
                    score = (foreground - background) * foreground / background
                    scored.append((score, stem))
        scored.sort(reverse=True)
        return [(surface[stem].most_common(1)[0][0], round(score, 3))
                for score, stem in scored[:top] if math.isfinite(score)]

    def close(self) -> None:
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
            self._searcher = None
            self._columns = None
            self._columns_of = None
            self._column_cache = _ColumnCache()
            self._postings = None

    def _current_searcher(self) -> Searcher:
        # A writer in another process may be replacing the table of contents at this very
        # moment (Whoosh then deletes the old one): retry briefly; an open searcher stays
        # valid meanwhile, since it holds its files open.
        for attempt in range(5):
            try:
                if self._searcher is None:
                    self._searcher = self._index.searcher()
                else:
                    self._searcher = self._searcher.refresh()
                return self._searcher
            except (OSError, EOFError, ValueError, KeyError):
                if self._searcher is not None and attempt == 4:
                    return self._searcher
                time.sleep(0.05 * (attempt + 1))
        return self._index.searcher()

    def _postings_for(self, searcher: Searcher) -> _Postings:
        if self._postings is None or self._postings.searcher is not searcher:
            self._postings = _Postings(searcher)
        return self._postings

    def _columns_for(self, searcher: Searcher) -> DocColumns:
        if self._columns is None or self._columns_of is not searcher:
            self._columns = self._column_cache.columns(searcher)
            self._columns_of = searcher
        return self._columns


# Posting lists kept between searches, per searcher: the common words of phrases ("the",
# "of") recur in query after query, and reading theirs is most of such a query's time.
POSTINGS_CACHE_BYTES = 64 * 1024 * 1024


class _Postings:
    """Term posting lists of one searcher as arrays (document numbers and weights), read
    straight from Whoosh's posting blocks; the most recently used are kept."""

    def __init__(self, searcher: Searcher, budget: int = POSTINGS_CACHE_BYTES) -> None:
        self.searcher = searcher
        self._lists: OrderedDict[tuple[str, str | bytes], tuple[np.ndarray, np.ndarray]] = (
            OrderedDict())
        self._value_lists: OrderedDict[tuple[str, str | bytes], list[bytes]] = OrderedDict()
        self._budget = budget
        self._used = 0

    def _remember(self, store: OrderedDict, key: tuple, value: object, size: int) -> None:
        store[key] = value
        self._used += size
        while self._used > self._budget and (self._lists or self._value_lists):
            oldest = self._lists if self._lists else self._value_lists
            _, dropped = oldest.popitem(last=False)
            self._used -= _footprint(dropped)

    def docs(self, fieldname: str, text: str | bytes) -> np.ndarray:
        return self.get(fieldname, text)[0]

    def positions(self, fieldname: str, text: str | bytes, wanted: np.ndarray
                  ) -> list[list[int]]:
        """Word positions of the term in each of `wanted` (documents that contain it)."""
        docs, _ = self.get(fieldname, text)
        values = self._values(fieldname, text)
        return [_decode_positions(values[i]) for i in np.searchsorted(docs, wanted)]

    def _values(self, fieldname: str, text: str | bytes) -> list[bytes]:
        key = (fieldname, text)
        if key in self._value_lists:
            self._value_lists.move_to_end(key)
        else:
            found: list[bytes] = []
            for sub, _ in self.searcher.subsearchers or [(self.searcher, 0)]:
                reader = sub.reader()
                if (fieldname, text) not in reader:
                    continue
                matcher = _leaf(reader.postings(fieldname, text))
                if not isinstance(matcher, whoosh3.W3LeafMatcher):
                    while matcher.is_active():
                        found.append(matcher.value())
                        matcher.next()
                    continue
                while not matcher._atend:
                    if matcher._data is None:
                        matcher._read_data()
                    found.extend(matcher._data[2])
                    matcher._next_block()
            self._remember(self._value_lists, key, found, _footprint(found))
        return self._value_lists[key]

    def get(self, fieldname: str, text: str | bytes) -> tuple[np.ndarray, np.ndarray]:
        key = (fieldname, text)
        if key in self._lists:
            self._lists.move_to_end(key)
            return self._lists[key]
        found = self._read(fieldname, text)
        self._remember(self._lists, key, found, _footprint(found))
        return found

    def _read(self, fieldname: str, text: str | bytes) -> tuple[np.ndarray, np.ndarray]:
        parts = self.searcher.subsearchers or [(self.searcher, 0)]
        docs, weights = [], []
        for sub, offset in parts:
            reader = sub.reader()
            if (fieldname, text) not in reader:
                continue
            matcher = _leaf(reader.postings(fieldname, text))
            if not isinstance(matcher, whoosh3.W3LeafMatcher):
                while matcher.is_active():
                    docs.append(np.array([matcher.id() + offset]))
                    weights.append(np.array([matcher.weight()]))
                    matcher.next()
                continue
            # Each block stores document numbers as deltas and weights as an array, one
            # number for all, or nothing for all ones (Whoosh's on-disk format 3).
            while not matcher._atend:
                if matcher._data is None:
                    matcher._read_data()
                ids, block_weights = matcher._data[0], matcher._data[1]
                docs.append(np.cumsum(np.asarray(ids, dtype=np.int64)) + offset)
                if block_weights is None or isinstance(block_weights, float):
                    weights.append(np.full(len(ids), block_weights or 1.0))
                else:
                    weights.append(np.asarray(block_weights, dtype=np.float64))
                matcher._next_block()
        if not docs:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        return np.concatenate(docs), np.concatenate(weights)


def _footprint(value: object) -> int:
    """Roughly how many bytes a cached posting list holds."""
    if isinstance(value, tuple):
        return sum(array.nbytes for array in value)
    return sum(len(item) + 40 for item in value)  # type: ignore[union-attr]


def _leaf(matcher):  # noqa: ANN001, ANN202 - Whoosh matchers
    """The on-disk posting reader under Whoosh's wrapper that hides deleted documents (they
    are masked out later, with every other filter)."""
    while not isinstance(matcher, whoosh3.W3LeafMatcher) and hasattr(matcher, "child"):
        matcher = matcher.child
    return matcher


def _matching(postings: _Postings, parsed: query.Query) -> np.ndarray:
    """Document numbers matching a query, as a sorted array.

    Term lists come from their posting blocks as arrays, and AND, OR and NOT become array
    operations: far faster than walking Whoosh's matchers one document at a time. Phrases,
    ranges and anything else fall back to Whoosh's own matching."""
    searcher = postings.searcher
    kind = type(parsed)
    if kind is query.Term:
        return postings.docs(parsed.fieldname, parsed.text)
    if kind in (query.Prefix, query.Wildcard, query.FuzzyTerm):
        arrays = [postings.docs(parsed.fieldname, text)
                  for text in parsed._btexts(searcher.reader())]
        return np.unique(np.concatenate(arrays)) if arrays else np.zeros(0, dtype=np.int64)
    if kind is query.Or:
        arrays = [_matching(postings, child) for child in parsed.children()]
        return np.unique(np.concatenate(arrays)) if arrays else np.zeros(0, dtype=np.int64)
    if kind is query.And:
        children = list(parsed.children())
        wanted = [c for c in children if not isinstance(c, query.Not)]
        unwanted = [c.query for c in children if isinstance(c, query.Not)]
        if wanted:
            result = _matching(postings, wanted[0])
            for child in wanted[1:]:
                if not len(result):
                    break
                result = np.intersect1d(result, _matching(postings, child), assume_unique=True)
            for child in unwanted:
                result = np.setdiff1d(result, _matching(postings, child), assume_unique=True)
            return result
    if kind is query.AndNot:
        return np.setdiff1d(_matching(postings, parsed.a), _matching(postings, parsed.b),
                            assume_unique=True)
    if kind is query.Phrase and _has_positions(searcher, parsed.fieldname):
        return _phrase_docnums(postings, parsed)
    return np.fromiter(searcher.docs_for_query(parsed), dtype=np.int64)


def _has_positions(searcher: Searcher, fieldname: str) -> bool:
    return isinstance(searcher.schema[fieldname].format, formats.Positions)


def _phrase_docnums(postings: _Postings, phrase: query.Phrase) -> np.ndarray:
    """Documents with the phrase's words in order, each at most `slop` positions after the
    one before (1: side by side). Candidates come from intersecting the words' document
    arrays; only they have their positions decoded."""
    words = phrase.words
    candidates = postings.docs(phrase.fieldname, words[0])
    for word in words[1:]:
        if not len(candidates):
            return candidates
        candidates = np.intersect1d(candidates, postings.docs(phrase.fieldname, word),
                                    assume_unique=True)
    if len(words) == 1 or not len(candidates):
        return candidates
    places = [postings.positions(phrase.fieldname, word, candidates) for word in words]
    slop = max(phrase.slop, 1)
    keep = [i for i in range(len(candidates))
            if _in_sequence([p[i] for p in places], slop)]
    return candidates[keep]


def _in_sequence(positions: list[list[int]], slop: int) -> bool:
    """Whether some start position has each next word 1..slop positions after the last."""
    if slop == 1:
        # Anchor on the rarest word ("the growth": on "growth"), look the others up.
        anchor = min(range(len(positions)), key=lambda k: len(positions[k]))
        return any(all(_contains(positions[k], place - anchor + k)
                       for k in range(len(positions)) if k != anchor)
                   for place in positions[anchor])
    for start in positions[0]:
        current = start
        for following in positions[1:]:
            index = bisect.bisect_right(following, current)
            if index == len(following) or following[index] - current > slop:
                break
            current = following[index]
        else:
            return True
    return False


def _contains(ordered: list[int], value: int) -> bool:
    index = bisect.bisect_left(ordered, value)
    return index < len(ordered) and ordered[index] == value


def _decode_positions(value: bytes) -> list[int]:
    # Whoosh's Positions format: a 4-byte count, then the pickled list of deltas (whose
    # final STOP opcode Whoosh may have trimmed).
    pickled = value[_INT_SIZE:] if value.endswith(b".") else value[_INT_SIZE:] + b"."
    return list(itertools.accumulate(pickle.loads(pickled)))


# BM25 as Whoosh computes it (whoosh.scoring.BM25F with its defaults), over arrays.
_B, _K1 = 0.75, 1.2


def _rank(postings: _Postings, columns: DocColumns, parsed: query.Query,
          candidates: np.ndarray, count: int) -> np.ndarray:
    """The `count` best of `candidates` (sorted document numbers) by BM25 over the query's
    positive terms; ties in document order."""
    searcher = postings.searcher
    reader = searcher.reader()
    scores = np.zeros(len(candidates))
    size = max(searcher.doc_count_all(), 1)
    for fieldname, text in _scored_terms(parsed, reader):
        docs, weights = postings.get(fieldname, text)
        if not len(docs):
            continue
        where = np.searchsorted(candidates, docs)
        inside = where < len(candidates)
        inside[inside] = candidates[where[inside]] == docs[inside]
        idf = math.log(size / (searcher.doc_frequency(fieldname, text) + 1)) + 1
        lengths = columns.lengths(fieldname)[docs[inside]]
        average = searcher.avg_field_length(fieldname) or 1.0
        tf = weights[inside]
        scores[where[inside]] += idf * tf * (_K1 + 1) / (tf + _K1 * (1 - _B + _B * lengths
                                                                       / average))
    best = np.arange(len(candidates))
    if count < len(candidates):
        # The `count` best, ties at the cut taken in document order, so that every page is
        # a slice of one and the same ranking.
        cut = np.partition(scores, len(scores) - count)[len(scores) - count]
        above = np.flatnonzero(scores > cut)
        level = np.flatnonzero(scores == cut)
        best = np.concatenate([above, level[:count - len(above)]])
    best = best[np.lexsort((best, -scores[best]))]
    return candidates[best]


def _scored_terms(parsed: query.Query, reader) -> set[tuple[str, str | bytes]]:  # noqa: ANN001
    terms = set()
    for node, negated in _clauses(parsed):
        if negated:
            continue
        for leaf in node.leaves():
            if isinstance(leaf, query.NumericRange):
                continue
            for fieldname, text in leaf.expanded_terms(reader, phrases=True):
                if fieldname in ("title", "body", "byline", "outlet_text"):
                    terms.add((fieldname, text))
    return terms


# Segments are grouped in tiers by size (powers of MERGE_FACTOR documents); a tier holding
# MERGE_FACTOR segments is merged into one of the next tier. Each document is rewritten a
# few times over an archive's life, and merges stay proportionate: Whoosh's own policy
# (MERGE_SMALL) every so often rewrote most of the index in the middle of a bulk load.
MERGE_FACTOR = 8


def _tier(segment) -> int:  # noqa: ANN001 - a Whoosh segment
    return int(math.log(max(segment.doc_count(), 1), MERGE_FACTOR))


def _tiers_to_merge(segments: list) -> list[list]:
    tiers: dict[int, list] = {}
    for segment in segments:
        tiers.setdefault(_tier(segment), []).append(segment)
    return [group for group in tiers.values() if len(group) >= MERGE_FACTOR]


def _merge_full_tiers(writer, segments: list) -> list:  # noqa: ANN001 - Whoosh's merge policy
    merging = {id(segment) for group in _tiers_to_merge(segments) for segment in group}
    for segment in segments:
        if id(segment) in merging:
            reader = reading.SegmentReader(writer.storage, writer.schema, segment)
            writer.add_reader(reader)
            reader.close()
    return [segment for segment in segments if id(segment) not in merging]


def _storage(path: Path) -> FileStorage:
    # Plain reads, not mmap: a mapped index counts, page by page as queries touch it, in the
    # web process's resident memory (1.3 GB measured at 100,000 articles).
    return FileStorage(str(path), supports_mmap=False)


def _version(path: Path) -> int | None:
    try:
        return int((path / _VERSION_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def _surface_form(stem: str, body: str, analyzer: StemmingAnalyzer) -> str | None:
    """The word (lower-cased) as a text writes it, for one of its stems."""
    for token in analyzer(body, keeporiginal=True):
        if token.text == stem:
            return token.original.lower()
    return None


# Fields whose per-document lengths ranking needs.
_RANKED_FIELDS = ("title", "body", "byline", "outlet_text")
# Whoosh stores field lengths as one byte each; this table turns bytes back into lengths.
_LENGTH_OF_BYTE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float32)


@dataclass(slots=True)
class _SegmentColumns:
    outlets: np.ndarray  # codes into _ColumnCache.outlet_names
    dates: np.ndarray
    languages: np.ndarray
    stories: np.ndarray
    lengths: dict[str, np.ndarray]


class _ColumnCache:
    """Per-segment column arrays, read once per segment: a refresh after a commit reads only
    the new segments (a segment's documents never change; deletions are read each time)."""

    def __init__(self) -> None:
        self.outlet_codes: dict[str, int] = {}
        self.language_codes: dict[str, int] = {}
        self._segments: dict[str, _SegmentColumns] = {}

    def columns(self, searcher: Searcher) -> DocColumns:
        parts = [sub for sub, _ in searcher.subsearchers] if searcher.subsearchers else [searcher]
        pieces, lives, seen = [], [], set()
        for sub in parts:
            reader = sub.reader()
            segment = reader.segment()
            if segment is None:  # an index with no documents yet
                continue
            key = segment.segment_id()
            seen.add(key)
            if key not in self._segments:
                self._segments[key] = self._read(reader)
            pieces.append(self._segments[key])
            live = np.ones(reader.doc_count_all(), dtype=bool)
            deleted = list(segment.deleted_docs()) if segment.has_deletions() else []
            live[deleted] = False
            lives.append(live)
        for gone in set(self._segments) - seen:  # merged away
            del self._segments[gone]

        def joined(name: str, dtype: type) -> np.ndarray:
            arrays = [getattr(piece, name) for piece in pieces]
            return np.concatenate(arrays) if arrays else np.zeros(0, dtype=dtype)

        found = DocColumns(
            live=np.concatenate(lives) if lives else np.zeros(0, dtype=bool),
            outlets=Codes(joined("outlets", np.int32), list(self.outlet_codes)),
            dates=joined("dates", np.int64),
            languages=Codes(joined("languages", np.int32), list(self.language_codes)),
            stories=joined("stories", np.int64),
        )
        for name in _RANKED_FIELDS:
            arrays = [piece.lengths[name] for piece in pieces]
            found.field_lengths[name] = (np.concatenate(arrays) if arrays
                                         else np.zeros(0, dtype=np.float32))
        return found

    def _read(self, reader) -> _SegmentColumns:  # noqa: ANN001 - a Whoosh SegmentReader
        return _SegmentColumns(
            outlets=_coded_column(reader, "outlet", self.outlet_codes),
            dates=_numeric_column(reader, "date"),
            languages=_coded_column(reader, "language", self.language_codes),
            stories=_numeric_column(reader, "story"),
            lengths={name: _length_column(reader, name) for name in _RANKED_FIELDS},
        )


# struct typecodes of Whoosh's numeric columns (stored big-endian) as numpy types.
_NUMPY_TYPES = {"B": ">u1", "H": ">u2", "I": ">u4", "Q": ">u8", "b": ">i1", "h": ">i2",
                "i": ">i4", "q": ">i8"}


def _numeric_column(reader, name: str) -> np.ndarray:  # noqa: ANN001 - a SegmentReader
    """A numeric column's values for every document, read as one block of bytes (iterating
    Whoosh's column reader costs about a microsecond per value)."""
    size = reader.doc_count_all()
    column = reader.column_reader(name, translate=False) if size else None
    if isinstance(column, columns.NumericColumn.Reader) and column._typecode in _NUMPY_TYPES:
        stored = min(column._count, size)
        data = column._dbfile.get(column._basepos, stored * column._fixedlen)
        values = np.frombuffer(data, dtype=_NUMPY_TYPES[column._typecode]).astype(np.int64)
        if stored < size:  # documents added after the last stored value take the default
            values = np.concatenate([values, np.full(size - stored, column._default)])
        return values
    return np.array(list(reader.column_reader(name)) if size else [], dtype=np.int64)


def _length_column(reader, fieldname: str) -> np.ndarray:  # noqa: ANN001 - a SegmentReader
    """Each document's length in a field (as Whoosh's one-byte approximation stores it)."""
    size = reader.doc_count_all()
    column = reader._perdoc._cached_reader(whoosh3._lenfield(fieldname),
                                           whoosh3.LENGTHS_COLUMN) if size else None
    if isinstance(column, columns.NumericColumn.Reader) and column._fixedlen == 1:
        stored = min(column._count, size)
        data = np.frombuffer(column._dbfile.get(column._basepos, stored), dtype=np.uint8)
        if stored < size:
            data = np.concatenate([data, np.zeros(size - stored, dtype=np.uint8)])
        return _LENGTH_OF_BYTE[data]
    return np.array([reader.doc_field_length(d, fieldname, 0) for d in range(size)],
                    dtype=np.float32)


def _coded_column(reader, name: str, table: dict[str, int]) -> np.ndarray:  # noqa: ANN001
    """A string column as codes into `table`: a reference column's per-document references
    are read as one array and its few distinct values translated once."""
    size = reader.doc_count_all()
    column = reader.column_reader(name, translate=False) if size else None
    if isinstance(column, columns.RefBytesColumn.Reader):
        data = column._dbfile.get(column._basepos, size * column._itemsize)
        refs = np.frombuffer(data, dtype=f">u{column._itemsize}").astype(np.int64)
        codes = Codes.of([value.decode("utf-8") for value in column._uniques], table)
        return codes[refs] if len(codes) else np.zeros(size, dtype=np.int32)
    return Codes.of(list(reader.column_reader(name)) if size else [], table)


def _fields(doc: IndexDoc) -> dict[str, object]:
    return {
        "id": str(doc.id),
        "title": doc.title or "",
        "body": doc.body,
        "byline": doc.byline or "",
        "outlet": doc.outlet or "",
        "outlet_text": doc.outlet or "",
        "date": day_key(doc.published) if doc.published else 0,
        "language": doc.language or "",
        "story": doc.story or doc.id,
    }


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


class Highlighter:
    """Marks the words of a query in texts, and picks the passages with most of them.

    Written here rather than using Whoosh's highlighter, which builds a token object per
    word and was half the time of a results page (about 5 ms per body)."""

    SURROUND = 60

    def __init__(self, terms: dict[str, frozenset[str]]) -> None:
        self.terms = terms

    def passages(self, field: str, text: str, *, top: int = 3, maxchars: int = 220,
                 whole: bool = False) -> list[Fragment]:
        """The best `top` passages of `text` in text order, or the whole text as one."""
        wanted = self.terms.get(field)
        if not wanted or not text:
            return []
        hits = [(m.start(), m.end()) for m in _TOKEN.finditer(text)
                if _stem(m.group().lower()) in wanted]
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
