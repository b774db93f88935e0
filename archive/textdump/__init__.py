"""Whole-page text dumps (a browser's "select all, copy"): keep the article, drop the page."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from archive.document import Extracted
from archive.textdump.clean import clean_lines, word_total
from archive.textdump.meta import find_metadata
from archive.textdump.model import LineModel
from archive.textdump.title import LEAD_IN_WORDS

# Kept lines above the headline are page furniture when there are only a few of them, or
# they are short (a sign-in prompt, a menu's descriptions); more, and the "headline" is
# more likely a heading inside the article.
_MAX_ABOVE_HEADLINE = 3


def extract_text_dump(text: str, hints: Mapping[str, str], *,
                      is_boilerplate: Callable[[str], bool] | None = None,
                      model: LineModel | None = None) -> Extracted:
    """Clean one text dump and find its metadata.

    `is_boilerplate` marks lines known to recur across the outlet's stored articles;
    `model` replaces the shipped line classifier (training and evaluation use it).
    """
    lines = text.split("\n")
    cleaned = clean_lines(lines, is_boilerplate, model=model)
    meta = find_metadata(lines, cleaned, hints, model)
    removed = cleaned.removed_spans()
    title_line = meta.headline_line()
    above = [i for i in cleaned.kept if title_line is not None and i < title_line]
    if len(above) <= _MAX_ABOVE_HEADLINE or \
            sum(word_total(lines[i]) for i in above) < LEAD_IN_WORDS:
        # Breadcrumbs and section labels the classifier let through sit above the headline.
        for index in above:
            removed.append({"start": index, "end": index, "reason": "above the headline"})
        meta.consumed.update(above)
        if above and title_line in cleaned.kept:
            meta.consumed.add(title_line)
    for index in sorted(meta.consumed & set(cleaned.kept) - set(above)):
        removed.append({"start": index, "end": index, "reason": "metadata line"})
    body_lines = [lines[i].strip() for i in cleaned.kept if i not in meta.consumed]
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
