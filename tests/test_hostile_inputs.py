"""Folders as they are found: FIFOs, sockets, symlink loops, unreadable corners, and names
crafted to forge what the terminal shows. Each is reported for itself; the rest is read."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive.cli import main

ARTICLE = ("Harbour works finish early\n\nThe harbour works finished a week early on Monday, "
           "the port authority said, after a dry spring let crews pour the new quay. ")


def _article(path: Path, n: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ARTICLE + f"This is report number {n}.\n", encoding="utf-8")
    return path


def _cli(instance: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # A real process with a deadline: a hang fails the test instead of hanging the suite.
    return subprocess.run([sys.executable, "-m", "archive.cli", "--instance", str(instance),
                           *args], capture_output=True, text=True, timeout=120)


def test_fifos_and_sockets_in_a_folder_are_failures_never_opened(tmp_path):
    folder = tmp_path / "in"
    _article(folder / "a.txt", 1)
    os.mkfifo(folder / "x.txt")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(folder / "s.txt"))
    os.mkfifo(tmp_path / "given.txt")
    try:
        result = _cli(tmp_path / "instance", "ingest", str(folder), str(tmp_path / "given.txt"))
    finally:
        listener.close()
    assert result.returncode == 1, result.stderr
    assert "Added 1 article, skipped 0 duplicates, 3 failed" in result.stdout
    for name in (folder / "x.txt", folder / "s.txt", tmp_path / "given.txt"):
        assert f"FAILED {name}: not a regular file" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_file_swapped_for_a_fifo_after_the_walk_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "swapped.txt"
    os.mkfifo(fifo)
    script = ("import sys; from pathlib import Path\n"
              "from archive.readers import InputFile, ReadError, read_input\n"
              "try:\n    list(read_input(InputFile(Path(sys.argv[1]), 'txt')))\n"
              "except ReadError as exc:\n    print(exc)\n")
    result = subprocess.run([sys.executable, "-c", script, str(fifo)], capture_output=True,
                            text=True, timeout=60)
    assert result.stdout.strip() == "not a regular file", result.stderr


def test_symlink_loops_and_broken_links_are_failures_and_the_folder_is_still_read(tmp_path):
    folder, elsewhere = tmp_path / "in", tmp_path / "elsewhere"
    _article(folder / "a.txt", 1)
    _article(folder / "sub" / "b.txt", 2)
    _article(elsewhere / "c.txt", 3)
    (folder / "self.txt").symlink_to("self.txt")
    (folder / "ping.txt").symlink_to("pong.txt")
    (folder / "pong.txt").symlink_to("ping.txt")
    (folder / "gone.txt").symlink_to("missing.txt")
    (folder / "sub" / "up").symlink_to("..")  # a cycle once symlinked folders are followed
    (folder / "linked").symlink_to(elsewhere)
    (folder / "again").symlink_to(elsewhere)  # the same folder twice is read once

    result = CliRunner().invoke(main, ["--instance", str(tmp_path / "instance"), "ingest",
                                       str(folder)], catch_exceptions=False)
    assert result.exit_code == 1
    assert "Added 3 articles, skipped 0 duplicates, 5 failed" in result.output
    for name in ("self.txt", "ping.txt", "pong.txt"):
        assert f"FAILED {folder / name}: symlink loop" in result.stderr
    assert (f"FAILED {folder / 'gone.txt'}: broken symlink (what it points to does not "
            "exist)") in result.stderr
    assert (f"FAILED {folder / 'sub' / 'up'}: symlink loop (leads back to a folder that "
            "holds it)") in result.stderr
    assert "a folder already read through another path: 1" in result.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads whatever the permissions say")
def test_unreadable_folders_and_files_are_failures_and_the_rest_is_read(tmp_path):
    folder = tmp_path / "in"
    _article(folder / "a.txt", 1)
    _article(folder / "locked" / "b.txt", 2)
    secret = _article(folder / "secret.txt", 3)
    (folder / "locked").chmod(0)
    secret.chmod(0)
    try:
        result = CliRunner().invoke(main, ["--instance", str(tmp_path / "instance"), "ingest",
                                           str(folder)], catch_exceptions=False)
    finally:
        (folder / "locked").chmod(0o755)
    assert result.exit_code == 1
    assert "Added 1 article, skipped 0 duplicates, 2 failed" in result.output
    assert f"FAILED {folder / 'locked'}: permission denied: cannot read folder" in result.stderr
    assert f"FAILED {secret}: permission denied" in result.stderr


FORGED = "evil\n  FAILED passwd.txt: forged\x1b[2K\r.txt"


def test_names_are_printed_with_control_characters_escaped_and_stored_exactly(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / FORGED).write_bytes(bytes(range(256)) * 40)
    (folder / "logo.\x1b[31mred").write_bytes(b"\x89PNG")
    with zipfile.ZipFile(folder / "bundle.zip", "w") as bundle:
        bundle.writestr("inner\n  FAILED fake.txt: x.txt", "")
    instance = tmp_path / "instance"
    result = CliRunner().invoke(main, ["--instance", str(instance), "ingest", str(folder)],
                                catch_exceptions=False)
    assert result.exit_code == 1
    shown = result.output
    assert "\x1b" not in shown and "\r" not in shown
    assert (f"  FAILED {folder}/evil\\n  FAILED passwd.txt: forged\\x1b[2K\\r.txt: "
            "binary data, not text in any known encoding\n") in shown
    assert f"  FAILED {folder}/bundle.zip!inner\\n  FAILED fake.txt: x.txt: empty file" in shown
    assert len([line for line in shown.splitlines() if line.startswith("  FAILED")]) == 2
    assert "(.\\x1b[31mred: 1)" in shown
    with sqlite3.connect(instance / "archive.db") as db:
        stored = {row[0] for row in db.execute("SELECT uri FROM ingest_errors")}
    assert stored == {str(folder / FORGED), f"{folder}/bundle.zip!inner\n  FAILED fake.txt: x.txt"}

    extract = CliRunner().invoke(main, ["--instance", str(instance), "extract",
                                        str(folder / FORGED)])
    assert extract.exit_code == 1
    assert "\x1b" not in extract.output and "forged\\x1b[2K\\r.txt: binary data" in extract.output
