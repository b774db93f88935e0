"""`archive sql`: read-only SQL over an archive's database, as a table, CSV or JSON."""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

FORMATS = ("table", "csv", "json")
# Table output cuts long cells (article bodies) so rows stay on screen; CSV and JSON don't.
TABLE_CELL_WIDTH = 60


class SQLError(Exception):
    """The statement failed or was refused; the message says why."""


def run_query(database: Path, statement: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of one statement, with the database opened read-only."""
    if not database.exists():
        raise SQLError(f"no archive database at {database} (run `archive ingest` first)")
    # mode=ro: SQLite itself refuses every write; the authorizer names what was refused.
    connection = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    refused: list[str] = []
    connection.set_authorizer(lambda *request: _authorize(refused, *request))
    try:
        cursor = connection.execute(statement)
        columns = [column[0] for column in cursor.description or ()]
        return columns, cursor.fetchall()
    except sqlite3.Warning as exc:  # e.g. more than one statement
        raise SQLError(str(exc)) from None
    except sqlite3.Error as exc:
        if refused or "readonly" in str(exc):
            what = refused[0] if refused else "writing"
            raise SQLError(f"archive sql is read-only: {what} is not allowed here (open the "
                           "database with sqlite3 to change it)") from None
        raise SQLError(str(exc)) from None
    finally:
        connection.close()


_READING = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
            sqlite3.SQLITE_RECURSIVE}


def _authorize(refused: list[str], action: int, arg1: str | None, arg2: str | None,
               _database: str | None, _trigger: str | None) -> int:
    if action in _READING or (action == sqlite3.SQLITE_PRAGMA and (
            arg2 is None or (arg1 or "").lower() in _READ_PRAGMAS)):
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_UPDATE and arg1 in ("sqlite_master", "sqlite_schema"):
        # Full-text tables re-read their schema this way when first used in a query; the
        # read-only connection keeps anything from being written.
        return sqlite3.SQLITE_OK
    name = _ACTION_NAMES.get(action, "this statement")
    refused.append(f"{name} {arg1}" if arg1 and action == sqlite3.SQLITE_PRAGMA else name)
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


def write_table(columns: Sequence[str], rows: Sequence[tuple[Any, ...]], out: TextIO) -> None:
    cells = [[_cell_text(value) for value in row] for row in rows]
    widths = [max([len(name)] + [len(row[i]) for row in cells]) for i, name in enumerate(columns)]
    out.write("  ".join(name.ljust(w) for name, w in zip(columns, widths, strict=True)).rstrip()
              + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in cells:
        out.write("  ".join(text.ljust(w) for text, w in zip(row, widths, strict=True)).rstrip()
                  + "\n")


def _cell_text(value: Any) -> str:
    text = "" if value is None else str(_plain(value))
    text = " ".join(text.split())
    return text if len(text) <= TABLE_CELL_WIDTH else text[: TABLE_CELL_WIDTH - 1] + "…"


def write_csv(columns: Sequence[str], rows: Sequence[tuple[Any, ...]], out: TextIO) -> None:
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows([_plain(value) for value in row] for row in rows)


def write_json(columns: Sequence[str], rows: Sequence[tuple[Any, ...]], out: TextIO) -> None:
    records = [{name: _plain(value) for name, value in zip(columns, row, strict=True)}
               for row in rows]
    json.dump(records, out, ensure_ascii=False, indent=2)
    out.write("\n")


WRITERS = {"table": write_table, "csv": write_csv, "json": write_json}
