"""Outlet names from web addresses and from names as written, through a table users can extend.

The shipped table (archive/data/outlets.csv) maps domains to the name each outlet uses for
itself, with other names it goes by. Users add or override rows with a CSV of the same
columns: the file named by ARCHIVE_OUTLETS, and an archive's own outlets.csv, which the
application hands to load_user_table(). Their rows win over the shipped ones.
"""

from __future__ import annotations

import csv
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from archive import domains

USER_TABLE_ENV = "ARCHIVE_OUTLETS"
# (file, whether it is reference data rather than hand-checked rows)
_SHIPPED_TABLES = (("outlets_reference.csv", True), ("outlets.csv", False))
_ROLES_TABLE = "not_publishers.csv"
_ALIAS_SEPARATOR = "|"
_SPACE = re.compile(r"\s+")
_NOT_ALNUM = re.compile(r"[\W_]+")
# A name spelled as a web address: labels with a top-level domain of letters ("bbc.co.uk",
# "Example.Net"), not initials such as "u.s." or "st.petersburg times".
_HOST_LIKE = re.compile(r"(?:https?://)?(?:[\w-]+\.)+[^\W\d_][\w-]+(?:[/:?#]\S*)?")
# Host labels that say which edition or version of a site a page is from, never which site:
# the same outlet answers at www., m., amp., news., edition., en. ...
GENERIC_LABELS = frozenset(
    "www m mobile amp edition editions news home web online beta int international global "
    "en english de fr es it pt ru uk ar tr pl nl ja zh ko us ca au in br mx cn".split())
_WWW = re.compile(r"www\d*")


class OutletTableError(ValueError):
    """A user's outlet table cannot be read; the message names the file and the line."""


@dataclass(slots=True)
class _Tables:
    by_domain: dict[str, str] = field(default_factory=dict)
    by_name: dict[str, str] = field(default_factory=dict)


# Leading articles that a masthead may be written with or without ("Le Monde", "Monde").
_ARTICLES = re.compile(r"^(?:(?:the|le|la|les|el|los|las|il|lo|der|die|das|de|het|o|a|os|as)"
                       r"\s+|l['’])(?=\w)", re.I)


_lock = threading.Lock()
_tables: _Tables | None = None
_user_files: list[Path] = []


def outlet_for_url(url: str) -> str | None:
    """The outlet that publishes at `url`, if its host or a parent domain up to the
    registered domain is known (a row for a public suffix such as blogspot.com does not
    name the sites under it)."""
    host = domains.host_of(url)
    if not host:
        return None
    by_domain = _current().by_domain
    host = host.removeprefix("www.")
    registered = domains.registered_domain(host) or host
    parts = host.split(".")
    for start in range(len(parts)):
        candidate = ".".join(parts[start:])
        if name := by_domain.get(candidate):
            return name
        if candidate == registered:
            break
    return None


def known_outlet(name: str) -> str | None:
    """The canonical name of an outlet from one of its names, aliases or domains, any case."""
    key = _name_key(name)
    if not key:
        return None
    by_name = _current().by_name
    if found := by_name.get(key):
        return found
    if "." in key and " " not in key:
        return outlet_for_url(key)
    return None


def without_article(name: str) -> str:
    """The name without a leading article: "Le Monde" -> "Monde", "The Republic" -> "Republic"."""
    return _ARTICLES.sub("", name)


def publisher_role(name: str) -> str | None:
    """What a name is when it is never a page's own publisher: "parent" (a media group),
    "wire", "photo" (an agency), "platform" or "vendor"; None for any other name.

    Companies write their names with and without spaces ("NBC Universal") and with a legal
    form or a company word after them ("NBCUniversal Media, LLC"): both are looked past."""
    roles = _roles()
    key = _name_key(name)
    while key:
        if role := roles.get(key) or roles.get(_compact(key)):
            return role
        shorter = _COMPANY_TAIL.sub("", key)
        if shorter == key:
            return None
        key = shorter
    return None


# A legal form or company word at the end of a company's name.
_COMPANY_TAIL = re.compile(r"[\s,]+(?:inc|llc|ltd|limited|pty|corp|corporation|plc|gmbh|ag|s\.a|"
                           r"s\.p\.a|s\.r\.l|b\.?v|n\.?v|media|group|holdings|company|co)\.?$")


def _compact(key: str) -> str:
    return _NOT_ALNUM.sub("", key)


@lru_cache(maxsize=1)
def _roles() -> dict[str, str]:
    table = resources.files("archive") / "data" / _ROLES_TABLE
    roles: dict[str, str] = {}
    with table.open(encoding="utf-8") as handle:
        rows = csv.reader(line for line in handle if line.strip() and not line.startswith("#"))
        header = next(rows, None)
        if header != ["name", "kind"]:
            raise OutletTableError(f"{_ROLES_TABLE}: the first row must be 'name,kind'")
        for row in rows:
            if len(row) >= 2 and row[0].strip():
                key = _name_key(row[0])
                roles[key] = row[1].strip()
                roles.setdefault(without_article(key), row[1].strip())
                roles.setdefault(_compact(key), row[1].strip())
    return roles


