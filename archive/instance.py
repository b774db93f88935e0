"""An open archive: its database, its search index, and the locks that admit its writers
(one at a time on SQLite; on PostgreSQL several ingests at once, see writers.py)."""

from __future__ import annotations

import dataclasses
import errno
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker

from archive import outlets, writers
from archive.config import InstancePaths, resolve_instance
from archive.db import open_database, session_factory
from archive.index import PostgresIndex, SearchIndex
from archive.settings import Settings, SettingsError, load_settings

logger = logging.getLogger(__name__)
_AnyIndex = TypeVar("_AnyIndex", SearchIndex, PostgresIndex)


class ArchiveBusy(Exception):
    """Another process is writing to this archive."""


_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def is_storage_full(exc: BaseException) -> bool:
    """Whether an error from SQLite or the index means the disk (or a quota) is full."""
    current: BaseException | None = exc
    while current is not None:
        if isinstance(current, OSError) and current.errno in _FULL_ERRNOS:
            return True
        if "database or disk is full" in str(current) or "No space left" in str(current):
            return True
        current = current.__cause__ or current.__context__ or getattr(current, "orig", None)
    return False


class Archive:
    """The database (source of truth) and the index (derived) of one instance folder."""

    def __init__(self, paths: InstancePaths | None = None, *, create: bool = True,
                 readonly: bool = False) -> None:
        """With readonly, nothing on disk is created or migrated (for the web UI)."""
        paths = paths or resolve_instance()
        self.readonly = readonly
        # Raises SettingsError (naming the file) for a settings file that cannot be used.
        self.settings: Settings = load_settings(paths.settings)
        if paths.database_choice is None and self.settings.database_url:
            # Paths made by hand, not by resolve_instance: settings.toml still chooses.
            paths = dataclasses.replace(paths, database_choice=self.settings.database_url)
        self.paths = paths
        if self.settings.search_engine == "postgresql" and not paths.on_server:
            raise SettingsError(
                f"{paths.settings}: search.engine = \"postgresql\" searches inside a PostgreSQL "
                f"database, but this archive's database is {paths.described()}: name a "
                "PostgreSQL database (url under [database], --database or ARCHIVE_DATABASE_URL) "
                "or remove the setting")
        # A reader answers within the search deadline: a database statement that outlasts
        # it (on a server, which can enforce one) stops too, rather than hold a thread.
        timeout = self.settings.search_deadline_seconds * 3 if readonly else None
        self.engine = open_database(self.paths, create=create and not readonly,
                                    migrate=not readonly, statement_timeout=timeout or None)
        self.sessions: sessionmaker[Session] = session_factory(self.engine)
        self._index: SearchIndex | PostgresIndex | None = None
        self._index_turn = writers.IndexTurn(self.engine)
        self._writer_connection: Connection | None = None
        if not readonly:
            # Raises OutletTableError (naming file and line) for a broken table: better now
            # than as a failure of every article later.
            outlets.load_user_table(self.outlet_table)
            outlets.known_outlet("")

    @property
    def outlet_table(self) -> Path:
        """This archive's own additions to the outlet table (need not exist)."""
        return self.paths.root / "outlets.csv"

    @property
    def search_engine(self) -> str:
        """"whoosh" (the index in the instance folder) or "postgresql" (in the database)."""
        return self.settings.search_engine

    @property
    def index(self) -> SearchIndex | PostgresIndex:
        if self._index is None:
            if self.search_engine == "postgresql":
                self._index = self._configured(PostgresIndex(self.engine))
            else:
                self._index = self._configured(SearchIndex(self.paths.index_dir,
                                                           create=not self.readonly))
        return self._index

    def _configured(self, index: _AnyIndex) -> _AnyIndex:
        index.deadline_seconds = self.settings.search_deadline_seconds or None
        return index

    def reset_index(self) -> SearchIndex | PostgresIndex:
        """An empty index in place of the current one, whatever state that was in."""
        if self._index is not None:
            self._index.close()
        if self.search_engine == "postgresql":
            index = self.index
            index.clear()
            return index
        shutil.rmtree(self.paths.index_dir, ignore_errors=True)
        self._index = self._configured(SearchIndex(self.paths.index_dir, create=True))
        return self._index

    def index_is_current(self) -> bool:
        """Whether an index of this version of archive exists (else it needs a rebuild)."""
        if self.search_engine == "postgresql":
            index = self.index
            return isinstance(index, PostgresIndex) and index.is_current()
        return self._index is not None or SearchIndex.exists(self.paths.index_dir)

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
        self._index_turn.close()
        self.engine.dispose()

    @property
    def concurrent_writers(self) -> bool:
        """Whether other processes may write at the same time as this one (PostgreSQL)."""
        return self.paths.on_server

    def index_turn(self) -> AbstractContextManager[None]:
        """Hold while writing the index and marking what it took: on PostgreSQL one
        process at a time does; on SQLite the writer lock already sees to that."""
        return self._index_turn.held()

    def confirm_writer(self, session: Session) -> None:
        """On PostgreSQL, raise WriterLost if this process's writer lock has gone with its
        connection (call inside a batch's transaction, holding writing())."""
        if self._writer_connection is not None:
            writers.confirm_writer(session, self._writer_connection,
                                   f"the archive in {self.paths.described()}")

    def claim_run(self, run_id: int) -> None:
        """Let other writers know this ingest run is alive (PostgreSQL; hold writing())."""
        if self._writer_connection is not None:
            writers.claim_run(self._writer_connection, run_id)

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def writing(self, *, wait: bool = False, poll_seconds: float = 0.5,
                shared: bool = False) -> Iterator[None]:
        """Hold the archive's writer lock: one ingest, reindex or repair at a time.

        The lock is the operating system's lock on a file (flock on POSIX), so the system
        releases it when its holder dies, even by SIGKILL: a crashed ingest never leaves the
        archive locked. ArchiveBusy names the holder unless wait is set.

        On PostgreSQL the lock is held on the server instead, and `shared` (ingests) admits
        other shared holders at the same time (writers.py).
        """
        if self.paths.on_server:
            with self._server_writing(wait=wait, poll_seconds=poll_seconds, shared=shared):
                yield
            return
        from filelock import FileLock, Timeout  # only writing commands pay for importing it

        self.paths.root.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.paths.ingest_lock)
        try:
            lock.acquire(blocking=False)
        except Timeout:
            holder = self._writer()
            if not wait:
                raise ArchiveBusy(
                    f"another process (pid {holder}) is writing to the archive at "
                    f"{self.paths.root}; wait for it to finish, or pass --wait") from None
            logger.info("waiting for process %s to finish writing to %s", holder,
                        self.paths.root)
            lock.acquire(poll_interval=poll_seconds)
        try:
            self.paths.writer_pid.write_text(str(os.getpid()), encoding="ascii")
            logger.debug("holding the writer lock of %s", self.paths.root)
            yield
        finally:
            # Before the lock goes: afterwards the file may already name the next holder.
            self.paths.writer_pid.unlink(missing_ok=True)
            lock.release()

    @contextmanager
    def _server_writing(self, *, wait: bool, poll_seconds: float, shared: bool
                        ) -> Iterator[None]:
        self.paths.root.mkdir(parents=True, exist_ok=True)
        try:
            with writers.writer_lock(self.engine, shared=shared, wait=wait,
                                     poll_seconds=poll_seconds,
                                     where=f"the archive in {self.paths.described()}"
                                     ) as connection:
                self._writer_connection = connection
                try:
                    yield
                finally:
                    self._writer_connection = None
        except writers.WriterBusy as exc:
            raise ArchiveBusy(str(exc)) from None

    def _writer(self) -> str:
        try:
            return self.paths.writer_pid.read_text(encoding="ascii").strip() or "?"
        except OSError:  # the holder has not written it yet, or has just finished
            return "?"
