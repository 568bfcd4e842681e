"""Fixtures of the scoring tests: the demo county on SQLite and PostGIS, a TestClient."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from support.demo_stores import BACKENDS, demo_store_copy


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    """A store with the demo county loaded, on SQLite or PostGIS (fresh copy per test)."""
    yield from demo_store_copy(request.param, request, tmp_path)


@pytest.fixture
def client(store, tmp_path):
    """A TestClient of the app on the same database as ``store``."""
    from fastapi.testclient import TestClient

    from civgrid.api.app import create_app
    from civgrid.api.settings import Settings

    url = store.engine.url.render_as_string(hide_password=False)
    app = create_app(Settings(database_url=url, var_dir=tmp_path, build_index_on_startup=False))
    app.state.score_clock = lambda: AFTER_DECEMBER  # tests move it with set_clock
    with TestClient(app) as c:
        yield c


#: The scoring clock of the test app: 5 January 2027, 10:00 Beijing (December has ended).
AFTER_DECEMBER = datetime(2027, 1, 5, 2, 0, tzinfo=UTC)


@pytest.fixture
def set_clock(client):
    """``set_clock(aware datetime)``: what the app's scoring takes as now."""

    def _set(at: datetime) -> None:
        client.app.state.score_clock = lambda: at

    return _set


PASSWORD = "Chuangwen-2026!"


@pytest.fixture
def login(client, store):
    """``login(username, role, **links)`` → Authorization headers of a fresh account."""
    from civgrid.grids.accounts.service import create_user
    from civgrid.grids.core.actors import SYSTEM_ACTOR

    made: set[str] = set()

    def _login(username: str, role: str, **links: str) -> dict[str, str]:
        if username not in made:
            with store.session() as s:
                create_user(s, SYSTEM_ACTOR, username, PASSWORD, role, **links)
            made.add(username)
        r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    return _login
