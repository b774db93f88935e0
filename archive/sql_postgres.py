"""`archive sql` on a PostgreSQL archive: one query in a read-only transaction, within the
same time limit, stopped by Ctrl-C, its rows fetched in batches (see sql.py for SQLite's).

What keeps it read-only, from the inside out:
- the statement runs as a server-side cursor (DECLARE ... CURSOR FOR), which PostgreSQL
  accepts for a query alone: no INSERT, UPDATE, DELETE, DDL, SET, RESET or second
  statement;
- inside a READ ONLY transaction that has already run a query, so that not even a
  function called by the query can switch it to read-write;
- on a connection whose every transaction defaults to read-only.

What keeps it to the archive's data: the transaction switches to the database's reader
role (`SET LOCAL ROLE`, archive/sql_role.py), which may read the archive's tables and
views and nothing else, so a superuser's statement cannot read the server's files or
stop other sessions. A superuser, though, may switch to any role, and `set_config('role',
...)` inside a query would switch back for the rest of it: functions that change settings
or run SQL handed to them as text (where such a call could hide) are refused by name
before the statement is sent, and so is every function of an extension (dblink,
tablefunc's crosstab, ...). Without a reader role to switch to, a statement runs as the
connected role only if that is an ordinary one.
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

from archive import dburl, sql_role
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
# Built-in functions refused by name (docs/schema.md lists them): set_config changes
# settings, the role among them; the others run SQL given as text, where a set_config
# could hide; the signals stop other sessions, such as a running ingest of the same role.
REFUSED_FUNCTIONS = {
    "set_config": "it changes the session's settings, the role among them",
    "query_to_xml": "it runs SQL given as text",
    "query_to_xmlschema": "it runs SQL given as text",
    "query_to_xml_and_xmlschema": "it runs SQL given as text",
    "ts_stat": "it runs SQL given as text",
    "ts_rewrite": "it can run SQL given as text",
    "pg_terminate_backend": "it stops other sessions",
    "pg_cancel_backend": "it stops other sessions",
}
# Functions outside PostgreSQL's own schemas, and those an extension installed anywhere,
# among the names a statement mentions.
_NOT_BUILT_IN = """
SELECT DISTINCT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.proname = ANY(%s)
  AND (n.nspname NOT IN ('pg_catalog', 'information_schema')
       OR EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                  AND d.objid = p.oid AND d.deptype = 'e'))
ORDER BY 1
"""
# What makes `current_user` more than a reader, in words, one per power.
_POWERS = """
SELECT CASE WHEN me.rolsuper THEN ARRAY['a superuser']
            ELSE array_remove(ARRAY[CASE WHEN me.rolreplication
                                         THEN 'a role with REPLICATION' END], NULL)
                 || ARRAY(SELECT 'a member of ' || r.rolname FROM pg_roles r
                          WHERE (r.rolname = ANY(%s) OR r.rolsuper OR r.rolreplication)
                            AND r.oid <> me.oid AND pg_has_role(me.oid, r.oid, 'MEMBER')
                          ORDER BY r.rolname)
       END
