"""The benchmark's own bookkeeping (bench/run.py): what two concurrent ingests each read, and
the words that make each throughput session a new search. No timings are asserted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.fixture
def run(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import run

    return run


def test_two_ingests_are_dealt_every_record_once(tmp_path, run):
    files = tmp_path / "corpus"
    files.mkdir()
    records = [{"title": f"Article {number}", "text": "Text."} for number in range(25)]
    for number in range(3):  # files of 10, 10 and 5 records
        chunk = records[number * 10:(number + 1) * 10]
        (files / f"feed-{number}.jsonl").write_text(
            "".join(json.dumps(record) + "\n" for record in chunk))
    (files / "page.html").write_text("<p>one page</p>")

    parts = run.split_corpus(files, 2)

    dealt = [[json.loads(line)["title"] for path in sorted(part.glob("*.jsonl"))
              for line in path.read_text().splitlines()] for part in parts]
    assert sorted(dealt[0] + dealt[1]) == sorted(record["title"] for record in records)
    assert abs(len(dealt[0]) - len(dealt[1])) <= 2
    assert [len(list(part.glob("*.html"))) for part in parts] == [1, 0]
    assert run.split_corpus(files, 2) == parts  # made once, then reused


def test_each_throughput_session_searches_a_new_query(run):
    words = [run._absent_word(number) for number in range(8 * 50)]
    assert len(set(words)) == len(words)
    assert all(word.isalpha() and word.startswith(run.WARM_WORD) for word in words)


def test_a_missing_file_of_earlier_figures_is_named(tmp_path, run, monkeypatch, capsys):
    missing = tmp_path / "results-run3.json"
    monkeypatch.setattr("sys.argv", ["run.py", "10", "--embedded-from", str(missing)])
    with pytest.raises(SystemExit) as stopped:
        run.main()
    assert stopped.value.code == 2
    assert f"--embedded-from: {missing} is not a file" in capsys.readouterr().err


def test_reusing_a_postgresql_archive_needs_its_database(run, monkeypatch, capsys):
    monkeypatch.setattr("sys.argv", ["run.py", "10", "--pg-reuse"])
    with pytest.raises(SystemExit) as stopped:
        run.main()
    assert stopped.value.code == 2
    assert "--pg-reuse needs --database" in capsys.readouterr().err
