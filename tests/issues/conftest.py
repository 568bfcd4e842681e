"""Fixtures of the issue tests: the demo county on SQLite and on PostGIS, a clock.

The demo county is loaded once per backend into a template (a SQLite file, a
PostGIS template database); each test gets a fresh copy, so tests can commit.
The snap index is built once per backend and shared (it is immutable).
"""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, datetime

import psycopg
import pytest
from issue_helpers import Clock
from sqlalchemy.engine import make_url

from civgrid.grids.db import make_engine
from civgrid.grids.demo import load_demo
from civgrid.grids.issue_config import IssueConfig
from civgrid.grids.store import Store

BACKENDS = ["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)]


def _prepare(url: str) -> Store:
    store = Store(make_engine(url))
    store.upgrade()
    report = load_demo(store)
    assert report.status == "committed", report.to_text()
    return store


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("issues-demo") / "demo.sqlite"
    store = _prepare(f"sqlite:///{path}")
    index = store.snap_index
    with store.engine.connect() as c:
        c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store.engine.dispose()
    return path, index


def _admin(pg_url: str) -> psycopg.Connection:
    u = make_url(pg_url)
    return psycopg.connect(
        host=u.host, port=u.port, user=u.username, dbname="postgres", autocommit=True
    )


@pytest.fixture(scope="session")
def _postgis_template(pg_url):
    name = "civgrid_issues_tpl"
    with _admin(pg_url) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name}")
        c.execute(f"CREATE DATABASE {name}")
    url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    store = _prepare(url)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
    index = store.snap_index
    store.engine.dispose()
    return name, index


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    """A store with the demo county loaded, on SQLite or PostGIS (fresh copy per test)."""
    if request.param == "sqlite":
        path, index = request.getfixturevalue("_sqlite_template")
        target = tmp_path / "civgrid.sqlite"
        shutil.copyfile(path, target)
        st = Store(make_engine(f"sqlite:///{target}"))
        st.snap_index = index
        yield st
        st.engine.dispose()
        return
    pg_url = request.getfixturevalue("pg_url")
    template, index = request.getfixturevalue("_postgis_template")
    name = f"civgrid_issue_{uuid.uuid4().hex[:10]}"
    with _admin(pg_url) as c:
        c.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    st = Store(make_engine(make_url(pg_url).set(database=name).render_as_string(False)))
    st.snap_index = index
    yield st
    st.engine.dispose()
    with _admin(pg_url) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


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
    from fastapi.testclient import TestClient

    from civgrid.api.app import create_app
    from civgrid.api.routers import issues as issues_router
    from civgrid.api.routers import open311 as open311_router
    from civgrid.api.settings import Settings

    url = store.engine.url.render_as_string(hide_password=False)
    app = create_app(Settings(database_url=url, var_dir=tmp_path, build_index_on_startup=False))
    for router in (issues_router.router, open311_router.router):
        if not _registered(app, router):  # until the lead registers them in create_app
            app.include_router(router)
    app.state.issue_config = IssueConfig(clock=clock, photo_dir=tmp_path / "photos")
    with TestClient(app) as c:
        app.state.store.snap_index = store.snap_index
        yield c


def _registered(app, router) -> bool:
    for r in app.routes:
        if getattr(r, "original_router", None) is router:
            return True
        if getattr(r, "endpoint", None) in {x.endpoint for x in router.routes}:
            return True
    return False
