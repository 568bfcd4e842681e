"""Run every benchmark, with a throwaway PostGIS cluster for the PostGIS peer.

``make bench`` calls this. Each benchmark prints its figures, the peers' figures
from the same run, and the targets with met/missed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from support.pgcluster import Cluster, free_port  # noqa: E402

BENCHES = ["snap.py", "hexbins.py", "backfill.py", "load.py"]


def main() -> int:
    """Start a cluster, create a PostGIS database, run the benchmarks, stop the cluster."""
    import psycopg

    cluster = Cluster(free_port())
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
        rc = 0
        for bench in BENCHES:
            cmd = [sys.executable, str(HERE / bench), "--pg-url", url, *sys.argv[1:]]
            print("$", " ".join(cmd[1:]), flush=True)
            rc |= subprocess.call(cmd)
        return rc
    finally:
        cluster.stop()


if __name__ == "__main__":
    raise SystemExit(main())
