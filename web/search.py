"""The search page (results, facets, chart, story folding), the explain page and query help."""

from __future__ import annotations

import calendar
from dataclasses import dataclass

from flask import Blueprint, Response, current_app, render_template, request

from archive.index import UNKNOWN_YEAR, QueryError, SearchTimeout, deadline
from archive.instance import Archive
from archive.search import SearchPage, explain, search, significant_terms

from .access import current_archive
from .chart import build_chart
from .params import (
    SearchState,
    page_count,
    page_links,
    parse_state,
)
from .querytips import QueryProblem, describe

bp = Blueprint("search", __name__)
# Outlets listed before the rest fold away under "more".
TOP_OUTLETS = 10
SORT_LABELS = {"relevance": "Relevance", "newest": "Newest first", "oldest": "Oldest first"}
# Names for the language codes the detector gives most often; others show as their code.
LANGUAGE_NAMES = {
    "ar": "Arabic", "cs": "Czech", "da": "Danish", "de": "German", "el": "Greek",
    "en": "English", "es": "Spanish", "fi": "Finnish", "fr": "French", "he": "Hebrew",
    "hu": "Hungarian", "it": "Italian", "ja": "Japanese", "ko": "Korean", "nl": "Dutch",
    "no": "Norwegian", "pl": "Polish", "pt": "Portuguese", "ro": "Romanian", "ru": "Russian",
    "sv": "Swedish", "tr": "Turkish", "uk": "Ukrainian", "zh": "Chinese",
}


@dataclass(frozen=True, slots=True)
class Facet:
    label: str
    count: int
    active: bool
    url: str | None  # None: counted, but not something to filter on
    title: str | None = None


@bp.get("/")
def index() -> str | tuple[str, int]:
    state = parse_state(request.args)  # BadParameter: the app answers 400
    archive = current_archive()
    try:
        # One deadline for the whole page, stand-out words included.
        with deadline(archive.index.deadline_seconds):
            page = search(archive, state.request(histogram=True))
            terms = significant_terms(archive, state.request()) if page.total > 1 else []
    except QueryError as exc:
        return render_template("search.html", state=state, page=None,
                               problem=query_problem(archive, state.q, exc),
                               sort_labels=SORT_LABELS), query_status(exc)
    last_page = page_count(page.total)
    return render_template(
        "search.html", state=state, page=page, problem=None,
        outlet_facets=outlet_facets(state, page),
        language_facets=language_facets(state, page),
        year_facets=year_facets(state, page),
        month_facets=month_facets(state, page),
        chart=build_chart(page.histogram, state),
        terms=[(word, state.but(q=f"{state.q} {word}").query_string()) for word, _ in terms],
        last_page=last_page,
        page_links=list(page_links(state.page, last_page)),
        first_shown=state.offset + 1,
        last_shown=state.offset + len(page.hits),
        sort_labels=SORT_LABELS, top_outlets=TOP_OUTLETS)


@bp.get("/explain")
def explain_page() -> str | tuple[str, int]:
    state = parse_state(request.args)  # BadParameter: the app answers 400
    archive = current_archive()
    try:
        explanation = explain(archive, state.q)
    except QueryError as exc:
        return render_template("explain.html", state=state, explanation=None,
                               problem=query_problem(archive, state.q, exc)), query_status(exc)
    return render_template("explain.html", state=state, explanation=explanation, problem=None)


@bp.get("/help")
def help_page() -> str:
    return render_template("help.html", examples=QUERY_EXAMPLES)


@bp.get("/favicon.ico")
def favicon() -> Response:
    # Browsers ask for this on pages without an icon link, such as the raw text view.
    return current_app.send_static_file("favicon.svg")


def query_status(error: QueryError) -> int:
    """400 for a query to change; 503 for one that ran out of time (it may run when the
    server is less busy)."""
    return 503 if isinstance(error, SearchTimeout) else 400


