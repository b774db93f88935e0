"""Arrays of non-negative integers packed into bytes, and unpacked in bulk by numpy.

A packed array is one width byte (1, 2 or 4), then every value at that width, little-endian;
a value too large for the width is written as the width's largest value and its true value
follows, in order, among 4-byte "exceptions" after the array. Deltas of document numbers
and of word positions are mostly small, so most arrays take one byte a value, and the rare
large delta does not widen the whole array (unlike a plain fixed width).
"""

from __future__ import annotations

import struct

import numpy as np

_DTYPES: dict[int, np.dtype] = {1: np.dtype("<u1"), 2: np.dtype("<u2"), 4: np.dtype("<u4")}
_EXCEPTION = np.dtype("<u4")


def pack(values: np.ndarray) -> bytes:
    """`values` (integers from 0 to 2**32 - 1) as bytes."""
    values = np.asarray(values, dtype=np.int64)
    if not len(values):
        return b"\x01"
    best_width, best_size = 4, 4 * len(values)
    for width in (1, 2):
        escape = (1 << (8 * width)) - 1
        size = width * len(values) + 4 * int(np.count_nonzero(values >= escape))
        if size < best_size:
            best_width, best_size = width, size
    if best_width == 4:
        return b"\x04" + values.astype(_DTYPES[4]).tobytes()
    escape = (1 << (8 * best_width)) - 1
    large = values >= escape
    base = np.where(large, escape, values).astype(_DTYPES[best_width])
    return bytes([best_width]) + base.tobytes() + values[large].astype(_EXCEPTION).tobytes()


def pack_list(values: list[int]) -> bytes:
    """The same bytes as pack() for a short list, without numpy's cost per call (most
    words of an index occur in a few documents: their blocks hold a posting or two)."""
    if not values or max(values) < 255:
        return b"\x01" + bytes(values)
    above1 = [v for v in values if v >= 255]
    above2 = [v for v in above1 if v >= 65535]
    size1, size2 = len(values) + 4 * len(above1), 2 * len(values) + 4 * len(above2)
    if size1 < min(size2, 4 * len(values)):
        base = bytes(min(v, 255) for v in values)
        return b"\x01" + base + struct.pack(f"<{len(above1)}I", *above1)
    if size2 < 4 * len(values):
        return (b"\x02" + struct.pack(f"<{len(values)}H", *(min(v, 65535) for v in values))
                + struct.pack(f"<{len(above2)}I", *above2))
    return b"\x04" + struct.pack(f"<{len(values)}I", *values)


def unpack(data: bytes | memoryview, count: int, start: int = 0) -> tuple[np.ndarray, int]:
    """The `count` values packed at `start` of `data` (as int64), and where they end."""
    width = data[start]
    dtype = _DTYPES[width]
    start += 1
    values = np.frombuffer(data, dtype=dtype, count=count, offset=start).astype(np.int64)
    end = start + width * count
    if width == 4:
        return values, end
    escaped = values == (1 << (8 * width)) - 1
    exceptions = int(np.count_nonzero(escaped))
    if exceptions:
        values[escaped] = np.frombuffer(data, dtype=_EXCEPTION, count=exceptions, offset=end)
        end += 4 * exceptions
    return values, end


_CODES = {1: "B", 2: "H", 4: "I"}


def unpack_list(data: bytes | memoryview, count: int, start: int = 0) -> tuple[list[int], int]:
    """unpack() as a list, without numpy: for the few values of a small block."""
    width = data[start]
    start += 1
    values = list(struct.unpack_from(f"<{count}{_CODES[width]}", data, start))
    end = start + width * count
    if width == 4:
        return values, end
    escape = (1 << (8 * width)) - 1
    escaped = [i for i, value in enumerate(values) if value == escape]
    if escaped:
        large = struct.unpack_from(f"<{len(escaped)}I", data, end)
        for i, value in zip(escaped, large, strict=True):
            values[i] = value
        end += 4 * len(escaped)
    return values, end
