"""Database URLs: which database an archive uses, and how its URL is shown to people.

An archive's database is the SQLite file in its instance folder unless a URL names another
(`--database`, $ARCHIVE_DATABASE_URL or settings.toml). A URL can carry a password, so it
is only ever shown through `shown()`.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

SUPPORTED = ("sqlite", "postgresql")
# SQLAlchemy's default driver for postgresql:// is psycopg2; this project ships psycopg 3.
_DRIVERS = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}
# For text that is not even a URL: whatever sits between "//" and "@" may be a password.
_LOGIN = re.compile(r"(//[^/@:]*:)[^/@]*@")


class BadDatabaseUrl(ValueError):
    """The URL cannot name an archive's database; the message says why (password hidden)."""


def parse(url: str) -> URL:
    """The URL with this project's driver filled in; BadDatabaseUrl if it is not usable."""
    try:
        parsed = make_url(url.strip())
    except (ArgumentError, ValueError) as exc:
        raise BadDatabaseUrl(f"{shown(url)} is not a database URL ({_reason(exc)}); give one "
                             "like postgresql://user@host/dbname") from None
    driver = _DRIVERS.get(parsed.drivername, parsed.drivername)
    backend = driver.split("+", 1)[0]
    if backend not in SUPPORTED:
        raise BadDatabaseUrl(f"{shown(url)}: archive works with SQLite and PostgreSQL, not "
                             f"{backend}")
    if backend == "postgresql" and not parsed.database:
        raise BadDatabaseUrl(f"{shown(url)} names no database: add /dbname at the end")
    return parsed.set(drivername=driver)


def backend_of(url: str) -> str:
    """"sqlite" or "postgresql" (or whatever else the URL names)."""
    try:
        return make_url(url).get_backend_name()
    except (ArgumentError, ValueError):
        return "?"


def sqlite_path(url: str) -> Path | None:
    """The file of a sqlite:/// URL; None for any other database (or an unusable URL)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def shown(url: str | URL) -> str:
    """The URL as it may be printed or logged: its password replaced by ***."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return _LOGIN.sub(r"\1***@", url)


def _reason(exc: Exception) -> str:
    text = str(exc)
    # SQLAlchemy quotes the whole URL in its message; the caller shows it without password.
    return "not of the form dialect://user@host/dbname" if "://" in text or "'" in text \
        else text
