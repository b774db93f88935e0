"""Bytes to text: encoding detection, and refusal of input that is not text at all."""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

from archive.document import ExtractionError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_\-]+)""", re.I)
# Control characters other than tab, newline, carriage return and form feed: text never
# has many of them, binary data always does.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def decode(data: bytes, *, declared: str | None = None) -> tuple[str, str]:
    """Return (text, encoding name); raise ExtractionError for empty or binary input."""
    if not data.strip():
        raise ExtractionError("empty file")
    text, encoding = _decode(data, declared)
    if "\x00" in text or len(_CONTROL.findall(text[:65536])) > max(8, len(text[:65536]) // 100):
        raise ExtractionError("binary data, not text (is this really an article?)")
    return text.replace("\r\n", "\n").replace("\r", "\n"), encoding


def _decode(data: bytes, declared: str | None) -> tuple[str, str]:
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data.decode(name, errors="replace"), name
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    for candidate in (declared, _html_charset(data)):
        if candidate:
            try:
                return data.decode(candidate), codecs.lookup(candidate).name
            except (LookupError, UnicodeDecodeError):
                continue
    best = from_bytes(data[:1_000_000]).best()
    if best is None:
        raise ExtractionError("binary data, not text in any known encoding")
    return data.decode(best.encoding, errors="replace"), best.encoding


def _html_charset(data: bytes) -> str | None:
    match = _META_CHARSET.search(data[:4096])
    return match.group(1).decode("ascii") if match else None
