"""An archive's own settings: `settings.toml` in its instance folder (optional).

    [search]
    deadline_seconds = 10   # a search running longer stops with a message; 0: no limit
    engine = "whoosh"       # or "postgresql": the search engine inside a PostgreSQL database

    [database]
    url = "postgresql://archive@db.example.org/news"   # instead of archive.db in the folder
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from archive.index.bounds import DEFAULT_DEADLINE_SECONDS

SETTINGS_FILE = "settings.toml"
# Every setting by table; anything else is refused, so that a misspelt name is not ignored
# without a word.
KNOWN = {"search": ("deadline_seconds", "engine"), "database": ("url",)}
# Search engines: Whoosh's index in the instance folder, or the database's own full text.
ENGINES = ("whoosh", "postgresql")


class SettingsError(Exception):
    """The settings file cannot be used; the message names the file and the setting."""


@dataclass(frozen=True, slots=True)
class Settings:
    search_deadline_seconds: float = DEFAULT_DEADLINE_SECONDS
    # The archive's database when it is not archive.db in the folder (a SQLAlchemy URL).
    database_url: str | None = None
    search_engine: str = "whoosh"


def load_settings(path: Path) -> Settings:
    """The settings in `path`, or the defaults when there is no such file."""
    try:
        with path.open("rb") as handle:
            table = tomllib.load(handle)
    except FileNotFoundError:
        return Settings()
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read the settings ({exc})") from None
    known = ", ".join(f"{name}.{key}" for name, keys in KNOWN.items() for key in keys)
    unknown = [f"[{name}]" for name, value in table.items()
               if name not in KNOWN or not isinstance(value, dict)]
    unknown += [f"{name}.{key}" for name, keys in KNOWN.items()
                if isinstance(table.get(name), dict)
                for key in table[name] if key not in keys]
    if unknown:
        raise SettingsError(f"{path}: unknown setting {', '.join(unknown)} (known: {known})")
    search, database = table.get("search", {}), table.get("database", {})
    deadline = search.get("deadline_seconds", DEFAULT_DEADLINE_SECONDS)
    if isinstance(deadline, bool) or not isinstance(deadline, int | float) or deadline < 0:
        raise SettingsError(f"{path}: search.deadline_seconds must be a number of seconds "
                            f"(0 for no limit), not {deadline!r}")
    url = database.get("url")
    if url is not None and (not isinstance(url, str) or not url.strip()):
        raise SettingsError(f"{path}: database.url must be a database URL such as "
                            "\"postgresql://user@host/dbname\"")
    engine = search.get("engine", "whoosh")
    if engine not in ENGINES:
        raise SettingsError(f"{path}: search.engine must be one of "
                            f"{', '.join(repr(e) for e in ENGINES)}, not {engine!r}")
    return Settings(search_deadline_seconds=float(deadline), database_url=url,
                    search_engine=engine)


def save_database_url(path: Path, url: str) -> None:
    """Set `[database] url` in the settings file (made if missing), keeping the other
    settings. Readable by its owner only, since the URL may carry a password."""
    settings = load_settings(path)
    # A TOML basic string: JSON's escapes (\", \\, \uXXXX) are TOML's too.
    import json

    search = ""
    if path.exists() and settings.search_deadline_seconds != DEFAULT_DEADLINE_SECONDS:
        search += f"deadline_seconds = {settings.search_deadline_seconds!r}\n"
    if settings.search_engine != "whoosh":
        search += f"engine = {json.dumps(settings.search_engine)}\n"
    if search:
        search = f"[search]\n{search}\n"

    text = f"{search}[database]\nurl = {json.dumps(url)}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.chmod(0o600)
    temporary.replace(path)
