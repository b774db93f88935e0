"""The web UI through Flask's test client, over a real archive (SQLite + Whoosh)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import html
import io
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from markupsafe import escape
from werkzeug.test import TestResponse

from archive.cli import main as archive_cli
from archive.config import InstancePaths, resolve_instance
from archive.export import export_records
from archive.index import SearchRequest
from archive.ingest import ingest
from archive.instance import Archive
from archive.search import explain, more_like_this, search
from archive_web import close_app, create_app
from tests.web_fixtures import (
    ARTICLE_COUNT,
    BIG_COUNT,
    FORMULA_TITLES,
    HOSTILE,
    HOSTILE_RECORDS,
    HOSTILE_TITLE,
    RAW_HTML,
)

pytest_plugins = ["tests.web_fixtures"]


# --- reading pages back ---------------------------------------------------------------------

@dataclass(frozen=True)
class Facet:
    label: str
    count: int
    url: str
    active: bool


_HIT = re.compile(r'<h2 class="hit-title"><a href="/articles/(\d+)">(.*?)</a></h2>', re.S)
_FACET = re.compile(
    r'<a href="([^"]*)"( class="active"[^>]*| title="[^"]*")?>\s*<span class="facet-label">'
    r'(?:<span class="tick" aria-hidden="true">✓</span> )?(.*?)</span>\s*'
    r'<span class="count">([\d,]+)</span></a>', re.S)
_TAG = re.compile(r"<[^>]+>")


def page_text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def hits(response: TestResponse) -> list[tuple[int, str]]:
    """(article id, title as plain text) for each result, in order."""
    return [(int(i), html.unescape(_TAG.sub("", title)))
            for i, title in _HIT.findall(page_text(response))]


def hit_ids(response: TestResponse) -> list[int]:
    return [article_id for article_id, _ in hits(response)]


def facets(response: TestResponse, name: str) -> dict[str, Facet]:
    body = page_text(response)
    start = body.find(f'id="facet-{name}"')
    if start < 0:
        return {}
    section = body[start:body.find("</section>", start)]
    found = {}
    for url, active, label, count in _FACET.findall(section):
        label = html.unescape(label)
        found[label] = Facet(label, int(count.replace(",", "")), html.unescape(url),
                             'class="active"' in active)
    return found


def result_count(response: TestResponse) -> str:
    match = re.search(r'<h1 id="results-heading"[^>]*>(.*?)</h1>', page_text(response), re.S)
    assert match, "no result heading"
    return " ".join(_TAG.sub("", match.group(1)).split())


def links(response: TestResponse, rel: str) -> list[str]:
    return [html.unescape(url) for url in
            re.findall(rf'<a rel="{rel}" href="([^"]*)"', page_text(response))]


# --- search page ----------------------------------------------------------------------------

def test_empty_query_lists_every_article_newest_first(web_client: FlaskClient) -> None:
    response = web_client.get("/")
    assert response.status_code == 200
    assert result_count(response) == f"{ARTICLE_COUNT} articles in the archive"
    listed = hits(response)
    assert len(listed) == 10
    assert listed[0][1] == "Council debates market stall rents (Harbor Courier 9)"  # 2023-04-10
    assert 'Showing 1–10' in page_text(response)


def test_query_shows_total_and_highlights_title_and_snippet(web_client: FlaskClient) -> None:
    response = web_client.get("/?q=glacier")
    body = page_text(response)
    assert result_count(response) == "1 article"
    assert hits(response) == [(21, "Glacier retreat worries valley farmers")]
    assert '<mark>Glacier</mark> retreat worries valley farmers' in body
    assert 'The <mark>glacier</mark> above Kestrel Valley' in body
    assert "Northern Wire" in body and '<time datetime="2021-08-03">2021-08-03</time>' in body
    assert 'value="glacier"' in body  # the query stays in the box


def test_no_matches_says_so(web_client: FlaskClient) -> None:
    response = web_client.get("/?q=zeppelin")
    assert response.status_code == 200
    assert result_count(response) == "No articles found"
    assert "Nothing matches" in page_text(response)


def test_facets_count_outlets_and_years_of_all_matches(web_client: FlaskClient) -> None:
    response = web_client.get("/?q=ferry")
    assert result_count(response) == "8 articles"
    outlets = facets(response, "outlet")
    assert {label: f.count for label, f in outlets.items()} == {
        "Harbor Courier": 3, "Daily Lantern": 2, "Northern Wire": 2, "(unknown outlet)": 1}
    assert not any(f.active for f in outlets.values())
    years = facets(response, "year")
    assert {label: f.count for label, f in years.items()} == {"2023": 3, "2022": 3, "2021": 2}


def test_outlet_facet_adds_the_filter_and_removes_it_again(web_client: FlaskClient) -> None:
    start = web_client.get("/?q=ferry")
    courier = facets(start, "outlet")["Harbor Courier"]
    assert courier.url == "/?q=ferry&outlet=Harbor+Courier"

    filtered = web_client.get(courier.url)
    assert result_count(filtered) == "3 articles"
    assert all("Harbor Courier" in title for _, title in hits(filtered))
    active = facets(filtered, "outlet")["Harbor Courier"]
    assert active.active
    # The other outlets keep their counts, so a second one can be added.
    lantern = facets(filtered, "outlet")["Daily Lantern"]
    assert lantern.count == 2 and not lantern.active
    # Years now count only the chosen outlet.
    assert {k: f.count for k, f in facets(filtered, "year").items()} == {
        "2023": 1, "2022": 1, "2021": 1}

    both = web_client.get(lantern.url)
    assert lantern.url == "/?q=ferry&outlet=Harbor+Courier&outlet=Daily+Lantern"
    assert result_count(both) == "5 articles"
    assert {k for k, f in facets(both, "outlet").items() if f.active} == {
        "Harbor Courier", "Daily Lantern"}

    removed = web_client.get(facets(both, "outlet")["Harbor Courier"].url)
    assert result_count(removed) == "2 articles"
    assert removed.request.full_path.rstrip("?") == "/?q=ferry&outlet=Daily+Lantern"
    back = web_client.get(facets(removed, "outlet")["Daily Lantern"].url)
    assert back.request.full_path.rstrip("?") == "/?q=ferry"
    assert result_count(back) == "8 articles"


def test_unknown_outlet_facet_filters_articles_without_outlet(web_client: FlaskClient) -> None:
    unknown = facets(web_client.get("/"), "outlet")["(unknown outlet)"]
    assert unknown.count == 3
    response = web_client.get(unknown.url)
    assert result_count(response) == "3 articles"
    assert set(hit_ids(response)) == {20, 22, 24}
    assert facets(response, "outlet")["(unknown outlet)"].active


def test_year_facet_sets_the_date_range_and_clicking_again_clears_it(
        web_client: FlaskClient) -> None:
    year = facets(web_client.get("/?q=ferry"), "year")["2022"]
    assert year.url == "/?q=ferry&from=2022-01-01&to=2022-12-31"
    response = web_client.get(year.url)
    assert result_count(response) == "3 articles"
    assert set(hit_ids(response)) == {4, 10, 20}
    body = page_text(response)
    assert 'value="2022-01-01"' in body and 'value="2022-12-31"' in body
    active = facets(response, "year")["2022"]
    assert active.active
    # The year counts ignore the date filter, so another year can be picked directly.
    assert facets(response, "year")["2021"].url == "/?q=ferry&from=2021-01-01&to=2021-12-31"
    assert active.url == "/?q=ferry"


def test_unknown_year_is_counted_but_not_a_link(web_client: FlaskClient) -> None:
    body = page_text(web_client.get("/"))
    assert ('<span class="facet-static"><span class="facet-label">date unknown</span> '
            '<span class="count">2</span></span>') in body
    assert "date unknown" not in "".join(facets(web_client.get("/"), "year"))


def test_date_range_filter(web_client: FlaskClient) -> None:
    response = web_client.get("/?q=&from=2023-02-15&to=2023-03-16&sort=oldest")
    assert response.status_code == 200
    assert hit_ids(response) == [14, 18, 8, 15]
    only_start = web_client.get("/?from=2023-03-10")
    assert set(hit_ids(only_start)) == {9, 15, 19}


def test_sort_orders(web_client: FlaskClient) -> None:
    newest = hit_ids(web_client.get("/?q=ferry&sort=newest"))
    oldest = hit_ids(web_client.get("/?q=ferry&sort=oldest"))
    assert newest == [18, 14, 7, 20, 10, 4, 16, 1]
    assert oldest == list(reversed(newest))
    relevance = web_client.get("/?q=ferry")
    assert sorted(hit_ids(relevance)) == sorted(newest)
    assert '<option value="relevance" selected>' in page_text(relevance)
    assert '<option value="oldest" selected>' in page_text(
        web_client.get("/?q=ferry&sort=oldest"))


def test_relevance_without_words_lists_newest_first(web_client: FlaskClient) -> None:
    assert hit_ids(web_client.get("/?sort=relevance")) == hit_ids(web_client.get("/"))


def test_pagination(web_client: FlaskClient) -> None:
    first = web_client.get("/?sort=oldest")
    assert links(first, "prev") == []
    assert links(first, "next") == ["/?sort=oldest&page=2"]
    second = web_client.get("/?sort=oldest&page=2")
    assert 'aria-current="page">2<' in page_text(second)
    assert links(second, "prev") == ["/?sort=oldest"]
    assert links(second, "next") == ["/?sort=oldest&page=3"]
    third = web_client.get("/?sort=oldest&page=3")
    assert len(hit_ids(third)) == ARTICLE_COUNT - 20
    assert links(third, "next") == []
    every = hit_ids(first) + hit_ids(second) + hit_ids(third)
    assert sorted(every) == list(range(1, ARTICLE_COUNT + 1))  # no overlap, nothing lost
    assert "Showing 21–24" in page_text(third)


def test_a_page_past_the_end_explains_itself(web_client: FlaskClient) -> None:
    response = web_client.get("/?q=ferry&page=99999")
    assert response.status_code == 200
    body = page_text(response)
    assert "Page 99,999 is past the end" in body
    assert 'href="/?q=ferry">Go to the last page' in body


def test_links_keep_the_whole_state(web_client: FlaskClient) -> None:
    url = ("/?q=council&outlet=Harbor+Courier&outlet=Daily+Lantern&from=2021-01-01"
           "&to=2023-12-31&sort=newest")
    response = web_client.get(url)
    assert result_count(response) == "15 articles"
    assert links(response, "next") == [url + "&page=2"]
    wire = facets(response, "outlet")["Northern Wire"]
    assert wire.url == ("/?q=council&outlet=Harbor+Courier&outlet=Daily+Lantern"
                        "&outlet=Northern+Wire&from=2021-01-01&to=2023-12-31&sort=newest")
    body = page_text(response)
    # The form carries the outlet filters, so a new query keeps them.
    assert '<input type="hidden" name="outlet" value="Harbor Courier">' in body
    assert '<input type="hidden" name="outlet" value="Daily Lantern">' in body
    assert "Clear filters" in body


# --- article pages --------------------------------------------------------------------------

def test_article_page_shows_clean_text_and_metadata(web_client: FlaskClient) -> None:
    response = web_client.get("/articles/21")
    assert response.status_code == 200
    body = page_text(response)
    assert "<h1>Glacier retreat worries valley farmers</h1>" in body
    assert re.findall(r"<p>(The glacier above.*?|Farmers who rely.*?)</p>", body) == [
        "The glacier above Kestrel Valley has shrunk by a third since 1990, surveyors said.",
        "Farmers who rely on its meltwater asked the county for new reservoirs."]
    for expected in ("Northern Wire", "2021-08-03", "Mira Olsen", "<dd>en</dd>",
                     "26 words", 'href="/articles/21/raw"'):
        assert expected in body
    assert ('<a href="https://wire.example/glacier" rel="noopener noreferrer nofollow" '
            'target="_blank">https://wire.example/glacier</a>') in body
    assert 'href="/?outlet=Northern+Wire"' in body


def test_article_without_date_or_outlet(web_client: FlaskClient) -> None:
    body = page_text(web_client.get("/articles/22"))
    assert "date unknown" in body and "<dd>unknown</dd>" in body
    assert "Original" not in body


def test_only_http_urls_become_links(web_client: FlaskClient) -> None:
    body = page_text(web_client.get("/articles/23"))
    assert '<dd class="url">javascript:alert(3)</dd>' in body
    assert 'href="javascript' not in body


def test_raw_input_is_served_verbatim_as_inert_text(web_client: FlaskClient) -> None:
    response = web_client.get("/articles/24/raw")
    assert response.status_code == 200
    assert response.get_data() == RAW_HTML
    assert response.headers["Content-Type"] == "text/plain; charset=cp1252"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"].split(";")[0] == "sandbox"


def test_raw_record_keeps_its_json(web_client: FlaskClient) -> None:
    response = web_client.get("/articles/23/raw")
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.get_data(as_text=True).startswith('{"title": "<script>')


@pytest.mark.parametrize("url", ["/articles/999", "/articles/999/raw", "/articles/0",
                                 "/articles/99999999999999999999999999",
                                 "/articles/99999999999999999999999999/raw",
                                 "/articles/-1", "/articles/abc", "/no/such/page",
                                 # Digits of other scripts are not article numbers (٣ is 3).
                                 "/articles/٣", "/articles/٣/raw", "/articles/٣/extraction",
                                 "/articles/２", "/articles/1٣/raw"])
def test_unknown_articles_and_pages_are_404(web_client: FlaskClient, url: str) -> None:
    response = web_client.get(url)
    assert response.status_code == 404
    assert "Not Found" in page_text(response)
    assert "Content-Security-Policy" in response.headers


# --- hostile content and input --------------------------------------------------------------

def test_hostile_article_text_is_escaped_everywhere(web_client: FlaskClient) -> None:
    for url in ("/?q=fireworks", "/articles/23", "/?q=crowd", "/"):
        body = page_text(web_client.get(url))
        assert "<script" not in body and "<img" not in body, url
    results = page_text(web_client.get("/?q=fireworks"))
    assert ("&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt; Harbour "
            "<mark>fireworks</mark> &lt;img src=x onerror=alert(1)&gt;") in results
    article = page_text(web_client.get("/articles/23"))
    assert "The crowd &lt;img src=x onerror=alert(2)&gt; cheered until midnight." in article
    assert f"<h1>{escape(HOSTILE.title)}</h1>" in article


HOSTILE_QUERIES = ['"unbalanced', "'single", "*", "a*", "((", "))", "(", "title:", ":",
                   "NOT", "AND OR", "a" * 5000, "word " * 300, "\x00", "lav\x00rov",
                   "<script>alert(1)</script>", "%", "\\", "[1 TO", "{", "~", "^2",
                   "title:(", 'body:"', "💥", "ferry" + "*" * 50, "?"]


@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_hostile_queries_never_fail(web_client: FlaskClient, query: str) -> None:
    response = web_client.get("/", query_string={"q": query})
    assert response.status_code in (200, 400), query
    body = page_text(response)
    assert "Content-Security-Policy" in response.headers
    assert "<script>alert" not in body
    if response.status_code == 400:
        assert 'role="alert"' in body
    # Every other page that takes a query answers in the same way.
    for path in ("/explain", "/search.atom", "/export.csv", "/export.jsonl", "/api/search"):
        other = web_client.get(path, query_string={"q": query})
        assert other.status_code == response.status_code, (path, query)
        if not path.startswith("/export"):  # exports carry article text as it is, as data
            assert "<script>alert" not in page_text(other), path


def test_malformed_query_shows_the_search_page_with_the_reason(web_client: FlaskClient) -> None:
    response = web_client.get("/?q=a*")
    assert response.status_code == 400
    body = page_text(response)
    assert "That query cannot be searched" in body
    assert "at least 2 letters" in body
    assert 'value="a*"' in body and 'id="q"' in body


@pytest.mark.parametrize(("query", "name"), [
    ("page=abc", "page"), ("page=0", "page"), ("page=-1", "page"), ("page=1.5", "page"),
    ("page=%EF%BC%91", "page"), ("page=99999999999", "page"),
    ("from=notadate", "from"), ("to=2022-13-01", "to"), ("from=20220101", "from"),
    ("from=2023-01-01&to=2022-01-01", "to"), ("sort=foo", "sort"),
    ("sort=%3Cscript%3E", "sort"),
])
def test_bad_parameters_are_named_in_a_400_page(web_client: FlaskClient, query: str,
                                                 name: str) -> None:
    response = web_client.get(f"/?{query}")
    assert response.status_code == 400
    body = page_text(response)
    assert f"Parameter <code>{name}</code>" in body
    assert "<script>" not in body


def test_empty_parameters_mean_defaults(web_client: FlaskClient) -> None:
    response = web_client.get("/?q=&from=&to=&sort=&page=")
    assert response.status_code == 200
    assert hit_ids(response) == hit_ids(web_client.get("/"))


def test_other_methods_are_refused_politely(web_client: FlaskClient) -> None:
    response = web_client.post("/")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert "Method Not Allowed" in page_text(response)


@pytest.mark.parametrize("url", ["/", "/?q=ferry", "/articles/1", "/articles/1/raw",
                                 "/nowhere", "/?page=x", "/static/style.css"])
def test_security_headers_on_every_response(web_client: FlaskClient, url: str) -> None:
    with web_client.get(url) as response:
        policy = response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    if url.endswith("/raw"):
        assert policy.startswith("sandbox")
    else:
        assert "default-src 'self'" in policy
        assert "'unsafe-inline'" not in policy


def test_pages_have_no_inline_script_or_style(web_client: FlaskClient) -> None:
    for url in ("/", "/?q=ferry", "/articles/21", "/?q=a*", "/?page=x", "/articles/999"):
        body = page_text(web_client.get(url))
        assert "<script" not in body and "<style" not in body and " style=" not in body


def test_inputs_have_labels(web_client: FlaskClient) -> None:
    body = page_text(web_client.get("/"))
    for field in ("q", "from", "to", "sort"):
        assert f'<label for="{field}"' in body and f'id="{field}"' in body


# --- host names -----------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/", "/search.atom?q=ferry", "/articles/1", "/static/style.css",
                                 "/no/such/page"])
def test_unknown_host_is_refused_with_a_page_saying_how_to_allow_it(web_client: FlaskClient,
                                                                    url: str) -> None:
    response = web_client.get(url, headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/html")
    text = page_text(response)
    assert "does not answer to host evil.example" in text
    assert "--allowed-host evil.example" in text
    assert "http://evil.example" not in text
    assert "Content-Security-Policy" in response.headers


@pytest.mark.parametrize("base_url", ["http://localhost", "http://localhost:5000",
                                      "http://127.0.0.1:8080", "http://[::1]:5000",
                                      "http://LOCALHOST", "https://[0:0::1]"])
def test_local_names_with_any_port_are_answered(web_client: FlaskClient, base_url: str) -> None:
    response = web_client.get("/search.atom?q=ferry", base_url=base_url)
    assert response.status_code == 200
    assert f"{base_url.lower()}/articles/" in page_text(response)


@pytest.mark.parametrize("host", ["evil.example", "localhost.evil.example", "127.0.0.1.nip.io",
                                  "10.0.0.1", "[::2]", "", "local host", "localhost:99999"])
def test_other_and_malformed_hosts_are_refused(web_client: FlaskClient, host: str) -> None:
    assert web_client.get("/", headers={"Host": host}).status_code == 400


def test_allowed_hosts_come_from_config_and_the_environment(
        web_instance: InstancePaths, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVE_ALLOWED_HOSTS", "news.example.org, 10.0.0.5  [fe80::1]")
    app = create_app({"ARCHIVE_INSTANCE": web_instance, "TESTING": True,
                      "ARCHIVE_ALLOWED_HOSTS": ["Archive.Example.org:443"]})
    try:
        client = app.test_client()
        response = client.get("/search.atom?q=ferry", base_url="https://archive.example.org")
        assert "https://archive.example.org/articles/" in page_text(response)
        for host in ("news.example.org", "10.0.0.5:8000", "[FE80::1]"):
            assert client.get("/", headers={"Host": host}).status_code == 200, host
        # Given names replace the local ones; the environment's add to them.
        assert client.get("/").status_code == 400
    finally:
        close_app(app)
    app = create_app({"ARCHIVE_INSTANCE": web_instance,
                      "ARCHIVE_ALLOWED_HOSTS": "a.example b.example"})
    assert app.config["ARCHIVE_ALLOWED_HOSTS"] == ("a.example", "b.example", "news.example.org",
                                                   "10.0.0.5", "fe80::1")
    close_app(app)


def test_a_bad_allowed_host_stops_the_app_with_its_name(web_instance: InstancePaths,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="'under_score'"):
        create_app({"ARCHIVE_INSTANCE": web_instance, "ARCHIVE_ALLOWED_HOSTS": ["under_score"]})
    monkeypatch.setenv("ARCHIVE_ALLOWED_HOSTS", "ok.example,http://x/")
    with pytest.raises(ValueError, match="http://x/"):
        create_app({"ARCHIVE_INSTANCE": web_instance})


def test_default_hosts_follow_the_bind_address(monkeypatch: pytest.MonkeyPatch) -> None:
    from archive_web.hosts import default_hosts

    monkeypatch.setattr("socket.gethostname", lambda: "Reading-Room")
    local = ["localhost", "127.0.0.1", "::1"]
    for bind in ("127.0.0.1", "localhost", "::1"):
        assert default_hosts(bind) == local
    assert default_hosts("0.0.0.0") == [*local, "0.0.0.0", "reading-room"]
    assert default_hosts("::") == [*local, "::", "reading-room"]
    assert default_hosts("192.168.1.20") == ["192.168.1.20"]
    assert default_hosts("archive.lan") == ["archive.lan"]


# --- the app and its archive ----------------------------------------------------------------

def test_missing_archive_gives_a_friendly_page_and_creates_nothing(tmp_path: Path) -> None:
    root = tmp_path / "empty-instance"
    app = create_app({"ARCHIVE_INSTANCE": str(root), "TESTING": True})
    try:
        client = app.test_client()
        for url in ("/", "/?q=ferry", "/articles/1", "/articles/1/raw"):
            response = client.get(url)
            assert response.status_code == 503
            assert "archive ingest" in page_text(response)
            assert "Content-Security-Policy" in response.headers
        assert not root.exists()
        assert app.instance_path == str(root.resolve())
    finally:
        close_app(app)


def test_page_starts_working_once_the_archive_exists(tmp_path: Path) -> None:
    from tests.web_fixtures import build_archive

    app = create_app({"ARCHIVE_INSTANCE": tmp_path / "instance", "TESTING": True})
    try:
        client = app.test_client()
        assert client.get("/").status_code == 503
        build_archive(tmp_path)
        assert result_count(client.get("/")) == f"{ARTICLE_COUNT} articles in the archive"
    finally:
        close_app(app)


def test_instance_comes_from_the_environment_by_default(
        monkeypatch: pytest.MonkeyPatch, web_instance: InstancePaths) -> None:
    monkeypatch.setenv("ARCHIVE_INSTANCE", str(web_instance.root))
    app = create_app({"TESTING": True})
    try:
        assert app.instance_path == str(web_instance.root)
        assert app.config["ARCHIVE_INSTANCE"] == resolve_instance()
        assert result_count(app.test_client().get("/")).startswith(str(ARTICLE_COUNT))
    finally:
        close_app(app)


def test_one_archive_serves_every_request_and_sees_new_articles(
        web_app, web_client: FlaskClient, web_instance: InstancePaths, tmp_path: Path) -> None:
    holder = web_app.extensions["archive"]
    assert web_client.get("/?q=ferry").status_code == 200
    opened = holder.get()
    web_client.get("/articles/1")
    assert holder.get() is opened

    # A later ingest (another process in real life) commits to the same index.
    extra = tmp_path / "later.jsonl"
    extra.write_text('{"title": "Ferry strike ends", "body": "The ferry crews went back to '
                     'work on Friday.", "outlet": "Harbor Courier", "date": "2024-01-05"}\n',
                     encoding="utf-8")
    with Archive(web_instance) as writer, writer.writing():
        assert ingest(writer, [str(extra)]).added == 1
    response = web_client.get("/?q=ferry")
    assert result_count(response) == "9 articles"
    assert holder.get() is opened


def test_browsing_never_changes_the_archive(web_client: FlaskClient,
                                            web_instance: InstancePaths) -> None:
    def fingerprint() -> dict[str, str]:
        files = [web_instance.database, *sorted(web_instance.index_dir.iterdir())]
        return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in files}

    before = fingerprint()
    for url in ("/", "/?q=ferry&outlet=Daily+Lantern", "/articles/3", "/articles/3/raw",
                "/?q=((", "/?page=x", "/articles/404"):
        web_client.get(url)
    assert fingerprint() == before


def test_serve_is_an_archive_command(web_instance: InstancePaths) -> None:
    result = CliRunner().invoke(archive_cli, ["--instance", str(web_instance.root), "serve",
                                              "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--host", "--port", "--threads", "--allowed-host"):
        assert option in result.output
    assert "serve" in CliRunner().invoke(archive_cli, ["--help"]).output


# === the research features ====================================================================

def archive_of(client: FlaskClient) -> Archive:
    return client.application.extensions["archive"].get()


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(html.unescape(url)).query, keep_blank_values=True)


def hrefs(response: TestResponse) -> list[str]:
    return [html.unescape(url) for url in re.findall(r'href="([^"]*)"', page_text(response))]


# --- query language help, explain and malformed queries ----------------------------------------

HELP_EXAMPLES = ["dock workers", "strike OR walkout", "strike NOT ferry", "strike -ferry",
                 "(tram OR ferry) strike", '"night shift"', '"lavrov china"~5', "title:strike",
                 "body:strike", "outlet:harbour", "byline:smith", "sanction*", "lavorv~",
                 "date:2022-03", "date:[2022-03-01 TO 2022-03-31]",
                 "strike date:[2024-05-01 TO 2024-05-31]"]


def test_help_is_linked_next_to_the_search_box(web_client: FlaskClient) -> None:
    body = page_text(web_client.get("/"))
    row = body[body.index('<div class="query-row">'):]
    row = row[:row.index("</div>")]
    assert 'id="q"' in row and 'href="/help"' in row


def test_help_page_shows_every_kind_of_query_and_each_example_runs(
        research_client: FlaskClient) -> None:
    response = research_client.get("/help")
    assert response.status_code == 200
    body = page_text(response)
    examples = [html.unescape(code) for code in
                re.findall(r'<dt><a href="[^"]*"><code>(.*?)</code>', body)]
    assert examples == HELP_EXAMPLES
    for url in re.findall(r'<dt><a href="([^"]*)">', body):
        result = research_client.get(html.unescape(url))
        assert result.status_code == 200, url


@pytest.mark.parametrize(("query", "marked", "alternative"), [
    ("sanction a*", "a*", "sanction a"),
    ("lavorv~3", "lavorv~3", "lavorv~2"),
    ("strike date:2022-13", "2022-13", "strike"),
    ("sanction a* lavorv~3", "a*", "sanction a lavorv~2"),
])
def test_malformed_query_points_at_the_problem_and_offers_a_query_that_runs(
        research_client: FlaskClient, query: str, marked: str, alternative: str) -> None:
    response = research_client.get("/", query_string={"q": query})
    assert response.status_code == 400
    body = page_text(response)
    assert 'role="alert"' in body and "That query cannot be searched" in body
    assert f'<mark class="problem">{escape(marked)}</mark>' in body
    suggested = re.search(r'<a class="alternative" href="([^"]*)">(.*?)</a>', body)
    assert suggested and html.unescape(suggested.group(2)) == alternative
    assert research_client.get(html.unescape(suggested.group(1))).status_code == 200


def test_query_with_nothing_to_search_explains_why(research_client: FlaskClient) -> None:
    for query in ("((", "-ferry", "~"):
        response = research_client.get("/", query_string={"q": query})
        assert response.status_code == 400, query
        assert "nothing to look for" in page_text(response)


def test_explain_page_lists_each_clause_with_its_lookups_and_counts(
        research_client: FlaskClient) -> None:
    query = 'tram "night shifts" dredg* trm~ -ferry'
    results = research_client.get("/", query_string={"q": query})
    link = re.search(r'<a href="([^"]*)">How was this query understood\?</a>', page_text(results))
    assert link and html.unescape(link.group(1)).startswith("/explain?")
    response = research_client.get(html.unescape(link.group(1)))
    assert response.status_code == 200
    body = page_text(response)
    expected = explain(archive_of(research_client), query)
    assert f'<code class="parsed">{escape(expected.query)}</code>' in body
    rows = re.findall(r'<tr(?: class="negated")?>\s*<th scope="row"><code>(.*?)</code>(.*?)</th>'
                      r"\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*"
                      r'<td class="number">([\d,]+)</td>', body, re.S)
    assert len(rows) == len(expected.clauses) == 5
    for (typed, negation, kind, field, looks_up, count), clause in zip(
            rows, expected.clauses, strict=True):
        assert html.unescape(typed) == clause.typed
        assert ("excluded (NOT)" in negation) == clause.negated
        assert (kind, field) == (clause.kind, clause.field or "any field")
        assert int(count.replace(",", "")) == clause.matches
        for word in clause.expansions:
            assert f"<li>{escape(word)}</li>" in looks_up
    assert [c.kind for c in expected.clauses] == ["term", "phrase", "prefix", "fuzzy", "term"]
    assert expected.clauses[-1].negated and "tram" in expected.clauses[3].expansions


def test_explain_of_a_malformed_query_is_a_400_with_the_reason(
        research_client: FlaskClient) -> None:
    response = research_client.get("/explain?q=a*")
    assert response.status_code == 400
    assert 'role="alert"' in page_text(response)
    assert "at least 2 letters" in page_text(response)


# --- results: highlighting, suggestions, filters, facets --------------------------------------

def test_snippet_ellipses_follow_the_cut_flags(research_client: FlaskClient) -> None:
    page = search(archive_of(research_client), SearchRequest(text="tram drivers"))
    body = page_text(research_client.get("/?q=tram+drivers"))
    rendered = re.findall(r'<p class="snippet">(.*?)</p>', body, re.S)
    fragments = [fragment for hit in page.hits for fragment in hit.snippet]
    assert len(rendered) == len(fragments)
    for shown, fragment in zip(rendered, fragments, strict=True):
        assert shown.startswith('<span class="cut" aria-hidden="true">… </span>') \
            == fragment.cut_start
        assert shown.endswith('<span class="cut" aria-hidden="true"> …</span>') \
            == fragment.cut_end
        assert "<mark>" in shown or not any(match for _, match in fragment)


def test_did_you_mean_links_to_the_suggestion(research_client: FlaskClient) -> None:
    body = page_text(research_client.get("/?q=dreging&outlet=Northern+Wire"))
    link = re.search(r'Did you mean\s*<a href="([^"]*)">(.*?)</a>', body)
    assert link and link.group(2) == "dredging"
    assert html.unescape(link.group(1)) == "/?q=dredging&outlet=Northern+Wire"
    assert result_count(research_client.get(html.unescape(link.group(1)))) == "2 articles"


def test_language_facet_counts_and_filters(research_client: FlaskClient) -> None:
    start = research_client.get("/?q=tram")
    languages = facets(start, "language")
    assert {label: f.count for label, f in languages.items()} == {
        "English (en)": 6, "French (fr)": 1}
    french = research_client.get(languages["French (fr)"].url)
    assert result_count(french) == "1 article"
    assert hits(french)[0][1] == "Les conducteurs de tram en grève"
    assert languages["French (fr)"].url == "/?q=tram&language=fr"
    # Several languages at once; the language facet ignores its own filter.
    both = research_client.get("/?q=Northport&language=fr&language=de")
    assert result_count(both) == "2 articles"
    assert {k for k, f in facets(both, "language").items() if f.active} == {
        "French (fr)", "German (de)"}


def test_date_range_narrows_to_the_day(research_client: FlaskClient) -> None:
    response = research_client.get("/?q=dredging&from=2022-03-15&to=2022-03-15")
    assert result_count(response) == "1 article"
    assert hits(response)[0][1] == "Harbour dredging update 2022-03-15"


def test_year_facet_drills_down_to_months(research_client: FlaskClient) -> None:
    start = research_client.get("/?q=dredging")
    assert facets(start, "month") == {}
    year = research_client.get(facets(start, "year")["2022"].url)
    assert result_count(year) == "5 articles"
    months = facets(year, "month")
    assert {label: f.count for label, f in months.items()} == {
        "January": 1, "March": 2, "June": 1, "November": 1}
    assert list(months) == ["January", "March", "June", "November"]  # in calendar order
    assert months["March"].url == "/?q=dredging&from=2022-03-01&to=2022-03-31"

    march = research_client.get(months["March"].url)
    assert result_count(march) == "2 articles"
    assert facets(march, "month")["March"].active
    # The months stay listed (month counts ignore the date filter) to switch directly.
    assert facets(march, "month")["June"].url == "/?q=dredging&from=2022-06-01&to=2022-06-30"
    # March again goes back to the year; the year leads to the whole year.
    assert facets(march, "month")["March"].url == "/?q=dredging&from=2022-01-01&to=2022-12-31"
    assert facets(march, "year")["2022"].url == "/?q=dredging&from=2022-01-01&to=2022-12-31"


def test_every_link_keeps_the_whole_state(research_client: FlaskClient) -> None:
    url = ("/?q=tram&outlet=Harbor+Courier&outlet=Northern+Wire&language=en&from=2022-01-01"
           "&to=2024-12-31&sort=oldest&stories=1&share=1")
    response = research_client.get(url)
    assert response.status_code == 200
    body = page_text(response)
    every_copy = html.unescape(re.search(r'<a href="([^"]*)">every copy</a>', body).group(1))
    counts = html.unescape(re.search(r'<a href="([^"]*)">stories</a>', body).group(1))
    results = [link for link in hrefs(response)
               if urlsplit(link).path == "/" and query_of(link).get("q") == ["tram"]]
    assert len(results) > 10  # facets, chips, chart bars, toggles
    for link in results:
        params = query_of(link)
        assert params["sort"] == ["oldest"], link
        assert ("stories" in params) == (link != every_copy), link
        assert ("share" in params) == (link.split("#")[0] != counts.split("#")[0]), link
    full = {"q": ["tram"], "outlet": ["Harbor Courier", "Northern Wire"], "language": ["en"],
            "from": ["2022-01-01"], "to": ["2024-12-31"], "sort": ["oldest"], "stories": ["1"]}
    for path in ("/export.csv", "/export.jsonl", "/search.atom", "/api/search", "/explain"):
        found = [query_of(link) for link in hrefs(response) if urlsplit(link).path == path]
        assert found and {k: v for k, v in found[0].items() if k != "share"} == full, path
    # The permalink reproduces the page exactly.
    assert page_text(research_client.get(url)) == body


def test_stories_fold_copies_and_link_them(research_client: FlaskClient) -> None:
    every = research_client.get("/?q=drivers")
    stories = research_client.get("/?q=drivers&stories=1")
    assert result_count(every) == "3 articles"
    assert result_count(stories) == "1 story"
    body = page_text(stories)
    copies = re.search(r'<p class="copies">(.*?)</p>', body, re.S)
    assert copies and "Also in 2 other outlets:" in copies.group(1)
    linked = re.findall(r'<a href="/articles/(\d+)">(.*?)</a>', copies.group(1))
    assert [(int(i), label) for i, label in linked] == [
        (10, "Northern Wire, 2022-03-03"), (11, "Daily Lantern, 2022-03-05")]
    # Facets and the chart count stories too.
    assert {k: f.count for k, f in facets(stories, "outlet").items()} == {"Harbor Courier": 1}
    assert {k: f.count for k, f in facets(every, "outlet").items()} == {
        "Harbor Courier": 1, "Northern Wire": 1, "Daily Lantern": 1}
    assert "stories per day" in body
    toggle = re.search(r'<p class="toggle" id="story-toggle">(.*?)</p>', body, re.S)
    assert toggle and '<span class="on" aria-current="true">one per story</span>' in toggle.group(1)
    back = re.search(r'<a href="([^"]*)">every copy</a>', toggle.group(1))
    assert back and html.unescape(back.group(1)) == "/?q=drivers"


def test_significant_terms_link_to_a_narrower_query(research_client: FlaskClient) -> None:
    body = page_text(research_client.get("/?q=tram"))
    section = body[body.index('id="significant-terms"'):]
    section = section[:section.index("</section>")]
    links = re.findall(r'<a href="([^"]*)" aria-label="Add (.*?) to the query">', section)
    assert links
    for url, word in links:
        assert query_of(url)["q"] == [f"tram {html.unescape(word)}"]
    assert research_client.get(html.unescape(links[0][0])).status_code == 200


# --- the chart ---------------------------------------------------------------------------------

_BAR = re.compile(r'<a href="([^"]*)" aria-label="([^"]*)"><title>[^<]*</title>'
                  r'<rect class="hit-area"[^>]*/><rect class="bar" x="[^"]*" y="[^"]*" '
                  r'width="[^"]*" height="([^"]*)"/></a>')


def bars(response: TestResponse) -> list[tuple[str, str, float]]:
    return [(html.unescape(url), html.unescape(label), float(height))
            for url, label, height in _BAR.findall(page_text(response))]


def test_chart_shows_counts_per_period_and_each_bar_narrows_to_it(
        research_client: FlaskClient) -> None:
    response = research_client.get("/?q=dredging")
    shown = bars(response)
    api = research_client.get("/api/search?q=dredging&histogram=1").get_json()["histogram"]
    assert api["granularity"] == "week"  # 13 months of matches
    with_matches = [b for b in api["buckets"] if b["count"]]
    assert len(shown) == len(with_matches) == 5  # 15 and 20 March share a week
    for (url, label, _), bucket in zip(shown, with_matches, strict=True):
        start = dt.date.fromisoformat(bucket["start"])
        assert label.startswith(f"week of {start}: {bucket['count']} article")
        params = query_of(url)
        assert params["from"] == [start.isoformat()]
        assert params["to"] == [(start + dt.timedelta(days=6)).isoformat()]
        assert result_count(research_client.get(url)) == (
            f"{bucket['count']} article{'s' if bucket['count'] != 1 else ''}")
    body = page_text(response)
    assert 'role="group" aria-label="Matching articles per week' in body
    assert "<summary>The chart as a table</summary>" in body
    # Narrowed to one week, the chart counts days.
    week = bars(research_client.get(shown[1][0]))
    assert query_of(shown[1][0])["from"] == ["2022-03-14"]
    assert [label.split(":")[0] for _, label, _ in week] == ["2022-03-15", "2022-03-20"]
    # Over years it counts months, from the first match to the last.
    every = bars(research_client.get("/?from=2000-01-01&to=2030-12-31"))
    assert every[0][1].startswith("2022-01:") and every[-1][1].startswith("2024-09:")
    assert query_of(every[0][0])["to"] == ["2022-01-31"]


def test_chart_of_more_than_ten_years_counts_years(big_client: FlaskClient) -> None:
    shown = bars(big_client.get("/?q=report"))
    assert [label.split(":")[0] for _, label, _ in shown] == [str(y) for y in range(2010, 2022)]
    undated = BIG_COUNT // 50 + 1
    assert sum(int(label.split(": ")[1].split()[0]) for _, label, _ in shown) == (
        BIG_COUNT - undated)
    assert f"{undated} articles without a date are not in the chart" in page_text(
        big_client.get("/?q=report"))
    assert query_of(shown[3][0])["from"] == ["2013-01-01"]
    assert query_of(shown[3][0])["to"] == ["2013-12-31"]


def test_chart_toggles_to_shares_of_the_archive(research_client: FlaskClient) -> None:
    counts = research_client.get("/?q=tram&from=2022-03-01&to=2022-03-31")
    shares = research_client.get("/?q=tram&from=2022-03-01&to=2022-03-31&share=1")
    toggle = re.search(r'<a href="([^"]*)">share of archive</a>', page_text(counts))
    assert toggle and html.unescape(toggle.group(1)).endswith("&share=1#chart")
    api = research_client.get("/api/search?q=tram&from=2022-03-01&to=2022-03-31"
                              "&histogram=1").get_json()["histogram"]
    buckets = [b for b in api["buckets"] if b["count"]]
    count_heights = [height for _, _, height in bars(counts)]
    share_heights = [height for _, _, height in bars(shares)]
    assert len(count_heights) == len(share_heights) == len(buckets)
    # Heights are proportional to counts in one view and to count/total in the other.
    top_count = max(b["count"] for b in buckets)
    top_share = max(b["count"] / b["archive_total"] for b in buckets)
    for bucket, by_count, by_share in zip(buckets, count_heights, share_heights, strict=True):
        assert by_count / max(count_heights) == pytest.approx(bucket["count"] / top_count,
                                                               abs=0.02)
        assert by_share / max(share_heights) == pytest.approx(
            bucket["count"] / bucket["archive_total"] / top_share, abs=0.02)
    assert "share of all archived articles per day" in page_text(shares)
    assert '<span class="on" aria-current="true">share of archive</span>' in page_text(shares)


@pytest.mark.parametrize("query", ["from=0001-01-01&to=9999-12-31", "from=0001-01-01",
                                   "to=0001-12-31", "from=9999-01-01", "q=zeppelin"])
def test_chart_survives_extreme_ranges(research_client: FlaskClient, query: str) -> None:
    response = research_client.get(f"/?{query}")
    assert response.status_code == 200
    assert len(bars(response)) <= 200


# --- deep pagination ---------------------------------------------------------------------------

def test_pagination_is_exact_deep_into_a_large_result_set(big_client: FlaskClient) -> None:
    last = -(-BIG_COUNT // 10)
    expected = [record["id"] for record in export_records(
        archive_of(big_client), SearchRequest(text="report", sort="relevance",
                                              limit=BIG_COUNT))]
    assert len(expected) == BIG_COUNT
    for page in (1, 2, 61, last - 1, last):
        response = big_client.get(f"/?q=report&page={page}")
        assert result_count(response) == f"{BIG_COUNT:,} articles"
        assert hit_ids(response) == expected[(page - 1) * 10: page * 10], page
        shown_last = min(page * 10, BIG_COUNT)
        assert f"Showing {(page - 1) * 10 + 1:,}–{shown_last:,}" in page_text(response)
    final = big_client.get(f"/?q=report&page={last}")
    assert links(final, "next") == []
    assert f'aria-current="page">{last}<' in page_text(final)
    assert "past the end" in page_text(big_client.get(f"/?q=report&page={last + 1}"))


# --- article page and extraction view ---------------------------------------------------------

def test_article_page_shows_its_story_and_more_like_this(research_client: FlaskClient) -> None:
    body = page_text(research_client.get("/articles/9"))
    copies = body[body.index('id="copies"'):]
    copies = copies[:copies.index("</section>")]
    assert "2 other copies of this text" in copies
    assert re.findall(r'href="/articles/(\d+)"', copies) == ["10", "11"]
    similar = body[body.index('id="more-like-this"'):]
    similar = similar[:similar.index("</section>")]
    expected = [hit.id for hit in more_like_this(archive_of(research_client), 9, limit=5)]
    assert expected and [int(i) for i in re.findall(r'href="/articles/(\d+)"', similar)] \
        == expected
    assert not {10, 11} & set(expected)  # copies are not "similar", they are the same
    assert 'href="/articles/9/extraction">How this was extracted</a>' in body


def test_extraction_view_marks_removed_lines_and_where_values_came_from(
        research_client: FlaskClient) -> None:
    archive = archive_of(research_client)
    with archive.sessions() as session:
        from archive.models import Article
        article = session.get(Article, 4)
        provenance = article.provenance
        title = article.title
    response = research_client.get("/articles/4/extraction")
    assert response.status_code == 200
    body = page_text(response)
    assert "decoded as <strong>utf-8</strong>" in body
    lines = dict(re.findall(r'<li id="raw-line-(\d+)"(?: class="[^"]*")?>\s*'
                            r'<span class="ln" aria-hidden="true">\d+</span>\s*'
                            r'<span class="line-text">(.*?)</span>\s*</li>', body, re.S))
    classes = dict(re.findall(r'<li id="raw-line-(\d+)"(?: class="([^"]*)")?>', body))
    for span in provenance["removed"]:
        first = str(span["start"] + 1)
        assert f"{span['reason']}" in lines[first]
        for number in range(span["start"] + 1, span["end"] + 2):
            assert classes[str(number)] == "removed"
    kept = [n for n, c in classes.items() if c != "removed"]
    assert kept  # the article's own lines
    for name, source in provenance["fields"].items():
        row = re.search(rf'<th scope="row">{name}</th>(.*?)</tr>', body, re.S)
        assert row and escape(source["rule"]) in row.group(1)
        if source.get("candidates"):  # what was weighed, and how sure the choice was
            assert "considered</summary>" in row.group(1)
            assert escape(source["candidates"][0]["value"]) in row.group(1)
            assert f"confidence {source['confidence']:.2f}" in row.group(1)
        if source["line"] is None:
            continue
        line = source["line"] + 1
        assert f'href="#raw-line-{line}">line {line}</a>' in row.group(1)
        assert f'<span class="badge">{name}</span>' in lines[str(line)]
    assert provenance["fields"]["title"].get("candidates")
    title_line = provenance["fields"]["title"]["line"] + 1
    assert escape(title) in lines[str(title_line)]
    clean = body[body.index('id="clean-heading"'):]
    assert "Northport&#39;s tram network will reach Eastfield" in clean


def test_extraction_view_of_an_html_page_lists_removed_passages(
        research_client: FlaskClient) -> None:
    body = page_text(research_client.get("/articles/1/extraction"))
    assert "Removed passages" in body
    assert re.search(r'<span class="reason">the headline again</span> Eastfield library', body)
    assert "og:title meta tag" in body


def test_extraction_view_of_a_missing_article_is_404(research_client: FlaskClient) -> None:
    assert research_client.get("/articles/999/extraction").status_code == 404


# --- exports and the feed ---------------------------------------------------------------------

def test_results_page_links_exports_and_feed_with_the_same_search(
        research_client: FlaskClient) -> None:
    response = research_client.get("/?q=tram&language=en&stories=1&page=2")
    body = page_text(response)
    downloads = body[body.index('id="downloads"'):]
    downloads = downloads[:downloads.index("</p>")]
    found = {urlsplit(url).path: query_of(url) for url in
             (html.unescape(u) for u in re.findall(r'href="([^"]*)"', downloads))}
    assert set(found) == {"/export.csv", "/export.jsonl", "/search.atom", "/api/search"}
    for params in found.values():
        assert params == {"q": ["tram"], "language": ["en"], "stories": ["1"]}
    assert ('<link rel="alternate" type="application/atom+xml" title="Newest matches (Atom)"'
            in body)


def test_csv_export_streams_every_match_in_order(big_client: FlaskClient) -> None:
    response = big_client.get("/export.csv?q=report&sort=newest")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    today = dt.date.today().strftime("%Y%m%d")
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="archive-report-{today}.csv"')
    rows = list(csv.DictReader(io.StringIO(page_text(response))))
    assert len(rows) == BIG_COUNT  # not capped at any page size
    expected = [record["id"] for record in export_records(
        archive_of(big_client), SearchRequest(text="report", sort="newest"))]
    assert [int(row["id"]) for row in rows] == expected
    jsonl = big_client.get("/export.jsonl?q=report&sort=newest")
    assert jsonl.headers["Content-Disposition"].endswith(f'archive-report-{today}.jsonl"')
    assert jsonl.headers["Content-Type"] == "application/x-ndjson; charset=utf-8"
    records = [json.loads(line) for line in page_text(jsonl).splitlines()]
    assert [r["id"] for r in records] == expected
    assert records[0]["title"] == rows[0]["title"]


def test_export_follows_filters_and_story_folding(research_client: FlaskClient) -> None:
    shown = hit_ids(research_client.get("/?q=tram&stories=1&sort=oldest"))
    exported = [json.loads(line)["id"] for line in page_text(
        research_client.get("/export.jsonl?q=tram&stories=1&sort=oldest")).splitlines()]
    assert exported == shown and 10 not in exported
    empty = research_client.get("/export.csv?q=zeppelin")
    assert page_text(empty).splitlines()[0].startswith("id,title,")
    assert len(page_text(empty).splitlines()) == 1


def test_export_of_a_bad_query_is_a_page_not_a_broken_download(
        research_client: FlaskClient) -> None:
    for url in ("/export.csv?q=a*", "/export.jsonl?q=lavorv~3", "/search.atom?q=a*"):
        response = research_client.get(url)
        assert response.status_code == 400, url
        assert "Content-Disposition" not in response.headers
        assert 'role="alert"' in page_text(response)
    assert research_client.get("/export.csv?from=bad").status_code == 400


ATOM = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})")


def atom_feed(response: TestResponse) -> ET.Element:
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    root = ET.fromstring(response.get_data())
    assert root.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated", "author"):
        assert root.find(f"{ATOM}{name}") is not None, name
    assert RFC3339.fullmatch(root.findtext(f"{ATOM}updated") or "")
    assert root.find(f"{ATOM}link[@rel='self']") is not None
    ids = []
    for entry in root.findall(f"{ATOM}entry"):
        for name in ("id", "title", "updated", "summary"):
            assert entry.find(f"{ATOM}{name}") is not None, name
        assert RFC3339.fullmatch(entry.findtext(f"{ATOM}updated") or "")
        assert entry.find(f"{ATOM}link[@rel='alternate']") is not None
        ids.append(entry.findtext(f"{ATOM}id"))
    assert len(ids) == len(set(ids))
    return root


def test_atom_feed_lists_the_newest_matches(research_client: FlaskClient) -> None:
    root = atom_feed(research_client.get("/search.atom?q=dredging&sort=oldest"))
    entries = root.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == [
        f"Harbour dredging update {date}" for date in
        ("2023-02-14", "2022-11-30", "2022-06-01", "2022-03-20", "2022-03-15", "2022-01-10")]
    updated = [e.findtext(f"{ATOM}updated") for e in entries]
    assert updated == sorted(updated, reverse=True)
    assert root.findtext(f"{ATOM}updated") == updated[0]
    first = entries[0]
    assert first.find(f"{ATOM}link[@rel='alternate']").get("href").endswith(  # type: ignore[union-attr]
        "/articles/" + first.findtext(f"{ATOM}id").rsplit("/", 1)[1])  # type: ignore[union-attr]
    assert "dredging" in (first.findtext(f"{ATOM}summary") or "").lower()
    assert root.findtext(f"{ATOM}title") == "News archive: dredging"


# --- hostile articles --------------------------------------------------------------------------

class _Elements(HTMLParser):
    """Every element and attribute a browser would build from a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))

    handle_startendtag = handle_starttag


