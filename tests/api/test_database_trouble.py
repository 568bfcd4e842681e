"""Database trouble answers 503 with ``Retry-After``, not a plain 500.

* PostgreSQL lost: a private throwaway cluster is stopped under a running app, then
  started again (the app recovers without a restart).
* SQLite locked: another connection holds the write lock longer than the (short,
  configured) busy timeout.

API routes answer problem+json; pages answer a Chinese HTML page.
"""

from __future__ import annotations

import shutil
import sqlite3

import psycopg
import pytest

from civgrid.api.app import create_app
from civgrid.api.settings import Settings
from support.authclient import AuthClient
from support.pgcluster import Cluster, free_port


def _assert_api_503(r) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert int(r.headers["Retry-After"]) > 0
    body = r.json()
    assert body["status"] == 503 and body["type"] == "civgrid:DatabaseUnavailable"
    assert "Traceback" not in r.text and "SELECT" not in r.text


def _assert_page_503(r) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert int(r.headers["Retry-After"]) > 0
    assert "系统繁忙" in r.text and "稍后" in r.text


def test_a_locked_sqlite_database_is_503_after_the_busy_timeout(tmp_path, demo_sqlite_template):
    db = tmp_path / "civgrid.sqlite"
    shutil.copyfile(demo_sqlite_template[0], db)  # the demo county: categories, areas
    settings = Settings(
        database_url=f"sqlite:///{db}",
        var_dir=tmp_path,
        build_index_on_startup=False,
        sqlite_busy_timeout_s=0.3,
    )
    app = create_app(settings)
    with AuthClient(app, raise_server_exceptions=False) as client:
        body = {"category": "dumping", "source": "grid_worker", "lon": 112.9, "lat": 33.0}
        client.get("/api/v1/issues")  # the admin account exists before the lock is taken
        holder = sqlite3.connect(db, timeout=0)
        holder.execute("BEGIN IMMEDIATE")  # a long writer (a bulk import, a backup…)
        try:
            _assert_api_503(client.post("/api/v1/issues", json=body))
            page = client.post(
                "/login",
                data={"username": "admin", "password": "wrong-Passw0rd!"},
                headers={"Accept": "text/html"},
                follow_redirects=False,
            )
            _assert_page_503(page)
        finally:
            holder.rollback()
            holder.close()
        assert client.get("/api/v1/issues").json()["total"] == 0  # nothing half-stored
        r = client.post("/api/v1/issues", json=body)
        assert r.status_code == 201, r.text


@pytest.mark.postgis
def test_a_lost_postgresql_is_503_and_the_app_recovers(tmp_path):
    cluster = Cluster(free_port())
    cluster.start()
    try:
        with psycopg.connect(
            host="127.0.0.1",
            port=cluster.port,
            user="postgres",
            dbname="postgres",
            autocommit=True,
        ) as c:
            c.execute("CREATE DATABASE civgrid_trouble")
        with psycopg.connect(
            host="127.0.0.1",
            port=cluster.port,
            user="postgres",
            dbname="civgrid_trouble",
            autocommit=True,
        ) as c:
            c.execute("CREATE EXTENSION postgis")
        url = f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}/civgrid_trouble"
        app = create_app(Settings(database_url=url, var_dir=tmp_path, build_index_on_startup=False))
        with AuthClient(app, raise_server_exceptions=False) as client:
            app.state.store.upgrade()
            assert client.get("/api/v1/issues").status_code == 200
            cluster.pause()
            _assert_api_503(client.get("/api/v1/issues"))
            body = {"category": "dumping", "source": "grid_worker", "lon": 113.0, "lat": 33.0}
            _assert_api_503(client.post("/api/v1/issues", json=body))
            _assert_page_503(client.get("/map", headers={"Accept": "text/html"}))
            cluster.resume()
            r = client.get("/api/v1/issues")
            assert r.status_code == 200 and r.json()["total"] == 0, r.text
    finally:
        cluster.stop()
