"""Article pages: the clean article with its metadata, its story and similar articles; how it
was extracted; and the raw input as ingested."""

from __future__ import annotations

import codecs
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, render_template
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.decode import decode
from archive.document import ExtractionError
from archive.models import Article, Outlet, Source
from archive.search import Hit, format_date, more_like_this
from archive.store import raw_input

from .access import current_archive

bp = Blueprint("articles", __name__, url_prefix="/articles")
# SQLite integers are 64-bit; a larger id in the URL cannot name an article.
MAX_ID = 2**63 - 1
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")
# Python codec names that browsers know under another label.
_BROWSER_CHARSETS = {"utf-8-sig": "utf-8", "mac-cyrillic": "x-mac-cyrillic",
                     "mac-roman": "macintosh", "cp932": "shift_jis", "cp936": "gbk"}
RAW_CSP = "sandbox; default-src 'none'"
# The extraction view lists raw lines up to these limits; the raw view has the rest.
MAX_RAW_LINES = 5_000
MAX_RAW_CHARS = 500_000
MORE_LIKE_THIS = 5
# The article page shows this much of a body: a 10 MB text would freeze the browser (the API,
# the raw view and exports give all of it).
BODY_SHOWN_CHARS = 300_000


@dataclass(frozen=True, slots=True)
class StoryCopy:
    id: int
    title: str
    outlet: str | None
    published: dt.date | None
    date_label: str


@dataclass(frozen=True, slots=True)
class ArticleView:
    id: int
    title: str
    outlet: str | None
    published: dt.date | None
    date_label: str
    date_precision: str | None
    byline: str | None
    language: str | None
    word_count: int
    url: str | None
    url_is_link: bool
    body: str
    paragraphs: list[str]  # of the shown part of the body
    source_format: str
    source_uri: str
    source_encoding: str | None
    story_id: int | None
    copies: list[StoryCopy]
    provenance: dict[str, Any]


    @property
    def body_cut(self) -> bool:
        return len(self.body) > BODY_SHOWN_CHARS


@bp.get("/<int:article_id>")
def show(article_id: int) -> str:
    archive = current_archive()
    with archive.sessions() as session:
        article = load_article(session, article_id)
    similar: list[Hit] = more_like_this(archive, article.id, limit=MORE_LIKE_THIS)
    return render_template("article.html", article=article, similar=similar,
                           body_shown=BODY_SHOWN_CHARS)


@bp.get("/<int:article_id>/extraction")
def extraction(article_id: int) -> str:
    archive = current_archive()
    with archive.sessions() as session:
        article = load_article(session, article_id)
        source = session.execute(
            select(raw_input, Source.encoding, Source.supplied)
            .join(Article, Article.source_id == Source.id)
            .where(Article.id == article.id)).one()
    view = extraction_view(article, source.raw_input, source.encoding,
                           source.supplied or {})
    return render_template("extraction.html", article=article, view=view)


@bp.get("/<int:article_id>/raw")
def raw(article_id: int) -> Response:
    archive = current_archive()
    with archive.sessions() as session:
        row = session.execute(
            select(raw_input, Source.encoding)
            .join(Article, Article.source_id == Source.id)
            .where(Article.id == _checked(article_id))
        ).first()
    if row is None:
        abort(404, description=f"There is no article number {article_id} in this archive.")
    response = Response(row.raw_input,
                        content_type=f"text/plain; charset={browser_charset(row.encoding)}")
    # The input may be a hostile HTML page: text/plain, no sniffing and a sandbox make sure
    # the browser shows its source and never renders or runs it.
    response.headers["Content-Security-Policy"] = RAW_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = f'inline; filename="article-{article_id}-raw.txt"'
    return response


def load_article(session: Session, article_id: int) -> ArticleView:
    """The article with its story's other copies; 404 when there is none."""
    row = session.execute(
        select(Article, Outlet.name, Source.format, Source.uri, Source.encoding)
        .join(Source, Article.source_id == Source.id)
        .outerjoin(Outlet, Article.outlet_id == Outlet.id)
        .where(Article.id == _checked(article_id))
    ).first()
    if row is None:
        abort(404, description=f"There is no article number {article_id} in this archive.")
    article, outlet, source_format, source_uri, encoding = row
    copies = []
    if article.story_id is not None:
        copies = [StoryCopy(copy_id, title or "(untitled)", copy_outlet, published,
                            format_date(published, precision))
                  for copy_id, title, copy_outlet, published, precision in session.execute(
                      select(Article.id, Article.title, Outlet.name, Article.published_date,
                             Article.date_precision)
                      .outerjoin(Outlet, Article.outlet_id == Outlet.id)
                      .where(Article.story_id == article.story_id, Article.id != article.id)
                      .order_by(Article.published_date, Article.id))]
    return ArticleView(
        id=article.id,
        title=article.title or "(untitled)",
        outlet=outlet,
        published=article.published_date,
        date_label=format_date(article.published_date, article.date_precision),
        date_precision=article.date_precision,
        byline=article.byline,
        language=article.language,
        word_count=article.word_count,
        url=article.url,
        url_is_link=is_web_url(article.url),
        body=article.body,
        paragraphs=paragraphs(article.body[:BODY_SHOWN_CHARS]),
        source_format=source_format,
        source_uri=source_uri,
        source_encoding=encoding,
        story_id=article.story_id,
        copies=copies,
        provenance=article.provenance or {},
    )