def matching_key(name: str) -> str:
    """What two spellings of one outlet share within an archive: "The Northport Gazette",
    "NORTHPORT GAZETTE" and "northportgazette.example" all give "northportgazette".

    A bare host gives the labels left of its public suffix, less generic subdomain labels
    ("www", "news", "m", "amp", "edition", ...): "news.bbc.co.uk" and "bbc.co.uk"
    give "bbc" as "BBC" does, "news.sky.com" gives "sky". Other sites under one
    registered domain stay apart: "g1.globo.com" gives "g1globo", not the "globo" of
    another Globo site, and foo.blogspot.com is not bar.blogspot.com."""
    key = _name_key(name)
    if _HOST_LIKE.fullmatch(key) and (labels := _site_labels(domains.host_of(key))):
        key = "".join(labels)
        key = key.removeprefix("the") if len(key) > 4 else key
    else:
        key = key.removeprefix("the ")
    return _NOT_ALNUM.sub("", key)


def _site_labels(host: str | None) -> list[str]:
    """The labels that name a site: its registered label and the specific ones before it."""
    domain = domains.registered_domain(host)
    if not domain:
        return []
    label = domain.split(".")[0]
    if label in GENERIC_LABELS:  # news.com.au is a site, not the word "news"
        return [domain]
    specific = [part for part in domains.subdomain_labels(host)
                if part not in GENERIC_LABELS and not _WWW.fullmatch(part)]
    return [*specific, label]


def load_user_table(path: str | os.PathLike[str]) -> int:
    """Add a user's outlets.csv (columns domain,name[,aliases]) to the table of this process.

    A missing file is not an error (an archive need not have one) and adds nothing; the
    number of outlets read is returned. Rows of later files win over earlier ones.
    """
    global _tables
    path = Path(path)
    if not path.is_file():
        return 0
    rows = _read_rows(path)  # read first: a broken file must not leave the table half-changed
    with _lock:
        if path not in _user_files:
            _user_files.append(path)
        _tables = None
    return len(rows)


def reset_tables() -> None:
    """Forget user tables and re-read the files on next use (for tests and reloads)."""
    global _tables
    with _lock:
        _user_files.clear()
        _tables = None


def _current() -> _Tables:
    global _tables
    tables = _tables
    if tables is not None:
        return tables
    with _lock:
        if _tables is None:
            _tables = _build()
        return _tables


def _build() -> _Tables:
    tables = _Tables()
    # The reference table first, so the hand-written one wins where both name a domain.
    for table, reference in _SHIPPED_TABLES:
        shipped = resources.files("archive") / "data" / table
        with shipped.open(encoding="utf-8") as handle:
            _merge(tables, _parse(handle, f"the shipped outlet table {table}"),
                   bare_aliases=not reference)
    sources = list(_user_files)
    if env := os.environ.get(USER_TABLE_ENV):
        env_path = Path(env)
        if not env_path.is_file():
            raise OutletTableError(f"{USER_TABLE_ENV} names {env}, which is not a file")
        sources.insert(0, env_path)
    for path in sources:
        _merge(tables, _read_rows(path))
    return tables


def _read_rows(path: Path) -> list[tuple[str, str, list[str]]]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return _parse(handle, str(path))
    except (OSError, UnicodeDecodeError) as exc:
        raise OutletTableError(f"cannot read the outlet table {path}: {exc}") from None


def _parse(lines: Iterable[str], source: str) -> list[tuple[str, str, list[str]]]:
    numbered = ((number, line) for number, line in enumerate(lines, 1)
                if line.strip() and not line.lstrip().startswith("#"))
    rows: list[tuple[str, str, list[str]]] = []
    header: list[str] | None = None
    for number, line in numbered:
        record = next(csv.reader([line]))
        if header is None:
            header = [cell.strip().lower() for cell in record]
            if header[:2] != ["domain", "name"]:
                raise OutletTableError(
                    f"{source}, line {number}: the first row must be the header "
                    "'domain,name' (optionally followed by ',aliases')")
            continue
        cells = dict(zip(header, (cell.strip() for cell in record), strict=False))
        domain = _domain_key(cells.get("domain", ""))
        name = _SPACE.sub(" ", cells.get("name", "")).strip()
        if not domain or not name:
            raise OutletTableError(f"{source}, line {number}: each row needs a domain and a name")
        aliases = [a.strip() for a in (cells.get("aliases") or "").split(_ALIAS_SEPARATOR)]
        rows.append((domain, name, [a for a in aliases if a]))
    return rows


def _merge(tables: _Tables, rows: list[tuple[str, str, list[str]]], *,
           bare_aliases: bool = True) -> None:
    """Add rows; `bare_aliases`: also know each name without its leading article, which only
    checked rows may do ("News" must not become the name of an outlet called "Le News")."""
    for domain, name, aliases in rows:
        tables.by_domain[domain] = name
        for alias in (name, *aliases, domain):
            key = _name_key(alias)
            tables.by_name[key] = name
            # "Detroit News" for "The Detroit News", "Monde" for "Le Monde", unless that is
            # another outlet's name
            bare = without_article(key)
            if bare_aliases and bare != key and (len(bare) >= 5 or key.startswith("the ")) \
                    and bare not in _SECTION_WORDS:
                tables.by_name.setdefault(bare, name)


# Menu labels that some outlet's name is made of with an article ("The News", "The Week"):
# alone on a page they name a section, never that outlet.
_SECTION_WORDS = frozenset(
    "news sport sports home world business opinion politics money tech health life style "
    "travel culture weather video live latest week today local nation".split())


def _domain_key(value: str) -> str:
    value = value.strip().lower()
    if "//" in value:
        try:
            value = urlsplit(value).hostname or ""
        except ValueError:
            return ""
    return value.strip("/. ").removeprefix("www.")


def _name_key(name: str) -> str:
    return _SPACE.sub(" ", name).strip().casefold()
