"""`archive ingest`: inputs -> raw documents -> extracted articles -> database -> index.

Order of writes, which keeps the database and the index consistent through any crash:
a batch of rows is committed with `indexed_at` empty, then indexed, then marked indexed.
Rows left unmarked by a crash are indexed again (replacing any copy) at the next start.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import update
from sqlalchemy.orm import Session

from archive import store
from archive.document import Extracted, ExtractionError, RawDocument
from archive.extract import CLEANER_VERSION, extract
from archive.instance import Archive
from archive.maintenance import index_rows, repair_unindexed
from archive.models import IngestError, IngestRun, utcnow
from archive.readers import (
    DEFAULT_MAX_BYTES,
    BadRecord,
    InputFile,
    ReadError,
    find_inputs,
    read_input,
)

# Rows per transaction and per index commit: large enough to amortise Whoosh's commit,
# small enough that a crash loses little work.
BATCH_SIZE = 200


@dataclass(slots=True)
class IngestSummary:
    run_id: int
    added: int = 0
    duplicates: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    repaired: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass(slots=True)
class _Batch:
    items: list[tuple[RawDocument, str, Extracted, str]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    body_hashes: set[str] = field(default_factory=set)


Progress = Callable[[int, int], None]


def ingest(archive: Archive, paths: list[str], *, hints: dict[str, str] | None = None,
           jobs: int = 1, max_bytes: int = DEFAULT_MAX_BYTES,
           progress: Progress | None = None) -> IngestSummary:
    """Ingest files and folders; the caller holds `archive.writing()`."""
    started = time.monotonic()
    summary = IngestSummary(run_id=_start_run(archive, paths))
    summary.repaired = repair_unindexed(archive)
    inputs = list(find_inputs(paths))
    files_done = 0
    outlets = store.OutletCache()
    batch = _Batch()
    seen_sources: set[str] = set()

    def raw_documents() -> Iterator[RawDocument]:
        nonlocal files_done
        for item in inputs:
            if isinstance(item, BadRecord):
                batch.errors.append((item.uri, item.reason))
            elif item.format is None:
                summary.skipped.append((str(item.path), "not a supported kind of file"))
            else:
                yield from _read(item, max_bytes, hints or {}, batch)
            files_done += 1
            if progress:
                progress(files_done, len(inputs))

    def new_documents() -> Iterator[RawDocument]:
        for raw in raw_documents():
            digest = store.sha256(raw.data)
            if digest in seen_sources or _stored(archive, store.source_exists, digest):
                summary.duplicates += 1
                continue
            seen_sources.add(digest)
            yield raw

    for raw, result in _extract_all(new_documents(), jobs):
        if isinstance(result, str):
            batch.errors.append((raw.uri, result))
        else:
            _add_to_batch(archive, raw, result, batch, summary)
        if len(batch.items) + len(batch.errors) >= BATCH_SIZE:
            _flush(archive, batch, summary, outlets)
            batch = _Batch(body_hashes=batch.body_hashes)
    _flush(archive, batch, summary, outlets)
    summary.seconds = time.monotonic() - started
    _finish_run(archive, summary)
    return summary


def _read(item: InputFile, max_bytes: int, hints: dict[str, str], batch: _Batch
          ) -> Iterator[RawDocument]:
    try:
        for raw in read_input(item, max_bytes=max_bytes, hints=hints):
            if isinstance(raw, BadRecord):
                batch.errors.append((raw.uri, raw.reason))
            else:
                yield raw
    except ReadError as exc:
        batch.errors.append((str(item.path), str(exc)))


def _add_to_batch(archive: Archive, raw: RawDocument, article: Extracted, batch: _Batch,
                  summary: IngestSummary) -> None:
    digest = store.body_hash(article.body)
    if digest in batch.body_hashes:
        summary.duplicates += 1
        return
    if _stored(archive, store.body_exists, digest):
        summary.duplicates += 1
        return
    batch.body_hashes.add(digest)
    batch.items.append((raw, store.sha256(raw.data), article, digest))


def _stored(archive: Archive, exists: Callable[[Session, str], bool], digest: str) -> bool:
    # A short session per look-up: a long read transaction would stop SQLite from
    # checkpointing its write-ahead log during a big ingest.
    with archive.sessions() as session:
        return exists(session, digest)


def _flush(archive: Archive, batch: _Batch, summary: IngestSummary,
           outlets: store.OutletCache) -> None:
    if not batch.items and not batch.errors:
        return
    with archive.sessions() as session:
        try:
            with session.begin():
                rows = [store.add_article(session, raw, article, digest=digest,
                                          hash_of_body=body, run_id=summary.run_id,
                                          outlets=outlets, cleaner_version=CLEANER_VERSION)
                        for raw, digest, article, body in batch.items]
                session.add_all(IngestError(ingest_run_id=summary.run_id, uri=uri, reason=reason)
                                for uri, reason in batch.errors)
                session.flush()
                ids = [row.id for row in rows]
        except BaseException:
            outlets.forget()
            raise
    summary.added += len(ids)
    summary.failures.extend(batch.errors)
    index_rows(archive, ids, replace=False)


def _extract_all(raws: Iterable[RawDocument], jobs: int
                 ) -> Iterator[tuple[RawDocument, Extracted | str]]:
    """Extract in order, in worker processes when jobs > 1."""
    if jobs <= 1:
        for raw in raws:
            yield raw, extract_or_reason(raw)
        return
    window = jobs * 8  # bounded look-ahead: memory stays flat on huge inputs
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        pending: list[tuple[RawDocument, Future[Extracted | str]]] = []
        for raw in raws:
            pending.append((raw, pool.submit(extract_or_reason, raw)))
            if len(pending) >= window:
                first, future = pending.pop(0)
                yield first, future.result()
        for raw, future in pending:
            yield raw, future.result()


def extract_or_reason(raw: RawDocument) -> Extracted | str:
    """The article, or a sentence saying why there is none (never an exception)."""
    try:
        return extract(raw)
    except ExtractionError as exc:
        return str(exc)
    except RecursionError:
        return "the document is nested too deeply to read"
    except MemoryError:
        return "the document is too large to process in memory"
    except Exception as exc:  # a bug in a third-party parser must not stop the run
        return f"unexpected error while extracting ({exc.__class__.__name__}: {exc})"


def _start_run(archive: Archive, paths: list[str]) -> int:
    with archive.sessions() as session, session.begin():
        # Runs still marked "running" died without finishing: the lock we hold proves it.
        session.execute(update(IngestRun).where(IngestRun.status == "running")
                        .values(status="interrupted"))
        run = IngestRun(arguments=json.dumps(paths))
        session.add(run)
        session.flush()
        return run.id


def _finish_run(archive: Archive, summary: IngestSummary) -> None:
    with archive.sessions() as session, session.begin():
        session.execute(update(IngestRun).where(IngestRun.id == summary.run_id).values(
            status="completed", finished_at=utcnow(), articles_added=summary.added,
            duplicates_skipped=summary.duplicates, files_failed=len(summary.failures)))
