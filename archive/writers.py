"""Several writers on a PostgreSQL archive: advisory locks where SQLite has its file lock.

A SQLite archive admits one writer at a time (`ingest.lock`, see instance.py). A PostgreSQL
archive admits any number of ingests at once, from several processes, and keeps the
file lock's other guarantees with locks held on the server, which it drops when the
holder's connection dies (even by SIGKILL), as the operating system drops a flock:

- the writer lock, shared by ingests and exclusive for the commands that rebuild or
  repair (reindex, check, reclean, optimize, db upgrade), so those still run alone;
- the store turn, at the end of each batch's transaction until its commit: batches are
  written at once, then settle one at a time. A raw input is claimed by its unique hash
  as the batch starts (a writer storing the same input makes the claim wait for its
  commit, then skip it); in its turn a batch drops the articles whose text another writer
  committed meanwhile (the body hash cannot be a unique key: a reclean may leave two
  articles with one text), joins its new stories to copies they committed, and counts
  its words and lines. A batch that must create an outlet takes the turn before doing so;
- the index lock: one process at a time writes the Whoosh index, which allows one
  writer (its own lock would make the second fail, not wait), and marks what it indexed;
- a lock per ingest run while it lives, so that a run still marked `running` is known to
  be dead only when no one holds its lock;
- the phrase index lock, shared by bulk ingests while they hold the index of phrase pairs
  back, and taken alone by the one that builds it (phrase_index.py).

Extraction and the batches' inserts run in parallel across writers; only the short
settling and index steps take turns.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

# pg_advisory_lock(int4, int4) keys: this project's namespace ("arch" in ASCII), then what.
NAMESPACE = 0x61726368
WRITER, STORE, INDEX, PHRASE_INDEX = 1, 2, 3, 4
# Runs are locked under a namespace of their own: (RUNS, run id).
RUNS = NAMESPACE + 1


class WriterBusy(Exception):
    """Another process holds the writer lock in a conflicting mode; the message names it."""


class WriterLost(Exception):
    """The connection that held this process's writer lock is gone, and the lock with it."""


def _autocommit(engine: Engine) -> Connection:
    # Session-level advisory locks outlive transactions; autocommit keeps this connection
    # from holding a transaction (and its snapshot) open for the whole run.
    return engine.connect().execution_options(isolation_level="AUTOCOMMIT")


@contextmanager
def writer_lock(engine: Engine, *, shared: bool, wait: bool, poll_seconds: float = 0.5,
                where: str = "the archive") -> Iterator[Connection]:
    """Hold the writer lock (shared for ingests) on a connection of its own, which is
    yielded so that runs can be claimed on it (claim_run)."""
    connection = _autocommit(engine)
    mode = "_shared" if shared else ""
    try:
        while not connection.scalar(text(f"SELECT pg_try_advisory_lock{mode}(:ns, :key)"),
                                    {"ns": NAMESPACE, "key": WRITER}):
            holders = _holders(connection, WRITER)
            if not wait:
                raise WriterBusy(
                    f"{holders} is writing to {where}"
                    f"{'' if shared else ' (commands that rebuild or repair run alone)'}; "
                    "wait for it to finish, or pass --wait")
            logger.info("waiting for %s to finish writing to %s", holders, where)
            time.sleep(poll_seconds)
        logger.debug("holding the %s writer lock of %s", "shared" if shared else "exclusive",
                     where)
        connection.info["archive_writer_pid"] = connection.scalar(text("SELECT pg_backend_pid()"))
        yield connection
    finally:
        _release(connection)


def confirm_writer(session: Session, writer: Connection, where: str) -> None:
    """Refuse to go on writing once the writer lock is gone: a server restart or a network
    cut ends the session that held it, the server drops the lock, and a command that must
    run alone (reindex, check) may start. Checked inside each batch's own transaction, so
    a batch is never committed on a lost lock."""
    held = session.scalar(text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND pid = :pid AND classid = :ns AND objid = :key AND objsubid = 2 "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
        {"pid": writer.info.get("archive_writer_pid"), "ns": NAMESPACE, "key": WRITER})
    if not held:
        raise WriterLost(
            f"the connection that held this process's writer lock on {where} was lost "
            "(a server restart or a network cut), and the lock with it; stopped so as not to "
            "overlap a command that must run alone. What was stored before is kept: run "
            "the same command again to go on.")


def claim_run(connection: Connection, run_id: int) -> None:
    """Mark an ingest run as alive for as long as this writer connection lives."""
    connection.execute(text("SELECT pg_advisory_lock(:ns, :run)"), {"ns": RUNS, "run": run_id})


def live_runs(session: Session) -> set[int]:
    """Ingest runs whose process is still connected (PostgreSQL; none on SQLite, whose
    single writer makes every other `running` run a dead one)."""
    if session.get_bind().dialect.name != "postgresql":
        return set()
    return set(session.scalars(text(
        "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND classid = :ns AND objsubid = 2 "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
        {"ns": RUNS}))


def commits_so_far(session: Session) -> int:
    """A number that moves on with every commit that wrote articles (migration 0010's
    `search_state.generation`, bumped at the commit): equal before and after, no other
    writer committed in between."""
    return int(session.scalar(text("SELECT generation FROM search_state")) or 0)


def take_store_turn(session: Session) -> None:
    """Within a batch's transaction: wait for other writers' batches; released at commit."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"),
                        {"ns": NAMESPACE, "key": STORE})


class IndexTurn:
    """The index lock of one process, re-entrant (a rebuild inside a catch-up takes it
    again) and shared by its threads one at a time."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.RLock()
        self._depth = 0
        self._connection: Connection | None = None

    @contextmanager
    def held(self) -> Iterator[None]:
        if self._engine.dialect.name != "postgresql":
            yield  # SQLite: the writer's file lock already admits only this process
            return
        with self._lock:
            if self._depth == 0:
                connection = _autocommit(self._engine)
                try:
                    connection.execute(text("SELECT pg_advisory_lock(:ns, :key)"),
                                       {"ns": NAMESPACE, "key": INDEX})
                except BaseException:
                    connection.close()
                    raise
                self._connection = connection
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._connection is not None:
                    connection, self._connection = self._connection, None
                    _release(connection)

    def close(self) -> None:
        if self._connection is not None:
            _release(self._connection)
            self._connection = None


def _release(connection: Connection) -> None:
    """Give the connection back without its locks: the pool keeps the server session
    open, and advisory locks belong to the session, not to a transaction."""
    try:
        connection.execute(text("SELECT pg_advisory_unlock_all()"))
    except Exception:  # a broken connection: dropping it releases the locks as well
        connection.invalidate()
    finally:
        connection.close()


def _holders(connection: Connection, key: int) -> str:
    """Who holds one of this archive's locks, as application names say ("archive pid 12
    on host")."""
    names = connection.scalars(text(
        "SELECT DISTINCT a.application_name FROM pg_locks l "
        "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
        "AND l.granted AND l.classid = :ns AND l.objid = :key AND l.objsubid = 2 "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
        {"ns": NAMESPACE, "key": key}).all()
    shown = ", ".join(name or "?" for name in names)
    return f"another process ({shown})" if shown else "another process"
