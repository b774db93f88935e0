"""The full-text index. The only module that touches Whoosh: a server engine replaces this file.

The index is derived data: it holds what search needs (ids, analysed title and body, outlet,
date, language) and nothing that cannot be rebuilt from the database.
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from whoosh import highlight, index, qparser, query
from whoosh.analysis import StemmingAnalyzer
from whoosh.fields import ID, NUMERIC, TEXT, Schema
from whoosh.searching import Searcher
from whoosh.writing import IndexWriter

Sort = Literal["relevance", "newest", "oldest"]
SORTS: tuple[Sort, ...] = ("relevance", "newest", "oldest")
UNKNOWN_YEAR = 0
# Shortest prefix a wildcard may have: "a*" would expand to most of the vocabulary.
MIN_WILDCARD_PREFIX = 2


class QueryError(ValueError):
    """A query the index cannot run; the message tells the user what to change."""


class IndexMissing(Exception):
    """There is no index where one was expected; `archive reindex` builds it."""


@dataclass(frozen=True, slots=True)
class IndexDoc:
    id: int
    title: str
    body: str
    outlet: str | None
    published: dt.date | None
    language: str | None
    byline: str | None = None


@dataclass(frozen=True, slots=True)
class SearchRequest:
    text: str = ""
    outlets: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    sort: Sort = "relevance"
    offset: int = 0
    limit: int = 10


@dataclass(slots=True)
class SearchHits:
    total: int
    ids: list[int]
    # Counts over all matches: by outlet (ignoring the outlet filter, so more outlets can be
    # added) and by year (ignoring the date filter); most frequent first.
    outlet_counts: list[tuple[str, int]] = field(default_factory=list)
    year_counts: list[tuple[int, int]] = field(default_factory=list)


# A snippet is a list of fragments; a fragment is a list of (text, is_match) pieces.
Fragment = list[tuple[str, bool]]


def _analyzer() -> StemmingAnalyzer:
    # Stop words are kept: news searches depend on phrases like "no limits" or "the west".
    return StemmingAnalyzer(stoplist=None, minsize=1, cachesize=100_000)


def _schema() -> Schema:
    analyzer = _analyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(analyzer=analyzer, field_boost=2.0),
        body=TEXT(analyzer=analyzer),
        byline=TEXT(analyzer=analyzer),
        outlet=ID(sortable=True),
        date=NUMERIC(int, bits=32, sortable=True),  # YYYYMMDD, 0 when unknown
        language=ID(sortable=True),
    )


class SearchIndex:
    """A Whoosh index in one folder: one writer at a time, any number of readers."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._searcher: Searcher | None = None
        self._columns: _Columns | None = None
        if index.exists_in(str(path)):
            self._index = index.open_dir(str(path))
        elif not create:
            raise IndexMissing(f"there is no search index in {path}: run `archive reindex`")
        else:
            path.mkdir(parents=True, exist_ok=True)
            self._index = index.create_in(str(path), _schema())

    # --- writing -------------------------------------------------------------------------

    def add(self, docs: Iterable[IndexDoc], *, replace: bool = False) -> int:
        """Index documents and commit; with replace, an existing id is overwritten."""
        count = 0
        writer = self._writer()
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
        writer.commit()
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
        self.path.mkdir(parents=True, exist_ok=True)
        self._index = index.create_in(str(self.path), _schema())

    def _writer(self) -> IndexWriter:
        # Callers hold the archive's ingest lock, so waiting here only covers a stale lock
        # file's owner finishing; Whoosh's own lock is the last guard against two writers.
        return self._index.writer(timeout=30.0)

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
        """Matching ids for one page, the total, and facet counts over all matches."""
        parsed = self.parse(request.text)
        with self._lock:
            searcher = self._current_searcher()
            columns = self._columns_for(searcher)
            matched = columns.live.copy() if parsed is None else columns.mask(
                searcher.docs_for_query(parsed))
            outlet_ok = columns.outlet_mask(request.outlets)
            date_ok = columns.date_mask(request.date_from, request.date_to)
            selected = matched & outlet_ok & date_ok
            total = int(selected.sum())
            outlet_counts = columns.count_outlets(matched & date_ok)
            year_counts = columns.count_years(matched & outlet_ok)
            docnums = self._page(searcher, columns, parsed, selected, request)
            ids = [int(searcher.stored_fields(docnum)["id"]) for docnum in docnums]
        return SearchHits(total, ids, outlet_counts, year_counts)

    def _page(self, searcher: Searcher, columns: _Columns, parsed: query.Query | None,
              selected: np.ndarray, request: SearchRequest) -> list[int]:
        end = request.offset + request.limit
        if request.sort == "relevance" and parsed is not None:
            allowed = set(np.flatnonzero(selected).tolist())
            results = searcher.search(parsed, limit=end, filter=allowed)
            return [hit.docnum for hit in results[request.offset:end]]
        docnums = np.flatnonzero(selected)
        # Ties broken by document number, i.e. ingest order, so pages never overlap.
        newest_first = request.sort != "oldest"
        keys = columns.date[docnums]
        if not newest_first:
            keys = np.where(keys == 0, np.iinfo(np.int32).max, keys)  # undated ones last
        order = np.lexsort((-docnums if newest_first else docnums,
                            -keys if newest_first else keys))
        return docnums[order][request.offset:end].tolist()

    def parse(self, text: str) -> query.Query | None:
        """The query for a user's search string; None means "everything"."""
        if not text.strip():
            return None
        parser = qparser.MultifieldParser(["title", "body"], self._index.schema,
                                          group=qparser.AndGroup)
        parser.remove_plugin_class(qparser.FieldsPlugin)
        parser.add_plugin(qparser.FieldsPlugin(expr=r"(?P<text>title|body|byline):"))
        try:
            parsed = parser.parse(text)
        except Exception as exc:  # Whoosh raises bare exceptions on some odd input
            raise QueryError(f"could not understand the query: {exc}") from None
        for wildcard in _wildcards(parsed):
            pattern = wildcard.text + ("*" if isinstance(wildcard, query.Prefix) else "")
            prefix = pattern.split("*")[0].split("?")[0]
            if len(prefix) < MIN_WILDCARD_PREFIX:
                raise QueryError(
                    f"'{pattern}' needs at least {MIN_WILDCARD_PREFIX} letters before its "
                    "first * or ? (a shorter start would match most words)")
        if parsed is query.NullQuery:
            raise QueryError("the query has no words to search for")
        if isinstance(parsed, query.Every) or (
                isinstance(parsed, query.Or) and all(isinstance(c, query.Every)
                                                     for c in parsed.children())):
            return None  # a lone * asks for everything
        return parsed

    def highlight(self, text_query: str, field: str, text: str, *, top: int = 3,
                  maxchars: int = 220, whole: bool = False) -> list[Fragment]:
        """The best passages of `text` for the query, matches marked; [] if none match.

        With whole, one fragment holding all of `text` (for titles)."""
        parsed = self.parse(text_query)
        if parsed is None or not text:
            return []
        terms = {term for fieldname, term in _terms(parsed) if fieldname == field}
        if not terms:
            return []
        fragmenter = (highlight.WholeFragmenter(charlimit=None) if whole else
                      highlight.ContextFragmenter(maxchars=maxchars, surround=60, charlimit=None))
        return highlight.highlight(text, terms, _analyzer(), fragmenter, _PieceFormatter(),
                                   top=top, order=highlight.FIRST)

    def close(self) -> None:
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
            self._searcher = None
            self._columns = None

    def _current_searcher(self) -> Searcher:
        if self._searcher is None:
            self._searcher = self._index.searcher()
        else:
            self._searcher = self._searcher.refresh()
        return self._searcher

    def _columns_for(self, searcher: Searcher) -> _Columns:
        if self._columns is None or self._columns.searcher is not searcher:
            self._columns = _Columns(searcher)
        return self._columns


