"""The `archive` command: a thin layer over the library that turns failures into sentences.

Commands live in modules of this package and are imported only when used, so that a quick
`archive search` does not pay for loading the ingest machinery (or the web app).
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

import click

from archive.config import INSTANCE_ENV, resolve_instance

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
      archive ingest ~/scrapes/          add articles (text dumps, HTML, JSONL, WARC ...)
      archive search 'lavrov "no limits"' --outlet TASS
      archive serve                      search in the browser
    """
    ctx.obj = resolve_instance(instance)
