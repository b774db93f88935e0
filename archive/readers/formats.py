"""Which reader a file needs: by its name, or by its first bytes when the name says nothing."""

from __future__ import annotations

_SUFFIXES = {
    ".txt": "txt", ".text": "txt",
    ".html": "html", ".htm": "html", ".xhtml": "html", ".shtml": "html",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",
    ".csv": "csv", ".tsv": "csv",
    ".warc": "warc", ".arc": "warc",
    ".gz": "gz", ".gzip": "gz",
    ".zip": "zip",
}


def format_of(name: str) -> str | None:
    """The format a file name announces; .warc.gz is read as a WARC (warcio unzips it)."""
    lower = name.lower()
    if lower.endswith((".warc.gz", ".arc.gz")):
        return "warc"
    dot = lower.rfind(".")
    return _SUFFIXES.get(lower[dot:]) if dot >= 0 else None


def inner_name(name: str) -> str:
    """The name of what a .gz file holds: report.jsonl.gz -> report.jsonl."""
    lower = name.lower()
    for suffix in (".gzip", ".gz"):
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name


def sniff(head: bytes) -> str:
    """Guess a format from the first bytes of unnamed input (standard input, odd names)."""
    if head.startswith(b"\x1f\x8b"):
        return "gz"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith((b"warc/", b"filedesc://")):
        return "warc"
    if stripped.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<html" in stripped[:1024]:
        return "html"
    if stripped.startswith(b"["):
        return "json"
    if stripped.startswith(b"{"):
        return "jsonl"
    return "txt"
