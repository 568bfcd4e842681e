"""The demo county: loading, idempotence, the Sheqi assignments, responsible_for."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
import shapely
from sqlalchemy import func, select

from civgrid.grids.boundaries.models import Assignment, Layer, Leader, Role, SubjectKind
from civgrid.grids.boundaries.routing import Reason
from civgrid.grids.core.errors import NotFoundError
from civgrid.grids.demo.load import load_demo

DEMO_DIR = Path(__file__).resolve().parents[2] / "data" / "boundaries" / "demo"
#: Annex 2 of the Sheqi notice: leaders per township (联系).
CONTACTS_PER_TOWNSHIP = {
    "郝寨镇": 1,
    "饶良镇": 2,
    "赊店镇": 3,
    "唐庄乡": 3,
    "潘河街道": 3,
    "赵河街道": 2,
    "陌陂镇": 3,
    "苗店镇": 2,
    "桥头镇": 2,
    "朱集镇": 2,
    "大冯营镇": 3,
    "太和镇": 2,
    "兴隆镇": 2,
    "下洼镇": 3,
    "晋庄镇": 2,
    "李店镇": 2,
}
CENTRAL = {
    "东裕社区",
    "牌坊社区",
    "福寿社区",
    "尚营社区",
    "永安社区",
    "老街社区",
    "泰山社区",
    "兴隆社区",
    "望东庄村",
    "柳营村",
    "双庄村",
    "河南街村",
    "谭营村",
    "代营村",
}
DAY = date(2024, 6, 1)


def _current(store, role, layer):
    with store.session() as s:
        return list(
            s.scalars(
                select(Assignment).where(
                    Assignment.role == role,
                    Assignment.object_layer == layer,
                    Assignment.valid_from <= DAY,
                )
            )
        )


def test_demo_loads_and_is_idempotent(demo_store, dump):
    store = demo_store
    counts = store.index_summary()
    assert counts == {
        "county": 1,
        "township": 16,
        "community": 14,
        "unit_grid": 140,
        "supervision_area": 4,
        "central_city": 1,
        "road_section": 85,
        "key_site": 55,
    }
    before = dump(store)
    again = load_demo(store, DEMO_DIR)
    assert again.status == "unchanged", again.to_text()
    assert dump(store) == before
    dry = load_demo(store, DEMO_DIR, commit=False)
    assert dry.status == "unchanged"


def test_dry_run_on_an_empty_database_writes_nothing(empty_store, dump):
    before = dump(empty_store)
    report = load_demo(empty_store, DEMO_DIR, commit=False)
    assert report.status == "dry_run" and report.ok
    assert report.plan.layer("unit_grid").summary()["new"] == 140
    assert [t.new for t in report.tables][:3] == [87, 37, 573]
    assert report.tables[-1].kind == "shops" and report.tables[-1].new == 84
    assert dump(empty_store) == before


def test_each_central_community_has_exactly_one_contract_leader(demo_store):
    names = {a.code: a.name for a in demo_store.areas(layer="community")}
    per = Counter(names[a.object_code] for a in _current(demo_store, Role.contract, "community"))
    assert set(per) == CENTRAL and set(per.values()) == {1}
    assert all(
        a.subject_kind == SubjectKind.leader
        for a in _current(demo_store, Role.contract, "community")
    )


def test_each_township_has_its_contact_leaders(demo_store):
    names = {a.code: a.name for a in demo_store.areas(layer="township")}
    per = Counter(names[a.object_code] for a in _current(demo_store, Role.contact, "township"))
    assert dict(per) == CONTACTS_PER_TOWNSHIP


def test_no_phone_numbers_and_no_personal_names(demo_store):
    with demo_store.session() as s:
        leaders = list(s.scalars(select(Leader)))
        assert len(leaders) == 37 and all(ld.name is None for ld in leaders)
        assert not hasattr(Leader, "phone")
        assert s.scalar(select(func.count()).select_from(Assignment)) == 667


def _all_reasons_structured(res):
    reasons = res.reasons()
    assert reasons
    for r in reasons:
        assert isinstance(r, Reason)
        assert r.layer and r.code and r.distance_m >= 0 and r.generation_id == res.generation_id
        if r.match == "assignment":
            assert isinstance(r.rule_id, int) and isinstance(r.assignment_id, int)
        else:
            assert r.match in ("covers", "near_line", "in_zone")
    return reasons


def test_responsible_for_inside_a_market(demo_store):
    store = demo_store
    market = next(k for k in store.key_sites() if k.name == "香山路农贸市场")
    p = market.geom.representative_point()
    res = store.responsible_for(p.x, p.y, "market_order", at=DAY)
    _all_reasons_structured(res)
    assert res.category_name == "市场经营秩序" and res.deadline_hours == 48
    assert res.county.code == "411327000000" and res.township is not None
    assert res.community is not None and res.triage is None
    assert res.key_sites[0].code == market.code and res.key_sites[0].distance_m == 0
    assert res.lead_unit.name == "县城管局" and res.lead_unit.reason.code == market.code
    units = [u.name for u in res.responsible_units]
    assert units[:2] == ["县市场监督管理局", "县农业农村局"]
    assert {p.role for p in res.leaders} >= {"contact", "contract"}
    contract = [p for p in res.leaders if p.role == "contract"]
    assert len(contract) == 1 and contract[0].reason.code == res.community.code
    d = res.to_dict()
    assert d["lead_unit"]["reason"]["rule_id"] == res.lead_unit.reason.rule_id


def test_responsible_for_on_a_road(demo_store):
    store = demo_store
    road = store.road_sections()[10]
    mid = road.geom.interpolate(0.5, normalized=True)
    res = store.responsible_for(mid.x, mid.y, "street_vending", at=DAY)
    _all_reasons_structured(res)
    assert res.road_section.code == road.code and res.road_section.distance_m < 1
    chiefs = res.road_section.road_chiefs
    assert chiefs and all(c.reason.code == road.code and c.role == "road_chief" for c in chiefs)
    assert any(u.reason.layer == "road_section" for u in res.responsible_units)
    assert res.lead_unit.name == "县城管局"  # street_order is led county-wide by 城管局


def test_responsible_for_in_a_compound_and_the_traffic_override(demo_store):
    store = demo_store
    # every unit grid has a responsible unit now; a compound's is its property company
    grids = json.loads((DEMO_DIR / "unit_grids.geojson").read_text(encoding="utf-8"))
    compounds = [f["id"] for f in grids["features"] if f["properties"]["kind"] == "compound"]
    with store.session() as s:
        code = s.scalars(
            select(Assignment.object_code)
            .where(Assignment.object_layer == "unit_grid", Assignment.object_code.in_(compounds))
            .order_by(Assignment.object_code)  # the same grid on both backends
        ).first()
    grid = store.area(code)
    p = grid.geom.representative_point()
    env = store.responsible_for(p.x, p.y, "stairwell_clutter", at=DAY)
    _all_reasons_structured(env)
    assert env.unit_grid.code == code
    assert env.responsible_units[0].unit_kind == "property_company"
    assert env.responsible_units[0].reason.layer == "unit_grid"
    traffic = store.responsible_for(p.x, p.y, "illegal_parking", at=DAY)
    _all_reasons_structured(traffic)
    assert all(u.unit_kind != "property_company" for u in traffic.responsible_units)
    assert traffic.lead_unit.name == "县公安局"
    assert traffic.lead_unit.category_code == "traffic"
    assert {u.name for u in traffic.responsible_units} >= {"县委宣传部", "县教体局", "县交通运输局"}


def test_responsible_for_outside_the_county_goes_to_triage(demo_store):
    res = demo_store.responsible_for(110.0, 30.0, "cigarette_butts", at=DAY)
    assert res.triage == "outside_jurisdiction" and res.county is None
    assert res.responsible_units == () and res.reasons() == []


def test_responsible_for_before_the_assignments_began(demo_store):
    p = demo_store.area("411327100001").geom.representative_point()
    res = demo_store.responsible_for(
        p.x, p.y, "cigarette_butts", at=date(2020, 1, 1), generation=demo_store.active_generation()
    )
    assert res.community.code == "411327100001"
    assert res.leaders == () and res.triage == "no_responsible_unit"


def test_unknown_category(demo_store):
    with pytest.raises(NotFoundError):
        demo_store.responsible_for(112.95, 33.05, "no_such_thing")


def test_supervision_teams_and_pairing(demo_store):
    sa = demo_store.area("SA04")  # around the HSR station
    p = sa.geom.representative_point()
    res = demo_store.responsible_for(p.x, p.y, "hsr_station", at=DAY)
    _all_reasons_structured(res)
    assert "SA04" in [a.code for a in res.supervision_areas]
    assert any(t.reason.code == "SA04" for t in res.supervision_teams)
    c = demo_store.area("411327100001").geom.representative_point()
    res = demo_store.responsible_for(c.x, c.y, "illegal_flyers", at=DAY)
    assert [u.unit_kind for u in res.pairing_units] == ["civilized_unit"]


def test_demo_files_match_what_was_loaded(demo_store):
    with (DEMO_DIR / "assignments.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with demo_store.session() as s:
        n = s.scalar(
            select(func.count())
            .select_from(Assignment)
            .where(Assignment.category_code.is_(None), Assignment.object_layer != Layer.shop)
        )  # a shop's own frontage assignment comes from shops.geojson
    assert n == len(rows)
    assert shapely.get_num_geometries(demo_store.area("411327000000").geom) >= 1
