#!/usr/bin/env python3
"""Write what `archive extract --json` gives for each case's page, as JSONL for a scorer.

    python tools/predict_cleaning.py CASES_DIR --input txt|html --out predictions.jsonl

CASES_DIR holds one folder per case with page.txt and page.html. Runs in one process
(a command per page would spend most of its time importing); nothing is supplied but the
file itself, as when a user runs `archive extract` on it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archive.document import ExtractionError  # noqa: E402
from archive.extract import extract  # noqa: E402
from archive.readers import BadRecord, Skipped, find_inputs, read_input  # noqa: E402


def predict(page: Path) -> dict[str, object]:
    for item in find_inputs([str(page)]):
        if isinstance(item, BadRecord):
            return {}
        for found in read_input(item):
            if isinstance(found, Skipped | BadRecord):
                continue
            try:
                record = extract(found).as_json()
            except ExtractionError:
                return {}
            return {key: record[key] for key in ("title", "date", "outlet", "body")}
    return {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cases", type=Path)
    parser.add_argument("--input", choices=["txt", "html"], default="txt")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    with args.out.open("w", encoding="utf-8") as out:
        for case in sorted(p for p in args.cases.iterdir() if (p / "expected.json").exists()):
            prediction = {"id": case.name, **predict(case / f"page.{args.input}")}
            out.write(json.dumps(prediction, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
