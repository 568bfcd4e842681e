"""Run every benchmark, with a throwaway PostGIS cluster for the PostGIS peer.

The cluster keeps PostgreSQL's durable defaults (``fsync``, ``synchronous_commit``,
``full_page_writes`` on: a commit waits for its WAL on disk, as in production), unlike
the tests' clusters; each PostGIS benchmark prints the settings it ran with.

``make bench`` calls this. Each benchmark prints its figures, the peers' figures
from the same run, and the targets with met/missed; each exits 1 when a target is
missed or a peer fails to run, and so does this script (and ``make bench``).

Options of its own: ``--only NAME`` (repeatable: run only these, e.g.
``--only backfill.py``) and ``--pg-url URL`` (use this PostGIS database instead of
starting a cluster). Every other argument goes to every benchmark (each ignores
the size flags of the others: ``--quick``, ``--rows N``, ``--points N``,
``--issues N``).
Targets can be overridden through ``CIVGRID_BENCH_TARGETS`` (``bench/harness.py``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from support.pgcluster import Cluster, free_port  # noqa: E402

BENCHES = ["snap.py", "hexbins.py", "backfill.py", "scale.py", "load.py"]


def run_all(url: str, benches: list[str], rest: list[str]) -> int:
    """Run ``benches`` against the PostGIS database ``url``; 1 if any of them failed."""
    rc = 0
    for bench in benches:
        cmd = [sys.executable, str(HERE / bench), "--pg-url", url, *rest]
        print("$", " ".join(cmd[1:]), flush=True)
        status = subprocess.call(cmd)
        if status:
            print(f"{bench}: exit status {status}", flush=True)
        rc |= 1 if status else 0
    return rc


def main(argv: list[str] | None = None) -> int:
    """Start a cluster, create a PostGIS database, run the benchmarks, stop the cluster."""
    import argparse

    import psycopg

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", choices=BENCHES, help="run only this benchmark")
    ap.add_argument("--pg-url", default=None, help="an existing PostGIS database to use")
    args, rest = ap.parse_known_args(sys.argv[1:] if argv is None else argv)
    benches = args.only or BENCHES
    if args.pg_url:
        return run_all(args.pg_url, benches, rest)

    cluster = Cluster(free_port(), durable=True)
    cluster.start()
    try:
        with psycopg.connect(
            host="127.0.0.1",
            port=cluster.port,
            user="postgres",
            dbname="postgres",
            autocommit=True,
        ) as c:
            c.execute("CREATE DATABASE civgrid_bench")
        with psycopg.connect(
            host="127.0.0.1",
            port=cluster.port,
            user="postgres",
            dbname="civgrid_bench",
            autocommit=True,
        ) as c:
            c.execute("CREATE EXTENSION postgis")
        url = f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}/civgrid_bench"
        return run_all(url, benches, rest)
    finally:
        cluster.stop()


if __name__ == "__main__":
    raise SystemExit(main())
