"""The simulated demo season used by the bulletin tests (SQLite file)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: The season ends on the last day of 2026 (Beijing evening): September–December.
SEASON_END = datetime(2026, 12, 31, 12, 0, tzinfo=UTC)


def simulated_season(root: Path, days: int = 120) -> str:
    """Load the demo county into ``root/season.sqlite`` and simulate ``days`` days; its URL."""
    from civgrid.grids.boundaries.store import Store
    from civgrid.grids.core.db import make_engine
    from civgrid.grids.demo.load import load_demo
    from civgrid.grids.demo.season import simulate
    from civgrid.grids.issues.config import IssueConfig

    url = f"sqlite:///{root / 'season.sqlite'}"
    store = Store(make_engine(url))
    try:
        store.upgrade()
        assert load_demo(store).ok
        store.rebuild_index()
        rep = simulate(
            store, days=days, end=SEASON_END, config=IssueConfig(photo_dir=root / "photos")
        )
        assert rep.reports > 500
    finally:
        store.engine.dispose()
    return url


def shared_season(tmp_path_factory: Any, name: str, days: int = 120) -> str:
    """A private copy of the season, simulated once per test run for every xdist worker.

    The first worker to ask builds it in the run's shared temporary directory (the
    parent of each worker's own) under a file lock; the others wait and copy it. Each
    caller gets its own file (tests write to it: accounts, scores) in a new directory
    named ``name``.
    """
    import fcntl
    import shutil

    shared = tmp_path_factory.getbasetemp().parent / f"season-{days}d"
    shared.mkdir(exist_ok=True)
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (shared / "done").exists():
            simulated_season(shared, days=days)
            (shared / "done").touch()
    root = tmp_path_factory.mktemp(name)
    shutil.copy2(shared / "season.sqlite", root / "season.sqlite")
    if (shared / "photos").exists():
        shutil.copytree(shared / "photos", root / "photos")
    return f"sqlite:///{root / 'season.sqlite'}"
