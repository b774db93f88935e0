"""Every kind of input users bring, and every way it can be broken."""

from __future__ import annotations

import csv
import gzip
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from archive.cli import main
from archive.index import SearchRequest
from archive.models import IngestError
from archive.search import search
from tests.conftest import EXAMPLES

PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{title} | Coastal Courier</title><meta property="og:site_name" content="Coastal Courier">
</head><body><nav><a href="/">Home</a> <a href="/news">News</a></nav><article><h1>{title}</h1>
<p>{first}</p><p>The council will publish a full report on the matter next month, officials
said, after consulting residents and local businesses about what should happen next.</p>
<p>Local groups said they would study the report closely before deciding on any response.</p>
</article><footer>Copyright Coastal Courier</footer></body></html>"""


def page(title: str, first: str) -> bytes:
    return PAGE.format(title=title, first=first).encode("utf-8")


def record(title: str, text: str, **extra: str) -> dict[str, str]:
    return {"title": title, "text": text, **extra}


def _warc(path: Path, pages: list[tuple[str, bytes, str, str]]) -> Path:
    """A WARC with a response and a request record per (url, payload, status, content type),
    written by hand: the format is simple, and this keeps the test independent of warcio."""
    records = []
    for number, (url, payload, status, content_type) in enumerate(pages):
        http = (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload
        request = b"GET / HTTP/1.1\r\nHost: example\r\n\r\n"
        for kind, block, mime in (("response", http, "application/http; msgtype=response"),
                                  ("request", request, "application/http; msgtype=request")):
            header = (f"WARC/1.0\r\nWARC-Type: {kind}\r\nWARC-Target-URI: {url}\r\n"
                      f"WARC-Date: 2024-05-06T10:00:0{number % 10}Z\r\n"
                      f"WARC-Record-ID: <urn:uuid:{number:08d}-0000-0000-0000-{kind:>12}>\r\n"
                      f"Content-Type: {mime}\r\nContent-Length: {len(block)}\r\n\r\n")
            record = header.encode() + block + b"\r\n\r\n"
            records.append(gzip.compress(record) if path.suffix == ".gz" else record)
    path.write_bytes(b"".join(records))
    return path


@pytest.mark.parametrize("name", ["crawl.warc", "crawl.warc.gz"])
def test_warc_html_responses_become_articles_and_the_rest_is_skipped(
        tmp_path, ingest_paths, archive, name):
    path = _warc(tmp_path / name, [
        ("https://coastal.example/a", page("Sea wall approved", "The sea wall was approved "
                                           "on Tuesday by a large majority of councillors."),
         "200 OK", "text/html; charset=utf-8"),
        ("https://coastal.example/logo.png", b"\x89PNG....", "200 OK", "image/png"),
        ("https://coastal.example/style.css", b"body{}", "200 OK", "text/css"),
        ("https://coastal.example/old", b"", "301 Moved Permanently", "text/html"),
        ("https://coastal.example/robots.txt", b"User-agent: *", "200 OK", "text/plain"),
    ])
    summary = ingest_paths(path)
    assert (summary.added, summary.failures) == (1, [])
    assert sorted(reason for _, reason in summary.skipped) == [
        "not a web page (image/png)", "not a web page (text/css)",
        "redirect (HTTP 301)", "robots.txt"]
    hit = search(archive, SearchRequest("sea wall")).hits[0]
    assert hit.url == "https://coastal.example/a"


def test_a_truncated_warc_keeps_what_was_read_and_says_where_it_stopped(
        tmp_path, ingest_paths):
    full = _warc(tmp_path / "full.warc", [
        (f"https://coastal.example/{n}", page(f"Story number {n}", f"Story {n} begins with "
                                             f"a sentence about event number {n} in town."),
         "200 OK", "text/html") for n in range(3)])
    cut = tmp_path / "cut.warc"
    cut.write_bytes(full.read_bytes()[: int(full.stat().st_size * 0.8)])
    summary = ingest_paths(cut)
    assert summary.added == 2
    [(uri, reason)] = summary.failures
    assert uri == str(cut) and reason.startswith("damaged WARC file: stopped after")


def test_news_please_media_cloud_and_cc_news_fields(ingest_paths, write_file, archive):
    lines = [
        {"title": "NP story", "maintext": "News-please body text about the harbour.",
         "date_publish": "2023-04-05 10:00:00", "source_domain": "np.example",
         "authors": ["A. Writer"], "url": "https://np.example/1"},
        {"title": "MC story", "text": "Media Cloud body text about the harbour.",
         "publish_date": "2023-04-06", "media_name": "Media Cloud Daily",
         "url": "https://mc.example/2"},
        {"title": "CC story", "text": "CC-News body text about the harbour.",
         "date": "2023-04-07", "domain": "cc.example", "url": "https://cc.example/3"},
    ]
    summary = ingest_paths(write_file("mixed.jsonl", "\n".join(map(json.dumps, lines))))
    assert summary.added == 3
    outlets = {h.plain_title: (h.outlet, str(h.published)) for h in
               search(archive, SearchRequest("harbour")).hits}
    assert outlets == {"NP story": ("np.example", "2023-04-05"),
                       "MC story": ("Media Cloud Daily", "2023-04-06"),
                       "CC story": ("cc.example", "2023-04-07")}


def test_csv_and_json_exports(ingest_paths, write_file):
    table = io.StringIO()
    writer = csv.DictWriter(table, ["title", "text", "date", "outlet"])
    writer.writeheader()
    writer.writerow(record("Row one", "First row body text with enough words.", date="2022-01-02",
                           outlet="CSV Times"))
    writer.writerow(record("Row two", "Second row body, with a comma, and quotes \"here\".",
                           date="2022-01-03", outlet="CSV Times"))
    as_json = json.dumps({"results": [record("Wrapped", "A body inside an API response.")]})
    summary = ingest_paths(write_file("export.csv", table.getvalue()),
                           write_file("api.json", as_json))
    assert (summary.added, summary.failures) == (3, [])


def test_export_then_ingest_round_trips_every_field(tmp_path):
    runner = CliRunner()
    first, second = str(tmp_path / "one"), str(tmp_path / "two")
    assert runner.invoke(main, ["--instance", first, "ingest", str(EXAMPLES)]).exit_code == 0
    for fmt in ("jsonl", "csv"):
        exported = tmp_path / f"all.{fmt}"
        runner.invoke(main, ["--instance", first, "export", "--format", fmt, "-o",
                             str(exported)], catch_exceptions=False)
        target = f"{second}-{fmt}"
        result = runner.invoke(main, ["--instance", target, "ingest", str(exported)],
                               catch_exceptions=False)
        assert result.exit_code == 0, result.output

        def fields(instance: str) -> list[tuple]:
            out = runner.invoke(main, ["--instance", instance, "export"]).stdout
            keep = ("title", "date", "date_precision", "outlet", "byline", "language", "url",
                    "word_count", "body")
            return sorted(tuple(r[k] for k in keep) for r in map(json.loads, out.splitlines()))

        assert fields(first) == fields(target)


def test_gzip_and_zip_hold_any_format(tmp_path, ingest_paths):
    jsonl = "\n".join(json.dumps(record(f"Gz {n}", f"Compressed article number {n} body."))
                      for n in range(3))
    gz = tmp_path / "feed.jsonl.gz"
    gz.write_bytes(gzip.compress(jsonl.encode()))
    bundle = tmp_path / "bundle.zip"
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("pages/a.html", page("Zipped page", "A zipped page about the tides here."))
        zf.writestr("notes/b.txt", "Zipped dump headline\n\nThe tide tables for the coming "
                    "week were published by the harbour master on Friday morning.\n")
        zf.writestr("logo.png", b"\x89PNG")
    summary = ingest_paths(gz, bundle)
    assert (summary.added, summary.failures) == (5, [])
    assert summary.skipped == [(f"{bundle}!logo.png", "not a supported kind of file")]


def test_standard_input(tmp_path):
    env_instance = str(tmp_path / "instance")
    data = "\n".join(json.dumps(record(f"Piped {n}", f"Article {n} arrived through a pipe."))
                     for n in range(2))
    result = subprocess.run([sys.executable, "-m", "archive.cli", "--instance", env_instance,
                             "ingest", "-"], input=data.encode(), capture_output=True)
    assert result.returncode == 0, result.stderr
    assert b"Added 2 articles" in result.stdout


def test_a_manifest_supplies_metadata_that_wins(tmp_path, ingest_paths, archive, write_file):
    dump = write_file("saved/page1.txt", "Some headline\n\nThe mayor opened the new bridge on "
                      "Saturday in front of a large crowd of residents.\n")
    manifest = write_file("saved/manifest.csv", "path,url,outlet,date,title\n"
                          "page1.txt,https://river.example/bridge,River Post,2021-06-05,"
                          "Mayor opens bridge\n")
    from archive.manifest import load_manifest

    summary = ingest_paths(dump, manifest=load_manifest(manifest))
    assert summary.added == 1
    hit = search(archive, SearchRequest("bridge")).hits[0]
    assert (hit.plain_title, hit.outlet, str(hit.published), hit.url) == (
        "Mayor opens bridge", "River Post", "2021-06-05", "https://river.example/bridge")


@pytest.mark.parametrize("name, content, reason", [
    ("empty.txt", b"", "empty file"),
    ("empty.jsonl", b"\n\n", "empty file"),
    ("junk.html", bytes(range(256)) * 64, "binary data"),
    ("broken.gz", b"\x1f\x8b\x08\x00" + b"garbage" * 10, "corrupt or truncated gzip data"),
    ("broken.zip", b"PK\x03\x04" + b"garbage" * 10, "corrupt zip file"),
    ("broken.warc", b"WARC/1.0\r\nWARC-Type: response\r\n\r\ngarbage", "WARC"),
    ("list.json", b"[1, 2", "invalid JSON at line 1"),
    ("bad.csv", b"", "empty file"),
])
def test_broken_files_fail_with_a_reason(tmp_path, ingest_paths, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    summary = ingest_paths(path)
    assert summary.added == 0
    assert len(summary.failures) == 1 and reason in summary.failures[0][1], summary.failures


def test_a_truncated_gzip_reports_corruption(tmp_path, ingest_paths):
    full = gzip.compress(b"Headline\n\n" + b"A sentence about the council meeting. " * 500)
    path = tmp_path / "cut.txt.gz"
    path.write_bytes(full[: len(full) // 2])
    summary = ingest_paths(path)
    assert "corrupt or truncated gzip data" in summary.failures[0][1]


def test_files_over_the_size_limit_are_refused_with_the_limit_named(tmp_path, ingest_paths):
    path = tmp_path / "huge.txt"
    path.write_bytes(b"word " * 300_000)  # 1.5 MB
    summary = ingest_paths(path, max_bytes=1_000_000)
    assert summary.failures == [(str(path), "file is 1.5 MB, over the 1 MB limit "
                                            "(raise it with --max-size)")]


def test_decompression_bombs_are_refused_early(tmp_path, ingest_paths):
    bomb = tmp_path / "bomb.txt.gz"
    bomb.write_bytes(gzip.compress(b"\0" * 60_000_000, compresslevel=9))  # ~60 KB
    summary = ingest_paths(bomb, max_bytes=5_000_000)
    assert "over the 5 MB limit" in summary.failures[0][1]
    lines = tmp_path / "bomb.jsonl.gz"
    lines.write_bytes(gzip.compress((b'{"title": "' + b"a" * 2000 + b'"}\n') * 30_000))
    summary = ingest_paths(lines, max_bytes=1_000_000)
    assert "decompression bomb" in summary.failures[-1][1]


def test_failures_are_recorded_and_retry_failed_tries_them_again(tmp_path):
    runner = CliRunner()
    instance = str(tmp_path / "instance")
    broken = tmp_path / "later.txt"
    broken.write_bytes(b"")
    first = runner.invoke(main, ["--instance", instance, "ingest", str(broken)])
    assert first.exit_code == 1
    from archive.config import InstancePaths
    from archive.instance import Archive

    with Archive(InstancePaths(Path(instance))) as archive, archive.sessions() as session:
        assert [(e.uri, e.reason) for e in session.scalars(select(IngestError))] == [
            (str(broken), "empty file")]
    broken.write_text("Fixed headline\n\nThe file was fixed and now holds a real article "
                      "about the harbour festival that starts on Friday.\n")
    again = runner.invoke(main, ["--instance", instance, "ingest", "--retry-failed"])
    assert again.exit_code == 0, again.output
    assert "Retrying 1 input(s) that failed in ingest run 1." in again.output
    assert "Added 1 article" in again.output
    nothing = runner.invoke(main, ["--instance", instance, "ingest", "--retry-failed"])
    assert "Nothing to retry: ingest run 2 had no failures." in nothing.output


def test_a_bad_manifest_names_the_parameter(tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text("file,url\nx.txt,http://a\n")
    result = CliRunner().invoke(main, ["--instance", str(tmp_path / "i"), "ingest", "--meta",
                                       str(manifest), str(EXAMPLES)])
    assert result.exit_code == 2
    assert "--meta" in result.output and "needs a header row with a 'path' column" in result.output


def test_a_short_article_in_an_unspaced_script_is_not_mistaken_for_an_empty_page(
        tmp_path, ingest_paths, archive):
    page = ('<html><head><meta charset="shift_jis"><title>港の再開</title></head><body><article>'
            '<h1>港の再開</h1><p>東京の港は月曜日に再開されました。労働者たちは決定を歓迎しました。'
            '関係者によると、再開は予定より早かったということです。</p></article></body></html>')
    path = tmp_path / "jp.html"
    path.write_bytes(page.encode("shift_jis"))
    summary = ingest_paths(path)
    assert (summary.added, summary.failures) == (1, [])
    assert search(archive, SearchRequest("")).hits[0].word_count > 20


def test_word_counts_for_scripts_written_without_spaces():
    from archive.document import word_count

    assert word_count("Dock workers walked out") == 4
    assert word_count("東京の港は月曜日に再開されました") == 8  # 16 characters
    assert word_count("Tokyo 東京の港 reopened") == 4
