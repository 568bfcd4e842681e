"""The inspection API: multipart photos by index, 422 and nothing stored on a missing
required photo, a resend with the same Idempotency-Key replays the first answer; the
list, the GeoJSON layer and a point's history follow (SQLite; the permission matrix
runs these routes on both backends)."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from civgrid.grids.issues.config import IssueConfig
from civgrid.grids.points.imports import import_points
from civgrid.grids.points.models import PointInspection
from civgrid.grids.points.standards import StandardsRegistry
from support.authclient import AuthClient

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
SQUARE = (
    "POLYGON((112.949 33.0595,112.950 33.0595,112.950 33.0605,112.949 33.0605,112.949 33.0595))"
)


def test_inspection_api(sqlite_demo, tmp_path):
    from civgrid.api.app import create_app
    from civgrid.api.settings import Settings

    store = sqlite_demo
    version = StandardsRegistry.with_shipped().standards("sheqi").versions[-1]
    f = tmp_path / "p.csv"
    f.write_text(
        f'code,name,point_type,responsible_unit,geometry\nPT1,市场,market,D05,"{SQUARE}"\n'
    )
    assert import_points(store, f, version, commit=True).committed
    url = store.engine.url.render_as_string(hide_password=False)
    app = create_app(Settings(database_url=url, var_dir=tmp_path / "var"))
    app.state.issue_config = IssueConfig(photo_dir=tmp_path / "photos")
    codes = [it.code for it in version.point_type("market").items]
    with AuthClient(app) as client:
        assert isinstance(client, TestClient)
        insp = client.as_user("inspector", "insp")
        items = [{"code": c, "passed": c != "SC-02"} for c in codes]
        body = {"items": items, "lon": 112.9495, "lat": 33.06, "accuracy_m": 6}
        # SC-02 failed without its photo: 422 naming the item, nothing stored
        r = client.post("/api/v1/points/PT1/inspections", json=body, headers=insp)
        assert r.status_code == 422 and "SC-02" in r.text, r.text
        items[codes.index("SC-02")]["photos"] = [0]
        form = {"inspection": json.dumps(body)}
        files = [("photos", ("a.png", PNG, "image/png"))]
        hdr = {**insp, "Idempotency-Key": "phone-1"}
        r = client.post("/api/v1/points/PT1/inspections", data=form, files=files, headers=hdr)
        assert r.status_code == 200, r.text
        first = r.json()
        assert not first["compliant"] and first["compliance_label"] == "不达标"
        assert len(first["opened"]) == 1 and first["deductions"] == 0.0
        r = client.post("/api/v1/points/PT1/inspections", data=form, files=files, headers=hdr)
        assert r.status_code == 200 and r.json() == first
        assert r.headers.get("Idempotent-Replay") == "true"
        with store.session() as s:
            assert s.scalar(select(func.count()).select_from(PointInspection)) == 1
        issue = client.get(f"/api/v1/issues/{first['opened'][0]}").json()
        assert issue["owner_unit"]["key"] == "D05" and issue["category"]["code"] == "market_order"
        # the list, the layer and the point's page data
        r = client.get("/api/v1/points", params={"compliance": "non_compliant"})
        assert [p["code"] for p in r.json()["points"]] == ["PT1"]
        assert r.json()["points"][0]["failed"] == ["SC-02"]
        assert client.get("/api/v1/points", params={"compliance": "compliant"}).json()["count"] == 0
        fc = client.get("/api/v1/points.geojson").json()
        assert fc["features"][0]["geometry"]["type"] == "Polygon"
        assert fc["features"][0]["properties"]["compliance_color"] == "#c62828"
        d = client.get("/api/v1/points/PT1").json()
        assert [h["compliance"] for h in d["history"]] == ["non_compliant"]
        assert d["point"]["point_type_label"] == "农贸市场"
        # the command map's point layer: the same status and colour, in the display CRS
        layer = "/api/v1/layers/assessment_point.geojson"
        lf = client.get(layer, params={"display_crs": "wgs84"}).json()
        assert lf["layer"] == "assessment_point" and lf["label"] == "测评点位"
        props = lf["features"][0]["properties"]
        assert (props["code"], props["compliance_label"]) == ("PT1", "不达标")
        assert props["compliance_color"] == "#c62828" and props["must_check"] is False
        assert props["failed"] == ["SC-02"]
        ring = lf["features"][0]["geometry"]["coordinates"][0]
        shifted = client.get(layer, params={"display_crs": "gcj02"}).json()
        moved = shifted["features"][0]["geometry"]["coordinates"][0]
        assert ring[0][0] == 112.949 and 0.001 < moved[0][0] - ring[0][0] < 0.01  # GCJ-02 shift
        assert client.get(layer, params={"compliance": "compliant"}).json()["features"] == []
        page = client.get("/map").text
        assert layer in page  # the command map loads it
