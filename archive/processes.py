"""Helper processes that end with the process that started them.

Worker processes wait on queues whose other end they hold themselves, so they never notice
when the ingest that started them is killed: without this, every SIGKILLed ingest left its
workers (and their memory) behind for good.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent() -> None:
    """Ask the kernel (Linux) to kill this process when its parent dies, even by SIGKILL."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before the request was made
        os._exit(0)


def forked_children_die_with_parent() -> None:
    """Apply die_with_parent to every child this process forks from now on (Whoosh forks
    its indexing processes itself)."""
    os.register_at_fork(after_in_child=die_with_parent)
