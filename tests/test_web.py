"""The web UI through Flask's test client, over a real archive (SQLite + Whoosh)."""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from markupsafe import escape
from werkzeug.test import TestResponse

from archive.cli import main as archive_cli
from archive.config import InstancePaths, resolve_instance
from archive.ingest import ingest
from archive.instance import Archive
from tests.web_fixtures import ARTICLE_COUNT, HOSTILE, RAW_HTML
from web import close_app, create_app

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
    r'<a href="([^"]*)"( class="active"[^>]*)?>\s*<span class="facet-label">'
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
                             bool(active))
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
                                 "/articles/-1", "/articles/abc", "/no/such/page"])
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
    assert "--host" in result.output and "--port" in result.output
    assert "serve" in CliRunner().invoke(archive_cli, ["--help"]).output
