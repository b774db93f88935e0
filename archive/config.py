"""Where an archive lives: one instance folder holds its index and settings, and its
database too unless a URL names a database server."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

INSTANCE_ENV = "ARCHIVE_INSTANCE"
DATABASE_ENV = "ARCHIVE_DATABASE_URL"
DEFAULT_INSTANCE = "instance"


@dataclass(frozen=True, slots=True)
class InstancePaths:
    root: Path
    # The database's URL when it is not the SQLite file in the folder (--database,
    # $ARCHIVE_DATABASE_URL or settings.toml); None for that file.
    database_choice: str | None = None

    @property
    def database(self) -> Path:
        """The folder's own SQLite file (used when no other database is chosen)."""
        return self.root / "archive.db"

    @property
    def index_dir(self) -> Path:
        return self.root / "index"

    @property
    def settings(self) -> Path:
        return self.root / "settings.toml"

    @property
    def ingest_lock(self) -> Path:
        return self.root / "ingest.lock"

    @property
    def writer_pid(self) -> Path:
        """The process id of the lock's holder, beside the lock: Windows does not let other
        processes read a locked file."""
        return self.root / "ingest.pid"

    @property
    def database_url(self) -> str:
        return self.database_choice or f"sqlite:///{self.database}"

    @property
    def sqlite_file(self) -> Path | None:
        """The SQLite file holding the database; None for a database server."""
        if self.database_choice is None:
            return self.database
        from archive.dburl import sqlite_path

        return sqlite_path(self.database_choice)

    @property
    def on_server(self) -> bool:
        """Whether the database is a server (PostgreSQL) rather than a SQLite file: then
        several writers may work at once (see archive/writers.py)."""
        return self.sqlite_file is None

    def described(self) -> str:
        """The database as messages name it: the file, or the URL without its password."""
        from archive.dburl import shown

        return str(self.sqlite_file) if self.sqlite_file else shown(self.database_url)


def resolve_instance(explicit: str | os.PathLike[str] | None = None,
                     database: str | None = None) -> InstancePaths:
    """The folder: --instance wins, then $ARCHIVE_INSTANCE, then ./instance (made absolute).
    The database: `database` (--database) wins, then $ARCHIVE_DATABASE_URL, then the
    folder's settings.toml, then the SQLite file in the folder. Raises SettingsError for a
    settings file that cannot be read."""
    chosen = explicit or os.environ.get(INSTANCE_ENV) or DEFAULT_INSTANCE
    root = Path(chosen).expanduser().resolve()
    url = database or os.environ.get(DATABASE_ENV) or None
    if url is None and (root / "settings.toml").is_file():
        from archive.settings import load_settings  # it imports the index package

        url = load_settings(root / "settings.toml").database_url
    return InstancePaths(root, url)
