"""Fixtures for the web UI tests: a small fictional archive built through the real pipeline.

Kept apart from conftest.py (owned by the core's tests); test modules load it with
`pytest_plugins` and also import its data. Being imported before pytest registers it as a
plugin, it opts out of assertion rewriting (PYTEST_DONT_REWRITE) instead of warning.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from archive.config import InstancePaths, resolve_instance
from archive.ingest import ingest
from archive.instance import Archive
from web import close_app, create_app


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
