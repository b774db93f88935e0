"""Title, publication date, outlet and byline of a page, each with the rule that found it."""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import unquote, urlsplit

from dateutil.parser import UnknownTimezoneWarning
from lxml.html import HtmlElement, tostring

from archive.dates import Language, parse_date
from archive.document import PublishedDate
from archive.html.facts import (
    ARTICLE_TYPES,
    PAGE_TYPES,
    PageFacts,
    clean_text,
    element_text,
    ld_names,
    ld_text,
)
from archive.html.names import (
    fold,
    headline_similarity,
    is_slug,
    matches_domain,
    same_name,
)
from archive.language import detect_language
from archive.outlets import known_outlet, outlet_for_url, without_article

# Separators between a headline and a site name in <title> and og:title.
# Chinese and Japanese sites join headline, channel and site with "_" ("标题_教育频道_网站").
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uff00-\uffef"
_SEPARATOR = re.compile(rf"\s+(?:[|\-–—:/•·»«~\\]|::)\s+|\s*\|\s*|(?:(?<=[{_CJK}])|\s)\s*_\s*"
                        rf"|\s*_\s*(?=[{_CJK}])")
_WITHOUT_SPACES = re.compile(rf"[{_CJK}]")
_URLISH = re.compile(r"^(?:https?://)?(?:www\.)?([a-z0-9-]+(?:\.[a-z0-9-]+)+)/?$", re.I)
_MAX_TITLE = 300
_MAX_HEADINGS = 30
_MAX_LD_OBJECTS = 200
# A headline must be at least this similar to a declared title for the <h1> to be trusted.
_H1_MATCH = 0.6
# Meta tags that state the publication time, most specific first.
_PUBLISHED_METAS = (
    "article:published_time", "article:published", "og:published_time", "og:pubdate",
    "og:article:published_time",
    "datepublished", "itemprop:datepublished", "publish-date", "publish_date", "publishdate",
    "pubdate", "parsely-pub-date", "sailthru.date", "dc.date.issued", "dcterms.issued",
    "citation_publication_date", "citation_date", "article.published", "originalpublicationdate",
    "dc.date", "dcterms.date", "date", "dcterms.created", "dc.date.created", "itemprop:datecreated",
)
_AUTHOR_METAS = ("author", "article:author", "dc.creator", "parsely-author", "sailthru.author",
                 "byl", "itemprop:author")
_APP_NAME_METAS = ("application-name", "apple-mobile-web-app-title", "al:ios:app_name",
                   "al:android:app_name", "twitter:app:name:iphone")
_COPYRIGHT = re.compile(
    r"(?:©|\(c\)|\bcopyright\b)\s*(?:©|\(c\))?\s*(?:\d{4}(?:\s*[-–]\s*\d{4})?[.,]?)?\s*(?:by\s+)?"
    r"(?P<name>[^\W\d][^.|,;©\n]{1,60}?)\s*(?:[.,;|]|\ball rights\b|\btodos\b|\d{4}|$)",
    re.I,
)
_COMPANY = re.compile(
    r"\b(?:inc|llc|ltd|limited|gmbh|ag|s\.?a|corp|corporation|company|group|holdings|plc|"
    r"interactive|publishing|enterprises|media|network|ооо|зао|оао)\b\.?", re.I)
_NOT_A_NAME = re.compile(r"\b(?:designed|powered|developed|hosted|theme|all rights|rights reserved"
                         r"|wordpress|template)\b", re.I)
_BYLINE_PREFIX = re.compile(r"^(?:by|von|par|por|di|door|av|af)\s+", re.I)
_PUBLISHED_TEXT = re.compile(
    r"^\W*(?:first\s+|originally\s+)?(?:published|posted|publicado|publié|veröffentlicht|"
    r"pubblicato|опубликовано|опубліковано|opublikowano|publikováno|gepubliceerd|publicerad|"
    r"publiceret)\b(?:\s+(?:on|am|le|em|el|il))?[:\s]*(?P<date>.{6,60}?)\s*(?:\||$)", re.I)