# --- how it was extracted ---------------------------------------------------------------------

@dataclass(slots=True)
class RawLine:
    number: int  # 1-based, as shown; provenance counts from 0
    text: str
    removed: str | None = None  # the reason, when the cleaner dropped the line
    span: str | None = None  # on a removed run's first line: "lines 4–9"
    fields: list[str] = field(default_factory=list)  # metadata found on this line


@dataclass(frozen=True, slots=True)
class FieldSource:
    name: str
    value: str
    rule: str
    line: int | None  # 1-based
    supplied: str | None
    confidence: float | None = None
    # Values the extractor weighed, best first, with each one's share of the ranking.
    candidates: list[tuple[str, float]] = field(default_factory=list)
    refused: bool = False
    # Lines the page shares with its site's stored pages, when those named the outlet.
    site_lines: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ExtractionView:
    encoding: str | None  # as decoded now; None when the bytes no longer decode
    stored_encoding: str | None
    problem: str | None
    lines: list[RawLine]
    truncated: bool
    removed_passages: list[tuple[str, str]]  # (text, reason) where no line is known
    fields: list[FieldSource]
    removed_lines: int


def extraction_view(article: ArticleView, content: bytes, encoding: str | None,
                    supplied: dict[str, Any]) -> ExtractionView:
    """The raw input line by line, marked with what cleaning removed and where metadata came
    from (provenance line numbers index the decoded text split on newlines)."""
    problem = None
    decoded_as: str | None = None
    try:
        text, decoded_as = decode(content, declared=str(supplied.get("charset") or "")
                                  or encoding)
    except ExtractionError as exc:
        text, problem = "", str(exc)
    all_lines = text.split("\n") if text else []
    kept: list[str] = []
    size = 0
    for line in all_lines[:MAX_RAW_LINES]:
        size += len(line) + 1
        if size > MAX_RAW_CHARS:
            break
        kept.append(line)
    lines = [RawLine(number + 1, line) for number, line in enumerate(kept)]
    provenance = article.provenance
    passages: list[tuple[str, str]] = []
    removed_count = 0
    for span in provenance.get("removed", []) or []:
        if not isinstance(span, dict):
            continue
        reason = str(span.get("reason") or "removed")
        start, end = span.get("start"), span.get("end")
        if isinstance(start, int) and isinstance(end, int):
            removed_count += max(0, end - start + 1)
            for index in range(max(start, 0), min(end, len(lines) - 1) + 1):
                lines[index].removed = reason
            if 0 <= start < len(lines):
                lines[start].span = (f"line {start + 1}" if end <= start
                                     else f"lines {start + 1}–{end + 1}")
        elif span.get("text"):
            passages.append((str(span["text"]), reason))
    fields = []
    for name, source in (provenance.get("fields", {}) or {}).items():
        if not isinstance(source, dict):
            continue
        given = source.get("line")
        number = given if isinstance(given, int) and given >= 0 else None
        if number is not None and number < len(lines):
            lines[number].fields.append(name)
        confidence = source.get("confidence")
        # Filed by its site's pages: what the page's own cues proposed, and refused, is kept.
        cues = source.get("page_cues")
        cues = cues if isinstance(cues, dict) else {}
        considered = [(str(c.get("value", "")), float(c.get("share") or 0.0))
                      for c in source.get("candidates") or cues.get("candidates") or []
                      if isinstance(c, dict)]
        fields.append(FieldSource(
            name=name, value=_stored_value(article, name), rule=str(source.get("rule", "")),
            line=number + 1 if number is not None else None,
            supplied=str(source["value"]) if "value" in source else None,
            confidence=float(confidence) if isinstance(confidence, int | float) else None,
            candidates=considered, refused=bool(source.get("refused") or cues.get("refused")),
            site_lines=[str(line) for line in source.get("site_lines") or []]))
    return ExtractionView(decoded_as, encoding, problem, lines,
                          truncated=len(kept) < len(all_lines), removed_passages=passages,
                          fields=fields, removed_lines=removed_count)


def _stored_value(article: ArticleView, name: str) -> str:
    values = {"title": article.title, "outlet": article.outlet, "byline": article.byline,
              "url": article.url, "language": article.language,
              "date": article.date_label if article.published else None,
              "body": f"{article.word_count:,} words"}
    value = values.get(name)
    return value if value else "—"


# --- helpers ----------------------------------------------------------------------------------

def _checked(article_id: int) -> int:
    if article_id > MAX_ID:
        abort(404, description="There is no article with that number in this archive.")
    return article_id


def paragraphs(body: str) -> list[str]:
    """The body's paragraphs: text between blank lines, without empty ones."""
    return [part.strip() for part in _BLANK_LINE.split(body.replace("\r\n", "\n"))
            if part.strip()]


def is_web_url(url: str | None) -> bool:
    """Only http(s) addresses become links: javascript: or data: URLs must not."""
    if not url:
        return False
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def browser_charset(encoding: str | None) -> str:
    """The stored (Python) encoding name as a charset label browsers understand."""
    try:
        name = codecs.lookup(encoding or "utf-8").name
    except LookupError:
        return "utf-8"
    name = _BROWSER_CHARSETS.get(name, name)
    # Codec names are plain tokens; anything else must not reach a header.
    return name if re.fullmatch(r"[A-Za-z0-9._-]+", name) else "utf-8"
