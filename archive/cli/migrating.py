"""`archive migrate-to`: move the archive's SQLite database into PostgreSQL."""

from __future__ import annotations

import shlex

import click

from archive import dburl, migrate
from archive.cli.common import INTERRUPTED_EXIT, open_archive, writing
from archive.settings import SettingsError, save_database_url


@click.command("migrate-to")
@click.argument("url", metavar="URL")
@click.option("--switch", is_flag=True,
              help="Afterwards make the instance folder's settings.toml point at the new "
                   "database ([database] url), so that every command uses it.")
@click.option("--wait", is_flag=True, help="Wait for a running ingest instead of stopping.")
@click.option("--batch-rows", type=click.IntRange(min=1), default=migrate.BATCH_ROWS,
              show_default=True, help="Rows copied per transaction.")
@click.pass_context
def migrate_command(ctx: click.Context, url: str, switch: bool, wait: bool,
                    batch_rows: int) -> None:
    """Copy this (SQLite) archive into an empty PostgreSQL database, ids kept, then verify
    counts and hashes of every table on both sides. Interrupted, the same command goes on
    where it stopped. The search index in the instance folder stays valid.

    \b
    Example:
      archive migrate-to postgresql://archive@db.example.org/news --switch
    """
    paths = ctx.obj
    if paths.on_server:
        raise click.ClickException(
            f"the archive is already in {paths.described()}: migrate-to moves an archive "
            "whose database is the SQLite file of its instance folder")
    shown = dburl.shown(url)
    try:
        target = migrate.target_engine(url)
    except migrate.MigrationError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        with open_archive(ctx, create=False) as archive, writing(archive, wait):
            for name in migrate.unknown_tables(archive.engine):
                click.echo(f"Note: table {name} is not part of the archive's schema and is "
                           "not copied.", err=True)
            click.echo(f"Moving {paths.described()} to {shown}", err=True)
            report = migrate.migrate(archive.engine, target, batch_rows=batch_rows,
                                     progress=lambda line: click.echo(line, err=True))
    except migrate.MigrationError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        click.echo(f"\nInterrupted: what was copied is kept in {shown}; run the same command "
                   "again to go on.", err=True)
        ctx.exit(INTERRUPTED_EXIT)
    finally:
        target.dispose()
    click.echo(f"{'table':<20} {'copied':>8} {'here':>8} {'there':>8}  verified")
    for table in report.tables:
        click.echo(f"{table.name:<20} {table.copied:>8} {table.source_rows:>8} "
                   f"{table.target_rows:>8}  "
                   f"{'yes' if table.equal else 'NO: rows or hashes differ'}")
    if not report.equal:
        different = ", ".join(t.name for t in report.tables if not t.equal)
        raise click.ClickException(
            f"the copy in {shown} differs from this archive ({different}): the source "
            "changed during the migration or the target was written meanwhile; run the "
            "command again, or migrate into a new empty database")
    click.echo(f"Verified: {shown} holds the same rows as {paths.described()}.")
    if switch:
        try:
            save_database_url(paths.settings, url)
        except (OSError, SettingsError) as exc:
            raise click.ClickException(f"cannot write {paths.settings}: {exc}") from None
        click.echo(f"{paths.settings} now names {shown}: every command of this archive uses "
                   "it. The search index in the folder stays valid (ids are kept).")
    else:
        instance = shlex.quote(str(paths.root))
        click.echo("To use it: archive --instance "
                   f"{instance} --database '{shown}' search ... (or run migrate-to again with "
                   "--switch to name it in the folder's settings.toml). The search index in "
                   "the folder stays valid (ids are kept).")