# A cheap filter before the pattern: a piece of each word above (the Italian, Dutch and
# Scandinavian ones were missing, so their lines never reached it).
_PUBLISHED_TEXT_XPATH = (
    "//body//text()[contains(., 'ublish') or contains(., 'osted') or contains(., 'ublica')"
    " or contains(., 'ublié') or contains(., 'ffentlicht') or contains(., 'убликов')"
    " or contains(., 'убліков') or contains(., 'ublikow') or contains(., 'ublikov')"
    " or contains(., 'ubblica') or contains(., 'ubliceerd') or contains(., 'ublicera')"
    " or contains(., 'ublicere') or contains(., 'PUBLISH') or contains(., 'POSTED')]"
    "[not(ancestor::script)][not(ancestor::style)][string-length(.) < 120]")
_URL_DATE = re.compile(r"/((?:19|20)\d\d)[/-](0?[1-9]|1[0-2])[/-](0?[1-9]|[12]\d|3[01])(?:/|\D|$)")
_BYLINE_END = re.compile(
    r"\s[|•·]\s|\s[-–—]\s|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
    r"\s+\d{1,2}\b|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|(?<!\d)(?:19|20)\d\d(?!\d)|\b(?:updated|"
    r"published|posted|print this|follow|email|monday|tuesday|wednesday|thursday|friday|"
    r"saturday|sunday)\b", re.I)
_UPDATED_CONTEXT = re.compile(r"updat|modif|edited|aktualisiert|mis à jour|actualizad|обновл", re.I)


@dataclass(slots=True)
class Metadata:
    title: str | None = None
    published: PublishedDate | None = None
    outlet: str | None = None
    byline: str | None = None
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)

    def found(self, name: str, value: Any, rule: str) -> None:
        setattr(self, name, value)
        self.sources["date" if name == "published" else name] = {"rule": rule, "line": None}


@dataclass(slots=True)
class _Group:
    """Spellings of one site name, and how strongly the page vouches for it."""

    name: str  # the spelling from the strongest source
    rule: str
    best: float  # weight of that source
    score: float  # weights of all sources that gave this name
    rules: list[str]


# "Spiceworks Inc": the company's legal form is not part of the site's name.
_LEGAL_FORM_TAIL = re.compile(r"(?<=\w)[,.]?\s+(?:Inc|LLC|L\.L\.C|Ltd|Limited|GmbH|PLC|Pty|"
                              r"Corp|S\.A|S\.L|B\.V|AG)\.?$")


@dataclass(slots=True)
class _Names:
    """Site-name candidates, merged when they are spellings of one name."""

    host: str | None
    groups: list[_Group] = field(default_factory=list)

    def add(self, name: str | None, weight: float, rule: str) -> None:
        name = _LEGAL_FORM_TAIL.sub("", clean_text(name)).strip(" -|:·•")
        if not name or len(name) > 80 or not any(ch.isalpha() for ch in name):
            return
        if is_slug(name, self.host):
            weight = min(weight, 2)  # "cleveland" for cleveland.com: a better spelling may come
        if matches_domain(name, self.host):
            weight += 3
        for group in self.groups:
            if same_name(group.name, name):
                if rule not in group.rules:
                    group.score += weight
                    group.rules.append(rule)
                if weight > group.best:
                    group.name, group.best, group.rule = name, weight, rule
                return
        self.groups.append(_Group(name, rule, weight, weight, [rule]))

    def best(self) -> tuple[str, str] | None:
        if not self.groups:
            return None
        top = max(self.groups, key=lambda g: g.score)
        return top.name, top.rule

    def known(self) -> list[str]:
        return [g.name for g in self.groups]


def find_metadata(tree: HtmlElement, facts: PageFacts) -> Metadata:
    """Decide title, date, outlet and byline from the page's statements."""
    meta = Metadata()
    article = _main_ld_article(facts)
    names = _site_names(tree, facts, article)
    _find_headline(facts, article, names, meta)
    _add_title_affixes(facts, names, meta.title or _declared_within_title(facts, article))
    _find_outlet(tree, facts, names, meta)
    if meta.title is None:
        _find_declared_title(facts, article, names, meta)
    _find_published(tree, facts, article, meta)
    _find_byline(tree, facts, article, meta)
    return meta


# --- title -----------------------------------------------------------------------------

