"""Metadata saved beside the files (`--meta manifest.csv`): one row per file, by path."""

from __future__ import annotations

import csv
import os
from pathlib import Path

# Columns a manifest may have besides `path`; each becomes a supplied value for its file.
MANIFEST_FIELDS = ("url", "outlet", "date", "title", "byline", "language")


class ManifestError(Exception):
    """The manifest itself cannot be used; the message says why."""


def load_manifest(path: Path) -> dict[str, dict[str, str]]:
    """Supplied values by absolute file path; relative paths are relative to the manifest."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise ManifestError(f"cannot read the manifest {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ManifestError(f"the manifest {path} is not a readable CSV file ({exc})") from None
    if not rows or "path" not in rows[0]:
        raise ManifestError(f"the manifest {path} needs a header row with a 'path' column "
                            f"and any of: {', '.join(MANIFEST_FIELDS)}")
    base = path.resolve().parent
    values: dict[str, dict[str, str]] = {}
    for row in rows:
        name = (row.get("path") or "").strip()
        if not name:
            continue
        supplied = {key: row[key].strip() for key in MANIFEST_FIELDS
                    if (row.get(key) or "").strip()}
        # realpath, not Path.resolve: a row naming a symlink loop must not raise (3.11 does).
        values[os.path.realpath(base / name)] = supplied
    return values
