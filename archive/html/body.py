"""The article text of a page: trafilatura's extraction, then corrections where it falls short.

trafilatura finds the article well but keeps some furniture at its edges (the headline
again, a date line, "Follow us" and "Related" links, copyright lines) and reads only the
first part of articles that pages split into several containers around an advertisement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import trafilatura
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.xml import xmltotxt

from archive.html.facts import clean_text
from archive.html.names import fold

# Lines that are never article text wherever they stand: teasers for other articles,
# section labels of link lists, photo credits.
_TEASER = re.compile(
    r"^\W*(?:read more|related|see also|also read|more on this|recommended|read also|"
    r"related (?:post|article|stories|coverage)|leia também|leia mais|veja também|"
    r"lesen sie auch|mehr zum thema|à lire aussi|lire aussi|lee también|leggi anche|"
    r"читайте также|смотрите также|関連記事)\b\s*[:\-–—|]"
    r"|^\W*also on [\w-]+\.[a-z]{2,}\b",
    re.I,
)
_LIST_LABEL = re.compile(
    r"^\W*(?:most (?:read|popular|viewed|shared)|related (?:stories|articles|posts|coverage)|"
    r"you (?:may|might) also like|more (?:great )?\w* ?stories|recommended(?: for you)?|"
    r"trending(?: now)?|more from [\w .]+|also:?)\W*(?:in [\w ]{1,30})?\W*$",
    re.I,
)
_CREDIT = re.compile(
    r"©|\(c\)\s*\d{4}|^\W*(?:photos?|fotos?|image|credit|фото)\s*(?:credit)?\s*:", re.I)
# Furniture that follows articles: calls to share, follow, subscribe or comment, credits.
_TRAILER_START = re.compile(
    r"^\W*(?:follow|like this|share|subscribe|sign up|get the latest|get access|join|tell us|"
    r"have a tip|you may also like|you might also like|more from|most read|most popular|"
    r"leave a (?:comment|reply)|click here|listen to|download our|copyright|"
    r"if you (?:enjoyed|liked|value)|advertisement|publicidade|anzeige|compartilhe|"
    r"updated\b|last updated|this (?:story|article) (?:was|has been) updated|terms of use|"
    r"privacy policy)",
    re.I,
)
_TRAILER_ANYWHERE = re.compile(
    r"click here|all rights reserved|may not be (?:reproduced|published|redistributed)|"
    r"registered (?:service )?marks?|contributed (?:reporting|to this (?:report|story|article))|"
    r"(?:reach|contact|email|e-mail|write to) (?:the )?(?:reporters?|writers?|authors?)\b|"
    r"(?:follow|find|like|join) (?:us|him|her|them|me|@?\w+) on (?:twitter|facebook|instagram)|"
    r"subscribe to [\w.’'-]+(?: \w+)? newsletters?|sign up for (?:our|the) \w+|^\S+@\S+\.\w+$|"
    r"^(?:https?://|www\.|twitter\.com/)\S+$",
    re.I,
)
_TAGS_LABEL = re.compile(
    r"^\W*(?:tags?|tagged(?: with)?|topics?|keywords?|schlagwörter|etiquetas|temas|metki|"
    r"метки|теги|タグ)\W*$", re.I)
_READING_TIME = re.compile(
    r"^\W*(?:reading time|read time|tempo de leitura|tiempo de lectura|temps de lecture|"
    r"lesezeit|время чтения)\b.{0,20}$|^\W*\d+\s*(?:min(?:ute)?s?|minutos?)\s*(?:read|de leitura|"
    r"de lectura|lesezeit)\W*$",
    re.I,
)
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
_CLOCK_OR_NUMERIC_DATE = re.compile(
    r"\d{1,2}:\d{2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}-\d{2}-\d{2}")
# Scripts written without spaces between words: a character carries about half a word.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\u0e00-\u0e7f]")
_SENTENCE_END = (".", "!", "?", "”", '"', "。", "！", "？", "»", ")", ":")
_BYLINE = re.compile(r"^(?:by|von|par|por|di|door|av|af|автор)\s+\S", re.I)
# Classes that mark a container of article text, when a page repeats it around adverts.
_BODY_CLASS = re.compile(r"body|content|article|story|text|post|entry", re.I)
_SKIP_IN_CONTAINER = {"aside", "figure", "figcaption", "script", "style", "noscript", "form",
                      "button", "nav", "footer", "iframe", "svg"}
_BLOCKS_IN_CONTAINER = ("p", "h2", "h3", "h4", "blockquote", "li")


@dataclass(slots=True)
class Body:
    paragraphs: list[str]
    removed: list[dict[str, str]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


@dataclass(slots=True)
class _Block:
    text: str


def extract_body(tree: HtmlElement, url: str | None, titles: list[str]) -> Body:
    """Paragraphs of the article (empty when there are none), and what was cut from its edges."""
    document = trafilatura.bare_extraction(
        tree, url=url, with_metadata=False, include_comments=False, include_tables=True,
        favor_precision=True, deduplicate=False,
    )
    if document is None or document.body is None:
        return Body([])
    blocks = _blocks(document.body)
    body = Body([])
    blocks = _trim_head(blocks, titles, body)
    blocks = [b for b in blocks if not _drop(body, b, _furniture(b.text), "")]
    blocks += _continuation(tree, blocks)
    blocks = _trim_tail(tree, blocks, body)
    body.paragraphs = [b.text for b in blocks]
    return body


def _blocks(postbody: etree._Element) -> list[_Block]:
    """Each paragraph, heading, list item or table row of trafilatura's output as one line."""
    lines = (clean_text(line) for line in xmltotxt(postbody, False).splitlines())
    return [_Block(line) for line in lines if line]


