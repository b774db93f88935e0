"""End-to-end benchmark: build an archive of N articles, then time searches against it.

    python bench/run.py 100000 [--text-from ../shared/corpus] [--format jsonl|txt|html]
                               [--workdir DIR] [--rounds 3]

1. Generates N news-like articles with bench/corpus.py and ingests them with
   `archive ingest --jobs 2` (timed: articles/s end to end).
2. Replays a fixed, seeded mix of 50 queries (single terms, AND, phrases, outlet filter,
   date range, story mode) through the JSON API of `archive serve`, each asking for 10 hits
   with snippets and facet counts by outlet and year, and after each query's first page
   what a reader does next: its second page (if any), and a click on its top outlet.
   `--rounds` rounds, each on a freshly started server whose posting lists are warmed by
   the mix under other queries first (so a first page is a new search, as for a reader, and
   paging can use what the first page kept): p50/p95/p99 latency per round, medians over
   the rounds, per kind of query; the web process's peak memory.
3. Runs the same requests in the same run against SQLite FTS5 (the archive's own
   articles_fts: top 10 by bm25 with snippets, plus counts by outlet and year over all
   matches), the reference that matters on a noisy machine: the ratio of the two p95s.
4. Times `archive search` from the shell on part of the mix (wall time, process start
   included).
5. Reports database and index size against the size of the article text, and for every
   query whose hit count differs from FTS5's, why (bench/hitcounts.py).

Prints a table and writes the figures as JSON next to the archive (results.json).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402 - the sibling module, run as a script
import hitcounts  # noqa: E402 - the same

ARCHIVE = [sys.executable, "-m", "archive.cli"]
_WORD = re.compile(r"[A-Za-z]{4,}")


def build(n: int, workdir: Path, fmt: str, text_from: Path | None, jobs: int,
          reuse: bool = False) -> dict:
    files = workdir / f"corpus-{fmt}-{n}"
    if not files.exists():
        started = time.perf_counter()
        corpus.write(corpus.articles(n, text_from=text_from), files, fmt)
        print(f"generated {n} articles as {fmt} in {time.perf_counter() - started:.0f} s",
              flush=True)
    instance = workdir / f"instance-{fmt}-{n}"
    seconds = float("nan")
    if not (reuse and (instance / "archive.db").exists()):
        shutil.rmtree(instance, ignore_errors=True)
        started = time.perf_counter()
        result = subprocess.run([*ARCHIVE, "--instance", str(instance), "ingest", "--jobs",
                                 str(jobs), str(files)], capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if result.returncode != 0:
            sys.exit(f"ingest failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    with sqlite3.connect(instance / "archive.db") as db:
        added = db.execute("SELECT count(*) FROM articles").fetchone()[0]
        text_bytes = db.execute("SELECT sum(length(CAST(body AS BLOB)) + "
                                "length(CAST(coalesce(title, '') AS BLOB))) FROM articles"
                                ).fetchone()[0]
    database = sum(p.stat().st_size for p in instance.glob("archive.db*"))
    index = sum(p.stat().st_size for p in (instance / "index").iterdir())
    inputs = sum(p.stat().st_size for p in files.rglob("*") if p.is_file())
    print(f"ingested {added} articles in {seconds:.0f} s = {added / seconds:.0f} articles/s",
          flush=True)
    return {"instance": str(instance), "articles": added, "ingest_seconds": round(seconds, 1),
            "ingest_rate": round(added / seconds, 1), "database_mb": round(database / 1e6, 1),
            "index_mb": round(index / 1e6, 1), "text_mb": round(text_bytes / 1e6, 1),
            "input_mb": round(inputs / 1e6, 1),
            "size_ratio": round((database + index) / text_bytes, 2)}


def query_mix(instance: Path, seed: int = 7) -> list[dict]:
    """50 queries drawn from the archive's own text, so every kind finds something."""
    rng = random.Random(seed)
    with sqlite3.connect(instance / "archive.db") as db:
        bodies = [row[0] for row in db.execute(
            "SELECT body FROM articles ORDER BY id LIMIT 2000")]
        outlets = [row[0] for row in db.execute(
            "SELECT o.name FROM articles a JOIN outlets o ON o.id = a.outlet_id "
            "GROUP BY o.name ORDER BY count(*) DESC LIMIT 20")]
    words = [w.lower() for body in bodies for w in _WORD.findall(body)]
    common = [w for w, _ in sorted(_counts(words).items(), key=lambda p: -p[1])[50:400]]
    rare = [w for w, n in _counts(words).items() if 3 <= n <= 10]
    mix: list[dict] = []
    for _ in range(15):
        mix.append({"kind": "term", "q": rng.choice(common if rng.random() < 0.6 else rare)})
    for _ in range(10):
        mix.append({"kind": "and", "q": f"{rng.choice(common)} {rng.choice(common)}"})
    for _ in range(10):
        body = rng.choice(bodies).split()
        start = rng.randrange(max(1, len(body) - 2))
        phrase = " ".join(re.sub(r"\W", "", w) for w in body[start:start + 2])
        mix.append({"kind": "phrase", "q": f'"{phrase.lower()}"'})
    for _ in range(5):
        mix.append({"kind": "outlet", "q": rng.choice(common), "outlet": rng.choice(outlets)})
    for _ in range(5):
        year = rng.randrange(2010, 2024)
        mix.append({"kind": "dates", "q": rng.choice(common), "from": f"{year}-01-01",
                    "to": f"{year}-06-30"})
    for _ in range(5):
        mix.append({"kind": "stories", "q": rng.choice(common), "stories": "1"})
    return mix


