"""What every command shares: opening the archive, the writer lock, progress, dates."""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click
from sqlalchemy.exc import InterfaceError, OperationalError

from archive.db import DatabaseError, reason
from archive.index import IndexMissing
from archive.instance import Archive, ArchiveBusy, is_storage_full
from archive.outlets import OutletTableError
from archive.settings import SettingsError
from archive.writers import WriterLost

if TYPE_CHECKING:
    from archive.ingest import ReadProgress

INTERRUPTED_EXIT = 130  # what shells report for a command ended by Ctrl-C


@contextmanager
def open_archive(ctx: click.Context, *, create: bool = True) -> Iterator[Archive]:
    try:
        archive = Archive(ctx.obj, create=create)
    except (DatabaseError, OutletTableError, SettingsError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        yield archive
    except (IndexMissing, WriterLost) as exc:  # e.g. an index of an older format
        raise click.ClickException(str(exc)) from None
    except (OperationalError, InterfaceError) as exc:
        if not archive.paths.on_server:
            raise
        # The server went away (restart, network) or gave up on a transaction: a sentence,
        # not a traceback; the write order keeps what was committed whole.
        raise click.ClickException(
            f"the database {archive.paths.described()} failed: {reason(exc)}. What was "
            "committed is kept; run the command again.") from None
    finally:
        archive.close()


@contextmanager
def writing(archive: Archive, wait: bool, *, shared: bool = False) -> Iterator[None]:
    """The archive's writer lock; `shared` for ingests, which a PostgreSQL archive lets
    run side by side."""
    try:
        with archive.writing(wait=wait, shared=shared):
            yield
    except ArchiveBusy as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:
        if not is_storage_full(exc):
            raise
        raise click.ClickException(
            f"the disk holding {archive.paths.root} is full. Everything up to the last "
            "completed batch is stored and searchable; free some space and run the same "
            "command again to continue.") from None


# C0 and C1 controls, and the line separators and bidirectional overrides that can make a
# printed line look like another (a name is anything its creator chose, even "\n  FAILED").
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """Text from outside (a file or zip-member name, a reason quoting one) as it may be
    printed: control characters become visible escapes like \\n and \\x1b."""
    return _UNPRINTABLE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match[0])
    return _NAMED.get(match[0]) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """Progress on stderr, driven by (done, total) calls: a bar on a terminal, otherwise (a
    log file, cron) a plain line every half minute once a run takes that long."""
    started = time.monotonic()
    if not sys.stderr.isatty():
        yield _progress_lines(label, started)
        return
    with click.progressbar(length=1, label=label, file=sys.stderr, show_pos=True,
                           show_eta=True) as bar:
        def step(done: int, total: int) -> None:
            rate = done / max(time.monotonic() - started, 1e-6)
            bar.label = f"{label} ({rate:.0f} files/s)"
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

        yield step


PROGRESS_LINE_SECONDS = 30.0


def _progress_lines(label: str, started: float) -> Callable[[int, int], None]:
    next_line = started + PROGRESS_LINE_SECONDS

    def step(done: int, total: int) -> None:
        nonlocal next_line
        now = time.monotonic()
        if now < next_line:
            return
        next_line = now + PROGRESS_LINE_SECONDS
        rate = done / (now - started)
        left = f", about {(total - done) / rate / 60:.0f} min left" if rate and done < total else ""
        print(f"{label}: {done} of {total} files ({rate:.1f} files/s{left})", file=sys.stderr,
              flush=True)

    return step


# A bar redrawn for every document would cost more than some documents take to store.
BAR_SECONDS = 0.1


