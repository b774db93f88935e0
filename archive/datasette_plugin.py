"""A Datasette plugin, found through the `datasette` entry point when Datasette is installed
beside archive: it gives Datasette's connections `sqlar_uncompress`, so that the view
sources_text shows raw inputs there too. Only Datasette imports this module."""

from __future__ import annotations

import sqlite3

from datasette import hookimpl  # type: ignore[import-untyped]

from archive import rawcontent


@hookimpl
def prepare_connection(conn: sqlite3.Connection) -> None:
    rawcontent.register(conn)
