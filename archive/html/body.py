"""The article text of a page: trafilatura's extraction, then corrections where it falls short."""

from __future__ import annotations

from dataclasses import dataclass, field

import trafilatura
from lxml.html import HtmlElement


@dataclass(slots=True)
class Body:
    paragraphs: list[str]
    removed: list[dict[str, str]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


def extract_body(tree: HtmlElement, url: str | None) -> Body:
    """Paragraphs of the article; empty when trafilatura finds nothing."""
    document = trafilatura.bare_extraction(
        tree, url=url, with_metadata=False, include_comments=False, include_tables=True,
        favor_precision=True, deduplicate=False,
    )
    text = document.text if document is not None else ""
    paragraphs = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return Body(paragraphs)
