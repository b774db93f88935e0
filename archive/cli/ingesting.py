"""`archive ingest`, `archive extract` and `archive reclean`: articles in."""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import click

from archive import maintenance
from archive import reclean as recleaning
from archive.cli.common import (
    INTERRUPTED_EXIT,
    LOW_PRIORITY_ENV,
    default_jobs,
    ingest_progress,
    open_archive,
    printable,
    progress_bar,
    writing,
    yield_cpu_to_readers,
)
from archive.document import ExtractionError
from archive.extract import extract as extract_article
from archive.ingest import IngestOptions, IngestSummary, failed_inputs_of_last_run, ingest
from archive.manifest import ManifestError, load_manifest
from archive.outlets import OutletTableError, load_user_table
from archive.readers import (
    DEFAULT_MAX_BYTES,
    BadRecord,
    InputFile,
    ReadError,
    Skipped,
    find_inputs,
    read_input,
)


@click.command("ingest")
@click.argument("paths", nargs=-1)
@click.option("--outlet", help="Outlet of every article in this run (wins over extraction).")
@click.option("--url", help="Web address of the page (for a single file).")
@click.option("--meta", "manifest", type=click.Path(dir_okay=False, path_type=Path),
              help="CSV with a 'path' column and any of url, outlet, date, title, byline, "
                   "language: values for each file, winning over extraction.")
@click.option("--retry-failed", is_flag=True,
              help="Try again the inputs that failed in the last ingest run.")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=default_jobs(),
              show_default=True, help="Worker processes for cleaning and extraction.")
@click.option("--max-size", type=click.FloatRange(0.001), default=DEFAULT_MAX_BYTES / 1e6,
              show_default=True, help="Refuse documents larger than this many MB.")
@click.option("--wait", is_flag=True, help="Wait for another running ingest instead of stopping.")
@click.option("--bulk", is_flag=True,
              help="A large load into a PostgreSQL archive: build the index of phrase pairs "
                   "once at the end instead of article by article (much faster; until then "
                   "phrases are searched without it, more slowly). No effect on SQLite.")
@click.option("--low-priority/--normal-priority", default=True, show_default=True,
              envvar=LOW_PRIORITY_ENV,
              help="Run at a lower CPU priority, so that searches of the same archive stay "
                   f"quick while the ingest runs (also ${LOW_PRIORITY_ENV}=0 or 1).")
@click.pass_context
def ingest_command(ctx: click.Context, paths: tuple[str, ...], outlet: str | None,
                   url: str | None, manifest: Path | None, retry_failed: bool, jobs: int,
                   max_size: float, wait: bool, bulk: bool, low_priority: bool) -> None:
    """Add articles from files and folders (searched recursively); - reads standard input.

    Reads whole-page text dumps (.txt), HTML pages (.html), JSON Lines, JSON and CSV exports
    (news-please, Media Cloud, CC-News, `archive export`), web archives (.warc, .warc.gz),
    and any of these inside .gz or .zip files. Inputs already in the archive are skipped, so
    running it again on the same folder adds only what is new. Exits with status 1 if any
    input failed; the failures are listed and kept in the database.
    """
    hints = {key: value for key, value in (("outlet", outlet), ("url", url)) if value}
    try:
        per_file = load_manifest(manifest) if manifest else {}
    except ManifestError as exc:
        raise click.BadParameter(printable(str(exc)), param_hint="--meta") from None
    if low_priority:
        yield_cpu_to_readers()
    with open_archive(ctx) as archive, writing(archive, wait, shared=True):
        if retry_failed:
            run_id, retry, earlier_hints = failed_inputs_of_last_run(archive)
            if not retry:
                click.echo(f"Nothing to retry: ingest run {run_id} had no failures."
                           if run_id else "Nothing to retry: nothing was ingested yet.")
                return
            click.echo(f"Retrying {len(retry)} input(s) that failed in ingest run {run_id}.")
            paths = (*paths, *retry)
            hints = {**earlier_hints, **hints}
        if not paths:
            raise click.UsageError("give files or folders to ingest (or --retry-failed)")
        options = IngestOptions(hints=hints, manifest=per_file, jobs=jobs,
                                max_bytes=int(max_size * 1e6), bulk=bulk)
        with ingest_progress("Ingesting") as step, stop_on_interrupt() as stop:
            summary = ingest(archive, list(paths), options, progress=step, stop=stop)
    _print_summary(summary)
    if summary.interrupted:
        click.echo("Interrupted: what was read so far is stored and searchable. Run the same "
                   "command again to go on (stored inputs are skipped).", err=True)
        ctx.exit(INTERRUPTED_EXIT)
    if not summary.ok:
        ctx.exit(1)


@contextmanager
def stop_on_interrupt() -> Iterator[threading.Event]:
    """The first Ctrl-C asks the run to stop after the batch in hand; a second one leaves at
    once (still safe: the database only ever holds whole batches)."""
    stop = threading.Event()

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        click.echo("\nStopping after the current batch (Ctrl-C again to quit at once).",
                   err=True)

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def _print_summary(summary: IngestSummary) -> None:
    rate = summary.added / summary.seconds if summary.seconds else 0.0
    click.echo(f"Added {summary.added} article{'s' * (summary.added != 1)}, "
               f"skipped {summary.duplicates} duplicate{'s' * (summary.duplicates != 1)}, "
               f"{len(summary.failures)} failed ({summary.seconds:.1f} s, {rate:.0f} articles/s; "
               f"ingest run {summary.run_id}).")
    for done in summary.maintenance:
        click.echo(f"First {done}.")
    if summary.site_outlets:
        click.echo(f"Filed {summary.site_outlets} text dump{'s' * (summary.site_outlets != 1)} "
                   "that named no outlet under their site's, by the menu, masthead and footer "
                   "lines they share with its stored pages.")
    if summary.phrase_index_seconds is not None:
        click.echo(f"Then built the index of phrase pairs ({summary.phrase_index_seconds:.1f} s).")
    elif summary.phrase_index_left:
        click.echo("The index of phrase pairs, held back by a bulk ingest, is not built yet: "
                   "phrases are searched without it, more slowly. A bulk ingest still running "
                   "builds it when it ends; else the next ingest or `archive optimize` does.")
    if summary.skipped:
        reasons = Counter(printable(_skip_label(uri, reason)) for uri, reason in summary.skipped)
        listed = ", ".join(f"{label}: {n}" for label, n in reasons.most_common(8))
        click.echo(f"Skipped {len(summary.skipped)} input(s) that are not articles ({listed}).")
    for uri, reason in summary.failures:
        click.echo(printable(f"  FAILED {uri}: {reason}"), err=True)


