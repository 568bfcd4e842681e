"""What every benchmark shares: targets that can be overridden, and an exit status that fails.

A benchmark states each target with :func:`target` (its default is the issue's
figure) and ends with :func:`exit_status`: 1 when a target was missed or a peer
(PostGIS) failed to run, else 0. ``bench/run.py`` (``make bench``) ORs the
statuses, so ``make bench`` fails with any benchmark.

Overrides (tests of the harness, or a slower machine on purpose) come from the
environment: ``CIVGRID_BENCH_TARGETS="backfill_sqlite_rows_s=1e12,snap_full_mpts=0"``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

ENV = "CIVGRID_BENCH_TARGETS"


def overrides(env: str | None = None) -> dict[str, float]:
    """The ``key=value`` pairs of :data:`ENV` (``env`` replaces the variable's value).

    >>> overrides("a=1, b=2.5e3")
    {'a': 1.0, 'b': 2500.0}
    >>> overrides("")
    {}
    """
    text = os.environ.get(ENV, "") if env is None else env
    out: dict[str, float] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise SystemExit(f"{ENV}: {part!r} is not key=value")
        out[key.strip()] = float(value)
    return out


def target(key: str, default: float) -> float:
    """The target ``key``: ``default`` unless :data:`ENV` overrides it."""
    return overrides().get(key, default)


class Outcome:
    """Targets met or missed, and peers that failed, of one benchmark run."""

    def __init__(self) -> None:
        self.missed: list[str] = []
        self.failed: list[str] = []

    def check(self, name: str, ok: bool) -> str:
        """Record a target; returns ``met`` or ``MISSED`` for the printed line."""
        if not ok:
            self.missed.append(name)
        return "met" if ok else "MISSED"

    def peer_failed(self, name: str, why: str) -> None:
        """A peer that could not run fails the benchmark (its target is not dropped)."""
        self.failed.append(f"{name} ({why})")

    def exit_status(self) -> int:
        """Print the summary line; 1 if anything was missed or failed."""
        bad = [*(f"MISSED {m}" for m in self.missed), *(f"FAILED {f}" for f in self.failed)]
        print("targets: " + ("all met" if not bad else "; ".join(bad)), flush=True)
        return 1 if bad else 0


def postgis_database(pg_url: str, name: str) -> str:
    """A fresh PostGIS database ``name`` (dropped first if it exists) in the cluster of
    ``pg_url``; its SQLAlchemy URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(pg_url)
    kw = {"host": u.host, "port": u.port, "user": u.username, "autocommit": True}
    with psycopg.connect(dbname="postgres", connect_timeout=10, **kw) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        c.execute(f"CREATE DATABASE {name}")
    with psycopg.connect(dbname=name, **kw) as c:
        c.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return u.set(database=name).render_as_string(hide_password=False)


def drop_postgis_database(pg_url: str, name: str) -> None:
    """Drop the database ``name`` in the cluster of ``pg_url`` (best effort)."""
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(pg_url)
    kw = {"host": u.host, "port": u.port, "user": u.username, "autocommit": True}
    try:
        with psycopg.connect(dbname="postgres", **kw) as c:
            c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    except Exception:  # the cluster may be gone already: nothing left to drop
        pass


#: The settings that decide whether a commit waits for the disk.
DURABILITY = ("fsync", "synchronous_commit", "full_page_writes")


def durability(pg_url: str) -> str:
    """How durable the cluster of ``pg_url`` commits, for the printed header.

    ``make bench`` starts its cluster with PostgreSQL's defaults (a commit waits for its
    WAL on disk, as in production); the tests' clusters turn that off. A figure measured
    without it says so.
    """
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(pg_url)
    kw = {"host": u.host, "port": u.port, "user": u.username, "dbname": u.database}
    with psycopg.connect(connect_timeout=10, **kw) as c:
        values = [c.execute(f"SHOW {name}").fetchone()[0] for name in DURABILITY]
        folder = c.execute("SHOW data_directory").fetchone()[0]
    text = " ".join(f"{n}={v}" for n, v in zip(DURABILITY, values, strict=True))
    if values == ["on", "on", "on"]:
        return f"{text} (commits wait for the disk, as in production); {disk_sync(Path(folder))}"
    return f"{text} (NOT durable: commits do not wait for the disk)"


def disk_sync(folder: Path, n: int = 40) -> str:
    """The disk's time to make one 8 kB write durable (``fdatasync``, PostgreSQL's WAL
    sync on Linux), median of ``n``, measured in ``folder`` (the cluster's data directory,
    else the temporary one) as the WAL writes: successive 8 kB blocks of a file written
    out beforehand (pg_test_fsync's method). Each durable commit waits for at least one,
    so it bounds the server time of a write from below.
    """
    import statistics
    import tempfile

    block = os.urandom(8192)
    try:
        fd, name = tempfile.mkstemp(prefix="disk-sync-", dir=folder)
    except OSError:
        fd, name = tempfile.mkstemp(prefix="disk-sync-")
    took = []
    try:
        os.write(fd, bytes(8192 * n))  # a WAL segment is written out before it is used
        os.fsync(fd)
        for k in range(n):
            t0 = time.perf_counter()
            os.pwrite(fd, block, 8192 * k)
            os.fdatasync(fd)
            took.append((time.perf_counter() - t0) * 1000)
    finally:
        os.close(fd)
        os.unlink(name)
    return f"disk: fdatasync of 8 kB median {statistics.median(took):.2f} ms (of {n})"
