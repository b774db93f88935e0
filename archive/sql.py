"""`archive sql`: read-only SQL over an archive's database, as a table, CSV or JSON.

The work is bounded: a statement stops after a time limit or at Ctrl-C, rows are streamed
out in batches instead of collected, and only functions that cannot reach past the data
(memory, files, code) may be called."""

from __future__ import annotations

import csv
import json
import math
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain, islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO, TypeVar

from archive import rawcontent
from archive.spreadsheets import spreadsheet_safe

if TYPE_CHECKING:
    from archive.config import InstancePaths

FORMATS = ("table", "csv", "json")
# Seconds of SQLite work a statement may take; a mistake like an endless recursive CTE
# otherwise runs until memory or patience runs out. `--timeout 0` lifts it.
DEFAULT_TIMEOUT = 30.0
# Table output cuts long cells (article bodies) so rows stay on screen; CSV and JSON don't.
TABLE_CELL_WIDTH = 60
# The table's column widths need all its rows in memory, so it shows at most this many.
TABLE_MAX_ROWS = 1000
_BATCH = 500
# SQLite VM instructions between looks at the clock and at Ctrl-C: microseconds of work,
# so stopping is prompt, and the Python call is rare enough to cost nothing measurable.
_CHECK_EVERY = 10_000

Row = tuple[Any, ...]
_T = TypeVar("_T")


class SQLError(Exception):
    """The statement failed, was refused or was stopped; the message says why."""


class Interrupted(SQLError):
    """The statement was stopped by Ctrl-C."""


class StatementSession(Protocol):
    """What `archive sql` needs of either database's session."""

    def execute(self, statement: str) -> list[str]: ...

    def batches(self, size: int = ...) -> Iterator[list[Row]]: ...

    def interrupt(self) -> None: ...

    def close(self) -> None: ...

    def __enter__(self) -> StatementSession: ...

    def __exit__(self, *_exc: object) -> None: ...


def open_session(paths: InstancePaths, timeout: float = DEFAULT_TIMEOUT) -> StatementSession:
    """A read-only session on the archive's database: SQLite (this module) or PostgreSQL
    (sql_postgres.py)."""
    if paths.sqlite_file is not None:
        return Session(paths.sqlite_file, timeout)
    from archive.sql_postgres import PostgresSession

    return PostgresSession(paths.database_url, timeout)


class ClosingSession:
    """`with` closes the session, whichever database it reads."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


_S = TypeVar("_S", bound=ClosingSession)


class Session(ClosingSession):
    """A read-only connection that runs one statement within a time limit, its rows fetched
    in batches. `interrupt()` (safe to call from a signal handler) stops it promptly."""

    def __init__(self, database: Path, timeout: float = DEFAULT_TIMEOUT) -> None:
        if not database.exists():
            raise SQLError(f"no archive database at {database} (run `archive ingest` first)")
        # mode=ro: SQLite itself refuses every write; the authorizer names what was refused.
        self._connection = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro",
                                           uri=True, timeout=30)
        self._refused: list[str] = []
        self._connection.set_authorizer(lambda *request: _authorize(self._refused, *request))
        rawcontent.register(self._connection)  # the sources_text view calls it
        # Checked inside SQLite's VM, so it stops even a statement that never yields a row.
        self._connection.set_progress_handler(self._should_stop, _CHECK_EVERY)
        self._timeout = timeout
        # Only time spent in SQLite counts: a slow reader of the output (a pager) must not
        # use up the statement's time.
        self._budget = timeout or math.inf
        self._deadline = math.inf
        self._stopped: SQLError | None = None
        self._cursor: sqlite3.Cursor | None = None

    def execute(self, statement: str) -> list[str]:
        """Start the statement; its column names."""
        self._cursor = self._step(self._connection.execute, statement)
        return [column[0] for column in self._cursor.description or ()]

    def batches(self, size: int = _BATCH) -> Iterator[list[Row]]:
        assert self._cursor is not None, "execute() first"
        while rows := self._step(self._cursor.fetchmany, size):
            yield rows

    def interrupt(self) -> None:
        self._stopped = Interrupted("stopped by Ctrl-C")

    def close(self) -> None:
        self._connection.close()

    def _step(self, work: Callable[..., _T], *args: Any) -> _T:
        if self._stopped:
            raise self._stopped
        started = time.monotonic()
        self._deadline = started + self._budget
        try:
            return work(*args)
        except sqlite3.Warning as exc:  # e.g. more than one statement
            raise SQLError(str(exc)) from None
        except sqlite3.Error as exc:
            if self._stopped:
                raise self._stopped from None
            if self._refused:
                raise SQLError(self._refused[0]) from None
            raise SQLError(_READ_ONLY.format("writing") if "readonly" in str(exc)
                           else str(exc)) from None
        finally:
            self._budget -= time.monotonic() - started

    def _should_stop(self) -> bool:
        if self._stopped is None and time.monotonic() > self._deadline:
            self._stopped = SQLError(f"stopped: the statement ran longer than {self._timeout:g} "
                                     "s (raise the limit with --timeout)")
        return self._stopped is not None


def run_query(database: Path | InstancePaths, statement: str, timeout: float = DEFAULT_TIMEOUT
              ) -> tuple[list[str], list[Row]]:
    """Column names and every row of one statement (for small results: `archive sql`
    streams them instead). `database`: a SQLite file, or an archive's paths."""
    opened = (Session(database, timeout) if isinstance(database, Path)
              else open_session(database, timeout))
    with opened as session:
        columns = session.execute(statement)
        return columns, list(chain.from_iterable(session.batches()))