def _skip_label(uri: str, reason: str) -> str:
    if reason == "not a supported kind of file":
        return Path(uri).suffix.lower() or "(no suffix)"
    return reason


@click.command("extract")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per article).")
@click.option("--format", "format_",
              type=click.Choice(["txt", "html", "jsonl", "json", "csv", "warc", "gz", "zip"]),
              help="Read the file as this format instead of guessing from its name.")
@click.option("--url", help="Web address of the page (helps find the outlet).")
@click.option("--outlet", help="Outlet to record (wins over extraction).")
@click.pass_context
def extract_command(ctx: click.Context, file: str, as_json: bool, format_: str | None,
                    url: str | None, outlet: str | None) -> None:
    """Show what ingest would store for FILE, without storing anything."""
    hints = {key: value for key, value in (("outlet", outlet), ("url", url)) if value}
    try:
        load_user_table(ctx.obj.root / "outlets.csv")
    except OutletTableError as exc:
        raise click.ClickException(str(exc)) from None
    item = next(find_inputs([file]))
    if not isinstance(item, InputFile):
        raise click.ClickException(printable(f"{file}: {item.reason}"))
    if format_:
        item = InputFile(item.path, format_)
    failed = False
    try:
        for found in read_input(item, hints=hints):
            if isinstance(found, Skipped):
                click.echo(printable(f"{found.uri}: skipped, {found.reason}"), err=True)
                continue
            if isinstance(found, BadRecord):
                click.echo(printable(f"{found.uri}: {found.reason}"), err=True)
                failed = True
                continue
            try:
                article = extract_article(found)
            except ExtractionError as exc:
                click.echo(printable(f"{found.uri}: {exc}"), err=True)
                failed = True
                continue
            if as_json:
                click.echo(json.dumps(article.as_json(), ensure_ascii=False))
            else:
                _print_article(article.as_json())
    except ReadError as exc:
        raise click.ClickException(printable(f"{file}: {exc}")) from None
    if failed:
        sys.exit(1)


def _listed(names: list[str], shown: int = 10) -> str:
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")


def _print_article(record: dict[str, Any]) -> None:
    for key in ("title", "date_known", "outlet", "byline", "language", "url", "word_count"):
        value = record[key]
        click.echo(f"{key:>10}: {printable(str(value)) if value is not None else '-'}")
    click.echo()
    click.echo(record["body"])


@click.command("reclean")
@click.option("--dry-run", is_flag=True, help="Report what would change; change nothing.")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=default_jobs(),
              show_default=True, help="Worker processes for cleaning and extraction.")
@click.option("--wait", is_flag=True, help="Wait for a running ingest instead of stopping.")
@click.pass_context
def reclean_command(ctx: click.Context, dry_run: bool, jobs: int, wait: bool) -> None:
    """Clean every stored raw input again with the current cleaner and what the archive has
    learned (boilerplate lines of each outlet); update and re-index what changed."""
    yield_cpu_to_readers()
    with open_archive(ctx, create=False) as archive, writing(archive, wait):
        if not dry_run:
            for done in maintenance.prepare(archive):
                click.echo(f"First {done}.")
        with progress_bar("Recleaning") as step:
            report = recleaning.reclean(archive, dry_run=dry_run, jobs=jobs, progress=step)
    verb = "would change" if dry_run else "changed"
    fields = ", ".join(f"{name}: {n}" for name, n in report.field_changes.most_common())
    click.echo(f"{report.changed} of {report.articles} article(s) {verb}"
               + (f" ({fields})" if fields else "") + ".")
    for article_id, changed in report.examples:
        click.echo(f"  #{article_id}: {', '.join(changed)}")
    if dry_run:  # which outlets end up empty is only known once articles have moved
        outlets = f"{len(report.outlets_added)} outlet(s) would be added"
    else:
        outlets = (f"{len(report.outlets_added)} outlet(s) added, "
                   f"{len(report.outlets_merged)} merged into another, "
                   f"{len(report.outlets_removed)} removed")
    click.echo(f"Dates: {report.dates_changed} {verb}. Outlets: {report.articles_moved} "
               f"article(s) {'would move' if dry_run else 'moved'} to another outlet; "
               f"{outlets}.")
    if report.outlets_added:
        click.echo("Added: " + _listed(report.outlets_added) + ".")
    if report.outlets_merged:
        click.echo("Merged: " + _listed([f"{old} into {kept}"
                                         for old, kept in report.outlets_merged]) + ".")
    if report.outlets_removed:
        click.echo(f"{len(report.outlets_removed)} outlet(s) no article names any more, removed: "
                   f"{_listed(report.outlets_removed)}.")
    for article_id, reason in report.failures:
        click.echo(f"  #{article_id} kept as stored: the current cleaner says {reason}",
                   err=True)
