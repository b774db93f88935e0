"""The OpenAPI 3.0 description of the JSON API; tests check live responses against it."""

from __future__ import annotations

from typing import Any

from archive.index import SORTS

from .params import (
    MAX_LANGUAGE_CHARS,
    MAX_LANGUAGES,
    MAX_OUTLET_CHARS,
    MAX_OUTLETS,
    MAX_PER_PAGE,
    MAX_QUERY_CHARS,
    MAX_RESULTS_DEEP,
    PER_PAGE,
)


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def _object(properties: dict[str, Any], *, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """A closed object: every property required (unless optional), nothing else allowed, so
    a field the code adds without documenting it fails the schema tests."""
    return {"type": "object", "additionalProperties": False, "properties": properties,
            "required": [name for name in properties if name not in optional]}


_STRING = {"type": "string"}
_INT = {"type": "integer"}
_COUNT = {"type": "integer", "minimum": 0}
_BOOL = {"type": "boolean"}
_URL = {"type": "string", "format": "uri"}

SCHEMAS: dict[str, Any] = {
    "Error": _object({"error": _object({
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "code": {"type": "string", "description": "bad_parameter, bad_query, search_timeout, "
                 "not_found, method_not_allowed, host_not_allowed, no_archive, "
                 "internal_error, ..."},
        "message": _STRING,
        "parameter": {"type": "string", "description": "The query parameter at fault."},
    }, optional=("parameter",))}),
    "Fragment": _object({
        "pieces": {"type": "array", "items": _object({"text": _STRING, "match": _BOOL})},
        "cut_start": {**_BOOL, "description": "The passage starts inside the text."},
        "cut_end": {**_BOOL, "description": "The passage ends inside the text."},
    }),
    "StoryCopyRef": _object({"id": _INT, "outlet": _nullable(_STRING),
                             "date": _nullable(_STRING)}),
    "Hit": _object({
        "id": _INT,
        "title": _STRING,
        "title_marked": {"$ref": "#/components/schemas/Fragment"},
        "outlet": _nullable(_STRING),
        "date": _nullable({**_STRING, "description": "YYYY-MM-DD, YYYY-MM or YYYY: as "
                           "precise as known."}),
        "date_precision": _nullable({"type": "string", "enum": ["day", "month", "year"]}),
        "language": _nullable(_STRING),
        "url": _nullable(_STRING),
        "word_count": _COUNT,
        "snippet": {"type": "array", "items": {"$ref": "#/components/schemas/Fragment"}},
        "story": _object({
            "id": _nullable(_INT),
            "copies": {**_COUNT, "description": "Articles of the story, this one included."},
            "other_outlets": {"type": "array", "items": _STRING},
            "other_articles": {"type": "array",
                               "items": {"$ref": "#/components/schemas/StoryCopyRef"}},
        }),
    }),
    "Histogram": _nullable(_object({
        "granularity": {"type": "string", "enum": ["day", "week", "month"]},
        "undated": _COUNT,
        "buckets": {"type": "array", "items": _object({
            "start": {"type": "string", "format": "date"},
            "count": _COUNT,
            "archive_total": {**_COUNT, "description": "All archived articles of the period."},
            "share": {"type": "number", "minimum": 0},
        })},
    })),
    "SearchPage": _object({
        "query": _STRING,
        "total": _COUNT,
        "offset": _COUNT,
        "limit": _COUNT,
        "sort": {"type": "string", "enum": list(SORTS)},
        "one_per_story": _BOOL,
        "hits": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}},
        "facets": _object({
            "outlet": {"type": "array", "items": _object({"value": _nullable(_STRING),
                                                          "count": _COUNT})},
            "year": {"type": "array", "items": _object({"value": _nullable(_INT),
                                                        "count": _COUNT})},
            "month": {"type": "array", "items": _object({"value": _STRING, "count": _COUNT})},
            "language": {"type": "array", "items": _object({"value": _nullable(_STRING),
                                                            "count": _COUNT})},
        }),
        "histogram": {"$ref": "#/components/schemas/Histogram"},
        "suggestion": _nullable(_STRING),
        "notes": {"type": "array", "items": _STRING,
                  "description": "Why the results may be partial (a pattern searched only "
                                 "for its most common words)"},
        "page": {"type": "integer", "minimum": 1},
        "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
        "pages": {"type": "integer", "minimum": 1},
        "links": _object({"self": _URL, "first": _URL, "last": _URL, "prev": _nullable(_URL),
                          "next": _nullable(_URL), "html": _URL}),
    }),
    "Article": _object({
        "id": _INT,
        "title": _STRING,
        "outlet": _nullable(_STRING),
        "date": _nullable(_STRING),
        "date_precision": _nullable({"type": "string", "enum": ["day", "month", "year"]}),
        "byline": _nullable(_STRING),
        "language": _nullable(_STRING),
        "url": _nullable(_STRING),
        "word_count": _COUNT,
        "body": _STRING,
        "source": _object({"format": _STRING, "uri": _STRING,
                           "encoding": _nullable(_STRING)}),
        "story": _object({
            "id": _nullable(_INT),
            "copies": {"type": "array", "items": _object({
                "id": _INT, "title": _STRING, "outlet": _nullable(_STRING),
                "date": _nullable(_STRING)})},
        }),
        "provenance": {
            "type": "object",
            "description": "How extraction found each value and what cleaning removed. Line "
                           "numbers count from 0 in the decoded raw input split on newlines.",
            "properties": {
                "fields": {"type": "object", "additionalProperties": {
                    "type": "object",
                    "properties": {"rule": _STRING, "line": _nullable(_INT), "value": _STRING},
                }},
                "removed": {"type": "array", "items": {
                    "type": "object",
                    "properties": {"start": _INT, "end": _INT, "text": _STRING,
                                   "reason": _STRING},
                }},
            },
        },
        "links": _object({"self": _URL, "html": _URL, "extraction": _URL, "raw": _URL}),
    }),
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}}


