"""`archive search` and `archive export`."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, cast

import click

from archive import export as exporting
from archive import search as search_service
from archive import serialize
from archive.cli.common import open_archive, parse_day
from archive.index import SORTS, Explanation, QueryError, SearchRequest, Sort
from archive.search import Hit, SearchPage


@click.command("search")
@click.argument("query", nargs=-1)
@click.option("--outlet", "outlets", multiple=True, help="Only this outlet (repeatable).")
@click.option("--language", "languages", multiple=True,
              help="Only this language, as a code like en (repeatable).")
@click.option("--from", "date_from", callback=parse_day,
              help="Published on or after (YYYY-MM-DD).")
@click.option("--to", "date_to", callback=parse_day, help="Published on or before (YYYY-MM-DD).")
@click.option("--sort", type=click.Choice(SORTS + ("date",)),
              help="Order of the results; 'date' is the same as 'newest'. [default: newest "
                   "without a QUERY, otherwise relevance]")
@click.option("--stories", "one_per_story", is_flag=True,
              help="One result per story (syndicated copies folded into their first copy).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=10, show_default=True,
              help="Results per page.")
@click.option("--page", type=click.IntRange(1), default=1, show_default=True,
              help="Which page of results to show.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as one JSON object.")
@click.option("--explain", is_flag=True, help="Show how the query was understood instead.")
@click.option("--export", "export_format", type=click.Choice(exporting.FORMATS),
              help="Write every match (not just a page) with its metadata, as CSV or JSONL.")
@click.option("--output", "-o", type=click.File("w", encoding="utf-8", lazy=True), default="-",
              help="With --export: file to write (default: standard output).")
@click.pass_context
def search_command(ctx: click.Context, query: tuple[str, ...], outlets: tuple[str, ...],
                   languages: tuple[str, ...], date_from: dt.date | None,
                   date_to: dt.date | None, sort: str | None, one_per_story: bool, limit: int,
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
                            date_from=date_from, date_to=date_to, sort=_order(sort, text),
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


def _order(sort: str | None, text: str) -> Sort:
    if sort == "date" or (not text and sort in (None, "relevance")):
        return "newest"  # without words there is nothing to rank by relevance
    return cast(Sort, sort or "relevance")  # click has checked it is one of SORTS


def _print_page(result: SearchPage) -> None:
    request = result.request
    first = request.offset + 1
    shown = f"{first}-{request.offset + len(result.hits)}" if result.hits else "none"
    singular, plural = ("story", "stories") if request.one_per_story else ("article", "articles")
    what = singular if result.total == 1 else plural
    click.echo(f"{result.total} {what} found (showing {shown}).")
    for note in result.notes:
        click.echo(f"Partial: {note}.")
    if result.suggestion:
        click.echo(f"Did you mean: {result.suggestion}")
    for number, hit in enumerate(result.hits, start=first):
        _print_hit(number, hit)
    facets: list[tuple[str, list[tuple[object, int]]]] = [
             ("Outlets", [(name or "(unknown)", n) for name, n in result.outlet_counts[:15]]),
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
    for note in explanation.notes:
        click.echo(f"Partial: {note}.")
    for clause in explanation.clauses:
        negated = "NOT " if clause.negated else ""
        click.echo(f"  {negated}{clause.kind} in {clause.field or 'any field'}: "
                   f"{clause.typed!r} -> looks up {clause.searched!r}: {clause.matches} match(es)")


@click.command("export")
@click.option("--format", "format_", type=click.Choice(exporting.FORMATS), default="jsonl",
              show_default=True, help="JSON Lines (one article per line) or CSV.")
@click.option("--query", "text", help="Export only the matches of this search.")
@click.option("--outlet", "outlets", multiple=True, help="Only this outlet (repeatable).")
@click.option("--from", "date_from", callback=parse_day, help="Published on or after.")
@click.option("--to", "date_to", callback=parse_day, help="Published on or before.")
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
