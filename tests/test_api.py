"""The JSON API: the CLI's shapes, paging, one error shape, and the OpenAPI document checked
against live responses by schemathesis (in-process, over WSGI)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import schemathesis
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from archive.cli import main as archive_cli
from archive.export import export_records
from archive.index import SearchRequest
from archive.instance import Archive
from archive.models import Article
from archive_web import close_app, create_app
from tests.web_fixtures import BIG_COUNT, build_research_archive

pytest_plugins = ["tests.web_fixtures"]

ERROR_KEYS = {"status", "code", "message", "parameter"}


def archive_of(client: FlaskClient) -> Archive:
    return client.application.extensions["archive"].get()


def assert_error(response: Any, status: int, code: str, parameter: str | None = None) -> dict:
    """The one error shape every API failure has."""
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) <= ERROR_KEYS and {"status", "code", "message"} <= set(error)
    assert error["status"] == status and error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert error.get("parameter") == parameter
    return error


# --- search ------------------------------------------------------------------------------------

def test_search_has_the_cli_json_shape(research_client: FlaskClient, tmp_path: Path) -> None:
    response = research_client.get("/api/search?q=tram&stories=1&per_page=3&page=2"
                                   "&language=en")
    assert response.status_code == 200
    body = response.get_json()
    root = archive_of(research_client).paths.root
    cli = CliRunner().invoke(archive_cli, ["--instance", str(root), "search", "tram",
                                           "--stories", "--limit", "3", "--page", "2",
                                           "--language", "en", "--json"])
    assert cli.exit_code == 0, cli.output
    printed = json.loads(cli.output)
    extra = {"page", "per_page", "pages", "links"}
    assert {k: v for k, v in body.items() if k not in extra} == printed
    assert (body["page"], body["per_page"]) == (2, 3)
    assert body["pages"] == -(-body["total"] // 3)


def test_search_links_page_through_the_results(research_client: FlaskClient) -> None:
    body = research_client.get("/api/search?q=dredging&per_page=2&histogram=1").get_json()
    links = body["links"]
    assert links["prev"] is None
    assert links["next"].endswith("/api/search?q=dredging&page=2&per_page=2&histogram=1")
    assert links["last"].endswith("page=3&per_page=2&histogram=1")
    assert links["html"].endswith("/?q=dredging")
    assert body["histogram"]["granularity"] == "week"
    seen = []
    url: str | None = links["self"]
    while url:
        parts = urlsplit(url)
        page = research_client.get(f"{parts.path}?{parts.query}")
        data = page.get_json()
        seen += [hit["id"] for hit in data["hits"]]
        url = data["links"]["next"]
    assert len(seen) == len(set(seen)) == body["total"] == 6


def test_paging_the_api_deep_matches_the_export_order(big_client: FlaskClient) -> None:
    expected = [r["id"] for r in export_records(archive_of(big_client),
                                                SearchRequest(text="report"))]
    seen: list[int] = []
    for page in range(1, -(-BIG_COUNT // 100) + 1):
        data = big_client.get(f"/api/search?q=report&per_page=100&page={page}").get_json()
        seen += [hit["id"] for hit in data["hits"]]
    assert seen == expected and len(seen) == BIG_COUNT
    past = big_client.get("/api/search?q=report&per_page=100&page=99").get_json()
    assert past["hits"] == [] and past["links"]["next"] is None


def test_search_without_histogram_has_none(research_client: FlaskClient) -> None:
    body = research_client.get("/api/search").get_json()
    assert body["histogram"] is None and body["sort"] == "newest" and body["query"] == ""


# --- articles ----------------------------------------------------------------------------------

def test_article_has_metadata_text_story_and_provenance(research_client: FlaskClient) -> None:
    response = research_client.get("/api/articles/9")
    assert response.status_code == 200
    body = response.get_json()
    with archive_of(research_client).sessions() as session:
        article = session.get(Article, 9)
        assert body["body"] == article.body
        assert body["provenance"] == article.provenance
    assert body["title"] == "Tram drivers to strike for two days"
    assert (body["outlet"], body["date"], body["date_precision"]) == (
        "Harbor Courier", "2022-03-02", "day")
    assert [c["id"] for c in body["story"]["copies"]] == [10, 11]
    assert body["story"]["copies"][0]["outlet"] == "Northern Wire"
    assert body["links"]["html"].endswith("/articles/9")
    assert body["source"]["format"] == "record"


# --- one error shape ---------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "parameter"), [
    ("/api/search?from=notadate", "from"), ("/api/search?to=2022-02-30", "to"),
    ("/api/search?from=2023-01-01&to=2022-01-01", "to"), ("/api/search?sort=best", "sort"),
    ("/api/search?page=0", "page"), ("/api/search?per_page=101", "per_page"),
    ("/api/search?per_page=100&page=100001", "page"), ("/api/search?stories=maybe", "stories"),
    ("/api/search?histogram=2", "histogram"), ("/api/search?q=" + "a" * 1001, "q"),
])
def test_bad_parameters_are_400_naming_the_parameter(research_client: FlaskClient, url: str,
                                                     parameter: str) -> None:
    error = assert_error(research_client.get(url), 400, "bad_parameter", parameter)
    assert error["message"].startswith(f"{parameter}: ")


@pytest.mark.parametrize("query", ["a*", "lavorv~3", "date:2022-13", "((", "-ferry"])
def test_bad_queries_are_400_with_the_reason(research_client: FlaskClient, query: str) -> None:
    response = research_client.get("/api/search", query_string={"q": query})
    assert_error(response, 400, "bad_query", "q")


def test_not_found_and_wrong_method_have_the_same_shape(research_client: FlaskClient) -> None:
    for url in ("/api/articles/999", "/api/articles/0", "/api/articles/-1",
                "/api/articles/99999999999999999999999", "/api/nothing", "/api",
                "/api/articles/٣", "/api/articles/１٣"):
        assert_error(research_client.get(url), 404, "not_found")
    response = research_client.post("/api/search")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]
    assert_error(research_client.delete("/api/articles/1"), 405, "method_not_allowed")


def test_unknown_host_is_400_in_the_same_shape(research_client: FlaskClient) -> None:
    for url in ("/api/search?q=strike", "/api/articles/1", "/api/openapi.json", "/api/nothing"):
        response = research_client.get(url, base_url="http://evil.example:5000")
        error = assert_error(response, 400, "host_not_allowed")
        assert "--allowed-host evil.example" in error["message"]
        assert "http://evil.example" not in response.get_data(as_text=True)


def test_unexpected_failures_are_500_in_the_same_shape(
        research_client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("archive_web.api.search", broken)
    error = assert_error(research_client.get("/api/search?q=tram"), 500, "internal_error")
    assert "disk on fire" not in error["message"]  # internals stay in the log
    # The HTML pages keep their own error page.
    monkeypatch.setattr("archive_web.search.search", broken)
    page = research_client.get("/?q=tram")
    assert page.status_code == 500 and page.headers["Content-Type"].startswith("text/html")


def test_no_archive_is_503_in_the_same_shape(tmp_path: Path) -> None:
    app = create_app({"ARCHIVE_INSTANCE": tmp_path / "nothing", "TESTING": True})
    try:
        client = app.test_client()
        assert_error(client.get("/api/search"), 503, "no_archive")
        assert_error(client.get("/api/articles/1"), 503, "no_archive")
        assert client.get("/api/openapi.json").status_code == 200
    finally:
        close_app(app)


def test_error_shape_is_documented(research_client: FlaskClient) -> None:
    schema = research_client.get("/api/openapi.json").get_json()
    error = schema["components"]["schemas"]["Error"]["properties"]["error"]
    assert set(error["properties"]) == ERROR_KEYS
    assert set(error["required"]) == {"status", "code", "message"}


# --- the OpenAPI document, checked against the running app ------------------------------------

def test_openapi_document_describes_both_endpoints(research_client: FlaskClient) -> None:
    response = research_client.get("/api/openapi.json")
    document = response.get_json()
    assert document["openapi"].startswith("3.0")
    assert set(document["paths"]) == {"/search", "/articles/{id}"}
    assert document["servers"][0]["url"].endswith("/api")
    names = {p["name"] for p in document["paths"]["/search"]["get"]["parameters"]}
    assert names == {"q", "outlet", "language", "from", "to", "sort", "page", "per_page",
                     "stories", "histogram"}
    assert {"SearchPage", "Hit", "Article", "Error", "Histogram"} <= set(
        document["components"]["schemas"])


class _Switch:
    """A WSGI app that forwards to whichever app a fixture plugs in.

    schemathesis reads the document when the module is collected, before any fixture runs
    (its fixture-based loader does not work with this pytest), so the app it calls is this
    stand-in: first an app without an archive (the document needs none), then the real one.
    """

    def __init__(self) -> None:
        self.app: Flask = create_app({"ARCHIVE_INSTANCE": Path("/nonexistent/archive"),
                                      "TESTING": True})

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.app(environ, start_response)


_SWITCH = _Switch()
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", _SWITCH)


@pytest.fixture(scope="module")
def research_app_for_schemathesis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    app = create_app({"ARCHIVE_INSTANCE": build_research_archive(
        tmp_path_factory.mktemp("schemathesis")), "TESTING": True})
    before, _SWITCH.app = _SWITCH.app, app
    yield app
    _SWITCH.app = before
    close_app(app)


# Enough cases to try every parameter in odd combinations; about 15 s in all.
@schema.parametrize()
@settings(max_examples=200, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_document(case: Any, research_app_for_schemathesis: Flask
                                               ) -> None:
    # Every check (no 5xx, documented statuses, content types, response schemas, invalid
    # input refused) but one: a string can be a well-formed `q` and still not be a query
    # the engine can run ("-j" excludes everything and looks for nothing). That is answered
    # with the documented 400, which this check would count as valid data refused.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
