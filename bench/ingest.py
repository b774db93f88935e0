"""Ingest throughput, end to end through the `archive` command, for one job and for two.

    python bench/ingest.py [--articles 11400] [--text-from ../shared/corpus] [--repeat 1]

Generates a corpus of mixed-format files (text dumps, ~170 KB HTML pages, JSON Lines; at
least 10,000 files for the default size) with bench/corpus.py, then ingests it into a fresh
archive with `--jobs 1` and `--jobs 2`, alternating, `--repeat` times each, and prints the
median articles/s of each configuration side by side, with their ratio. Machines here are
noisy: compare the two columns of one run, not figures from different runs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402 - the sibling module, run as a script


def ingest_once(files: Path, jobs: int, workdir: Path) -> tuple[float, int]:
    instance = workdir / f"instance-j{jobs}"
    shutil.rmtree(instance, ignore_errors=True)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "archive.cli", "--instance", str(instance),
                             "ingest", "--jobs", str(jobs), str(files)],
                            capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode not in (0, 1):
        sys.exit(f"ingest failed:\n{result.stderr[-2000:]}")
    with sqlite3.connect(instance / "archive.db") as db:
        added = db.execute("SELECT count(*) FROM articles").fetchone()[0]
    return seconds, added


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=11_400)
    parser.add_argument("--text-from", type=Path)
    parser.add_argument("--html-kb", type=int, default=170)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--workdir", type=Path, help="keep the corpus here (default: temp)")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="archive-bench-"))
    files = workdir / "corpus"
    if not files.exists():
        started = time.perf_counter()
        counts = corpus.write(corpus.articles(args.articles, text_from=args.text_from), files,
                              "mixed", html_kb=args.html_kb)
        print(f"corpus: {json.dumps(counts)} files in {time.perf_counter() - started:.0f} s "
              f"({sum(p.stat().st_size for p in files.rglob('*') if p.is_file()) / 1e6:.0f} MB)")
    total_files = sum(1 for p in files.rglob("*") if p.is_file())
    results: dict[int, list[float]] = {1: [], 2: []}
    for round_number in range(args.repeat):
        for jobs in (1, 2):
            seconds, added = ingest_once(files, jobs, workdir)
            results[jobs].append(added / seconds)
            print(f"round {round_number + 1}, --jobs {jobs}: {added} articles from "
                  f"{total_files} files in {seconds:.1f} s = {added / seconds:.1f} articles/s")
    one, two = (statistics.median(results[j]) for j in (1, 2))
    print(f"\nmedian articles/s   --jobs 1: {one:.1f}   --jobs 2: {two:.1f}   "
          f"ratio: {two / one:.2f}x   ({total_files} files, {args.repeat} run(s) each)")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
