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


def leave_interrupts_to_parent() -> None:
    """Ctrl-C reaches every process of the terminal's process group: a helper ignores it so
    that its parent can finish the batch in hand and stop cleanly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _forked_helper() -> None:
    die_with_parent()
    leave_interrupts_to_parent()


def forked_children_die_with_parent() -> None:
    """Make every child this process forks from now on a helper (Whoosh forks its indexing
    processes itself): it dies with its parent and leaves Ctrl-C to it."""
    if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
        os.register_at_fork(after_in_child=_forked_helper)
