"""The issue service on the demo county, on SQLite and on PostGIS."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta

import pytest
import shapely
from sqlalchemy import select

from civgrid.geo.crs import from_wgs84
from civgrid.geo.errors import GeoError
from civgrid.grids.core.actors import SYSTEM_ACTOR, Actor
from civgrid.grids.core.calendar import DeadlinePolicy
from civgrid.grids.core.errors import (
    ConflictError,
    DomainError,
    InvalidInputError,
    InvalidTransitionError,
    PermissionDeniedError,
)
from civgrid.grids.issues import service as svc
from civgrid.grids.issues.config import IssueConfig
from civgrid.grids.issues.models import Issue, IssueEvent, SupervisionNotice
from civgrid.grids.issues.photos import PhotoInput
from civgrid.grids.issues.service import IssueQuery, IssueReport
from civgrid.grids.issues.workflow import State
from support.issue_helpers import COMPOUND, DEMO_DATA, OUTSIDE, offset, point_in

GW = Actor("网格员甲", "grid_worker")
CC = Actor("指挥中心", "command_center")
INSPECTOR = Actor("督查组一", "inspector")
PNG = PhotoInput(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "fix.png", "image/png")


def report(
    session, store, config, lon, lat, category="street_vending", *, actor=GW, key=None, **kw
):
    source = kw.pop("source", "grid_worker")
    return svc.report_issue(
        session, store, actor, IssueReport(category, source, lon, lat, **kw), key, config=config
    )


def demo_rows(name):
    with open(DEMO_DATA / name, encoding="utf-8") as f:
        return list(csv.DictReader(f))


# ----------------------------------------------------------------------------- intake


def test_point_in_a_compound_gets_place_units_and_leaders(store, config):
    lon, lat = point_in(store, COMPOUND)
    with store.session() as s:
        issue = report(s, store, config, lon, lat, "dumping").issue
        d = svc.describe(issue)
    assert d["state"] == "assigned" and d["kind"] == "open"
    assert d["township"]["code"] == "411327001000"
    assert d["community"]["code"] == "411327001001"
    assert d["unit_grid"]["code"] == COMPOUND
    # independent oracle: the demo's assignment table
    rows = demo_rows("assignments.csv")
    contract = {
        r["subject_key"]
        for r in rows
        if r["role"] == "contract" and r["object_code"] == "411327001001"
    }
    contact = {
        r["subject_key"]
        for r in rows
        if r["role"] == "contact" and r["object_code"] == "411327001000"
    }
    grid_units = {
        r["subject_key"]
        for r in rows
        if r["object_code"] == COMPOUND and r["role"] == "responsible"
    }
    assert {x["key"] for x in d["leaders"] if x["role"] == "contract"} == contract
    assert {x["key"] for x in d["leaders"] if x["role"] == "contact"} == contact
    units = {d["owner_unit"]["key"]} | {u["key"] for u in d["co_responsible_units"]}
    assert grid_units <= units
    # exactly one owner: the compound's own responsible unit (the owner rule's first
    # step), not the county department that leads the category family
    routing = d["routing"]
    assert d["owner_unit"]["key"] == routing["owner"]["key"]
    assert grid_units == {d["owner_unit"]["key"]}
    assert routing["owner_reason"]["layer"] == "unit_grid"
    assert routing["lead_unit"]["key"] != d["owner_unit"]["key"]  # the lead is only 协办 here
    assert d["owner_unit"]["key"] not in {u["key"] for u in d["co_responsible_units"]}
    # every part of the answer says why
    assert all(p["reason"]["match"] == "assignment" for p in routing["responsible_units"])
    # the deadline comes from the category (乱堆乱倒: 48 h)
    assert d["deadline"] - d["assigned_at"] == timedelta(hours=48)


def test_road_section_chief_and_key_site_zones(store, config):
    with store.session() as s:
        site = next(k for k in store.key_sites(session=s) if k.code == "KS008")
        lon, lat = offset(site.geom.x, site.geom.y, 20, 0)
        d = svc.describe(report(s, store, config, lon, lat).issue)
        expected = store.responsible_for(lon, lat, "street_vending", session=s)
    assert "KS008" in {k["code"] for k in d["key_sites"]}
    assert all(k["distance_m"] <= k["zone_radius_m"] for k in d["key_sites"])
    if expected.road_section is not None:
        assert d["road_section"]["code"] == expected.road_section.code
        assert {c["key"] for c in d["road_section"]["road_chiefs"]} == {
            p.key for p in expected.road_section.road_chiefs
        }


def test_gcj02_input_lands_where_wgs84_lands(store, config):
    lon, lat = point_in(store, COMPOUND)
    glon, glat = from_wgs84(lon, lat, "gcj02")
    assert abs(glon - lon) + abs(glat - lat) > 1e-3  # the shift is real (hundreds of metres)
    with store.session() as s:
        a = report(s, store, config, lon, lat, "dumping").issue
        b = report(s, store, config, glon, glat, "illegal_flyers", crs="gcj02").issue
        dist = svc.distances_m(a.lon, a.lat, [b.lon], [b.lat])[0]
        assert dist < 0.5
        assert (a.unit_grid_code, a.community_code) == (b.unit_grid_code, b.community_code)
        assert b.input_crs == "gcj02" and b.input_lon == glon


def test_idempotent_retry_creates_one_issue(store, config):
    lon, lat = point_in(store, COMPOUND)
    with store.session() as s:
        first = report(s, store, config, lon, lat, key="abc-1")
        again = report(s, store, config, lon, lat, key="abc-1")
        assert first.created and not again.created
        assert again.issue.id == first.issue.id
        with pytest.raises(ConflictError, match="Idempotency-Key"):
            report(s, store, config, lon, lat, "dumping", key="abc-1")
    with store.session() as s:
        assert s.scalar(select(Issue.id).where(Issue.idempotency_key == "abc-1")) == first.issue.id
        assert len(s.scalars(select(Issue)).all()) == 1


def test_outside_the_county_waits_in_triage_until_dispatched(store, config):
    with store.session() as s:
        issue = report(s, store, config, *OUTSIDE).issue
        assert issue.state == State.triage
        assert issue.triage_reason == "outside_jurisdiction"
        assert issue.deadline is None and issue.owner_unit is None
        with pytest.raises(InvalidInputError, match="no owner unit"):
            svc.dispatch(s, CC, issue.id, config=config)
        svc.dispatch(s, CC, issue.id, unit="D03", co_units=["D22"], note="交界处", config=config)
        assert issue.state == State.assigned and issue.owner_unit.key == "D03"
        assert [u.key for u in svc.issue_units(issue, "co_responsible")] == ["D22"]
        assert issue.deadline is not None


def test_anonymous_citizen_goes_to_triage_by_setting(store, config):
    lon, lat = point_in(store, COMPOUND)
    citizen = Actor("市民", "citizen")
    with store.session() as s:
        anon = report(s, store, config, lon, lat, actor=citizen, source="citizen_complaint")
        named = report(
            s,
            store,
            config,
            *offset(lon, lat, 200, 0),
            "dumping",
            actor=citizen,
            source="citizen_complaint",
            reporter_contact="wechat:abc",
        )
        assert anon.issue.state == State.triage
        assert anon.issue.triage_reason == "anonymous_citizen"
        assert anon.issue.owner_unit is not None  # the proposed assignment is kept
        assert named.issue.state == State.assigned
        config.triage_anonymous_citizen = False
        off = report(
            s,
            store,
            config,
            *offset(lon, lat, -300, 0),
            "graffiti",
            actor=citizen,
            source="citizen_complaint",
        )
        assert off.issue.state == State.assigned
        # the dispatcher confirms the proposed assignment
        svc.dispatch(s, CC, anon.issue.id, config=config)
        assert anon.issue.state == State.assigned


def test_address_only_reports(store, config):
    with store.session() as s:
        hit = svc.report_issue(
            s,
            store,
            GW,
            IssueReport("public_toilet", "grid_worker", address="新华路公共厕所门口"),
            config=config,
        ).issue
        miss = svc.report_issue(
            s,
            store,
            GW,
            IssueReport("public_toilet", "grid_worker", address="不存在的地方"),
            config=config,
        ).issue
        assert hit.state == State.assigned and "KS008" in {p.code for p in hit.places}
        assert hit.location_source == "address"
        assert miss.state == State.triage and miss.triage_reason == "address_unmatched"
        assert miss.lon is None


def test_working_day_deadline_over_national_day(store, clock, tmp_path):
    cfg = IssueConfig(
        clock=clock,
        deadlines=DeadlinePolicy.from_mapping({"categories": {"illegal_structures": "3wd"}}),
    )
    clock.set(datetime(2025, 9, 30, 2, 0, tzinfo=UTC))  # 10:00 Beijing, before 国庆
    lon, lat = point_in(store, COMPOUND)
    with store.session() as s:
        issue = report(s, store, cfg, lon, lat, "illegal_structures").issue
        # 1–8 Oct holidays; 9, 10, 11 (Saturday make-up day) are the three working days
        assert issue.deadline == datetime(2025, 10, 11, 10, 0, tzinfo=UTC)
        assert issue.deadline_rule == "3wd"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"category": "no_such_thing"}, "category"),
        ({"source": "rumour"}, "source"),
        ({"lat": None}, "lat"),
        ({"lon": None, "lat": None}, "lon"),
        ({"lon": float("nan")}, "lon"),
        ({"lon": 200.0}, "lon"),
        ({"crs": "epsg:3857"}, "crs"),
        ({"priority": "whenever"}, "priority"),
        ({"photos": [PhotoInput(b"GIF but not really", "x.gif", "image/gif")]}, "photos[0]"),
        ({"photos": [PhotoInput(b"\xff\xd8\xff" + b"0" * 2_000_000, "big.jpg")]}, "photos[0]"),
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(store, config, payload, field):
    lon, lat = point_in(store, COMPOUND)
    config.photo_max_bytes = 1_000_000
    data = {"category": "dumping", "source": "grid_worker", "lon": lon, "lat": lat, **payload}
    with store.session() as s:
        with pytest.raises((InvalidInputError, GeoError)) as info:
            svc.report_issue(s, store, GW, IssueReport(**data), config=config)
        err = info.value
        got = err.context.get("field") if isinstance(err, DomainError) else err.field
        assert got == field, str(err)
    with store.session() as s:
        assert s.scalars(select(Issue)).all() == []
    assert not (config.photo_dir and config.photo_dir.exists() and any(config.photo_dir.iterdir()))


# ----------------------------------------------------------------------------- duplicates


def test_duplicates_within_the_category_radius_are_merged(store, config):
    lon, lat = point_in(store, COMPOUND)
    with store.session() as s:
        first = report(s, store, config, lon, lat).issue
        dup = report(s, store, config, *offset(lon, lat, 20, 0)).issue
        far = report(s, store, config, *offset(lon, lat, 45, 0)).issue
        other = report(s, store, config, *offset(lon, lat, 5, 0), "dumping").issue
        assert dup.state == State.merged and dup.duplicate_of_id == first.id
        assert first.duplicate_count == 1
        assert far.state == State.assigned and far.duplicate_of_id is None
        assert other.state == State.assigned
        # per-category radius, in metres
        config.duplicate_radius_by_category["street_vending"] = 60.0
        dup2 = report(s, store, config, *offset(lon, lat, 0, 55)).issue
        assert dup2.state == State.merged and dup2.duplicate_of_id in (first.id, far.id)
        # the dispatcher undoes the link
        svc.unmerge(s, CC, dup.id, config=config)
        assert dup.state == State.triage and dup.duplicate_of_id is None
        assert first.duplicate_count == 1 - 1 + (dup2.duplicate_of_id == first.id)
        svc.dispatch(s, CC, dup.id, config=config)
        assert dup.state == State.assigned


# ----------------------------------------------------------------------------- workflow


def run_to_closed(s, store, config, lon, lat, category="dumping"):
    issue = report(s, store, config, lon, lat, category).issue
    owner = Actor("责任人", "unit", issue.owner_unit.key)
    svc.accept(s, owner, issue.id, config=config)
    svc.submit(s, owner, issue.id, photos=[PNG], note="已清理", config=config)
    svc.reinspect(s, INSPECTOR, issue.id, passed=True, config=config)
    return issue


def test_full_lifecycle_with_return_and_reopen(store, config, clock):
    lon, lat = point_in(store, COMPOUND)
    with store.session() as s:
        issue = report(s, store, config, lon, lat, "dumping").issue
        owner = Actor("责任人", "unit", issue.owner_unit.key)
        stranger = Actor("别的单位", "unit", "D99")
        with pytest.raises(PermissionDeniedError, match="only the owner unit"):
            svc.accept(s, stranger, issue.id, config=config)
        svc.accept(s, owner, issue.id, config=config)
        with pytest.raises(InvalidInputError, match="photo"):
            svc.submit(s, owner, issue.id, config=config)
        svc.submit(s, owner, issue.id, photos=[PNG], measures="清运垃圾", config=config)
        with pytest.raises(PermissionDeniedError):
            svc.reinspect(s, owner, issue.id, passed=True, config=config)
        svc.reinspect(s, INSPECTOR, issue.id, passed=False, note="仍有垃圾", config=config)
        assert issue.state == State.returned and issue.return_count == 1
        svc.submit(s, owner, issue.id, photos=[PNG], config=config)
        svc.reinspect(s, INSPECTOR, issue.id, passed=True, config=config)
        assert issue.state == State.closed and issue.closed_at == clock()
        clock.advance(days=3)
        svc.reopen(s, INSPECTOR, issue.id, note="反弹", config=config)
        assert issue.state == State.rectifying and issue.return_count == 2
        assert issue.closed_at is None
        s.flush()
        events = [(e.action, e.from_state, e.to_state) for e in issue.events]
        assert events == [
            ("report", None, "assigned"),
            ("accept", "assigned", "rectifying"),
            ("submit", "rectifying", "submitted"),
            ("reinspect", "submitted", "returned"),
            ("submit", "returned", "submitted"),
            ("reinspect", "submitted", "closed"),
            ("reopen", "closed", "rectifying"),
        ]
        assert [p.stage for p in issue.photos] == ["fix", "fix"]
        assert (config.photo_dir / issue.photos[0].path).read_bytes() == PNG.content
        # history is append-only
        issue.events[0].note = "rewritten"
        with pytest.raises(DomainError, match="append-only"):
            s.flush()
        s.rollback()


def test_illegal_transitions_are_conflicts(store, config):
    lon, lat = point_in(store, COMPOUND)
    with store.session() as s:
        issue = report(s, store, config, lon, lat, "dumping").issue
        with pytest.raises(
            InvalidTransitionError, match="cannot reinspect an issue in state assigned"
        ):
            svc.reinspect(s, INSPECTOR, issue.id, passed=True, config=config)
        with pytest.raises(InvalidTransitionError):
            svc.reopen(s, INSPECTOR, issue.id, note="x", config=config)
        with pytest.raises(InvalidTransitionError):
            svc.dispatch(s, CC, issue.id, config=config)
        svc.reject(s, CC, issue.id, note="不属于问题", config=config)
        assert issue.state == State.rejected and issue.closed_at is not None
        with pytest.raises(InvalidTransitionError, match="final state"):
            svc.accept(s, SYSTEM_ACTOR, issue.id, config=config)


def test_reopen_only_within_the_period_and_by_reporter_or_inspector(store, config, clock):
    lon, lat = point_in(store, COMPOUND)
    with store.session() as s:
        issue = run_to_closed(s, store, config, lon, lat)
        with pytest.raises(PermissionDeniedError):
            svc.reopen(s, Actor("路人", "citizen"), issue.id, note="x", config=config)
        svc.reopen(s, GW, issue.id, note="又脏了", config=config)  # GW reported it
        assert issue.state == State.rectifying
        other = run_to_closed(s, store, config, *offset(lon, lat, 300, 0), "graffiti")
        clock.advance(days=31)
        with pytest.raises(InvalidTransitionError, match="within 30 days"):
            svc.reopen(s, INSPECTOR, other.id, note="x", config=config)


def test_stale_version_and_concurrent_updates_conflict(store, config):
    lon, lat = point_in(store, COMPOUND)
    with store.session() as s:
        issue_id = report(s, store, config, lon, lat, "dumping").issue.id
    with store.session() as s:
        issue = svc.get_issue(s, issue_id)
        owner = Actor("责任人", "unit", issue.owner_unit.key)
        version = issue.version
        svc.accept(s, owner, issue_id, expected_version=version, config=config)
        with pytest.raises(ConflictError, match=f"at version {version + 1}"):
            svc.submit(s, owner, issue_id, photos=[PNG], expected_version=version, config=config)
    # two sessions read the same version; the second writer loses
    s1, s2 = store._sessionmaker(), store._sessionmaker()
    try:
        held = svc.get_issue(s1, issue_id), svc.get_issue(s2, issue_id)  # noqa: F841 (keep loaded)
        svc.submit(s1, owner, issue_id, photos=[PNG], config=config)
        s1.commit()
        with pytest.raises(ConflictError, match="changed by someone else"):
            svc.reassign(s2, CC, issue_id, unit="D03", note="改派", config=config)
    finally:
        s1.close()
        s2.rollback()
        s2.close()


def test_reassignment_keeps_history(store, config):
    lon, lat = point_in(store, COMPOUND)
    with store.session() as s:
        issue = report(s, store, config, lon, lat, "dumping").issue
        before = issue.owner_unit.key
        svc.reassign(s, CC, issue.id, unit="D22", note="属科技工信局", config=config)
        assert issue.owner_unit.key == "D22" and issue.state == State.assigned
        assert "D22" not in {u.key for u in svc.issue_units(issue, "co_responsible")}
        s.flush()
        ev = issue.events[-1]
        assert ev.action == "reassign" and ev.data["from_unit"] == before
        assert ev.data["to_unit"] == "D22"
        with pytest.raises(InvalidInputError, match="unknown unit"):
            svc.reassign(s, CC, issue.id, unit="NOPE", note="x", config=config)
        # a corrected location re-routes
        far_lon, far_lat = point_in(store, "411327001003", layer="community")
        svc.reassign(
            s, CC, issue.id, lon=far_lon, lat=far_lat, note="位置更正", store=store, config=config
        )
        assert issue.community_code == "411327001003"


# ----------------------------------------------------------------------------- recurrence


def test_recurrence_within_30_days_and_50_m_or_same_unit_grid(store, config, clock):
    lon, lat = point_in(store, COMPOUND)
    with store.session() as s:
        first = run_to_closed(s, store, config, lon, lat)
        clock.advance(days=10)
        again = report(s, store, config, *offset(lon, lat, 40, 0), "dumping").issue
        assert again.recurrence_of_id == first.id and again.repeat_count == 1
        owner = Actor("责任人", "unit", again.owner_unit.key)
        svc.submit(s, owner, again.id, photos=[PNG], config=config)
        svc.reinspect(s, INSPECTOR, again.id, passed=True, config=config)
        clock.advance(days=5)
        third = report(s, store, config, lon, lat, "dumping").issue
        assert third.recurrence_of_id == again.id and third.repeat_count == 2
        # a different category is not a recurrence
        assert report(s, store, config, lon, lat, "graffiti").issue.recurrence_of_id is None
        assert svc.list_issues(s, IssueQuery(recurrent=True)).total == 2


def test_recurrence_window_and_distance(store, config, clock):
    lon, lat = point_in(store, COMPOUND)
    grid = store.area(COMPOUND, layer="unit_grid").geom
    lattice = [offset(lon, lat, dx, dy) for dx in range(-90, 91, 10) for dy in range(-90, 91, 10)]
    same_grid_far = [
        p
        for p in lattice
        if grid.contains(shapely.Point(*p)) and svc.distances_m(lon, lat, [p[0]], [p[1]])[0] > 55
    ]
    near_other_grid = [
        p
        for p in lattice
        if not grid.buffer(1e-5).contains(shapely.Point(*p))
        and svc.distances_m(lon, lat, [p[0]], [p[1]])[0] > 55
    ]
    assert same_grid_far and near_other_grid
    with store.session() as s:
        first = run_to_closed(s, store, config, lon, lat)
        clock.advance(days=2)
        # same unit grid, more than 50 m away: a recurrence
        again = report(s, store, config, *same_grid_far[0], "dumping").issue
        assert again.recurrence_of_id == first.id
        # another unit grid, more than 50 m away: not one
        other = report(s, store, config, *near_other_grid[0], "dumping").issue
        assert other.recurrence_of_id is None or other.unit_grid_code == COMPOUND
        # more than 30 days after closing: not one
        clock.advance(days=40)
        late = report(s, store, config, *offset(lon, lat, 10, 0), "dumping").issue
        assert late.recurrence_of_id is None


# ----------------------------------------------------------------------------- 督办


def test_overdue_notice_then_escalation(store, config, clock):
    lon, lat = point_in(store, COMPOUND)
    with store.session() as s:
        issue = report(s, store, config, lon, lat).issue  # 占道经营: 24 h
        other = report(s, store, config, *offset(lon, lat, 300, 300), "dumping").issue  # 48 h
        assert svc.check_deadlines(s, config=config).overdue == []
        clock.advance(hours=25)  # Tuesday 10:00
        rep = svc.check_deadlines(s, config=config)
        assert rep.overdue == [issue.id] and rep.notices == ["社创督〔2025〕第001号"]
        assert issue.overdue and not issue.escalated and issue.notice_count == 1
        notice = issue.notices[0]
        assert notice.unit.key == issue.owner_unit.key
        assert set(notice.leader_keys) == {p.leader.key for p in issue.parties if p.leader}
        # the second deadline: 2 working days → Thursday 18:00 Beijing
        assert notice.deadline == datetime(2025, 3, 6, 10, 0, tzinfo=UTC)
        assert svc.check_deadlines(s, config=config).overdue == []  # nothing twice
        clock.advance(days=1)
        rep = svc.check_deadlines(s, config=config)
        assert rep.overdue == [other.id] and rep.notices == ["社创督〔2025〕第002号"]
        assert rep.escalated == []
        clock.set(datetime(2025, 3, 6, 11, 0, tzinfo=UTC))
        rep = svc.check_deadlines(s, config=config)
        assert rep.escalated == [issue.id]
        assert issue.escalated and "escalated" in svc.flags_of(issue)
        assert [e.action for e in issue.events][-3:] == ["overdue", "supervise", "escalate"]
        # fixing it clears the flags of the open issue and settles the notices
        owner = Actor("责任人", "unit", issue.owner_unit.key)
        svc.submit(s, owner, issue.id, photos=[PNG], config=config)
        svc.reinspect(s, INSPECTOR, issue.id, passed=True, config=config)
        assert svc.flags_of(issue) == [] and issue.overdue_at is not None
        assert all(n.resolved_at is not None for n in issue.notices)
        assert s.scalars(
            select(SupervisionNotice.number).order_by(SupervisionNotice.seq)
        ).all() == [
            "社创督〔2025〕第001号",
            "社创督〔2025〕第002号",
        ]


def test_extension_requests(store, config, clock):
    lon, lat = point_in(store, COMPOUND)
    with store.session() as s:
        issue = report(s, store, config, lon, lat).issue
        owner = Actor("责任人", "unit", issue.owner_unit.key)
        with pytest.raises(PermissionDeniedError):
            svc.request_extension(
                s, Actor("x", "unit", "D99"), issue.id, reason="r", working_days=2, config=config
            )
        req = svc.request_extension(
            s, owner, issue.id, reason="需采购设备", working_days=2, config=config
        )
        assert issue.extension_pending and "extension_pending" in svc.flags_of(issue)
        with pytest.raises(ConflictError, match="pending"):
            svc.request_extension(s, owner, issue.id, reason="again", working_days=3, config=config)
        clock.advance(hours=30)  # past the original deadline, but the request is pending
        assert svc.check_deadlines(s, config=config).overdue == []
        with pytest.raises(PermissionDeniedError):
            svc.decide_extension(s, owner, issue.id, req.id, approve=True, config=config)
        svc.decide_extension(s, CC, issue.id, req.id, approve=True, note="同意", config=config)
        assert issue.deadline == req.requested_deadline and issue.extension_count == 1
        assert not issue.extension_pending and not issue.overdue
        req2 = svc.request_extension(
            s,
            owner,
            issue.id,
            reason="再延",
            kind="postponement",
            until=issue.deadline + timedelta(days=30),
            config=config,
        )
        svc.decide_extension(s, CC, issue.id, req2.id, approve=False, note="不同意", config=config)
        assert req2.status == "refused" and issue.extension_count == 1


# ----------------------------------------------------------------------------- queries


def test_queries_filter_and_page(store, config, clock):
    lon, lat = point_in(store, COMPOUND)
    with store.session() as s:
        ids = []
        for i in range(5):
            clock.advance(hours=1)
            ids.append(report(s, store, config, *offset(lon, lat, 100 * i, 0), "dumping").issue.id)
        outside = report(s, store, config, *OUTSIDE).issue
        page = svc.list_issues(s, IssueQuery(limit=2, offset=0))
        assert page.total == 6 and [i.id for i in page.items] == [outside.id, ids[4]]
        assert svc.list_issues(s, IssueQuery(states=["triage"])).total == 1
        assert svc.list_issues(s, IssueQuery(category="environment")).total == 5  # subtree
        assert svc.list_issues(s, IssueQuery(area="411327001000")).total >= 1
        assert svc.list_issues(s, IssueQuery(area="411327000000")).total == 5
        first = svc.get_issue(s, ids[0])
        owner = first.owner_unit.key
        assert ids[0] in [i.id for i in svc.list_issues(s, IssueQuery(unit=owner)).items]
        leader = next(p.leader.key for p in first.parties if p.leader)
        assert ids[0] in [i.id for i in svc.list_issues(s, IssueQuery(leader=leader)).items]
        bbox = (lon - 1e-4, lat - 1e-4, lon + 1e-4, lat + 1e-4)
        assert [i.id for i in svc.list_issues(s, IssueQuery(bbox=bbox)).items] == [ids[0]]
        with pytest.raises(InvalidInputError, match="unknown state"):
            svc.list_issues(s, IssueQuery(states=["lost"]))
        inbox = svc.unit_inbox(s, owner, config=config)
        assert ids[0] in [i.id for i in inbox["assigned"]]


def test_events_are_recorded_with_actor(store, config):
    lon, lat = point_in(store, COMPOUND)
    with store.session() as s:
        issue = report(s, store, config, lon, lat, "dumping").issue
        s.flush()
        ev = s.scalars(select(IssueEvent).where(IssueEvent.issue_id == issue.id)).one()
        assert (ev.actor_who, ev.actor_role, ev.action) == ("网格员甲", "grid_worker", "report")