ACTIVE_TAGS = {"script", "img", "iframe", "object", "embed", "frame", "base", "form", "style",
               "video", "audio", "source", "math"}
OUR_FORMS = {"/", "/explain"}


def assert_inert(page: str, where: str) -> None:
    """Nothing in the page can run or load: no script-bearing elements, handlers or URLs."""
    parser = _Elements()
    parser.feed(page)
    for tag, attrs in parser.found:
        values = dict(attrs)
        if tag == "form" and values.get("action") in OUR_FORMS:
            continue
        assert tag not in ACTIVE_TAGS, (where, tag, attrs)
        if tag == "svg":
            assert values.get("class") == "chart-svg", (where, attrs)
        for name, value in attrs:
            assert not name.startswith("on"), (where, tag, name)
            if name in ("href", "src", "action", "xlink:href", "formaction"):
                scheme = (value or "").strip().lower()
                assert not scheme.startswith(("javascript:", "data:", "vbscript:")), (where, value)


def hostile_pages(client: FlaskClient) -> list[str]:
    ids = sorted({int(i) for i in re.findall(r'href="/articles/(\d+)"',
                                             page_text(client.get("/?q=tide")))})
    assert len(ids) == len(HOSTILE_RECORDS) + 2
    urls = ["/?q=tide", "/?q=tide&stories=1&share=1", "/", "/?q=tables&sort=newest",
            "/?q=tide&outlet=%3Cb+onmouseover%3Dalert(6)%3EEvil+Outlet%3C%2Fb%3E",
            "/explain?q=tide+%3Cscript%3E", "/?q=%3Cscript%3Ealert(1)%3C/script%3E"]
    for article_id in ids:
        urls += [f"/articles/{article_id}", f"/articles/{article_id}/extraction"]
    return urls


