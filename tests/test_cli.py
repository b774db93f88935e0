"""The `archive` command as users run it: click's runner in-process, and real subprocesses."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from archive.cli import main
from tests.conftest import EXAMPLES

EXAMPLE_ARTICLES = 8  # 2 text dumps, 2 HTML pages, 4 JSONL records


@pytest.fixture
def run(instance_dir: Path):
    """Invoke the CLI against the test instance; returns click's Result."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):  # noqa: A002 - click's name
        return runner.invoke(main, ["--instance", str(instance_dir), *args], input=input,
                             catch_exceptions=False)

    return invoke


@pytest.fixture
def examples_archive(run) -> None:
    result = run("ingest", str(EXAMPLES))
    assert result.exit_code == 0, result.output


def test_ingest_reports_a_summary_and_a_second_run_adds_nothing(run):
    first = run("ingest", str(EXAMPLES))
    assert first.exit_code == 0, first.output
    assert f"Added {EXAMPLE_ARTICLES} articles, skipped 0 duplicates, 0 failed" in first.output
    assert "Skipped 1 input(s) that are not articles (.md: 1)." in first.output

    second = run("ingest", str(EXAMPLES))
    assert second.exit_code == 0
    assert f"Added 0 articles, skipped {EXAMPLE_ARTICLES} duplicates, 0 failed" in second.output

    stats = run("stats")
    assert f"{EXAMPLE_ARTICLES} articles from {EXAMPLE_ARTICLES} sources" in stats.output


def test_failed_inputs_are_listed_with_reasons_and_the_exit_status_is_1(run, write_file):
    good = write_file("good.txt", "Headline about the harbour\n\n" + "The harbour reopened "
                      "on Monday after repairs that took most of the winter to finish. " * 3)
    empty = write_file("empty.txt", "")
    binary = write_file("photo.txt", bytes(range(256)) * 40)
    missing = good.parent / "missing.txt"
    result = run("ingest", str(good), str(empty), str(binary), str(missing))
    assert result.exit_code == 1
    assert "Added 1 article, skipped 0 duplicates, 3 failed" in result.output
    assert f"FAILED {empty}: empty file" in result.output
    assert f"FAILED {binary}: binary data" in result.output
    assert f"FAILED {missing}: no such file or folder" in result.output
    assert "Traceback" not in result.output


def test_invalid_utf8_is_decoded_by_detection_not_refused(run, write_file):
    text = ("Hafen wieder geöffnet\n\n"
            "Der Hafen von Saltmere wurde am Montag nach monatelangen Reparaturen wieder "
            "geöffnet. Die Arbeiter begrüßten die Entscheidung der Behörden ausdrücklich.\n\n"
            "Nach Angaben der Stadt kostete die Instandsetzung der Kaimauer rund drei "
            "Millionen Euro, deutlich mehr als ursprünglich geplant.\n")
    path = write_file("latin1.txt", text.encode("iso-8859-1"))
    result = run("extract", "--json", str(path))
    assert result.exit_code == 0, result.output
    assert "begrüßten" in json.loads(result.output)["body"]


def test_extract_json_has_the_evaluation_fields(run):
    result = run("extract", "--json", str(EXAMPLES / "harbour-times-port-strike.html"))
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert {"title", "date", "outlet", "byline", "body"} <= record.keys()
    assert record["title"] == "Dock workers begin 72-hour strike over night-shift pay"
    assert record["date"] == "2024-05-06"
    assert record["outlet"] == "The Harbour Times"
    assert "1,200 dock workers" in record["body"]
    assert "Lifeboat crew rescue" not in record["body"]  # the "Most read" box


def test_extract_does_not_store_anything(run, instance_dir):
    run("extract", "--json", str(EXAMPLES / "lakeside-chronicle-drought.txt"))
    assert not (instance_dir / "archive.db").exists()


def test_extract_of_an_empty_file_is_a_clear_error(run, write_file):
    result = run("extract", "--json", str(write_file("blank.txt", "  \n\n")))
    assert result.exit_code == 1
    assert "blank.txt: empty file" in result.output


def test_search_prints_ranked_hits_with_snippets_and_facets(run, examples_archive):
    result = run("search", "tram")
    assert result.exit_code == 0, result.output
    assert "3 articles found (showing 1-3)." in result.output
    assert "Outlets:" in result.output and "Years:" in result.output
    assert "tram" in result.output.lower()


