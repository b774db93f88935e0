"""End-to-end benchmark: build an archive of N articles, then time searches against it.

    python bench/run.py 100000 [--text-from ../shared/corpus] [--format jsonl|txt|html]
                               [--workdir DIR] [--rounds 3]
                               [--start-postgres | --database postgresql://user@host/db]

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
6. Throughput: `--clients` (8) concurrent clients against `--workers` (2) gunicorn workers
   (`gunicorn -w 2 'archive_web:create_app()'`; gunicorn is not a dependency: pip install
   gunicorn). Each client runs the whole mix in its own order as readers' sessions (first
   page, page 2, facet click), each session's query made new with `(query) OR <a word no
   article has>` so that no worker answers it from results kept for another client; the
   mix runs first under the warm-up word from every client. Requests per second over the
   whole run and latency under that load.

With `--database URL` (a PostgreSQL database the bench may empty: everything in its public
schema is dropped) or `--start-postgres` (a throwaway server from tests/pg_cluster.py with
bench/pgserver.py's settings, changed with `--pg-setting NAME=VALUE`; stopped and deleted
at the end), the same corpus then goes into a PostgreSQL archive whose search engine is the
PostgreSQL one (settings.toml: `[search] engine = "postgresql"`): ingested by one
`archive ingest` process (timed), `archive optimize` (the planner's statistics), the same
query mix through the API of `archive serve` (step 2; hit counts compared with the embedded
archive's), `archive search` (step 4), throughput (step 6), and last the database emptied
and the corpus ingested again by two `archive ingest` processes at once, each given half of
every file's records (timed until both are done).

The 1-minute load average is sampled every 30 s from /proc/loadavg throughout, labelled
with the phase of the run. Prints a table and writes the figures as JSON next to the archive
(results-FORMAT-N.json), after each phase, so that an interrupted run keeps what it measured.
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
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402 - the sibling module, run as a script
import hitcounts  # noqa: E402 - the same
import pgserver  # noqa: E402 - the same

from archive.dburl import shown  # noqa: E402 - after pgserver put the repository on the path

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
        _archive(instance, "ingest", "--jobs", str(jobs), str(files))
        seconds = time.perf_counter() - started
    else:
        # An archive kept from an older main may be a schema behind, and the web server
        # refuses to search it until upgraded.
        _archive(instance, "db", "upgrade")
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
    return {"instance": str(instance), "files": str(files), "articles": added,
            "ingest_seconds": round(seconds, 1),
            "ingest_rate": round(added / seconds, 1), "database_mb": round(database / 1e6, 1),
            "index_mb": round(index / 1e6, 1), "text_mb": round(text_bytes / 1e6, 1),
            "input_mb": round(inputs / 1e6, 1),
            "size_ratio": round((database + index) / text_bytes, 2)}


def _archive(instance: Path, *args: str) -> None:
    """Run an `archive` command on the bench's archive; stop the bench if it fails."""
    result = subprocess.run([*ARCHIVE, "--instance", str(instance), *args],
                            capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"`archive {' '.join(args)}` failed:\n{result.stdout[-2000:]}\n"
                 f"{result.stderr[-2000:]}")


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


def _wait_for(url: str, server: subprocess.Popen, log: Path | None = None) -> None:
    deadline = time.monotonic() + 600
    while True:
        try:
            with urllib.request.urlopen(url, timeout=120):
                return
        except urllib.error.HTTPError as refusal:
            # The server is up and said why it will not search (an archive to upgrade):
            # waiting longer changes nothing.
            sys.exit(f"the web server refused: {refusal.read().decode(errors='replace')[:2000]}")
        except OSError:
            if server.poll() is not None:
                said = (log.read_text(errors="replace") if log is not None
                        else server.stderr.read().decode() if server.stderr else "")
                sys.exit(f"the web server stopped:\n{said[-2000:]}")
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


