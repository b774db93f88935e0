"""The archive as evidence of a page's site: the lines a text dump shares with stored pages.

A dump whose own cues name no outlet, or none sure enough, usually still carries its site's
menus, masthead and footer, and the archive has learned those lines for every outlet it
holds dumps of (archive/boilerplate.py). When many of the dump's short lines are learned
lines of one outlet, and far fewer are of any other, the dump is a page of that outlet's
site. Only unknown outlets are filled this way: what a page says of itself is never
overruled, and a user's supplied outlet is never touched.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive import boilerplate, store, writers
from archive.document import Extracted
from archive.instance import Archive
from archive.maintenance import index_rows
from archive.models import Article, BoilerplateLine, Outlet, Source

# Learned lines a dump must share with one outlet. Menus and footers run to dozens of lines;
# a handful in common can be chance ("Share", "Contact us" are learned for many outlets).
MIN_SHARED = 6
# ... and that many times more than with any other outlet: sister sites share a network bar.
MARGIN = 3
_EXAMPLES = 5
_CHUNK = 500  # SQLite allows a limited number of parameters per statement


@dataclass(frozen=True, slots=True)
class SiteMatch:
    """The outlet whose stored pages a dump shares its page lines with."""

    outlet: str
    shared: int  # learned lines of that outlet found in the dump
    pages: int  # the outlet's stored text dumps
    runner_up: int  # learned lines shared with the next outlet
    examples: tuple[str, ...]

    def rule(self) -> str:
        return (f"the site's own pages: {self.shared} of its menu, masthead and footer lines "
                f"recur on {self.outlet}'s pages in this archive ({self.pages} stored)")


def site_matches(session: Session, dumps: Sequence[Mapping[int, str]]
                 ) -> list[SiteMatch | None]:
    """For each dump (its candidate lines by hash, see boilerplate.candidate_lines), the
    outlet its site's lines belong to, or None."""
    wanted = sorted(set().union(*dumps)) if dumps else []
    if not wanted:
        return [None] * len(dumps)
    # Which outlets learned the lines, then the dump totals of those outlets alone: counting
    # every outlet's dumps for each batch would scan the whole archive.
    seen: list[tuple[int, int, int]] = []
    for start in range(0, len(wanted), _CHUNK):
        seen.extend(session.execute(
            select(BoilerplateLine.line_hash, BoilerplateLine.outlet_id, BoilerplateLine.articles)
            .where(BoilerplateLine.line_hash.in_(wanted[start:start + _CHUNK]),
                   BoilerplateLine.articles >= boilerplate.MIN_ARTICLES)).all())
    outlet_ids = sorted({outlet_id for _, outlet_id, _ in seen})
    pages: dict[int, int] = {}
    for start in range(0, len(outlet_ids), _CHUNK):
        for outlet_id, total in session.execute(
                select(Article.outlet_id, func.count())
                .join(Source, Source.id == Article.source_id)
                .where(Source.format == "txt",
                       Article.outlet_id.in_(outlet_ids[start:start + _CHUNK]))
                .group_by(Article.outlet_id)):
            if outlet_id is not None:
                pages[outlet_id] = total
    owners: dict[int, list[int]] = defaultdict(list)
    for line_hash, outlet_id, articles in seen:
        if outlet_id in pages and articles >= boilerplate.MIN_SHARE * pages[outlet_id]:
            owners[line_hash].append(outlet_id)
    verdicts: list[tuple[int, int, int, tuple[str, ...]] | None] = []
    for lines in dumps:
        counts: Counter[int] = Counter()
        for line_hash in lines:
            counts.update(owners.get(line_hash, ()))
        ranked = counts.most_common(2)
        if not ranked or ranked[0][1] < MIN_SHARED:
            verdicts.append(None)
            continue
        best, shared = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0
        if shared < MARGIN * runner_up:
            verdicts.append(None)
            continue
        examples = tuple(text for line_hash, text in lines.items()
                         if best in owners.get(line_hash, ()))[:_EXAMPLES]
        verdicts.append((best, shared, runner_up, examples))
    chosen = {v[0] for v in verdicts if v is not None}
    names = dict(session.execute(select(Outlet.id, Outlet.name).where(Outlet.id.in_(chosen)))
                 .all()) if chosen else {}
    return [SiteMatch(names[v[0]], v[1], pages[v[0]], v[2], v[3])
            if v is not None and v[0] in names else None for v in verdicts]