def test_hostile_articles_render_inert_in_every_page(hostile_client: FlaskClient) -> None:
    for url in hostile_pages(hostile_client):
        response = hostile_client.get(url)
        assert response.status_code in (200, 400), url
        assert_inert(page_text(response), url)
    results = page_text(hostile_client.get("/?q=tide"))
    assert str(escape(HOSTILE_TITLE)).replace("Tide", "<mark>Tide</mark>") in results
    assert "&lt;b onmouseover=alert(6)&gt;Evil Outlet&lt;/b&gt;" in results


def test_hostile_article_page_shows_markup_as_text(hostile_client: FlaskClient) -> None:
    body = page_text(hostile_client.get("/articles/1"))
    assert f"<h1>{escape(HOSTILE_TITLE)}</h1>" in body
    assert "&lt;svg onload=alert(2)&gt;" in body and "&amp;amp &amp;lt;b&amp;gt;" in body
    assert '<dd class="url">javascript:alert(5)</dd>' in body
    for article_id, url in ((2, " JaVaScRiPt:alert(8)"), (3, "data:text/html")):
        page = page_text(hostile_client.get(f"/articles/{article_id}"))
        assert 'rel="noopener' not in page.split("Original")[1].split("</dd>")[0], url


def test_hostile_text_dump_is_inert_in_the_extraction_view(hostile_client: FlaskClient) -> None:
    ids = re.findall(r'href="/articles/(\d+)">(?:<mark>)?Harbour', page_text(
        hostile_client.get("/?q=printed")))
    body = page_text(hostile_client.get(f"/articles/{ids[0]}/extraction"))
    assert "&lt;script&gt;alert(&#39;menu&#39;)&lt;/script&gt; Home" in body
    assert "&lt;a href=javascript:alert(&#39;share&#39;)&gt;Facebook&lt;/a&gt;" in body
    assert_inert(body, "extraction")