def split_corpus(files: Path, parts: int) -> list[Path]:
    """The corpus dealt into `parts` folders, what concurrent ingests (from several
    machines, say) would each read: every JSON Lines file's records in turn, other files
    in turn."""
    out = files.parent / f"{files.name}-in-{parts}"
    folders = [out / f"part-{number}" for number in range(parts)]
    if out.exists():
        return folders
    building = out.with_name(out.name + ".partial")
    shutil.rmtree(building, ignore_errors=True)
    paths = sorted(path for path in files.rglob("*") if path.is_file())
    turn = 0
    for path in paths:
        relative = path.relative_to(files)
        if path.suffix == ".jsonl":
            lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
            for number in range(parts):
                target = building / f"part-{number}" / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text("".join(lines[number::parts]), encoding="utf-8")
        else:
            target = building / f"part-{turn % parts}" / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            turn += 1
    building.rename(out)
    return folders


def postgres_instance(workdir: Path, name: str, url: str) -> Path:
    """An instance folder whose settings name the PostgreSQL database and its engine."""
    instance = workdir / name
    shutil.rmtree(instance, ignore_errors=True)
    instance.mkdir(parents=True)
    settings = instance / "settings.toml"
    settings.write_text(f"[database]\nurl = {json.dumps(url)}\n\n"
                        '[search]\nengine = "postgresql"\n', encoding="utf-8")
    settings.chmod(0o600)
    return instance


def ingest_postgres(instance: Path, url: str, inputs: list[Path], jobs: int,
                    bulk: bool = False) -> dict:
    """`archive ingest` into an emptied database, one process per input folder, all at
    once; timed until the last one is done (with `bulk`, until the index of phrase pairs
    is built)."""
    pgserver.empty(url)
    # Tables first, so that the processes do not race to create them (a one-off step a
    # real archive took long before; not timed).
    subprocess.run([*ARCHIVE, "--instance", str(instance), "db", "upgrade"], check=True,
                   capture_output=True)
    env = {key: value for key, value in os.environ.items() if key != "ARCHIVE_DATABASE_URL"}
    started = time.perf_counter()
    running = [subprocess.Popen([*ARCHIVE, "--instance", str(instance), "ingest", "--jobs",
                                 str(jobs), *(["--bulk"] if bulk else []), str(folder)],
                                env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for folder in inputs]
    each = []
    for process in running:
        out, err = process.communicate()
        each.append(round(time.perf_counter() - started, 1))
        if process.returncode != 0:
            sys.exit(f"ingest into PostgreSQL failed:\n{out[-2000:]}\n{err[-2000:]}")
    seconds = time.perf_counter() - started
    stored = pgserver.sizes(url)
    rate = stored["articles"] / seconds
    print(f"PostgreSQL, {len(inputs)} ingest process(es): {stored['articles']} articles in "
          f"{seconds:.0f} s = {rate:.0f} articles/s", flush=True)
    return {"processes": len(inputs), "jobs_each": jobs, "bulk": bulk,
            "ingest_seconds": round(seconds, 1),
            "process_seconds": each, "ingest_rate": round(rate, 1), **stored}


def _absent_word(number: int) -> str:
    """A word of letters only that no article has, different for each number."""
    letters = ""
    while True:
        number, digit = divmod(number, 26)
        letters += chr(ord("a") + digit)
        if not number:
            return WARM_WORD + letters


def time_throughput(instance: Path, mix: list[dict], next_steps: list[dict], clients: int,
                    workers: int, log: Path) -> dict:
    """`clients` threads, each running the whole mix as readers' sessions in its own order,
    against `gunicorn -w workers`: requests per second and latency under that load."""
    port = _free_port()
    env = {**{key: value for key, value in os.environ.items()
              if key != "ARCHIVE_DATABASE_URL"}, "ARCHIVE_INSTANCE": str(instance)}
    with log.open("wb") as said:
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(workers), "-b",
                                   f"127.0.0.1:{port}", "--timeout", "300",
                                   "archive_web:create_app()"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=said)
    base = f"http://127.0.0.1:{port}/api/search?"
    try:
        _wait_for(base + "q=test", server, log)

        def warm(client: int) -> None:
            for query in random.Random(client).sample(mix, len(mix)):
                _ask(base, _pairs(query, "first", warm=True))

        _in_threads(warm, clients)
        timings: list[list[float]] = [[] for _ in range(clients)]
        errors: list[list[str]] = [[] for _ in range(clients)]

        def sessions(client: int) -> None:
            order = random.Random(1000 + client).sample(range(len(mix)), len(mix))
            for turn, number in enumerate(order):
                query, steps = mix[number], next_steps[number]
                new = {**query, "q": f"({query['q']}) OR "
                                     f"{_absent_word(client * len(mix) + turn)}"}
                for step in STEPS:
                    if _skipped(step, steps):
                        continue
                    started = time.perf_counter()
                    try:
                        _ask(base, _pairs(new, step, steps.get("facet click")))
                    except urllib.error.HTTPError as exc:
                        errors[client].append(f"{exc.code} {new['q']!r} {step}")
                    timings[client].append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        _in_threads(sessions, clients)
        seconds = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=60)
    every = [ms for values in timings for ms in values]
    failed = [error for each in errors for error in each]
    figures = {"clients": clients, "workers": workers, "requests": len(every),
               "sessions": clients * len(mix), "seconds": round(seconds, 1),
               "requests_per_s": round(len(every) / seconds, 1),
               "sessions_per_s": round(clients * len(mix) / seconds, 2),
               **_percentiles(every), "errors": len(failed), "error_examples": failed[:5]}
    print(f"throughput, {clients} clients against {workers} workers: "
          f"{figures['requests_per_s']} requests/s, p50 {figures['p50_ms']} ms, "
          f"p95 {figures['p95_ms']} ms, {len(failed)} errors", flush=True)
    return figures


