"""Ingest's CPU spent where the work needs it: story keys without datasketch's per-gram
overhead (and unchanged, since they are stored), storing that never waits for indexing,
and progress that moves with every article of a big file."""

from __future__ import annotations

import csv
import hashlib
import json
import random
import string
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from datasketch import MinHash
from sqlalchemy import func, select

from archive import ingest as ingest_module
from archive import store
from archive.cli import main
from archive.document import RawDocument
from archive.ingest import ReadProgress, ingest
from archive.instance import Archive
from archive.models import Article
from archive.stories import (
    _SCHEME,
    _SEED,
    _WORD,
    BANDS,
    MIN_SHINGLES,
    ROWS,
    SHINGLE,
    shingles,
    signature,
    similarity,
    story_keys,
)
from tests.conftest import EXAMPLES, PATIENCE
from tests.test_formats import _warc, page


def _datasketch_keys(body: str) -> tuple[int, ...]:
    """Story keys as archives stored them before migration 0008 (64 bits; now the top 32
    of each): datasketch's MinHash over the 4-grams joined as text."""
    words = _WORD.findall(body.lower())
    grams = {" ".join(words[i:i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}
    if len(grams) < MIN_SHINGLES:
        return ()
    minhash = MinHash(num_perm=BANDS * ROWS, seed=_SEED, scheme=_SCHEME)
    minhash.update_batch([gram.encode("utf-8") for gram in grams])
    values = minhash.hashvalues
    return tuple(int.from_bytes(hashlib.blake2b(values[band * ROWS:(band + 1) * ROWS].tobytes()
                                                + bytes([band]), digest_size=8).digest(),
                                "big", signed=True) for band in range(BANDS))


def _bodies() -> list[str]:
    rng = random.Random(15)
    vocabularies = [
        string.ascii_letters,
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",  # two bytes a letter
        "的一是不了人我在有他这中大为上个国",  # three bytes, no spaces between words
        "aäöüßéèçñ",  # mixed one and two bytes
        "αβγδεζηθ" + "\u0301",  # a combining accent inside words
    ]
    bodies = []
    for number in range(400):
        letters = vocabularies[number % len(vocabularies)]
        words = ["".join(rng.choices(letters, k=rng.randint(1, 12)))
                 for _ in range(rng.choice([3, 10, 22, 23, 60, 300]))]
        separators = [rng.choice([" ", "  ", ", ", ".\n\n", " - ", "\t", "'"]) for _ in words]
        body = "".join(word + sep for word, sep in zip(words, separators, strict=True))
        if number % 7 == 0:
            body = (body + " ") * 3  # repeated text: the same grams more than once
        bodies.append(body.upper() if number % 11 == 0 else body)
    for path in EXAMPLES.iterdir():
        bodies.append(path.read_text(encoding="utf-8", errors="replace"))
    with open(EXAMPLES / "wire-feed.jsonl", encoding="utf-8") as feed:
        bodies.extend(str(json.loads(line)) for line in feed if line.strip())
    return bodies


def test_story_keys_are_the_ones_datasketch_made_for_every_kind_of_text():
    bodies = _bodies()
    compared = [(story_keys(body), tuple(key >> 32 for key in _datasketch_keys(body)))
                for body in bodies]
    assert all(ours == theirs for ours, theirs in compared)
    assert sum(bool(keys) for keys, _ in compared) > 200  # most were long enough to have keys


def test_the_signature_is_datasketchs_bit_for_bit():
    grams = shingles("The port authority said on Monday that the strike would end soon " * 4
                     + "and the ships would sail again from the northern harbour tomorrow")
    minhash = MinHash(num_perm=BANDS * ROWS, seed=_SEED, scheme=_SCHEME)
    minhash.update_batch(list(grams))
    assert signature(grams).tobytes() == minhash.hashvalues.tobytes()


def test_shingles_are_the_utf8_of_four_words_joined_by_a_space():
    assert shingles("Один два, три  четыре! пять") == {
        "один два три четыре".encode(), "два три четыре пять".encode()}
    assert shingles("too short here") == set()
    first, second = shingles("a b c d e f"), shingles("a b c d e g")
    assert similarity(first, second) == 2 / 4


def _stored(archive: Archive) -> int:
    with archive.sessions() as session:
        return session.scalar(select(func.count(Article.id))) or 0


def _rows(count: int) -> list[dict[str, str]]:
    return [{"title": f"Report {n}", "text": f"Report {n} on the harbour works: the quay, the "
             f"cranes and the new berth number {n} are on time and within budget."}
            for n in range(count)]


def _big_file(folder: Path, kind: str, count: int) -> Path:
    rows = _rows(count)
    if kind == "jsonl":
        path = folder / "feed.jsonl"
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    elif kind == "csv":
        path = folder / "feed.csv"
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, ["title", "text"])
            writer.writeheader()
            writer.writerows(rows)
    else:
        path = _warc(folder / "crawl.warc", [
            (f"https://coastal.example/{n}", page(row["title"], row["text"]), "200 OK",
             "text/html; charset=utf-8") for n, row in enumerate(rows)])
    return path


def test_storing_goes_on_while_a_batch_is_being_indexed(archive, tmp_path, monkeypatch):
    # Batches of 5 rows, each due for the index at once; the first index call holds until
    # every row is stored. Before, storing stopped two batches later, waiting for it.
    rows = 60
    path = _big_file(tmp_path, "jsonl", rows)
    monkeypatch.setattr(ingest_module, "BATCH_SIZE", 5)
    monkeypatch.setattr(ingest_module, "INDEX_EVERY_ROWS", 5)
    # In this process, where the stand-in below is the one called.
    monkeypatch.setattr(ingest_module, "HELPER_ROWS", rows + 1, raising=False)
    index_rows = ingest_module.index_rows
    flush = ingest_module._Run.flush
    all_stored = threading.Event()
    stored_while_indexing: list[int] = []

    def flush_and_tell(run: ingest_module._Run) -> list[int]:
        ids = flush(run)
        if run.summary.added >= rows:
            all_stored.set()
        return ids

    def held_index(archive_: Archive, ids: list[int], **options: bool) -> None:
        if not stored_while_indexing:
            all_stored.wait(PATIENCE)  # the patience only turns a hang into a failure
            stored_while_indexing.append(_stored(archive_))
        index_rows(archive_, ids, **options)

    monkeypatch.setattr(ingest_module._Run, "flush", flush_and_tell)
    monkeypatch.setattr(ingest_module, "index_rows", held_index)
    with archive.writing():
        summary = ingest(archive, [str(path)])
    assert stored_while_indexing == [rows]
    assert summary.added == rows and archive.index.doc_count() == rows
    with archive.sessions() as session:
        assert not store.unindexed_ids(session)


def test_big_batches_are_indexed_by_a_helper_process_and_marked(archive, tmp_path,
                                                                monkeypatch):
    rows = 30
    path = _big_file(tmp_path, "jsonl", rows)
    monkeypatch.setattr(ingest_module, "BATCH_SIZE", 10)
    monkeypatch.setattr(ingest_module, "HELPER_ROWS", 10)
    indexed_here: list[int] = []
    index_rows = ingest_module.index_rows

    def watched(archive_: Archive, ids: list[int], **options: bool) -> None:
        indexed_here.extend(ids)
        index_rows(archive_, ids, **options)

    monkeypatch.setattr(ingest_module, "index_rows", watched)
    with archive.writing():
        summary = ingest(archive, [str(path)])
    assert summary.added == rows and indexed_here == []
    assert archive.index.doc_count() == rows
    with archive.sessions() as session:
        assert not store.unindexed_ids(session)


@pytest.mark.parametrize("kind", ["jsonl", "csv", "warc"])
def test_one_big_file_reports_progress_with_every_document(archive, tmp_path, kind):
    rows = 40
    path = _big_file(tmp_path, kind, rows)
    size = path.stat().st_size
    reports: list[ReadProgress] = []
    with archive.writing():
        summary = ingest(archive, [str(path)], progress=reports.append)
    assert summary.added == rows
    during = [report for report in reports if report.files_done == 0]
    assert [report.documents for report in during] == list(range(1, rows + 1))
    read = [report.bytes_done for report in during]
    assert read == sorted(read) and read[0] > 0 and read[-1] <= size
    if kind == "jsonl":  # read line by line; the others in blocks of a few kilobytes
        assert len(set(read)) == rows
    reading = [report for report in reports if not report.indexing_left]
    assert reading[-1] == ReadProgress(files_done=1, files=1, bytes_done=size, bytes_total=size,
                                       documents=rows)


def test_the_ingest_log_names_every_document_of_one_big_file(tmp_path, monkeypatch):
    # Not a terminal: plain lines, here one per report instead of one per 30 s.
    monkeypatch.setattr("archive.cli.common.PROGRESS_LINE_SECONDS", 0.0)
    path = _big_file(tmp_path, "jsonl", 40)
    result = CliRunner().invoke(main, ["--instance", str(tmp_path / "instance"), "ingest",
                                       str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines()
             if line.startswith("Ingesting: 0 of 1 files, ")]
    assert [int(line.split(", ")[1].split()[0]) for line in lines] == list(range(1, 41))
    reading = [line for line in result.stderr.splitlines() if "indexing the last" not in line]
    assert reading[-1].startswith("Ingesting: 1 of 1 files, 40 documents (100% of 0.0 MB read, ")


def test_the_wait_for_the_last_articles_to_be_indexed_is_reported(archive, tmp_path,
                                                                   monkeypatch):
    """Storing runs ahead of indexing; once everything is read, the run says how many
    articles it still waits for instead of sitting at 100% in silence."""
    path = _big_file(tmp_path, "jsonl", 30)
    told = threading.Event()
    index_rows = ingest_module.index_rows

    def held(archive_: Archive, ids: list[int], **options: bool) -> None:
        assert told.wait(PATIENCE), "the wait for indexing was never reported"
        index_rows(archive_, ids, **options)

    monkeypatch.setattr(ingest_module, "index_rows", held)
    reports: list[ReadProgress] = []

    def progress(report: ReadProgress) -> None:
        reports.append(report)
        if report.indexing_left:
            told.set()

    with archive.writing():
        summary = ingest(archive, [str(path)], progress=progress)
    assert summary.added == 30 and archive.index.doc_count() == 30
    waiting = [report for report in reports if report.indexing_left]
    assert waiting[0].indexing_left == 30 and waiting[0].documents == 30
    assert reports.index(waiting[0]) > max(i for i, r in enumerate(reports) if not r.indexing_left)


def _documents(count: int, pulled: list[int], size: int = 400) -> Iterator[RawDocument]:
    words = " ".join(["harbour"] * (size // 8))
    for number in range(count):
        pulled[0] += 1
        yield RawDocument(f"mem://{number}", f"Lantern {number}\n\n{words}.\n".encode(), "txt")


def test_extraction_works_a_batch_ahead_of_the_storing():
    """While the main process stores a batch, the workers must already have the next one:
    with less handed out ahead, they sat idle through every write."""
    pulled = [0]
    results = ingest_module.extract_all(_documents(3 * ingest_module.BATCH_SIZE, pulled), 2,
                                        frozenset())
    next(results)
    assert pulled[0] >= ingest_module.BATCH_SIZE
    results.close()


def test_the_look_ahead_stops_at_its_bytes_on_big_documents(monkeypatch):
    monkeypatch.setattr(ingest_module, "LOOKAHEAD_BYTES", 20_000)
    pulled = [0]
    results = ingest_module.extract_all(_documents(200, pulled, size=5_000), 2, frozenset())
    for _ in range(50):
        next(results)
    assert pulled[0] <= 50 + 5  # four documents' bytes ahead and the next, not a batch
    results.close()