def test_hostile_atom_feed_is_well_formed_and_escaped(hostile_client: FlaskClient) -> None:
    response = hostile_client.get("/search.atom?q=tide")
    text = page_text(response)
    assert "<script" not in text and "<img" not in text  # only ever as escaped text
    root = atom_feed(response)
    titles = {e.findtext(f"{ATOM}title") for e in root.findall(f"{ATOM}entry")}
    assert HOSTILE_TITLE in titles and FORMULA_TITLES[0] in titles
    assert "Tide gauge reads \ufffd odd values" in titles  # \x0b cannot be in XML at all
    related = [link.get("href") for link in root.iter(f"{ATOM}link") if link.get("rel") ==
               "related"]
    assert related and all(href.startswith("https://") for href in related)  # type: ignore[union-attr]


def test_hostile_csv_cells_are_guarded(hostile_client: FlaskClient) -> None:
    rows = list(csv.DictReader(io.StringIO(page_text(hostile_client.get("/export.csv?q=tide")))))
    assert len(rows) == len(HOSTILE_RECORDS) + 2
    for row in rows:
        for name, cell in row.items():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (name, cell)
    titles = {row["title"] for row in rows}
    for title in FORMULA_TITLES:
        assert "'" + title in titles
    assert any(row["body"].startswith("'=1+2") for row in rows)


def test_hostile_json_api_is_data_only(hostile_client: FlaskClient) -> None:
    response = hostile_client.get("/api/search?q=tide&per_page=50")
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    raw = page_text(response)
    assert "<" not in raw and ">" not in raw  # escaped as \\u003c, so no sniffer sees markup
    titles = {hit["title"] for hit in json.loads(raw)["hits"]}
    assert HOSTILE_TITLE in titles
    article = hostile_client.get("/api/articles/1").get_json()
    assert article["title"] == HOSTILE_TITLE and article["url"] == "javascript:alert(5)"


def test_new_pages_have_no_inline_script_or_style_and_keep_the_policy(
        research_client: FlaskClient) -> None:
    for url in ("/help", "/explain?q=tram", "/explain?q=a*", "/articles/4/extraction",
                "/articles/9", "/?q=tram&stories=1&share=1", "/search.atom?q=tram",
                "/export.csv?q=tram", "/api/search?q=tram", "/api/articles/1", "/api/nope"):
        response = research_client.get(url)
        body = page_text(response)
        assert "<script" not in body and "<style" not in body and " style=" not in body, url
        assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"], url
        assert response.headers["X-Content-Type-Options"] == "nosniff", url
