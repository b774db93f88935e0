"""CSV cells that spreadsheets would run as formulas: guarded on the way out, and the guard
taken off again when our own export is read back in."""

from __future__ import annotations

from typing import Any

# What a cell may begin with for a spreadsheet to treat it as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_GUARDED = tuple("'" + start for start in FORMULA_START)


def spreadsheet_safe(value: Any) -> Any:
    """A CSV cell's value, guarded against spreadsheet formula injection (`archive export`,
    `/export.csv` and `archive sql --format csv` all write cells through this)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value  # shown as text by spreadsheets, never evaluated
    return value


def unguarded(value: str) -> str:
    """A cell as it was before spreadsheet_safe guarded it."""
    return value[1:] if value.startswith(_GUARDED) else value
