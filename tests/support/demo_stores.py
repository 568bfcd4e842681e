"""Demo-county stores for tests on both backends, built once per session.

The demo county is loaded once per backend into a template — a SQLite file, a
PostGIS template database — by the session fixtures ``demo_sqlite_template`` and
``demo_postgis_template`` in ``tests/conftest.py``. :func:`demo_store_copy` gives
each test its own copy (so it may commit) sharing the immutable snap index.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from civgrid.grids.boundaries.store import Store
from civgrid.grids.core.db import make_engine
from civgrid.grids.demo.load import load_demo

#: Parametrize a fixture over both backends; the PostGIS one is marked (never skipped).
BACKENDS = ["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)]


def admin_connection(pg_url: str) -> psycopg.Connection:
    """Autocommit connection to the maintenance database of the cluster behind ``pg_url``."""
    u = make_url(pg_url)
    return psycopg.connect(
        host=u.host, port=u.port, user=u.username, dbname="postgres", autocommit=True
    )


def load_demo_store(url: str) -> Store:
    """Migrate the database at ``url`` and load the demo county into it."""
    store = Store(make_engine(url))
    store.upgrade()
    report = load_demo(store)
    assert report.status == "committed", report.to_text()
    return store


def sqlite_template(path: Path) -> tuple[Path, Any]:
    """Build the SQLite template file; return it with its snap index."""
    store = load_demo_store(f"sqlite:///{path}")
    with store.engine.connect() as c:
        c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    index = store.snap_index
    store.engine.dispose()
    return path, index


def postgis_template(pg_url: str, name: str = "civgrid_demo_tpl") -> tuple[str, Any]:
    """Build the PostGIS template database; return its name with its snap index."""
    with admin_connection(pg_url) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name}")
        c.execute(f"CREATE DATABASE {name}")
    url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    store = load_demo_store(url)
    index = store.snap_index
    store.engine.dispose()
    return name, index


def demo_store_copy(backend: str, request: Any, tmp_path: Path) -> Iterator[Store]:
    """Yield a private copy of the demo-county store on ``backend``; drop it afterwards."""
    if backend == "sqlite":
        path, index = request.getfixturevalue("demo_sqlite_template")
        target = tmp_path / "demo.sqlite"
        shutil.copyfile(path, target)
        st = Store(make_engine(f"sqlite:///{target}"))
        st.snap_index = index
        yield st
        st.engine.dispose()
        return
    pg_url = request.getfixturevalue("pg_url")
    template, index = request.getfixturevalue("demo_postgis_template")
    name = f"civgrid_copy_{uuid.uuid4().hex[:10]}"
    with admin_connection(pg_url) as c:
        c.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    st = Store(make_engine(make_url(pg_url).set(database=name).render_as_string(False)))
    st.snap_index = index
    yield st
    st.engine.dispose()
    with admin_connection(pg_url) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
