"""Where an ingest's CPU goes, per article and stage, measured inside one real `ingest()`.

    python bench/stages.py FILES... [--jobs 1] [--instance DIR]
    python bench/stages.py --generate 10000 --shape one|many --text-from ../shared/corpus

Runs the library's ingest on the inputs into a fresh archive, with the stages wrapped in
timers of the CPU time of the thread that runs them (so the main thread and the indexing
thread, which overlap in time, are told apart), and the CPU of the child processes that
each stage waited for (Whoosh's indexing processes). With `--jobs 1` extraction runs in this
process and is split into its parts; with more jobs it runs in worker processes and shows
as children's CPU. Prints milliseconds of CPU per stored article, the wall time and the
cores used on average ((this process + children) CPU / wall).

Stages are found by name (module attribute or method); a stage this version of archive does
not have is left out, so the same script profiles an older checkout for comparison.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402 - the sibling module, run as a script

# (module, attribute or Class.method, label, parent label): the parent's time includes it.
STAGES = [
    ("archive.ingest", "read_input", "read inputs", None),
    ("archive.store", "known_sources", "look up stored inputs", None),
    ("archive.ingest", "prepare", "prepare (extract + keys)", None),
    ("archive.ingest", "extract", "extract", "prepare (extract + keys)"),
    ("archive.extract", "detect_language", "language", "extract"),
    ("archive.ingest", "story_keys", "story keys (MinHash)", "prepare (extract + keys)"),
    ("archive.ingest._Run", "flush", "store a batch", None),
    ("archive.ingest", "match_batch", "find story copies", "store a batch"),
    ("archive.store", "write_batch", "insert rows", "store a batch"),
    ("archive.ingest", "index_rows", "index a batch", None),
    ("archive.store", "index_docs", "read rows to index", "index a batch"),
    ("archive.index.searchindex.SearchIndex", "add", "Whoosh add + commit", "index a batch"),
    ("archive.store", "mark_indexed", "mark indexed", "index a batch"),
    ("archive.ingest", "tidy_index", "merge segments", None),
]

_cpu: dict[str, float] = defaultdict(float)
_children: dict[str, float] = defaultdict(float)
_calls: dict[str, int] = defaultdict(int)
_threads: dict[str, set[str]] = defaultdict(set)
_lock = threading.Lock()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _record(label: str, cpu: float, children: float) -> None:
    with _lock:
        _cpu[label] += cpu
        _children[label] += children
        _calls[label] += 1
        _threads[label].add(threading.current_thread().name)


def _timed(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
    if getattr(function, "__wrapped__", None) is not None and hasattr(function, "_stage"):
        return function
    import inspect

    if inspect.isgeneratorfunction(function):
        @functools.wraps(function)
        def generator(*args: Any, **kwargs: Any) -> Iterator[Any]:
            inner = function(*args, **kwargs)
            while True:
                started = time.thread_time()
                try:
                    item = next(inner)
                except StopIteration:
                    _record(label, time.thread_time() - started, 0.0)
                    return
                _record(label, time.thread_time() - started, 0.0)
                yield item

        generator._stage = label  # type: ignore[attr-defined]
        return generator

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started, children = time.thread_time(), _children_cpu()
        try:
            return function(*args, **kwargs)
        finally:
            _record(label, time.thread_time() - started, _children_cpu() - children)

    wrapper._stage = label  # type: ignore[attr-defined]
    return wrapper


def instrument() -> list[str]:
    """Wrap every stage this version has; returns the labels found."""
    import importlib

    found = []
    for module_name, attribute, label, _ in STAGES:
        owner_path, _, class_name = module_name.rpartition(".")
        try:
            module = importlib.import_module(module_name)
            owner: Any = module
        except ImportError:
            try:
                owner = getattr(importlib.import_module(owner_path), class_name)
            except (ImportError, AttributeError):
                continue
        function = getattr(owner, attribute, None)
        if function is None:
            continue
        setattr(owner, attribute, _timed(label, function))
        found.append(label)
    return found


def run(paths: list[str], jobs: int, instance: Path) -> dict[str, Any]:
    from archive.config import InstancePaths
    from archive.ingest import IngestOptions, ingest
    from archive.instance import Archive

    labels = instrument()
    shutil.rmtree(instance, ignore_errors=True)
    archive = Archive(InstancePaths(instance))
    wall, children = time.perf_counter(), _children_cpu()
    own = resource.getrusage(resource.RUSAGE_SELF)
    main_thread = time.thread_time()
    try:
        with archive.writing():
            summary = ingest(archive, paths, IngestOptions(jobs=jobs))
    finally:
        archive.close()
    main_thread = time.thread_time() - main_thread
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_SELF)
    own_cpu = (after.ru_utime - own.ru_utime) + (after.ru_stime - own.ru_stime)
    children = _children_cpu() - children
    added = max(summary.added, 1)
    parents = {label: parent for _, _, label, parent in STAGES}
    rows = []
    for label in labels:
        if not _calls[label]:
            continue
        nested = sum(_cpu[child] for child, parent in parents.items() if parent == label)
        rows.append({"stage": label, "depth": _depth(label, parents),
                     "ms": 1000 * _cpu[label] / added,
                     "self_ms": 1000 * (_cpu[label] - nested) / added,
                     "children_ms": 1000 * _children[label] / added,
                     "threads": sorted(_threads[label])})
    top_main = sum(_cpu[label] for label in labels if parents[label] is None
                   and "MainThread" in _threads[label])
    return {"articles": summary.added, "jobs": jobs, "wall_s": wall,
            "rate": summary.added / wall, "process_cpu_ms": 1000 * own_cpu / added,
            "children_cpu_ms": 1000 * children / added,
            "main_thread_ms": 1000 * main_thread / added,
            "main_thread_other_ms": 1000 * (main_thread - top_main) / added,
            "cores": (own_cpu + children) / wall, "stages": rows,
            "load": os.getloadavg()}


def _depth(label: str, parents: dict[str, str | None]) -> int:
    depth = 0
    while (label := parents.get(label)) is not None:  # type: ignore[assignment]
        depth += 1
    return depth


def report(result: dict[str, Any]) -> None:
    print(f"{result['articles']} articles, --jobs {result['jobs']}: {result['wall_s']:.1f} s "
          f"wall, {result['rate']:.1f} articles/s, {result['cores']:.2f} cores busy on average "
          f"(load average at the end {result['load'][0]:.2f})")
    print(f"CPU per article: this process {result['process_cpu_ms']:.2f} ms (main thread "
          f"{result['main_thread_ms']:.2f} ms), child processes {result['children_cpu_ms']:.2f} ms")
    print(f"{'stage':<34} {'ms/article':>10} {'self':>7} {'children':>9}  thread")
    for row in result["stages"]:
        name = "  " * row["depth"] + row["stage"]
        print(f"{name:<34} {row['ms']:>10.3f} {row['self_ms']:>7.3f} "
              f"{row['children_ms']:>9.3f}  {', '.join(row['threads'])}")
    print(f"{'main thread, not in a stage above':<34} {result['main_thread_other_ms']:>10.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--instance", type=Path)
    parser.add_argument("--generate", type=int, metavar="N",
                        help="generate N articles with bench/corpus.py first")
    parser.add_argument("--shape", choices=["one", "many"], default="one",
                        help="generated JSON Lines as one file, or as files of 10 rows")
    parser.add_argument("--text-from", type=Path)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="archive-stages-"))
    try:
        paths = list(args.paths)
        if args.generate:
            files = workdir / "corpus"
            corpus.write(corpus.articles(args.generate, text_from=args.text_from), files,
                         "jsonl", per_jsonl=args.generate if args.shape == "one" else 10)
            paths.append(str(files))
        if not paths:
            parser.error("give input files or --generate N")
        os.environ.setdefault("ARCHIVE_LOW_PRIORITY", "0")
        result = run(paths, args.jobs, args.instance or workdir / "instance")
        report(result)
        if args.json:
            args.json.write_text(json.dumps(result, indent=1) + "\n")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
