"""How a long-lived searching process hands memory back to the system."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os

# glibc's mallopt() parameter for the size from which an allocation gets pages of its own.
_M_MMAP_THRESHOLD = -3
# Posting lists, scores and position keys of one search are arrays of megabytes; anything
# from this size up is given back to the system as soon as it is freed.
LARGE_ALLOCATION = 512 * 1024


@functools.cache
def return_large_arrays() -> bool:
    """Fix glibc's threshold for allocations with pages of their own. Left moving (its
    default), it rises to the size of each large block freed, up to 32 MB, and later arrays
    of that size are carved from the threads' heaps, which keep the memory once freed: a web
    process searching a million articles grew from 200 to over 800 MB that way and stayed
    there. Returns whether the setting took (only glibc has it). Set once per process:
    every app a process creates shares its allocator."""
    try:
        glibc = bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (AttributeError, ValueError, OSError):  # not a POSIX system, or another libc
        glibc = False
    if not glibc:
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, LARGE_ALLOCATION))
