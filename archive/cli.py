"""The `archive` command: a thin layer over the library that turns failures into sentences."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import click

from archive import export as exporting
from archive import maintenance, serialize, sql, stats
from archive import reclean as recleaning
from archive import search as search_service
from archive.config import INSTANCE_ENV, resolve_instance
from archive.db import DatabaseError, open_database, upgrade
from archive.document import ExtractionError
from archive.extract import extract as extract_article
from archive.index import SORTS, Explanation, QueryError, SearchRequest
from archive.ingest import IngestOptions, IngestSummary, failed_inputs_of_last_run, ingest
from archive.instance import Archive, ArchiveBusy, is_storage_full
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
from archive.search import Hit, SearchPage

PLUGIN_GROUP = "archive.commands"


class ArchiveGroup(click.Group):
    """Adds commands that other packages register (the web UI's `serve`), so that this core
    package never imports them."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *(ep.name for ep in _plugins())})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None:
            for ep in _plugins():
                if ep.name == name:
                    return ep.load()
        return command


def _plugins() -> list[Any]:
    return list(entry_points(group=PLUGIN_GROUP))


@click.group(cls=ArchiveGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--instance", type=click.Path(file_okay=False), envvar=INSTANCE_ENV,
              help=f"Archive folder holding the database and index [env: {INSTANCE_ENV}; "
                   "default: ./instance].")
@click.pass_context
def main(ctx: click.Context, instance: str | None) -> None:
    """A searchable full-text archive of news articles.

    \b
    Typical use:
      archive ingest ~/scrapes/          add articles (text dumps, HTML, JSONL)
      archive search 'lavrov "no limits"' --outlet TASS
      archive serve                      search in the browser
    """
    ctx.obj = resolve_instance(instance)


@contextmanager
def open_archive(ctx: click.Context, *, create: bool = True) -> Iterator[Archive]:
    try:
        archive = Archive(ctx.obj, create=create)
    except (DatabaseError, OutletTableError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        yield archive
    finally:
        archive.close()


@contextmanager
def writing(archive: Archive, wait: bool) -> Iterator[None]:
    try:
        with archive.writing(wait=wait):
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


def default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr, driven by (done, total) calls; silent unless on a terminal."""
    if not sys.stderr.isatty():
        yield lambda done, total: None
        return
    started = time.monotonic()
    with click.progressbar(length=1, label=label, file=sys.stderr, show_pos=True,
                           show_eta=True) as bar:
        def step(done: int, total: int) -> None:
            rate = done / max(time.monotonic() - started, 1e-6)
            bar.label = f"{label} ({rate:.0f} files/s)"
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

        yield step


# --- ingest -------------------------------------------------------------------------------

@main.command("ingest")
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
@click.pass_context
def ingest_command(ctx: click.Context, paths: tuple[str, ...], outlet: str | None,
                   url: str | None, manifest: Path | None, retry_failed: bool, jobs: int,
                   max_size: float, wait: bool) -> None:
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
        raise click.BadParameter(str(exc), param_hint="--meta") from None
    with open_archive(ctx) as archive, writing(archive, wait):
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
                                max_bytes=int(max_size * 1e6))
        with progress_bar("Ingesting") as step:
            summary = ingest(archive, list(paths), options, progress=step)
    _print_summary(summary)
    if not summary.ok:
        ctx.exit(1)


def _print_summary(summary: IngestSummary) -> None:
    rate = summary.added / summary.seconds if summary.seconds else 0.0
    click.echo(f"Added {summary.added} article{'s' * (summary.added != 1)}, "
               f"skipped {summary.duplicates} duplicate{'s' * (summary.duplicates != 1)}, "
               f"{len(summary.failures)} failed ({summary.seconds:.1f} s, {rate:.0f} articles/s; "
               f"ingest run {summary.run_id}).")
    for done in summary.maintenance:
        click.echo(f"First {done}.")
    if summary.skipped:
        reasons = Counter(_skip_label(uri, reason) for uri, reason in summary.skipped)
        listed = ", ".join(f"{label}: {n}" for label, n in reasons.most_common(8))
        click.echo(f"Skipped {len(summary.skipped)} input(s) that are not articles ({listed}).")
    for uri, reason in summary.failures:
        click.echo(f"  FAILED {uri}: {reason}", err=True)


def _skip_label(uri: str, reason: str) -> str:
    if reason == "not a supported kind of file":
        return Path(uri).suffix.lower() or "(no suffix)"
    return reason


# --- extract ------------------------------------------------------------------------------

@main.command("extract")
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
    if isinstance(item, BadRecord):
        raise click.ClickException(f"{file}: {item.reason}")
    if format_:
        item = InputFile(item.path, format_)
    failed = False
    try:
        for found in read_input(item, hints=hints):
            if isinstance(found, Skipped):
                click.echo(f"{found.uri}: skipped, {found.reason}", err=True)
                continue
            if isinstance(found, BadRecord):
                click.echo(f"{found.uri}: {found.reason}", err=True)
                failed = True
                continue
            try:
                article = extract_article(found)
            except ExtractionError as exc:
                click.echo(f"{found.uri}: {exc}", err=True)
                failed = True
                continue
            if as_json:
                click.echo(json.dumps(article.as_json(), ensure_ascii=False))
            else:
                _print_article(article.as_json())
    except ReadError as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    if failed:
        sys.exit(1)


def _print_article(record: dict[str, Any]) -> None:
    for key in ("title", "date_known", "outlet", "byline", "language", "url", "word_count"):
        click.echo(f"{key:>10}: {record[key] if record[key] is not None else '-'}")
    click.echo()
    click.echo(record["body"])


# --- search -------------------------------------------------------------------------------

def _parse_day(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2022-03-31") from None


@main.command("search")
@click.argument("query", nargs=-1)
@click.option("--outlet", "outlets", multiple=True, help="Only this outlet (repeatable).")
@click.option("--language", "languages", multiple=True,
              help="Only this language, as a code like en (repeatable).")
@click.option("--from", "date_from", callback=_parse_day,
              help="Published on or after (YYYY-MM-DD).")
@click.option("--to", "date_to", callback=_parse_day, help="Published on or before (YYYY-MM-DD).")
@click.option("--sort", type=click.Choice(SORTS + ("date",)), default="relevance",
              show_default=True, help="'date' is the same as 'newest'.")
@click.option("--stories", "one_per_story", is_flag=True,
              help="One result per story (syndicated copies folded into their first copy).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=10, show_default=True)
@click.option("--page", type=click.IntRange(1), default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the results as one JSON object.")
@click.option("--explain", is_flag=True, help="Show how the query was understood instead.")
@click.option("--export", "export_format", type=click.Choice(exporting.FORMATS),
              help="Write every match (not just a page) with its metadata, as CSV or JSONL.")
@click.option("--output", "-o", type=click.File("w", encoding="utf-8", lazy=True), default="-",
              help="With --export: file to write (default: standard output).")
@click.pass_context
def search_command(ctx: click.Context, query: tuple[str, ...], outlets: tuple[str, ...],
                   languages: tuple[str, ...], date_from: dt.date | None,
                   date_to: dt.date | None, sort: str, one_per_story: bool, limit: int,
                   page: int, as_json: bool, explain: bool, export_format: str | None,
                   output: Any) -> None:
    """Search the archive.

    \b
    Words are ANDed:           lavrov china
    Exact phrase, proximity:   "no limits"   "lavrov china"~5
    Or, not, groups:           (tram OR ferry) -strike   lavrov NOT tass
    Fields:                    title:ceasefire  outlet:reuters  byline:smith
    Prefix, fuzzy:             sanction*   lavorv~
    Dates:                     date:2022-03   date:[2022-03-01 TO 2022-03-31]

    With no QUERY, lists every article (newest first unless --sort says otherwise).
    """
    text = " ".join(query)
    request = SearchRequest(text=text, outlets=outlets, languages=languages,
                            date_from=date_from, date_to=date_to,
                            sort="newest" if sort == "date" or (not text and sort == "relevance")
                            else sort,  # type: ignore[arg-type]
                            one_per_story=one_per_story, offset=(page - 1) * limit, limit=limit)
    with open_archive(ctx, create=False) as archive:
        try:
            if explain:
                _print_explanation(search_service.explain(archive, text), as_json)
                return
            if export_format:
                write = exporting.write_csv if export_format == "csv" else exporting.write_jsonl
                count = write(exporting.export_records(archive, request), output)
                click.echo(f"Exported {count} article{'s' * (count != 1)}.", err=True)
                return
            result = search_service.search(archive, request)
        except QueryError as exc:
            raise click.UsageError(f"query {text!r}: {exc}") from None
    if as_json:
        click.echo(json.dumps(serialize.page_json(result), ensure_ascii=False, indent=2))
        return
    _print_page(result)


def _print_page(result: SearchPage) -> None:
    request = result.request
    first = request.offset + 1
    shown = f"{first}-{request.offset + len(result.hits)}" if result.hits else "none"
    singular, plural = ("story", "stories") if request.one_per_story else ("article", "articles")
    what = singular if result.total == 1 else plural
    click.echo(f"{result.total} {what} found (showing {shown}).")
    if result.suggestion:
        click.echo(f"Did you mean: {result.suggestion}")
    for number, hit in enumerate(result.hits, start=first):
        _print_hit(number, hit)
    facets = [("Outlets", [(name or "(unknown)", n) for name, n in result.outlet_counts[:15]]),
              ("Years", [(year or "unknown", n) for year, n in result.year_counts]),
              ("Languages", [(code or "unknown", n) for code, n in result.language_counts])]
    click.echo()
    for label, counts in facets:
        if counts:
            click.echo(f"{label + ':':<11}" + ", ".join(f"{v} ({n})" for v, n in counts))


def _print_hit(number: int, hit: Hit) -> None:
    title = "".join(click.style(t, bold=True) if m else t for t, m in hit.title)
    click.echo(f"\n{number}. {title}")
    click.echo(f"   {hit.outlet or 'unknown outlet'} · {hit.date_label} · #{hit.id}"
               + (f" · {hit.url}" if hit.url else ""))
    for fragment in hit.snippet:
        text = "".join(click.style(t, bold=True, underline=True) if m else t for t, m in fragment)
        click.echo(f"   {'… ' * fragment.cut_start}{' '.join(text.split())}"
                   f"{' …' * fragment.cut_end}")
    if hit.copies:
        others = hit.other_outlets
        if others:
            also = f"also in {len(others)} other outlet(s): {', '.join(others)}"
        else:
            also = f"{len(hit.copies)} more copy(ies) in the same outlet"
        click.echo(f"   story: {also} (#{', #'.join(str(c.id) for c in hit.copies[:8])})")


def _print_explanation(explanation: Explanation, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(serialize.explanation_json(explanation), indent=2))
        return
    click.echo(f"Understood as: {explanation.query}")
    click.echo(f"All clauses together match {explanation.total} article(s).")
    for clause in explanation.clauses:
        negated = "NOT " if clause.negated else ""
        click.echo(f"  {negated}{clause.kind} in {clause.field or 'any field'}: "
                   f"{clause.typed!r} -> looks up {clause.searched!r}: {clause.matches} match(es)")


# --- maintenance --------------------------------------------------------------------------

@main.command("reindex")
@click.option("--wait", is_flag=True, help="Wait for a running ingest instead of stopping.")
@click.pass_context
def reindex_command(ctx: click.Context, wait: bool) -> None:
    """Rebuild the search index from the database (the database is never changed)."""
    with (open_archive(ctx, create=False) as archive, writing(archive, wait),
          progress_bar("Indexing") as step):
        count = maintenance.reindex(archive, step)
    click.echo(f"Indexed {count} article{'s' * (count != 1)}.")


@main.command("reclean")
@click.option("--dry-run", is_flag=True, help="Report what would change; change nothing.")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=default_jobs(),
              show_default=True, help="Worker processes for cleaning and extraction.")
@click.option("--wait", is_flag=True, help="Wait for a running ingest instead of stopping.")
@click.pass_context
def reclean_command(ctx: click.Context, dry_run: bool, jobs: int, wait: bool) -> None:
    """Clean every stored raw input again with the current cleaner and what the archive has
    learned (boilerplate lines of each outlet); update and re-index what changed."""
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
    for article_id, fields in report.examples:
        click.echo(f"  #{article_id}: {', '.join(fields)}")
    for article_id, reason in report.failures:
        click.echo(f"  #{article_id} kept as stored: the current cleaner says {reason}",
                   err=True)


@main.command("check")
@click.option("--repair", is_flag=True, help="Make the index match the database.")
@click.pass_context
def check_command(ctx: click.Context, repair: bool) -> None:
    """Verify that the database and the search index hold the same articles, and that every
    stored raw input and body still matches its hash."""
    with open_archive(ctx, create=False) as archive, writing(archive, wait=False):
        report = maintenance.check(archive)
        click.echo(f"Database: {report.articles} articles; index: {report.indexed} documents.")
        problems = [("in the database but not in the index", report.missing_from_index),
                    ("in the index but not in the database", report.unknown_to_database),
                    ("stored but not yet marked indexed (the next ingest or --repair "
                     "finishes them)", report.not_marked),
                    ("articles whose body changed since it was hashed (repair re-hashes and "
                     "re-indexes them)", report.stale_body_hashes),
                    ("raw inputs whose bytes no longer match their sha256 (damaged: restore "
                     "the database from a backup)", report.damaged_sources)]
        for label, ids in problems:
            if ids:
                preview = ", ".join(map(str, ids[:10])) + (" …" if len(ids) > 10 else "")
                click.echo(f"  {len(ids)} {label}: {preview}")
        if report.consistent:
            click.echo("Consistent.")
            return
        if not repair:
            click.echo("Run `archive check --repair` to fix the index.")
            ctx.exit(1)
        maintenance.repair(archive, report)
        after = maintenance.check(archive)
    if after.damaged_sources:
        click.echo(f"Index repaired, but {len(after.damaged_sources)} damaged raw input(s) "
                   "cannot be: restore the database from a backup.")
    else:
        click.echo("Repaired." if after.consistent else "Repair incomplete; try `archive "
                   "reindex`.")
    if not after.consistent:
        ctx.exit(1)


@main.command("stats")
@click.pass_context
def stats_command(ctx: click.Context) -> None:
    """Counts of articles by outlet and by year."""
    with open_archive(ctx, create=False) as archive:
        found = stats.collect(archive)
    click.echo(f"{found.articles} articles from {found.sources} sources in {ctx.obj.root} "
               f"({found.runs} ingest runs; {found.last_run_errors} failures in the last).")
    click.echo("\nBy outlet:")
    for name, count in found.outlets:
        click.echo(f"  {count:>8}  {name or '(unknown outlet)'}")
    click.echo("\nBy year:")
    for year, count in found.years:
        click.echo(f"  {count:>8}  {year or '(date unknown)'}")


@main.command("export")
@click.option("--format", "format_", type=click.Choice(exporting.FORMATS), default="jsonl",
              show_default=True)
@click.option("--query", "text", help="Export only the matches of this search.")
@click.option("--outlet", "outlets", multiple=True, help="Only this outlet (repeatable).")
@click.option("--from", "date_from", callback=_parse_day, help="Published on or after.")
@click.option("--to", "date_to", callback=_parse_day, help="Published on or before.")
@click.option("--output", "-o", type=click.File("w", encoding="utf-8", lazy=True), default="-",
              help="File to write (default: standard output).")
@click.pass_context
def export_command(ctx: click.Context, format_: str, text: str | None, outlets: tuple[str, ...],
                   date_from: dt.date | None, date_to: dt.date | None, output: Any) -> None:
    """Write articles with their metadata as JSON Lines or CSV."""
    filtered = text or outlets or date_from or date_to
    request = SearchRequest(text=text or "", outlets=outlets, date_from=date_from,
                            date_to=date_to, sort="relevance" if text else "oldest")
    write = exporting.write_csv if format_ == "csv" else exporting.write_jsonl
    with open_archive(ctx, create=False) as archive:
        try:
            count = write(exporting.export_records(archive, request if filtered else None),
                          output)
        except QueryError as exc:
            raise click.UsageError(f"query {text!r}: {exc}") from None
    click.echo(f"Exported {count} article{'s' * (count != 1)}.", err=True)


@main.command("sql")
@click.argument("statement")
@click.option("--format", "format_", type=click.Choice(sql.FORMATS), default="table",
              show_default=True)
@click.pass_context
def sql_command(ctx: click.Context, statement: str, format_: str) -> None:
    """Run a read-only SQL query on the archive's database (see docs/schema.md).

    \b
    Examples:
      archive sql "SELECT * FROM articles_per_outlet_month"
      archive sql "SELECT rowid, snippet(articles_fts, 2, '[', ']', '…', 10)
                   FROM articles_fts WHERE articles_fts MATCH 'tram' ORDER BY rank"
    """
    try:
        columns, rows = sql.run_query(ctx.obj.database, statement)
    except sql.SQLError as exc:
        raise click.ClickException(str(exc)) from None
    sql.WRITERS[format_](columns, rows, sys.stdout)


@main.group("db")
def db_group() -> None:
    """Database schema commands."""


@db_group.command("upgrade")
@click.pass_context
def db_upgrade_command(ctx: click.Context) -> None:
    """Apply schema migrations (other commands do this by themselves on a new archive)."""
    paths = ctx.find_root().obj
    try:
        engine = open_database(paths)
        upgrade(engine)
        engine.dispose()
    except DatabaseError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Database {paths.database} is at the newest schema.")


if __name__ == "__main__":
    main()
