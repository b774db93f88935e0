"""Search latency of the two engines side by side, in process, on one generated corpus.

    python bench/pg_search.py postgresql://user@host/emptydb [--articles 5000]
                              [--text-from ../shared/corpus]

Ingests the same N articles (bench/corpus.py) into an embedded archive (SQLite + Whoosh)
and into the PostgreSQL database named (search.engine = "postgresql"), then runs the
query mix of bench/run.py through archive.search.search on each (10 hits with snippets,
facets, histogram), checks that both engines give the same total for every query, and
prints p50 / p95 per engine and kind of query. Warm, but each timed search is a new one:
the query mix runs once before timing, and the Whoosh engine's cache of results is emptied
before each timed search (the PostgreSQL engine keeps none in the process; the server's
buffer cache is warm).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402 - the sibling module, run as a script
import run  # noqa: E402

from archive.config import InstancePaths  # noqa: E402
from archive.index import SearchRequest  # noqa: E402
from archive.index.cache import ResultCache  # noqa: E402
from archive.ingest import IngestOptions, ingest  # noqa: E402
from archive.instance import Archive  # noqa: E402
from archive.search import search  # noqa: E402


def _archive(root: Path, url: str | None, engine: str) -> Archive:
    root.mkdir(parents=True)
    (root / "settings.toml").write_text(f'[search]\nengine = "{engine}"\n')
    return Archive(InstancePaths(root, url))


def _request(query: dict) -> SearchRequest:
    import datetime as dt

    day = dt.date.fromisoformat
    return SearchRequest(query["q"], outlets=(query["outlet"],) if "outlet" in query else (),
                         date_from=day(query["from"]) if "from" in query else None,
                         date_to=day(query["to"]) if "to" in query else None,
                         one_per_story="stories" in query, histogram=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("database")
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--text-from", type=Path, help="real text to draw words from")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pgsearch-bench-"))
    corpus.write(corpus.articles(options.articles, text_from=options.text_from),
                 work / "inputs", "jsonl")
    engines = {"whoosh": _archive(work / "whoosh", None, "whoosh"),
               "postgresql": _archive(work / "postgres", options.database, "postgresql")}
    for name, archive in engines.items():
        started = time.perf_counter()
        with archive.writing():
            added = ingest(archive, [str(work / "inputs")], IngestOptions(jobs=2)).added
        print(f"{name}: ingested {added} articles in {time.perf_counter() - started:.1f} s")
    mix = run.query_mix(work / "whoosh")
    times: dict[str, dict[str, list[float]]] = {name: {} for name in engines}
    differ = []
    for query in mix:
        request = _request(query)
        totals = {name: search(archive, request).total for name, archive in engines.items()}
        if len(set(totals.values())) > 1:
            differ.append((query["q"], totals))
        for name, archive in engines.items():
            for _ in range(options.rounds):
                archive.index.results = ResultCache()
                started = time.perf_counter()
                search(archive, request)
                elapsed = (time.perf_counter() - started) * 1000
                times[name].setdefault(query["kind"], []).append(elapsed)
                times[name].setdefault("all", []).append(elapsed)
    print(f"{len(mix)} queries, {len(mix) - len(differ)} with the same total on both engines")
    for q, totals in differ:
        print(f"  differs: {q!r} {totals}")
    print(f"{'kind':10} " + " ".join(f"{name + ' p50/p95 ms':>24}" for name in engines))
    for kind in times["whoosh"]:
        cells = []
        for name in engines:
            values = sorted(times[name][kind])
            p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
            cells.append(f"{statistics.median(values):>11.1f} / {p95:>8.1f}")
        print(f"{kind:10} " + " ".join(f"{c:>24}" for c in cells))
    for archive in engines.values():
        archive.close()


if __name__ == "__main__":
    main()
