"""Fixtures of the issue tests: the demo county on SQLite and on PostGIS, a clock.

The demo county is loaded once per backend into a template (a SQLite file, a
PostGIS template database); each test gets a fresh copy, so tests can commit.
The snap index is built once per backend and shared (it is immutable).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from civgrid.grids.issues.config import IssueConfig
from support.demo_stores import BACKENDS, demo_store_copy
from support.issue_helpers import Clock


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    """A store with the demo county loaded, on SQLite or PostGIS (fresh copy per test)."""
    yield from demo_store_copy(request.param, request, tmp_path)


@pytest.fixture
def clock():
    """Monday 2025-03-03 09:00 Beijing time."""
    return Clock(datetime(2025, 3, 3, 1, 0, tzinfo=UTC))


@pytest.fixture
def config(clock, tmp_path):
    """The default city configuration with the controllable clock and a photo directory."""
    return IssueConfig(clock=clock, photo_dir=tmp_path / "photos")


@pytest.fixture
def client(store, clock, tmp_path):
    """A TestClient of the app on the same database as ``store`` (demo county loaded),
    with the issue routers, the controllable clock and a photo directory.
    """
    from civgrid.api.app import create_app
    from civgrid.api.routers import issues as issues_router
    from civgrid.api.routers import open311 as open311_router
    from civgrid.api.settings import Settings
    from support.authclient import AuthClient

    url = store.engine.url.render_as_string(hide_password=False)
    app = create_app(Settings(database_url=url, var_dir=tmp_path, build_index_on_startup=False))
    for router in (issues_router.router, open311_router.router):
        if not _registered(app, router):  # until the lead registers them in create_app
            app.include_router(router)
    app.state.issue_config = IssueConfig(clock=clock, photo_dir=tmp_path / "photos")
    with AuthClient(app) as c:
        app.state.store.snap_index = store.snap_index
        yield c


def _registered(app, router) -> bool:
    for r in app.routes:
        if getattr(r, "original_router", None) is router:
            return True
        if getattr(r, "endpoint", None) in {x.endpoint for x in router.routes}:
            return True
    return False