def _declared_titles(facts: PageFacts, article: dict[str, Any] | None) -> list[tuple[str, str]]:
    titles = [(f"{name} meta tag", value)
              for name, value in facts.meta("og:title", "twitter:title")]
    if article and (headline := ld_text(article.get("headline")) or ld_text(article.get("name"))):
        titles.append(("JSON-LD headline", headline))
    titles.extend(("itemprop headline", value) for _, value in facts.meta("itemprop:headline"))
    if facts.title_tag:
        titles.append(("<title>", facts.title_tag))
    # A "title" longer than this is page text misplaced in a tag; comparing and splitting
    # it would cost time out of proportion, and it would be no headline anyway.
    return [(rule, title) for rule, title in titles[:8] if len(title) <= _MAX_TITLE]


def _find_headline(facts: PageFacts, article: dict[str, Any] | None, names: _Names,
                   meta: Metadata) -> None:
    """The headline as shown: the <h1> that matches a declared title, else a lone <h1>."""
    declared = _declared_titles(facts, article)
    headings = [text for h1 in facts.h1s[:_MAX_HEADINGS]
                if (text := element_text(h1)) and len(text) <= _MAX_TITLE
                and not _is_logo(h1, facts)]
    best, best_score, best_rule = None, 0.0, ""
    for text in headings:
        for rule, title in declared:
            score = headline_similarity(text, title)
            if score > best_score:
                best, best_score, best_rule = text, score, rule
    if best and best_score >= _H1_MATCH:
        meta.found("title", best, f"<h1> matching the {best_rule}")
        return
    if not headings:
        return
    site = names.known()
    # A short <h1> under a declared headline of many more words is a section's name
    # ("Allergies Health Center"), which some sites set in the <h1> above the headline.
    declared_words = max((len(strip_site_affixes(title, site, facts.host).split())
                          for _, title in declared), default=0)
    for text in headings:
        words = len(text.split())
        if _headline_like(text) and not any(same_name(text, name) for name in site) \
                and not (words <= 4 and declared_words >= words + 3):
            meta.found("title", text, "first <h1> (no declared title matched it)")
            return


def _find_declared_title(facts: PageFacts, article: dict[str, Any] | None, names: _Names,
                         meta: Metadata) -> None:
    """No usable <h1>: a declared title, without the site name beside it."""
    site = names.known() + ([meta.outlet] if meta.outlet else [])
    for rule, title in _declared_titles(facts, article):
        core = strip_site_affixes(title, site, facts.host)
        if core:
            if core != title:
                rule += ", site name removed"
            meta.found("title", core, rule)
            return


def _headline_like(text: str) -> bool:
    words = text.split()
    # scripts written without spaces (Japanese, Chinese) carry a headline in one "word"
    return len(words) >= 3 or (len(words) >= 1 and len(text) >= 12 and not text.isascii())


def _is_logo(h1: HtmlElement, facts: PageFacts) -> bool:
    """An <h1> that is the site's logo: it links to the home page or holds only an image."""
    link = h1 if h1.tag == "a" else None
    for candidate in (h1.getparent(), *h1.iter("a")):
        if candidate is not None and candidate.tag == "a":
            link = candidate
            break
    if link is not None:
        href = (link.get("href") or "").strip()
        home = {"/", "./", "#"}
        if facts.host:
            home |= {f"{scheme}://{facts.host}{end}" for scheme in ("http", "https")
                     for end in ("", "/")}
        if href in home or href.rstrip("/") in {h.rstrip("/") for h in home if h != "/"}:
            return True
    return not element_text(h1) and any(True for _ in h1.iter("img"))


def strip_site_affixes(title: str, names: Iterable[str], host: str | None) -> str:
    """A declared title without the site name that pages put before or after the headline."""
    names = [n for n in names if n]
    core = title.strip()
    site_after = False
    for _ in range(3):
        seps = list(_SEPARATOR.finditer(core))
        if not seps:
            break
        cut = next((sep for sep in seps if _site_like(core[sep.end():], names, host)), None)
        if cut is not None and cut.start() > 0:
            core, site_after = core[: cut.start()].strip(), True
            continue
        cut = next((sep for sep in reversed(seps) if _site_like(core[: sep.start()], names, host)),
                   None)
        if cut is not None and cut.end() < len(core):
            core = core[cut.end():].strip()
            continue
        break
    # "Headline | Section | Site": with the site gone, a word or two left after the
    # headline name its section ("Code", "教育频道").
    if site_after and (seps := list(_SEPARATOR.finditer(core))):
        head, tail = core[: seps[-1].start()].strip(), core[seps[-1].end():].strip()
        if _section_like(tail) and _headline_like(head) and len(head) >= 3 * len(tail):
            core = head
    # "Site Name: Headline" with no space before the colon
    for name in names:
        head, colon, rest = core.partition(":")
        if colon and rest.strip() and same_name(head, name):
            core = rest.strip()
            break
    return core


