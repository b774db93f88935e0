"""Plain SQL on a test archive's database, whichever it is, through its own connection (as
another program would see it), for tests that look behind the archive's back."""

from __future__ import annotations

import sqlite3
from typing import Any

from archive.config import InstancePaths


def query(paths: InstancePaths, statement: str) -> list[tuple[Any, ...]]:
    """Every row of one statement; [] while the database or its tables do not exist yet."""
    if paths.sqlite_file is not None:
        if not paths.sqlite_file.exists():
            return []
        try:
            with sqlite3.connect(f"file:{paths.sqlite_file}?mode=ro", uri=True,
                                 timeout=5) as connection:
                return connection.execute(statement).fetchall()
        except sqlite3.OperationalError:
            return []  # the schema is still being created
    import psycopg

    try:
        return _connection(paths).execute(statement.encode()).fetchall()
    except psycopg.errors.UndefinedTable:
        return []


# One connection per database, kept: tests poll (is the next batch committed yet?), and a
# new connection each time is a new server process each time, on a busy machine.
_open: dict[str, Any] = {}


def _connection(paths: InstancePaths) -> Any:
    import psycopg

    url = libpq_url(paths)
    if url not in _open or _open[url].closed:
        # Autocommit: every statement sees what was committed before it.
        _open[url] = psycopg.connect(url, connect_timeout=10, autocommit=True)
    return _open[url]


def close_connections() -> None:
    """Before the test server stops."""
    while _open:
        _open.popitem()[1].close()


def execute(paths: InstancePaths, statement: str) -> None:
    """Change the database behind the archive's back (to damage it, say)."""
    if paths.sqlite_file is not None:
        with sqlite3.connect(paths.sqlite_file) as connection:
            connection.execute(statement)
        return
    import psycopg

    with psycopg.connect(libpq_url(paths), connect_timeout=10) as connection:
        connection.execute(statement.encode())


def libpq_url(paths: InstancePaths) -> str:
    assert paths.database_choice is not None
    return paths.database_choice.replace("postgresql+psycopg://", "postgresql://", 1)


def count(paths: InstancePaths, statement: str) -> int:
    rows = query(paths, statement)
    return int(rows[0][0] or 0) if rows else 0
