"""Opening an archive's database: engine settings, sessions and schema upgrades."""

from __future__ import annotations

import importlib.util
import logging
import os
import socket
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import URL, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from archive import dburl, rawcontent, sql_role
from archive.config import InstancePaths
from archive.sql_role import ReaderRole

if TYPE_CHECKING:
    from alembic.config import Config

# The repository's migrations/ folder installs under this name (a top-level "migrations"
# package in site-packages would clash with other projects').
MIGRATIONS_PACKAGE = "archive_migrations"
# The newest migration. Checked against this constant, opening an up-to-date archive needs no
# Alembic at all (it costs a tenth of a second to import); a test keeps the two in step.
SCHEMA_HEAD = "0013"
# Bytes per page of a new SQLite database.
PAGE_SIZE = 16384
# Long enough for a batch commit of a concurrent ingest to finish.
BUSY_TIMEOUT_MS = 30_000
# A database server that does not answer within this long is reported as unreachable.
CONNECT_TIMEOUT_SECONDS = 10
# pg_advisory_xact_lock key held while migrating a PostgreSQL archive (an arbitrary constant
# of this project: "arch" in ASCII).
MIGRATION_LOCK = 0x61726368

logger = logging.getLogger(__name__)


class DatabaseError(Exception):
    """The archive's database cannot be opened or upgraded; the message says why."""


def make_engine(url: str, *, statement_timeout: float | None = None) -> Engine:
    """An engine for an archive's database. `statement_timeout` (seconds, PostgreSQL only)
    stops any statement running longer, for readers that answer within a deadline."""
    parsed = dburl.parse(url)  # BadDatabaseUrl (a ValueError) names what is wrong
    if parsed.get_backend_name() == "postgresql":
        return _postgresql_engine(parsed, statement_timeout)
    engine = create_engine(parsed)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        # Only a new, empty database takes it (an existing one keeps its page size until
        # VACUUM, which WAL mode does not allow to change it either). Rows of articles and
        # raw inputs are 2-5 KB: 4 KB pages left an eighth of `articles` and a quarter of
        # `sources` unused; 16 KB pages make the database about 8% smaller, larger ones
        # gain 1% more (docs/performance.md, "Size").
        cursor.execute(f"PRAGMA page_size={PAGE_SIZE}")
        # WAL lets searches read while an ingest writes; NORMAL is durable at each checkpoint
        # and safe against application crashes, which is what matters for ingest.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()
        rawcontent.register(dbapi_connection)  # the sources_text view calls it

    return engine


def _postgresql_engine(url: URL, statement_timeout: float | None) -> Engine:
    options = []
    if statement_timeout:
        options.append(f"-c statement_timeout={int(statement_timeout * 1000)}")
    connect_args: dict[str, object] = {
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        # Names this process in pg_stat_activity, which is how a refused writer learns who
        # holds the archive (archive/writers.py).
        "application_name": f"archive pid {os.getpid()} on {socket.gethostname()}"[:63],
    }
    if options:
        connect_args["options"] = " ".join(options)
    # pre_ping: a pooled connection the server dropped (restart, failover, idle timeout) is
    # replaced instead of failing the next request of a long-running web process.
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


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


def upgrade(engine: Engine) -> ReaderRole | None:
    """Bring the schema to the newest migration (a no-op when it is already there). On
    PostgreSQL also the role `archive sql` runs statements as (archive/sql_role.py); it is
    returned."""
    from alembic import command

    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two processes starting on a new database would both create the tables; the
            # second waits here, then finds the schema current and does nothing.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                               {"key": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        if connection.dialect.name != "postgresql":
            return None
        # Migration 0009 made the role; made again here, it comes back after a restore into
        # another server or once the upgrading role may create roles.
        return sql_role.ensure(connection)


def needs_upgrade(engine: Engine) -> bool:
    return schema_version(engine) != SCHEMA_HEAD


def schema_version(engine: Engine) -> str | None:
    """The archive's migration, or None for a database without one (new or not an archive)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.scalar(text("SELECT version_num FROM alembic_version"))


def open_database(paths: InstancePaths, *, create: bool = True, migrate: bool = True,
                  statement_timeout: float | None = None) -> Engine:
    """The engine for an instance's database, created and upgraded as needed.

    With migrate=False (read-only users such as the web UI) an outdated schema is an error
    instead of being upgraded. With create=False a database that holds no archive yet is
    an error. The instance folder is made either way: it holds the index."""
    where = paths.described()
    if paths.sqlite_file is not None and not paths.sqlite_file.exists() and not create:
        raise DatabaseError(f"no archive at {paths.root} (run `archive ingest` to create one)")
    try:
        paths.root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseError(f"cannot create the instance folder {paths.root}: {exc}") from None
    try:
        engine = make_engine(paths.database_url, statement_timeout=statement_timeout)
    except ValueError as exc:  # dburl.BadDatabaseUrl: it names the URL, password hidden
        raise DatabaseError(str(exc)) from None
    except ImportError as exc:
        raise DatabaseError(f"cannot use the database {where}: its driver is not installed "
                            f"({exc}); install newsarchive-search[postgres]") from None
    try:
        current = schema_version(engine)
        if current is None and not create:
            raise DatabaseError(f"no archive in the database {where} yet (run `archive "
                                "ingest` to create one)")
        outdated = current != SCHEMA_HEAD
        if outdated and not migrate:
            raise DatabaseError(f"the archive at {where} uses an older schema: run "
                                "`archive db upgrade`")
        if outdated:
            logger.info("bringing the schema of %s to migration %s", where, SCHEMA_HEAD)
            upgrade(engine)
    except DatabaseError:
        engine.dispose()
        raise
    except Exception as exc:  # any failure here means the database is not a usable archive
        engine.dispose()
        raise DatabaseError(f"cannot open the archive database {where}: {reason(exc)}"
                            ) from exc
    return engine


def reason(exc: BaseException) -> str:
    """A database error in a sentence: the driver's own words (e.g. "connection refused"),
    without SQLAlchemy's statement dump and link, and never the URL's password."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        text_ = str(exc.orig).strip()
    else:
        text_ = str(exc).split("\n(Background on this error", 1)[0].strip()
    lines = [line.strip() for line in text_.splitlines() if line.strip()]
    return " ".join(lines[:3]) or exc.__class__.__name__


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
