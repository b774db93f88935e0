"""One long-lived Archive per app, opened on first use so the server can start before ingest."""

from __future__ import annotations

import threading

from flask import current_app

from archive.config import InstancePaths
from archive.db import DatabaseError
from archive.instance import Archive
from archive.settings import SettingsError


class NoArchive(Exception):
    """There is no usable archive in the instance folder yet; the page says what to run."""

    def __init__(self, paths: InstancePaths, reason: str) -> None:
        super().__init__(reason)
        self.paths = paths
        self.reason = reason


class ArchiveHolder:
    """Opens the archive once and shares it between request threads.

    The index lends each request a reader of its own and refreshes it when ingest commits;
    failure to open is not remembered, so the page starts working as soon
    as `archive ingest` has created the archive.
    """

    def __init__(self, paths: InstancePaths) -> None:
        self.paths = paths
        self._archive: Archive | None = None
        self._lock = threading.Lock()

    def get(self) -> Archive:
        archive = self._archive
        if archive is not None:
            return archive
        with self._lock:
            if self._archive is None:
                self._archive = self._open()
            return self._archive

    def _open(self) -> Archive:
        if self.paths.sqlite_file is not None and not self.paths.sqlite_file.is_file():
            raise NoArchive(self.paths, "there is no archive in this folder yet")
        try:
            archive = Archive(self.paths, create=False, readonly=True)
        except (DatabaseError, SettingsError) as exc:
            raise NoArchive(self.paths, str(exc)) from None
        # The PostgreSQL engine's index is in the database: a web worker on another machine
        # has only the settings in its folder.
        if archive.search_engine == "whoosh" and not self.paths.index_dir.is_dir():
            archive.close()
            # Ingest creates the index right after the database: do not race it to that.
            raise NoArchive(self.paths, "the archive has no search index yet")
        try:
            archive.index  # noqa: B018 - open the index now, under the lock
        except Exception as exc:  # an unreadable index is a state to explain, not a crash
            archive.close()
            raise NoArchive(self.paths, f"the search index cannot be opened: {exc}") from None
        return archive

    def close(self) -> None:
        with self._lock:
            if self._archive is not None:
                self._archive.close()
                self._archive = None


def current_archive() -> Archive:
    """The app's archive; raises NoArchive, which the app turns into an explanatory page."""
    holder: ArchiveHolder = current_app.extensions["archive"]
    return holder.get()
