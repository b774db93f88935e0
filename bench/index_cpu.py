"""CPU per article of the index helper's work, phase by phase, in one process.

    python bench/index_cpu.py FILE.jsonl [--n 8000] [--profile merge|add]

Reads N articles of a JSON Lines file (`bench/corpus.py`'s), then measures, in CPU time of
this process: analysing the text fields (what Whoosh's field.index does), adding them to
one Whoosh writer (analysis + posting pool), committing that writer (sorting the pool,
writing the packed blocks, columns), and one tier merge of 8 segments of N/8 articles (what
the index helper does every 8 segments of a tier during a load). `--profile` prints cProfile's
top entries of one phase (cProfile roughly doubles the times it shows).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import pstats
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from archive.index.schema import _fields
from archive.index.searchindex import SearchIndex
from archive.index.types import IndexDoc


def _load(path: Path, n: int) -> list[IndexDoc]:
    docs = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if number > n:
                break
            record = json.loads(line)
            docs.append(IndexDoc(id=number, title=record.get("title") or "",
                                 body=record.get("text") or "",
                                 outlet=record.get("source_domain") or "outlet",
                                 published=dt.date(2020, 1, 2), language="en",
                                 byline=", ".join(record.get("authors") or []) or None))
    return docs


def _timed(label: str, count: int, work: Callable[[], None], profile: bool) -> None:
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    started = time.process_time()
    work()
    spent = time.process_time() - started
    if profiler:
        profiler.disable()
    print(f"{label:<40} {spent * 1000 / count:7.2f} ms per article")
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--n", type=int, default=8000)
    parser.add_argument("--profile", choices=["add", "merge"])
    args = parser.parse_args()
    docs = _load(args.file, args.n)
    folder = Path(tempfile.mkdtemp())
    try:
        index = SearchIndex(folder / "analysis")
        schema = index._index.schema

        def analyse() -> None:
            for doc in docs:
                for name, value in _fields(doc).items():
                    field = schema[name]
                    if field.indexed and isinstance(value, str):
                        for _ in field.index(value):
                            pass

        _timed("analysis (field.index)", len(docs), analyse, False)
        index.close()
        index = SearchIndex(folder / "one")
        writer = index._writer(limitmb=256)

        def add() -> None:
            for doc in docs:
                writer.add_document(**_fields(doc))

        _timed("add_document (analysis + pool)", len(docs), add, args.profile == "add")
        _timed("commit of the new segment", len(docs), writer.commit, False)
        index.close()
        index = SearchIndex(folder / "tiers")
        per = len(docs) // 8
        for start in range(0, per * 8, per):
            writer = index._writer(limitmb=256)
            for doc in docs[start:start + per]:
                writer.add_document(**_fields(doc))
            writer.commit(merge=False)
        _timed("tier merge of 8 segments", per * 8, lambda: print(
            "segments left:", index.merge_segments()), args.profile == "merge")
        index.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
