"""The search index of one archive: one writer at a time, any number of readers."""

from __future__ import annotations

import math
import os
import re
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
from whoosh import index, qparser, query
from whoosh.analysis import STOP_WORDS, StemmingAnalyzer
from whoosh.searching import Searcher
from whoosh.writing import IndexWriter

from archive.facets import DocColumns
from archive.index.columns import _ColumnCache
from archive.index.highlight import Highlighter
from archive.index.merging import _merge_full_tiers, _tiers_to_merge
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
from archive.index.postings import _matching, _Postings, _rank
from archive.index.schema import (
    _SCHEMA,
    _VERSION_FILE,
    SCHEMA_VERSION,
    _analyzer,
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




def _surface_form(stem: str, body: str, analyzer: StemmingAnalyzer) -> str | None:
    """The word (lower-cased) as a text writes it, for one of its stems."""
    for token in analyzer(body, keeporiginal=True):
        if token.text == stem:
            return token.original.lower()
    return None
