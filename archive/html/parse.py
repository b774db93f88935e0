"""Turn page text into one lxml tree, refusing pages that are too big, too deep or not HTML."""

from __future__ import annotations

import re

from lxml import etree
from lxml.html import HtmlElement, HTMLParser, document_fromstring

from archive.document import ExtractionError

# Far beyond any article page (the largest seen in testing were under 1 MB and 2,000
# elements); past these, extraction time grows into seconds and the page is almost
# certainly a dump, a feed or something hostile rather than an article.
MAX_HTML_CHARS = 20_000_000
MAX_ELEMENTS = 100_000
# libxml2 stops reading at 256 levels unless told it may go on ("huge" mode), and then at
# 2,048. Broken pages with unclosed inline tags legitimately go past 256, so huge mode is on;
# past 2,048 the rest of the page would be silently lost, which we report instead.
_DEPTH_LIMIT_MESSAGE = "Excessive depth"

# Attribute values this long are inlined images or data blobs; regular expressions run
# over attributes later (trafilatura's boilerplate tests) would spend seconds on them.
_LONG_ATTRIBUTE = re.compile(r"""(\s[\w:.-]+\s*=\s*)(?:"[^"<]{10000,}"|'[^'<]{10000,}')""")
# Characters XML cannot hold; lxml refuses them when trafilatura builds its output tree.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _parser() -> HTMLParser:
    # A fresh parser per call: its error log is how we learn about truncation, and parsers
    # are not safe to share across threads.
    return HTMLParser(
        encoding="utf-8",  # we hand over bytes we encoded; a page's own charset is stale
        collect_ids=False,
        remove_comments=True,
        remove_pis=True,
        huge_tree=True,
        default_doctype=False,
    )


def parse_html(text: str) -> HtmlElement:
    """Parse a decoded page; raise ExtractionError with a reason when it cannot be read."""
    if len(text) > MAX_HTML_CHARS:
        raise ExtractionError(
            f"the page is too large to be an article ({len(text) // 1_000_000} MB of HTML;"
            f" the limit is {MAX_HTML_CHARS // 1_000_000} MB)"
        )
    if not text.strip():
        raise ExtractionError("the HTML page is empty")
    text = _LONG_ATTRIBUTE.sub(r'\1""', _NOT_XML.sub("", text))
    data = text.encode("utf-8", "replace")
    parser = _parser()
    try:
        tree = document_fromstring(data, parser=parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        raise ExtractionError("the file contains no HTML that can be read") from None
    if any(_DEPTH_LIMIT_MESSAGE in entry.message for entry in parser.error_log):
        raise ExtractionError(
            "the page's HTML is nested too deeply to read safely (more than 2,048 levels);"
            " it is probably broken or machine-generated"
        )
    for count, _ in enumerate(tree.iter(), 1):
        if count > MAX_ELEMENTS:
            raise ExtractionError(
                f"the page has more than {MAX_ELEMENTS:,} HTML elements, far more than an"
                " article page; it is probably a listing, a feed or an export"
            )
    return tree