# Empty values mean "not given", as an HTML form sends them; the schemas say so.
_EMPTY = {"type": "string", "maxLength": 0}


def _or_empty(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, _EMPTY]}


_FLAG = {"anyOf": [{"type": "boolean"},
                   {"type": "string", "enum": ["1", "0", "yes", "no", "on", "off", ""]}],
         "default": False}


def _repeatable(name: str, description: str, most: int, longest: int) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "style": "form", "explode": True,
            "description": description,
            "schema": {"type": "array", "maxItems": most,
                       "items": {"type": "string", "maxLength": longest}}}


SEARCH_PARAMETERS: list[dict[str, Any]] = [
    {"name": "q", "in": "query", "required": False,
     "description": "The query (see /help): words, OR, NOT, -word, (groups), \"phrases\", "
                    "\"two words\"~5, title:/outlet:/byline:/body:, prefix*, fuzzy~, "
                    "date:2022-03, date:[2022-03-01 TO 2022-03-31]. Empty lists everything.",
     "schema": {"type": "string", "maxLength": MAX_QUERY_CHARS}},
    _repeatable("outlet", "Only these outlets (an empty value: articles without one).",
                MAX_OUTLETS, MAX_OUTLET_CHARS),
    _repeatable("language", "Only these language codes (an empty value: unknown).",
                MAX_LANGUAGES, MAX_LANGUAGE_CHARS),
    {"name": "from", "in": "query", "required": False,
     "description": "Published on or after this day.",
     "schema": _or_empty({"type": "string", "format": "date"})},
    {"name": "to", "in": "query", "required": False,
     "description": "Published on or before this day (not before `from`).",
     "schema": _or_empty({"type": "string", "format": "date"})},
    {"name": "sort", "in": "query", "required": False,
     "description": "relevance (the default with a query) or newest (the default without).",
     "schema": {"type": "string", "enum": [*SORTS, "date", ""]}},
    {"name": "page", "in": "query", "required": False,
     "description": f"Page number, from 1; page × per_page at most {MAX_RESULTS_DEEP:,}.",
     "schema": _or_empty({"type": "integer", "minimum": 1, "maximum": MAX_RESULTS_DEEP})},
    {"name": "per_page", "in": "query", "required": False,
     "description": f"Results per page (default {PER_PAGE}).",
     "schema": _or_empty({"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE})},
    {"name": "stories", "in": "query", "required": False,
     "description": "One result per story (its earliest copy); counts then count stories.",
     "schema": _FLAG},
    {"name": "histogram", "in": "query", "required": False,
     "description": "Add matches per day, week or month with the archive's totals.",
     "schema": _FLAG},
]


def openapi_document(api_root: str) -> dict[str, Any]:
    """The document for an API served under api_root (e.g. http://host/api)."""
    json_ok = {"application/json": {"schema": {"$ref": "#/components/schemas/SearchPage"}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "News archive API", "version": "1",
                 "description": "Read-only search over the archive. Results, facets and "
                                "histograms have the shapes `archive search --json` prints."},
        "servers": [{"url": api_root}],
        "paths": {
            "/search": {"get": {
                "operationId": "search",
                "summary": "Search the archive",
                "parameters": SEARCH_PARAMETERS,
                "responses": {
                    "200": {"description": "One page of results with facets and links.",
                            "content": json_ok},
                    "400": _error("A parameter or the query cannot be used."),
                    "503": _error("There is no archive to search yet, or the search ran "
                                  "past its time limit (code search_timeout)."),
                },
            }},
            "/articles/{id}": {"get": {
                "operationId": "getArticle",
                "summary": "One article: metadata, text, story copies and provenance",
                "parameters": [{"name": "id", "in": "path", "required": True,
                                "schema": {"type": "integer", "minimum": 1,
                                           "format": "int64"}}],
                "responses": {
                    "200": {"description": "The article.", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Article"}}}},
                    "404": _error("No article has this id."),
                    "503": _error("There is no archive yet."),
                },
            }},
        },
        "components": {"schemas": SCHEMAS},
    }
