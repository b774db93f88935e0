"""Read replicas for search: ingests write to a PostgreSQL primary, web workers search a hot
standby that streams its changes, with the PostgreSQL search engine (no index folder)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from archive.cli import main
from archive_web import close_app, create_app
from tests.conftest import EXAMPLES, PATIENCE
from tests.pg_cluster import ClusterUnavailable, PostgresCluster


@pytest.fixture(scope="module")
def primary_and_standby() -> Iterator[tuple[str, str]]:
    """A primary with an empty archive database, and a hot standby of it: their URLs."""
    primary, standby = PostgresCluster(), PostgresCluster()
    try:
        primary.start()
        standby.start_standby_of(primary)
    except ClusterUnavailable as exc:
        standby.stop()
        primary.stop()
        pytest.fail(f"could not start a primary and its standby: {exc}", pytrace=False)
    database = primary.create_database()  # made after the copy: it reaches the standby too
    yield primary.url(database), standby.url(database)
    from tests.databases import close_connections

    close_connections()
    standby.stop()
    primary.stop()


def _instance(root: Path, url: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "settings.toml").write_text(f'[search]\nengine = "postgresql"\n\n'
                                        f'[database]\nurl = "{url}"\n')
    return root


def _ingest(root: Path, *files: str) -> None:
    result = CliRunner().invoke(main, ["--instance", str(root), "ingest",
                                       *(str(EXAMPLES / f) for f in files)])
    assert result.exit_code == 0, result.output


def _articles(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM articles")).scalar_one())
    except Exception:  # the standby has not replayed the schema yet
        return -1
    finally:
        engine.dispose()


def _replayed(primary: str, standby: str) -> None:
    """Wait until the standby holds every article the primary does."""
    expected = _articles(primary)
    deadline = time.monotonic() + PATIENCE
    while _articles(standby) != expected:
        assert time.monotonic() < deadline, "the standby did not catch up"
        time.sleep(0.05)


def test_web_workers_search_a_standby_while_ingests_write_to_the_primary(
        primary_and_standby, tmp_path):
    primary, standby = primary_and_standby
    writer = _instance(tmp_path / "writer", primary)
    _ingest(writer, "harbour-times-port-strike.html", "northport-gazette-tram-vote.txt")
    _replayed(primary, standby)

    # A web worker on another machine: its own folder, holding nothing but its settings.
    reader = _instance(tmp_path / "reader", standby)
    app = create_app({"ARCHIVE_INSTANCE": reader, "TESTING": True})
    try:
        client = app.test_client()
        found = client.get("/api/search?q=strike").get_json()
        assert found["total"] == 1
        assert client.get(f"/articles/{found['hits'][0]['id']}").status_code == 200
        assert client.get("/?q=tram").status_code == 200

        _ingest(writer, "lakeside-chronicle-drought.txt", "wire-feed.jsonl")
        _replayed(primary, standby)
        # What the primary stored since is found on the standby (no stale cached answer).
        assert client.get("/api/search?q=strike").get_json()["total"] == 2
        everything = client.get("/api/search?q=").get_json()["total"]
        assert everything == _articles(primary)
    finally:
        close_app(app)
    assert not (reader / "index").exists()
