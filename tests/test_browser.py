"""The web UI in a real headless Chromium, served by the real `archive serve` command."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import PATIENCE
from tests.web_fixtures import (
    ARTICLE_COUNT,
    RAW_HTML,
    Server,
    build_archive,
    build_research_archive,
    running_server,
)

pytest_plugins = ["tests.web_fixtures"]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
SCREENSHOT_MAX_BYTES = 300_000

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")

if CHROMIUM.exists():
    from playwright.sync_api import Browser, Page, expect, sync_playwright

    # Expectations poll until they hold; on a busy machine a cold server's first search can
    # take far longer than playwright's default of 5 s, so only a hang may fail them.
    expect.set_options(timeout=PATIENCE * 1000)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("browser")
    with running_server(build_archive(root).root, root / "server.log") as running:
        yield running


@pytest.fixture(scope="module")
def research(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The examples plus stories, languages and months (tests/web_fixtures.py)."""
    root = tmp_path_factory.mktemp("research")
    with running_server(build_research_archive(root).root, root / "server.log") as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Watched:
    """A page plus everything it did that a safe page never does."""

    page: Page
    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def assert_quiet(self) -> None:
        assert self.dialogs == [], "a script ran"
        assert self.console_errors == []


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(PATIENCE * 1000)
    seen = Watched(page)

    def on_dialog(dialog) -> None:  # noqa: ANN001 - playwright's Dialog
        seen.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda message: message.type == "error"
            and seen.console_errors.append(message.text))
    yield seen
    context.close()


def heading(page: Page):  # noqa: ANN201 - a playwright Locator
    return page.locator("#results-heading")


def outlet_facet(page: Page, label: str):  # noqa: ANN201 - a playwright Locator
    return page.locator("#facet-outlet a", has_text=label)


def test_search_filter_by_outlet_and_read_an_article(server: Server, watched: Watched) -> None:
    page = watched.page
    page.goto(server.url)
    expect(heading(page)).to_have_text(f"{ARTICLE_COUNT} articles in the archive")

    page.get_by_label("Search words").fill("ferry")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(heading(page)).to_have_text("8 articles")
    expect(page.locator(".hit")).to_have_count(8)
    expect(page.locator(".hit-title mark").first).to_have_text(re.compile("ferry", re.I))

    outlet_facet(page, "Harbor Courier").click()
    expect(heading(page)).to_have_text("3 articles")
    active = outlet_facet(page, "Harbor Courier")
    expect(active).to_have_class("active")
    expect(active).to_have_attribute("aria-current", "true")
    assert "outlet=Harbor+Courier" in page.url
    expect(page.locator(".hit .outlet")).to_have_text(["Harbor Courier"] * 3)

    outlet_facet(page, "Harbor Courier").click()
    expect(heading(page)).to_have_text("8 articles")
    expect(outlet_facet(page, "Harbor Courier")).not_to_have_class("active")
    assert "outlet=" not in page.url

    first = page.locator(".hit-title a").first
    title = first.inner_text()
    first.click()
    expect(page.locator("h1")).to_have_text(title)
    expect(page.locator(".article-body p")).to_have_count(1)
    expect(page.locator(".article-meta")).to_contain_text("Outlet")

    page.get_by_role("link", name="Raw input as ingested").click()
    assert page.url.endswith("/raw")
    assert page.locator("body").inner_text().startswith('{"title": "Council debates')
    watched.assert_quiet()


def test_raw_html_is_shown_as_text_and_never_runs(server: Server, watched: Watched) -> None:
    page = watched.page
    page.goto(server.url + "?q=quay")
    page.locator(".hit-title a", has_text="Café owners").click()
    with page.expect_navigation() as navigation:
        page.get_by_role("link", name="Raw input as ingested").click()
    response = navigation.value
    assert response is not None
    assert response.headers["content-type"] == "text/plain; charset=cp1252"
    assert response.headers["content-security-policy"].startswith("sandbox")
    # The browser hands back decoded text; a plain HTTP request sees the stored bytes.
    assert page.context.request.get(page.url).body() == RAW_HTML
    text = page.locator("body").inner_text()
    assert "<script>alert('raw')</script>" in text
    assert "Café owners" in text  # decoded with the stored encoding
    assert watched.dialogs == []


def test_hostile_article_renders_inert(server: Server, watched: Watched) -> None:
    page = watched.page
    page.goto(server.url + "?q=fireworks")
    link = page.locator(".hit-title a").first
    expect(link).to_contain_text('<script>alert("title")</script> Harbour fireworks')
    link.click()
    expect(page.locator("h1")).to_contain_text("<img src=x onerror=alert(1)>")
    expect(page.locator(".article-body")).to_contain_text("onerror=alert(2)")
    assert page.locator("img").count() == 0
    assert page.locator(".article-meta a[href^='javascript']").count() == 0
    watched.assert_quiet()