_READING = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE}
_READ_ONLY = ("archive sql is read-only: {} is not allowed here (open the database with "
              "sqlite3 to change it)")

# The SQL functions a statement may call: SQLite's ordinary scalar, aggregate, window,
# date/time, math and JSON functions (some only exist in newer SQLite versions), and FTS5's
# `bm25`, `highlight`, `snippet` and `match` (the MATCH operator), and archive's own
# `sqlar_uncompress` (archive/rawcontent.py: inflates a raw input, at most to the size it is
# given; the view sources_text uses it). An allow-list, because
# some built-ins reach past the data: `fts3_tokenizer` returns and takes raw pointers,
# `fts5` hands out one, `load_extension` loads code, the sqlite3 shell's `readfile`,
# `writefile` and `edit` touch files, `sqlite_log` writes to the error log, `rtreenode`
# and friends decode internals, `sqlite_offset` exposes file offsets, and FTS3's
# `matchinfo`, `offsets` and `optimize` have no FTS3 table here to work on.
FUNCTIONS = frozenset("""
    abs changes char coalesce concat concat_ws format glob hex if ifnull iif instr
    last_insert_rowid length like likelihood likely lower ltrim max min nullif octet_length
    printf quote random randomblob replace round rtrim sign soundex sqlite_compileoption_get
    sqlite_compileoption_used sqlite_source_id sqlite_version substr substring
    total_changes trim typeof unhex unicode unistr unistr_quote unlikely upper zeroblob
    avg count group_concat string_agg sum total median percentile percentile_cont
    percentile_disc
    row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value
    nth_value
    date time datetime julianday unixepoch strftime timediff current_date current_time
    current_timestamp
    acos acosh asin asinh atan atan2 atanh ceil ceiling cos cosh degrees exp floor ln log
    log10 log2 mod pi pow power radians sin sinh sqrt tan tanh trunc
    json json_array json_array_length json_error_position json_extract json_group_array
    json_group_object json_insert json_object json_patch json_pretty json_quote json_remove
    json_replace json_set json_type json_valid jsonb jsonb_array jsonb_extract
    jsonb_group_array jsonb_group_object jsonb_insert jsonb_object jsonb_patch jsonb_remove
    jsonb_replace jsonb_set -> ->>
    bm25 highlight snippet match
    sqlar_uncompress
""".split())


