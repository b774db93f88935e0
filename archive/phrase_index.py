"""The PostgreSQL index of phrase pairs, left out during a bulk ingest and built at its end.

Each stored article adds about 320 entries to the index of phrase pairs (migration 0012),
which halves an ingest at a million articles; one build over all of them costs a fraction
of that. `archive ingest --bulk` therefore drops the index when it starts and builds it
when it ends; meanwhile searches find phrases from the vectors, as without the index, only
more slowly. `search_state.phrase_index_deferred` (migration 0013) says the index is
missing for that reason, not by the owner's choice (docs/deploy.md says how to drop it for
good), so an interrupted bulk ingest's index is built by the next ingest or by
`archive optimize`, and an owner's choice is left alone.

Several bulk ingests may run at once: each holds a shared advisory lock while it runs, and
the index is built by whichever finds itself the last (the lock free for it alone). The
index is built CONCURRENTLY: other writers go on storing meanwhile.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text

from archive.writers import NAMESPACE, PHRASE_INDEX

logger = logging.getLogger(__name__)

INDEX = "ix_articles_phrase_pairs"
_CREATE = (f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON articles "
           "USING gin (archive_phrase_pairs(search_vector))")
# The index as the planner may use it: a build that was interrupted leaves it invalid.
USABLE = ("SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
          f"WHERE c.relname = '{INDEX}' AND c.relnamespace = current_schema()::regnamespace "
          "AND i.indisvalid)")
_PRESENT = ("SELECT EXISTS (SELECT 1 FROM pg_class WHERE relname = "
            f"'{INDEX}' AND relnamespace = current_schema()::regnamespace)")


def _connect(engine: Engine) -> Connection:
    # CREATE and DROP INDEX CONCURRENTLY run outside a transaction; the advisory lock
    # lives with this session. A build at a million articles takes a quarter of an hour.
    connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    connection.exec_driver_sql("SET statement_timeout = 0")
    return connection


def _disconnect(connection: Connection) -> None:
    # Not back into the pool: the session holds advisory locks and a setting of its own.
    try:
        connection.invalidate()
    finally:
        connection.close()


def _lock(connection: Connection, *, shared: bool) -> bool:
    mode = "_shared" if shared else ""
    return bool(connection.scalar(text(f"SELECT pg_try_advisory_lock{mode}(:ns, :key)"),
                                  {"ns": NAMESPACE, "key": PHRASE_INDEX}))


def left_to_build(engine: Engine) -> bool:
    """Whether the index is held back or left to build by a bulk ingest."""
    if engine.dialect.name != "postgresql":
        return False
    with engine.connect() as connection:
        return is_deferred(connection)


def is_deferred(connection: Connection) -> bool:
    """Whether a bulk ingest left the index to build (PostgreSQL archives only)."""
    return bool(connection.scalar(text("SELECT phrase_index_deferred FROM search_state")))


class Deferral:
    """What one bulk ingest did to the index: `active` while it holds it back."""

    def __init__(self, connection: Connection | None) -> None:
        self.connection = connection
        self.active = connection is not None

    def build(self, announce: Callable[[str], None] | None = None) -> float | None:
        """Build the index if no other bulk ingest still runs; the seconds it took, or None
        when it was left to another one."""
        if self.connection is None:
            return None
        self.active = False
        return build(self.connection, announce)


@contextmanager
def deferred(engine: Engine, enabled: bool) -> Iterator[Deferral]:
    """Hold the index of phrase pairs back for the length of a bulk ingest (a no-op on
    SQLite, or when not `enabled`). The caller builds it at the end (Deferral.build);
    left unbuilt (an interrupted run), it stays marked as deferred."""
    if not enabled or engine.dialect.name != "postgresql":
        yield Deferral(None)
        return
    connection = _connect(engine)
    try:
        if not _lock(connection, shared=True):
            # Another ingest is building it right now: this one stores with it in place.
            logger.info("the index of phrase pairs is being built; stored as usual")
            yield Deferral(None)
            return
        if not is_deferred(connection):
            if not connection.scalar(text(_PRESENT)):
                yield Deferral(None)  # dropped by the archive's owner: nothing to defer
                return
            connection.execute(text("UPDATE search_state SET phrase_index_deferred = true"))
        connection.exec_driver_sql(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")
        yield Deferral(connection)
    finally:
        _disconnect(connection)


def build_if_deferred(engine: Engine, announce: Callable[[str], None] | None = None
                      ) -> float | None:
    """Build an index a bulk ingest left to build (it was interrupted or killed), unless a
    bulk ingest is still running; the seconds it took, or None if nothing was built."""
    if engine.dialect.name != "postgresql":
        return None
    connection = _connect(engine)
    try:
        if not is_deferred(connection):
            return None
        return build(connection, announce)
    finally:
        _disconnect(connection)


def build(connection: Connection, announce: Callable[[str], None] | None = None
          ) -> float | None:
    """On a connection of `_connect`: build the index unless another bulk ingest holds the
    lock; clear the mark once it is usable."""
    if not _lock(connection, shared=False):
        logger.info("another bulk ingest is still running; it builds the index of phrase "
                    "pairs when it ends")
        return None
    try:
        if not is_deferred(connection):
            return None  # built by another process meanwhile
        started = time.monotonic()
        if announce is not None:
            announce("building the index of phrase pairs (held back during the bulk load; "
                     "phrases are searched without it until it is done)...")
        if not connection.scalar(text(USABLE)):
            # An interrupted build leaves an invalid index, which IF NOT EXISTS would keep.
            connection.exec_driver_sql(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")
        connection.exec_driver_sql(_CREATE)
        connection.execute(text("UPDATE search_state SET phrase_index_deferred = false"))
        return time.monotonic() - started
    finally:
        connection.execute(text("SELECT pg_advisory_unlock(:ns, :key)"),
                           {"ns": NAMESPACE, "key": PHRASE_INDEX})
