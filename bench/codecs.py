"""How well each codec would shrink raw inputs stored one row at a time.

    python bench/codecs.py FILE_OR_FOLDER... [--records] [--zstd]

Every file is one raw input (a saved page, a text dump); with --records every line of a
JSON Lines file (optionally .gz) is one, as ingest stores them. Prints, per codec, the
stored size against the raw size and the CPU time to compress and to decompress, per MB of
raw input. zlib is measured in the format `sources.content` uses (sqlar's: the deflate
stream, or the bytes as they are when that is not smaller); zstd (--zstd) only when the
`zstandard` package is installed, as a comparison: it is not a dependency.
"""

from __future__ import annotations

import argparse
import gzip
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

Codec = tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]


def inputs(paths: list[Path], records: bool) -> Iterator[bytes]:
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            data = file.read_bytes()
            if file.suffix == ".gz":
                data = gzip.decompress(data)
            if records:
                yield from (line for line in data.splitlines() if line.strip())
            else:
                yield data


def codecs(with_zstd: bool) -> dict[str, Codec]:
    found: dict[str, Codec] = {
        f"zlib-{level}": (lambda data, level=level: zlib.compress(data, level),
                          zlib.decompress)
        for level in (1, 6, 9)}
    if with_zstd:
        try:
            import zstandard  # type: ignore[import-not-found]
        except ImportError:
            return found
        for level in (3, 19):
            compressor = zstandard.ZstdCompressor(level=level)
            found[f"zstd-{level}"] = (compressor.compress,
                                      zstandard.ZstdDecompressor().decompress)
    return found


def measure(rows: list[bytes], codec: Codec) -> tuple[int, float, float]:
    compress, decompress = codec
    started = time.process_time()
    packed = [compress(row) for row in rows]
    compressing = time.process_time() - started
    # Stored as they are when compression does not pay (sqlar's rule).
    stored = sum(min(len(p), len(r)) for p, r in zip(packed, rows, strict=True))
    started = time.process_time()
    for p in packed:
        decompress(p)
    return stored, compressing, time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", type=Path, nargs="+")
    parser.add_argument("--records", action="store_true", help="one input per line")
    parser.add_argument("--zstd", action="store_true", help="compare with zstandard")
    parser.add_argument("--limit", type=int, default=20_000, help="inputs at most")
    args = parser.parse_args()
    rows = []
    for row in inputs(args.paths, args.records):
        rows.append(row)
        if len(rows) >= args.limit:
            break
    raw = sum(map(len, rows))
    print(f"{len(rows)} inputs, {raw / 1e6:.1f} MB, {raw / max(len(rows), 1) / 1e3:.1f} KB each")
    print(f"{'codec':8} {'stored':>8} {'ratio':>6} {'compress':>12} {'decompress':>12}")
    megabytes = raw / 1e6
    for name, codec in codecs(args.zstd).items():
        stored, packing, unpacking = measure(rows, codec)
        print(f"{name:8} {stored / 1e6:7.1f}M {raw / stored:5.2f}x "
              f"{packing / megabytes * 1e3:8.1f} ms/MB {unpacking / megabytes * 1e3:8.1f} ms/MB")


if __name__ == "__main__":
    main()
