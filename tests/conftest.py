"""Fixtures: a fresh archive (real SQLite, real Whoosh) in a temporary folder per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive.config import InstancePaths
from archive.ingest import IngestOptions, IngestSummary, ingest
from archive.instance import Archive

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# Seconds. Tests wait for events (a file appears, a line is printed, a process ends), never
# for a time; this only turns a hang into a failure, so it is generous for a busy machine.
PATIENCE = 300.0
# Commands run inside the test process: a writer's lowered CPU priority would stay with the
# whole test run, and a busy machine would then starve it. Its own test sets it back.
os.environ["ARCHIVE_LOW_PRIORITY"] = "0"


@pytest.fixture
def instance_dir(tmp_path: Path) -> Path:
    return tmp_path / "instance"


@pytest.fixture
def archive(instance_dir: Path) -> Iterator[Archive]:
    opened = Archive(InstancePaths(instance_dir))
    yield opened
    opened.close()


@pytest.fixture
def ingest_paths(archive: Archive):
    """Ingest files into the test archive the way `archive ingest` does."""

    def run(*paths: Path | str, **options: object) -> IngestSummary:
        with archive.writing():
            return ingest(archive, [str(p) for p in paths], IngestOptions(**options))

    return run


@pytest.fixture
def write_file(tmp_path: Path):
    """Write an input file under tmp_path/inputs and return its path."""

    def write(name: str, content: str | bytes) -> Path:
        path = tmp_path / "inputs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        return path

    return write
