"""`archive export`: articles and their metadata as JSON Lines or CSV, streamed."""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from sqlalchemy import select

from archive.index import SearchRequest
from archive.instance import Archive
from archive.models import Article, Outlet, Source
from archive.search import format_date

FIELDS = ("id", "title", "date", "date_precision", "outlet", "byline", "language", "url",
          "word_count", "body", "source_uri", "ingested_at")
FORMATS = ("jsonl", "csv")
# Spreadsheets run a cell that starts with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CHUNK = 500


def export_records(archive: Archive, request: SearchRequest | None = None
                   ) -> Iterator[dict[str, Any]]:
    """Every article (or every match of `request`, in its order), one dict at a time."""
    if request is None:
        with archive.sessions() as session:
            ids = list(session.scalars(select(Article.id).order_by(Article.id)))
    else:
        everything = dataclasses.replace(request, offset=0, limit=max(1, archive.index.doc_count()))
        ids = archive.index.search(everything).ids
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        with archive.sessions() as session:
            rows = session.execute(
                select(Article, Outlet.name, Source.uri, Source.ingested_at)
                .join(Source, Article.source_id == Source.id)
                .outerjoin(Outlet, Article.outlet_id == Outlet.id)
                .where(Article.id.in_(chunk))
            ).all()
        by_id = {row[0].id: row for row in rows}
        for article_id in chunk:
            if article_id in by_id:
                yield _record(*by_id[article_id])


def _record(article: Article, outlet: str | None, uri: str, ingested_at: Any) -> dict[str, Any]:
    return {
        "id": article.id,
        "title": article.title,
        # As precise as known (YYYY-MM-DD, YYYY-MM or YYYY), so re-ingesting keeps precision.
        "date": format_date(article.published_date, article.date_precision)
        if article.published_date else None,
        "date_precision": article.date_precision,
        "outlet": outlet,
        "byline": article.byline,
        "language": article.language,
        "url": article.url,
        "word_count": article.word_count,
        "body": article.body,
        "source_uri": uri,
        "ingested_at": ingested_at.isoformat(timespec="seconds") if ingested_at else None,
    }


def write_jsonl(records: Iterable[dict[str, Any]], out: TextIO) -> int:
    count = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_csv(records: Iterable[dict[str, Any]], out: TextIO) -> int:
    writer = csv.DictWriter(out, fieldnames=FIELDS, extrasaction="ignore")
    writer.writeheader()
    count = 0
    for record in records:
        writer.writerow({key: _cell(value) for key, value in record.items()})
        count += 1
    return count


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value  # shown as text by spreadsheets, never evaluated
    return value