def test_search_filters_sort_and_limit(run, examples_archive):
    only_2024 = run("search", "--from", "2024-01-01", "--to", "2024-12-31", "--json")
    dates = [hit["date"] for hit in json.loads(only_2024.output)["hits"]]
    assert dates and all(d.startswith("2024") for d in dates)

    newest = run("search", "--sort", "date", "--json", "--limit", "3")
    listed = [hit["date"] for hit in json.loads(newest.output)["hits"]]
    assert listed == sorted(listed, reverse=True) and len(listed) == 3

    by_outlet = run("search", "strike", "--outlet", "The Harbour Times", "--json")
    hits = json.loads(by_outlet.output)["hits"]
    assert [h["outlet"] for h in hits] == ["The Harbour Times"]
    facets = json.loads(by_outlet.output)["facets"]["outlet"]
    assert len(facets) >= 1  # outlet counts ignore the outlet filter, so others stay listed


def test_phrase_search(run, examples_archive):
    result = run("search", '"night shifts"', "--json")
    assert {h["title"] for h in json.loads(result.output)["hits"]} == {
        "Dock workers begin 72-hour strike over night-shift pay",
        "Saltmere dock workers strike over night-shift pay"}


def test_stories_fold_syndicated_copies(run, examples_archive):
    every = json.loads(run("search", "dock workers", "--json").output)
    assert every["total"] == 2
    folded = json.loads(run("search", "dock workers", "--stories", "--json").output)
    assert folded["total"] == 1 and folded["one_per_story"]
    [hit] = folded["hits"]
    assert hit["story"]["copies"] == 2
    assert hit["story"]["other_outlets"] == ["coastlinedaily.example"]
    text = run("search", "dock workers", "--stories").output
    assert "story: also in 1 other outlet(s): coastlinedaily.example" in text


def test_explain_lists_each_clause(run, examples_archive):
    result = run("search", 'tram "night shifts" sanct* -ferry', "--explain", "--json")
    explained = json.loads(result.output)
    kinds = [(c["kind"], c["negated"]) for c in explained["clauses"]]
    assert kinds == [("term", False), ("phrase", False), ("prefix", False), ("term", True)]
    assert explained["total"] == 0


@pytest.mark.parametrize("query", ['"unbalanced', "*", "((", "a*", "NOT", "title:", ")"])
def test_hostile_queries_get_a_message_not_a_traceback(run, examples_archive, query):
    result = run("search", query)
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert "query" in result.output


def test_bad_dates_name_the_parameter(run, examples_archive):
    result = run("search", "tram", "--from", "last week")
    assert result.exit_code == 2
    assert "--from" in result.output and "'last week' is not a date" in result.output


def test_search_without_an_archive_says_how_to_make_one(run):
    result = run("search", "anything")
    assert result.exit_code == 1
    assert "no archive at" in result.output and "archive ingest" in result.output


def test_export_jsonl_and_csv(run, examples_archive):
    jsonl = run("export", "--format", "jsonl")
    records = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert len(records) == EXAMPLE_ARTICLES
    assert {"title", "date", "outlet", "byline", "body", "url"} <= records[0].keys()

    table = run("export", "--format", "csv", "--query", "strike")
    rows = list(csv.DictReader(io.StringIO(table.stdout)))
    assert {row["title"] for row in rows} == {
        "Dock workers begin 72-hour strike over night-shift pay",
        "Saltmere dock workers strike over night-shift pay"}


def test_reindex_and_check(run, examples_archive):
    result = run("reindex")
    assert result.exit_code == 0 and f"Indexed {EXAMPLE_ARTICLES} articles." in result.output
    check = run("check")
    assert check.exit_code == 0 and "Consistent." in check.output
    assert run("search", "tram", "--json").exit_code == 0


