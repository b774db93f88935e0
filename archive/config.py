"""Where an archive lives: one instance folder holds its database and its index."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

INSTANCE_ENV = "ARCHIVE_INSTANCE"
DEFAULT_INSTANCE = "instance"


@dataclass(frozen=True, slots=True)
class InstancePaths:
    root: Path

    @property
    def database(self) -> Path:
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
        return f"sqlite:///{self.database}"


def resolve_instance(explicit: str | os.PathLike[str] | None = None) -> InstancePaths:
    """--instance wins, then $ARCHIVE_INSTANCE, then ./instance; the result is absolute."""
    chosen = explicit or os.environ.get(INSTANCE_ENV) or DEFAULT_INSTANCE
    return InstancePaths(Path(chosen).expanduser().resolve())