def _fields(doc: IndexDoc) -> dict[str, object]:
    date = doc.published
    return {
        "id": str(doc.id),
        "title": doc.title or "",
        "body": doc.body,
        "byline": doc.byline or "",
        "outlet": doc.outlet or "",
        "date": date.year * 10000 + date.month * 100 + date.day if date else 0,
        "language": doc.language or "",
    }


def _wildcards(parsed: query.Query) -> Iterator[query.Wildcard]:
    if isinstance(parsed, query.Wildcard | query.Prefix):
        yield parsed
    for child in parsed.children():
        yield from _wildcards(child)


def _terms(parsed: query.Query) -> Iterator[tuple[str, bytes | str]]:
    for fieldname, text in parsed.iter_all_terms():
        yield fieldname, text.decode("utf-8") if isinstance(text, bytes) else text


class _PieceFormatter(highlight.Formatter):
    """Returns fragments as (text, is_match) pieces, so escaping stays with the caller."""

    def format(self, fragments, replace=False):  # noqa: ANN001, ANN201 - Whoosh's signature
        pieces: list[Fragment] = []
        for fragment in fragments:
            out: Fragment = []
            position = fragment.startchar
            for token in fragment.matches:
                if token.startchar is None or token.startchar < position:
                    continue
                if token.startchar > position:
                    out.append((fragment.text[position:token.startchar], False))
                out.append((fragment.text[token.startchar:token.endchar], True))
                position = token.endchar
            out.append((fragment.text[position:fragment.endchar], False))
            pieces.append(out)
        return pieces


