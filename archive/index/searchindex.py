"""The search index of one archive: one writer at a time, any number of readers."""

from __future__ import annotations

import math
import os
import re
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from whoosh import index, qparser, query
from whoosh.analysis import STOP_WORDS, StemmingAnalyzer
from whoosh.fields import Schema
from whoosh.searching import Searcher
from whoosh.writing import NO_MERGE, IndexWriter

from archive.facets import DocColumns
from archive.index import bounds
from archive.index.cache import Generation, ResultCache, generation_of
from archive.index.columns import _ColumnCache
from archive.index.expansion import capped, cut_notes, expand_all, similar_words
from archive.index.highlight import Highlighter
from archive.index.merging import MergingWriter, _merge_full_tiers, _tiers_to_merge
from archive.index.parsing import (
    _BARE_FUZZY,
    FUZZY_PREFIX,
    MIN_WILDCARD_PREFIX,
    QUERY_FIELDS,
    _clauses,
    _day,
    _expansions,
    _is_field_group,
    _leaves,
    _rewrite_dates,
    _text,
    _typed_words,
)
from archive.index.postings import PostingsCache, _matching, _Postings
from archive.index.results import Found, SearchPieces, copied
from archive.index.schema import (
    _SCHEMA,
    _VERSION_FILE,
    SCHEMA_VERSION,
    _analyzer,
    _codec,
    _fields,
    _schema,
    _storage,
    _version,
)
from archive.index.types import (
    Clause,
    Explanation,
    IndexDoc,
    IndexMissing,
    QueryError,
    SearchHits,
    SearchRequest,
)

# Batches at least this big are indexed by two processes.
BULK_DOCS = 1000
# A word in fewer articles than this is worth a "did you mean"; a suggestion must reach it.
SUGGEST_MIN_DOCS = 3


@dataclass(slots=True)
class _Reader:
    """What one request reads through: a searcher, its posting lists and columns. Each
    request borrows one for itself (Whoosh's readers share file positions, so they must not
    be used by two threads at once), and no request waits for another."""

    searcher: Searcher
    postings: _Postings
    columns: DocColumns
    generation: Generation


