"""Intake cost: the server time of ``POST /api/v1/issues``, in process, on both backends.

Loads the demo county into a throwaway SQLite file and (unless ``--backend sqlite``)
a PostGIS database (``--pg-url``, or a throwaway cluster of its own), then sends
``-n`` reports (default 500) at distinct random points inside the county, as a grid
worker, one after another, through the ASGI app (the app's lifespan, middleware
and routes; no network). The server time of each report is measured around the
ASGI call (from the first byte of the request to the last of the response), so
the client's own cost is not counted. Prints the median and p95 beside the
target (issue 19: median <= 5 ms) and exits non-zero when a target is missed.

``--profile FILE`` writes a cProfile of the measured reports (SQLite or the only
backend run) for ``python -m pstats`` / snakeviz.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))

#: Issue 19, "Done when": the median server time of an intake.
TARGET_MEDIAN_MS = 5.0
#: Categories of the demo routing table (street, environment, shopfront families).
CATEGORIES = ("dumping", "street_vending", "illegal_flyers", "shopfront_order", "graffiti")


def _points(store: Any, n: int, seed: int) -> list[tuple[float, float]]:
    """``n`` distinct random points inside the demo county (WGS84 degrees)."""
    import shapely

    county = store.areas(layer="county")[0].geom
    shapely.prepare(county)
    minx, miny, maxx, maxy = county.bounds
    rng = random.Random(seed)
    out: set[tuple[float, float]] = set()
    while len(out) < n:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if shapely.contains_xy(county, x, y):
            out.add((round(x, 7), round(y, 7)))
    return sorted(out)


def _timed(app: Any, times: list[tuple[float, float]]) -> Any:
    """An ASGI wrapper recording (wall seconds, CPU seconds) of each request in ``app``.

    The CPU time is the whole process's (the requests run one at a time): on a loaded
    machine it shows the cost without the waits for a core. On PostGIS it leaves out
    the database server's own work.
    """

    async def wrapper(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        t, c = time.perf_counter(), time.process_time()
        try:
            await app(scope, receive, send)
        finally:
            times.append((time.perf_counter() - t, time.process_time() - c))

    return wrapper


def _inline_threads() -> None:
    """Run FastAPI's thread-pool calls inline, so cProfile sees the endpoint's own work.

    cProfile profiles one thread; sync endpoints and dependencies run in anyio's
    worker threads, and a profile of the event loop alone shows only the wait.
    Used only with ``--profile`` (requests run one at a time anyway).
    """
    import anyio.to_thread

    async def inline(func: Any, *args: Any, **_: Any) -> Any:
        return func(*args)

    anyio.to_thread.run_sync = inline  # type: ignore[assignment]


def measure(
    url: str, n: int, *, seed: int = 1, profile: str | None = None
) -> list[tuple[float, float]]:
    """Server (wall, CPU) seconds of ``n`` intakes at ``url`` (demo county loaded)."""
    import httpx

    from civgrid.api.app import create_app
    from civgrid.api.security import issue_token
    from civgrid.api.settings import Settings
    from support.authclient import ensure_user

    if profile:
        _inline_threads()
    with tempfile.TemporaryDirectory() as var:
        settings = Settings(
            database_url=url, var_dir=Path(var), generation_poll_seconds=1.0, secret_key="x" * 40
        )
        app = create_app(settings, settle_heap=True)  # as `civgrid serve` does
        times: list[tuple[float, float]] = []
        timed = _timed(app, times)

        async def run() -> list[tuple[float, float]]:
            async with app.router.lifespan_context(app):
                store = app.state.store
                name, ver = ensure_user(store, "bench-worker", "grid_worker")
                token = issue_token(settings, name, ver)[0]
                points = _points(store, n + 20, seed)
                rng = random.Random(seed)
                transport = httpx.ASGITransport(app=timed)
                headers = {"Authorization": f"Bearer {token}"}
                async with httpx.AsyncClient(
                    transport=transport, base_url="http://bench", headers=headers
                ) as client:
                    prof = cProfile.Profile() if profile else None
                    for k, (lon, lat) in enumerate(points):
                        if k == 20:  # warm-up done: caches, pools, first compiles
                            times.clear()
                            if prof is not None:
                                prof.enable()
                        r = await client.post(
                            "/api/v1/issues",
                            json={
                                "category": rng.choice(CATEGORIES),
                                "source": "grid_worker",
                                "lon": lon,
                                "lat": lat,
                                "description": f"基准测试 {k}",
                            },
                        )
                        if r.status_code != 201:
                            raise SystemExit(f"intake answered {r.status_code}: {r.text[:300]}")
                    if prof is not None:
                        prof.disable()
                        prof.dump_stats(profile)
                return list(times)

        return asyncio.run(run())


def _load(url: str) -> None:
    from civgrid.grids.boundaries.store import Store
    from civgrid.grids.core.db import make_engine
    from civgrid.grids.demo.load import load_demo

    store = Store(make_engine(url))
    store.upgrade()
    report = load_demo(store)
    assert report.status == "committed", report.to_text()
    store.engine.dispose()


def _report(backend: str, times: list[tuple[float, float]]) -> bool:
    ms = sorted(t * 1000 for t, _ in times)
    cpu = sorted(c * 1000 for _, c in times)
    median = statistics.median(ms)
    p95 = ms[int(0.95 * (len(ms) - 1))]
    ok = median <= TARGET_MEDIAN_MS
    print(
        f"intake {backend:<8} n={len(ms)}  median {median:6.2f} ms  p95 {p95:6.2f} ms  "
        f"(CPU median {statistics.median(cpu):6.2f} ms)  "
        f"target: median <= {TARGET_MEDIAN_MS:g} ms — {'met' if ok else 'MISSED'}  "
        f"[load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores]",
        flush=True,
    )
    return ok


#: The stages of an intake, as (label, module path suffix, function names) for --profile.
STAGES = (
    (
        "authenticate (token, account, scope)",
        "api/deps.py",
        ("get_current_user", "get_scope", "get_credentials", "scope"),
    ),
    ("validate the report", "grids/issues/intake.py", ("_validate_report",)),
    ("snap and route (places, parties)", "grids/issues/intake.py", ("route_point",)),
    (
        "duplicate and recurrence checks",
        "grids/issues/intake.py",
        ("_link_duplicate", "_find_recurrence"),
    ),
    ("write (flushes, events, outbox, audit)", "sqlalchemy/orm/session.py", ("flush",)),
    ("campaign tags", "grids/issues/campaigns.py", ("tag_issue",)),
    ("the answer (describe, model)", "api/routers/issues.py", ("detail_out",)),
    ("commit", "sqlalchemy/orm/session.py", ("commit",)),
)


def breakdown(profile: str, n: int) -> list[tuple[str, float]]:
    """Profiled milliseconds per intake in each of :data:`STAGES` (cumulative time).

    Profiling inflates every figure (several times for call-heavy code), so the
    shares matter, not the sums; the write stage also holds the flushes that a
    query in another stage set off (autoflush).
    """
    import pstats

    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    total = sum(tt for (_, _, _), (_, _, tt, _, _) in stats.items())
    out = []
    for label, path, names in STAGES:
        ct = sum(
            v[3] for (file, _, func), v in stats.items() if func in names and file.endswith(path)
        )
        out.append((label, 1000 * ct / n))
    out.append(("everything profiled (incl. the test client)", 1000 * total / n))
    return out


def calls_per_report(profile: str, n: int) -> float:
    """Python function calls per intake in the profile: a load-independent cost figure."""
    import pstats

    return pstats.Stats(profile).total_calls / n  # type: ignore[attr-defined]


def _postgis_db(pg_url: str | None, stack: Any) -> str:
    """A fresh PostGIS database: on ``pg_url``'s cluster, or on a throwaway one."""
    import psycopg
    from sqlalchemy.engine import make_url

    if pg_url is None:
        from support.pgcluster import Cluster, free_port

        cluster = Cluster(free_port(), durable=True)
        cluster.start()
        stack.callback(cluster.stop)
        pg_url = f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}/postgres"
    u = make_url(pg_url)
    name = f"civgrid_intake_{random.randrange(1 << 30):x}"
    admin = {"host": u.host, "port": u.port, "user": u.username, "autocommit": True}
    with psycopg.connect(**admin, dbname="postgres") as c:
        c.execute(f"CREATE DATABASE {name}")

    def drop() -> None:
        with psycopg.connect(**admin, dbname="postgres") as c:
            c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    stack.callback(drop)
    with psycopg.connect(**admin, dbname=name) as c:
        c.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    url = u.set(database=name).render_as_string(hide_password=False)
    sys.path.insert(0, str(HERE))
    from harness import durability

    print(f"postgis: {durability(url)}", flush=True)
    return url


