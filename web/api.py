"""The JSON API: search and articles in the shapes `archive search --json` prints.

Every error, whatever raised it, leaves as one shape (see error_body):
{"error": {"status": 400, "code": "bad_parameter", "message": "...", "parameter": "from"}}
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, request, url_for

from archive.index import QueryError, SearchTimeout
from archive.search import search
from archive.serialize import page_json

from .access import current_archive
from .articles import ArticleView, load_article
from .openapi import openapi_document
from .params import (
    MAX_PER_PAGE,
    PER_PAGE,
    BadParameter,
    SearchState,
    flag,
    page_count,
    parse_state,
)

bp = Blueprint("api", __name__, url_prefix="/api")


class ApiError(Exception):
    """An error to answer with the API's error shape."""

    def __init__(self, status: int, code: str, message: str,
                 parameter: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.parameter = parameter


def error_body(status: int, code: str, message: str, parameter: str | None = None
               ) -> dict[str, Any]:
    error: dict[str, Any] = {"status": status, "code": code, "message": message}
    if parameter is not None:
        error["parameter"] = parameter
    return {"error": error}


def json_response(body: Any, status: int = 200) -> Response:
    """JSON with <, > and & escaped: article text is untrusted, and escaped it cannot be
    mistaken for markup by anything that sniffs (the JSON value stays the same)."""
    text = (json.dumps(body, ensure_ascii=False, separators=(",", ":"))
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))
    return Response(text + "\n", status=status, content_type="application/json")


def error_response(status: int, code: str, message: str, parameter: str | None = None,
                   headers: list[tuple[str, str]] | None = None) -> Response:
    response = json_response(error_body(status, code, message, parameter), status)
    for name, value in headers or []:
        response.headers[name] = value
    return response


@bp.get("/search", endpoint="search")
def search_endpoint() -> Response:
    try:
        state = parse_state(request.args, max_per_page=MAX_PER_PAGE)
        histogram = flag(request.args, "histogram")
    except BadParameter as exc:
        raise ApiError(400, "bad_parameter", f"{exc.name}: {exc.message}", exc.name) from None
    try:
        page = search(current_archive(), state.request(histogram=histogram))
    except SearchTimeout as exc:
        raise ApiError(503, "search_timeout", f"q: {exc}", "q") from None
    except QueryError as exc:
        raise ApiError(400, "bad_query", f"q: {exc}", "q") from None
    body = page_json(page)
    last = page_count(page.total, state.per_page)
    body["page"] = state.page
    body["per_page"] = state.per_page
    body["pages"] = last
    body["links"] = {
        "self": _search_url(state, histogram),
        "first": _search_url(state.but(page=1), histogram),
        "last": _search_url(state.but(page=last), histogram),
        "prev": _search_url(state.but(page=min(state.page - 1, last)), histogram)
        if state.page > 1 else None,
        "next": _search_url(state.but(page=state.page + 1), histogram)
        if state.page < last else None,
        "html": url_for("search.index", _external=True)
        + state.but(per_page=PER_PAGE, page=1).query_string(),
    }
    return json_response(body)



@bp.get("/articles/<int:article_id>")
def article(article_id: int) -> Response:
    archive = current_archive()
    with archive.sessions() as session:
        view = load_article(session, article_id)
    return json_response(article_json(view))


@bp.get("/openapi.json")
def openapi() -> Response:
    return json_response(openapi_document(url_for("api.search", _external=True).rsplit("/", 1)[0]))


def article_json(view: ArticleView) -> dict[str, Any]:
    return {
        "id": view.id,
        "title": view.title,
        "outlet": view.outlet,
        "date": view.date_label if view.published else None,
        "date_precision": view.date_precision,
        "byline": view.byline,
        "language": view.language,
        "url": view.url,
        "word_count": view.word_count,
        "body": view.body,
        "source": {"format": view.source_format, "uri": view.source_uri,
                   "encoding": view.source_encoding},
        "story": {
            "id": view.story_id,
            "copies": [{"id": copy.id, "title": copy.title, "outlet": copy.outlet,
                        "date": copy.date_label if copy.published else None}
                       for copy in view.copies],
        },
        "provenance": view.provenance,
        "links": {
            "self": url_for("api.article", article_id=view.id, _external=True),
            "html": url_for("articles.show", article_id=view.id, _external=True),
            "extraction": url_for("articles.extraction", article_id=view.id, _external=True),
            "raw": url_for("articles.raw", article_id=view.id, _external=True),
        },
    }


def _search_url(state: SearchState, histogram: bool) -> str:
    pairs = state.query_string()
    if histogram:
        pairs += ("&" if pairs else "?") + "histogram=1"
    return url_for("api.search", _external=True) + pairs
