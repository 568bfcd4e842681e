"""GET /healthz on both backends: version, backend, PostGIS version, active generation."""

from __future__ import annotations

from pathlib import Path

import pytest

from civgrid.api.app import create_app
from civgrid.api.settings import Settings
from civgrid.api.version import __version__
from support.authclient import AuthClient

DEMO_DATA = Path(__file__).resolve().parents[2] / "data" / "boundaries" / "demo"


def _client(url: str, tmp_path) -> AuthClient:
    settings = Settings(database_url=url, var_dir=tmp_path)
    return AuthClient(create_app(settings))


def test_healthz_sqlite_empty_database(tmp_path):
    with _client(f"sqlite:///{tmp_path / 'h.sqlite'}", tmp_path) as client:
        r = client.get("/healthz")
    body = r.json()
    assert r.status_code == 200
    assert body["status"] == "ok"
    assert body["version"] == __version__
    assert body["database_backend"] == "sqlite"
    assert body["postgis_version"] is None
    assert body["active_generation"] is None  # nothing imported yet


@pytest.mark.postgis
def test_healthz_postgis_reports_postgis_version(postgresql_url, tmp_path):
    from civgrid.grids.boundaries.store import Store
    from civgrid.grids.core.db import make_engine

    Store(make_engine(postgresql_url)).upgrade()
    with _client(postgresql_url, tmp_path) as client:
        body = client.get("/healthz").json()
    assert body["database_backend"] == "postgis"
    assert body["postgis_version"].startswith("3.")


def test_unknown_route_is_problem_json(tmp_path):
    with _client(f"sqlite:///{tmp_path / 'h.sqlite'}", tmp_path) as client:
        r = client.get("/no/such/thing")
    assert r.status_code == 404


def test_healthz_reports_demo_generation_and_index(tmp_path):
    from civgrid.grids.boundaries.store import Store
    from civgrid.grids.core.db import make_engine
    from civgrid.grids.demo.load import load_demo

    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    store = Store(make_engine(url))
    store.upgrade()
    load_demo(store, DEMO_DATA, commit=True)
    store.engine.dispose()
    with _client(url, tmp_path) as client:
        body = client.get("/healthz").json()
        home = client.get("/").text
    assert body["active_generation"]["id"] >= 1
    assert body["index_layers"]["township"] == 16
    assert body["index_layers"]["community"] == 14
    assert "社旗县创文网格化管理指挥中心" in home
    assert "当前边界版本：第" in home
