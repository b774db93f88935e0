"""Time and profile searches in process on an existing archive (no web server in between).

    python bench/profile_search.py INSTANCE '"would be"' '"of the"' [--out phrases.prof]

Each query is timed cold (a fresh reader: nothing of the query's posting lists in memory)
and warm (its posting lists kept from the run before, as a web process keeps them, but no
kept results), three times each; then one cold run of every query is profiled with cProfile,
and the functions with the most own time are printed.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time
from pathlib import Path

from archive.config import InstancePaths
from archive.index import SearchIndex, SearchRequest
from archive.index.cache import ResultCache
from archive.instance import Archive

# A word no article has: searching it opens the readers and reads the columns, nothing else.
NOWHERE = "zzqxjvw"


def _cold(index: SearchIndex, text: str) -> tuple[float, int]:
    index.close()  # drops readers, posting lists and kept results
    index.search(SearchRequest(text=NOWHERE))
    started = time.perf_counter()
    total = index.search(SearchRequest(text=text)).total
    return time.perf_counter() - started, total


def _warm(index: SearchIndex, text: str) -> float:
    index.results = ResultCache()  # posting lists stay, the query's results do not
    started = time.perf_counter()
    index.search(SearchRequest(text=text))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("instance", type=Path)
    parser.add_argument("queries", nargs="+")
    parser.add_argument("--out", type=Path, help="where to write the cProfile statistics")
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    archive = Archive(InstancePaths(args.instance), readonly=True)
    index = archive.index
    index.deadline_seconds = None
    for text in args.queries:
        _cold(index, text)
        cold = [_cold(index, text) for _ in range(3)]
        warm = [_warm(index, text) for _ in range(3)]
        cold_ms = statistics.median(c[0] for c in cold) * 1000
        print(f"{text}: {cold[0][1]} matches; cold {cold_ms:.0f} ms, warm "
              f"{statistics.median(warm) * 1000:.0f} ms (medians of 3)", flush=True)
    profile = cProfile.Profile()
    for text in args.queries:
        index.close()
        index.search(SearchRequest(text=NOWHERE))
        profile.enable()
        index.search(SearchRequest(text=text))
        profile.disable()
    stats = pstats.Stats(profile)
    if args.out:
        stats.dump_stats(args.out)
    stats.sort_stats("tottime").print_stats(args.top)
    archive.close()


if __name__ == "__main__":
    main()