class SearchIndex:
    """A Whoosh index in one folder: one writer at a time, any number of readers."""

    # add() indexes the articles' text, read from the database for it.
    reads_documents = True

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = path
        # Seconds one search may take; the owner of the archive sets it from its settings.
        self.deadline_seconds: float | None = bounds.DEFAULT_DEADLINE_SECONDS
        self._pool_lock = threading.Lock()  # guards only the list of idle readers
        self._idle: list[_Reader] = []
        self._generation = 0  # bumped by close(): readers of an older one are not reused
        self._column_cache = _ColumnCache()
        self._postings_cache = PostingsCache()
        # What searches worked out, for the requests that page through them or narrow them.
        self.results = ResultCache()
        if index.exists_in(str(path)):
            if self.version() != SCHEMA_VERSION:
                raise IndexMissing(f"the search index in {path} was built by another version "
                                   "of archive: run `archive db upgrade` (or `archive "
                                   "reindex`) to rebuild it")
            self._index = _storage(path).open_index()
        elif not create:
            raise IndexMissing(f"there is no search index in {path}: run `archive reindex`")
        else:
            self._create()

    def version(self) -> int | None:
        return _version(self.path)

    @staticmethod
    def stored_version(path: Path) -> int | None:
        """The format version of the index in `path`, whichever version of archive wrote it
        (None: no index there)."""
        return _version(path) if index.exists_in(str(path)) else None

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
        # The new segments first, then, when a tier fills, a merge by a writer of its own,
        # which copies posting lists in bulk (MergingWriter) rather than posting by posting.
        writer.commit(mergetype=NO_MERGE)
        if _tiers_to_merge(self._index._segments()):
            self._writer().commit(mergetype=_merge_full_tiers)
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
        # Every segment, merged ones too, in the packed format of this version.
        if int(options.get("procs", 1)) > 1:  # type: ignore[call-overload]
            return self._index.writer(timeout=30.0, codec=_codec(), **options)
        return MergingWriter(self._index, timeout=30.0, codec=_codec(), **options)

    # --- reading -------------------------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[_Reader]:
        """A reader of the latest committed index for this request alone, under the
        request's deadline (or the index's own, for a caller that set none)."""
        with self._pool_lock:
            idle = self._idle.pop() if self._idle else None
            generation = self._generation
        reader = None
        try:
            with bounds.deadline(self.deadline_seconds):
                reader = self._refreshed(idle)
                yield reader
        finally:
            reader = reader or idle
            if reader is not None:
                with self._pool_lock:
                    kept = generation == self._generation
                    if kept:
                        self._idle.append(reader)
                if not kept:
                    reader.searcher.close()  # the index was closed or cleared meanwhile

    def ids(self) -> set[int]:
        """Every article id the index holds."""
        with self._reading() as reader:
            return {int(fields["id"]) for fields in reader.searcher.all_stored_fields()}

    def doc_count(self) -> int:
        with self._reading() as reader:
            return reader.searcher.doc_count()

    def search(self, request: SearchRequest, *, remember: bool = True) -> SearchHits:
        """Matching ids for one page, the total, facet counts and (if asked) a histogram.

        What it works out is kept for later requests of the same query on the same index
        generation (paging, facet clicks, another sort); with remember=False (an export,
        which reads every match once) it uses what is kept but keeps nothing new."""
        with self._reading() as reader:
            parsed = self.parse(request.text)
            pieces = SearchPieces(self.results, reader.generation, reader.columns,
                                  reader.postings, parsed, request,
                                  lambda: self._found(reader, parsed), remember=remember)
            found = pieces.found()
            bounds.check()  # a deadline passed while matching (or waiting for the matches)
            end = request.offset + request.limit
            ranked = pieces.ranking(end)
            counts = pieces.counts()
            stored = reader.searcher.stored_fields
            hits = SearchHits(
                total=ranked.total,
                ids=[int(stored(docnum)["id"])
                     for docnum in ranked.docnums[request.offset:end].tolist()],
                outlet_counts=list(counts.outlets),
                year_counts=list(counts.years),
                month_counts=list(counts.months),
                language_counts=list(counts.languages),
                notes=list(found.notes),
            )
            if request.histogram:
                hits.histogram = copied(pieces.histogram())
        return hits

    @staticmethod
    def _found(reader: _Reader, parsed: query.Query | None) -> Found:
        if parsed is None:
            return Found(None, ())
        docnums = np.flatnonzero(reader.columns.select(_matching(reader.postings, parsed)))
        # Matching stops early when a part of an AND finds nothing; the notes say what every
        # pattern of the query left out all the same, whichever request asked first.
        expand_all(parsed, reader.searcher.reader())
        docnums = docnums.astype(np.int32)
        docnums.flags.writeable = False
        return Found(docnums, tuple(cut_notes(parsed)))

    def parse(self, text: str) -> query.Query | None:
        """The query for a user's search string; None means "everything"."""
        return parse_query(text)

    def explain(self, text: str) -> Explanation:
        """How a query was understood: each clause, what it looks up, how many it matches."""
        with self._reading() as reader:
            parsed = self.parse(text)
            searcher = reader.searcher
            if parsed is None:
                count = searcher.doc_count()
                return Explanation("everything", [Clause("all", "", text or "*", "*", count)],
                                   count)
            typed = _typed_words(text)
            clauses = [self._clause(reader, leaf, negated, typed)
                       for leaf, negated in _clauses(parsed)]
            total = self._count(reader, parsed)
            return Explanation(str(parsed), clauses, total, cut_notes(parsed))

    @staticmethod
    def _count(reader: _Reader, node: query.Query) -> int:
        return int(reader.columns.select(_matching(reader.postings, node)).sum())

    def _clause(self, reader: _Reader, node: query.Query, negated: bool,
                typed_words: dict[str, str]) -> Clause:
        matches = self._count(reader, node)
        index_reader = reader.searcher.reader()
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
            expansions = _expansions(group, index_reader)
            searched = ", ".join(expansions) or "(no similar words)"
        elif isinstance(leaf, query.Prefix | query.Wildcard):
            kind = "prefix" if isinstance(leaf, query.Prefix) else "wildcard"
            typed = leaf.text + ("*" if kind == "prefix" else "")
            expansions = _expansions(group, index_reader)
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
        terms: dict[str, set[str]] = {}
        with self._reading() as reader:
            parsed = self.parse(text_query)
            if parsed is not None:
                index_reader = reader.searcher.reader()
                for node, negated in _clauses(parsed):
                    if negated:
                        continue
                    # Not existing_terms(): Whoosh 2.7 reuses a loop variable there and
                    # skips every field after the first.
                    for leaf in node.leaves():
                        for fieldname, term in leaf.expanded_terms(index_reader, phrases=True):
                            terms.setdefault(fieldname, set()).add(_text(term))
        return Highlighter({name: frozenset(found) for name, found in terms.items()})

    def more_like(self, article_id: int, body: str, *, limit: int = 5) -> list[int]:
        """Ids of articles most like this one (its own story's copies left out)."""
        with self._reading() as reader:
            searcher = reader.searcher
            docnum = searcher.document_number(id=str(article_id))
            if docnum is None:
                return []
            own_story = reader.columns.story[docnum]
            results = searcher.more_like(docnum, "body", text=body[:bounds.TEXT_SAMPLE_CHARS],
                                         top=limit * 4, numterms=12)
            found: list[int] = []
            for hit in results:
                if reader.columns.story[hit.docnum] != own_story and len(found) < limit:
                    found.append(int(searcher.stored_fields(hit.docnum)["id"]))
        return found

    def suggest(self, text: str, body_of: Callable[[int], str | None]) -> str | None:
        """The query with rare or unknown words replaced by close, common ones; or None.

        The index holds stems only; `body_of(article id)` lends the text of an article with
        the better stem, so the suggestion shows the word as articles write it."""
        with self._reading() as reader:
            # Asked again by every page of a result list and every facet click: kept per
            # index generation like the results themselves.
            return self.results.get(reader.generation, ("suggestion", text),
                                    lambda: self._suggestion(reader, text, body_of))

    def _suggestion(self, reader: _Reader, text: str, body_of: Callable[[int], str | None]
                    ) -> str | None:
        analyzer = _analyzer()
        corrected = text
        try:
            parsed = self.parse(text)
        except QueryError:
            return None
        if parsed is None:
            return None
        searcher = reader.searcher
        index_reader = searcher.reader()
        searched = {_text(t) for f, t in parsed.iter_all_terms() if f in ("body", "title")}
        replacements = {}
        for word in dict.fromkeys(re.findall(r"\w+", text, re.UNICODE)):
            stems = [token.text for token in analyzer(word.lower())]
            if len(stems) != 1 or stems[0] not in searched or len(stems[0]) < 3:
                continue
            found = index_reader.doc_frequency("body", stems[0])
            if found >= SUGGEST_MIN_DOCS:
                continue
            # An unknown word takes any known neighbour; a rare one only a far commoner.
            enough = 1 if found == 0 else max(SUGGEST_MIN_DOCS, 10 * found)
            options = [(index_reader.doc_frequency("body", near), near)
                       for near in similar_words(index_reader, "body", stems[0], 2, 1)]
            frequent = max((o for o in options if o[0] >= enough), default=None)
            if frequent:
                docnum = next(searcher.docs_for_query(query.Term("body", frequent[1])))
                replacements[word] = (frequent[1],
                                      int(searcher.stored_fields(docnum)["id"]))
        for word, (stem, article_id) in replacements.items():
            sample = (body_of(article_id) or "")[:bounds.TEXT_SAMPLE_CHARS]
            surface = _surface_form(stem, sample, analyzer) or stem
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
        with self._reading() as reader:
            for body in texts:
                bounds.check()
                sample_size += 1
                seen = set()
                for token in analyzer(body[:bounds.TEXT_SAMPLE_CHARS], keeporiginal=True):
                    if (token.text not in seen and len(token.text) > 2
                            and not token.text.isdigit() and token.text not in STOP_WORDS):
                        seen.add(token.text)
                        surface.setdefault(token.text, Counter())[token.original.lower()] += 1
                in_sample.update(seen)
            if sample_size < 2:
                return []
            queried = {t.text for t in analyzer(exclude)}
            searcher = reader.searcher
            index_reader = searcher.reader()
            size = max(searcher.doc_count(), 1)
            scored = []
            for stem, count in in_sample.items():
                if count < 2 or stem in queried:
                    continue
                foreground = count / sample_size
                background = max(index_reader.doc_frequency("body", stem), 1) / size
                if foreground > background:
                    score = (foreground - background) * foreground / background
                    scored.append((score, stem))
        scored.sort(reverse=True)
        return [(surface[stem].most_common(1)[0][0], round(score, 3))
                for score, stem in scored[:top] if math.isfinite(score)]

    def close(self) -> None:
        """Close the idle readers (one still in use by a request closes when it is done)."""
        with self._pool_lock:
            idle, self._idle = self._idle, []
            self._column_cache = _ColumnCache()
            self._postings_cache = PostingsCache()
            self.results = ResultCache()
            self._generation += 1
        for reader in idle:
            reader.searcher.close()

    def _refreshed(self, reader: _Reader | None) -> _Reader:
        """A reader of the latest commit: this one, brought up to date (a new searcher,
        posting lists and columns when a writer committed since its last use), or a new one."""
        searcher = self._latest_searcher(None if reader is None else reader.searcher)
        if reader is not None and searcher is reader.searcher:
            return reader
        columns = self._column_cache.columns(searcher)
        generation = generation_of(searcher)
        postings = _Postings(searcher, self._postings_cache, generation)
        if reader is None:
            return _Reader(searcher, postings, columns, generation)
        reader.searcher, reader.postings, reader.columns = searcher, postings, columns
        reader.generation = generation
        return reader

    def _latest_searcher(self, current: Searcher | None) -> Searcher:
        # A writer in another process may be replacing the table of contents at this very
        # moment (Whoosh then deletes the old one): retry briefly; an open searcher stays
        # valid meanwhile, since it holds its files open.
        for attempt in range(5):
            try:
                return self._index.searcher() if current is None else current.refresh()
            except (OSError, EOFError, ValueError, KeyError):
                if current is not None and attempt == 4:
                    return current
                time.sleep(0.05 * (attempt + 1))
        return self._index.searcher()


