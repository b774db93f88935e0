"""Faults and load with real processes: a full disk, and searching while an ingest runs."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import time

import pytest

from archive.config import InstancePaths
from archive.index import SearchRequest
from archive.instance import Archive
from archive.search import search
from tests.conftest import PATIENCE
from tests.test_crash_safety import (
    ARTICLES,
    WORDS,
    _ingest,
    _stored,
    _wait_for,
    _write_corpus,
)


def _can_mount_tmpfs() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                            "mount -t tmpfs -o size=1m tmpfs /mnt 2>/dev/null || "
                            "mount -t tmpfs -o size=1m tmpfs /tmp"],
                           capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _can_mount_tmpfs(),
                    reason="needs unshare and user namespaces to mount a small tmpfs")
def test_a_full_disk_gives_a_clear_error_and_the_archive_still_searches(tmp_path):
    corpus, mount = tmp_path / "corpus", tmp_path / "small-disk"
    _write_corpus(corpus)
    mount.mkdir()
    archive = f"{sys.executable} -m archive.cli --instance {mount}/instance"
    # Everything runs inside one private mount namespace: the 3 MB tmpfs vanishes with it.
    script = textwrap.dedent(f"""
        mount -t tmpfs -o size=3m tmpfs {mount} || exit 99
        {archive} ingest {corpus} > {tmp_path}/ingest.out 2>&1
        echo "ingest exit $?"
        {archive} search harbour --json > {tmp_path}/search.out 2>&1
        echo "search exit $?"
        {archive} check > {tmp_path}/check.out 2>&1
        echo "check exit $?"
    """)
    result = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                             script], capture_output=True, text=True, timeout=PATIENCE)
    ingest_out = (tmp_path / "ingest.out").read_text()
    assert "ingest exit 1" in result.stdout, ingest_out
    assert "disk holding" in ingest_out and "is full" in ingest_out
    assert "Traceback" not in ingest_out
    assert "search exit 0" in result.stdout, (tmp_path / "search.out").read_text()
    assert '"total":' in (tmp_path / "search.out").read_text()
    check_out = (tmp_path / "check.out").read_text()
    assert "Traceback" not in check_out
    if "check exit 0" not in result.stdout:
        # The disk filled between indexing a batch and marking it: those rows are searchable
        # and the next ingest marks them. Nothing else may be wrong.
        problems = [line for line in check_out.splitlines() if line.startswith("  ")]
        assert all("not yet marked indexed" in line for line in problems), check_out


def test_searching_while_an_ingest_runs_never_errs_or_shows_half_an_article(tmp_path):
    corpus, instance = tmp_path / "corpus", tmp_path / "instance"
    _write_corpus(corpus)
    process = _ingest(instance, corpus)
    try:
        _wait_for(lambda: _stored(instance) > 0, process, "batch commit")
        totals = []
        with Archive(InstancePaths(instance), create=False) as archive:
            while process.poll() is None:
                page = search(archive, SearchRequest("harbour", limit=20))
                for hit in page.hits:
                    assert hit.plain_title.startswith("Report ")
                    assert hit.word_count == WORDS  # every hit is a whole article
                totals.append(page.total)
                time.sleep(0.05)
            final = search(archive, SearchRequest("harbour")).total
    finally:
        process.kill()
        process.wait()
    assert totals == sorted(totals), "search results went backwards"
    assert len(set(totals)) > 1, "the ingest finished before searches saw it grow"
    assert final == ARTICLES