def test_dates_and_sort_from_the_form(server: Server, watched: Watched) -> None:
    page = watched.page
    page.goto(server.url + "?q=ferry")
    page.get_by_label("From", exact=True).fill("2022-01-01")
    page.get_by_label("To", exact=True).fill("2023-12-31")
    page.get_by_label("Sort").select_option("oldest")
    page.get_by_role("button", name="Apply").click()
    expect(heading(page)).to_have_text("6 articles")
    assert "from=2022-01-01" in page.url and "to=2023-12-31" in page.url
    assert "sort=oldest" in page.url
    dates = page.locator(".hit time").all_inner_texts()
    assert dates == sorted(dates)

    page.locator("#facet-year a", has_text="2023").click()
    expect(heading(page)).to_have_text("3 articles")
    expect(page.get_by_label("From", exact=True)).to_have_value("2023-01-01")
    page.locator("#facet-year a", has_text="2023").click()
    expect(heading(page)).to_have_text("8 articles")
    expect(page.get_by_label("From", exact=True)).to_have_value("")
    watched.assert_quiet()


def test_pages_and_errors_in_the_browser(server: Server, watched: Watched) -> None:
    page = watched.page
    page.goto(server.url)
    page.get_by_role("link", name="Next ›").click()
    expect(page.locator(".pagination [aria-current=page]")).to_have_text("2")
    response = page.goto(server.url + "?q=%28%28")
    assert response is not None and response.status == 400
    expect(page.get_by_role("alert")).to_contain_text("cannot be searched")
    response = page.goto(server.url + "?page=abc")
    assert response is not None and response.status == 400
    expect(page.get_by_role("alert")).to_contain_text("page")
    response = page.goto(server.url + "articles/9999")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("Not Found")
    assert watched.dialogs == []
    # Chromium logs each error status; anything else (a CSP violation) would be a fault.
    assert all(text.startswith("Failed to load resource") for text in watched.console_errors)


def test_keyboard_only_search(server: Server, watched: Watched) -> None:
    page = watched.page
    page.goto(server.url)
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Search words")).to_be_focused()
    page.keyboard.type("glacier")
    page.keyboard.press("Enter")
    expect(heading(page)).to_have_text("1 article")
    # Focus stays visible: a link reached by Tab gets an outline.
    page.get_by_label("Search words").focus()
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('.hit-title a')"):
            break
    else:
        raise AssertionError("the first result cannot be reached with Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Glacier retreat worries valley farmers")


@pytest.mark.parametrize("path", ["?q=ferry", "articles/23", "articles/21"])
def test_fits_a_phone_screen(server: Server, browser: Browser, path: str) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(server.url + path)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0
    finally:
        context.close()


def test_language_and_outlet_facets_filter_together(research: Server, watched: Watched
                                                   ) -> None:
    page = watched.page
    page.goto(research.url + "?q=tram")
    expect(heading(page)).to_have_text("7 articles")
    page.locator("#facet-language a", has_text="English").click()
    expect(heading(page)).to_have_text("6 articles")
    assert "language=en" in page.url
    outlet_facet(page, "Daily Lantern").click()
    expect(heading(page)).to_have_text("1 article")
    expect(page.locator(".active-filters .chip")).to_have_count(2)
    watched.assert_quiet()


def test_chart_bar_click_narrows_the_dates(research: Server, watched: Watched) -> None:
    page = watched.page
    page.goto(research.url + "?q=dredging")
    expect(heading(page)).to_have_text("6 articles")
    bars = page.locator(".chart-svg a")
    expect(bars).to_have_count(5)
    label = bars.nth(1).get_attribute("aria-label") or ""
    assert label.startswith("week of 2022-03-14: 2 articles")
    bars.nth(1).click()
    expect(heading(page)).to_have_text("2 articles")
    expect(page.get_by_label("From", exact=True)).to_have_value("2022-03-14")
    expect(page.get_by_label("To", exact=True)).to_have_value("2022-03-20")
    # The narrower range is charted by day; the toggle shows shares instead of counts.
    expect(page.locator(".chart-svg a")).to_have_count(2)
    page.get_by_role("link", name="share of archive").click()
    expect(page.locator("#chart-toggle [aria-current=true]")).to_have_text("share of archive")
    assert "share=1" in page.url and "from=2022-03-14" in page.url
    watched.assert_quiet()


