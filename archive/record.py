"""Articles that arrive as structured records (a JSON Lines row) from scrapers and exports."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from archive.dates import parse_date
from archive.document import Extracted, ExtractionError
from archive.outlets import outlet_for_url

# The field names used by the tools researchers export from, most specific first:
# our own `archive export`, news-please, Media Cloud, CC-News and generic scrapers.
FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "body": ("body", "maintext", "text", "content", "article", "story_text", "full_text"),
    "title": ("title", "headline"),
    "date": ("date", "published", "date_publish", "publish_date", "published_at",
             "publication_date", "pubdate", "datetime"),
    "outlet": ("outlet", "media_name", "source_name", "publisher", "site_name", "source",
               "source_domain", "domain"),
    "byline": ("byline", "authors", "author"),
    "url": ("url", "link", "canonical_url"),
    "language": ("language", "lang"),
}


def extract_record(text: str, hints: Mapping[str, str]) -> Extracted:
    """Map one JSON object's fields onto an article; the body is taken as already clean."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ExtractionError(f"invalid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(record, dict):
        raise ExtractionError("a JSON line must hold an object with the article's fields")
    values = {name: _first(record, keys) for name, keys in FIELD_NAMES.items()}
    body = values["body"]
    if not body:
        wanted = ", ".join(FIELD_NAMES["body"])
        raise ExtractionError(f"no article text: the record has none of the fields {wanted}")
    fields = {name: {"rule": f"record field {found[0]!r}"}
              for name, found in values.items() if found}
    outlet = values["outlet"][1] if values["outlet"] else None
    url = values["url"][1] if values["url"] else None
    if not outlet and url and (outlet := outlet_for_url(url)):
        fields["outlet"] = {"rule": "domain of url"}
    return Extracted(
        body=_normalise_body(body[1]),
        title=values["title"][1] if values["title"] else None,
        published=parse_date(values["date"][1], values["language"][1] if values["language"]
                             else hints.get("language")) if values["date"] else None,
        outlet=outlet,
        byline=values["byline"][1] if values["byline"] else None,
        language=values["language"][1] if values["language"] else None,
        url=url,
        provenance={"fields": fields, "removed": []},
    )


def _first(record: dict[str, Any], keys: tuple[str, ...]) -> tuple[str, str] | None:
    for key in keys:
        value = record.get(key)
        if isinstance(value, list):  # news-please and others give authors as a list
            value = ", ".join(str(item) for item in value if item)
        if isinstance(value, dict):  # e.g. {"name": "..."} for a publisher
            value = value.get("name")
        if value is not None and str(value).strip():
            return key, str(value).strip()
    return None


def _normalise_body(body: str) -> str:
    paragraphs = (" ".join(part.split()) for part in body.replace("\r\n", "\n").split("\n"))
    return "\n\n".join(p for p in paragraphs if p)
