"""`archive sql` on a PostgreSQL archive: one query in a read-only transaction, within the
same time limit, stopped by Ctrl-C, its rows fetched in batches (see sql.py for SQLite's).

What keeps it read-only, from the inside out:
- the statement runs as a server-side cursor (DECLARE ... CURSOR FOR), which PostgreSQL
  accepts for a query alone: no INSERT, UPDATE, DELETE, DDL or second statement;
- inside a READ ONLY transaction that has already run a query, so that not even a
  function called by the query can switch it to read-write;
- on a connection whose every transaction defaults to read-only.
For more, connect as a role that may only read (see docs/deploy.md): a superuser's query
can still call functions that read the server's files.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import json
import math
import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from archive import dburl
from archive.sql import DEFAULT_TIMEOUT, ClosingSession, Interrupted, Row, SQLError

if TYPE_CHECKING:
    import psycopg

_T = TypeVar("_T")
_BATCH = 500
CONNECT_TIMEOUT_SECONDS = 10
_READ_ONLY = ("archive sql is read-only: {} is not allowed here (connect with psql to "
              "change the database)")
_FIRST_WORD = re.compile(r"^(?:\s|--[^\n]*\n|/\*.*?\*/)*([A-Za-z]+)", re.S)
_QUERIES = {"select", "with", "values", "table"}


class PostgresSession(ClosingSession):
    """The PostgreSQL counterpart of sql.Session: execute(), batches(), interrupt()."""

    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        import psycopg

        self._errors = psycopg.Error
        try:
            parsed = dburl.parse(url)
        except ValueError as exc:
            raise SQLError(str(exc)) from None
        # libpq reads the same URL without SQLAlchemy's "+driver".
        conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            self._connection = psycopg.connect(
                conninfo, connect_timeout=CONNECT_TIMEOUT_SECONDS,
                application_name="archive sql",
                options="-c default_transaction_read_only=on")
        except psycopg.Error as exc:
            raise SQLError(f"cannot connect to the archive database {dburl.shown(parsed)}: "
                           f"{_words(exc)}") from None
        self._connection.read_only = True
        # The transaction's first query: from now on it cannot be made read-write.
        self._connection.execute("SELECT 1")
        self._timeout = timeout
        # As for SQLite, only time spent in the server counts, not a slow reader's.
        self._budget = timeout or math.inf
        self._stopped: SQLError | None = None
        self._cursor: psycopg.ServerCursor[Any] | None = None

    def execute(self, statement: str) -> list[str]:
        """Start the statement; its column names."""
        verb = _FIRST_WORD.match(statement)
        if verb and verb.group(1).lower() not in _QUERIES:
            raise SQLError(_READ_ONLY.format(verb.group(1).upper()))
        self._cursor = self._connection.cursor(name="archive_sql")
        self._step(self._cursor.execute, statement)
        return [column.name for column in self._cursor.description or ()]

    def batches(self, size: int = _BATCH) -> Iterator[list[Row]]:
        assert self._cursor is not None, "execute() first"
        while rows := self._step(self._cursor.fetchmany, size):
            yield [tuple(_plain(value) for value in row) for row in rows]

    def interrupt(self) -> None:
        """Stop the running statement (safe to call from a signal handler)."""
        self._stopped = Interrupted("stopped by Ctrl-C")
        # Should the cancel request fail, the statement still stops at its time limit.
        with contextlib.suppress(self._errors):
            self._connection.cancel_safe()

    def close(self) -> None:
        if self._cursor is not None:
            # After a failure the transaction refuses even CLOSE; the connection goes anyway.
            with contextlib.suppress(self._errors):
                self._cursor.close()
        self._connection.close()

    def _step(self, work: Callable[..., _T], *args: Any) -> _T:
        if self._stopped:
            raise self._stopped
        if self._budget <= 0:
            raise self._timed_out()
        started = time.monotonic()
        try:
            limit = 0 if math.isinf(self._budget) else max(1, int(self._budget * 1000))
            self._connection.execute("SELECT set_config('statement_timeout', %s, true)",
                                     [str(limit)])
            return work(*args)
        except self._errors as exc:
            raise self._failure(exc) from None
        finally:
            self._budget -= time.monotonic() - started

    def _failure(self, exc: Exception) -> SQLError:
        from psycopg import errors

        if self._stopped:
            return self._stopped
        if isinstance(exc, errors.QueryCanceled):
            return self._timed_out()
        if isinstance(exc, errors.ReadOnlySqlTransaction):
            return SQLError(_READ_ONLY.format("writing"))
        words = _words(exc)
        if "multiple commands" in words:
            return SQLError("archive sql runs one statement at a time")
        return SQLError(words)

    def _timed_out(self) -> SQLError:
        return SQLError(f"stopped: the statement ran longer than {self._timeout:g} s (raise "
                        "the limit with --timeout)")


def _words(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return " ".join(lines[:3]) or exc.__class__.__name__


def _plain(value: Any) -> Any:
    """A value as SQLite would hand it over: text, numbers, bytes or None (dates as ISO
    text, JSON as its text), so that the output writers treat both databases alike."""
    if value is None or isinstance(value, str | int | float | bytes):
        return value
    if isinstance(value, memoryview | bytearray):
        return bytes(value)
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, uuid.UUID | dt.timedelta):
        return str(value)
    return str(value)
