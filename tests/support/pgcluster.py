"""A throwaway PostgreSQL 15 + PostGIS cluster for the test session.

PostgreSQL refuses to run as root (and CI runs as root), so the cluster runs as
the ``postgres`` system user in a directory outside root's home, while pytest
keeps running as root and connects over TCP on 127.0.0.1. A missing server or
PostGIS is an error, never a skip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PG_BIN = Path(os.environ.get("CIVGRID_PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """Initialise, start and stop one cluster; ``as_user`` is used when running as root.

    Parameters
    ----------
    port : int
        TCP port on 127.0.0.1.
    durable : bool
        False (the tests): ``fsync``, ``synchronous_commit`` and ``full_page_writes`` off,
        since a throwaway cluster needs no crash safety and the suite's many small commits
        would each wait for the disk. True (the benchmarks): PostgreSQL's own defaults, so
        that a commit waits for its WAL to reach the disk as in production and an
        acknowledged report costs what it costs there.
    """

    def __init__(self, port: int, *, durable: bool = False) -> None:
        self.port = port
        self.durable = durable
        self.as_root = os.geteuid() == 0
        self.dir = Path(tempfile.mkdtemp(prefix="civgrid-pg-", dir="/tmp"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        cmd = list(args)
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=True, capture_output=True, text=True)

    def start(self) -> None:
        initdb = PG_BIN / "initdb"
        if not initdb.exists():
            raise RuntimeError(
                f"{initdb} not found: install the PostgreSQL 15 server "
                "(make test does: apt-get install -y postgresql-15-postgis-3)"
            )
        if not Path("/usr/share/postgresql/15/extension/postgis.control").exists():
            raise RuntimeError(
                "PostGIS is not installed: apt-get install -y postgresql-15-postgis-3"
            )
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(
            str(initdb),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        fast = (
            ""
            if self.durable
            else ("-c fsync=off -c synchronous_commit=off -c full_page_writes=off ")
        )
        opts = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
            f"{fast}-c max_connections=50 -c shared_buffers=256MB"
        )
        self._opts = opts
        self.resume()

    def resume(self) -> None:
        """Start the (initialised) server and wait until it accepts connections."""
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            self._opts,
            "-l",
            str(self.log),
            "-w",
            "start",
        )

    def pause(self) -> None:
        """Stop the server (fast shutdown: clients are disconnected), keeping its data."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)
