"""Web archives (.warc, .warc.gz): every HTML page captured becomes a candidate article."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from archive.document import RawDocument
from archive.readers.items import BadRecord, Item, ReadError, Skipped

_HTML_TYPES = ("text/html", "application/xhtml+xml")
# Records that are part of capturing a page, not captures of one.
_IGNORED_TYPES = {"request", "warcinfo", "metadata", "revisit", "conversion", "continuation"}


def warc_records(uri: str, stream: BinaryIO, max_bytes: int, hints: dict[str, str]
                 ) -> Iterator[Item]:
    """HTML responses as documents; other captures counted as skipped; damage reported."""
    captures = 0
    try:
        for record in ArchiveIterator(stream, arc2warc=True):
            if record.rec_type in _IGNORED_TYPES:
                continue
            captures += 1
            url = record.rec_headers.get_header("WARC-Target-URI") or ""
            where = f"{uri}#{url}" if url else f"{uri}#record{captures}"
            skipped = _not_an_article(record, url)
            if skipped:
                yield Skipped(where, skipped)
                continue
            payload = record.content_stream().read(max_bytes + 1)
            if len(payload) > max_bytes:
                yield BadRecord(where, f"page is over the {max_bytes / 1e6:g} MB limit")
                continue
            if getattr(record.raw_stream, "limit", 0) > 0:
                # The record says it is longer than what the file holds: cut off here.
                raise ArchiveLoadFailed(f"the record for {url or 'a page'} is cut off")
            yield RawDocument(where, payload, "html", {**hints, **_page_hints(record, url)})
    except Exception as exc:  # noqa: BLE001 - warcio fails on damage in many ways
        # A truncated or corrupt archive: what was read so far stands. warcio's own errors
        # describe the damage; anything else is an internal slip on damaged headers.
        message = str(exc).strip()
        detail = (message.splitlines()[0] if isinstance(exc, ArchiveLoadFailed | OSError)
                  and message else "damaged record headers")
        if captures == 0:
            raise ReadError(f"not a readable WARC file ({detail})") from None
        raise ReadError(f"damaged WARC file: stopped after {captures} records ({detail})"
                        ) from None
    if captures == 0:
        raise ReadError("the WARC file holds no captured pages")


def _not_an_article(record, url: str) -> str | None:  # noqa: ANN001 - a warcio record
    if record.rec_type not in ("response", "resource"):
        return f"{record.rec_type} record"
    if urlsplit(url).path.lower().endswith("/robots.txt"):
        return "robots.txt"
    if record.http_headers is not None:
        status = record.http_headers.get_statuscode() or ""
        if status.startswith("3"):
            return f"redirect (HTTP {status})"
        if status != "200":
            return f"HTTP {status}"
        content_type = record.http_headers.get_header("Content-Type") or ""
    else:
        content_type = record.rec_headers.get_header("Content-Type") or ""
    media_type = content_type.split(";")[0].strip().lower()
    if media_type not in _HTML_TYPES:
        return f"not a web page ({media_type or 'no content type'})"
    return None


def _page_hints(record, url: str) -> dict[str, str]:  # noqa: ANN001 - a warcio record
    page: dict[str, str] = {}
    if url:
        page["url"] = url
    captured = record.rec_headers.get_header("WARC-Date")
    if captured:
        page["captured_at"] = captured
    headers = record.http_headers
    content_type = headers.get_header("Content-Type") if headers is not None else None
    if content_type and "charset=" in content_type.lower():
        page["charset"] = content_type.lower().split("charset=")[1].split(";")[0].strip(" \"'")
    return page
