"""Every match of a search as a download (CSV, JSON Lines) and the newest ones as an Atom feed."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable

from flask import Blueprint, Response, render_template, request, url_for
from sqlalchemy import select

from archive.export import csv_chunks, export_records, jsonl_chunks
from archive.index import QueryError
from archive.instance import Archive
from archive.models import Article
from archive.search import Hit, search

from .access import current_archive
from .articles import is_web_url
from .params import SearchState, parse_state
from .search import SORT_LABELS, query_problem, query_status

bp = Blueprint("feeds", __name__)
# Rows handed to the core's writer at a time: small enough to start the download at once.
FEED_ENTRIES = 50
ATOM = "http://www.w3.org/2005/Atom"
# Characters XML 1.0 cannot carry even when escaped (most control characters).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@bp.get("/export.csv")
def export_csv() -> Response | tuple[str, int]:
    return _export("csv", "text/csv; charset=utf-8")


@bp.get("/export.jsonl")
def export_jsonl() -> Response | tuple[str, int]:
    return _export("jsonl", "application/x-ndjson; charset=utf-8")


def _export(extension: str, content_type: str) -> Response | tuple[str, int]:
    state = parse_state(request.args)  # BadParameter: the app answers 400
    archive = current_archive()
    records = export_records(archive, state.request())
    try:
        # The search runs on the first record: a bad query is refused here, with a page that
        # says why, instead of breaking a download that has already started.
        first = list(itertools.islice(records, 1))
    except QueryError as exc:
        return _query_failure(archive, state, exc)
    rows = itertools.chain(first, records)
    body = csv_chunks(rows) if extension == "csv" else jsonl_chunks(rows)
    response = Response(body, content_type=content_type)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{export_filename(state, extension)}"')
    response.headers["Cache-Control"] = "no-store"
    return response


def export_filename(state: SearchState, extension: str) -> str:
    """archive-<query words>-<date>.csv: ASCII letters, digits and dashes only."""
    words = re.findall(r"[a-z0-9]+", state.q.lower())
    slug = "-".join(words)[:40].strip("-") or "all"
    return f"archive-{slug}-{dt.date.today():%Y%m%d}.{extension}"


# --- Atom -------------------------------------------------------------------------------------

@bp.get("/search.atom")
def atom() -> Response | tuple[str, int]:
    state = parse_state(request.args)
    # A feed lists what is new: always newest first, one page.
    state = state.but(sort="newest", share=False, page=1)
    archive = current_archive()
    try:
        page = search(archive, state.request(), suggest=False)
    except QueryError as exc:
        return _query_failure(archive, state, exc)
    page_url = url_for("search.index", _external=True) + state.query_string()
    xml = atom_document(
        hits=page.hits,
        title=f"News archive: {state.q}" if state.q else "News archive: newest articles",
        feed_id=page_url,
        self_url=url_for("feeds.atom", _external=True) + state.query_string(),
        page_url=page_url,
        article_url=lambda article_id: url_for("articles.show", article_id=article_id,
                                               _external=True),
        added=_added_times(archive, [hit.id for hit in page.hits]))
    return Response(xml, content_type="application/atom+xml; charset=utf-8")


def atom_document(*, hits: list[Hit], title: str, feed_id: str, self_url: str, page_url: str,
                  article_url: Callable[[int], str], added: dict[int, dt.datetime]) -> str:
    """An Atom (RFC 4287) feed of search hits; text is escaped by the serialiser."""
    feed = ET.Element("feed", xmlns=ATOM)
    _text(feed, "title", title)
    _text(feed, "id", feed_id)
    ET.SubElement(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    ET.SubElement(feed, "link", rel="alternate", type="text/html", href=page_url)
    author = ET.SubElement(feed, "author")
    _text(author, "name", "News archive")
    updated = ET.SubElement(feed, "updated")
    newest: str | None = None
    for hit in hits:
        entry = ET.SubElement(feed, "entry")
        _text(entry, "id", article_url(hit.id))
        _text(entry, "title", hit.plain_title)
        stamp = _stamp(hit, added.get(hit.id))
        _text(entry, "updated", stamp)
        if hit.published:
            _text(entry, "published", stamp)
        newest = max(newest or stamp, stamp)
        ET.SubElement(entry, "link", rel="alternate", type="text/html", href=article_url(hit.id))
        if is_web_url(hit.url):
            ET.SubElement(entry, "link", rel="related", href=hit.url.strip())  # type: ignore[union-attr]
        if hit.outlet:
            source = ET.SubElement(entry, "source")
            _text(source, "title", hit.outlet)
        _text(entry, "summary", " … ".join(_plain(fragment) for fragment in hit.snippet),
              type="text")
    updated.text = newest or _rfc3339(dt.datetime.now(dt.UTC).replace(tzinfo=None))
    return "<?xml version='1.0' encoding='utf-8'?>\n" + ET.tostring(feed, encoding="unicode")


def _text(parent: ET.Element, tag: str, value: str, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    element.text = _NOT_XML.sub("\ufffd", value)
    return element


def _plain(fragment: Iterable[tuple[str, bool]]) -> str:
    return " ".join("".join(text for text, _ in fragment).split())


def _stamp(hit: Hit, added: dt.datetime | None) -> str:
    # Publication dates have no time of day; undated articles carry their ingest time.
    if hit.published:
        return f"{hit.published.isoformat()}T00:00:00Z"
    return _rfc3339(added or dt.datetime(1970, 1, 1))


def _rfc3339(moment: dt.datetime) -> str:
    return moment.replace(microsecond=0).isoformat() + "Z"


def _added_times(archive: Archive, ids: list[int]) -> dict[int, dt.datetime]:
    if not ids:
        return {}
    with archive.sessions() as session:
        rows = session.execute(select(Article.id, Article.created_at)
                               .where(Article.id.in_(ids)))
        return {article_id: created for article_id, created in rows}


# --- shared -----------------------------------------------------------------------------------

def _query_failure(archive: Archive, state: SearchState, error: QueryError) -> tuple[str, int]:
    return render_template("search.html", state=state, page=None,
                           problem=query_problem(archive, state.q, error),
                           sort_labels=SORT_LABELS), query_status(error)