def _counts(words: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for word in words:
        counts[word] = counts.get(word, 0) + 1
    return counts


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# A reader's next requests after a query's first page: its second page (when there is one),
# and the first page narrowed to the outlet with the most matches (a facet click; for a query
# that already has an outlet, a second outlet beside it).
STEPS = ("first", "page 2", "facet click")
FOLLOW_UPS = STEPS[1:]
# A word no article has: `(query) OR WARM_WORD` reads the posting lists of `query` without
# being the same query, so the timed first visit meets the same warm posting lists as on a
# version that keeps no results, and no kept answer.
WARM_WORD = "zzqxjvw"


def _pairs(query: dict, step: str, click: str | None = None, *, warm: bool = False
           ) -> list[tuple[str, str]]:
    pairs = [("q", f"({query['q']}) OR {WARM_WORD}" if warm else query["q"]),
             ("per_page", "10")]
    for key in ("from", "to", "stories"):
        if key in query:
            pairs.append((key, query[key]))
    outlets = [query["outlet"]] if "outlet" in query else []
    if step == "facet click" and click is not None:
        outlets.append(click)
    pairs += [("outlet", name) for name in outlets]
    if step == "page 2":
        pairs.append(("page", "2"))
    return pairs


def _next_steps(query: dict, answer: dict) -> dict:
    """What a reader can do after this first page: turn to page 2 if there is one, click the
    outlet with the most matches that is not chosen yet (None: nothing to click)."""
    return {"page 2": answer["total"] > 10,
            "facet click": next((facet["value"] for facet in answer["facets"]["outlet"]
                                 if facet["value"] and facet["value"] != query.get("outlet")),
                                None)}


def _skipped(step: str, steps: dict | None) -> bool:
    return step != "first" and not (steps or {}).get(step)


def _start_server(instance: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    server = subprocess.Popen([*ARCHIVE, "--instance", str(instance), "serve", "--port",
                               str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return server, f"http://127.0.0.1:{port}/api/search?"


def _ask(base: str, pairs: list[tuple[str, str]]) -> tuple[float, dict]:
    started = time.perf_counter()
    with urllib.request.urlopen(base + urllib.parse.urlencode(pairs), timeout=120) as response:
        answer = json.load(response)
    return (time.perf_counter() - started) * 1000, answer


def time_api(instance: Path, mix: list[dict], rounds: int) -> dict:
    """Each round on a fresh `archive serve` (nothing kept from the round before): the mix
    once, untimed, as `(query) OR WARM_WORD` to warm the posting lists, then each query's
    first page, second page and a facet click, timed."""
    per_round: list[dict[str, list[float]]] = []
    next_steps: list[dict] = []
    totals: list[int] = []
    memory, first_answer = 0.0, float("nan")
    for round_number in range(rounds):
        server, base = _start_server(instance)
        try:
            opened = time.perf_counter()
            _wait_for(base + "q=test", server)
            if round_number == 0:
                first_answer = time.perf_counter() - opened
            for query in mix:
                _ask(base, _pairs(query, "first", warm=True))
            timings: dict[str, list[float]] = {}
            for number, query in enumerate(mix):
                for step in STEPS:
                    steps = next_steps[number] if number < len(next_steps) else None
                    if _skipped(step, steps):
                        continue
                    elapsed, answer = _ask(base, _pairs(query, step,
                                                        (steps or {}).get("facet click")))
                    timings.setdefault(query["kind"] if step == "first" else step,
                                       []).append(elapsed)
                    if step == "first" and round_number == 0:
                        totals.append(answer["total"])
                        next_steps.append(_next_steps(query, answer))
            per_round.append(timings)
            memory = max(memory, _peak_memory_mb(server.pid))
        finally:
            server.terminate()
            server.wait(timeout=30)
            assert server.stderr is not None
            server.stderr.close()
    return {**_summary(per_round), "peak_memory_mb": memory,
            "first_answer_s": round(first_answer, 2), "totals": totals, "next_steps": next_steps}


def _wait_for(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 600
    while True:
        try:
            with urllib.request.urlopen(url, timeout=120):
                return
        except OSError:
            if server.poll() is not None:
                sys.exit(f"archive serve stopped:\n{server.stderr.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                sys.exit("archive serve did not answer")
            time.sleep(0.3)


def _peak_memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def time_fts(instance: Path, mix: list[dict], rounds: int, next_steps: list[dict]) -> dict:
    """The same requests on SQLite FTS5: top 10 with snippets, counts by outlet and year;
    a second page is the next 10 (and the counts again: FTS5 keeps nothing either way)."""
    db = sqlite3.connect(instance / "archive.db")
    outlet_ids = dict(db.execute("SELECT name, id FROM outlets"))
    per_round: list[dict[str, list[float]]] = []
    totals = []
    for round_number in range(rounds + 1):  # the first round warms SQLite's cache up
        timings: dict[str, list[float]] = {}
        for query, steps in zip(mix, next_steps, strict=True):
            for step in STEPS:
                if _skipped(step, steps):
                    continue
                where = ["articles_fts MATCH ?"]
                params: list = [query["q"]]
                outlets = [query["outlet"]] if "outlet" in query else []
                if step == "facet click":
                    outlets.append(steps["facet click"])
                if outlets:
                    where.append(f"a.outlet_id IN ({', '.join('?' * len(outlets))})")
                    params += [outlet_ids.get(name, -1) for name in outlets]
                if "from" in query:
                    where.append("a.published_date BETWEEN ? AND ?")
                    params += [query["from"], query["to"]]
                condition = " AND ".join(where)
                joined = ("FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid "
                          f"WHERE {condition}")
                offset = 10 if step == "page 2" else 0
                started = time.perf_counter()
                db.execute(f"SELECT a.id, a.title, snippet(articles_fts, 2, '<b>', '</b>', '…',"
                           f" 12) {joined} ORDER BY rank LIMIT 10 OFFSET {offset}",
                           params).fetchall()
                counted = db.execute(f"SELECT a.outlet_id, count(*) {joined} "
                                     "GROUP BY a.outlet_id", params).fetchall()
                db.execute(f"SELECT substr(a.published_date, 1, 4), count(*) {joined} "
                           "GROUP BY 1", params).fetchall()
                elapsed = (time.perf_counter() - started) * 1000
                timings.setdefault(query["kind"] if step == "first" else step,
                                   []).append(elapsed)
                if step == "first" and round_number == 0:
                    totals.append(sum(n for _, n in counted))
        if round_number:
            per_round.append(timings)
    db.close()
    return {**_summary(per_round), "totals": totals}


def time_cli(instance: Path, mix: list[dict], runs: int = 20) -> dict:
    seconds = []
    for query in mix[:runs]:
        started = time.perf_counter()
        subprocess.run([*ARCHIVE, "--instance", str(instance), "search", query["q"]],
                       capture_output=True, check=True)
        seconds.append((time.perf_counter() - started) * 1000)
    return _percentiles(seconds)


def _percentiles(values: list[float]) -> dict:
    values = sorted(values)
    if not values:
        return {}

    def at(share: float) -> float:
        return round(values[min(len(values) - 1, int(share * len(values)))], 1)

    return {"p50_ms": round(statistics.median(values), 1), "p95_ms": at(0.95),
            "p99_ms": at(0.99), "queries": len(values)}


def _summary(per_round: list[dict[str, list[float]]]) -> dict:
    """Percentiles per round, then their medians over the rounds: per kind, for first
    visits (the whole mix, as one reader's new searches), and for the follow-ups."""

    def medians(pick: Callable[[dict[str, list[float]]], list[float]]) -> dict:
        rounds = [_percentiles(pick(timings)) for timings in per_round]
        rounds = [found for found in rounds if found]
        if not rounds:
            return {}
        return {key: round(statistics.median(r[key] for r in rounds), 1)
                for key in ("p50_ms", "p95_ms", "p99_ms")} | {
                    "queries": sum(r["queries"] for r in rounds), "rounds": len(rounds)}

    kinds = list(dict.fromkeys(kind for timings in per_round for kind in timings))
    first = medians(lambda timings: [ms for kind, values in timings.items()
                                     if kind not in FOLLOW_UPS for ms in values])
    return {**first,
            "follow_ups": medians(lambda timings: [ms for kind in FOLLOW_UPS
                                                   for ms in timings.get(kind, [])]),
            "by_kind": {kind: medians(lambda timings, k=kind: timings.get(k, []))
                        for kind in kinds}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int)
    parser.add_argument("--text-from", type=Path)
    parser.add_argument("--format", choices=["jsonl", "txt", "html"], default="jsonl")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--skip-search", action="store_true", help="time the ingest only")
    parser.add_argument("--reuse", action="store_true",
                        help="search the archive a previous run built, without ingesting")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="archive-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    figures = {"n": args.n, "format": args.format, "machine": _machine(),
               "build": build(args.n, workdir, args.format, args.text_from, args.jobs,
                              args.reuse)}
    instance = Path(figures["build"]["instance"])
    if not args.skip_search:
        mix = query_mix(instance)
        figures["api"] = time_api(instance, mix, args.rounds)
        figures["fts5"] = time_fts(instance, mix, args.rounds, figures["api"].pop("next_steps"))
        figures["cli"] = time_cli(instance, mix)
        api, fts = figures["api"], figures["fts5"]
        figures["p95_ratio_to_fts5"] = round(api["p95_ms"] / max(fts["p95_ms"], 0.01), 2)
        compared = [(query, found, fts5) for found, fts5, query
                    in zip(api.pop("totals"), fts.pop("totals"), mix, strict=True)
                    if query["kind"] != "stories"]
        figures["hit_counts_agree"] = sum(found == fts5 for _, found, fts5 in compared)
        # Each difference with the articles behind it and why (bench/hitcounts.py).
        figures["hit_count_differences"] = [hitcounts.explain(instance, query)
                                            for query, found, fts5 in compared if found != fts5]
    (workdir / f"results-{args.format}-{args.n}.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))


def _machine() -> dict:
    return {"cpus": os.cpu_count(), "python": sys.version.split()[0],
            "load_average": os.getloadavg()}


if __name__ == "__main__":
    main()
