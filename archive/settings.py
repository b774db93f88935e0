"""An archive's own settings: `settings.toml` in its instance folder (optional).

    [search]
    deadline_seconds = 10   # a search running longer stops with a message; 0: no limit
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from archive.index.bounds import DEFAULT_DEADLINE_SECONDS

SETTINGS_FILE = "settings.toml"


class SettingsError(Exception):
    """The settings file cannot be used; the message names the file and the setting."""


@dataclass(frozen=True, slots=True)
class Settings:
    search_deadline_seconds: float = DEFAULT_DEADLINE_SECONDS


def load_settings(path: Path) -> Settings:
    """The settings in `path`, or the defaults when there is no such file."""
    try:
        with path.open("rb") as handle:
            table = tomllib.load(handle)
    except FileNotFoundError:
        return Settings()
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read the settings ({exc})") from None
    search = table.pop("search", {})
    # A misspelt name would otherwise be ignored without a word.
    unknown = [f"[{name}]" for name in table] + [
        f"search.{name}" for name in (search if isinstance(search, dict) else {})
        if name != "deadline_seconds"]
    if not isinstance(search, dict) or unknown:
        raise SettingsError(f"{path}: unknown setting {', '.join(unknown) or '[search]'} "
                            "(known: search.deadline_seconds)")
    deadline = search.get("deadline_seconds", DEFAULT_DEADLINE_SECONDS)
    if isinstance(deadline, bool) or not isinstance(deadline, int | float) or deadline < 0:
        raise SettingsError(f"{path}: search.deadline_seconds must be a number of seconds "
                            f"(0 for no limit), not {deadline!r}")
    return Settings(search_deadline_seconds=float(deadline))
