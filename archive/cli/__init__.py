"""The `archive` command: a thin layer over the library that turns failures into sentences.

Commands live in modules of this package and are imported only when used, so that a quick
`archive search` does not pay for loading the ingest machinery (or the web app).
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import EntryPoint, entry_points

import click

from archive.cli.logs import configure_logging
from archive.config import DATABASE_ENV, INSTANCE_ENV, resolve_instance

# The name on PyPI ("archive" was taken); the import package and the command are `archive`.
DISTRIBUTION = "newsarchive-search"
PLUGIN_GROUP = "archive.commands"
# name -> "module:attribute"; `serve` comes from the web package's entry point.
COMMANDS = {
    "ingest": "archive.cli.ingesting:ingest_command",
    "extract": "archive.cli.ingesting:extract_command",
    "reclean": "archive.cli.ingesting:reclean_command",
    "search": "archive.cli.searching:search_command",
    "export": "archive.cli.searching:export_command",
    "reindex": "archive.cli.upkeep:reindex_command",
    "check": "archive.cli.upkeep:check_command",
    "optimize": "archive.cli.upkeep:optimize_command",
    "stats": "archive.cli.upkeep:stats_command",
    "sql": "archive.cli.upkeep:sql_command",
    "db": "archive.cli.upkeep:db_group",
    "migrate-to": "archive.cli.migrating:migrate_command",
    "shards": "archive.cli.sharding:shards_group",
}


class ArchiveGroup(click.Group):
    """Loads each command from its module on first use, and adds commands that other
    packages register (the web UI's `serve`), so that this core package never imports them."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *(ep.name for ep in _plugins())})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in COMMANDS:
            module, attribute = COMMANDS[name].split(":")
            return getattr(import_module(module), attribute)
        for ep in _plugins():
            if ep.name == name:
                return ep.load()
        return None


def _plugins() -> list[EntryPoint]:
    """Registered commands, this project's own first: a checkout keeps the metadata of an
    older install (archive.egg-info, from before the distribution was renamed) on sys.path,
    and that names modules which no longer exist."""
    found = entry_points(group=PLUGIN_GROUP)
    return sorted(found, key=lambda ep: _distribution_of(ep) != DISTRIBUTION)


def _distribution_of(ep: EntryPoint) -> str | None:
    return ep.dist.name if ep.dist is not None else None


@click.group(cls=ArchiveGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--instance", type=click.Path(file_okay=False), envvar=INSTANCE_ENV,
              help=f"Archive folder holding the database and index [env: {INSTANCE_ENV}; "
                   "default: ./instance].")
@click.option("--database", metavar="URL", envvar=DATABASE_ENV,
              help="The archive's database, e.g. postgresql://user@host/dbname [env: "
                   f"{DATABASE_ENV}; default: database.url in the folder's settings.toml, "
                   "else archive.db in the folder].")
@click.option("--verbose", "-v", is_flag=True,
              help="Also log what the archive does (info and debug messages) on standard error.")
@click.option("--quiet", "-q", is_flag=True,
              help="Log errors only (progress, results and summaries are printed as usual).")
@click.version_option(package_name=DISTRIBUTION, prog_name="archive",
                      message="%(prog)s %(version)s")
@click.pass_context
def main(ctx: click.Context, instance: str | None, database: str | None, verbose: bool,
         quiet: bool) -> None:
    """A searchable full-text archive of news articles.

    \b
    Typical use:
      archive ingest ~/scrapes/          add articles (text dumps, HTML, JSONL, WARC ...)
      archive search 'lavrov "no limits"' --outlet TASS
      archive serve                      search in the browser
    """
    if verbose and quiet:
        raise click.UsageError("--verbose and --quiet contradict each other; give one")
    configure_logging(verbose=verbose, quiet=quiet)
    from archive.settings import SettingsError  # it imports the index package

    try:
        ctx.obj = resolve_instance(instance, database or None)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
