"""Opening an archive's database: engine settings, sessions and schema upgrades."""

from __future__ import annotations

import importlib.util
import logging
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from archive import rawcontent
from archive.config import InstancePaths

if TYPE_CHECKING:
    from alembic.config import Config

# The repository's migrations/ folder installs under this name (a top-level "migrations"
# package in site-packages would clash with other projects').
MIGRATIONS_PACKAGE = "archive_migrations"
# The newest migration. Checked against this constant, opening an up-to-date archive needs no
# Alembic at all (it costs a tenth of a second to import); a test keeps the two in step.
SCHEMA_HEAD = "0006"
# Long enough for a batch commit of a concurrent ingest to finish.
BUSY_TIMEOUT_MS = 30_000

logger = logging.getLogger(__name__)


class DatabaseError(Exception):
    """The archive's database cannot be opened or upgraded; the message says why."""


def make_engine(url: str) -> Engine:
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets searches read while an ingest writes; NORMAL is durable at each checkpoint
        # and safe against application crashes, which is what matters for ingest.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()
        rawcontent.register(dbapi_connection)  # the sources_text view calls it

    return engine


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()).replace("%", "%%"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrations_dir() -> Path:
    """The Alembic scripts, wherever the package is installed (editable or from a wheel)."""
    spec = importlib.util.find_spec(MIGRATIONS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise DatabaseError(f"the schema migrations ({MIGRATIONS_PACKAGE}) are not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (a no-op when it is already there)."""
    from alembic import command

    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def needs_upgrade(engine: Engine) -> bool:
    with engine.connect() as connection:
        try:
            current = connection.scalar(text("SELECT version_num FROM alembic_version"))
        except OperationalError:  # a new, empty database
            return True
    return current != SCHEMA_HEAD


def open_database(paths: InstancePaths, *, create: bool = True, migrate: bool = True) -> Engine:
    """The engine for an instance's database, created and upgraded as needed.

    With migrate=False (read-only users such as the web UI) an outdated schema is an error
    instead of being upgraded."""
    if not paths.database.exists() and not create:
        raise DatabaseError(f"no archive at {paths.root} (run `archive ingest` to create one)")
    try:
        paths.root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseError(f"cannot create the instance folder {paths.root}: {exc}") from None
    engine = make_engine(paths.database_url)
    try:
        outdated = needs_upgrade(engine)
        if outdated and not migrate:
            raise DatabaseError(f"the archive at {paths.root} uses an older schema: run "
                                "`archive db upgrade`")
        if outdated:
            logger.info("bringing the schema of %s to migration %s", paths.database,
                        SCHEMA_HEAD)
            upgrade(engine)
    except DatabaseError:
        engine.dispose()
        raise
    except Exception as exc:  # any failure here means the file is not a usable archive
        engine.dispose()
        raise DatabaseError(f"cannot open the archive database {paths.database}: {exc}") from exc
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