def _section_like(segment: str) -> bool:
    words = segment.split()
    if any(c.isdigit() for c in segment):  # "Part 2" continues the headline
        return False
    if _WITHOUT_SPACES.search(segment):  # a channel's name in Chinese or Japanese
        return len(words) == 1 and len(segment) <= 6
    return 1 <= len(words) <= 2 and segment[0].isalpha()


def _site_like(segment: str, names: list[str], host: str | None) -> bool:
    segment = segment.strip()
    if not segment or len(segment.split()) > 8:
        return False
    if any(same_name(segment, name) for name in names):
        return True
    folded = fold(segment)
    if len(folded) >= 4 and any(fold(name).startswith(folded) for name in names):
        return True  # a truncated multi-part site name ("Site | Topic | Topic")
    if _URLISH.match(segment):
        return True
    return len(segment.split()) <= 3 and matches_domain(segment, host)


# --- outlet ----------------------------------------------------------------------------

def _site_names(tree: HtmlElement, facts: PageFacts, article: dict[str, Any] | None) -> _Names:
    names = _Names(facts.host)
    for _, value in facts.meta("og:site_name"):
        if match := _URLISH.match(value):
            names.add(match[1], 1, "og:site_name (a web address)")
            continue
        parts = [p for p in re.split(r"\s+[|–—-]\s+|\s*\|\s*", value) if p.strip()]
        if parts:
            names.add(parts[0], 10, "og:site_name meta tag")
    title = facts.title_tag or ""
    for name, value in facts.meta(*_APP_NAME_METAS):
        if len(value.split()) <= 6 and headline_similarity(value, title) < 0.5:
            names.add(value, 5, f"{name} meta tag")
    if article is not None:
        for name in ld_names(article.get("publisher")):
            names.add(name, 5, "JSON-LD publisher of the article")
    for kinds, obj in facts.ld[:_MAX_LD_OBJECTS]:
        if kinds & {"newsmediaorganization", "organization", "corporation", "website"}:
            kind = "website" if "website" in kinds else "organization"
            for name in ld_names(obj.get("name")):
                names.add(name, 4 if kind == "website" else 3, f"JSON-LD {kind} name")
    for _, value in facts.meta("twitter:site"):
        handle = value.rsplit("/", 1)[-1].lstrip("@")
        if handle and matches_domain(handle, facts.host):
            names.add(handle, 0, "twitter:site handle matching the domain")
    for name in _copyright_names(tree):
        # The holder owns the site (a company, or a blog's author); where the page's own
        # title names it otherwise, that name is the masthead, so it wins a tie.
        weight = 1 if _COMPANY.search(name) else 2.5
        names.add(name, weight, "copyright line")
    for alt in tree.xpath("//a[@href='/' or @href='./']//img/@alt")[:3]:
        parts = re.split(r"\s+[|–—-]\s+", clean_text(alt))
        if parts and parts[0] and not re.search(r"\blogo\b", parts[0], re.I):
            names.add(parts[0], 2, "logo image text")
    return names


def _declared_within_title(facts: PageFacts, article: dict[str, Any] | None) -> str | None:
    """A declared headline that <title> prints with more around it ("Site: Headline")."""
    page_title = facts.title_tag or ""
    for _, title in _declared_titles(facts, article):
        if len(title) >= 10 and title != page_title and title in page_title:
            return title
    return None