def _authorize(refused: list[str], action: int, arg1: str | None, arg2: str | None,
               _database: str | None, _trigger: str | None) -> int:
    if action == sqlite3.SQLITE_FUNCTION:
        if (arg2 or "").lower() in FUNCTIONS:
            return sqlite3.SQLITE_OK
        refused.append(f"archive sql does not allow the function {(arg2 or '').lower()} "
                       "(see docs/schema.md for the functions it allows)")
        return sqlite3.SQLITE_DENY
    if action in _READING or (action == sqlite3.SQLITE_PRAGMA and (
            arg2 is None or (arg1 or "").lower() in _READ_PRAGMAS)):
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_UPDATE and arg1 in ("sqlite_master", "sqlite_schema"):
        # Full-text tables re-read their schema this way when first used in a query; the
        # read-only connection keeps anything from being written.
        return sqlite3.SQLITE_OK
    name = _ACTION_NAMES.get(action, "this statement")
    refused.append(_READ_ONLY.format(
        f"{name} {arg1}" if arg1 and action == sqlite3.SQLITE_PRAGMA else name))
    return sqlite3.SQLITE_DENY


# Pragmas that take an argument yet only read (the schema, mostly).
_READ_PRAGMAS = {"table_info", "table_xinfo", "index_list", "index_info", "index_xinfo",
                 "foreign_key_list", "table_list", "function_list", "pragma_list",
                 "collation_list", "database_list", "compile_options"}
_ACTION_NAMES = {
    sqlite3.SQLITE_INSERT: "INSERT", sqlite3.SQLITE_UPDATE: "UPDATE",
    sqlite3.SQLITE_DELETE: "DELETE", sqlite3.SQLITE_PRAGMA: "setting PRAGMA",
    sqlite3.SQLITE_ATTACH: "ATTACH", sqlite3.SQLITE_DETACH: "DETACH",
    sqlite3.SQLITE_CREATE_TABLE: "CREATE TABLE", sqlite3.SQLITE_DROP_TABLE: "DROP TABLE",
    sqlite3.SQLITE_CREATE_INDEX: "CREATE INDEX", sqlite3.SQLITE_CREATE_VIEW: "CREATE VIEW",
    sqlite3.SQLITE_TRANSACTION: "a transaction", sqlite3.SQLITE_ALTER_TABLE: "ALTER TABLE",
}


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


# The writers take the rows in batches and flush after each, so that a long statement's
# rows appear as they come and memory holds one batch, not the whole result.

def write_table(columns: Sequence[str], batches: Iterable[Sequence[Row]], out: TextIO) -> None:
    rows = list(islice(chain.from_iterable(batches), TABLE_MAX_ROWS + 1))
    cells = [[_cell_text(value) for value in row] for row in rows[:TABLE_MAX_ROWS]]
    widths = [max([len(name)] + [len(row[i]) for row in cells]) for i, name in enumerate(columns)]
    out.write("  ".join(name.ljust(w) for name, w in zip(columns, widths, strict=True)).rstrip()
              + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in cells:
        out.write("  ".join(text.ljust(w) for text, w in zip(row, widths, strict=True)).rstrip()
                  + "\n")
    if len(rows) > TABLE_MAX_ROWS:
        out.write(f"(showing the first {TABLE_MAX_ROWS:,} rows: use --format csv or --format "
                  "json for all of them, or add LIMIT to the statement)\n")


def _cell_text(value: Any) -> str:
    text = "" if value is None else str(_plain(value))
    text = " ".join(text.split())
    return text if len(text) <= TABLE_CELL_WIDTH else text[: TABLE_CELL_WIDTH - 1] + "…"


def write_csv(columns: Sequence[str], batches: Iterable[Sequence[Row]], out: TextIO) -> None:
    writer = csv.writer(out)
    writer.writerow(columns)
    for rows in batches:
        writer.writerows([spreadsheet_safe(_plain(value)) for value in row] for row in rows)
        out.flush()


def write_json(columns: Sequence[str], batches: Iterable[Sequence[Row]], out: TextIO) -> None:
    """A JSON array, one object per line. Stopped part-way, the array is left unclosed, so
    that what was printed can't be taken for the whole result."""
    out.write("[")
    separator = "\n"
    for rows in batches:
        for row in rows:
            record = {name: _plain(value) for name, value in zip(columns, row, strict=True)}
            out.write(separator + json.dumps(record, ensure_ascii=False))
            separator = ",\n"
        out.flush()
    out.write("]\n" if separator == "\n" else "\n]\n")


WRITERS = {"table": write_table, "csv": write_csv, "json": write_json}