def parse_query(text: str, schema: Schema = _SCHEMA) -> query.Query | None:
    """The query for a user's search string; None means "everything". Every engine parses
    with this (another engine with a schema of its own analysers): one query language."""
    if not text.strip():
        return None
    for word in re.findall(r"\w+", text):
        bounds.check_word(word)
    try:
        parsed = query_parser(schema).parse(_BARE_FUZZY.sub("~2", _rewrite_dates(text)))
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
    return capped(parsed)


def query_parser(schema: Schema = _SCHEMA) -> qparser.QueryParser:
    parser = qparser.MultifieldParser(["title", "body"], schema, group=qparser.AndGroup)
    parser.remove_plugin_class(qparser.FieldsPlugin)
    names = "|".join(QUERY_FIELDS)
    parser.add_plugin(qparser.FieldsPlugin(expr=rf"(?P<text>{names}):"))
    parser.add_plugin(qparser.FieldAliasPlugin({"outlet_text": ["outlet"]}))
    parser.add_plugin(qparser.FuzzyTermPlugin())
    parser.add_plugin(qparser.PlusMinusPlugin())
    return parser


def _surface_form(stem: str, body: str, analyzer: StemmingAnalyzer) -> str | None:
    """The word (lower-cased) as a text writes it, for one of its stems."""
    for token in analyzer(body, keeporiginal=True):
        if token.text == stem:
            return token.original.lower()
    return None
