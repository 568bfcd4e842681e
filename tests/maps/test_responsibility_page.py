"""The 责任空白清单 page and JSON, and leader road chiefs on the leader page and dashboard.

Expectations come from the demo files, not from the gap-report code.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from sqlalchemy import create_engine, delete

from civgrid.grids.boundaries.models import Assignment

DEMO_DIR = Path(__file__).resolve().parents[2] / "data" / "boundaries" / "demo"


def _features(name: str) -> list[dict]:
    data = json.loads((DEMO_DIR / f"{name}.geojson").read_text(encoding="utf-8"))
    return [f["properties"] for f in data["features"]]


def _gap_rows(html: str) -> list[tuple[str, ...]]:
    table = re.search(r'<table id="cg-gaps">.*?<tbody>(.*?)</tbody>', html, re.S)
    assert table, "no gap table"
    return [
        tuple(re.findall(r"<td>(.*?)</td>", row))
        for row in re.findall(r"<tr>(.*?)</tr>", table.group(1))
    ]


def test_no_gaps_on_the_demo_county(make_client):
    client = make_client()
    data = client.get("/api/v1/responsibility/gaps").json()
    assert data["ok"] is True and data["gaps"] == [] and data["gap_count"] == 0
    assert data["places"] == {"unit_grid": 140, "road_section": 85, "key_site": 55}
    html = client.get("/responsibility/gaps").text
    assert 'id="cg-gap-ok"' in html and "<b>0</b> 处" in html
    home = client.get("/").text
    assert 'href="/responsibility/gaps"' in home and "责任空白清单" in home


def test_page_and_json_show_the_same_gap(maps_db, make_client):
    grid = next(p for p in _features("unit_grids") if p["kind"] == "back_street")
    community = next(p for p in _features("communities") if p["code"] == grid["parent_code"])
    township = next(p for p in _features("townships") if p["code"] == community["parent_code"])
    engine = create_engine(maps_db)
    with engine.begin() as c:
        c.execute(
            delete(Assignment).where(
                Assignment.object_layer == "unit_grid", Assignment.object_code == grid["code"]
            )
        )
    engine.dispose()
    client = make_client()
    data = client.get("/api/v1/responsibility/gaps").json()
    assert [(g["code"], g["kind"]) for g in data["gaps"]] == [(grid["code"], "no_unit")]
    assert [(c["code"], c["gaps"]) for c in data["by_community"]] == [(community["code"], 1)]
    assert [(c["code"], c["gaps"]) for c in data["by_township"]] == [(township["code"], 1)]
    html = client.get("/responsibility/gaps").text
    assert _gap_rows(html) == [
        (
            township["name"],
            community["name"],
            "单元网格",
            grid["code"],
            grid["name"],
            "无责任单位",
            "",
        )
    ]
    per_town = re.search(r'<table id="cg-gaps-township">.*?</table>', html, re.S).group(0)
    assert township["name"] in per_town and "<td class='num'>1</td>" in per_town
    assert community["name"] in re.search(r'id="cg-gaps-community".*?</table>', html, re.S).group(0)


def test_only_the_command_center_and_viewers_read_the_gap_report(make_client):
    client = make_client()
    viewer = client.as_user("viewer")
    assert client.get("/api/v1/responsibility/gaps", headers=viewer).status_code == 200
    dispatcher = client.as_user("dispatcher")
    assert client.get("/responsibility/gaps", headers=dispatcher).status_code == 200
    for role, kw in (("leader", {"leader": "L01"}), ("unit_handler", {"unit": "D03"})):
        r = client.get("/api/v1/responsibility/gaps", headers=client.as_user(role, **kw))
        assert r.status_code == 403, role
        assert (
            client.get("/responsibility/gaps", headers=client.as_user(role, **kw)).status_code
            == 403
        )
    assert client.get("/api/v1/responsibility/gaps", anonymous=True).status_code == 401


def _leader_sections() -> dict[str, list[str]]:
    names = {p["code"]: p["name"] for p in _features("road_sections")}
    out: dict[str, list[str]] = {}
    with (DEMO_DIR / "assignments.csv").open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["subject_kind"] == "leader" and r["role"] == "road_chief":
                out.setdefault(r["subject_key"], []).append(names[r["object_code"]])
    return out


def test_leader_road_chiefs_on_the_leader_page_and_dashboard(make_client):
    chiefs = _leader_sections()
    assert len(chiefs) == 6
    key, sections = sorted(chiefs.items())[0]
    client = make_client()
    html = client.get(f"/leaders/{key}").text
    table = re.search(r'<table class="cg-table" id="cg-leader-table">(.*?)</table>', html, re.S)
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td>", table.group(1))
    assert sorted(n for n, role in rows if role == "路长") == sorted(sections)
    dash = client.get(f"/api/v1/leaders/{key}/dashboard").json()
    assert sorted(r["name"] for r in dash["road_sections"]) == sorted(sections)
    page = client.get(f"/leaders/{key}/scores").text
    roads = re.search(r'id="cg-leader-roads">(.*?)</div>', page, re.S).group(1)
    assert all(s in roads for s in sections)
    # a leader without road sections has none listed
    assert client.get("/api/v1/leaders/L01/dashboard").json()["road_sections"] == []
