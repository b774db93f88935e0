"""One raw input to one extracted article: decode, clean, find metadata, apply supplied values."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from archive.dates import parse_date
from archive.decode import decode
from archive.document import Extracted, ExtractionError, RawDocument, word_count
from archive.htmlpage import extract_html
from archive.language import detect_language
from archive.record import extract_record
from archive.textdump import extract_text_dump

# Bump when cleaning or extraction changes what is stored, so `archive reclean` can tell
# which articles were made by an older version.
CLEANER_VERSION = "15"

_EXTRACTORS: dict[str, Callable[[str, Mapping[str, str]], Extracted]] = {
    "txt": extract_text_dump,
    "html": extract_html,
    "record": extract_record,
}
# Values a user or a container may supply; each wins over what extraction found.
SUPPLIED_FIELDS = ("title", "outlet", "byline", "url", "date", "language")
# Below this many words a "body" is a menu, an error page or an empty template.
MIN_BODY_WORDS = 3


def extract(raw: RawDocument, *, is_boilerplate: Callable[[str], bool] | None = None
            ) -> Extracted:
    """Turn one raw input into the article ingest would store; raise ExtractionError if none.

    `is_boilerplate` names lines learned to be furniture (text dumps only)."""
    try:
        extractor = _EXTRACTORS[raw.format]
    except KeyError:
        raise ExtractionError(f"unsupported format {raw.format!r}") from None
    text, encoding = decode(raw.data, declared=raw.hints.get("charset"))
    if raw.format == "txt" and is_boilerplate is not None:
        article = extract_text_dump(text, raw.hints, is_boilerplate=is_boilerplate)
    else:
        article = extractor(text, raw.hints)
    if word_count(article.body) < MIN_BODY_WORDS:
        raise ExtractionError("no article text found (the page has no body after cleaning)")
    article = _apply_supplied(article, raw.hints)
    language = article.language or detect_language(article.body)
    return dataclasses.replace(article, language=language, encoding=encoding)


def _apply_supplied(article: Extracted, hints: Mapping[str, str]) -> Extracted:
    changes: dict[str, Any] = {}  # values of several fields' types, for replace()
    sources = dict(article.provenance.get("fields", {}))
    for name in SUPPLIED_FIELDS:
        value = (hints.get(name) or "").strip()
        if not value:
            continue
        if name == "date":
            published = parse_date(value, hints.get("language") or article.language)
            if published is None:
                continue
            changes["published"] = published
        else:
            changes[name] = value
        sources["date" if name == "date" else name] = {"rule": "supplied", "value": value}
    if not changes:
        return article
    provenance = {**article.provenance, "fields": sources}
    return dataclasses.replace(article, provenance=provenance, **changes)
