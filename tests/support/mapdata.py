"""Test data for the map tests: the demo county plus a deterministic set of issues.

Issues are reported through the ordinary issue service (routing, duplicates,
recurrences), on a fixed clock: some are fixed and closed, some recur at the
same place after closing, and a deadline check flags the overdue ones.
"""

from __future__ import annotations

import base64
import random
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import shapely

DEMO_DATA = Path(__file__).resolve().parents[2] / "data" / "boundaries" / "demo"
T0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
CATEGORIES = (
    "street_vending",
    "illegal_parking",
    "garbage_blind_spot",
    "illegal_flyers",
    "dog_nuisance",
    "dumping",
    "market_surroundings",
)
SOURCES = ("grid_worker", "field_supervision", "citizen_complaint", "unannounced_visit")


@dataclass
class SeedResult:
    """What :func:`seed_issues` wrote."""

    issues: int
    closed: int
    clock_end: datetime


def _point_in(geom, rng: random.Random) -> tuple[float, float]:
    minx, miny, maxx, maxy = geom.bounds
    for _ in range(200):
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if geom.contains(shapely.Point(x, y)):
            return x, y
    p = geom.representative_point()
    return p.x, p.y


def seed_issues(store, photo_dir: Path, n: int = 120, seed: int = 11) -> SeedResult:
    """Report ``n`` issues in the demo county's unit grids (40 % in six hot spots)."""
    from civgrid.grids.core.actors import Actor
    from civgrid.grids.issues import service as svc
    from civgrid.grids.issues.config import IssueConfig
    from civgrid.grids.issues.photos import PhotoInput

    rng = random.Random(seed)
    clock = {"t": T0}
    cfg = IssueConfig(clock=lambda: clock["t"], photo_dir=photo_dir)
    with store.session() as s:
        grids = [(g.code, g.geom) for g in store.areas(layer="unit_grid", session=s)]
    hot = grids[::23][:6]
    closed = 0
    for k in range(n):
        clock["t"] = T0 + timedelta(hours=7 * k)
        _code, geom = rng.choice(hot) if rng.random() < 0.4 else rng.choice(grids)
        x, y = _point_in(geom, rng)
        with store.session() as s:
            r = svc.report_issue(
                s,
                store,
                Actor("网格员", "grid_worker"),
                svc.IssueReport(
                    rng.choice(CATEGORIES),
                    rng.choice(SOURCES),
                    x,
                    y,
                    reporter_name="张",
                    reporter_contact="x",
                    description=f"测试问题 {k}",
                ),
                None,
                config=cfg,
            )
            issue = r.issue
            if (
                str(issue.state) == "assigned"
                and issue.owner_unit is not None
                and rng.random() < 0.55
            ):
                unit = Actor("责任人", "unit", issue.owner_unit.key)
                svc.accept(s, unit, issue.id, config=cfg)
                if rng.random() < 0.7:
                    svc.submit(
                        s,
                        unit,
                        issue.id,
                        config=cfg,
                        measures="已整改",
                        note="已整改",
                        photos=[PhotoInput(PNG, "fix.png", "image/png")],
                    )
                    svc.reinspect(
                        s,
                        Actor("复查员", "inspector"),
                        issue.id,
                        passed=True,
                        config=cfg,
                        note="复查通过",
                    )
                    closed += 1
    clock["t"] = T0 + timedelta(hours=7 * n + 24)
    with store.session() as s:
        svc.check_deadlines(s, config=cfg)
    return SeedResult(n, closed, clock["t"])


def build_demo_db(path: Path, photo_dir: Path, n: int = 120) -> SeedResult:
    """A SQLite file with the demo county and ``n`` seeded issues."""
    from civgrid.grids.boundaries.store import Store
    from civgrid.grids.core.db import make_engine
    from civgrid.grids.demo.load import load_demo

    store = Store(make_engine(f"sqlite:///{path}"))
    try:
        store.upgrade()
        report = load_demo(store, DEMO_DATA)
        assert report.ok, report.to_text()
        store.rebuild_index()
        result = seed_issues(store, photo_dir, n)
        with store.engine.connect() as c:
            c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.engine.dispose()
    return result


def copy_db(template: Path, target: Path) -> str:
    """Copy a template SQLite file; return its URL."""
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


def make_app(db_url: str, var_dir: Path, **settings):
    """``create_app`` with the map (and issue) routers mounted once."""
    from civgrid.api.app import create_app
    from civgrid.api.settings import Settings

    # create_app registers the map and issue routers
    app = create_app(Settings(database_url=db_url, var_dir=var_dir, **settings))
    return app