class _Columns:
    """Per-document outlet, date and liveness arrays for one searcher, for bulk filtering
    and facet counting (Whoosh's own facets walk every match in Python)."""

    def __init__(self, searcher: Searcher) -> None:
        self.searcher = searcher
        reader = searcher.reader()
        size = reader.doc_count_all()
        self.live = np.zeros(size, dtype=bool)
        self.live[list(reader.all_doc_ids())] = True
        outlets = reader.column_reader("outlet") if size else []
        self.outlet_names: list[str] = []
        codes: dict[str, int] = {}
        self.outlet = np.fromiter(
            (codes.setdefault(name, len(codes)) for name in outlets), dtype=np.int32, count=size)
        self.outlet_names = list(codes)
        dates = reader.column_reader("date") if size else []
        self.date = np.fromiter(dates, dtype=np.int32, count=size)
        self.year = self.date // 10000

    def mask(self, docnums: Iterable[int]) -> np.ndarray:
        selected = np.zeros(len(self.live), dtype=bool)
        selected[np.fromiter(docnums, dtype=np.int64)] = True
        return selected & self.live

    def outlet_mask(self, outlets: tuple[str, ...]) -> np.ndarray:
        if not outlets:
            return self.live
        wanted = [self.outlet_names.index(name) for name in outlets if name in self.outlet_names]
        return np.isin(self.outlet, wanted) & self.live

    def date_mask(self, start: dt.date | None, end: dt.date | None) -> np.ndarray:
        mask = self.live.copy()
        if start:
            mask &= self.date >= start.year * 10000 + start.month * 100 + start.day
        if end:
            mask &= (self.date <= end.year * 10000 + end.month * 100 + end.day) & (self.date > 0)
        return mask

    def count_outlets(self, selected: np.ndarray) -> list[tuple[str, int]]:
        counts = np.bincount(self.outlet[selected], minlength=len(self.outlet_names))
        pairs = [(self.outlet_names[code], int(n)) for code, n in enumerate(counts) if n]
        return sorted(pairs, key=lambda pair: (-pair[1], pair[0]))

    def count_years(self, selected: np.ndarray) -> list[tuple[int, int]]:
        years, counts = np.unique(self.year[selected], return_counts=True)
        return sorted(((int(y), int(n)) for y, n in zip(years, counts, strict=True)),
                      key=lambda pair: -pair[0])
