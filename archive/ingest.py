"""`archive ingest`: inputs -> raw documents -> extracted articles -> database -> index.

Order of writes, which keeps the database and the index consistent through any crash:
a batch of rows is committed with `indexed_at` empty, then indexed, then marked indexed.
Rows left unmarked by a crash are indexed again (replacing any copy) at the next start.
(With the PostgreSQL engine, whose index is the database, rows are committed marked, their
words recorded in the same transaction.)

Work is spread over the machine: worker processes extract articles; the main thread
deduplicates and writes batches to the database; committed batches are indexed by a helper
process (Whoosh analyses them in processes of its own), so storing and indexing overlap.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import multiprocessing
import os
import pickle
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from archive import boilerplate, outlets, phrase_index, rawcontent, store, writers
from archive.config import InstancePaths
from archive.document import Extracted, ExtractionError, RawDocument
from archive.extract import CLEANER_VERSION, extract
from archive.index import PostgresIndex
from archive.instance import Archive
from archive.maintenance import index_rows, tidy_index, unfinished_runs
from archive.maintenance import prepare as prepare_archive
from archive.models import Article, IngestError, IngestRun, utcnow
from archive.processes import (
    die_with_parent,
    forked_children_die_with_parent,
    leave_interrupts_to_parent,
)
from archive.readers import (
    DEFAULT_MAX_BYTES,
    BadRecord,
    InputFile,
    ReadError,
    Skipped,
    find_inputs,
    read_input,
)
from archive.site_evidence import file_by_site, fill_unknown_outlets
from archive.stories import late_matches, match_batch, resolve, stories_of, story_keys

logger = logging.getLogger(__name__)

# Rows per database transaction: a crash loses at most this much work.
BATCH_SIZE = 500
# Stored rows are indexed in big batches (Whoosh commits are costly, and every commit adds
# segments), but soon enough that searches see new articles within seconds to a minute.
INDEX_EVERY_ROWS = 5000
INDEX_SOON_ROWS, INDEX_SOON_SECONDS = 500, 5.0
INDEX_LATEST_SECONDS = 60.0
# Committed rows that may wait for the index while the next batches are stored: enough for
# storing to go on through a segment merge, few enough that searches soon see new articles.
INDEX_LAG_ROWS = 20_000
# Once a run has stored this many rows, its batches are indexed by a helper process (see
# _BackgroundIndexer); a smaller run is indexed in a thread of this process.
HELPER_ROWS = 500
# Below this many documents, starting worker processes costs more than it saves.
POOL_THRESHOLD = 24
# Documents handed to the extraction workers ahead of the one the main process takes next:
# a batch and then some, so that the workers go on with the next batch while the main
# process stores one (with less, they sat idle through each write); and input bytes at
# most, so that memory stays flat on huge inputs.
LOOKAHEAD_DOCUMENTS = BATCH_SIZE + 100
LOOKAHEAD_BYTES = 64 * 1024 * 1024
# Raw documents looked up in the database at once, to skip those stored before.
LOOKUP_CHUNK = 200


@dataclass(slots=True)
class IngestOptions:
    """What a run was asked to do; stored with the run so `--retry-failed` can repeat it."""

    hints: dict[str, str] = field(default_factory=dict)
    manifest: dict[str, dict[str, str]] = field(default_factory=dict)
    jobs: int = 1
    max_bytes: int = DEFAULT_MAX_BYTES
    # A large load (PostgreSQL): the index of phrase pairs is built once at the end rather
    # than article by article (phrase_index.py).
    bulk: bool = False


@dataclass(slots=True)
class IngestSummary:
    run_id: int
    added: int = 0
    duplicates: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    # What was brought up to date first (stories after an upgrade, an interrupted run ...).
    maintenance: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # Stopped on request (Ctrl-C) after storing and indexing what was already read.
    interrupted: bool = False
    # Text dumps that named no outlet and were filed under their site's, by the lines they
    # share with its stored pages (site_evidence.py).
    site_outlets: int = 0
    # PostgreSQL: seconds spent building the index of phrase pairs at the end, when a bulk
    # ingest held it back (this run or an interrupted one); or whether it is still to build.
    phrase_index_seconds: float | None = None
    phrase_index_left: bool = False

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass(frozen=True, slots=True)
class Prepared:
    """An extracted article with what dedupe needs, computed in the worker process."""

    article: Extracted
    body_hash: str
    story_keys: tuple[int, ...]
    # Text dumps only: the short lines that may prove to be the outlet's boilerplate.
    line_candidates: dict[int, str] = field(default_factory=dict)
    # The raw input as sources.content keeps it: compressed here, in the worker, so that
    # the main process (which stores every batch) does not spend its time on it.
    stored: rawcontent.Stored | None = None


@dataclass(frozen=True, slots=True)
class ReadProgress:
    """How far an ingest has read its inputs; reported after every document and file."""

    files_done: int
    files: int
    # Of the inputs' total size: the files read whole and what was read of the current one
    # (of a compressed file, its compressed bytes), so a big file's progress moves with it.
    bytes_done: int
    bytes_total: int
    documents: int  # read so far, whether or not they turn out to be new articles
    # Once reading is over: articles stored but not yet indexed, which the run waits for
    # (up to INDEX_LAG_ROWS of them, minutes of work on a big load).
    indexing_left: int = 0
    # Once everything is stored: a last step that takes a while ("building ...").
    finishing: str = ""


Progress = Callable[[ReadProgress], None]


def ingest(archive: Archive, paths: list[str], options: IngestOptions | None = None, *,
           progress: Progress | None = None, stop: threading.Event | None = None
           ) -> IngestSummary:
    """Ingest files and folders; the caller holds `archive.writing()`. Setting `stop` ends
    the run early but cleanly: what was read is stored and indexed, the rest is left for
    the next run (which skips what is stored)."""
    _children_die_with_this_process()
    options = options or IngestOptions()
    started = time.monotonic()
    run_id, unfinished = _start_run(archive, paths, options)
    summary = IngestSummary(run_id=run_id)
    with archive.index_turn():  # other writers (PostgreSQL) must not index meanwhile
        summary.maintenance = unfinished + prepare_archive(archive)
    with archive.sessions() as session:
        learned = boilerplate.learned(session)
    run = _Run(archive, options, summary)
    with phrase_index.deferred(archive.engine, options.bulk) as deferral:
        summary.interrupted = _read_and_store(run, paths, learned, progress, stop)
        if not summary.interrupted:
            # Pages stored early in the run, before their site's lines were learned.
            summary.site_outlets += fill_unknown_outlets(archive, run_id)
            tidy_index(archive)  # a merge can take minutes: not while the user waits to stop
        with archive.sessions() as session, session.begin():
            writers.take_store_turn(session)  # not amid another writer's counting (PostgreSQL)
            boilerplate.prune(session, run.outlets_with_dumps)
        summary.seconds = time.monotonic() - started
        _finish_run(archive, summary)
        if not summary.interrupted:
            announce = _finishing_reporter(progress, run.last_read)
            summary.phrase_index_seconds = deferral.build(announce) if deferral.active else \
                phrase_index.build_if_deferred(archive.engine, announce)
    summary.phrase_index_left = summary.phrase_index_seconds is None and \
        phrase_index.left_to_build(archive.engine)
    return summary


def _read_and_store(run: _Run, paths: list[str], learned: frozenset[int],
                    progress: Progress | None, stop: threading.Event | None) -> bool:
    """Read, extract, store and index every input; whether `stop` ended it early."""
    archive, options = run.archive, run.options
    indexer = _BackgroundIndexer(archive)
    interrupted = False
    try:
        documents = run.new_documents(run.raw_documents(list(find_inputs(paths)), progress))
        with closing(extract_all(documents, options.jobs, learned, archive.outlet_table,
                                 compress=store.compresses(archive.engine))) as extracted:
            for raw, result in extracted:
                if isinstance(result, str):
                    run.errors.append((raw.uri, result))
                else:
                    run.pending.append((raw, result))
                if len(run.pending) + len(run.errors) >= BATCH_SIZE:
                    indexer.submit(run.flush())
                if stop is not None and stop.is_set():
                    interrupted = True
                    break
        indexer.submit(run.flush())
    finally:
        # Waits for what was submitted and raises what indexing raised.
        indexer.close(_indexing_reporter(progress, run.last_read))
    return interrupted


def _indexing_reporter(progress: Progress | None, last_read: Callable[[], ReadProgress | None]
                       ) -> Callable[[int], None] | None:
    if progress is None:
        return None
    sink = progress

    def report(left: int) -> None:
        read = last_read() or ReadProgress(0, 0, 0, 0, 0)
        sink(dataclasses.replace(read, indexing_left=left))

    return report


def _finishing_reporter(progress: Progress | None,
                        last_read: Callable[[], ReadProgress | None]) -> Callable[[str], None]:
    def report(step: str) -> None:
        logger.info("%s", step)
        if progress is not None:
            read = last_read() or ReadProgress(0, 0, 0, 0, 0)
            progress(dataclasses.replace(read, indexing_left=0, finishing=step))

    return report


_registered = False


def _children_die_with_this_process() -> None:
    global _registered
    if not _registered:
        forked_children_die_with_parent()
        _registered = True


class _Run:
    """The state of one ingest: the batch being filled and what has been seen."""

    def __init__(self, archive: Archive, options: IngestOptions, summary: IngestSummary):
        self.archive = archive
        self.options = options
        self.summary = summary
        self.pending: list[tuple[RawDocument, Prepared]] = []
        self.errors: list[tuple[str, str]] = []
        self.outlets = store.OutletCache()
        self.seen_sources: set[str] = set()
        self.seen_bodies: set[str] = set()
        self.outlets_with_dumps: set[int] = set()
        self._last_read: ReadProgress | None = None

    def last_read(self) -> ReadProgress | None:
        return self._last_read

    def raw_documents(self, inputs: list[InputFile | BadRecord | Skipped],
                      progress: Progress | None) -> Iterator[RawDocument]:
        files = [item for item in inputs if isinstance(item, InputFile)]
        total = sum(item.size or 0 for item in files)
        done_files = done_bytes = documents = 0
        position = 0  # within the file being read

        def report() -> None:
            self._last_read = ReadProgress(done_files, len(files), done_bytes + position, total,
                                           documents)
            if progress:
                progress(self._last_read)

        def moved(offset: int) -> None:
            nonlocal position
            position = max(position, offset)  # a zip is read in its own order

        for item in inputs:
            if isinstance(item, BadRecord):
                self.errors.append((item.uri, item.reason))
                continue
            if isinstance(item, Skipped):
                self.summary.skipped.append((item.uri, item.reason))
                continue
            if item.format is None:
                self.summary.skipped.append((str(item.path), "not a supported kind of file"))
            else:
                position = 0
                for raw in self._read(item, moved):
                    documents += 1
                    report()
                    yield raw
            done_files += 1
            done_bytes += item.size or 0
            position = 0
            report()

    def _read(self, item: InputFile, position: Callable[[int], None]) -> Iterator[RawDocument]:
        hints = {**self.options.hints,
                 **self.options.manifest.get(os.path.realpath(item.path), {})}
        try:
            for found in read_input(item, max_bytes=self.options.max_bytes, hints=hints,
                                    position=position):
                if isinstance(found, RawDocument):
                    yield found
                elif isinstance(found, Skipped):
                    self.summary.skipped.append((found.uri, found.reason))
                else:
                    self.errors.append((found.uri, found.reason))
        except ReadError as exc:
            self.errors.append((str(item.path), str(exc)))

    def new_documents(self, raws: Iterable[RawDocument]) -> Iterator[RawDocument]:
        """Drop inputs already stored (same bytes), before spending time extracting them."""
        raws = iter(raws)
        while chunk := list(islice(raws, LOOKUP_CHUNK)):
            digests = [store.sha256(raw.data) for raw in chunk]
            # A short session per look-up: a long read transaction would stop SQLite from
            # checkpointing its write-ahead log during a big ingest.
            with self.archive.sessions() as session:
                known = store.known_sources(session, digests)
            for raw, digest in zip(chunk, digests, strict=True):
                if digest in known or digest in self.seen_sources:
                    self.summary.duplicates += 1
                    continue
                self.seen_sources.add(digest)
                yield raw

    def flush(self) -> list[int]:
        """Write the pending batch in one transaction; returns the new article ids that are
        left to index."""
        pending, self.pending = self.pending, []
        errors, self.errors = self.errors, []
        if not pending and not errors:
            return []
        # The PostgreSQL engine's words go into the vocabulary in the batch's own transaction
        # and its rows are stored marked indexed: marking them after their commit rewrote
        # every row, and every index (three of them GIN) took the row's entries again.
        indexed_here = self.archive.search_engine == "postgresql"
        with self.archive.sessions() as session:
            try:
                with session.begin():
                    concurrent = self.archive.concurrent_writers
                    self.archive.confirm_writer(session)
                    commits = writers.commits_so_far(session) if concurrent else 0
                    pairs, filed = self._new_articles(session, pending)
                    source_ids, ids = store.next_ids(session, len(pairs))
                    if concurrent:
                        pairs, source_ids, ids = self._claim_sources(session, pairs,
                                                                     source_ids, ids)
                    new = [item for item, _ in pairs]
                    compared: set[int] = set()
                    matches = match_batch(session, [(n.article.body, n.story_keys) for n in new],
                                          compared)
                    stored = stories_of(session, [m[1] for m in matches if m and m[0] == "stored"])
                    if concurrent and any(n.article.outlet and self.outlets.id_for(
                            session, n.article.outlet, create=False) is None for n in new):
                        # A new outlet's name is unique: one writer creates it, and the
                        # others wait here to read it.
                        writers.take_store_turn(session)
                    outlet_ids = [self.outlets.id_for(session, n.article.outlet) for n in new]
                    stories = resolve(matches, ids, stored)
                    store.write_batch(session, new, ids=ids, source_ids=source_ids,
                                      stories=stories, outlet_ids=outlet_ids,
                                      run_id=self.summary.run_id,
                                      cleaner_version=CLEANER_VERSION, errors=errors,
                                      indexed=indexed_here, sources_written=concurrent)
                    # PostgreSQL: from here to the commit, one writer at a time, so that
                    # what the batches of other writers committed meanwhile is seen. A
                    # batch in its turn claims nothing more, and one waiting on a claim
                    # holds no turn: the two waits never close a circle.
                    writers.take_store_turn(session)
                    # Only when another writer committed since this batch looked: a lone
                    # writer pays nothing for settling.
                    if concurrent and writers.commits_so_far(session) != commits:
                        keep = self._settle_with_other_writers(session, new, ids, stories,
                                                               compared)
                        pairs, outlet_ids, ids = (_kept(keep, pairs), _kept(keep, outlet_ids),
                                                  _kept(keep, ids))
                    if indexed_here:
                        PostgresIndex.record_words(session.connection(), ids)
                    self._learn_boilerplate(session, pairs, outlet_ids)
                    # In the batch's own transaction, so a killed run's counts stay true.
                    session.execute(update(IngestRun).where(IngestRun.id == self.summary.run_id)
                                    .values(articles_added=IngestRun.articles_added + len(ids),
                                            files_failed=IngestRun.files_failed + len(errors),
                                            duplicates_skipped=self.summary.duplicates))
            except BaseException:
                self.outlets.forget()
                raise
        self.summary.added += len(ids)
        self.summary.site_outlets += filed
        self.summary.failures.extend(errors)
        return [] if indexed_here else ids

    def _new_articles(self, session: Session, pending: list[tuple[RawDocument, Prepared]]
                      ) -> tuple[list[tuple[store.NewArticle, Prepared]], int]:
        """The batch without exact duplicates of stored articles or of each other, dumps that
        named no outlet filed under their site's; and how many were."""
        known = store.known_bodies(session, [prepared.body_hash for _, prepared in pending])
        digests = [store.sha256(raw.data) for raw, _ in pending]
        # Looked up before extraction already; again here for what another writer (on
        # PostgreSQL) stored since.
        stored = (store.known_sources(session, digests)
                  if self.archive.concurrent_writers else set())
        kept = []
        for (raw, prepared), digest in zip(pending, digests, strict=True):
            if (prepared.body_hash in known or prepared.body_hash in self.seen_bodies
                    or digest in stored):
                self.summary.duplicates += 1
                continue
            self.seen_bodies.add(prepared.body_hash)
            kept.append((raw, digest, prepared))
        filed = file_by_site(session, [prepared for _, _, prepared in kept])
        new = [(store.NewArticle(raw, digest, prepared.article, prepared.body_hash,
                                 prepared.story_keys, prepared.stored), prepared)
               for (raw, digest, _), prepared in zip(kept, filed, strict=True)]
        return new, sum(a is not b for (_, _, a), b in zip(kept, filed, strict=True))

    def _claim_sources(self, session: Session, pairs: list[tuple[store.NewArticle, Prepared]],
                       source_ids: list[int], ids: list[int]
                       ) -> tuple[list[tuple[store.NewArticle, Prepared]], list[int], list[int]]:
        """Several writers: store the batch's raw inputs first and go on with those no
        other writer stored meanwhile (the rest are duplicates)."""
        claimed = store.claim_sources(session, [item for item, _ in pairs], source_ids,
                                      self.summary.run_id)
        self.summary.duplicates += claimed.count(False)
        return _kept(claimed, pairs), _kept(claimed, source_ids), _kept(claimed, ids)

    def _settle_with_other_writers(self, session: Session, new: list[store.NewArticle],
                                   ids: list[int], stories: list[int], compared: set[int]
                                   ) -> list[bool]:
        """In the store turn, after writing: drop the batch's articles whose text another
        writer committed while it was written, and join its new stories to copies they
        committed. Returns which articles stay."""
        ours = set(ids)
        taken = store.bodies_stored_elsewhere(session, [n.body_hash for n in new], ours)
        keep = [n.body_hash not in taken for n in new]
        story_moves = {article_id: taken[n.body_hash]
                       for n, article_id in zip(new, ids, strict=True) if n.body_hash in taken}
        roots = [(article_id, n.article.body, n.story_keys)
                 for n, article_id, story, kept in zip(new, ids, stories, keep, strict=True)
                 if kept and story == article_id and n.story_keys]
        late = late_matches(session, roots, ours | compared)
        joined = stories_of(session, list(late.values()))
        story_moves.update({root: joined[copy] for root, copy in late.items()})
        store.remove_articles(session, _kept([not kept for kept in keep], ids))
        for story, moved_to in story_moves.items():
            session.execute(update(Article).where(Article.story_id == story,
                                                  Article.id.in_(ids))
                            .values(story_id=moved_to))
        self.summary.duplicates += keep.count(False)
        return keep

    def _learn_boilerplate(self, session: Session,
                           pairs: list[tuple[store.NewArticle, Prepared]],
                           outlet_ids: list[int | None]) -> None:
        for (_, prepared), outlet_id in zip(pairs, outlet_ids, strict=True):
            if prepared.line_candidates and outlet_id is not None:
                boilerplate.record(session, outlet_id, prepared.line_candidates)
                self.outlets_with_dumps.add(outlet_id)