@contextmanager
def ingest_progress(label: str) -> Iterator[Callable[[ReadProgress], None]]:
    """An ingest's progress on stderr: a bar over the bytes of its inputs that moves with
    every document read, since one big JSON Lines or WARC file can be a whole run; not on a
    terminal, a plain line every half minute."""
    started = time.monotonic()
    if not sys.stderr.isatty():
        yield _ingest_lines(label, started)
        return
    with click.progressbar(length=1, label=label, file=sys.stderr, show_pos=False,
                           show_percent=True, show_eta=True) as bar:
        shown = 0.0

        def step(read: ReadProgress) -> None:
            nonlocal shown
            now = time.monotonic()
            if read.finishing:
                bar.label = f"{label}: all stored; {read.finishing}"
                bar.update(max((bar.length or 0) - bar.pos, 0))
                return
            if read.indexing_left:
                bar.label = f"{label}: all read, indexing the last {read.indexing_left:,} articles"
                bar.update(max((bar.length or 0) - bar.pos, 0))
                return
            if now - shown < BAR_SECONDS and read.files_done < read.files:
                return
            shown = now
            rate = read.documents / max(now - started, 1e-6)
            bar.label = f"{label} ({read.documents:,} documents, {rate:.0f}/s)"
            done, total = _measure(read)
            bar.length = max(total, 1)
            bar.update(max(done - bar.pos, 0))

        yield step


def _measure(read: ReadProgress) -> tuple[int, int]:
    """Bytes when the inputs' sizes are known (not for standard input), else files."""
    if read.bytes_total:
        return min(read.bytes_done, read.bytes_total), read.bytes_total
    return read.files_done, read.files


def _ingest_lines(label: str, started: float) -> Callable[[ReadProgress], None]:
    next_line = started + PROGRESS_LINE_SECONDS

    indexing_told = False

    def step(read: ReadProgress) -> None:
        nonlocal next_line, indexing_told
        now = time.monotonic()
        if read.finishing:
            print(f"{label}: {read.documents} documents read, all stored; {read.finishing}",
                  file=sys.stderr, flush=True)
            return
        if read.indexing_left and (not indexing_told or now >= next_line):
            # Said at once: the wait can be minutes, after a last line saying "100% read".
            indexing_told = True
            next_line = now + PROGRESS_LINE_SECONDS
            print(f"{label}: {read.documents} documents read; indexing the last "
                  f"{read.indexing_left} articles", file=sys.stderr, flush=True)
            return
        if read.indexing_left or now < next_line:
            return
        next_line = now + PROGRESS_LINE_SECONDS
        done, total = _measure(read)
        share = done / total if total else 1.0
        elapsed = max(now - started, 1e-6)
        left = (f", about {elapsed * (1 - share) / share / 60:.0f} min left"
                if 0 < share < 1 else "")
        size = f" of {read.bytes_total / 1e6:.1f} MB" if read.bytes_total else ""
        print(f"{label}: {read.files_done} of {read.files} files, {read.documents} documents "
              f"({share:.0%}{size} read, {read.documents / elapsed:.1f} documents/s{left})",
              file=sys.stderr, flush=True)

    return step


def parse_day(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2022-03-31") from None


# How much lower a writer's CPU priority is than a reader's (Unix nice levels, 0 to 19).
WRITER_NICENESS = 10
# "0" keeps writers at normal priority (as `archive ingest --normal-priority` does).
LOW_PRIORITY_ENV = "ARCHIVE_LOW_PRIORITY"


def yield_cpu_to_readers() -> None:
    """Lower this process's CPU priority (its worker processes inherit it). On a machine
    of two cores an ingest's processes otherwise take the CPU from the web server: API p95
    went to 5 s during an ingest of 3,000 rows."""
    if os.environ.get(LOW_PRIORITY_ENV, "1").strip().lower() in ("0", "false", "no", "off"):
        return
    if hasattr(os, "setpriority"):  # not on Windows, where the priority stays as it is
        # Set, not added: a second call (tests run commands in one process) changes nothing.
        current = os.getpriority(os.PRIO_PROCESS, 0)
        os.setpriority(os.PRIO_PROCESS, 0, max(current, WRITER_NICENESS))