def _in_threads(work: Callable[[int], None], count: int) -> None:
    failures: list[BaseException] = []

    def guarded(number: int) -> None:
        try:
            work(number)
        except BaseException as exc:  # reported below, in the main thread
            failures.append(exc)

    threads = [threading.Thread(target=guarded, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


class LoadSampler:
    """The load averages from /proc/loadavg every `every` seconds in a thread, each sample
    labelled with the phase of the run it fell in."""

    def __init__(self, every: float = 30.0) -> None:
        self.every = every
        self.phase = "start"
        self.samples: list[dict] = []
        self.phases: list[dict] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def mark(self, phase: str) -> None:
        self.phase = phase
        self.phases.append({"phase": phase, "at": _now()})
        print(f"{_now()} {phase} (load {' '.join(_loadavg()[:3])})", flush=True)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.mark("end")

    def _run(self) -> None:
        while True:
            load = _loadavg()
            self.samples.append({"at": _now(), "phase": self.phase, "load1": float(load[0]),
                                 "load5": float(load[1]), "load15": float(load[2]),
                                 "running": load[3]})
            if self._stop.wait(self.every):
                return

    def summary(self) -> dict:
        by_phase: dict[str, list[float]] = {}
        for sample in self.samples:
            by_phase.setdefault(sample["phase"], []).append(sample["load1"])
        return {"every_s": self.every, "phases": self.phases, "samples": self.samples,
                "load1_by_phase": {phase: {"samples": len(values), "min": min(values),
                                           "median": round(statistics.median(values), 2),
                                           "max": max(values)}
                                   for phase, values in by_phase.items()}}


def _loadavg() -> list[str]:
    return Path("/proc/loadavg").read_text().split()


def _now() -> str:
    return time.strftime("%H:%M:%S", time.gmtime())


# What --embedded-from takes from an earlier run.
EMBEDDED_SEARCH_FIGURES = ("api", "fts5", "cli", "p95_ratio_to_fts5", "api_totals",
                           "hit_counts_agree", "hit_count_differences", "throughput")


def bench_postgres(url: str, files: Path, workdir: Path, mix: list[dict], embedded: dict,
                   args: argparse.Namespace, sampler: LoadSampler, save: Callable[[], None]
                   ) -> dict:
    """The PostgreSQL archive with the PostgreSQL engine: ingest (one process), searches,
    throughput, then ingest again with two processes at once. Figures saved as they come."""
    figures: dict = {"database": shown(url), "settings": pgserver.settings_in_effect(url)}
    embedded["postgresql"] = figures
    instance = postgres_instance(workdir, f"instance-pg-{args.format}-{args.n}", url)
    if args.pg_reuse:
        figures["reused"] = pgserver.sizes(url)
    else:
        sampler.mark("PostgreSQL ingest, 1 process")
        figures["ingest_1_process"] = ingest_postgres(instance, url, [files], args.jobs,
                                                      args.pg_bulk)
        started = time.perf_counter()
        subprocess.run([*ARCHIVE, "--instance", str(instance), "optimize"], check=True,
                       capture_output=True)
        figures["optimize_seconds"] = round(time.perf_counter() - started, 1)
    save()
    if not args.skip_search:
        sampler.mark("PostgreSQL searches")
        api = figures["api"] = time_api(instance, mix, args.rounds)
        next_steps = api.pop("next_steps")
        fts = embedded["fts5"]
        figures["p95_ratio_to_fts5"] = round(api["p95_ms"] / max(fts["p95_ms"], 0.01), 2)
        figures["p95_ratio_to_embedded"] = round(
            api["p95_ms"] / max(embedded["api"]["p95_ms"], 0.01), 2)
        figures["cli"] = time_cli(instance, mix)
        totals = api.pop("totals")
        figures["hit_counts_same_as_embedded"] = sum(
            ours == theirs for ours, theirs in zip(totals, embedded["api_totals"], strict=True))
        figures["hit_count_differences"] = [
            {"q": query["q"], "kind": query["kind"], "postgresql": ours, "embedded": theirs}
            for query, ours, theirs in zip(mix, totals, embedded["api_totals"], strict=True)
            if ours != theirs]
        save()
        if not args.skip_throughput:
            sampler.mark("PostgreSQL throughput")
            figures["throughput"] = time_throughput(instance, mix, next_steps, args.clients,
                                                    args.workers, workdir / "gunicorn-pg.log")
            save()
    if args.pg_ingests == 2 and not args.pg_reuse:
        sampler.mark("PostgreSQL ingest, 2 processes")
        figures["ingest_2_processes"] = ingest_postgres(instance, url, split_corpus(files, 2),
                                                        args.jobs, args.pg_bulk)
        save()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int)
    parser.add_argument("--text-from", type=Path)
    parser.add_argument("--format", choices=["jsonl", "txt", "html"], default="jsonl")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--skip-search", action="store_true", help="time the ingest only")
    parser.add_argument("--reuse", action="store_true",
                        help="search the embedded archive a previous run built, without "
                             "ingesting it (the PostgreSQL one is always built again)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--database", metavar="URL",
                       help="also bench a PostgreSQL archive (PostgreSQL search engine) in "
                            "this database; EVERYTHING IN ITS PUBLIC SCHEMA IS DROPPED")
    where.add_argument("--start-postgres", action="store_true",
                       help="also bench a PostgreSQL archive on a throwaway server started "
                            "for the run (tests/pg_cluster.py; needs Debian's postgresql)")
    parser.add_argument("--keep-postgres", action="store_true",
                        help="leave the server of --start-postgres running at the end (its "
                             "URL and folder are printed; stop it with pg_ctl) to look into it")
    parser.add_argument("--pg-setting", action="append", default=[], metavar="NAME=VALUE",
                        help="a server setting for --start-postgres, over bench/pgserver.py's "
                             f"({', '.join(f'{k}={v}' for k, v in pgserver.SETTINGS.items())})")
    parser.add_argument("--clients", type=int, default=8,
                        help="concurrent clients of the throughput step (default 8)")
    parser.add_argument("--workers", type=int, default=2,
                        help="gunicorn workers of the throughput step (default 2)")
    parser.add_argument("--embedded-from", type=Path, metavar="RESULTS",
                        help="take the embedded archive's and FTS5's search figures from an "
                             "earlier run's results file on the same archive (with --reuse) "
                             "instead of measuring them again")
    parser.add_argument("--pg-ingests", type=int, choices=(1, 2), default=2,
                        help="1: only the one-process PostgreSQL ingest")
    parser.add_argument("--pg-bulk", action="store_true",
                        help="PostgreSQL ingests with --bulk (the index of phrase pairs built "
                             "at the end, within the timed run)")
    parser.add_argument("--skip-throughput", action="store_true",
                        help="no throughput step (it needs gunicorn installed)")
    parser.add_argument("--pg-reuse", action="store_true",
                        help="with --database: search the PostgreSQL archive a previous run "
                             "built there, without ingesting it again")
    args = parser.parse_args()
    if args.pg_reuse and not args.database:
        parser.error("--pg-reuse needs --database (the server of an earlier run)")
    if args.embedded_from and not args.embedded_from.is_file():
        parser.error(f"--embedded-from: {args.embedded_from} is not a file")
    settings = dict(pgserver.SETTINGS)
    for pair in args.pg_setting:
        name, _, value = pair.partition("=")
        settings[name.strip()] = value.strip()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="archive-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    figures: dict = {"n": args.n, "format": args.format, "machine": _machine(),
                     "command": sys.argv, "commit": _commit()}
    results = workdir / f"results-{args.format}-{args.n}.json"
    sampler = LoadSampler()

    def save() -> None:
        results.write_text(json.dumps({**figures, "load": sampler.summary()}, indent=2))

    cluster = None
    sampler.mark("starting" + (" a PostgreSQL server" if args.start_postgres else ""))
    sampler.start()
    try:
        url = args.database
        if args.start_postgres:
            cluster, url = pgserver.start(settings)
        sampler.mark("embedded ingest")
        figures["build"] = build(args.n, workdir, args.format, args.text_from, args.jobs,
                                 args.reuse)
        save()
        instance = Path(figures["build"]["instance"])
        mix = query_mix(instance)
        if args.embedded_from:
            earlier = json.loads(args.embedded_from.read_text())
            figures["embedded_from"] = {"file": str(args.embedded_from),
                                        "commit": earlier.get("commit")}
            figures.update({key: earlier[key] for key in EMBEDDED_SEARCH_FIGURES
                            if key in earlier})
        elif not args.skip_search:
            sampler.mark("embedded searches")
            figures["api"] = time_api(instance, mix, args.rounds)
            next_steps = figures["api"].pop("next_steps")
            figures["fts5"] = time_fts(instance, mix, args.rounds, next_steps)
            figures["cli"] = time_cli(instance, mix)
            api, fts = figures["api"], figures["fts5"]
            figures["p95_ratio_to_fts5"] = round(api["p95_ms"] / max(fts["p95_ms"], 0.01), 2)
            figures["api_totals"] = api.pop("totals")
            compared = [(query, found, fts5) for found, fts5, query
                        in zip(figures["api_totals"], fts.pop("totals"), mix, strict=True)
                        if query["kind"] != "stories"]
            figures["hit_counts_agree"] = sum(found == fts5 for _, found, fts5 in compared)
            # Each difference with the articles behind it and why (bench/hitcounts.py).
            figures["hit_count_differences"] = [hitcounts.explain(instance, query)
                                                for query, found, fts5 in compared
                                                if found != fts5]
            save()
            if not args.skip_throughput:
                sampler.mark("embedded throughput")
                figures["throughput"] = time_throughput(instance, mix, next_steps, args.clients,
                                                        args.workers,
                                                        workdir / "gunicorn-embedded.log")
                save()
        if url:
            bench_postgres(url, Path(figures["build"]["files"]), workdir, mix, figures, args,
                           sampler, save)
    finally:
        sampler.stop()
        save()
        if cluster is not None and not args.keep_postgres:
            cluster.stop()
        elif cluster is not None:
            print(f"PostgreSQL server left running: {url} (stop it with: runuser -u postgres "
                  f"-- {cluster.bin / 'pg_ctl'} -D {cluster.data} stop; then remove "
                  f"{cluster.root})", flush=True)
    print(json.dumps({key: value for key, value in figures.items() if key != "api_totals"},
                     indent=2))
    print(table(figures))


