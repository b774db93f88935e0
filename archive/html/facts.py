"""What a page says about itself, gathered in one cheap pass: meta tags, JSON-LD, headings, URL."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml.html import HtmlElement

# schema.org types whose headline, dates and author describe the article itself.
ARTICLE_TYPES = frozenset({
    "article", "newsarticle", "blogposting", "reportagenewsarticle", "analysisnewsarticle",
    "opinionnewsarticle", "reviewnewsarticle", "backgroundnewsarticle", "askpublicnewsarticle",
    "satiricalarticle", "liveblogposting", "techarticle", "scholarlyarticle", "report",
    "socialmediaposting", "posting", "review", "creativework", "recipe",
})
PAGE_TYPES = frozenset({"webpage", "itempage", "aboutpage", "collectionpage"})
# A JSON-LD block larger than this is a data dump (product feeds, maps), not page metadata.
_MAX_LD_CHARS = 500_000
_SPACE = re.compile(r"\s+")


@dataclass(slots=True)
class PageFacts:
    """Metadata statements found in the page markup, before any judgement about them."""

    # meta tags by lower-cased name/property/itemprop, contents in page order
    metas: dict[str, list[str]] = field(default_factory=dict)
    # every JSON-LD object (nested ones too), in page order, with its lower-cased @type names
    ld: list[tuple[frozenset[str], dict[str, Any]]] = field(default_factory=list)
    title_tag: str | None = None
    h1s: list[HtmlElement] = field(default_factory=list)
    # the page's address: supplied, else canonical, else og:url
    url: str | None = None
    url_rule: str | None = None
    # every address the page declares, as (rule, url), in that order
    urls: list[tuple[str, str]] = field(default_factory=list)
    host: str | None = None

    def meta(self, *names: str) -> Iterator[tuple[str, str]]:
        """(name, content) for each named meta tag present, in the order the names are given."""
        for name in names:
            for content in self.metas.get(name, ()):
                yield name, content

    def first_meta(self, *names: str) -> str | None:
        return next((content for _, content in self.meta(*names)), None)

    def ld_of(self, types: frozenset[str]) -> Iterator[dict[str, Any]]:
        for kinds, obj in self.ld:
            if kinds & types:
                yield obj


def clean_text(value: str | None) -> str:
    """Collapse whitespace and drop invisible characters, as a reader would see the text."""
    if not value:
        return ""
    value = unicodedata.normalize("NFC", value.replace("\u00ad", "").replace("\u200b", ""))
    return _SPACE.sub(" ", value).strip()


_SPACE_BEFORE_STOP = re.compile(r"\s+([,.)\]])")


def element_text(element: HtmlElement) -> str:
    # Pieces are joined with spaces (a <br> or a block inside must not glue two words), and
    # a comma, full stop or closing bracket that had a tag of its own goes back to its word.
    return _SPACE_BEFORE_STOP.sub(r"\1", clean_text(" ".join(element.itertext())))


def collect_facts(tree: HtmlElement, hints: Mapping[str, str]) -> PageFacts:
    """Gather the page's own metadata statements; nothing here decides between them."""
    facts = PageFacts()
    canonical = None
    for element in tree.iter("meta", "link", "title", "h1", "script"):
        tag = element.tag
        if tag == "meta":
            content = element.get("content")
            key = element.get("property") or element.get("name") or element.get("itemprop")
            if key and content and (content := clean_text(content)):
                facts.metas.setdefault(key.strip().lower(), []).append(content)
        elif tag == "link":
            if canonical is None and "canonical" in (element.get("rel") or "").lower().split():
                canonical = element.get("href")
        elif tag == "title":
            if facts.title_tag is None:
                facts.title_tag = clean_text(element.text_content()) or None
        elif tag == "h1":
            facts.h1s.append(element)
        elif (element.get("type") or "").strip().lower() == "application/ld+json":
            _add_json_ld(facts, element.text or "")
    # itemprop on ordinary elements (<time itemprop="datePublished" datetime=...>)
    for element in tree.xpath("//body//*[@itemprop][not(self::meta)]"):
        key = element.get("itemprop", "").strip().lower()
        if key in {"datepublished", "datecreated", "headline", "author", "datemodified"}:
            if key == "author":
                # the name inside an author block, not its photo caption and date
                named = element.xpath(".//*[@itemprop='name']")
                element = named[0] if named else element
            value = element.get("datetime") or element.get("content") or element_text(element)
            if value := clean_text(value):
                facts.metas.setdefault(f"itemprop:{key}", []).append(value)
    _find_url(facts, hints, canonical)
    return facts


def _find_url(facts: PageFacts, hints: Mapping[str, str], canonical: str | None) -> None:
    og_url = facts.first_meta("og:url")
    for rule, value in (("supplied url", hints.get("url")), ("canonical link", canonical),
                        ("og:url", og_url)):
        value = (value or "").strip()
        if value.startswith("//"):
            value = "https:" + value
        elif value.startswith("/") and og_url:
            value = urljoin(og_url, value)
        try:
            parts = urlsplit(value)
            host = parts.hostname
        except ValueError:
            continue
        if parts.scheme in ("http", "https") and host:
            facts.urls.append((rule, value))
            if facts.url is None:
                facts.url, facts.url_rule, facts.host = value, rule, host.lower()


# CDATA markers around a script's text, bare or hidden from JavaScript in a comment.
_CDATA_STARTS = ("//<![CDATA[", "/*<![CDATA[*/", "<![CDATA[")
_CDATA_ENDS = ("//]]>", "/*]]>*/", "]]>")


def _add_json_ld(facts: PageFacts, text: str) -> None:
    text = text.strip()
    if not text or len(text) > _MAX_LD_CHARS:
        return
    # Pages wrap JSON-LD in HTML comments or CDATA markers, and break it with raw newlines
    # inside strings; strict=False accepts the latter.
    text = text.removeprefix("<!--").removesuffix("-->").strip()
    start = next((mark for mark in _CDATA_STARTS if text.startswith(mark)), "")
    end = next((mark for mark in _CDATA_ENDS if text.endswith(mark)), "")
    text = text[len(start):len(text) - len(end)].strip()
    try:
        data = json.loads(text, strict=False)
    except (ValueError, RecursionError):
        return
    stack: list[Any] = [data]
    found: list[tuple[frozenset[str], dict[str, Any]]] = []
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            kinds = item.get("@type")
            kinds = kinds if isinstance(kinds, list) else [kinds]
            found.append((frozenset(k.lower() for k in kinds if isinstance(k, str)), item))
            stack.extend(reversed([v for v in item.values() if isinstance(v, dict | list)]))
    facts.ld.extend(found)


def ld_text(value: Any) -> str | None:
    """A JSON-LD value as one string: names of objects, first of lists."""
    if isinstance(value, list):
        value = next((v for v in value if v), None)
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value")
    return clean_text(value) or None if isinstance(value, str) else None


def ld_names(value: Any) -> list[str]:
    """Every name in a JSON-LD value (a string, an object or a list of either)."""
    items = value if isinstance(value, list) else [value]
    names = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("name")
        if isinstance(item, str) and (item := clean_text(item)):
            names.append(item)
    return names
