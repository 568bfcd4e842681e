"""The map endpoints on PostgreSQL + PostGIS (a real throwaway cluster, never mocked)."""

from __future__ import annotations

import pytest

from support.authclient import AuthClient
from support.mapdata import DEMO_DATA, make_app, seed_issues

pytestmark = pytest.mark.postgis


@pytest.fixture
def pg_client(postgresql_url, tmp_path):
    from civgrid.grids.boundaries.store import Store
    from civgrid.grids.core.db import make_engine
    from civgrid.grids.demo.load import load_demo

    store = Store(make_engine(postgresql_url))
    store.upgrade()
    assert load_demo(store, DEMO_DATA).ok
    store.rebuild_index()
    seed_issues(store, tmp_path / "photos", n=30)
    store.engine.dispose()
    with AuthClient(make_app(postgresql_url, tmp_path / "var", basemap_url="amap")) as client:
        yield client


def test_layers_counts_heat_and_leaders_on_postgis(pg_client):
    c = pg_client
    comm = c.get("/api/v1/layers/community.geojson?zoom=13").json()
    assert len(comm["features"]) == 14 and comm["display_crs"] == "gcj02"
    assert len(c.get("/api/v1/layers/key_site_zone.geojson").json()["features"]) == 55
    issues = c.get("/api/v1/layers/issues.geojson").json()
    assert issues["count"] > 20
    # counts per community agree with the issue list of the issue API
    for f in [f for f in comm["features"] if f["properties"]["total"]][:3]:
        listed = c.get(f"/api/v1/issues?area={f['id']}&kind=open&limit=1").json()
        assert listed["total"] == f["properties"]["open"]
    hexes = c.get("/api/v1/hexbins?res=9&days=3650").json()
    assert sum(h["properties"]["count"] for h in hexes["features"]) == hexes["issues"] > 20
    mine = c.get("/api/v1/layers/community.geojson?leader=L10").json()["features"]
    assert [f["properties"]["name"] for f in mine] == ["望东庄村"]
    page = c.get("/leaders/L10")
    assert page.status_code == 200 and "望东庄村" in page.text
    assert c.get("/map").status_code == 200 and c.get("/map/heat").status_code == 200