def table(figures: dict) -> str:
    """The figures as the Markdown tables of docs/performance.md."""
    pg = figures.get("postgresql", {})
    api, fts, pg_api = figures.get("api", {}), figures.get("fts5", {}), pg.get("api", {})

    def pair(found: dict) -> str:
        return f"{found['p50_ms']:,} / {found['p95_ms']:,}" if found else "-"

    def rate(found: dict | None) -> str:
        return f"{found['ingest_rate']:,.0f} articles/s ({found['ingest_seconds']:,.0f} s)" \
            if found else "-"

    def served(found: dict | None) -> str:
        if not found:
            return "-"
        return (f"{found['requests_per_s']:,} requests/s, p50 / p95 {pair(found)} ms "
                f"({found['requests']:,} requests, {found['errors']} errors)")

    build = figures.get("build", {})
    if build.get("ingest_seconds") != build.get("ingest_seconds"):  # NaN: --reuse
        build = {}
    jobs = pg.get("ingest_1_process", {}).get("jobs_each", 2)
    lines = ["| | embedded (SQLite + Whoosh) | PostgreSQL engine | SQLite FTS5 |",
             "|---|---|---|---|",
             f"| ingest, 1 process (`--jobs {jobs}`) | {rate(build)} | "
             f"{rate(pg.get('ingest_1_process'))} | |",
             "| ingest, 2 processes at once | one writer at a time | "
             f"{rate(pg.get('ingest_2_processes'))} | |",
             f"| search through HTTP, first pages, p50 / p95 ms | {pair(api)} | {pair(pg_api)} | "
             f"{pair(fts)} |",
             f"| follow-ups (page 2, facet click), p50 / p95 ms | "
             f"{pair(api.get('follow_ups', {}))} | {pair(pg_api.get('follow_ups', {}))} | "
             f"{pair(fts.get('follow_ups', {}))} |"]
    kinds = sorted(api.get("by_kind", {}), key=lambda kind: kind in FOLLOW_UPS)
    for kind in kinds:
        lines.append(f"| {kind}, p50 / p95 ms | {pair(api['by_kind'][kind])} | "
                     f"{pair(pg_api.get('by_kind', {}).get(kind, {}))} | "
                     f"{pair(fts.get('by_kind', {}).get(kind, {}))} |")
    if "throughput" in figures or "throughput" in pg:
        load = figures.get("throughput") or pg["throughput"]
        lines.append(f"| {load['clients']} clients against {load['workers']} gunicorn workers"
                     f" | {served(figures.get('throughput'))} | "
                     f"{served(pg.get('throughput'))} | |")
    lines.append(f"| `archive search` from the shell, p50 / p95 ms | "
                 f"{pair(figures.get('cli', {}))} | {pair(pg.get('cli', {}))} | |")
    lines.append(f"| web process peak memory (`archive serve`) | "
                 f"{api.get('peak_memory_mb', '-')} MB | "
                 f"{pg_api.get('peak_memory_mb', '-')} MB | |")
    return "\n".join(lines)


def _commit() -> str:
    found = subprocess.run(["git", "-C", str(Path(__file__).resolve().parent), "describe",
                            "--always", "--dirty"], capture_output=True, text=True)
    return found.stdout.strip()


def _machine() -> dict:
    return {"cpus": os.cpu_count(), "python": sys.version.split()[0],
            "load_average": os.getloadavg()}


if __name__ == "__main__":
    main()
