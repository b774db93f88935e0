"""`archive shards`: archives on two other PostgreSQL servers, attached to a third and
searched through it (postgres_fdw), on real servers started for the test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from archive import shards
from archive.cli import main
from tests.conftest import EXAMPLES
from tests.pg_cluster import ClusterUnavailable, PostgresCluster, free_port

SHARD_INPUTS = {"north": ["harbour-times-port-strike.html", "northport-gazette-tram-vote.txt"],
                "south": ["lakeside-chronicle-drought.txt", "eastfield-post-library.html"]}
LOCAL_INPUT = "wire-feed.jsonl"


def _run(root: Path, database: str, *arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--instance", str(root), "--database", database,
                                       *arguments])
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def shard_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Two more PostgreSQL servers, each holding an archive of some of the examples."""
    clusters: list[PostgresCluster] = []
    urls: dict[str, str] = {}
    try:
        for name, inputs in SHARD_INPUTS.items():
            cluster = PostgresCluster()
            clusters.append(cluster)
            cluster.start()
            url = cluster.url(cluster.create_database(), password="s3cret")
            root = tmp_path_factory.mktemp(f"shard-{name}")
            code, output = _run(root, url, "ingest", *(str(EXAMPLES / f) for f in inputs))
            assert code == 0, output
            urls[name] = url
    except ClusterUnavailable as exc:
        for cluster in clusters:
            cluster.stop()
        pytest.fail(f"could not start the shard servers: {exc}", pytrace=False)
    yield urls
    from tests.databases import close_connections

    close_connections()
    for cluster in clusters:
        cluster.stop()


@pytest.fixture
def coordinator(tmp_path: Path, postgres_url: str) -> tuple[Path, str]:
    root = tmp_path / "coordinator"
    code, output = _run(root, postgres_url, "ingest", str(EXAMPLES / LOCAL_INPUT))
    assert code == 0, output
    return root, postgres_url


def _matches(url: str, words: str) -> int:
    """What the archive at `url` alone finds, asked directly."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(
                "SELECT count(*) FROM articles WHERE search_vector @@ "
                "websearch_to_tsquery('archive_english', :q)"), {"q": words}).scalar_one())
    finally:
        engine.dispose()


def test_articles_on_two_servers_are_searched_through_a_third(coordinator, shard_servers):
    root, url = coordinator
    for name, shard_url in shard_servers.items():
        code, output = _run(root, url, "shards", "attach", name, shard_url)
        assert code == 0, output
        assert "s3cret" not in output
    code, output = _run(root, url, "shards", "list")
    assert code == 0, output
    assert "s3cret" not in output
    rows = {line.split()[0]: line.split()[1] for line in output.splitlines()[1:]}
    assert rows == {"local": str(_count(url)), "north": "2", "south": "2"}

    for words in ("strike", "drought OR tram", '"port strike"', "council -tram",
                  '"the council"'):
        expected = {"local": _matches(url, words),
                    **{name: _matches(u, words) for name, u in shard_servers.items()}}
        found = _search(url, words)
        assert found.per_shard == {k: v for k, v in expected.items() if v}, words
        assert found.total == sum(expected.values())
        assert len(found.hits) == found.total
        assert {hit.shard for hit in found.hits} == set(found.per_shard)
    assert all(_matches(u, "drought OR tram") for u in shard_servers.values())

    code, output = _run(root, url, "sql", "--format", "json",
                        "SELECT shard, count(*) AS n FROM shards.articles GROUP BY shard "
                        "ORDER BY shard")
    assert code == 0, output
    assert [(r["shard"], r["n"]) for r in json.loads(output)] == [
        ("local", _count(url)), ("north", 2), ("south", 2)]
    code, output = _run(root, url, "shards", "search", "strike")
    assert code == 0, output
    total = _search(url, "strike").total
    assert output.splitlines()[0].startswith(f"{total} articles (")
    assert "north 1" in output.splitlines()[0]
    assert "north:" in output and "Harbour Times" in output


def test_the_match_runs_on_the_shards_side_by_side(coordinator, shard_servers):
    root, url = coordinator
    for name, shard_url in shard_servers.items():
        assert _run(root, url, "shards", "attach", name, shard_url)[0] == 0
    engine = create_engine(url)
    with engine.connect() as connection:
        plan = "\n".join(connection.execute(text(
            "EXPLAIN VERBOSE SELECT shard, id FROM shards.articles "
            "WHERE search_vector @@ CAST('strike' AS tsquery)")).scalars())
    # Each shard gets the match in its own query, and the two foreign scans run at once.
    remote = [line for line in plan.splitlines() if "Remote SQL" in line and "articles" in line]
    assert len(remote) == 2 and all("@@" in line for line in remote), plan
    assert plan.count("Async Foreign Scan on shard_north.articles") == 1, plan
    assert plan.count("Async Foreign Scan on shard_south.articles") == 1, plan
    engine.dispose()


def test_detaching_a_shard_keeps_its_articles_and_the_others_searchable(coordinator,
                                                                        shard_servers):
    root, url = coordinator
    for name, shard_url in shard_servers.items():
        assert _run(root, url, "shards", "attach", name, shard_url)[0] == 0
    code, output = _run(root, url, "shards", "detach", "north")
    assert code == 0, output
    found = _search(url, "strike OR drought")
    assert set(found.per_shard) <= {"local", "south"} and found.per_shard.get("south") == 1
    assert _matches(shard_servers["north"], "strike") == 1  # the shard itself is untouched
    assert _run(root, url, "shards", "attach", "north", shard_servers["north"])[0] == 0


def test_bad_shards_are_refused_with_a_reason(coordinator, shard_servers, tmp_path):
    root, url = coordinator
    code, output = _run(root, url, "shards", "attach", "Bad-Name", shard_servers["north"])
    assert code != 0 and "shard name" in output
    code, output = _run(root, url, "shards", "attach", "self", url)
    assert code != 0 and "own database" in output
    nobody = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    code, output = _run(root, url, "shards", "attach", "gone", nobody)
    assert code != 0 and "did not answer" in output
    code, output = _run(root, url, "shards", "list")
    assert code == 0 and "gone" not in output  # a shard that failed is not left attached
    assert _run(root, url, "shards", "attach", "north", shard_servers["north"])[0] == 0
    code, output = _run(root, url, "shards", "attach", "north", shard_servers["north"])
    assert code != 0 and "already attached" in output
    code, output = _run(root, url, "shards", "detach", "west")
    assert code != 0 and "no shard west" in output
    code, output = _run(root, url, "shards", "search", "!?")
    assert code != 0 and "no searchable word" in output
    assert _run(root, url, "shards", "detach", "north")[0] == 0
    code, output = _run(root, url, "shards", "search", "strike")
    assert code != 0 and "no shard is attached" in output
    sqlite_root = tmp_path / "embedded"
    assert CliRunner().invoke(main, ["--instance", str(sqlite_root), "ingest",
                                     str(EXAMPLES / LOCAL_INPUT)]).exit_code == 0
    result = CliRunner().invoke(main, ["--instance", str(sqlite_root), "shards", "attach",
                                       "north", shard_servers["north"]])
    assert result.exit_code != 0 and "SQLite" in result.output
    assert "Traceback" not in result.output


def _search(url: str, words: str) -> shards.ShardSearch:
    engine = create_engine(url)
    try:
        return shards.search(engine, words, limit=50)
    finally:
        engine.dispose()


def _count(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM articles")).scalar_one())
    finally:
        engine.dispose()
