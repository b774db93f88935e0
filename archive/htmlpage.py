"""HTML pages: the article body through trafilatura, metadata through the page's own statements."""

from __future__ import annotations

from collections.abc import Mapping

from archive.document import Extracted, ExtractionError
from archive.html.body import BodyError, extract_body
from archive.html.facts import collect_facts
from archive.html.meta import find_metadata
from archive.html.parse import parse_html


def extract_html(text: str, hints: Mapping[str, str]) -> Extracted:
    """Extract the article and its metadata from one HTML page."""
    tree = parse_html(text)
    facts = collect_facts(tree, hints)
    meta = find_metadata(tree, facts)
    titles = [meta.title, facts.title_tag, facts.first_meta("og:title")]
    try:
        body = extract_body(tree, facts.url, [t for t in titles if t])
    except BodyError as exc:
        raise ExtractionError(str(exc)) from None
    if not body.paragraphs:
        raise ExtractionError("no article text found in the HTML page")
    return Extracted(
        body=body.text,
        title=meta.title,
        published=meta.published,
        outlet=meta.outlet,
        byline=meta.byline,
        url=facts.url,
        provenance={"fields": meta.sources, "removed": body.removed},
    )