FROM pg_roles me WHERE me.rolname = current_user
"""


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
                # Strings as names() reads them: a backslash is an ordinary character.
                options="-c default_transaction_read_only=on "
                        "-c standard_conforming_strings=on")
        except psycopg.Error as exc:
            raise SQLError(f"cannot connect to the archive database {dburl.shown(parsed)}: "
                           f"{_words(exc)}") from None
        self._connection.read_only = True
        try:
            # The transaction's first query: from now on it cannot be made read-write.
            self._connection.execute("SELECT 1")
            self._reader = self._become_reader()
        except psycopg.Error as exc:
            self._connection.close()
            raise SQLError(_words(exc)) from None
        except BaseException:
            self._connection.close()
            raise
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
        self._check_functions(statement)
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

    def _become_reader(self) -> str | None:
        """Switch the transaction to the database's reader role if there is one and this
        role may; its name, or None when the statement is to run as the connected role,
        which must then be an ordinary one."""
        from psycopg import sql

        database, user = self._fetch_one("SELECT current_database(), current_user")
        reader = sql_role.role_name(database)
        try:
            # A savepoint: refused (no such role, or not a member), the transaction goes on.
            with self._connection.transaction():
                self._connection.execute(sql.SQL("SET LOCAL ROLE {}").format(
                    sql.Identifier(reader)))
            switched = True
        except self._errors:
            switched = False
        powers = self._fetch_one(_POWERS, [list(sql_role.POWERFUL_ROLES)])[0]
        if switched and powers:
            raise SQLError(f"archive sql will not run a statement as the role {reader}, "
                           f"which should only read but is {_listed(powers)}: revoke that "
                           "(see docs/deploy.md).")
        if powers:
            exists = self._fetch_one("SELECT count(*) FROM pg_roles WHERE rolname = %s",
                                     [reader])[0]
            fix = (f"Let it run them as the role {reader}, which may only read (`GRANT "
                   f"{reader} TO {user}`)" if exists else
                   f"This database has no role {reader} (which may only read) to run them "
                   "as: run `archive db upgrade` as a role that may create roles (a "
                   "superuser, or one with CREATEROLE) to create it")
            raise SQLError(f"archive sql will not run a statement as {user}, "
                           f"{_listed(powers)}: its statements could reach the server's "
                           f"files or other sessions. {fix}, or connect as a role that may "
                           "only read (see docs/deploy.md).")
        if self._fetch_one("SHOW standard_conforming_strings")[0] != "on":
            raise SQLError("archive sql needs standard_conforming_strings on")
        return reader if switched else None

    def _check_functions(self, statement: str) -> None:
        """Refuse a statement that mentions a function it may not call (see REFUSED_FUNCTIONS
        and _NOT_BUILT_IN). By name, wherever the name stands: a column of that name is
        refused too, which is the price of not parsing SQL here."""
        mentioned = names(statement)
        refused = sorted(mentioned & REFUSED_FUNCTIONS.keys())
        if refused:
            raise SQLError(f"archive sql does not allow the function {refused[0]}: "
                           f"{REFUSED_FUNCTIONS[refused[0]]} (see docs/schema.md)")
        if not mentioned:
            return
        try:
            rows = self._connection.execute(_NOT_BUILT_IN, [sorted(mentioned)]).fetchall()
        except self._errors as exc:
            raise SQLError(_words(exc)) from None
        if rows:
            raise SQLError(f"archive sql does not allow the function {rows[0][0]}: on "
                           "PostgreSQL a statement may call PostgreSQL's built-in functions, "
                           "not those of extensions or defined in the database (see "
                           "docs/schema.md)")

    def _fetch_one(self, query: str, params: list[Any] | None = None) -> tuple[Any, ...]:
        row = self._connection.execute(query, params).fetchone()
        assert row is not None
        return tuple(row)

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
        if isinstance(exc, errors.InsufficientPrivilege) and self._reader:
            return SQLError(f"{_words(exc)} (archive sql runs statements as the role "
                            f"{self._reader}, which may only read the archive's tables and "
                            "views)")
        words = _words(exc)
        if "multiple commands" in words:
            return SQLError("archive sql runs one statement at a time")
        return SQLError(words)

    def _timed_out(self) -> SQLError:
        return SQLError(f"stopped: the statement ran longer than {self._timeout:g} s (raise "
                        "the limit with --timeout)")


# PostgreSQL's lexer (src/backend/parser/scan.l), as far as telling names from strings and
# comments goes. Identifiers take any character beyond ASCII, as the server does, and `$`
# after their first; a string's prefix (E, B, X, N, U&) counts only where a token starts,
# which holds because a name is read whole before anything else is tried.
_IDENT_START = "A-Za-z_\u0080-\U0010ffff"
_TOKEN = re.compile(rf"""
    (?P<space>[ \t\n\r\f\v]+)
  | (?P<line_comment>--[^\n\r]*)
  | (?P<comment>/\*)
  | (?P<escape_string>[eE]')
  | (?P<unicode_name>[uU]&")
  | (?P<string>(?:[bBxXnN]|[uU]&)?')
  | (?P<quoted_name>")
  | (?P<dollar_quote>\$(?:[{_IDENT_START}][{_IDENT_START}0-9]*)?\$)
  | (?P<name>[{_IDENT_START}][{_IDENT_START}0-9$]*)
  | (?P<other>.)
""", re.X | re.S)
_COMMENT_EDGE = re.compile(r"/\*|\*/")
_NAME_BYTES = 63  # PostgreSQL cuts longer names to this many bytes


def names(statement: str) -> set[str]:
    """Every name in a statement (identifiers and key words, folded and cut as PostgreSQL
    does), leaving out strings and comments. A mistake here must only ever take text for
    a name, never a name for text: an unterminated string or comment is an error to the
    server anyway."""
    found: set[str] = set()
    at = 0
    while at < len(statement):
        token = _TOKEN.match(statement, at)
        assert token is not None  # `other` matches any character
        kind, at = token.lastgroup, token.end()
        if kind == "name":
            found.add(_cut(token.group().translate(_ASCII_LOWER)))
        elif kind == "quoted_name":
            end = _closing(statement, at, '"')
            found.add(_cut(statement[at:end - 1].replace('""', '"')))
            at = end
        elif kind == "unicode_name":
            raise SQLError('archive sql does not take U&"..." names on PostgreSQL: write '
                           "the name as it is")
        elif kind == "string":
            at = _closing(statement, at, "'")
        elif kind == "escape_string":
            at = _closing(statement, at, "'", backslash=True)
        elif kind == "dollar_quote":
            end = statement.find(token.group(), at)
            at = len(statement) if end < 0 else end + len(token.group())
        elif kind == "comment":
            at = _comment_end(statement, at)
    return found


def _closing(text: str, at: int, quote: str, *, backslash: bool = False) -> int:
    """Where a quoted string or name that started before `at` ends (past its quote): a
    doubled quote stands for one, and in an E'' string a backslash escapes what follows."""
    while at < len(text):
        char = text[at]
        if backslash and char == "\\":
            at += 2
        elif char == quote:
            if text.startswith(quote, at + 1):
                at += 2
            else:
                return at + 1
        else:
            at += 1
    return len(text)


def _comment_end(text: str, at: int) -> int:
    # Block comments nest in PostgreSQL.
    depth = 1
    while depth:
        edge = _COMMENT_EDGE.search(text, at)
        if edge is None:
            return len(text)
        depth += 1 if edge.group() == "/*" else -1
        at = edge.end()
    return at


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _cut(name: str) -> str:
    return name.encode("utf-8")[:_NAME_BYTES].decode("utf-8", errors="ignore")


def _listed(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


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
