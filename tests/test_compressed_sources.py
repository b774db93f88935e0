"""Raw inputs stored compressed: round trips, old rows, the sources_text view, check."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import random
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive import maintenance, rawcontent
from archive.cli import main
from archive.config import InstancePaths
from archive.instance import Archive
from tests.conftest import EXAMPLES, PATIENCE

SQLITE3 = shutil.which("sqlite3")


def _inputs() -> dict[str, bytes]:
    rng = random.Random(15)
    return {
        "text dump": (EXAMPLES / "northport-gazette-tram-vote.txt").read_bytes(),
        "html": (EXAMPLES / "harbour-times-port-strike.html").read_bytes(),
        "binary": bytes(rng.randrange(256) for _ in range(4096)),
        "gzip": gzip.compress(b"already compressed " * 500),
        "empty": b"",
        "one byte": b"x",
        "large": b"".join(f"<p>Paragraph {n}: {rng.random()}</p>\n".encode()
                          for n in range(200_000)),
        "windows-1251": "Киев, 5 марта. Новости дня.".encode("cp1251") * 40,
    }


@pytest.mark.parametrize("name", list(_inputs()))
def test_every_kind_of_input_reads_back_exactly(name):
    data = _inputs()[name]
    stored = rawcontent.pack(data)
    assert rawcontent.unpack(stored.content, stored.compression, len(data)) == data
    # The sqlite3 shell's reading of the same row (sizes tell it what to inflate).
    assert rawcontent.sqlar_uncompress(stored.content, len(data)) == data
    if stored.compression == rawcontent.ZLIB:
        assert len(stored.content) < len(data)
    else:  # compression did not pay: kept as is, which sqlar tells by the equal size
        assert stored.content == data


def test_text_is_compressed_and_noise_is_not():
    inputs = _inputs()
    assert rawcontent.pack(inputs["html"]).compression == rawcontent.ZLIB
    assert rawcontent.pack(inputs["large"]).compression == rawcontent.ZLIB
    assert rawcontent.pack(inputs["binary"]).compression == rawcontent.NONE
    assert rawcontent.pack(inputs["empty"]).compression == rawcontent.NONE


def test_rows_stored_before_compression_read_as_they_are():
    assert rawcontent.unpack(b"<html>old row</html>", None, 20) == b"<html>old row</html>"


@pytest.mark.parametrize("damage", ["flipped byte", "truncated", "wrong size", "unknown codec"])
def test_damaged_compressed_content_is_refused(damage):
    data = _inputs()["html"]
    stored = rawcontent.pack(data)
    content, compression, size = bytearray(stored.content), stored.compression, len(data)
    if damage == "flipped byte":
        content[len(content) // 2] ^= 0xFF
    elif damage == "truncated":
        del content[-20:]
    elif damage == "wrong size":
        size -= 1
    else:
        compression = "lzma"
    with pytest.raises(rawcontent.DamagedContent):
        rawcontent.unpack(bytes(content), compression, size)
    if compression == rawcontent.ZLIB:
        assert rawcontent.sqlar_uncompress(bytes(content), size) is None


def test_the_sql_function_never_inflates_past_the_size_it_is_given():
    bomb = rawcontent.pack(b"\0" * 10_000_000).content
    assert rawcontent.sqlar_uncompress(bomb, 1000) is None
    assert rawcontent.sqlar_uncompress(bomb, -1) is None


def _ingest(instance: Path, *paths: Path) -> str:
    result = CliRunner().invoke(main, ["--instance", str(instance), "ingest",
                                       *map(str, paths)])
    assert result.exit_code == 0, result.output
    return result.output


def _originals(instance: Path) -> dict[int, bytes]:
    """Each source id with the bytes of the file it came from (the examples' files)."""
    with sqlite3.connect(instance / "archive.db") as db:
        rows = db.execute("SELECT id, uri FROM sources").fetchall()
    return {source_id: Path(uri).read_bytes() for source_id, uri in rows if "#" not in uri}


def test_ingest_stores_compressed_and_every_reader_gets_the_input(tmp_path):
    instance = tmp_path / "instance"
    _ingest(instance, EXAMPLES)
    with sqlite3.connect(instance / "archive.db") as db:
        rows = db.execute("SELECT id, sha256, size_bytes, length(content), compression "
                          "FROM sources").fetchall()
    assert {compression for *_, compression in rows} == {"zlib"}
    assert all(stored < size for _, _, size, stored, _ in rows)
    originals = _originals(instance)
    assert len(originals) == 4  # the HTML pages and text dumps (the rest are JSON records)
    with Archive(InstancePaths(instance), create=False) as archive, archive.sessions() as s:
        from sqlalchemy import select

        from archive.models import Source
        from archive.store import raw_input

        read = {source_id: data for source_id, data in s.execute(select(Source.id, raw_input))}
    for source_id, original in originals.items():
        assert read[source_id] == original
    # The identity of an input is the sha256 of its bytes as read, not as stored.
    for source_id, digest, *_ in rows:
        assert hashlib.sha256(read[source_id]).hexdigest() == digest
    # Stored once, whatever is done to the copy: the same bytes again are duplicates.
    again = _ingest(instance, EXAMPLES)
    assert "Added 0 articles, skipped 8 duplicates" in again


def test_the_view_shows_text_in_archive_sql(tmp_path):
    instance = tmp_path / "instance"
    _ingest(instance, EXAMPLES)
    from archive.sql import run_query

    columns, rows = run_query(instance / "archive.db",
                              "SELECT id, content, content_text FROM sources_text")
    assert columns == ["id", "content", "content_text"]
    originals = _originals(instance)
    shown = {source_id: (content, text) for source_id, content, text in rows}
    for source_id, original in originals.items():
        assert shown[source_id] == (original, original.decode("utf-8"))
    records = [text for source_id, (_, text) in shown.items() if source_id not in originals]
    assert len(records) == 4 and all(text.startswith('{"title": ') for text in records)
    printed = CliRunner().invoke(main, ["--instance", str(instance), "sql", "--format", "csv",
                                        "SELECT content_text FROM sources_text WHERE format = "
                                        "'txt' ORDER BY id LIMIT 1"])
    assert printed.exit_code == 0, printed.output
    first_dump = min(source_id for source_id in originals
                     if shown[source_id][1] and not shown[source_id][1].startswith("<"))
    assert list(csv.reader(io.StringIO(printed.output))) == [
        ["content_text"], [originals[first_dump].decode("utf-8")]]


@pytest.mark.skipif(SQLITE3 is None, reason="the sqlite3 shell is not installed (apt install "
                                             "sqlite3; .ci/run does)")
def test_the_view_shows_text_in_the_sqlite3_shell(tmp_path):
    instance = tmp_path / "instance"
    _ingest(instance, EXAMPLES)
    originals = _originals(instance)
    for source_id, original in originals.items():
        shown = subprocess.run(
            [SQLITE3, "-readonly", str(instance / "archive.db"),
             f"SELECT hex(content), content_text FROM sources_text WHERE id = {source_id}"],
            capture_output=True, timeout=PATIENCE, check=True).stdout
        hex_content, _, text = shown.partition(b"|")
        assert bytes.fromhex(hex_content.decode()) == original
        assert text == original + b"\n"  # the shell ends each row with a newline


def test_archive_check_finds_a_damaged_compressed_row(tmp_path):
    instance = tmp_path / "instance"
    _ingest(instance, EXAMPLES)
    with sqlite3.connect(instance / "archive.db") as db:
        content = bytearray(db.execute("SELECT content FROM sources WHERE id = 3").fetchone()[0])
        content[len(content) // 2] ^= 0x55
        db.execute("UPDATE sources SET content = ? WHERE id = 3", (bytes(content),))
    result = CliRunner().invoke(main, ["--instance", str(instance), "check"])
    assert result.exit_code == 1
    assert "1 raw inputs whose bytes no longer match their sha256" in result.output
    assert result.output.rstrip().splitlines()[1].endswith(": 3")


def _downgrade_to_0005(instance: Path) -> None:
    """The archive as version 0005 of the schema stored it: content as it was read, no
    compression column (the downgrade inflates every row)."""
    from alembic import command

    from archive.db import alembic_config, make_engine

    engine = make_engine(f"sqlite:///{instance / 'archive.db'}")
    config = alembic_config(str(engine.url))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0005")
    finally:
        engine.dispose()


def _schema_upgrade_only(instance: Path) -> None:
    from archive.db import make_engine, upgrade

    engine = make_engine(f"sqlite:///{instance / 'archive.db'}")
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def test_an_archive_from_before_compression_upgrades_and_stays_readable(tmp_path):
    instance = tmp_path / "instance"
    _ingest(instance, EXAMPLES)
    _downgrade_to_0005(instance)
    originals = _originals(instance)
    with sqlite3.connect(instance / "archive.db") as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(sources)")]
        stored = dict(db.execute("SELECT id, content FROM sources").fetchall())
    assert "compression" not in columns
    assert all(stored[source_id] == original for source_id, original in originals.items())

    # The schema upgrade alone leaves the rows as they were, and they read as they are.
    _schema_upgrade_only(instance)
    with sqlite3.connect(instance / "archive.db") as db:
        assert db.execute("SELECT count(*) FROM sources WHERE compression IS NULL"
                          ).fetchone()[0] == 8
    from archive.reclean import reclean

    with Archive(InstancePaths(instance), create=False) as archive, archive.writing():
        assert maintenance.check(archive).damaged_sources == []
        report = reclean(archive, dry_run=True)
    assert report.articles == 8 and report.changed == 0
    from archive.sql import run_query

    _, rows = run_query(instance / "archive.db", "SELECT id, content FROM sources_text")
    assert all(dict(rows)[source_id] == original for source_id, original in originals.items())

    # `archive db upgrade` then compresses them.
    result = CliRunner().invoke(main, ["--instance", str(instance), "db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "compressed 8 stored raw input(s)" in result.output
    with sqlite3.connect(instance / "archive.db") as db:
        assert db.execute("SELECT DISTINCT compression FROM sources").fetchall() == [("zlib",)]
    checked = CliRunner().invoke(main, ["--instance", str(instance), "check"])
    assert checked.exit_code == 0 and "Consistent." in checked.output
    recleaned = CliRunner().invoke(main, ["--instance", str(instance), "reclean"])
    assert recleaned.exit_code == 0 and "0 of 8 article(s) changed" in recleaned.output


def test_compressing_old_rows_can_stop_anywhere_and_go_on(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    _ingest(instance, EXAMPLES)
    _downgrade_to_0005(instance)
    _schema_upgrade_only(instance)
    monkeypatch.setattr(maintenance, "COMPRESS_ROWS", 3)
    packed = 0
    real_pack = rawcontent.pack

    def pack_then_die(data: bytes) -> rawcontent.Stored:
        nonlocal packed
        packed += 1
        if packed == 5:  # in the second batch
            raise KeyboardInterrupt
        return real_pack(data)

    monkeypatch.setattr(rawcontent, "pack", pack_then_die)
    with Archive(InstancePaths(instance), create=False) as archive, \
            pytest.raises(KeyboardInterrupt):
        maintenance.compress_stored(archive)
    with sqlite3.connect(instance / "archive.db") as db:
        states = db.execute("SELECT id, compression FROM sources ORDER BY id").fetchall()
    # The first batch was committed, the second rolled back whole.
    assert states == [(1, "zlib"), (2, "zlib"), (3, "zlib")] + [(n, None) for n in range(4, 9)]
    with Archive(InstancePaths(instance), create=False) as archive:
        assert maintenance.check(archive).damaged_sources == []
        monkeypatch.setattr(rawcontent, "pack", real_pack)
        done = maintenance.compress_stored(archive)
        assert done.rows == 5 and done.after < done.before
        assert maintenance.compress_stored(archive).rows == 0
        assert maintenance.check(archive).damaged_sources == []