def test_chart_bars_work_from_the_keyboard(research: Server, watched: Watched) -> None:
    page = watched.page
    page.goto(research.url + "?q=dredging")
    page.get_by_role("link", name="share of archive").focus()
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert focused and focused.startswith("week of 2022-01-10: 1 article")
    page.keyboard.press("Enter")
    expect(heading(page)).to_have_text("1 article")
    assert "from=2022-01-10" in page.url


def test_story_toggle_folds_copies_and_links_them(research: Server, watched: Watched) -> None:
    page = watched.page
    page.goto(research.url + "?q=drivers")
    expect(heading(page)).to_have_text("3 articles")
    page.get_by_role("link", name="one per story").click()
    expect(heading(page)).to_have_text("1 story")
    assert "stories=1" in page.url
    copies = page.locator(".hit .copies")
    expect(copies).to_contain_text("Also in 2 other outlets")
    expect(page.locator("#facet-outlet a")).to_have_count(1)
    copies.get_by_role("link", name="Northern Wire, 2022-03-03").click()
    expect(page.locator("h1")).to_have_text("Northport tram drivers announce two-day walkout")
    expect(page.locator("#copies li")).to_have_count(2)
    watched.assert_quiet()


def test_export_downloads_every_match_as_csv(research: Server, watched: Watched,
                                             tmp_path: Path) -> None:
    page = watched.page
    page.goto(research.url + "?q=tram&sort=oldest")
    expect(heading(page)).to_have_text("7 articles")
    with page.expect_download() as download_info:
        page.locator("#downloads").get_by_role("link", name="CSV").click()
    download = download_info.value
    assert re.fullmatch(r"archive-tram-\d{8}\.csv", download.suggested_filename)
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    with saved.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 7
    assert [row["date"] for row in rows] == sorted(row["date"] for row in rows)
    watched.assert_quiet()


def test_explain_page_from_the_results(research: Server, watched: Watched) -> None:
    page = watched.page
    page.goto(research.url + "?q=" + 'tram "night shifts" sanct* -ferry'.replace(" ", "+"))
    page.get_by_role("link", name="How was this query understood?").click()
    expect(page.locator("h1")).to_have_text("How the query was understood")
    rows = page.locator("table.clauses tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(3)).to_contain_text("excluded (NOT)")
    expect(rows.nth(2)).to_contain_text("prefix")
    page.get_by_role("link", name="‹ Back to the results").click()
    expect(page.get_by_label("Search words")).to_have_value('tram "night shifts" sanct* -ferry')
    watched.assert_quiet()


def test_help_page_from_the_search_box(research: Server, watched: Watched) -> None:
    page = watched.page
    page.goto(research.url)
    page.locator(".query-row").get_by_role("link", name="Query help").click()
    expect(page.locator("h1")).to_have_text("Writing queries")
    page.get_by_role("link", name="date:[2022-03-01 TO 2022-03-31]").click()
    expect(heading(page)).to_have_text("7 articles")
    page.goto(research.url + "?q=sanction+a*")
    expect(page.get_by_role("alert")).to_contain_text("at least 2 letters")
    expect(page.locator("mark.problem")).to_have_text("a*")
    assert all(text.startswith("Failed to load resource") for text in watched.console_errors)


def test_extraction_view_in_the_browser(research: Server, watched: Watched) -> None:
    page = watched.page
    page.goto(research.url + "articles/4")
    page.get_by_role("link", name="How this was extracted").click()
    expect(page.locator("h1")).to_have_text("How this article was extracted")
    page.locator("table.fields").get_by_role("link", name="line 14").click()
    assert page.url.endswith("#raw-line-14")
    expect(page.locator("#raw-line-14")).to_contain_text("Council backs £48m tram")
    expect(page.locator(".raw-lines li.removed").first).to_be_visible()
    watched.assert_quiet()


def _screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """A screenshot for docs/, small enough to commit."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=full_page)
    size = path.stat().st_size
    assert 10_000 < size < SCREENSHOT_MAX_BYTES, size
    return path


def test_results_screenshot(research: Server, watched: Watched) -> None:
    page = watched.page
    page.goto(research.url + "?q=tram+OR+dredging&language=en&from=2022-01-01&to=2022-12-31"
              "&stories=1")
    expect(heading(page)).to_have_text("6 stories")
    _screenshot(page, "results.png")
    watched.assert_quiet()


@pytest.mark.parametrize("path", ["?q=tram&stories=1", "?q=dredging&from=2022-01-01"
                                  "&to=2022-12-31", "help", "explain?q=tram+sanct*",
                                  "articles/4/extraction", "articles/9", "?q=a*"])
def test_research_pages_fit_a_phone_screen(research: Server, browser: Browser,
                                           path: str) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(research.url + path)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, path
        if path == "?q=tram&stories=1":
            _screenshot(page, "results-phone.png", full_page=False)
    finally:
        context.close()
