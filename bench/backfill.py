"""Back-fill benchmark: 100k historical issues through the bulk snapping engine.

Loads the demo county into a throwaway SQLite file, makes ``--rows`` synthetic
historical rows (WGS84, office-spreadsheet headers) and runs the same back-fill
as ``civgrid import issues FILE --commit``. Prints the stages and rows/s.
Target (issue 6): 100,000 rows complete; the figure is recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "boundaries" / "demo"


def main() -> int:
    """Run the back-fill benchmark and print its figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--pg-url", default=None, help="ignored (SQLite store)")
    ap.add_argument("--quick", action="store_true", help="10,000 rows")
    args, _ = ap.parse_known_args()
    rows_n = 10_000 if args.quick else args.rows

    from civgrid.grids.boundaries.store import Store
    from civgrid.grids.core.db import make_engine
    from civgrid.grids.demo.load import load_demo
    from civgrid.grids.issues.backfill import backfill_issues, synthetic_history

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(make_engine(f"sqlite:///{Path(tmp) / 'bench.sqlite'}"))
        store.upgrade()
        load_demo(store, DEMO, commit=True)
        store.rebuild_index()
        t = time.perf_counter()
        rows = synthetic_history(store, rows_n, seed=1)
        t_make = time.perf_counter() - t
        stages: dict[str, float] = {}
        last = [time.perf_counter(), None]

        def progress(stage: str, done: int, total: int) -> None:
            now = time.perf_counter()
            if last[1] is not None and last[1] != stage:
                stages[last[1]] = stages.get(last[1], 0.0) + now - last[0]
                last[0] = now
            last[1] = stage

        t = time.perf_counter()
        report = backfill_issues(store, rows, commit=True, progress=progress)
        total = time.perf_counter() - t
        if last[1] is not None:
            stages[last[1]] = stages.get(last[1], 0.0) + time.perf_counter() - last[0]
        store.engine.dispose()
    print(f"back-fill: {rows_n:,} synthetic rows made in {t_make:.1f} s")
    for stage, sec in stages.items():
        print(f"  stage {stage:<12} {sec:7.1f} s")
    ok = report.written == rows_n
    print(
        f"back-fill: {report.written:,} issues written in {total:.1f} s "
        f"= {rows_n / total:,.0f} rows/s; recurrences {report.recurrences:,}; "
        f"target: all {rows_n:,} rows through the bulk engine — {'met' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
