"""The search page: query box, results with highlighted snippets, facets, filters, pages."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, current_app, render_template, request

from archive.index import UNKNOWN_YEAR, Fragment, QueryError
from archive.search import SearchPage, search
from web.access import current_archive
from web.params import (
    BadParameter,
    SearchState,
    page_count,
    page_links,
    parse_state,
)

bp = Blueprint("search", __name__)
# Outlets listed before the rest fold away under "more".
TOP_OUTLETS = 10
_SENTENCE_END = (".", "!", "?", "…", '"', "'", "”", "’", ")")
SORT_LABELS = {"relevance": "Relevance", "newest": "Newest first", "oldest": "Oldest first"}


@bp.get("/")
def index() -> str | tuple[str, int]:
    try:
        state = parse_state(request.args)
    except BadParameter as exc:
        return render_template("bad_parameter.html", error=exc), 400
    archive = current_archive()
    try:
        page = search(archive, state.request())
    except QueryError as exc:
        return render_template("search.html", state=state, page=None, query_error=str(exc),
                               sort_labels=SORT_LABELS), 400
    return render_template("search.html", state=state, page=page, query_error=None,
                           outlet_facets=_outlet_facets(state, page),
                           year_facets=_year_facets(state, page),
                           last_page=page_count(page.total),
                           page_links=list(page_links(state.page, page_count(page.total))),
                           first_shown=state.offset + 1,
                           last_shown=state.offset + len(page.hits),
                           sort_labels=SORT_LABELS, top_outlets=TOP_OUTLETS)


@bp.get("/favicon.ico")
def favicon() -> Response:
    # Browsers ask for this on pages without an icon link, such as the raw text view.
    return current_app.send_static_file("favicon.svg")


def _outlet_facets(state: SearchState, page: SearchPage) -> list[dict[str, object]]:
    counts = {name or "": count for name, count in page.outlet_counts}
    # A chosen outlet stays listed even when nothing matches there, so it can be removed.
    for name in state.outlets:
        counts.setdefault(name, 0)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0].casefold()))
    return [{"label": name or "(unknown outlet)", "count": count,
             "active": state.outlet_active(name), "url": state.toggle_outlet(name).query_string()}
            for name, count in ordered]


def _year_facets(state: SearchState, page: SearchPage) -> list[dict[str, object]]:
    counts = list(page.year_counts)
    active = state.active_year
    if active is not None and active not in dict(counts):
        counts = sorted([*counts, (active, 0)], key=lambda pair: -pair[0])
    facets = []
    for year, count in counts:
        known = year != UNKNOWN_YEAR and 1 <= year <= 9999
        facets.append({"label": str(year) if known else "date unknown", "count": count,
                       "active": known and state.active_year == year,
                       "url": state.toggle_year(year).query_string() if known else None})
    return facets


@dataclass(frozen=True, slots=True)
class Cut:
    start: bool
    end: bool


@bp.app_template_filter("cut_ends")
def cut_ends(fragment: Fragment) -> Cut:
    """Whether a snippet starts or ends mid-sentence, so the page can show "…" there.

    The index returns passages without their offsets, so this guesses from the text:
    a passage that opens in lower case or stops without punctuation was cut.
    """
    text = "".join(piece for piece, _ in fragment).strip()
    if not text:
        return Cut(False, False)
    return Cut(start=text[0].islower(), end=not text.endswith(_SENTENCE_END))
