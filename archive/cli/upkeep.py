"""Keeping an archive in shape: reindex, check, stats, sql, db upgrade."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from archive import maintenance, reclean, sql, stats
from archive.cli.common import (
    INTERRUPTED_EXIT,
    open_archive,
    progress_bar,
    writing,
    yield_cpu_to_readers,
)
from archive.db import DatabaseError, open_database, upgrade


@click.command("reindex")
@click.option("--wait", is_flag=True, help="Wait for a running ingest instead of stopping.")
@click.pass_context
def reindex_command(ctx: click.Context, wait: bool) -> None:
    """Rebuild the search index from the database (the database is never changed)."""
    yield_cpu_to_readers()
    with (open_archive(ctx, create=False) as archive, writing(archive, wait),
          progress_bar("Indexing") as step):
        count = maintenance.reindex(archive, step)
    click.echo(f"Indexed {count} article{'s' * (count != 1)}.")


@click.command("optimize")
@click.option("--wait", is_flag=True, help="Wait for a running ingest instead of stopping.")
@click.pass_context
def optimize_command(ctx: click.Context, wait: bool) -> None:
    """Merge the search index into one segment and tidy the database's full-text index:
    faster opening and searching after a big load (takes a while on a big archive)."""
    with open_archive(ctx, create=False) as archive, writing(archive, wait):
        segments = maintenance.optimize(archive)
        engine = archive.search_engine
    if engine == "postgresql":
        click.echo("Optimized: the search runs inside PostgreSQL, whose statistics were "
                   "refreshed.")
    else:
        click.echo(f"Optimized: the index has {segments} segment{'s' * (segments != 1)}.")


@click.command("check")
@click.option("--repair", is_flag=True, help="Make the index match the database.")
@click.pass_context
def check_command(ctx: click.Context, repair: bool) -> None:
    """Verify that the database and the search index hold the same articles, and that every
    stored raw input and body still matches its hash."""
    with open_archive(ctx, create=False) as archive, writing(archive, wait=False):
        report = maintenance.check(archive)
        click.echo(f"Database: {report.articles} articles; index: {report.indexed} documents.")
        for run_id, stored in report.unfinished_runs:
            click.echo(f"Ingest run {run_id} never finished (the process was killed or "
                       f"crashed); what it stored ({stored} article{'s' * (stored != 1)}) "
                       "is kept.")
        if report.phrase_index_left:
            click.echo("The index of phrase pairs was held back by a bulk ingest that did "
                       "not finish: phrases are searched without it, more slowly. "
                       "`archive optimize` builds it.")
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


@click.command("stats")
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


@click.command("sql")
@click.argument("statement")
@click.option("--format", "format_", type=click.Choice(sql.FORMATS), default="table",
              show_default=True, help=f"Table shows at most {sql.TABLE_MAX_ROWS:,} rows; CSV "
              "and JSON print every row as it comes.")
@click.option("--timeout", type=click.FloatRange(min=0), default=sql.DEFAULT_TIMEOUT,
              show_default=True, metavar="SECONDS",
              help="Stop a statement that runs longer than this; 0 for no limit.")
@click.pass_context
def sql_command(ctx: click.Context, statement: str, format_: str, timeout: float) -> None:
    """Run a read-only SQL query on the archive's database (see docs/schema.md).
    Ctrl-C stops it at once.

    \b
    Examples:
      archive sql "SELECT * FROM articles_per_outlet_month"
      archive sql "SELECT rowid, snippet(articles_fts, 2, '[', ']', '…', 10)
                   FROM articles_fts WHERE articles_fts MATCH 'tram' ORDER BY rank"
    """
    try:
        with sql.open_session(ctx.obj, timeout) as session, _ctrl_c_stops(session):
            columns = session.execute(statement)
            sql.WRITERS[format_](columns, session.batches(), sys.stdout)
    except sql.Interrupted as exc:
        raise _Interrupted(str(exc)) from None
    except sql.SQLError as exc:
        raise click.ClickException(str(exc)) from None


class _Interrupted(click.ClickException):
    exit_code = INTERRUPTED_EXIT


@contextmanager
def _ctrl_c_stops(session: sql.StatementSession) -> Iterator[None]:
    # Python's own KeyboardInterrupt never comes while SQLite's VM runs; the session checks
    # this flag from inside it (a PostgreSQL session asks the server to cancel instead).
    previous = signal.signal(signal.SIGINT, lambda _signum, _frame: session.interrupt())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@click.group("db")
def db_group() -> None:
    """Database schema commands."""


@db_group.command("upgrade")
@click.pass_context
@click.option("--wait", is_flag=True, help="Wait for a running ingest instead of stopping.")
def db_upgrade_command(ctx: click.Context, wait: bool) -> None:
    """Apply schema migrations, then bring the data up to them (e.g. group stored articles
    into stories, rebuild an index of an older format). Other writing commands do this by
    themselves."""
    paths = ctx.find_root().obj
    try:
        engine = open_database(paths)
        reader = upgrade(engine)
        engine.dispose()
    except DatabaseError as exc:
        raise click.ClickException(str(exc)) from None
    with open_archive(ctx.find_root()) as archive, writing(archive, wait):
        for done in maintenance.prepare(archive):
            click.echo(f"Then {done}.")
        # Re-extracting every article is a job of its own (long on a large archive,
        # with a dry run to look first), so the schema upgrade only says when it is due.
        older = reclean.outdated(archive)
    click.echo(f"Database {paths.described()} is at the newest schema.")
    if reader is not None and reader.exists:
        click.echo(f"`archive sql` runs statements as the role {reader.name}, which may only "
                   "read.")
    elif reader is not None:
        click.echo(f"No role {reader.name} for `archive sql` to run statements as "
                   f"({reader.missing_because}): it runs them as the role it connects as, "
                   "and refuses to when that is a superuser. A superuser can create the "
                   "role: see docs/deploy.md.")
    if older:
        click.echo(f"{older} article(s) were cleaned by an older version of archive, which "
                   "could misread dates and outlets: run `archive reclean` (or "
                   "`archive reclean --dry-run` first) to extract them again.")