def _furniture(text: str) -> str | None:
    """Why a line is not article text wherever it stands, or None."""
    if _TEASER.match(text):
        return "link to another article"
    if _LIST_LABEL.match(text):
        return "label of a list of links"
    if _CREDIT.search(text) and _words(text) <= 20:
        return "credit line"
    return None


def _words(text: str) -> int:
    """Length of a line in words, whatever its script."""
    return len(text.split()) + len(_UNSPACED.findall(text)) // 2


def _drop(body: Body, block: _Block, reason: object, why: str) -> bool:
    """Record a removed line; a falsy `reason` keeps it, and stands in for an empty `why`."""
    if reason:
        body.removed.append({"text": block.text[:200], "reason": why or str(reason)})
    return bool(reason)


def _trim_head(blocks: list[_Block], titles: list[str], body: Body) -> list[_Block]:
    """The headline, date line, byline and reading time that pages print above the text."""
    folded = {fold(t) for t in titles if t}
    start = 0
    for block in blocks[:4]:
        line = block.text
        words = _words(line)
        if fold(line) in folded:
            why = "the headline again"
        elif words <= 12 and _date_line(line):
            why = "date line"
        elif words <= 8 and _BYLINE.match(line) and not line.endswith("."):
            why = "byline"
        elif _READING_TIME.match(line):
            why = "reading time"
        else:
            break
        _drop(body, block, True, why)
        start += 1
    return blocks[start:]


def _link_share(links: set[str], text: str) -> float:
    """How much of a line is link text (1.0 for a teaser, 0 for prose)."""
    if text in links:
        return 1.0
    return sum(len(link) for link in links if len(link) >= 8 and link in text) / len(text)


def _link_texts(tree: HtmlElement) -> set[str]:
    return {text for a in tree.iter("a") if (text := clean_text(a.text_content()))}


def _date_line(line: str) -> bool:
    if not _YEAR.search(line) or line.endswith("."):
        return False
    digits = sum(token.strip(",.:").isdigit() for token in line.split())
    return bool(_CLOCK_OR_NUMERIC_DATE.search(line)) or digits >= 2


def _trim_tail(tree: HtmlElement, blocks: list[_Block], body: Body) -> list[_Block]:
    """Share, follow and subscribe lines, link lists and credits after the last paragraph."""
    end = len(blocks)
    for index in range(len(blocks) - 1, max(0, len(blocks) - 4), -1):
        if _TAGS_LABEL.match(blocks[index].text):
            for block in blocks[index:]:
                _drop(body, block, True, "tags after the article")
            end = index
            break
    links: set[str] | None = None
    while end > 1:
        block = blocks[end - 1]
        text, words = block.text, _words(block.text)
        if words <= 60 and (_TRAILER_START.match(text) or _TRAILER_ANYWHERE.search(text)):
            why = "furniture after the article"
        elif words <= 30 and _link_share(links := links or _link_texts(tree), text) >= 0.5:
            why = "links after the article"
        elif (words <= 3 and not text.endswith(_SENTENCE_END) and not any(c.isdigit() for c in text)
              and not text.startswith(("-", "•", "*"))):
            why = "label after the article"
        else:
            break
        _drop(body, block, True, why)
        end -= 1
    return blocks[:end]


def _continuation(tree: HtmlElement, blocks: list[_Block]) -> list[_Block]:
    """Article text in repeated containers that trafilatura stopped short of.

    Pages split long articles into several containers of one kind (same tag, same class)
    with advertisements between them; trafilatura keeps the first. The others are found
    from the container of the longest extracted paragraph.
    """
    if not blocks:
        return []
    anchor = max(blocks, key=lambda b: len(b.text)).text
    if len(anchor) < 40:
        return []
    found = tree.xpath("//p[starts-with(normalize-space(.), $start)]", start=anchor[:80])
    if len(found) != 1:
        return []
    container = found[0].getparent()
    classes = container.get("class") if container is not None else None
    if not classes or not _BODY_CLASS.search(classes):
        return []
    seen = {fold(b.text) for b in blocks}
    extra: list[_Block] = []
    after = False
    for other in tree.iter(container.tag):
        if other is container:
            after = True
            continue
        if not after or other.get("class") != classes or _inside(other, container):
            continue
        for element in other.iter(*_BLOCKS_IN_CONTAINER):
            if _skipped(element, other):
                continue
            text = clean_text(element.text_content())
            if text and fold(text) not in seen and _words(text) >= 3:
                seen.add(fold(text))
                extra.append(_Block(text))
    return extra


def _skipped(element: HtmlElement, container: HtmlElement) -> bool:
    """Inside an aside, a figure or a script between the container and the element."""
    for ancestor in element.iterancestors():
        if ancestor is container:
            return False
        if ancestor.tag in _SKIP_IN_CONTAINER:
            return True
    return False


def _inside(element: HtmlElement, container: HtmlElement) -> bool:
    return any(a is container for a in element.iterancestors())