def test_db_upgrade_creates_a_fresh_database(run, instance_dir):
    result = run("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert (instance_dir / "archive.db").exists()


def test_every_command_has_help(run):
    for command in ("ingest", "extract", "search", "serve", "reindex", "check", "stats",
                    "export", "db"):
        result = run(command, "--help")
        assert result.exit_code == 0, command
        assert "Usage:" in result.output


def _commands(command: click.Command, ctx: click.Context, path: str = "archive"
              ) -> Iterator[tuple[str, click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, f"{path} {name} cannot be loaded"
            yield from _commands(sub, click.Context(sub, parent=ctx, info_name=name),
                                 f"{path} {name}")


def test_every_option_of_every_command_has_help_text():
    undocumented = [f"{path} {'/'.join(param.opts)}"
                    for path, command in _commands(main, click.Context(main))
                    for param in command.params
                    if isinstance(param, click.Option) and not (param.help or "").strip()]
    assert not undocumented, f"options without help text: {undocumented}"


def test_search_help_states_the_real_default_order(run):
    help_text = " ".join(run("search", "--help").output.split())
    assert "newest without a QUERY, otherwise relevance" in help_text
    assert "[default: relevance]" not in help_text


def test_version_comes_from_the_package_metadata():
    from importlib.metadata import version

    from archive.cli import DISTRIBUTION

    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"archive {version(DISTRIBUTION)}\n"


@pytest.mark.parametrize("module", ["archive", "archive.cli"])
def test_python_dash_m_runs_the_command(module):
    from importlib.metadata import version

    from archive.cli import DISTRIBUTION

    result = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == f"archive {version(DISTRIBUTION)}"


def test_the_metadata_of_an_older_install_does_not_take_over_serve(tmp_path, monkeypatch):
    # What a checkout installed before the distribution was renamed leaves behind.
    stale = tmp_path / "archive.egg-info"
    stale.mkdir()
    (stale / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: archive\nVersion: 0.1.0\n")
    (stale / "entry_points.txt").write_text("[archive.commands]\nserve = web.cli:serve\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    serve = main.get_command(click.Context(main), "serve")
    assert serve is not None and serve.callback is not None
    assert serve.callback.__module__ == "archive_web.cli"


def test_shell_completion_as_the_readme_sets_it_up():
    archive = str(Path(sys.executable).with_name("archive"))
    script = subprocess.run([archive], env={**os.environ, "_ARCHIVE_COMPLETE": "bash_source"},
                            capture_output=True, text=True, check=True)
    assert "complete " in script.stdout and "_ARCHIVE_COMPLETE=bash_complete" in script.stdout
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert 'eval "$(_ARCHIVE_COMPLETE=bash_source archive)"' in readme
    offered = subprocess.run([archive], env={**os.environ, "_ARCHIVE_COMPLETE": "bash_complete",
                                             "COMP_WORDS": "archive se", "COMP_CWORD": "1"},
                             capture_output=True, text=True, check=True)
    assert offered.stdout.split() == ["plain,search", "plain,serve"]


@pytest.fixture
def archive_logs() -> Iterator[None]:
    """Put the logging configuration back after a test that runs the command in-process."""
    root, package = logging.getLogger(), logging.getLogger("archive")
    handlers, levels = root.handlers[:], (root.level, package.level)
    yield
    root.handlers[:] = handlers
    root.setLevel(levels[0])
    package.setLevel(levels[1])


def test_verbose_shows_the_archives_debug_messages_and_quiet_hides_warnings(
        run, archive_logs, examples_archive):
    verbose = run("-v", "reindex")
    assert verbose.exit_code == 0, verbose.output
    assert "DEBUG archive.instance: holding the writer lock" in verbose.stderr
    assert "Indexed 8 articles." in verbose.stdout
    plain = run("reindex")
    assert "DEBUG" not in plain.stderr and "Indexed 8 articles." in plain.stdout
    assert run("-q", "reindex").stdout == plain.stdout  # results are printed all the same
    result = run("-v", "-q", "stats")
    assert result.exit_code == 2 and "contradict" in result.output


@pytest.mark.parametrize(("options", "shown", "hidden"), [
    ({}, ["library warning", "archive warning"], ["archive info", "archive debug"]),
    ({"verbose": True}, ["library warning", "archive info", "archive debug"], ["library info"]),
    ({"quiet": True}, ["archive error"], ["library warning", "archive warning"]),
])
def test_logging_levels(archive_logs, capsys, options, shown, hidden):
    from archive.cli.logs import configure_logging

    configure_logging(**options)
    library, ours = logging.getLogger("somelibrary"), logging.getLogger("archive.ingest")
    library.info("library info")
    library.warning("library warning")
    ours.debug("archive debug")
    ours.info("archive info")
    ours.warning("archive warning")
    ours.error("archive error")
    logged = capsys.readouterr().err
    assert all(message in logged for message in shown), logged
    assert not any(message in logged for message in hidden), logged


def test_instance_from_the_environment(tmp_path):
    env = {**os.environ, "ARCHIVE_INSTANCE": str(tmp_path / "elsewhere")}
    subprocess.run([sys.executable, "-m", "archive.cli", "ingest", str(EXAMPLES)], env=env,
                   check=True, capture_output=True)
    found = subprocess.run([sys.executable, "-m", "archive.cli", "search", "library", "--json"],
                           env=env, check=True, capture_output=True, text=True)
    assert json.loads(found.stdout)["total"] == 1
    assert (tmp_path / "elsewhere" / "archive.db").exists()


def test_check_finds_drift_and_repair_mends_it(run, examples_archive, instance_dir):
    import sqlite3

    from archive.config import InstancePaths
    from archive.index import SearchIndex

    index = SearchIndex(InstancePaths(instance_dir).index_dir)
    index.delete([1])
    index.close()
    with sqlite3.connect(instance_dir / "archive.db") as db:
        db.execute("UPDATE articles SET body = body || ' Edited by hand.' WHERE id = 2")
        db.execute("UPDATE sources SET content = X'00' WHERE id = 3")
    report = run("check")
    assert report.exit_code == 1
    assert "1 in the database but not in the index: 1" in report.output
    assert "1 articles whose body changed" in report.output
    assert "1 raw inputs whose bytes no longer match" in report.output
    repaired = run("check", "--repair")
    assert "Index repaired, but 1 damaged raw input(s) cannot be" in repaired.output
    after = run("check")
    assert "in the database but not in the index" not in after.output
    assert "body changed" not in after.output
    found = json.loads(run("search", "edited", "--json").output)
    assert [hit["id"] for hit in found["hits"]] == [2]


def test_the_archives_own_outlet_table_names_outlets(run, instance_dir, write_file):
    instance_dir.mkdir(parents=True)
    (instance_dir / "outlets.csv").write_text("domain,name\nbugle.example,The Riverside Bugle\n")
    page = write_file("page.jsonl", json.dumps({
        "title": "Bridge opens", "text": "The bridge opened on Saturday to a large crowd.",
        "url": "https://www.bugle.example/2024/bridge"}) + "\n")
    assert run("ingest", str(page)).exit_code == 0
    found = json.loads(run("search", "bridge", "--json").output)
    assert found["hits"][0]["outlet"] == "The Riverside Bugle"


def test_ingest_into_a_log_file_reports_progress_in_plain_lines(run, monkeypatch):
    # Not a terminal: no bar, but a long run must still say how far it got.
    monkeypatch.setattr("archive.cli.common.PROGRESS_LINE_SECONDS", 0.0)
    result = run("ingest", str(EXAMPLES))
    assert result.exit_code == 0
    lines = [line for line in result.stderr.splitlines() if line.startswith("Ingesting:")]
    assert lines and lines[-1].startswith("Ingesting: 6 of 6 files, 8 documents (100% of ")
    assert "\r" not in result.stderr


def test_an_outlets_domain_and_its_name_are_one_outlet(run, write_file):
    # The sample's text dump names "The Northport Gazette"; its wire feed row only gives
    # the domain northportgazette.example. Split, the outlet facet would count it twice.
    assert run("ingest", str(EXAMPLES)).exit_code == 0
    later = write_file("later.jsonl", json.dumps({
        "title": "Pier reopens", "text": "The pier reopened on Saturday after repairs.",
        "source_domain": "NorthportGazette.example"}) + "\n")
    assert run("ingest", str(later)).exit_code == 0
    found = json.loads(run("search", "northport OR pier", "--json").output)
    gazette = [hit for hit in found["hits"] if "Gazette" in (hit["outlet"] or "")]
    assert {hit["outlet"] for hit in found["hits"]} >= {"The Northport Gazette"}
    assert "northportgazette.example" not in {hit["outlet"] for hit in found["hits"]}
    assert len(gazette) == 3


def test_a_broken_outlet_table_is_a_clear_error(run, instance_dir):
    instance_dir.mkdir(parents=True)
    (instance_dir / "outlets.csv").write_text("no,header,here\n\"unclosed\n")
    result = run("ingest", str(EXAMPLES))
    assert result.exit_code == 1
    assert "outlets.csv" in result.output and "Traceback" not in result.output


def test_optimize_merges_the_index_and_search_still_works(run, examples_archive):
    result = run("optimize")
    assert result.exit_code == 0 and "the index has 1 segment." in result.output
    assert json.loads(run("search", "tram", "--json").output)["total"] == 3
