"""A throwaway PostgreSQL cluster for the tests: Debian's server binaries, a temporary data
folder, a free port, a unix socket beside the data, and nothing left behind.

initdb refuses to run as root, so as root every server command runs as the package's
`postgres` user (through runuser); as anyone else it runs as that user.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Sequence
from itertools import count
from pathlib import Path

# Debian installs the server outside the PATH, one folder per major version.
SEARCH = [Path("/usr/lib/postgresql") / version / "bin" for version in ("17", "16", "15")]
SUPERUSER = "postgres"
# The tests trade durability for speed: a crashed test server is simply thrown away.
FAST = ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
        "-c", "max_connections=200", "-c", "shared_buffers=32MB"]


class ClusterUnavailable(Exception):
    """The server binaries are missing or the cluster would not start; says which."""


def server_binaries() -> Path:
    for folder in SEARCH:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).parent
    raise ClusterUnavailable(
        "PostgreSQL's initdb and pg_ctl were not found (looked in "
        f"{', '.join(map(str, SEARCH))} and on the PATH): install Debian's `postgresql` "
        "package (.ci/run does) to run the PostgreSQL tests")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresCluster:
    """One server: start(), database() for each test, stop() at the end. `options` are the
    server's settings on its command line (default FAST; bench/run.py passes its own)."""

    def __init__(self, options: Sequence[str] = tuple(FAST)) -> None:
        self.options = list(options)
        self.bin = server_binaries()
        self.root = Path(tempfile.mkdtemp(prefix="archive-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._names = count(1)
        self._as_root = os.geteuid() == 0
        if self._as_root:
            # The server's own user must own its folder (and reach the socket inside it).
            try:
                shutil.chown(self.root, user="postgres", group="postgres")
            except LookupError:
                shutil.rmtree(self.root, ignore_errors=True)
                raise ClusterUnavailable(
                    "running as root, the PostgreSQL tests start the server as the user "
                    "`postgres`, which does not exist: install Debian's `postgresql` "
                    "package (.ci/run does)") from None
            self.root.chmod(0o755)

    def _run(self, *command: str) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_root else []
        result = subprocess.run([*prefix, *command], capture_output=True, text=True,
                                check=False, timeout=120)
        if result.returncode != 0:
            raise ClusterUnavailable(f"{' '.join(command[:2])} failed: "
                                     f"{(result.stderr or result.stdout).strip()[-2000:]}")
        return result

    def start(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
                  "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync")
        self._serve()

    def start_standby_of(self, primary: PostgresCluster) -> None:
        """A hot standby: a copy of the primary's cluster that replays its changes as they
        stream in and answers read-only queries meanwhile."""
        self._run(str(self.bin / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
                  "-U", SUPERUSER, "-D", str(self.data), "--write-recovery-conf",
                  "--checkpoint=fast", "--no-sync")
        self._serve()

    def _serve(self) -> None:
        options = " ".join([f"-p {self.port}", "-h 127.0.0.1",
                            f"-k {self.root}", *_pairs(self.options)])
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l",
                  str(self.root / "server.log"), "-o", options, "-w", "-t", "120", "start")

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                          "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres", *, password: str | None = None) -> str:
        """A SQLAlchemy URL over TCP (trust authentication: a password is accepted and
        ignored, so tests can check that it is never shown)."""
        login = f"{SUPERUSER}:{password}" if password else SUPERUSER
        return f"postgresql+psycopg://{login}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; its name."""
        import psycopg

        name = f"archive_test_{next(self._names)}"
        with psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER,
                             dbname="postgres", autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return name


def _pairs(flags: list[str]) -> list[str]:
    return [f"{flag} {value}" for flag, value in zip(flags[::2], flags[1::2], strict=True)]
