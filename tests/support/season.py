"""The simulated demo season used by the bulletin tests (SQLite file)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

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
