"""The shop register (门前五包): import (dry run, row errors, atomic commit, CLI) and the
snap of a shopfront report to the shop, owned by the 城管 grid unit (both backends)."""

from __future__ import annotations

import csv
import json

import pytest
import shapely
from sqlalchemy import func, select
from typer.testing import CliRunner

from civgrid.api.cli import app
from civgrid.geo.metric import Projector, metric_epsg_for
from civgrid.grids.boundaries.models import Assignment, Layer, RoadSection, Shop
from civgrid.grids.boundaries.shop_imports import import_shops
from civgrid.grids.core.actors import Actor
from civgrid.grids.issues import service as svc
from civgrid.grids.issues.intake import IssueReport
from civgrid.grids.issues.member_sets import with_place
from civgrid.grids.issues.models import Issue, PlaceSetMember

GW = Actor("网格员甲", "grid_worker")
HEADER = (
    "商户编号,商户名称,所在街道（路）,责任书签订日期,门前五包责任,城管网格员所在单位,frontage\n"
)
GOOD = (
    "SH900,示例路1号便利店,示例路,2024-03-01,包洁化、包秩序,UM01,"
    '"LINESTRING(112.95 33.06,112.9501 33.06)"\n'
)


def _count(store) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(Shop))


@pytest.fixture
def sqlite_demo(request, tmp_path):
    from support.demo_stores import demo_store_copy

    yield from demo_store_copy("sqlite", request, tmp_path)


def test_import_dry_run_row_errors_and_atomic_commit(sqlite_demo, tmp_path):
    store = sqlite_demo
    before = _count(store)
    assert before == 84  # the demo's shops
    good = tmp_path / "good.csv"
    good.write_text(HEADER + GOOD, encoding="utf-8")
    dry = import_shops(store, good)
    assert dry.ok and dry.new == 1 and not dry.committed
    assert _count(store) == before  # a dry run writes nothing

    bad = tmp_path / "bad.csv"
    broken = [
        'SH901,坏行一,示例路,2024-03-01,包洁化,UM99,"LINESTRING(112.95 33.061,112.9501 33.061)"\n',
        'SH902,坏行二,示例路,2024-13-01,包洁化,UM01,"POINT(112.95 33.062)"\n',
        'SH903,坏行三,示例路,,包卫生,UM02,"LINESTRING(112.95 33.063,112.9501 33.063)"\n',
    ]
    bad.write_text(HEADER + GOOD + "".join(broken), encoding="utf-8")
    rep = import_shops(store, bad, commit=True)
    got = [(p.row, p.column) for p in rep.problems]
    assert got == [
        (3, "enforcement_grid_unit"),
        (4, "frontage"),
        (4, "responsibility_letter"),
        (5, "frontage_duties"),
    ]
    assert "did you mean" in (rep.problems[0].hint or "")
    assert not rep.committed and _count(store) == before  # atomic: the good row is not written

    # the CLI: a dry run by default, exit 1 on errors, --commit writes
    url = store.engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    r = runner.invoke(app, ["import", "shops", str(bad), "--database-url", url])
    assert r.exit_code == 1 and "row 3 [enforcement_grid_unit] 'UM99'" in r.output
    r = runner.invoke(app, ["import", "shops", str(good), "--commit", "--database-url", url])
    assert r.exit_code == 0, r.output
    with store.session() as s:
        shop = s.scalars(select(Shop).where(Shop.code == "SH900")).one()
        assert shop.frontage_duties == ["clean", "order"]
        assert shop.enforcement_grid_unit.key == "UM01"
        a = s.scalars(
            select(Assignment).where(
                Assignment.object_layer == Layer.shop, Assignment.object_code == "SH900"
            )
        ).one()
        assert (a.role, a.unit.key, a.person_title) == ("responsible", "UM01", "城管网格员")
    # the same rows as xlsx and as GeoJSON are read alike (unchanged now)
    from openpyxl import Workbook

    wb = Workbook()
    for row in csv.reader((HEADER + GOOD).splitlines()):
        wb.active.append(row)
    wb.save(tmp_path / "good.xlsx")
    assert import_shops(store, tmp_path / "good.xlsx").unchanged == 1
    gj = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "code": "SH900",
                    "name": "示例路1号便利店",
                    "street": "示例路",
                    "responsibility_letter": "2024-03-01",
                    "frontage_duties": "clean;order",
                    "enforcement_grid_unit": "UM01",
                },
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[112.95, 33.06], [112.9501, 33.06]],
                },
            }
        ],
    }
    (tmp_path / "good.geojson").write_text(json.dumps(gj), encoding="utf-8")
    assert import_shops(store, tmp_path / "good.geojson").unchanged == 1


def _away(store, code: str, metres: float) -> tuple[float, float]:
    """A point ``metres`` from the middle of shop ``code``'s frontage, away from the road."""
    with store.session() as s:
        shop = s.scalars(select(Shop).where(Shop.code == code)).one()
        road = s.scalars(select(RoadSection)).all()
        line = shop.frontage
        mid = line.interpolate(0.5, normalized=True)
        proj = Projector(metric_epsg_for(mid.x))

        def m(g):
            return shapely.transform(
                g,
                lambda c: shapely.get_coordinates(shapely.points(*proj.forward(c[:, 0], c[:, 1]))),
            )

        mm = m(mid)
        near = min((m(r.geom) for r in road), key=lambda g: g.distance(mm))
        foot = near.interpolate(near.project(mm))
        dx, dy = mm.x - foot.x, mm.y - foot.y
        n = (dx * dx + dy * dy) ** 0.5
        x, y = mm.x + dx / n * metres, mm.y + dy / n * metres
        lon, lat = proj.inverse([x], [y])
        return float(lon[0]), float(lat[0])


def test_a_shopfront_report_snaps_to_the_shop_and_the_grid_unit_owns_it(demo_store):
    store = demo_store
    with store.session() as s:
        shop = s.scalars(select(Shop).where(Shop.code == "SH001")).one()
        unit = shop.enforcement_grid_unit.key
    assert unit.startswith("UM")
    near, far = _away(store, "SH001", 10.0), _away(store, "SH001", 40.0)

    resp = store.responsible_for(*near, "shopfront_cleanliness")
    assert resp.shop is not None and resp.shop.code == "SH001"
    assert 9.0 < resp.shop.distance_m < 11.0
    assert resp.owner is not None and resp.owner.key == unit
    assert resp.owner_reason.layer == "shop"
    assert resp.to_dict()["shop"]["role_label"] == "门前五包责任商户"

    resp_far = store.responsible_for(*far, "shopfront_cleanliness")
    assert resp_far.shop is None
    assert resp_far.owner is None or resp_far.owner.key != unit
    # other categories never look for a shop (the owner rule of 门前五包 names it)
    assert store.responsible_for(*near, "dumping").shop is None

    # the issue names the shop, is owned by the grid unit, and the shop's history grows
    with store.session() as s:
        a = svc.report_issue(
            s, store, GW, IssueReport("shopfront_cleanliness", "grid_worker", *near)
        ).issue
        b = svc.report_issue(
            s, store, GW, IssueReport("shopfront_order", "grid_worker", *far)
        ).issue
        assert a.routing["shop"]["code"] == "SH001"
        assert a.owner_unit.key == unit
        assert b.routing["shop"] is None
        assert b.owner_unit is None or b.owner_unit.key != unit
        history = s.scalars(
            select(Issue.id).where(
                with_place(PlaceSetMember.layer == "shop", PlaceSetMember.code == "SH001")
            )
        ).all()
        assert history == [a.id]
