"""Whole-page text dumps (a browser's "select all, copy"): keep the article, drop the page."""

from __future__ import annotations

from collections.abc import Mapping

from archive.document import Extracted
from archive.textdump.clean import clean_lines
from archive.textdump.meta import find_metadata


def extract_text_dump(text: str, hints: Mapping[str, str]) -> Extracted:
    """Clean one text dump and find its metadata."""
    lines = text.split("\n")
    cleaned = clean_lines(lines)
    meta = find_metadata(lines, cleaned, hints)
    body_lines = [lines[i].strip() for i in cleaned.kept if i not in meta.consumed]
    return Extracted(
        body="\n\n".join(body_lines),
        title=meta.title,
        published=meta.published,
        outlet=meta.outlet,
        byline=meta.byline,
        url=hints.get("url"),
        provenance={"fields": meta.sources, "removed": cleaned.removed_spans()},
    )
