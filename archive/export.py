"""`archive export`: articles and their metadata as JSON Lines or CSV, streamed."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from sqlalchemy import select

from archive.index import SearchRequest
from archive.instance import Archive
from archive.models import Article, Outlet, Source
from archive.search import format_date
from archive.spreadsheets import spreadsheet_safe

FIELDS = ("id", "title", "date", "date_precision", "outlet", "byline", "language", "url",
          "word_count", "body", "source_uri", "ingested_at")
FORMATS = ("jsonl", "csv")
_CHUNK = 500


def export_records(archive: Archive, request: SearchRequest | None = None
                   ) -> Iterator[dict[str, Any]]:
    """Every article (or every match of `request`, in its order), one dict at a time."""
    if request is None:
        with archive.sessions() as session:
            ids = list(session.scalars(select(Article.id).order_by(Article.id)))
    else:
        everything = dataclasses.replace(request, offset=0, limit=max(1, archive.index.doc_count()))
        # Every match is read once: use what searches kept, keep nothing for the next ones.
        ids = archive.index.search(everything, remember=False).ids
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


def jsonl_chunks(records: Iterable[dict[str, Any]], batch: int = 200) -> Iterator[str]:
    """JSON Lines text, a batch of records at a time (for streaming responses)."""
    lines: list[str] = []
    for record in records:
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
        if len(lines) >= batch:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)


def csv_chunks(records: Iterable[dict[str, Any]], batch: int = 200) -> Iterator[str]:
    """CSV text (header first, then a batch of rows at a time), cells guarded against
    spreadsheet formula injection."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, extrasaction="ignore")
    writer.writeheader()
    for rows, record in enumerate(records, start=1):
        writer.writerow({key: spreadsheet_safe(value) for key, value in record.items()})
        if rows % batch == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def write_jsonl(records: Iterable[dict[str, Any]], out: TextIO) -> int:
    return _write(jsonl_chunks, records, out)


def write_csv(records: Iterable[dict[str, Any]], out: TextIO) -> int:
    return _write(csv_chunks, records, out)


def _write(chunks, records: Iterable[dict[str, Any]], out: TextIO) -> int:  # noqa: ANN001
    counted = _Counted(records)
    for chunk in chunks(counted):
        out.write(chunk)
    return counted.count


class _Counted:
    """An iterable that counts what passes through it."""

    def __init__(self, items: Iterable[dict[str, Any]]) -> None:
        self._items = items
        self.count = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for item in self._items:
            self.count += 1
            yield item
