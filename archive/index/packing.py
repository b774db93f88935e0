"""Arrays of non-negative integers packed into bytes, and unpacked in bulk by numpy.

A packed array is one width byte (1, 2 or 4), then every value at that width, little-endian;
a value too large for the width is written as the width's largest value and its true value
follows, in order, among 4-byte "exceptions" after the array. Deltas of document numbers
and of word positions are mostly small, so most arrays take one byte a value, and the rare
large delta does not widen the whole array (unlike a plain fixed width).
"""

from __future__ import annotations

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
