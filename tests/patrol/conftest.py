"""Fixtures of the patrol tests: the demo county (with its teams) on SQLite and PostGIS."""

from __future__ import annotations

import pytest

from support.demo_stores import BACKENDS, demo_store_copy


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    """A store with the demo county loaded, on SQLite or PostGIS (fresh copy per test)."""
    yield from demo_store_copy(request.param, request, tmp_path)


@pytest.fixture
def sqlite_store(request, tmp_path):
    """The demo county on SQLite only (for tests of pure planning logic)."""
    yield from demo_store_copy("sqlite", request, tmp_path)


@pytest.fixture
def client(store, tmp_path):
    """A logged-in TestClient (admin unless headers say otherwise) on ``store``'s database."""
    from civgrid.api.app import create_app
    from civgrid.api.settings import Settings
    from support.authclient import AuthClient

    url = store.engine.url.render_as_string(hide_password=False)
    app = create_app(Settings(database_url=url, var_dir=tmp_path, build_index_on_startup=False))
    with AuthClient(app) as c:
        app.state.store.snap_index = store.snap_index
        yield c