def _print_breakdown(profile: str, n: int) -> None:
    print("  where a profiled intake's time goes (ms per report, cumulative, profiled):")
    for label, ms in breakdown(profile, n):
        print(f"    {label:<46} {ms:7.2f}")
    calls = calls_per_report(profile, n)
    print(f"  Python function calls per report (incl. the test client): {calls:,.0f}")


def main() -> int:
    """Run the intake benchmark on the chosen backends; 1 when a target is missed."""
    import contextlib

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=("sqlite", "postgis", "both"), default="both")
    ap.add_argument("--pg-url", default=None, help="a PostGIS cluster (default: a throwaway one)")
    ap.add_argument("-n", type=int, default=500, help="measured reports per backend")
    ap.add_argument("--quick", action="store_true", help="100 reports")
    ap.add_argument("--profile", default=None, help="write a cProfile of the measured reports")
    args, _ = ap.parse_known_args()
    n = 100 if args.quick else args.n
    ok = True
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        if args.backend in ("sqlite", "both"):
            url = f"sqlite:///{Path(tmp) / 'intake.sqlite'}"
            _load(url)
            ok &= _report("sqlite", measure(url, n, profile=args.profile))
            if args.profile:
                _print_breakdown(args.profile, n)
        if args.backend in ("postgis", "both"):
            url = _postgis_db(args.pg_url, stack)
            _load(url)
            prof = args.profile if args.backend == "postgis" else None
            ok &= _report("postgis", measure(url, n, profile=prof))
            if prof:
                _print_breakdown(prof, n)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