def query_problem(archive: Archive, query: str, error: QueryError) -> QueryProblem:
    def check(candidate: str) -> QueryError | None:
        try:
            archive.index.parse(candidate)
        except QueryError as exc:
            return exc
        return None

    return describe(query, error, check)


# --- facets -----------------------------------------------------------------------------------

def outlet_facets(state: SearchState, page: SearchPage) -> list[Facet]:
    counts = {name or "": count for name, count in page.outlet_counts}
    # A chosen outlet stays listed even when nothing matches there, so it can be removed.
    for name in state.outlets:
        counts.setdefault(name, 0)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0].casefold()))
    return [Facet(name or "(unknown outlet)", count, state.outlet_active(name),
                  state.toggle_outlet(name).query_string())
            for name, count in ordered]


def language_facets(state: SearchState, page: SearchPage) -> list[Facet]:
    counts = {code or "": count for code, count in page.language_counts}
    for code in state.languages:
        counts.setdefault(code, 0)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [Facet(language_name(code), count, code in state.languages,
                  state.toggle_language(code).query_string())
            for code, count in ordered]


@bp.app_template_global("language_name")
def language_name(code: str) -> str:
    if not code:
        return "(unknown language)"
    name = LANGUAGE_NAMES.get(code.lower())
    return f"{name} ({code})" if name else code


def year_facets(state: SearchState, page: SearchPage) -> list[Facet]:
    counts = list(page.year_counts)
    shown = state.drill_year
    if shown is not None and shown not in dict(counts):
        counts = sorted([*counts, (shown, 0)], key=lambda pair: -pair[0])
    facets = []
    for year, count in counts:
        known = year != UNKNOWN_YEAR and 1 <= year <= 9999
        facets.append(Facet(str(year) if known else "date unknown", count,
                            known and state.active_year == year,
                            state.toggle_year(year).query_string() if known else None))
    return facets


def month_facets(state: SearchState, page: SearchPage) -> list[Facet]:
    """The chosen year's months (month counts ignore the date filter, like year counts)."""
    year = state.drill_year
    if year is None:
        return []
    counts = {month: count for month, count in page.month_counts if month // 100 == year}
    if state.active_month is not None:
        counts.setdefault(state.active_month, 0)
    return [Facet(calendar.month_name[month % 100], counts[month],
                  state.active_month == month, state.toggle_month(month).query_string(),
                  title=f"{calendar.month_name[month % 100]} {year}")
            for month in sorted(counts)]


@bp.app_template_global("count_label")
def count_label(number: int, one: str, many: str | None = None) -> str:
    return f"{number:,} {one if number == 1 else (many or one + 's')}"


# The help page's examples: (query, what it finds). Each links to a search for it.
QUERY_EXAMPLES: dict[str, list[tuple[str, str]]] = {
    "Words": [
        ("dock workers", "articles with both words, anywhere in the title or text (AND is "
                         "the default)"),
        ("strike OR walkout", "either word"),
        ("strike NOT ferry", "strike, but no article that mentions the ferry"),
        ("strike -ferry", "the same, shorter: a minus leaves a word out"),
        ("(tram OR ferry) strike", "brackets group: strike together with tram or ferry"),
    ],
    "Phrases and nearness": [
        ('"night shift"', "the exact phrase"),
        ('"lavrov china"~5', "both words, at most 5 words apart"),
    ],
    "Fields": [
        ("title:strike", "only in the headline"),
        ("body:strike", "only in the article text"),
        ("outlet:harbour", "outlets whose name contains the word"),
        ("byline:smith", "articles by a writer of that name"),
    ],
    "Word endings and spelling": [
        ("sanction*", "sanction, sanctions, sanctioned … (at least 2 letters before the *)"),
        ("lavorv~", "words spelled up to 2 letters differently (lavrov); lavorv~1 allows 1"),
    ],
    "Dates": [
        ("date:2022-03", "published in March 2022 (date:2022 for the year)"),
        ("date:[2022-03-01 TO 2022-03-31]", "published between two days, both included"),
        ("strike date:[2024-05-01 TO 2024-05-31]", "combined with words"),
    ],
}
