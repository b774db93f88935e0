"""The article text of a page: trafilatura's extraction, then corrections where it falls short.

trafilatura finds the article well but keeps some furniture at its edges (the headline
again, a date line, "Follow us" and "Related" links, copyright lines) and reads only the
first part of articles that pages split into several containers around an advertisement.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import trafilatura
from lxml.html import HtmlElement
from trafilatura.settings import Document
from trafilatura.xml import xmltotxt

from archive.html.facts import clean_text
from archive.html.names import fold

logger = logging.getLogger(__name__)

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
    r"^\W*(?:follow (?:us|me|him|her|them|@)|share (?:this|on|it|the story|the article|via)|"
    r"like this (?:story|article)|like us on|subscribe\b|sign up\b|get the latest|get access to|"
    r"join (?:us|our|the conversation|the discussion)|tell us\b|have a (?:news )?tip|"
    r"you (?:may|might) also like|more from\b|most read\b|most popular\b|"
    r"leave a (?:comment|reply)|click here|listen to (?:the|our)|download (?:our|the app)|"
    r"copyright\b|if you (?:enjoyed|liked|value)|advertisement\b|publicidade\b|anzeige\b|"
    r"compartilhe|terms of (?:use|service)|privacy policy)",
    re.I,
)
# "Updated at 1:23 p.m." after the text; a longer line starting so is a sentence.
_UPDATE_NOTE = re.compile(r"^\W*(?:last )?updated\b|^\W*this (?:story|article) (?:was|has been) "
                          r"updated", re.I)
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
# Bounds that keep hostile pages (thousands of look-alike containers or links) cheap.
_MAX_CONTINUATIONS = 20
_MAX_EXTRA_BLOCKS = 500
_MAX_TAIL_CUTS = 60
_MAX_LINKS = 5000


@dataclass(slots=True)
class Body:
    paragraphs: list[str]
    # each line cut from trafilatura's output, with the reason: {"text", "reason"}
    removed: list[dict[str, str]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)

    def cut(self, line: str, reason: str) -> None:
        self.removed.append({"text": line[:200], "reason": reason})


class BodyError(Exception):
    """trafilatura failed on the page; the message names what went wrong."""


def extract_body(tree: HtmlElement, url: str | None, titles: list[str]) -> Body:
    """Paragraphs of the article (empty when there are none), and what was cut from its edges."""
    try:
        document = trafilatura.bare_extraction(
            tree, url=url, with_metadata=False, include_comments=False, include_tables=True,
            favor_precision=True, deduplicate=False,
        )
    except RecursionError:
        raise BodyError("the page is nested too deeply to read") from None
    except Exception as exc:  # a third-party bug on one odd page must not stop a whole run
        # The reason stored with the failure names the error; -v shows where it came from.
        logger.debug("trafilatura failed on %s", url or "a page without address",
                     exc_info=True)
        name = type(exc).__name__
        raise BodyError(f"the article extractor failed on this page ({name})") from None
    body = Body([])
    # Only bare_extraction(as_dict=True) gives a dict; its annotation names both.
    if not isinstance(document, Document) or document.body is None:
        return body
    lines = [line for raw in xmltotxt(document.body, False).splitlines()
             if (line := clean_text(raw))]
    lines = _trim_head(lines, titles, body)
    lines += _continuation(tree, lines)
    kept = []
    for line in lines:
        if reason := _furniture(line):
            body.cut(line, reason)
        else:
            kept.append(line)
    body.paragraphs = _trim_tail(tree, kept, body)
    return body


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


def _trim_head(lines: list[str], titles: list[str], body: Body) -> list[str]:
    """The headline, date line, byline and reading time that pages print above the text."""
    folded = {fold(t) for t in titles if t}
    start = 0
    for line in lines[:4]:
        words = _words(line)
        if fold(line) in folded:
            reason = "the headline again"
        elif words <= 12 and _date_line(line):
            reason = "date line"
        elif words <= 8 and _BYLINE.match(line) and not line.endswith("."):
            reason = "byline"
        elif _READING_TIME.match(line):
            reason = "reading time"
        else:
            break
        body.cut(line, reason)
        start += 1
    return lines[start:]


def _date_line(line: str) -> bool:
    """A line that is a date (and time), not a sentence that mentions one."""
    if not _YEAR.search(line) or line.endswith("."):
        return False
    tokens = line.split()
    digits = sum(token.strip(",.:").isdigit() for token in tokens)
    return bool(_CLOCK_OR_NUMERIC_DATE.search(line)) or (digits >= 2 and len(tokens) <= 6)


def _trim_tail(tree: HtmlElement, lines: list[str], body: Body) -> list[str]:
    """Share, follow and subscribe lines, link lists and credits after the last paragraph."""
    end = len(lines)
    for index in range(len(lines) - 1, max(0, len(lines) - 4), -1):
        if _TAGS_LABEL.match(lines[index]):
            for line in lines[index:]:
                body.cut(line, "tags after the article")
            end = index
            break
    links: set[str] | None = None
    while end > 1 and len(lines) - end < _MAX_TAIL_CUTS:
        line = lines[end - 1]
        words = _words(line)
        if words <= 60 and (_TRAILER_START.match(line) or _TRAILER_ANYWHERE.search(line)):
            reason = "furniture after the article"
        elif words <= 12 and _UPDATE_NOTE.match(line):
            reason = "update note after the article"
        elif words <= 30 and _link_share(links := links or _link_texts(tree), line) >= 0.5:
            reason = "links after the article"
        elif (words <= 3 and not line.endswith(_SENTENCE_END)
              and not any(c.isdigit() for c in line) and not line.startswith(("-", "•", "*"))):
            reason = "label after the article"
        else:
            break
        body.cut(line, reason)
        end -= 1
    return lines[:end]


def _link_share(links: set[str], line: str) -> float:
    """How much of a line is link text (1.0 for a teaser, 0 for prose)."""
    if line in links:
        return 1.0
    return sum(len(link) for link in links if len(link) >= 8 and link in line) / len(line)


def _link_texts(tree: HtmlElement) -> set[str]:
    links: set[str] = set()
    for a in tree.iter("a"):
        if text := clean_text(a.text_content()):
            links.add(text)
            if len(links) >= _MAX_LINKS:
                break
    return links


def _continuation(tree: HtmlElement, lines: list[str]) -> list[str]:
    """Article text in repeated containers that trafilatura stopped short of.

    Pages split long articles into several containers of one kind (same tag, same class)
    with advertisements between them; trafilatura keeps the first. The others are found
    from the container of the longest extracted paragraph.
    """
    if not lines:
        return []
    anchor = max(lines, key=len)
    if len(anchor) < 40:
        return []
    found = tree.xpath("//p[starts-with(normalize-space(.), $start)]", start=anchor[:80])
    if len(found) != 1:
        return []
    container = found[0].getparent()
    classes = container.get("class") if container is not None else None
    if not classes or not _BODY_CLASS.search(classes):
        return []
    seen = {fold(line) for line in lines}
    extra: list[str] = []
    after = False
    candidates = 0
    for other in tree.iter(container.tag):
        if other is container:
            after = True
            continue
        if not after or other.get("class") != classes or _inside(other, container):
            continue
        candidates += 1
        if candidates > _MAX_CONTINUATIONS or len(extra) > _MAX_EXTRA_BLOCKS:
            break
        for element in other.iter(*_BLOCKS_IN_CONTAINER):
            if _skipped(element, other):
                continue
            text = clean_text(element.text_content())
            if text and fold(text) not in seen and _words(text) >= 3:
                seen.add(fold(text))
                extra.append(text)
    return extra


def _skipped(element: HtmlElement, container: HtmlElement) -> bool:
    """Inside an aside or a figure, or inside another block already read whole."""
    for ancestor in element.iterancestors():
        if ancestor is container:
            return False
        if ancestor.tag in _SKIP_IN_CONTAINER or ancestor.tag in _BLOCKS_IN_CONTAINER:
            return True
    return False


def _inside(element: HtmlElement, container: HtmlElement) -> bool:
    return any(a is container for a in element.iterancestors())
