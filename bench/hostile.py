"""Hostile load: can any query stall the archive, or an ingest starve its readers?

    python bench/hostile.py [--n 20000] [--text-from ../shared/corpus] [--workdir DIR]
                            [--ingest 100000] [--window 10000]

1. Builds (or reuses) an archive of N generated articles plus one article of 11 MB, and
   starts `archive serve` on it.
2. Times a plain query alone (the reference), then, for each hostile query, sends it four
   at a time (through the API and the results page, in turn) while a fifth client keeps
   sending plain queries: how long every hostile request took, what it answered, and the
   plain queries' p50/p95 meanwhile.
3. With --ingest, starts `archive ingest` of that many more articles into a fresh archive
   served the same way and has four clients send plain API queries until --window articles
   are stored:
   their p50/p95 while the writer works; once with the writer at its default low CPU
   priority, then at normal priority (the reference: how ingest ran before).

Prints a table and writes the figures as JSON next to the archive (hostile.json).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402 - the sibling module, run as a script

ARCHIVE = [sys.executable, "-m", "archive.cli"]
PLAIN = ["government", "market prices", "police", "election", "oil", "court ruling",
         "football", "minister", "bank", "weather"]
HOSTILE = {
    "300-letter fuzzy word": "a" * 299 + "q~",
    "301-letter unknown word": "zq" * 150 + "z",
    "40-letter fuzzy word": "s" + "tr" * 19 + "x~",
    "ct*": "ct*",
    "to*": "to*",
    "twelve fuzzy words": " ".join(f"{w}~" for w in (
        "strike ferry harbour council minister police report market price company "
        "workers union").split()),
    "phrase of common words": '"the of and to in a is that"',
    "matches the 11 MB article": "zeppelin",
}
CONCURRENT = 4


def build(workdir: Path, n: int, text_from: Path | None) -> Path:
    instance = workdir / f"hostile-{n}"
    if (instance / "archive.db").exists():
        return instance
    files = workdir / f"hostile-corpus-{n}"
    corpus.write(corpus.articles(n, text_from=text_from), files, "jsonl")
    words = " ".join(["harbour crane shift tide"] * 600_000)  # about 11 MB
    (files / "huge.jsonl").write_text(json.dumps(
        {"title": "An enormous field", "body": f"A zeppelin report. {words} zeppelin end.",
         "outlet": "Big Field Times"}) + "\n")
    started = time.perf_counter()
    subprocess.run([*ARCHIVE, "--instance", str(instance), "ingest", "--jobs", "2",
                    str(files)], check=True, stdout=subprocess.DEVNULL)
    print(f"built {n} articles in {time.perf_counter() - started:.0f} s", flush=True)
    return instance


class Server:
    def __init__(self, instance: Path) -> None:
        self.process = subprocess.Popen(
            [*ARCHIVE, "--instance", str(instance), "serve", "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for line in self.process.stdout:  # type: ignore[union-attr]
            if line.startswith("Open http://"):
                self.base = line.split()[1].rstrip("/")
                break
        else:
            sys.exit("archive serve did not start")

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def timed(url: str) -> tuple[float, int, str]:
    """Seconds, status and error message (if any) of one GET."""
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=300) as response:
            response.read()
            status, message = response.status, ""
    except urllib.error.HTTPError as error:
        body = error.read().decode("utf-8", "replace")
        status = error.code
        try:
            message = json.loads(body)["error"]["message"]
        except (ValueError, KeyError):
            message = "(page)"
    return time.perf_counter() - started, status, message


def ask(url: str, answers: list[tuple[float, int, str]]) -> None:
    answers.append(timed(url))


def search_url(base: str, query: str, api: bool = True) -> str:
    return f"{base}/{'api/search' if api else ''}?{urllib.parse.urlencode({'q': query})}"


def plain_load(base: str, stop: threading.Event, into: list[float]) -> None:
    turn = 0
    while not stop.is_set():
        seconds, _, _ = timed(search_url(base, PLAIN[turn % len(PLAIN)]))
        into.append(seconds)
        turn += 1


def percentiles(values: list[float]) -> dict:
    if not values:
        return {}
    ordered = sorted(values)
    return {"p50_ms": round(statistics.median(ordered) * 1000),
            "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000),
            "max_ms": round(ordered[-1] * 1000), "n": len(ordered)}


def hostile_round(base: str) -> dict:
    report: dict = {}
    under_load: list[float] = []
    alone = [timed(search_url(base, PLAIN[i % len(PLAIN)]))[0] for i in range(40)]
    report["plain query alone"] = percentiles(alone)
    for name, query in HOSTILE.items():
        plain: list[float] = []
        stop = threading.Event()
        background = threading.Thread(target=plain_load, args=(base, stop, plain))
        background.start()
        answers: list[tuple[float, int, str]] = []
        workers = [threading.Thread(target=ask, args=(search_url(base, query, i % 2 == 0),
                                                      answers)) for i in range(CONCURRENT)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        stop.set()
        background.join()
        under_load.extend(plain)
        report[name] = {"hostile_max_s": round(max(a[0] for a in answers), 2),
                        "statuses": sorted({a[1] for a in answers}),
                        "message": next((a[2] for a in answers if a[2]), "")[:90],
                        "plain_meanwhile": percentiles(plain)}
    report["plain queries under all hostile loads"] = percentiles(under_load)
    return report


def ingest_round(workdir: Path, total: int, window: int, text_from: Path | None,
                 priority: str) -> dict:
    files = workdir / f"hostile-ingest-{total}"
    if not files.exists():
        corpus.write(corpus.articles(total, seed=5, text_from=text_from), files, "jsonl")
    instance = workdir / "hostile-ingest-instance"
    subprocess.run(["rm", "-rf", str(instance)], check=True)
    writer = subprocess.Popen([*ARCHIVE, "--instance", str(instance), "ingest", "--jobs", "2",
                               f"--{priority}-priority", str(files)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not (instance / "index").is_dir() and writer.poll() is None:
        time.sleep(0.5)
    server = Server(instance)
    latencies: list[float] = []
    statuses: list[int] = []
    stop = threading.Event()

    def client(first: int) -> None:
        turn = first
        while not stop.is_set():
            seconds, status, _ = timed(search_url(server.base, PLAIN[turn % len(PLAIN)]))
            latencies.append(seconds)
            statuses.append(status)
            turn += 1

    clients = [threading.Thread(target=client, args=(n,)) for n in range(CONCURRENT)]
    try:
        for thread in clients:
            thread.start()
        while _stored(instance) < window and writer.poll() is None:
            time.sleep(1)
    finally:
        stop.set()
        for thread in clients:
            thread.join()
        writer.terminate()
        writer.wait(timeout=120)
        server.close()
    failures = sum(status != 200 for status in statuses)
    return {"writer_priority": priority, "stored_at_end": _stored(instance),
            "api_during_ingest": percentiles(latencies), "non_200": failures}


def _huge_id(instance: Path) -> int:
    with sqlite3.connect(f"file:{instance / 'archive.db'}?mode=ro", uri=True) as db:
        return db.execute("SELECT id FROM articles ORDER BY length(body) DESC").fetchone()[0]


def _stored(instance: Path) -> int:
    with sqlite3.connect(f"file:{instance / 'archive.db'}?mode=ro", uri=True) as db:
        return db.execute("SELECT count(*) FROM articles").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--text-from", type=Path)
    parser.add_argument("--workdir", type=Path, default=Path("bench-work"))
    parser.add_argument("--ingest", type=int, default=0,
                        help="also time searches during an ingest of this many articles")
    parser.add_argument("--window", type=int, default=10_000,
                        help="stop the ingest round once this many articles are stored")
    parser.add_argument("--skip-hostile", action="store_true",
                        help="only the ingest round")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    instance = build(args.workdir, args.n, args.text_from)
    results: dict = {}
    if not args.skip_hostile:
        server = Server(instance)
        try:
            timed(search_url(server.base, "warm up"))
            results["hostile"] = hostile_round(server.base)
            results["huge article page"] = dict(zip(
                ("seconds", "status"),
                timed(f"{server.base}/articles/{_huge_id(instance)}")[:2], strict=True))
        finally:
            server.close()
    if args.ingest:
        # The writer at its default (low) priority, then at normal priority: the reference.
        results["ingest"] = [ingest_round(args.workdir, args.ingest, args.window,
                                          args.text_from, priority)
                             for priority in ("low", "normal")]
    (instance / "hostile.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
