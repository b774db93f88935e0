"""A web process gives the memory of a search's large arrays back once they are freed."""

from __future__ import annotations

import platform
import subprocess
import sys
import textwrap

import pytest

# In a fresh process: the web app is created, then a thread allocates and frees arrays of
# the sizes one search at a million articles uses, and the growth of anonymous memory is
# printed (KB).
_PROBE = textwrap.dedent("""
    import sys, threading
    import numpy as np
    from archive_web import create_app

    create_app({"ARCHIVE_INSTANCE": sys.argv[1]})

    def anonymous_kb():
        for line in open("/proc/self/status"):
            if line.startswith("RssAnon:"):
                return int(line.split()[1])

    def search_like():
        for megabytes in (8, 16, 16, 16):
            scores = np.ones(megabytes * 2**20 // 8)
            del scores
            postings = [np.ones(2**20 // 8) for _ in range(16)]
            del postings

    before = anonymous_kb()
    worker = threading.Thread(target=search_like)
    worker.start()
    worker.join()
    print(anonymous_kb() - before)
""")


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="the setting is glibc's")
def test_a_web_process_returns_freed_arrays_to_the_system(tmp_path):
    # With glibc's moving threshold, the 16 MB blocks after the first 8 MB one came from the
    # thread's heap and stayed there: about 31 MB more after the work than before.
    done = subprocess.run([sys.executable, "-c", _PROBE, str(tmp_path / "instance")],
                          capture_output=True, text=True, timeout=120, check=True)
    assert int(done.stdout.strip()) < 4 * 1024, done.stdout
