"""The point register: import (dry run, row and field errors, atomic commit, CLI) and the
snap of a report to a point — inside a polygon point or within a point site's radius —
owned by the point's responsible unit, the same on SQLite and PostGIS (issue 23)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from civgrid.api.cli import app
from civgrid.geo.metric import Projector, metric_epsg_for
from civgrid.grids.boundaries.assessment_points import DEFAULT_POINT_RADIUS_M
from civgrid.grids.boundaries.models import AssessmentPoint, Assignment, Layer
from civgrid.grids.core.actors import Actor
from civgrid.grids.issues import service as svc
from civgrid.grids.issues.intake import IssueReport
from civgrid.grids.issues.models import Issue, PlaceSetMember
from civgrid.grids.points.imports import import_points

GW = Actor("网格员甲", "grid_worker")
HEADER = "点位编号,点位名称,点位类型,包保单位,点位长,必查点,重点点位,位置\n"
#: A polygon point (a square of about 110 m × 93 m) and a point site, in the county seat.
SQUARE = (
    "POLYGON((112.949 33.0595,112.950 33.0595,112.950 33.0605,112.949 33.0605,112.949 33.0595))"
)
GOOD = (
    f'PT901,示例广场,公共广场,D03,城管局副局长,是,,"{SQUARE}"\n'
    'PT902,示例公交站,station,县交通运输局,站长,否,KS003,"POINT(112.955 33.058)"\n'
)


def _count(store) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(AssessmentPoint))


def _east(lon: float, lat: float, metres: float) -> tuple[float, float]:
    proj = Projector(metric_epsg_for(lon))
    x, y = proj.forward([lon], [lat])
    lo, la = proj.inverse([float(x[0]) + metres], [float(y[0])])
    return float(lo[0]), float(la[0])


def test_import_dry_run_row_errors_and_atomic_commit(sqlite_demo, standard, tmp_path):
    store = sqlite_demo
    before = _count(store)
    good = tmp_path / "good.csv"
    good.write_text(HEADER + GOOD, encoding="utf-8")
    dry = import_points(store, good, standard)
    assert dry.ok and dry.new == 2 and not dry.committed, dry.to_text()
    assert _count(store) == before  # a dry run writes nothing

    broken = [
        'PT903,无类型,,D03,,否,,"POINT(112.95 33.06)"\n',
        'PT904,坏位置,公园,D03,,否,,"LINESTRING(112.95 33.06,112.96 33.06)"\n',
        'PT905,坏单位,公园,D99,,否,,"POINT(112.95 33.06)"\n',
        'PT906,坏必查,公园,D03,,也许,,"POINT(112.95 33.06)"\n',
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + GOOD + "".join(broken), encoding="utf-8")
    rep = import_points(store, bad, standard, commit=True)
    assert [(p.row, p.column) for p in rep.problems] == [
        (4, "point_type"),
        (5, "geometry"),
        (6, "responsible_unit"),
        (7, "must_check"),
    ]
    assert not rep.committed and _count(store) == before  # atomic: the good rows are not written

    url = store.engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    r = runner.invoke(app, ["points", "import", str(bad), "--database-url", url])
    assert r.exit_code == 1 and "row 6 [responsible_unit] 'D99'" in r.output
    r = runner.invoke(app, ["points", "import", str(good), "--database-url", url])
    assert r.exit_code == 0 and "dry run" in r.output and _count(store) == before
    r = runner.invoke(app, ["points", "import", str(good), "--commit", "--database-url", url])
    assert r.exit_code == 0, r.output
    with store.session() as s:
        p1 = s.scalars(select(AssessmentPoint).where(AssessmentPoint.code == "PT901")).one()
        p2 = s.scalars(select(AssessmentPoint).where(AssessmentPoint.code == "PT902")).one()
        assert (p1.point_type, p1.must_check, p1.point_chief) == ("square", True, "城管局副局长")
        assert p1.community_code is not None and p1.township_code is not None
        assert (p2.point_type, p2.key_site_code, p2.responsible_unit.key) == (
            "station",
            "KS003",
            "D09",
        )
        a = s.scalars(
            select(Assignment).where(
                Assignment.object_layer == Layer.assessment_point,
                Assignment.object_code == "PT901",
            )
        ).one()
        assert (a.unit.key, a.person_title) == ("D03", "城管局副局长")
    # the same register as GeoJSON is unchanged
    gj = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "code": "PT902",
                    "name": "示例公交站",
                    "point_type": "车站/公交站点",
                    "responsible_unit": "D09",
                    "point_chief": "站长",
                    "must_check": "否",
                    "key_site": "KS003",
                },
                "geometry": {"type": "Point", "coordinates": [112.955, 33.058]},
            }
        ],
    }
    (tmp_path / "p.geojson").write_text(json.dumps(gj), encoding="utf-8")
    rep = import_points(store, tmp_path / "p.geojson", standard)
    assert rep.ok and rep.unchanged == 1, rep.to_text()


def test_a_report_at_a_point_records_it_and_its_unit_owns(demo_store, standard, tmp_path):
    store = demo_store
    good = tmp_path / "good.csv"
    good.write_text(HEADER + GOOD, encoding="utf-8")
    assert import_points(store, good, standard, commit=True).committed
    inside = (112.9495, 33.0600)
    site = (112.955, 33.058)
    near = _east(*site, DEFAULT_POINT_RADIUS_M - 5)
    far = _east(*site, DEFAULT_POINT_RADIUS_M + 10)

    r = store.responsible_for(*inside, "dumping")
    assert r.assessment_point is not None and r.assessment_point.code == "PT901"
    assert r.assessment_point.distance_m == 0.0
    assert (r.owner.key, r.owner_reason.layer) == ("D03", "assessment_point")
    r = store.responsible_for(*near, "dumping")
    assert r.assessment_point is not None and r.assessment_point.code == "PT902"
    assert DEFAULT_POINT_RADIUS_M - 6 < r.assessment_point.distance_m < DEFAULT_POINT_RADIUS_M - 4
    assert r.owner.key == "D09"
    # a department-owned family keeps its department owner; the point is still recorded
    r = store.responsible_for(*near, "illegal_parking")
    assert r.assessment_point.code == "PT902" and r.owner.key != "D09"
    r = store.responsible_for(*far, "dumping")
    assert r.assessment_point is None and (r.owner is None or r.owner.key != "D09")

    with store.session() as s:
        a = svc.report_issue(s, store, GW, IssueReport("dumping", "grid_worker", *inside)).issue
        b = svc.report_issue(s, store, GW, IssueReport("dumping", "grid_worker", *near)).issue
        c = svc.report_issue(s, store, GW, IssueReport("dumping", "grid_worker", *far)).issue
        assert a.owner_unit.key == "D03" and b.owner_unit.key == "D09"
        assert a.routing["assessment_point"]["code"] == "PT901"
        rows = s.execute(
            select(Issue.id, PlaceSetMember.code)
            .join(PlaceSetMember, PlaceSetMember.set_id == Issue.place_set_id)
            .where(PlaceSetMember.layer == "assessment_point")
        ).all()
        assert sorted(rows) == sorted([(a.id, "PT901"), (b.id, "PT902")])
        assert c.id not in {i for i, _ in rows}


@pytest.mark.parametrize("radius", ["80"])
def test_a_point_site_with_its_own_radius(sqlite_demo, standard, tmp_path, radius):
    store = sqlite_demo
    f = tmp_path / "r.csv"
    f.write_text(
        "code,name,point_type,responsible_unit,radius_m,lon,lat\n"
        f"PT950,大站,station,D09,{radius},112.955,33.058\n",
        encoding="utf-8",
    )
    assert import_points(store, f, standard, commit=True).committed
    hit = store.responsible_for(*_east(112.955, 33.058, 60), "dumping").assessment_point
    assert hit is not None and hit.code == "PT950"
    assert store.responsible_for(*_east(112.955, 33.058, 90), "dumping").assessment_point is None


def test_the_register_is_kept_with_the_routing_tables_and_a_write_is_seen_at_once(
    demo_store, standard, tmp_path
):
    """Routing finds a report's point in the register kept with the routing tables (no
    query per report, issue 19); the stamp triggers (migration 0630) make any write to
    the register — an import, plain SQL from another process — seen by the next report."""
    from sqlalchemy import event, text

    store = demo_store
    inside = (112.9495, 33.0600)
    assert store.responsible_for(*inside, "dumping").assessment_point is None  # warm, empty
    sent: list[str] = []

    def seen(_conn, _cursor, statement, *_):
        sent.append(statement)

    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        assert store.responsible_for(*inside, "dumping").assessment_point is None
        assert not [q for q in sent if "FROM assessment_points" in q], sent
        good = tmp_path / "good.csv"
        good.write_text(HEADER + GOOD, encoding="utf-8")
        assert import_points(store, good, standard, commit=True).committed
        r = store.responsible_for(*inside, "dumping")
        assert r.assessment_point is not None and r.assessment_point.code == "PT901"
        assert r.owner.key == "D03"
        sent.clear()
        assert store.responsible_for(*inside, "dumping").assessment_point.code == "PT901"
        assert not [q for q in sent if "FROM assessment_points" in q], sent
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
    url = store.engine.url.render_as_string(hide_password=False)
    from civgrid.grids.core.db import make_engine

    other = make_engine(url)  # another process's plain SQL: the triggers still fire
    try:
        with other.begin() as c:
            c.execute(text("UPDATE assessment_points SET must_check = NOT must_check"))
            c.execute(text("DELETE FROM assessment_points WHERE code = 'PT901'"))
    finally:
        other.dispose()
    assert store.responsible_for(*inside, "dumping").assessment_point is None
