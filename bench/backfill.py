"""Back-fill benchmark: 10⁶ historical issues on SQLite and on PostGIS, with targets.

Loads the demo county into a fresh database per backend (a throwaway SQLite file;
a database ``civgrid_bench_backfill`` created next to ``--pg-url``), makes
``--rows`` synthetic historical rows once (WGS84, office-spreadsheet headers; the
same rows for both backends) and runs the same back-fill as
``civgrid import issues FILE --commit``. Prints each stage's time — booked to the
stage that spent it: ``backfill_issues`` reports the end of every stage through its
progress callback, and the time since the previous report belongs to that stage —
and rows/s.

Targets (issue 26): every row written, ≥ 20,000 rows/s on SQLite and ≥ 50,000
rows/s on PostGIS. Exit status 1 when a target is missed or the PostGIS back-fill
cannot run (no ``--pg-url``, or it failed). Overrides through
``CIVGRID_BENCH_TARGETS`` (``backfill_sqlite_rows_s``, ``backfill_postgis_rows_s``;
``bench/harness.py``).

Usage::

    python bench/backfill.py --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/db
    python bench/backfill.py --rows 100000 --backend sqlite
    python bench/backfill.py --pg-url URL --backend postgis --verbose  # each index build
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEMO = ROOT / "data" / "boundaries" / "demo"
sys.path.insert(0, str(HERE))

from harness import (  # noqa: E402
    Outcome,
    drop_postgis_database,
    durability,
    postgis_database,
    target,
)

DB_NAME = "civgrid_bench_backfill"
TARGETS = {
    "sqlite": ("backfill_sqlite_rows_s", 20_000.0),
    "postgis": ("backfill_postgis_rows_s", 50_000.0),
}


class StageClock:
    """Books the time since the previous progress report to the stage now reported.

    ``backfill_issues`` calls ``progress(stage, done, total)`` during a stage and once
    at its end, so the time up to each call was spent in the stage it names. Beside the
    elapsed time (``stages``), the CPU time of this process (``cpu``: what a shared
    machine's load changes least; PostgreSQL's own work is not in it).
    """

    def __init__(self) -> None:
        self.stages: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.last = time.perf_counter()
        self.last_cpu = time.process_time()

    def __call__(self, stage: str, done: int, total: int) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        self.stages[stage] = self.stages.get(stage, 0.0) + now - self.last
        self.cpu[stage] = self.cpu.get(stage, 0.0) + cpu - self.last_cpu
        self.last, self.last_cpu = now, cpu


def run_backend(url: str, rows: list[dict[str, Any]] | None, n: int) -> dict[str, Any]:
    """Demo county into ``url``, then the timed back-fill; the figures."""
    from civgrid.geo.snap import warm_up
    from civgrid.grids.boundaries.store import Store
    from civgrid.grids.core.db import make_engine
    from civgrid.grids.demo.load import load_demo
    from civgrid.grids.issues.backfill import backfill_issues, synthetic_history

    store = Store(make_engine(url))
    try:
        store.upgrade()
        load_demo(store, DEMO, commit=True)
        store.rebuild_index()
        if rows is None:
            rows = synthetic_history(store, n, seed=1)
        # the snap kernels are compiled once per installation (numba's on-disk cache),
        # not per back-fill: loaded before the clock starts, the time printed apart
        kernels = warm_up()
        clock = StageClock()
        t = time.perf_counter()
        report = backfill_issues(store, rows, commit=True, progress=clock)
        total = time.perf_counter() - t
        volume = written_volume(store)
    finally:
        store.engine.dispose()
    return {
        "rows": rows,
        "report": report,
        "seconds": total,
        "stages": clock.stages,
        "cpu": clock.cpu,
        "volume": volume,
        "kernels": kernels,
    }


def written_volume(store: Any) -> dict[str, float]:
    """Rows per table, bytes of a stored routing answer, bytes on disk."""
    from sqlalchemy import text

    tables = (
        "issues",
        "issue_events",
        "issue_routings",
        "party_sets",
        "party_set_members",
        "place_sets",
        "place_set_members",
    )
    with store.engine.connect() as c:
        out = {t: float(c.execute(text(f"SELECT count(*) FROM {t}")).scalar()) for t in tables}
        pg = c.dialect.name == "postgresql"
        cast = "::text" if pg else ""
        out["routing_bytes"] = float(
            c.execute(text(f"SELECT avg(length(answer{cast})) FROM issue_routings")).scalar() or 0
        )
        if pg:
            size = "SELECT pg_total_relation_size(:t)"
            out["disk_bytes"] = float(sum(c.execute(text(size), {"t": t}).scalar() for t in tables))
        else:
            pages = c.execute(text("PRAGMA page_count")).scalar()
            out["disk_bytes"] = float(pages * c.execute(text("PRAGMA page_size")).scalar())
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the back-fill on each backend, print the figures, return the exit status."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--pg-url", default=None, help="SQLAlchemy URL of a PostGIS cluster")
    ap.add_argument("--backend", choices=["sqlite", "postgis", "both"], default="both")
    ap.add_argument("--quick", action="store_true", help="100,000 rows")
    ap.add_argument("--verbose", action="store_true", help="print each index build's time")
    args, _ = ap.parse_known_args(argv)  # bench/run.py passes the other benchmarks' flags
    if args.verbose:  # BulkInserter.create_indexes logs each build at DEBUG
        logging.basicConfig(format="      %(message)s")
        logging.getLogger("civgrid.grids.issues.bulk_insert").setLevel(logging.DEBUG)
    n = min(args.rows, 100_000) if args.quick else args.rows
    backends = ["sqlite", "postgis"] if args.backend == "both" else [args.backend]
    outcome = Outcome()
    print("civgrid back-fill benchmark (bench/backfill.py)")
    print(
        f"  {n:,} synthetic rows; {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.2f} at start"
    )
    rows: list[dict[str, Any]] | None = None
    for backend in backends:
        key, default = TARGETS[backend]
        goal = target(key, default)
        try:
            if backend == "sqlite":
                with tempfile.TemporaryDirectory() as tmp:
                    got = run_backend(f"sqlite:///{Path(tmp) / 'bench.sqlite'}", rows, n)
            else:
                if not args.pg_url:
                    raise RuntimeError("not run: no --pg-url (make bench provides a cluster)")
                try:
                    url = postgis_database(args.pg_url, DB_NAME)
                    print(f"  postgis: {durability(url)}", flush=True)
                    got = run_backend(url, rows, n)
                finally:
                    drop_postgis_database(args.pg_url, DB_NAME)
        except Exception as exc:
            print(f"  {backend}: FAILED: {str(exc).splitlines()[0] if str(exc) else exc!r}")
            outcome.peer_failed(f"{backend} back-fill", type(exc).__name__)
            continue
        rows = got["rows"]
        report, total = got["report"], got["seconds"]
        print(f"  {backend}: snap kernels loaded in {got['kernels']:.2f} s (before the clock)")
        for stage, sec in got["stages"].items():
            print(f"    stage {stage:<12} {sec:8.2f} s  (CPU {got['cpu'][stage]:6.2f} s)")
        rate = n / total if total else 0.0
        st_all = outcome.check(f"{backend}: all rows written", report.written == n)
        st_rate = outcome.check(f"{backend}: rows/s", rate >= goal)
        print(
            f"    {report.written:,} of {n:,} issues written ({st_all}) in {total:.1f} s "
            f"= {rate:,.0f} rows/s (target ≥ {goal:,.0f}: {st_rate}); "
            f"recurrences {report.recurrences:,}; "
            f"{report.routed_groups:,} place × category × epoch groups routed"
        )
        v, issues = got["volume"], max(got["volume"]["issues"], 1.0)
        print(
            f"    per issue: {v['issue_events'] / issues:.1f} events; shared: "
            f"{v['party_sets']:,.0f} party sets ({v['party_set_members']:,.0f} members), "
            f"{v['place_sets']:,.0f} place sets ({v['place_set_members']:,.0f} members), "
            f"{v['issue_routings']:,.0f} routing answers ({v['routing_bytes']:,.0f} B each); "
            f"{v['disk_bytes'] / issues / 1e3:,.1f} kB on disk with indexes "
            f"({'all tables' if backend == 'sqlite' else 'the issue tables'})"
        )
    print(f"  load average {os.getloadavg()[0]:.2f} at the end")
    return outcome.exit_status()


if __name__ == "__main__":
    raise SystemExit(main())
