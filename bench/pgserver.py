"""The PostgreSQL side of bench/run.py: a throwaway server, emptying the bench's database
between ingests, the server settings in effect and the sizes of what was stored.

A throwaway server is the tests' cluster helper (tests/pg_cluster.py: Debian's binaries,
initdb into a temporary folder, a free port; as root the server runs as `postgres`) started
with the settings below instead of the tests' fast and small ones: durable (fsync,
synchronous commit and full-page writes on, as PostgreSQL ships them, since SQLite's WAL
mode with synchronous=NORMAL is durable too) and with memory for a machine of 24 GB that
also runs the bench's clients and web workers.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from archive.dburl import parse  # noqa: E402 - after the repository root is on the path
from tests.pg_cluster import PostgresCluster  # noqa: E402 - the same

# Server settings of --start-postgres (name, value); each can be changed with --pg-setting.
SETTINGS = {
    "shared_buffers": "2GB",          # default 128MB; the tests use 32MB
    "effective_cache_size": "8GB",    # what the planner may assume the OS caches
    "work_mem": "32MB",               # per sort or hash: facet counts group many rows
    "maintenance_work_mem": "512MB",  # GIN pending-list merges by (auto)vacuum
    "max_wal_size": "4GB",            # fewer checkpoints during the ingest
    "max_connections": "100",
}
# Reported from the server whatever started it (SHOW ...).
REPORTED = (*SETTINGS, "fsync", "synchronous_commit", "full_page_writes", "server_version",
            "max_parallel_workers_per_gather", "jit")


def start(settings: dict[str, str]) -> tuple[PostgresCluster, str]:
    """A throwaway server with these settings and one empty database: (cluster, its URL)."""
    options: list[str] = []
    for name, value in settings.items():
        options += ["-c", f"{name}={value}"]
    cluster = PostgresCluster(options)
    try:
        cluster.start()
        return cluster, cluster.url(cluster.create_database())
    except BaseException:
        cluster.stop()
        raise


def empty(url: str) -> None:
    """Drop everything in the database's public schema (the archive's tables, views, text
    search configuration and functions), leaving an empty database as `archive` expects."""
    engine = create_engine(parse(url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS shards CASCADE"))
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def settings_in_effect(url: str) -> dict[str, str]:
    engine = create_engine(parse(url))
    try:
        with engine.connect() as connection:
            return {name: str(connection.execute(text(f"SHOW {name}")).scalar())
                    for name in REPORTED}
    finally:
        engine.dispose()


def sizes(url: str) -> dict:
    """Articles stored, their text, and the database's size with its search parts."""
    engine = create_engine(parse(url))
    try:
        with engine.connect() as connection:
            def one(sql: str) -> int:
                return int(connection.execute(text(sql)).scalar() or 0)

            return {
                "articles": one("SELECT count(*) FROM articles"),
                "text_mb": round(one("SELECT sum(octet_length(body) + "
                                     "octet_length(coalesce(title, ''))) FROM articles") / 1e6, 1),
                "database_mb": round(one("SELECT pg_database_size(current_database())") / 1e6, 1),
                "articles_table_mb": round(one("SELECT pg_total_relation_size('articles')")
                                           / 1e6, 1),
                "search_vector_index_mb": round(one(
                    "SELECT pg_relation_size('ix_articles_search_vector')") / 1e6, 1),
                "search_words": one("SELECT count(*) FROM search_words"),
            }
    finally:
        engine.dispose()