class Dump(Protocol):
    """An extracted text dump with its candidate lines (ingest's Prepared)."""

    @property
    def article(self) -> Extracted: ...

    @property
    def line_candidates(self) -> dict[int, str]: ...


D = TypeVar("D", bound=Dump)


def file_by_site(session: Session, dumps: Sequence[D]) -> list[D]:
    """The dumps, those that named no outlet filed under their site's where the archive has
    learned it (a changed one is a new object: `is` tells which were filed)."""
    unknown = [k for k, dump in enumerate(dumps)
               if dump.article.outlet is None and dump.line_candidates]
    filed = list(dumps)
    if not unknown:
        return filed
    found = site_matches(session, [dumps[k].line_candidates for k in unknown])
    for k, match in zip(unknown, found, strict=True):
        if match is not None:
            article = dumps[k].article
            filed[k] = dataclasses.replace(  # type: ignore[type-var]
                dumps[k], article=dataclasses.replace(
                    article, outlet=match.outlet,
                    provenance=site_provenance(article.provenance, match)))
    return filed


def site_provenance(provenance: Mapping[str, Any], match: SiteMatch) -> dict[str, Any]:
    """Provenance saying the outlet came from the site's lines; what the page's own cues
    proposed (and why it was refused) stays beside it."""
    fields = dict(provenance.get("fields", {}))
    entry: dict[str, Any] = {"rule": match.rule(), "line": None,
                             "site_lines": list(match.examples), "shared_lines": match.shared,
                             "next_outlet_lines": match.runner_up}
    if own := fields.get("outlet"):
        entry["page_cues"] = own
    fields["outlet"] = entry
    return {**provenance, "fields": fields}


def fill_unknown_outlets(archive: Archive, run_id: int) -> int:
    """Give the run's text dumps that named no outlet their site's, learned from the pages
    stored after them in the same run; returns how many were filed. Each batch is one
    transaction and is then re-indexed (a crash between the two leaves rows unindexed, which
    the next run indexes)."""
    filed = 0
    outlets = store.OutletCache()
    with archive.sessions() as session:
        ids = list(session.scalars(
            select(Article.id).join(Source, Source.id == Article.source_id)
            .where(Source.ingest_run_id == run_id, Source.format == "txt",
                   Article.outlet_id.is_(None)).order_by(Article.id)))
    for start in range(0, len(ids), _CHUNK):
        changed: list[int] = []
        with archive.sessions() as session, session.begin():
            # It may add outlets and count boilerplate lines, as a batch of ingest does.
            writers.take_store_turn(session)
            rows = session.execute(
                select(Article, store.raw_input).join(Source, Source.id == Article.source_id)
                .where(Article.id.in_(ids[start:start + _CHUNK]))).all()
            dumps = [boilerplate.candidate_lines(content.decode("utf-8", "replace"))
                     for _, content in rows]
            for (article, _), lines, match in zip(rows, dumps, site_matches(session, dumps),
                                                  strict=True):
                if match is None:
                    continue
                article.outlet_id = outlets.id_for(session, match.outlet)
                article.provenance = site_provenance(article.provenance or {}, match)
                article.indexed_at = None
                boilerplate.record(session, article.outlet_id, lines)
                changed.append(article.id)
        if changed:
            index_rows(archive, changed, replace=True)
            filed += len(changed)
    return filed
