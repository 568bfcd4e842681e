"""``civgrid patrol`` on a copy of the demo county (SQLite)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
from sqlalchemy import func, select
from typer.testing import CliRunner

from civgrid.api.cli import app
from civgrid.grids.patrol.models import LeaderVisit, PatrolPlan, PatrolTeam, PatrolTrack
from support.patrol_helpers import densify, gpx

runner = CliRunner()


def _run(url, *args):
    return runner.invoke(app, ["patrol", *args, "--database-url", url])


def _count(store, model):
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_cli_plan_route_coverage_visit(sqlite_store, tmp_path):
    st = sqlite_store
    url = st.engine.url.render_as_string(hide_password=False)
    r = _run(url, "teams", "list")
    assert r.exit_code == 0 and "ST01\t第一督查组\tL20\tSA01\t4/天" in r.output

    csv = tmp_path / "teams.csv"
    csv.write_text(
        "key,name,leader_key,members,area_codes,unit_keys,base_lon,base_lat,capacity_per_day\n"
        "ST06,第六督查组,L01,组长:1,SA01,SO03,112.95,33.07,2\n",
        encoding="utf-8",
    )
    r = _run(url, "teams", "import", str(csv))
    assert r.exit_code == 0 and "新增 1" in r.output and "试运行" in r.output
    assert _count(st, PatrolTeam) == 5

    r = _run(url, "plan", "--month", "2026-10")
    assert r.exit_code == 0, r.output
    assert "抽查社区 5/14" in r.output and "试运行" in r.output
    assert _count(st, PatrolPlan) == 0
    r = _run(url, "plan", "--month", "2026-10", "--commit")
    assert r.exit_code == 0 and "已保存" in r.output
    r = _run(url, "plan", "--month", "2026-10", "--commit")
    assert r.exit_code == 1 and "exists" in r.output
    r = _run(url, "plan", "--month", "2026-10", "--commit", "--if-missing")  # make demo
    assert r.exit_code == 0 and "已有巡查计划，未改动" in r.output
    assert _count(st, PatrolPlan) == 1

    gpx_out = tmp_path / "route.gpx"
    r = _run(url, "route", "--team", "ST01", "--date", "2026-10-08", "--gpx", str(gpx_out))
    assert r.exit_code == 0, r.output
    n_stops = int(r.output.split("：", 1)[0].split(": ")[1].split(" 站")[0])
    root = ET.fromstring(gpx_out.read_text(encoding="utf-8"))
    assert len(root.findall(".//{http://www.topografix.com/GPX/1/1}rtept")) == n_stops + 1

    road = next(x.geom for x in st.road_sections() if x.code == "RS001")
    track = tmp_path / "t.gpx"
    pts = densify(road)
    pts = np.vstack([pts[:5], pts[4:5], pts[5:]])  # one repeated fix
    track.write_text(gpx(pts), encoding="utf-8")
    r = _run(url, "coverage", "--track", str(track), "--team", "ST03", "--commit")
    assert r.exit_code == 0, r.output
    assert "RS001 100%" in r.output and "重复 1" in r.output
    assert _count(st, PatrolTrack) == 1
    bad = tmp_path / "bad.gpx"
    bad.write_text("<gpx>\n<trk>", encoding="utf-8")
    r = _run(url, "coverage", "--track", str(bad), "--team", "ST03", "--commit")
    assert r.exit_code == 1 and "malformed GPX: line 2" in r.output
    assert _count(st, PatrolTrack) == 1
    r = _run(url, "coverage", "--month", "2026-12", "--team", "ST03")
    assert r.exit_code == 0 and "ST03: 轨迹 1" in r.output

    r = _run(url, "visit", "leader", "L10", "--kind", "office_hours", "--date", "2026-10-09")
    assert r.exit_code == 0 and "已记录" in r.output
    assert _count(st, LeaderVisit) == 1