def _add_title_affixes(facts: PageFacts, names: _Names, headline: str | None) -> None:
    """The site name as the <title> states it, before or after the headline."""
    page_title = facts.title_tag or facts.first_meta("og:title")
    if not page_title or len(page_title) > _MAX_TITLE:
        return
    known = names.known()
    core = strip_site_affixes(page_title, known, facts.host)
    if core and core != page_title:
        weight, rule = 6, "site name beside the headline in <title>"
    elif headline and headline in page_title and headline != page_title:
        core, weight, rule = headline, 3, "<title> around the headline"
    elif not headline and (seps := list(_SEPARATOR.finditer(page_title))):
        # No headline to compare with: a short last part after a much longer first part.
        core, weight, rule = page_title[: seps[-1].start()], 2, "last part of <title>"
        if len(page_title) - seps[-1].end() > len(core) / 3:
            return
    else:
        return
    start = page_title.find(core)
    if start < 0:
        return
    for affix, outer in ((page_title[start + len(core):], -1), (page_title[:start], 0)):
        parts = [p.strip() for p in _SEPARATOR.split(f" {affix} ") if p.strip(" :-–—|")]
        if not parts:
            continue
        if weight == 6:  # the affix was recognised: keep each part that names the site
            chosen = [p for p in parts if _site_like(p, known, facts.host)] or parts[:1]
        else:  # "Topic | Site" around the headline: the site is the part furthest out
            chosen = [parts[outer]]
        for part in chosen:
            part = part.strip(" :-–—|")
            if match := _URLISH.match(part):
                part = match[1]
            if part and len(part.split()) <= 5:
                names.add(part, weight, rule)


def _copyright_names(tree: HtmlElement) -> list[str]:
    found = []
    texts = tree.xpath("//body//text()[contains(., '©') or contains(., 'opyright')"
                       " or contains(., '(c)') or contains(., 'OPYRIGHT')]"
                       "[not(ancestor::script)][not(ancestor::style)]")
    for text in reversed(texts[-6:]):  # the footer's line comes last
        for match in _COPYRIGHT.finditer(text):
            name = match["name"].strip(" -–")
            if name and not _NOT_A_NAME.search(name) and len(name.split()) <= 6:
                found.append(name)
    return found[:2]


def _find_outlet(tree: HtmlElement, facts: PageFacts, names: _Names, meta: Metadata) -> None:
    best = names.best()
    if table := _outlet_from_table(facts, best):
        meta.found("outlet", *table)
        return
    if best:
        name, rule = best
        canonical = known_outlet(name)
        if canonical and canonical != name:
            meta.found("outlet", canonical, f"{rule}, named as in the outlet table")
        else:
            meta.found("outlet", name, rule)
        return
    if facts.host:
        meta.found("outlet", facts.host.removeprefix("www."), f"host of the {facts.url_rule}")
    elif host := _linked_host(tree):
        meta.found("outlet", host, "the host most of the page's links point to")


def _outlet_from_table(facts: PageFacts, best: tuple[str, str] | None) -> tuple[str, str] | None:
    """The outlet table's name for the page's address, unless the page is a syndicated copy.

    Copies of other outlets' articles (portals, aggregators) declare the original's address
    as canonical; when the page names itself otherwise, its own name is the outlet.
    """
    found = [(name, rule) for rule, url in facts.urls if (name := outlet_for_url(url))]
    if not found:
        return None
    page_name = best[0] if best else None
    for name, rule in found:
        if page_name and rule != "supplied url" and page_name != name and \
                without_article(page_name).casefold() == without_article(name).casefold():
            # "The Republic" where the table says "Republic": the site's own spelling
            return page_name, f"outlet table, by the domain of the {rule}, as the page spells it"
        if rule == "supplied url" or not page_name or same_name(page_name, name) \
                or known_outlet(page_name) == name:
            return name, f"outlet table, by the domain of the {rule}"
    if best and _names_strong(best[1]):
        return None
    name, rule = found[0]
    return name, f"outlet table, by the domain of the {rule}"


def _names_strong(rule: str) -> bool:
    """Whether a site name comes from a statement the site makes about itself on purpose."""
    return rule.startswith(("og:site_name", "application-name", "apple-mobile-web-app-title"))


def _linked_host(tree: HtmlElement) -> str | None:
    """The page's own host, when nothing declares it: most absolute links go home."""
    hosts: dict[str, int] = {}
    for href in tree.xpath("//a/@href[starts-with(., 'http')]")[:2000]:
        host = href.split("/")[2].lower().removeprefix("www.") if href.count("/") >= 2 else ""
        if host:
            hosts[host] = hosts.get(host, 0) + 1
    if not hosts:
        return None
    host, count = max(hosts.items(), key=lambda item: item[1])
    return host if count >= 5 and count * 2 > sum(hosts.values()) else None


# --- date ------------------------------------------------------------------------------

