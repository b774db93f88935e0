"""`archive ingest`: inputs -> raw documents -> extracted articles -> database -> index.

Order of writes, which keeps the database and the index consistent through any crash:
a batch of rows is committed with `indexed_at` empty, then indexed, then marked indexed.
Rows left unmarked by a crash are indexed again (replacing any copy) at the next start.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from archive import boilerplate, store
from archive.document import Extracted, ExtractionError, RawDocument
from archive.extract import CLEANER_VERSION, extract
from archive.instance import Archive
from archive.maintenance import index_rows
from archive.maintenance import prepare as prepare_archive
from archive.models import Article, IngestError, IngestRun, utcnow
from archive.readers import (
    DEFAULT_MAX_BYTES,
    BadRecord,
    InputFile,
    ReadError,
    Skipped,
    find_inputs,
    read_input,
)
from archive.stories import StoryFinder, key_rows, story_keys, story_of

# Rows per transaction and per index commit: large enough to amortise Whoosh's commit,
# small enough that a crash loses little work.
BATCH_SIZE = 500
# Below this many documents, starting worker processes costs more than it saves.
POOL_THRESHOLD = 24


@dataclass(slots=True)
class IngestOptions:
    """What a run was asked to do; stored with the run so `--retry-failed` can repeat it."""

    hints: dict[str, str] = field(default_factory=dict)
    manifest: dict[str, dict[str, str]] = field(default_factory=dict)
    jobs: int = 1
    max_bytes: int = DEFAULT_MAX_BYTES


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


@dataclass(frozen=True, slots=True)
class _Item:
    raw: RawDocument
    sha256: str
    prepared: Prepared
    # The copy of this story found at ingest: ("stored", article id), ("pending", position
    # in this batch), or None for a new story.
    story_match: tuple[str, int] | None


@dataclass(slots=True)
class _Batch:
    items: list[_Item] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)


Progress = Callable[[int, int], None]


def ingest(archive: Archive, paths: list[str], options: IngestOptions | None = None, *,
           progress: Progress | None = None) -> IngestSummary:
    """Ingest files and folders; the caller holds `archive.writing()`."""
    options = options or IngestOptions()
    started = time.monotonic()
    summary = IngestSummary(run_id=_start_run(archive, paths, options))
    summary.maintenance = prepare_archive(archive)
    run = _Run(archive, options, summary)
    inputs = list(find_inputs(paths))
    documents = run.new_documents(run.raw_documents(inputs, progress))
    with archive.sessions() as session:
        learned = boilerplate.learned(session)
    for raw, result in extract_all(documents, options.jobs, learned):
        if isinstance(result, str):
            run.batch.errors.append((raw.uri, result))
        else:
            run.add(raw, result)
        if len(run.batch.items) + len(run.batch.errors) >= BATCH_SIZE:
            run.flush()
    run.flush()
    with archive.sessions() as session, session.begin():
        boilerplate.prune(session, run.outlets_with_dumps)
    summary.seconds = time.monotonic() - started
    _finish_run(archive, summary)
    return summary


class _Run:
    """The state of one ingest: the batch being filled and what has been seen."""

    def __init__(self, archive: Archive, options: IngestOptions, summary: IngestSummary):
        self.archive = archive
        self.options = options
        self.summary = summary
        self.batch = _Batch()
        self.outlets = store.OutletCache()
        self.seen_sources: set[str] = set()
        self.seen_bodies: set[str] = set()
        self.stories = StoryFinder()
        self.outlets_with_dumps: set[int] = set()

    def raw_documents(self, inputs: list[InputFile | BadRecord], progress: Progress | None
                      ) -> Iterator[RawDocument]:
        for done, item in enumerate(inputs, start=1):
            if isinstance(item, BadRecord):
                self.batch.errors.append((item.uri, item.reason))
            elif item.format is None:
                self.summary.skipped.append((str(item.path), "not a supported kind of file"))
            else:
                yield from self._read(item)
            if progress:
                progress(done, len(inputs))

    def _read(self, item: InputFile) -> Iterator[RawDocument]:
        hints = {**self.options.hints,
                 **self.options.manifest.get(str(item.path.resolve()), {})}
        try:
            for found in read_input(item, max_bytes=self.options.max_bytes, hints=hints):
                if isinstance(found, RawDocument):
                    yield found
                elif isinstance(found, Skipped):
                    self.summary.skipped.append((found.uri, found.reason))
                else:
                    self.batch.errors.append((found.uri, found.reason))
        except ReadError as exc:
            self.batch.errors.append((str(item.path), str(exc)))

    def new_documents(self, raws: Iterable[RawDocument]) -> Iterator[RawDocument]:
        """Drop inputs already stored (same bytes), before spending time extracting them."""
        for raw in raws:
            digest = store.sha256(raw.data)
            if digest in self.seen_sources or self._stored(store.source_exists, digest):
                self.summary.duplicates += 1
                continue
            self.seen_sources.add(digest)
            yield raw

    def add(self, raw: RawDocument, prepared: Prepared) -> None:
        digest = prepared.body_hash
        if digest in self.seen_bodies or self._stored(store.body_exists, digest):
            self.summary.duplicates += 1
            return
        self.seen_bodies.add(digest)
        with self.archive.sessions() as session:
            match = self.stories.find(session, prepared.article.body, prepared.story_keys,
                                      len(self.batch.items))
        self.batch.items.append(_Item(raw, store.sha256(raw.data), prepared, match))

    def _stored(self, exists: Callable[[Session, str], bool], digest: str) -> bool:
        # A short session per look-up: a long read transaction would stop SQLite from
        # checkpointing its write-ahead log during a big ingest.
        with self.archive.sessions() as session:
            return exists(session, digest)

    def flush(self) -> None:
        batch, self.batch = self.batch, _Batch()
        self.stories.clear()
        if not batch.items and not batch.errors:
            return
        run_id = self.summary.run_id
        with self.archive.sessions() as session:
            try:
                with session.begin():
                    rows = [store.add_article(session, item.raw, item.prepared.article,
                                              digest=item.sha256,
                                              hash_of_body=item.prepared.body_hash,
                                              run_id=run_id, outlets=self.outlets,
                                              cleaner_version=CLEANER_VERSION)
                            for item in batch.items]
                    session.add_all(IngestError(ingest_run_id=run_id, uri=uri, reason=reason)
                                    for uri, reason in batch.errors)
                    session.flush()
                    _join_stories(session, batch.items, rows)
                    for item, row in zip(batch.items, rows, strict=True):
                        if item.prepared.line_candidates and row.outlet_id is not None:
                            boilerplate.record(session, row.outlet_id,
                                               item.prepared.line_candidates)
                            self.outlets_with_dumps.add(row.outlet_id)
                    ids = [row.id for row in rows]
            except BaseException:
                self.outlets.forget()
                raise
        self.summary.added += len(ids)
        self.summary.failures.extend(batch.errors)
        index_rows(self.archive, ids, replace=False, batch=len(ids) or 1)


def _join_stories(session: Session, items: list[_Item], rows: list[Article]) -> None:
    """Give each new row its story id (now that ids exist) and store its band keys."""
    for item, row in zip(items, rows, strict=True):
        match = item.story_match
        if match is None:
            row.story_id = row.id
        elif match[0] == "pending":
            row.story_id = rows[match[1]].story_id
        else:
            row.story_id = story_of(session, match[1])
        session.add_all(key_rows(row.id, item.prepared.story_keys))


def extract_all(raws: Iterable[RawDocument], jobs: int, learned: frozenset[int]
                 ) -> Iterator[tuple[RawDocument, Prepared | str]]:
    """Extract in input order; in worker processes when jobs > 1 and there is enough work."""
    use_learned_boilerplate(learned)
    raws = iter(raws)
    head: list[RawDocument] = []
    if jobs > 1:
        for raw in raws:
            head.append(raw)
            if len(head) >= POOL_THRESHOLD:
                break
    if jobs <= 1 or len(head) < POOL_THRESHOLD:
        for raw in chain(head, raws):
            yield raw, prepare(raw)
        return
    # forkserver: workers start from a clean process that has imported the extractors once,
    # not from a fork of this one with its open database connections and threads.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["archive.extract"])
    window = jobs * 16  # bounded look-ahead: memory stays flat on huge inputs
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context,
                             initializer=use_learned_boilerplate, initargs=(learned,)) as pool:
        pending: deque[tuple[RawDocument, Future[Prepared | str]]] = deque()
        for raw in chain(head, raws):
            pending.append((raw, pool.submit(prepare, raw)))
            if len(pending) >= window:
                first, future = pending.popleft()
                yield first, future.result()
        while pending:
            raw, future = pending.popleft()
            yield raw, future.result()


_learned = boilerplate.Predicate(frozenset())


def use_learned_boilerplate(hashes: frozenset[int]) -> None:
    """Set the boilerplate `prepare` applies (in each worker process, at its start)."""
    global _learned
    _learned = boilerplate.Predicate(hashes)


def prepare(raw: RawDocument) -> Prepared | str:
    """The article and its fingerprints, or a sentence saying why there is none (never an
    exception). Runs in worker processes."""
    try:
        article = extract(raw, is_boilerplate=_learned if _learned.hashes else None)
        candidates = boilerplate.candidate_lines(raw.data.decode("utf-8", "replace")
                                                 ) if raw.format == "txt" else {}
        return Prepared(article, store.body_hash(article.body), story_keys(article.body),
                        candidates)
    except ExtractionError as exc:
        return str(exc)
    except RecursionError:
        return "the document is nested too deeply to read"
    except MemoryError:
        return "the document is too large to process in memory"
    except Exception as exc:  # a bug in a third-party parser must not stop the run
        return f"unexpected error while extracting ({exc.__class__.__name__}: {exc})"


def _start_run(archive: Archive, paths: list[str], options: IngestOptions) -> int:
    arguments = {"paths": paths, "hints": options.hints, "max_bytes": options.max_bytes}
    with archive.sessions() as session, session.begin():
        # Runs still marked "running" died without finishing: the lock we hold proves it.
        session.execute(update(IngestRun).where(IngestRun.status == "running")
                        .values(status="interrupted"))
        run = IngestRun(arguments=json.dumps(arguments))
        session.add(run)
        session.flush()
        return run.id


def _finish_run(archive: Archive, summary: IngestSummary) -> None:
    with archive.sessions() as session, session.begin():
        session.execute(update(IngestRun).where(IngestRun.id == summary.run_id).values(
            status="completed", finished_at=utcnow(), articles_added=summary.added,
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
