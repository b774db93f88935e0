"""Whole-page text dumps (a browser's "select all, copy"): keep the article, drop the page."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from archive.document import Extracted
from archive.textdump.clean import clean_lines
from archive.textdump.meta import find_metadata
from archive.textdump.model import LineModel


def extract_text_dump(text: str, hints: Mapping[str, str], *,
                      is_boilerplate: Callable[[str], bool] | None = None,
                      model: LineModel | None = None) -> Extracted:
    """Clean one text dump and find its metadata.

    `is_boilerplate` marks lines known to recur across the outlet's stored articles;
    `model` replaces the shipped line classifier (training and evaluation use it).
    """
    lines = text.split("\n")
    cleaned = clean_lines(lines, is_boilerplate, model=model)
    meta = find_metadata(lines, cleaned, hints)
    body_lines = [lines[i].strip() for i in cleaned.kept if i not in meta.consumed]
    removed = cleaned.removed_spans()
    for index in sorted(meta.consumed & set(cleaned.kept)):
        removed.append({"start": index, "end": index, "reason": "metadata line"})
    removed.sort(key=lambda span: span["start"])  # type: ignore[arg-type,return-value]
    return Extracted(
        body="\n\n".join(body_lines),
        title=meta.title,
        published=meta.published,
        outlet=meta.outlet,
        byline=meta.byline,
        url=hints.get("url"),
        provenance={"fields": meta.sources, "removed": removed},
    )
