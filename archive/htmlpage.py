"""HTML pages: the article body and metadata through trafilatura."""

from __future__ import annotations

from collections.abc import Mapping

import trafilatura

from archive.dates import parse_date
from archive.document import Extracted, ExtractionError
from archive.outlets import outlet_for_url


def extract_html(text: str, hints: Mapping[str, str]) -> Extracted:
    """Extract the article from one HTML page."""
    url = hints.get("url")
    try:
        document = trafilatura.bare_extraction(
            text, url=url, with_metadata=True, include_comments=False, include_tables=True,
            deduplicate=False,
        )
    except (ValueError, TypeError, RecursionError) as exc:  # malformed markup deep inside lxml
        raise ExtractionError(f"unreadable HTML ({exc.__class__.__name__})") from None
    if document is None or not (document.text or "").strip():
        raise ExtractionError("no article text found in the HTML page")
    fields: dict[str, dict[str, str]] = {}
    for name, value in (("title", document.title), ("date", document.date),
                        ("outlet", document.sitename), ("byline", document.author)):
        if value:
            fields[name] = {"rule": "trafilatura metadata"}
    outlet = document.sitename
    page_url = url or document.url
    if page_url and (known := outlet_for_url(page_url)):
        outlet = known
        fields["outlet"] = {"rule": "outlet table, by domain"}
    body = "\n\n".join(line.strip() for line in document.text.splitlines() if line.strip())
    return Extracted(
        body=body,
        title=document.title,
        published=parse_date(document.date),
        outlet=outlet,
        byline=document.author,
        language=document.language,
        url=page_url,
        provenance={"fields": fields, "removed": []},
    )
