"""Fixtures: a fresh archive (real SQLite, real Whoosh) in a temporary folder per test, and
a real PostgreSQL server for the tests that run on both databases."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive.config import InstancePaths
from archive.ingest import IngestOptions, IngestSummary, ingest
from archive.instance import Archive
from tests.pg_cluster import ClusterUnavailable, PostgresCluster

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# Seconds. Tests wait for events (a file appears, a line is printed, a process ends), never
# for a time; this only turns a hang into a failure, so it is generous for a busy machine.
PATIENCE = 300.0
# Commands run inside the test process: a writer's lowered CPU priority would stay with the
# whole test run, and a busy machine would then starve it. Its own test sets it back.
os.environ["ARCHIVE_LOW_PRIORITY"] = "0"
# Each test chooses its database; one chosen for the developer's own archive must not leak in.
os.environ.pop("ARCHIVE_DATABASE_URL", None)


@pytest.fixture
def instance_dir(tmp_path: Path) -> Path:
    return tmp_path / "instance"


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One throwaway PostgreSQL server for the whole run, started on first use. Missing
    server binaries fail the tests that need it (CI installs them), never skip them."""
    try:
        cluster = PostgresCluster()
    except ClusterUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        cluster.start()
    except ClusterUnavailable as exc:
        cluster.stop()
        pytest.fail(f"could not start a PostgreSQL test server: {exc}", pytrace=False)
    yield cluster
    from tests.databases import close_connections

    close_connections()
    cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    """A new, empty PostgreSQL database of its own for one test."""
    return postgres_cluster.url(postgres_cluster.create_database())


# The tests that matter run on both databases: the SQLite file in the instance folder
# (None: nothing chosen) and a PostgreSQL database.
DATABASES = ["sqlite", "postgresql"]


@pytest.fixture(params=DATABASES)
def database_choice(request: pytest.FixtureRequest) -> str | None:
    """What --database would say for this test's archive: None for the SQLite file."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def any_paths(instance_dir: Path, database_choice: str | None) -> InstancePaths:
    """A new archive's paths, on each database in turn."""
    return InstancePaths(instance_dir, database_choice)


@pytest.fixture
def any_archive(any_paths: InstancePaths) -> Iterator[Archive]:
    opened = Archive(any_paths)
    yield opened
    opened.close()


def archive_options(paths: InstancePaths) -> list[str]:
    """The command-line options that name these paths' archive (and database)."""
    chosen = ["--database", paths.database_choice] if paths.database_choice else []
    return ["--instance", str(paths.root), *chosen]


def database_env(paths: InstancePaths) -> dict[str, str]:
    """The environment that points a command (a subprocess) at these paths' database."""
    env = dict(os.environ)
    env.pop("ARCHIVE_DATABASE_URL", None)
    if paths.database_choice:
        env["ARCHIVE_DATABASE_URL"] = paths.database_choice
    return env


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
