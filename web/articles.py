"""Article pages: the cleaned article with its metadata, and the raw input as ingested."""

from __future__ import annotations

import codecs
import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, render_template
from sqlalchemy import select

from archive.models import Article, Outlet, Source
from archive.search import format_date
from web.access import current_archive

bp = Blueprint("articles", __name__, url_prefix="/articles")
# SQLite integers are 64-bit; a larger id in the URL cannot name an article.
MAX_ID = 2**63 - 1
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")
# Python codec names that browsers know under another label.
_BROWSER_CHARSETS = {"utf-8-sig": "utf-8", "mac-cyrillic": "x-mac-cyrillic",
                     "mac-roman": "macintosh", "cp932": "shift_jis", "cp936": "gbk"}
RAW_CSP = "sandbox; default-src 'none'"


@dataclass(frozen=True, slots=True)
class ArticleView:
    id: int
    title: str
    outlet: str | None
    published: dt.date | None
    date_label: str
    byline: str | None
    language: str | None
    word_count: int
    url: str | None
    url_is_link: bool
    paragraphs: list[str]
    source_format: str


@bp.get("/<int:article_id>")
def show(article_id: int) -> str:
    archive = current_archive()
    with archive.sessions() as session:
        row = session.execute(
            select(Article, Outlet.name, Source.format)
            .join(Source, Article.source_id == Source.id)
            .outerjoin(Outlet, Article.outlet_id == Outlet.id)
            .where(Article.id == _checked(article_id))
        ).first()
        if row is None:
            abort(404, description=f"There is no article number {article_id} in this archive.")
        article, outlet, source_format = row
        view = ArticleView(
            id=article.id,
            title=article.title or "(untitled)",
            outlet=outlet,
            published=article.published_date,
            date_label=format_date(article.published_date, article.date_precision),
            byline=article.byline,
            language=article.language,
            word_count=article.word_count,
            url=article.url,
            url_is_link=is_web_url(article.url),
            paragraphs=paragraphs(article.body),
            source_format=source_format,
        )
    return render_template("article.html", article=view)


@bp.get("/<int:article_id>/raw")
def raw(article_id: int) -> Response:
    archive = current_archive()
    with archive.sessions() as session:
        row = session.execute(
            select(Source.content, Source.encoding)
            .join(Article, Article.source_id == Source.id)
            .where(Article.id == _checked(article_id))
        ).first()
    if row is None:
        abort(404, description=f"There is no article number {article_id} in this archive.")
    response = Response(bytes(row.content),
                        content_type=f"text/plain; charset={browser_charset(row.encoding)}")
    # The input may be a hostile HTML page: text/plain, no sniffing and a sandbox make sure
    # the browser shows its source and never renders or runs it.
    response.headers["Content-Security-Policy"] = RAW_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = f'inline; filename="article-{article_id}-raw.txt"'
    return response


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
