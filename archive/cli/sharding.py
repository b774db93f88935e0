"""`archive shards`: PostgreSQL archives on other servers, attached and searched through this
one (archive/shards.py)."""

from __future__ import annotations

import click

from archive import shards
from archive.cli.common import open_archive


@click.group("shards")
def shards_group() -> None:
    """Archives on other PostgreSQL servers, searched through this one.

    Each shard is a whole archive of its own (ingested on its own); this archive reaches its
    articles through postgres_fdw, and `archive shards search` or the SQL view
    shards.articles (in `archive sql`) covers them all. Both this archive and the shards
    must be on PostgreSQL.
    """


@shards_group.command("attach")
@click.argument("name")
@click.argument("url", metavar="URL")
@click.pass_context
def attach_command(ctx: click.Context, name: str, url: str) -> None:
    """Attach the archive at URL as shard NAME.

    \b
    Example:
      archive shards attach y2023 postgresql://archive@db2.example.org/news2023
    """
    with open_archive(ctx, create=False) as archive:
        try:
            shards.attach(archive.engine, name, url)
        except shards.ShardError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"Attached shard {name}.")


@shards_group.command("detach")
@click.argument("name")
@click.pass_context
def detach_command(ctx: click.Context, name: str) -> None:
    """Forget shard NAME (its own database is untouched)."""
    with open_archive(ctx, create=False) as archive:
        try:
            shards.detach(archive.engine, name)
        except shards.ShardError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"Detached shard {name}.")


@shards_group.command("list")
@click.pass_context
def list_command(ctx: click.Context) -> None:
    """The shards and their article counts, this archive's own first."""
    with open_archive(ctx, create=False) as archive:
        try:
            found = shards.listing(archive.engine)
        except shards.ShardError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"{'shard':<16} {'articles':>10}  database")
    for shard in found:
        count = "no answer" if shard.articles is None else f"{shard.articles:,}"
        click.echo(f"{shard.name:<16} {count:>10}  {shard.shown_url}")


@shards_group.command("search")
@click.argument("query")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True,
              help="Articles listed, best first.")
@click.pass_context
def search_command(ctx: click.Context, query: str, limit: int) -> None:
    """Search every shard at once (web search syntax: words, "a phrase", -word, or).

    \b
    Example:
      archive shards search '"interest rates" -mortgage'
    """
    with open_archive(ctx, create=False) as archive:
        try:
            found = shards.search(archive.engine, query, limit=limit,
                                  deadline_seconds=archive.settings.search_deadline_seconds
                                  or 20.0)
        except shards.ShardError as exc:
            raise click.ClickException(str(exc)) from None
    per_shard = ", ".join(f"{name} {count:,}" for name, count in sorted(found.per_shard.items()))
    click.echo(f"{found.total:,} articles" + (f" ({per_shard})" if per_shard else ""))
    for hit in found.hits:
        date = hit.published_date.isoformat() if hasattr(hit.published_date, "isoformat") \
            else "no date"
        click.echo(f"{hit.shard}:{hit.id}\t{date}\t{hit.outlet or '-'}\t{hit.title or '-'}")
