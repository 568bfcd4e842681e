"""Patrol API: teams, plans, routes (json/geojson/gpx), tracks, coverage, leader visits,
the map data and the page."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlalchemy import select

from civgrid.grids.patrol.models import VisitIssue
from support.patrol_helpers import densify, gpx, seed_hotspot

GPX_NS = "{http://www.topografix.com/GPX/1/1}"


def _road(client_store, code):
    return next(r.geom for r in client_store.road_sections() if r.code == code)


def test_teams_and_plan_round_trip(client, store):
    teams = client.get("/api/v1/patrol/teams").json()
    assert [t["key"] for t in teams] == ["ST01", "ST02", "ST03", "ST04", "ST05"]
    assert teams[0]["base"] == pytest.approx([112.946352, 33.069067])

    r = client.post("/api/v1/patrol/plans", params={"month": "2026-10"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["summary"]["communities_sampled"] == 5
    assert body["summary"]["by_kind"]["leader_inspection"] == 28
    assert body["stored"] is True
    again = client.post("/api/v1/patrol/plans", params={"month": "2026-10"})
    assert again.status_code == 409
    assert "exists" in again.json()["detail"]
    dry = client.post(
        "/api/v1/patrol/plans",
        params={"month": "2026-11", "commit": "false"},
        json={"settings": {"capacity_per_day": 1}},
    ).json()
    assert dry["stored"] is False and dry["unscheduled"]
    assert client.get("/api/v1/patrol/plans/2026-11").status_code == 404

    plan = client.get("/api/v1/patrol/plans/2026-10", params={"team": "ST02"}).json()
    assert plan["visits"] and {v["team_key"] for v in plan["visits"]} == {"ST02"}
    assert all(v["reasons"] for v in plan["visits"])
    bad = client.post(
        "/api/v1/patrol/plans", params={"month": "2026-12"}, json={"settings": {"nope": 1}}
    )
    assert bad.status_code == 422 and "nope" in bad.json()["detail"]


def test_route_formats(client):
    client.post("/api/v1/patrol/plans", params={"month": "2026-12"})
    q = {"team": "ST01", "date": "2026-12-02"}
    js = client.get("/api/v1/patrol/routes", params=q).json()
    assert js["stops"] and js["total_m"] == pytest.approx(
        sum(s["leg_m"] for s in js["stops"]), abs=0.5
    )
    gj = client.get("/api/v1/patrol/routes", params={**q, "format": "geojson"})
    assert gj.headers["content-type"].startswith("application/geo+json")
    feats = gj.json()["features"]
    assert feats[0]["geometry"]["type"] == "LineString"
    assert len(feats[0]["geometry"]["coordinates"]) == len(js["stops"]) + 1
    g = client.get("/api/v1/patrol/routes", params={**q, "format": "gpx"})
    assert g.headers["content-type"].startswith("application/gpx+xml")
    root = ET.fromstring(g.text)
    assert len(root.findall(f".//{GPX_NS}rtept")) == len(js["stops"]) + 1
    sat = client.get("/api/v1/patrol/routes", params={"team": "ST01", "date": "2026-12-05"})
    assert sat.status_code == 404


def test_track_upload_coverage_and_bad_tracks(client, store):
    client.post("/api/v1/patrol/plans", params={"month": "2026-12"})
    pts = np.vstack([densify(_road(store, "RS001")), densify(_road(store, "RS002"))])
    r = client.post(
        "/api/v1/patrol/tracks",
        files={"file": ("day1.gpx", gpx(pts), "application/gpx+xml")},
        data={"team": "ST03", "crs": "wgs84"},
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["id"] >= 1
    assert out["coverage"]["road_sections"]["RS001"] == pytest.approx(1.0, abs=1e-3)
    bad = [
        (b"", "empty track file"),
        (b"<gpx><trk>", "malformed GPX: line 1"),
        (gpx([(112.95, 95.2)]).encode(), "track point 0: latitude 95.2 out of range"),
        (
            gpx(pts + np.array([116.4 - pts[0, 0], 39.9 - pts[0, 1]])).encode(),
            "no fixes inside the county",
        ),
    ]
    for data, msg in bad:
        resp = client.post(
            "/api/v1/patrol/tracks",
            files={"file": ("bad.gpx", data, "application/gpx+xml")},
            data={"team": "ST03"},
        )
        assert resp.status_code == 422, (msg, resp.text)
        assert msg in resp.json()["detail"]
    bad_geojson = [
        (b'{"type":"FeatureCollection","features":[1]}', "feature 0: malformed GeoJSON"),
        (b'{"type":"LineString","coordinates":5}', "malformed GeoJSON: LineString coordinates"),
        (b'{"type":"LineString","coordinates":[[112.9]]}', "malformed GeoJSON: track point 0"),
    ]
    for data, msg in bad_geojson:
        resp = client.post(
            "/api/v1/patrol/tracks",
            files={"file": ("bad.geojson", data, "application/geo+json")},
            data={"team": "ST03"},
        )
        assert resp.status_code == 422, (msg, resp.text)
        assert msg in resp.json()["detail"]
        assert resp.json()["code"] == "file_format_error"
    wrong_crs = client.post(
        "/api/v1/patrol/tracks",
        files={"file": ("t.gpx", gpx(pts), "application/gpx+xml")},
        data={"team": "ST03", "crs": "EPSG:3857"},
    )
    assert wrong_crs.status_code == 422 and "unknown coordinate system" in wrong_crs.text
    tracks = client.get("/api/v1/patrol/tracks", params={"team": "ST03"}).json()
    assert [t["id"] for t in tracks] == [out["id"]]  # nothing partial from the bad ones

    cov = client.get("/api/v1/patrol/coverage", params={"month": "2026-12", "team": "ST03"})
    st03 = cov.json()["teams"]["ST03"]
    assert st03["tracks"] == 1
    # RS001 and RS002 (建设路) lie in 赵河街道 (SA03, ST03's area) and were driven end to end
    assert {"RS001", "RS002"} <= set(st03["road_sections"]["covered"])
    assert st03["road_sections"]["share"]["RS001"] == pytest.approx(1.0, abs=1e-3)
    data = client.get(
        "/api/v1/patrol/map", params={"month": "2026-12", "team": "ST03", "date": "2026-12-02"}
    ).json()
    assert data["plan"] is True and data["visits"]["features"]
    assert len(data["tracks"]["features"]) == 1
    assert data["route"]["features"][0]["geometry"]["type"] == "LineString"
    covered = [f for f in data["road_sections"]["features"] if f["properties"]["covered"]]
    assert len(covered) == data["summary"]["ST03"]["roads_covered"]


def test_leader_visits_and_leader_page(client):
    r = client.post(
        "/api/v1/leaders/L10/visits",
        json={
            "kind": "office_hours",
            "day": "2026-12-03",
            "area_code": "411327001001",
            "note": "现场办公",
            "findings": "垃圾清运不及时",
        },
    )
    assert r.status_code == 201, r.text
    for d in ("2026-12-04", "2026-12-05"):
        client.post("/api/v1/leaders/L10/visits", json={"kind": "site_inspection", "day": d})
    got = client.get("/api/v1/leaders/L10/visits", params={"month": "2026-12"}).json()
    assert [v["day"] for v in got["visits"]] == ["2026-12-05", "2026-12-04", "2026-12-03"]
    assert got["cadence"] == {
        "month": "2026-12",
        "office_hours": 1,
        "office_hours_first_ten_days": True,
        "site_inspections": 2,
        "site_inspections_ok": True,
    }
    # the leader page lists this month's visits (领导走访记录)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    client.post(
        "/api/v1/leaders/L10/visits",
        json={"kind": "site_inspection", "day": today, "findings": "占道经营反弹"},
    )
    page = client.get("/leaders/L10").text
    assert 'id="cg-visits"' in page and "占道经营反弹" in page and today in page
    assert 'id="cg-cadence"' in page and "实地察看（每月至少两次）" in page
    assert (
        client.post(
            "/api/v1/leaders/L99/visits", json={"kind": "office_hours", "day": "2026-12-03"}
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/api/v1/leaders/L10/visits", json={"kind": "lunch", "day": "2026-12-03"}
        ).status_code
        == 422
    )


def test_patrol_page_is_offline(client):
    from civgrid.maps.folium_offline import remote_urls

    client.post("/api/v1/patrol/plans", params={"month": "2026-12"})
    html = client.get("/patrol", params={"month": "2026-12", "team": "ST01"}).text
    assert "巡查计划与覆盖" in html and "initPatrolMap" in html
    assert "/static/js/patrol.js" in html and "/static/vendor/leaflet/leaflet.js" in html
    assert remote_urls(html) == []
    assert 'value="ST01" selected' in html


def test_team_upload_and_visit_outcome_links_issue(client, store):
    header = "key,name,leader_key,members,area_codes,unit_keys,base_lon,base_lat,capacity_per_day\n"
    row = "ST06,第六督查组,L01,组长:1;组员:2,SA02,SO01,112.95,33.05,3\n"
    dry = client.post(
        "/api/v1/patrol/teams", files={"file": ("t.csv", (header + row).encode(), "text/csv")}
    )
    assert dry.status_code == 200 and dry.json()["added"] == ["ST06"]
    assert len(client.get("/api/v1/patrol/teams").json()) == 5
    bad = client.post(
        "/api/v1/patrol/teams",
        params={"commit": "true"},
        files={"file": ("t.csv", (header + row.replace("L01", "L77")).encode(), "text/csv")},
    )
    assert bad.status_code == 422 and "row 2: unknown leader L77" in bad.json()["detail"]
    ok = client.post(
        "/api/v1/patrol/teams",
        params={"commit": "true"},
        files={"file": ("t.csv", (header + row).encode(), "text/csv")},
    )
    assert ok.json()["committed"] is True
    assert [t["key"] for t in client.get("/api/v1/patrol/teams").json()][-1] == "ST06"

    client.post("/api/v1/patrol/plans", params={"month": "2026-12"})
    visits = client.get("/api/v1/patrol/plans/2026-12").json()["visits"]
    visit = next(v for v in visits if v["day"] == "2026-12-01" and v["community_code"])
    with store.session() as s:
        issue_id = seed_hotspot(
            s,
            visit["community_code"],
            visit["community_code"] + "001",
            recurrences=0,
            when=datetime(2026, 12, 1, 2, tzinfo=UTC),
        ).id
        s.commit()
    r = client.post(
        f"/api/v1/patrol/visits/{visit['id']}/outcome",
        json={"status": "done", "issue_ids": [issue_id]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "done"
    with store.session() as s:
        links = [(x.visit_id, x.issue_id) for x in s.scalars(select(VisitIssue))]
    assert links == [(visit["id"], issue_id)]
    missing = client.post(
        f"/api/v1/patrol/visits/{visit['id']}/outcome", json={"status": "done", "issue_ids": [9999]}
    )
    assert missing.status_code == 404
    # a started plan cannot be replaced
    again = client.post("/api/v1/patrol/plans", params={"month": "2026-12", "replace": "true"})
    assert again.status_code == 409 and "has started" in again.json()["detail"]


def test_issue_reported_during_a_visit_records_the_link(client, store):
    from sqlalchemy import func

    from civgrid.grids.issues.models import Issue

    client.post("/api/v1/patrol/plans", params={"month": "2026-12"})
    visit = client.get("/api/v1/patrol/plans/2026-12").json()["visits"][0]
    road = _road(store, "RS001").interpolate(0.5, normalized=True)
    body = {"category": "dumping", "source": "field_supervision", "lon": road.x, "lat": road.y}
    r = client.post("/api/v1/issues", json={**body, "visit_id": visit["id"]})
    assert r.status_code == 201, r.text
    issue = r.json()
    assert issue["visit_id"] == visit["id"]
    assert client.get(f"/api/v1/issues/{issue['id']}").json()["visit_id"] == visit["id"]
    with store.session() as s:
        links = [(x.visit_id, x.issue_id) for x in s.scalars(select(VisitIssue))]
        n_issues = s.scalar(select(func.count()).select_from(Issue))
    assert links == [(visit["id"], issue["id"])]
    # without a visit: no link, visit_id null
    plain = client.post("/api/v1/issues", json={**body, "category": "graffiti"}).json()
    assert plain["visit_id"] is None
    # an unknown visit is refused (422, the field named) and nothing is stored
    bad = client.post("/api/v1/issues", json={**body, "category": "graffiti", "visit_id": 99999})
    assert bad.status_code == 422, bad.text
    assert "no patrol visit 99999" in bad.json()["detail"]
    assert bad.json().get("field") == "visit_id"
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Issue)) == n_issues + 1
        assert s.scalar(select(func.count()).select_from(VisitIssue)) == 1
    assert client.post("/api/v1/issues", json={**body, "visit_id": 0}).status_code == 422


def test_a_leader_sees_only_their_own_communities_last_scores_in_the_plan(client):
    """The plan's poor-score list and "poor last score" reasons are scores: leader L10
    (contracts 411327001001) sees 411327001001's, never L13's 411327002001's."""
    own, other = "411327001001", "411327002001"
    r = client.post(
        "/api/v1/patrol/plans",
        params={"month": "2027-03"},
        json={"last_scores": {own: 50, other: 40}},
    )
    assert r.status_code == 200, r.text
    admin = client.get("/api/v1/patrol/plans/2027-03").json()
    assert {own, other} <= set(admin["summary"]["last_scores"]["poor"])

    def score_reasons(plan: dict, code: str) -> list[str]:
        return [
            x
            for v in plan["visits"]
            if v["community_code"] == code
            for x in v["reasons"]
            if x.startswith("poor last score")
        ]

    assert score_reasons(admin, own) and score_reasons(admin, other)
    l10 = {"headers": client.as_user("leader", "l10", leader="L10")}
    mine = client.get("/api/v1/patrol/plans/2027-03", **l10).json()
    assert mine["summary"]["last_scores"]["poor"] == [own]
    assert score_reasons(mine, own) and not score_reasons(mine, other)
    assert not any(
        x.startswith("上期得分偏低")
        for v in mine["visits"]
        if v["community_code"] == other
        for x in v["reasons_zh"]
    )
    assert len(mine["visits"]) == len(admin["visits"])  # the plan itself stays readable
    feats = client.get("/api/v1/patrol/map", params={"month": "2027-03"}, **l10).json()
    for f in feats["visits"]["features"]:
        if f["properties"]["community_code"] == other:
            assert not any(x.startswith("poor last score") for x in f["properties"]["reason_codes"])