_Item = TypeVar("_Item")


def _kept(flags: Sequence[bool], items: Sequence[_Item]) -> list[_Item]:
    """The items whose flag is set, in order."""
    return [item for item, flag in zip(items, flags, strict=True) if flag]


class _BackgroundIndexer:
    """Indexes committed batches while the next ones are extracted and stored. A thread
    gathers them into big batches and hands them to a helper process, which indexes them
    (a run of fewer than HELPER_ROWS rows is indexed in the thread). Indexed in the thread,
    Whoosh's analysis and segment merges (Python code, hours of it over a million
    articles) held the interpreter lock the main thread needs to store the next batches,
    and the main thread waited for each index commit besides, so a run used little more
    than one core whatever --jobs said.

    Storing runs ahead of indexing by up to INDEX_LAG_ROWS rows. The order of writes is
    unchanged: rows are committed unmarked, then indexed, then marked (the helper marks
    them, after its index commit), so a crash at any moment leaves only unmarked rows,
    which the next run indexes. An error in indexing stops the run at the next submit."""

    def __init__(self, archive: Archive) -> None:
        self._archive = archive
        self._queue: queue.Queue[list[int] | None] = queue.Queue(
            maxsize=max(1, INDEX_LAG_ROWS // BATCH_SIZE))
        self._error: BaseException | None = None
        self._helper: ProcessPoolExecutor | None = None
        self._submitted = 0
        self._indexed = 0  # written by the indexing thread only
        self._thread = threading.Thread(target=self._work, name="archive-indexer", daemon=True)
        self._thread.start()

    def submit(self, ids: list[int]) -> None:
        """Hand over a committed batch; called by the main thread."""
        self._raise_error()
        if not ids:
            return
        self._submitted += len(ids)
        if self._helper is None and self._submitted >= HELPER_ROWS:
            self._helper = _start_pool(1, _init_index_helper)
        self._queue.put(ids)

    def close(self, waiting: Callable[[int], None] | None = None) -> None:
        """Wait for every submitted row to be indexed, telling `waiting` every second how
        many are left (a wait shorter than a second goes unsaid)."""
        self._queue.put(None)
        self._thread.join(timeout=1.0)
        while self._thread.is_alive():
            left = self._submitted - self._indexed
            if waiting is not None and left > 0 and self._error is None:
                waiting(left)
            self._thread.join(timeout=1.0)
        if self._helper is not None:
            self._helper.shutdown()
        self._raise_error()

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _work(self) -> None:
        waiting: list[int] = []
        last = time.monotonic()
        finished = False
        while not finished:
            try:
                ids = self._queue.get(timeout=0.5)
            except queue.Empty:
                ids = []
            finished = ids is None
            waiting.extend(ids or [])
            waited = time.monotonic() - last
            due = (len(waiting) >= INDEX_EVERY_ROWS
                   or (len(waiting) >= INDEX_SOON_ROWS and waited >= INDEX_SOON_SECONDS)
                   or waited >= INDEX_LATEST_SECONDS)
            if waiting and (finished or due) and self._error is None:
                try:
                    self._index(waiting)
                    self._indexed += len(waiting)
                except BaseException as exc:  # handed to the main thread
                    self._error = exc
                waiting, last = [], time.monotonic()

    def _index(self, ids: list[int]) -> None:
        helper = self._helper
        if helper is None:
            # A small run: starting a process (a second or so) would cost more than it saves.
            index_rows(self._archive, ids, replace=False)
        else:
            helper.submit(_index_in_helper, self._archive.paths, ids).result()


def _start_pool(workers: int, initializer: Callable[..., None], *initargs: object
                ) -> ProcessPoolExecutor:
    """Worker processes started now, from a clean interpreter (spawn: not a fork of this
    process with its open database connections and threads), deaf to Ctrl-C from their
    first instruction on: one that came while a worker was still importing, before its
    initializer could ignore it, killed the worker and broke the run."""
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(
        "spawn"), initializer=initializer, initargs=initargs)
    # A new process inherits the signal mask of the thread that starts it, through exec.
    # Blocked here, a Ctrl-C meanwhile waits for this thread and is not lost.
    masking = hasattr(signal, "pthread_sigmask")  # not on Windows
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if masking else set()
    try:
        for _ in range(workers):
            pool.submit(int)  # each submit to a pool without an idle worker starts one
    finally:
        if masking:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    return pool


_helper_archive: Archive | None = None


def _init_index_helper() -> None:
    die_with_parent()
    leave_interrupts_to_parent()
    forked_children_die_with_parent()  # Whoosh's own indexing processes, forked from here


def _index_in_helper(paths: InstancePaths, ids: list[int]) -> None:
    """Index and mark stored rows, in the helper process (which keeps the archive open)."""
    global _helper_archive
    if _helper_archive is None:
        _helper_archive = Archive(paths, create=False)
    try:
        index_rows(_helper_archive, ids, replace=False)
    except Exception as exc:
        try:
            pickle.dumps(exc)
        except Exception:  # e.g. a database error holding its connection: send its words
            raise RuntimeError(f"{exc.__class__.__name__}: {exc}") from None
        raise


def extract_all(raws: Iterable[RawDocument], jobs: int, learned: frozenset[int],
                outlet_table: Path | None = None, *, compress: bool = False
                ) -> Generator[tuple[RawDocument, Prepared | str]]:
    """Extract in input order; in worker processes when jobs > 1 and there is enough work.

    `learned`: boilerplate line hashes; `outlet_table`: the archive's own outlets.csv;
    `compress`: pack each raw input for storing (only an ingest into SQLite stores it so)."""
    _init_worker(learned, outlet_table, compress)
    raws = iter(raws)
    head = list(islice(raws, POOL_THRESHOLD)) if jobs > 1 else []
    if jobs <= 1 or len(head) < POOL_THRESHOLD:
        for raw in chain(head, raws):
            yield raw, prepare(raw)
        return
    with _start_pool(jobs, _init_worker, learned, outlet_table, compress, True) as pool:
        submitted: deque[tuple[RawDocument, Future[Prepared | str]]] = deque()
        ahead = 0  # bytes of the documents submitted and not yet taken
        for raw in chain(head, raws):
            submitted.append((raw, pool.submit(prepare, raw)))
            ahead += len(raw.data)
            while len(submitted) > jobs and (len(submitted) >= LOOKAHEAD_DOCUMENTS
                                             or ahead >= LOOKAHEAD_BYTES):
                first, future = submitted.popleft()
                ahead -= len(first.data)
                yield first, future.result()
        while submitted:
            raw, future = submitted.popleft()
            yield raw, future.result()


_learned = boilerplate.Predicate(frozenset())
_compress = False


def _init_worker(hashes: frozenset[int], outlet_table: Path | None, compress: bool = False,
                 worker: bool = False) -> None:
    """Give a worker process (or this one) what the archive knows: its learned boilerplate
    and its own outlet names, which live in each process separately."""
    global _learned, _compress
    if worker:
        die_with_parent()
        leave_interrupts_to_parent()
    _learned = boilerplate.Predicate(hashes)
    _compress = compress
    if outlet_table is not None:
        outlets.load_user_table(outlet_table)


def prepare(raw: RawDocument) -> Prepared | str:
    """The article and its fingerprints, or a sentence saying why there is none (never an
    exception). Runs in worker processes."""
    try:
        article = extract(raw, is_boilerplate=_learned if _learned.hashes else None)
        candidates = boilerplate.candidate_lines(raw.data.decode("utf-8", "replace")
                                                 ) if raw.format == "txt" else {}
        return Prepared(article, store.body_hash(article.body), story_keys(article.body),
                        candidates, rawcontent.pack(raw.data) if _compress else None)
    except ExtractionError as exc:
        return str(exc)
    except RecursionError:
        return "the document is nested too deeply to read"
    except MemoryError:
        return "the document is too large to process in memory"
    except Exception as exc:  # a bug in a third-party parser must not stop the run
        return f"unexpected error while extracting ({exc.__class__.__name__}: {exc})"


def _start_run(archive: Archive, paths: list[str], options: IngestOptions
               ) -> tuple[int, list[str]]:
    """The new run's id, and a note for each earlier run that died without finishing."""
    arguments = {"paths": paths, "hints": options.hints, "max_bytes": options.max_bytes}
    notes = []
    with archive.sessions() as session, session.begin():
        # Counted again from what they stored: runs of older versions counted only at the end.
        for run_id, stored, failed in unfinished_runs(session):
            session.execute(update(IngestRun).where(IngestRun.id == run_id).values(
                status="interrupted", articles_added=stored, files_failed=failed))
            notes.append(f"noted that ingest run {run_id} never finished; what it stored "
                         f"({stored} article{'s' * (stored != 1)}) is kept")
        run = IngestRun(arguments=json.dumps(arguments))
        session.add(run)
        session.flush()
        # Before the commit shows the run to other writers: alive from their first look.
        archive.claim_run(run.id)
        return run.id, notes


def _finish_run(archive: Archive, summary: IngestSummary) -> None:
    with archive.sessions() as session, session.begin():
        session.execute(update(IngestRun).where(IngestRun.id == summary.run_id).values(
            status="interrupted" if summary.interrupted else "completed",
            finished_at=utcnow(), articles_added=summary.added,
            duplicates_skipped=summary.duplicates, files_failed=len(summary.failures)))


def failed_inputs_of_last_run(archive: Archive) -> tuple[int | None, list[str], dict[str, str]]:
    """The files whose documents failed in the newest run, and the values it was given."""
    with archive.sessions() as session:
        run = session.scalars(select(IngestRun).order_by(IngestRun.id.desc()).limit(1)).first()
        if run is None:
            return None, [], {}
        uris = session.scalars(select(IngestError.uri).where(IngestError.ingest_run_id == run.id))
        files = list(dict.fromkeys(_file_of(uri) for uri in uris))
        try:
            hints = json.loads(run.arguments).get("hints", {})
        except (ValueError, AttributeError):
            hints = {}
    return run.id, files, hints


def _file_of(uri: str) -> str:
    """The input file behind a document's uri (path#L3, bundle.zip!a.html, crawl.warc#url)."""
    for position, char in enumerate(uri):
        if char in "#!" and Path(uri[:position]).is_file():
            return uri[:position]
    return uri