def _main_ld_article(facts: PageFacts) -> dict[str, Any] | None:
    articles = list(facts.ld_of(ARTICLE_TYPES))
    for obj in articles:
        if obj.get("datePublished") or obj.get("headline"):
            return obj
    pages = [obj for obj in facts.ld_of(PAGE_TYPES) if obj.get("datePublished")]
    return articles[0] if articles else (pages[0] if pages else None)


def _find_published(tree: HtmlElement, facts: PageFacts, article: dict[str, Any] | None,
                    meta: Metadata) -> None:
    language = _page_language(tree, facts, article)
    if article is not None:
        for key in ("datePublished", "dateCreated"):
            if date := _page_date(ld_text(article.get(key)), language):
                meta.found("published", date, f"JSON-LD {key}")
                return
    for name, value in facts.meta(*_PUBLISHED_METAS):
        if date := _page_date(value, language):
            meta.found("published", date, f"{name} meta tag")
            return
    for time in tree.iter("time"):
        stamp = time.get("datetime") or time.get("content")
        if not stamp or _updated_context(time):
            continue
        if date := _page_date(stamp, language):
            kind = "published" if time.get("pubdate") is not None else "first"
            meta.found("published", date, f"{kind} <time datetime> not marked as an update")
            return
    for text in tree.xpath(_PUBLISHED_TEXT_XPATH)[:20]:
        if (match := _PUBLISHED_TEXT.match(text)) and (date := _page_date(match["date"], language)):
            meta.found("published", date, "'Published …' line on the page")
            return
    match = _URL_DATE.search(urlsplit(facts.url).path) if facts.url else None
    if match and (date := _page_date(f"{match[1]}-{int(match[2]):02d}-{int(match[3]):02d}")):
        meta.found("published", date, f"date in the path of the {facts.url_rule}")
        return
    if date := _htmldate(tree, language):
        meta.found("published", date, "htmldate's reading of the page (no date was declared)")


def _page_language(tree: HtmlElement, facts: PageFacts, article: dict[str, Any] | None
                   ) -> Callable[[], str | None]:
    """The page's language, worked out on first call: only a month name that two languages
    read differently needs it ("listopada": November in Polish, October in Croatian)."""
    @cache
    def language() -> str | None:
        declared = [tree.get("lang"), *(value for _, value in facts.meta("og:locale"))]
        if article is not None:
            declared.append(ld_text(article.get("inLanguage")))
        for code in declared:
            if code and code.strip():
                return code.strip()
        return detect_language(" ".join(clean_text(p.text_content())
                                        for p in tree.iter("p")))

    return language


def _updated_context(time: HtmlElement) -> bool:
    """A <time> that says when the article changed, not when it appeared."""
    attrs = " ".join(time.get(a, "") for a in ("class", "itemprop", "id"))
    parent = time.getparent()
    if parent is not None:
        attrs += " " + " ".join(parent.get(a, "") for a in ("class", "itemprop", "id"))
        attrs += " " + (parent.text or "")[:40]
    return bool(_UPDATED_CONTEXT.search(attrs))


def _page_date(value: str | None, language: Language = None) -> PublishedDate | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit() and len(value) == 8:  # 20191119
        value = f"{value[:4]}-{value[4:6]}-{value[6:]}"
    elif value.isdigit() and len(value) in (10, 13):  # a Unix timestamp, seconds or ms
        seconds = int(value) // (1000 if len(value) == 13 else 1)
        value = dt.datetime.fromtimestamp(seconds, dt.UTC).date().isoformat()
    with warnings.catch_warnings():
        # dateutil warns about time-zone names it cannot place ("EST"); only the day matters
        warnings.simplefilter("ignore", UnknownTimezoneWarning)
        date = parse_date(value, language)
    if date is None or date.value > dt.date.today() + dt.timedelta(days=2):
        return None
    return date


def _htmldate(tree: HtmlElement, language: Language) -> PublishedDate | None:
    # Only when the page declares nothing: htmldate reads URLs and visible text too, which
    # is slower and less certain.
    from htmldate import find_date

    try:
        found = find_date(tree, original_date=True, extensive_search=True,
                          outputformat="%Y-%m-%d")
    except (ValueError, TypeError, RecursionError):
        return None
    date = _page_date(found)
    if date is not None and (date.value.month, date.value.day) == (1, 1):
        # htmldate answers 1 January when all it found was a year (a copyright line, a
        # month name it could not read): the year is all that is known
        return PublishedDate(date.value, "year")
    return _settled_order(date, tree, language) if date is not None else None


