"""Bounded searches: no query word, pattern, fuzzy term or huge article makes a request run
on, no slow search holds up another, and a search past its deadline stops with a message."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from archive.cli import main as archive_cli
from archive.config import resolve_instance
from archive.index import SearchRequest, searchindex
from archive.index.highlight import Highlighter
from archive.instance import Archive
from archive_web import close_app, create_app
from tests.conftest import PATIENCE
from tests.web_fixtures import BIG_COUNT, build_big_archive

# The page of an article shows this much of its body (archive_web.articles.BODY_SHOWN_CHARS), and
# a pattern searches this many of its words (archive.index.PATTERN_WORDS).
BODY_SHOWN_CHARS = 300_000
PATTERN_WORDS = 200

pytest_plugins = ["tests.web_fixtures"]


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_big_archive(tmp_path_factory.mktemp("bounded")).root


@pytest.fixture
def client(big: Path) -> Iterator[FlaskClient]:
    app: Flask = create_app({"ARCHIVE_INSTANCE": big, "TESTING": True})
    yield app.test_client()
    close_app(app)


def test_a_word_longer_than_any_indexed_is_refused_before_any_work(client: FlaskClient) -> None:
    for query in ("a" * 300 + "~", "b" * 301):
        response = client.get("/api/search", query_string={"q": query})
        assert response.status_code == 400
        assert "longer than 40 are not indexed" in response.json["error"]["message"]


def test_a_pattern_searches_its_most_common_words_and_says_so(client: FlaskClient,
                                                               big: Path) -> None:
    # Every report has its own word item0 ... item1233: far more than a pattern may expand to.
    body = client.get("/api/search", query_string={"q": "item*"}).json
    assert body["total"] == PATTERN_WORDS
    assert body["notes"] == [f"'item*' matches {BIG_COUNT:,} words: only the "
                             f"{PATTERN_WORDS} most common were searched (add letters "
                             "before the * or ? to narrow it)"]
    page = client.get("/", query_string={"q": "item*"}).get_data(as_text=True)
    assert "Results may be partial: &#39;item*&#39; matches 1,234 words" in page
    explained = client.get("/explain", query_string={"q": "item*"}).get_data(as_text=True)
    assert "Partial: &#39;item*&#39; matches 1,234 words" in explained
    cli = CliRunner().invoke(archive_cli, ["--instance", str(big), "search", "item1*"])
    assert cli.exit_code == 0, cli.output
    assert "Partial: 'item1*' matches 345 words: only the 200 most common" in cli.output
    # A narrower pattern is not cut.
    assert client.get("/api/search", query_string={"q": "item12*"}).json["notes"] == []


def test_fuzzy_terms_and_suggestions_never_use_whooshs_python_edit_distance(
        client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("Whoosh's per-word edit distance was used")

    from whoosh import reading
    monkeypatch.setattr(reading.IndexReader, "terms_within", refuse)
    monkeypatch.setattr(reading.SegmentReader, "terms_within", refuse)
    monkeypatch.setattr(reading.MultiReader, "terms_within", refuse, raising=False)
    assert client.get("/api/search", query_string={"q": "reprot~"}).json["total"] == BIG_COUNT
    body = client.get("/api/search", query_string={"q": "budgte"}).json
    assert body["total"] == 0 and body["suggestion"] == "budget"


def test_similar_words_count_a_transposition_as_one_edit(big: Path) -> None:
    from archive.index.expansion import similar_words

    with (Archive(resolve_instance(big), create=False, readonly=True) as archive,
          archive.index._reading() as reader):
        found = similar_words(reader.searcher.reader(), "body", "rial", 1, 1)
    assert found == ["rail"]


def test_a_search_past_its_deadline_stops_with_a_clear_message(tmp_path: Path) -> None:
    root = build_big_archive(tmp_path, count=40).root
    (root / "settings.toml").write_text("[search]\ndeadline_seconds = 1e-9\n")
    app = create_app({"ARCHIVE_INSTANCE": root, "TESTING": True})
    try:
        client = app.test_client()
        response = client.get("/api/search", query_string={"q": "report"})
        assert response.status_code == 503
        assert response.json["error"]["code"] == "search_timeout"
        assert "stopped after 1e-09 s, its time limit" in response.json["error"]["message"]
        page = client.get("/", query_string={"q": "report"})
        assert page.status_code == 503 and "its time limit" in page.get_data(as_text=True)
    finally:
        close_app(app)
    cli = CliRunner().invoke(archive_cli, ["--instance", str(root), "search", "report"])
    assert cli.exit_code == 2 and "its time limit" in cli.output
    (root / "settings.toml").write_text("[search]\ndeadline_seconds = 0\n")  # no limit
    cli = CliRunner().invoke(archive_cli, ["--instance", str(root), "search", "report"])
    assert cli.exit_code == 0 and "40 articles found" in cli.output


@pytest.mark.parametrize(("text", "message"), [
    ("[search]\ndeadline_secs = 5\n", "unknown setting search.deadline_secs"),
    ("[serch]\n", "unknown setting [serch]"),
    ("[search]\ndeadline_seconds = 'soon'\n", "must be a number of seconds"),
    ("[search\n", "cannot read the settings"),
])
def test_a_bad_settings_file_is_named_with_what_is_wrong(tmp_path: Path, text: str,
                                                         message: str) -> None:
    from archive.settings import SettingsError, load_settings

    path = tmp_path / "settings.toml"
    path.write_text(text)
    with pytest.raises(SettingsError, match=re.escape(message)) as error:
        load_settings(path)
    assert str(path) in str(error.value)


def test_a_slow_search_does_not_hold_up_a_plain_one(big: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    entered, release = threading.Event(), threading.Event()
    original = searchindex._matching

    def matching(postings, parsed):  # noqa: ANN001, ANN202
        if "budget" in str(parsed):
            entered.set()
            release.wait(timeout=PATIENCE)
        return original(postings, parsed)

    monkeypatch.setattr(searchindex, "_matching", matching)
    with Archive(resolve_instance(big), create=False, readonly=True) as archive:
        slow = threading.Thread(target=archive.index.search, args=(SearchRequest("budget"),))
        slow.start()
        assert entered.wait(timeout=PATIENCE)
        try:
            # Under one lock around the index this would wait for the slow search.
            assert archive.index.search(SearchRequest("bridge")).total > 0
            assert slow.is_alive() and not release.is_set()
        finally:
            release.set()
            slow.join(timeout=PATIENCE)


def test_huge_articles_are_marked_and_shown_in_bounded_parts(tmp_path: Path) -> None:
    from archive_web.articles import BODY_SHOWN_CHARS as shown

    assert shown == BODY_SHOWN_CHARS
    paths = resolve_instance(tmp_path / "instance")
    words = ("harbour crane shift " * (BODY_SHOWN_CHARS // 10)).strip()
    body = f"Opening paragraph about the tide.\n\n{words}\n\nThe zeppelin came at the end."
    feed = tmp_path / "huge.jsonl"
    feed.write_text(json.dumps({"title": "A very long report", "body": body}) + "\n")
    result = CliRunner().invoke(archive_cli, ["--instance", str(paths.root), "ingest",
                                              str(feed)])
    assert result.exit_code == 0, result.output
    app = create_app({"ARCHIVE_INSTANCE": paths, "TESTING": True})
    try:
        client = app.test_client()
        page = client.get("/articles/1").get_data(as_text=True)
        assert f"This article is {len(body):,} characters" in page
        assert len(page) < BODY_SHOWN_CHARS + 50_000 and "zeppelin" not in page
        hit = client.get("/api/search", query_string={"q": "zeppelin"}).json["hits"][0]
        assert hit["id"] == 1  # found; its passage lies past what snippets look at
        assert client.get("/api/articles/1").json["body"] == body  # the API gives it all
    finally:
        close_app(app)


def test_passages_are_looked_for_in_a_bounded_prefix() -> None:
    from archive.index.highlight import SCAN_CHARS

    marker = Highlighter({"body": frozenset({"zeppelin"})})
    text = "word " * (SCAN_CHARS // 5) + "zeppelin"
    assert marker.passages("body", text) == []
    assert marker.passages("body", "a zeppelin")[0][1] == ("zeppelin", True)


def test_capped_expansion_keeps_the_most_common_words(big: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from archive.index.expansion import CappedPrefix

    monkeypatch.setattr(CappedPrefix, "limit", 1)
    with Archive(resolve_instance(big), create=False, readonly=True) as archive:
        hits = archive.index.search(SearchRequest("co*"))
    # "covers" is in every report, "court" in an eighth of them.
    assert hits.total == BIG_COUNT
    assert hits.notes == ["'co*' matches 2 words: only the 1 most common were searched (add "
                          "letters before the * or ? to narrow it)"]


def test_an_ingest_yields_the_cpu_to_searches(tmp_path: Path) -> None:
    """Searches during a big ingest stay interactive: the writer runs at a lower priority."""
    instance = tmp_path / "instance"
    holder = instance / "ingest.pid"
    # Reading standard input keeps the ingest running, holding its lock, until we close it.
    writer = subprocess.Popen([sys.executable, "-m", "archive.cli", "--instance",
                               str(instance), "ingest", "-"], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "ARCHIVE_LOW_PRIORITY": "1"})
    try:
        for _ in range(6000):  # this file names the writer once it holds the lock
            if holder.exists() and holder.read_text().strip() == str(writer.pid):
                break
            assert writer.poll() is None, "the ingest stopped early"
            time.sleep(0.05)
        assert os.getpriority(os.PRIO_PROCESS, writer.pid) >= 10
    finally:
        writer.communicate(b"A short text about the harbour.\n", timeout=300)


def test_a_bad_settings_file_stops_a_command_with_its_name(tmp_path: Path) -> None:
    root = build_big_archive(tmp_path, count=3).root
    (root / "settings.toml").write_text("[search]\ndeadline_seconds = -1\n")
    result = CliRunner().invoke(archive_cli, ["--instance", str(root), "search", "report"])
    assert result.exit_code == 1
    assert f"{root / 'settings.toml'}: search.deadline_seconds must be a number" in result.output
    assert "Traceback" not in result.output
