"""The web UI in a real headless Chromium, served by the real `archive serve` command."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.web_fixtures import ARTICLE_COUNT, RAW_HTML, build_archive

pytest_plugins = ["tests.web_fixtures"]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOT = Path("/tmp/archive-results.png")
STARTUP_SECONDS = 30

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")

if CHROMIUM.exists():
    from playwright.sync_api import Browser, Page, expect, sync_playwright


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`archive --instance X serve --port 0` in a subprocess, as a user would start it."""
    root = tmp_path_factory.mktemp("browser")
    paths = build_archive(root)
    log = root / "server.log"
    command = [str(Path(sys.executable).with_name("archive")), "--instance", str(paths.root),
               "serve", "--port", "0"]
    with log.open("w") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr)
    try:
        url = _wait_for_url(process, log)
        yield Server(url, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        assert process.stdout is not None
        process.stdout.close()


def _wait_for_url(process: subprocess.Popen[bytes], log: Path) -> str:
    """The address the server prints; raw reads, as select() knows nothing of file buffers."""
    assert process.stdout is not None
    descriptor = process.stdout.fileno()
    deadline = time.monotonic() + STARTUP_SECONDS
    output = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([descriptor], [], [], 0.2)
        if ready:
            chunk = os.read(descriptor, 4096)
            output += chunk
            if match := re.search(rb"Open (http://\S+/)", output):
                return match.group(1).decode()
            if not chunk:
                break
        if process.poll() is not None:
            break
    raise AssertionError(f"server did not start: {output.decode(errors='replace')}\n"
                         f"{log.read_text()}")


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
    page.set_default_timeout(10_000)
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
    page.get_by_label("From").fill("2022-01-01")
    page.get_by_label("To").fill("2023-12-31")
    page.get_by_label("Sort").select_option("oldest")
    page.get_by_role("button", name="Apply").click()
    expect(heading(page)).to_have_text("6 articles")
    assert "from=2022-01-01" in page.url and "to=2023-12-31" in page.url
    assert "sort=oldest" in page.url
    dates = page.locator(".hit time").all_inner_texts()
    assert dates == sorted(dates)

    page.locator("#facet-year a", has_text="2023").click()
    expect(heading(page)).to_have_text("3 articles")
    expect(page.get_by_label("From")).to_have_value("2023-01-01")
    page.locator("#facet-year a", has_text="2023").click()
    expect(heading(page)).to_have_text("8 articles")
    expect(page.get_by_label("From")).to_have_value("")
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


def test_results_screenshot(server: Server, watched: Watched) -> None:
    page = watched.page
    page.goto(server.url + "?q=ferry&outlet=Harbor+Courier&outlet=Daily+Lantern")
    expect(heading(page)).to_have_text("5 articles")
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000
    watched.assert_quiet()