def _settled_order(date: PublishedDate, tree: HtmlElement, language: Language
                   ) -> PublishedDate:
    """htmldate reads "3/09/15" in one order or the other by guessing; where day and month
    could be swapped, the page must settle which (2015-03-09, March 9, 2015, 09.03.2015,
    another date on it such as 25/12/2014, its language), or only the year is known."""
    day = date.value
    if day.day > 12 or day.day == day.month:
        return date
    swapped = day.replace(month=day.day, day=day.month)
    page = unquote(tostring(tree, encoding="unicode"))
    day_first = _day_first(page, language)
    own, other = _written(day, page, day_first), _written(swapped, page, day_first)
    if own > other:
        return date
    if other > own:
        return PublishedDate(swapped, date.precision)
    return PublishedDate(day, "year")


_ENGLISH_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
                   "September", "October", "November", "December")
_SLASHED = re.compile(r"\b(\d{1,2})/(\d{1,2})/(?:\d{4}|\d{2})\b")


def _day_first(page: str, language: Language) -> bool | None:
    """Whether the page writes 5/10/2018 for 5 October: from a date on it that only one
    order can read (25/12/2014), else from its language (only English writes the month
    first), else unknown."""
    orders = {int(m[1]) > 12 for m in _SLASHED.finditer(page)
              if int(m[1]) > 12 or int(m[2]) > 12}
    if len(orders) == 1:
        return orders.pop()
    code = (language() if callable(language) else language) or ""
    return None if not code or code.lower().startswith("en") else True


def _written(day: dt.date, page: str, day_first: bool | None) -> int:
    """How often the page writes `day` in a form whose order is not in doubt."""
    month = _ENGLISH_MONTHS[day.month - 1]
    name = rf"(?:{month}|{month[:3]}\.?)"
    forms = [rf"\b{day.year}[-/._]0?{day.month}[-/._]0?{day.day}\b",  # year first: Y-M-D
             rf"\b{day:%Y%m%d}\b",
             rf"\b{name}\s+0?{day.day}(?:st|nd|rd|th)?,?\s+{day.year}\b",
             rf"\b0?{day.day}(?:st|nd|rd|th)?\s+{name},?\s+{day.year}\b",
             rf"\b0?{day.day}\.0?{day.month}\.(?:{day.year}|{day.year % 100:02d})\b"]
    if day_first is not None:
        first, second = (day.day, day.month) if day_first else (day.month, day.day)
        forms.append(rf"\b0?{first}/0?{second}/(?:{day.year}|{day.year % 100:02d})\b")
    return len(re.findall("|".join(forms), page, re.IGNORECASE))


# --- byline ----------------------------------------------------------------------------

def _find_byline(tree: HtmlElement, facts: PageFacts, article: dict[str, Any] | None,
                 meta: Metadata) -> None:
    outlet = meta.outlet or ""
    candidates: list[tuple[str, list[str]]] = []
    if article is not None:
        people = [name for name in ld_names(article.get("author")) if not _is_url(name)]
        candidates.append(("JSON-LD author of the article", people))
    for name, value in facts.meta(*_AUTHOR_METAS):
        candidates.append((f"{name} meta tag", [value]))
    links = tree.xpath("//a[@rel='author'] | //*[@class and contains(concat(' ', "
                       "normalize-space(@class), ' '), ' byline ')]")
    for element in links[:1]:
        candidates.append(("byline element", [element_text(element)]))
    for rule, values in candidates:
        people = []
        for value in values:
            value = _clean_byline(value)
            if (value and not _is_url(value) and len(value) <= 100 and value not in people
                    and not (outlet and same_name(value, outlet))):
                people.append(value)
        if people:
            meta.found("byline", ", ".join(people[:5]), rule)
            return


def _clean_byline(value: str) -> str:
    """A byline without the "By" before it and the date, place or links after it."""
    value = _BYLINE_PREFIX.sub("", clean_text(value))
    if match := _BYLINE_END.search(value):
        value = value[: match.start()]
    return value.strip(" ,;|-–—·•")


def _is_url(value: str) -> bool:
    """An author "name" that is a profile link (article:author often is)."""
    return value.startswith(("http://", "https://", "//", "www.", "/")) or "://" in value
