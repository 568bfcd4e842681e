"""Patrol and scoring writes are audited (操作日志): who, role, action, object, before/after.

Each write goes through the API as the role that may make it (patrol: the inspector
``insp``; scoring: the dispatcher ``disp``) and the record is read back through
``GET /api/v1/audit`` as the admin. A refused write (a bad track, an unknown leader
or issue, a refused rules file, a month not yet ended, closing without a note)
records nothing: the record is written in the same transaction as the change.

The scoring clock of this module's app is 5 January 2027, 10:00 Beijing: 2026 has
ended, January 2027 has not.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

PLAN_MONTH = "2026-12"  # the fixture plan (the GPX tracks are dated 3 December 2026)
SCORE_NOW = datetime(2027, 1, 5, 2, 0, tzinfo=UTC)
BJ = ZoneInfo("Asia/Shanghai")
TEAM_HEADER = (
    "key,name,leader_key,members,area_codes,unit_keys,base_lon,base_lat,capacity_per_day\n"
)
TEAM_ROW = "ST09,第九督查组,L01,组长:1;组员:2,SA02,SO01,112.95,33.05,3\n"
RULES = """\
profile: audittest
name: 审计测试
versions:
  - effective_from: 2026-01-01
    base: 100
    deductions:
      per_issue: 2
      by_category: {street_vending: 3}
    tiers: {good: 95, fair: 90}
"""
NEW_VERSION = "  - effective_from: 2027-02-01\n    base: 90\n"


def audit_log(world, **params) -> list[dict]:
    """Audit records (newest first) matching ``params``, read as the admin."""
    r = world.client.get("/api/v1/audit", params={"limit": 1000, **params})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def one(records: list[dict]) -> dict:
    assert len(records) == 1, records
    return records[0]


def _by(world, role: str) -> dict:
    return world.roles[role]


@pytest.fixture(scope="module")
def scored(world):
    """The world with the scoring clock fixed at :data:`SCORE_NOW`."""
    world.app.state.score_clock = lambda: SCORE_NOW
    yield world
    world.app.state.score_clock = None


@pytest.fixture(scope="module")
def plan(world) -> list[dict]:
    """The stored plan of :data:`PLAN_MONTH` (made by the admin): its visits."""
    r = world.client.post("/api/v1/patrol/plans", params={"month": PLAN_MONTH})
    assert r.status_code == 200, r.text
    return world.client.get(f"/api/v1/patrol/plans/{PLAN_MONTH}").json()["visits"]


# --------------------------------------------------------------------------- patrol


def test_team_import_audits_each_added_or_changed_team(world):
    def post(csv: str, commit: bool):
        return world.client.post(
            "/api/v1/patrol/teams",
            params={"commit": str(commit).lower()},
            files={"file": ("t.csv", csv.encode(), "text/csv")},
            **_by(world, "inspector"),
        )

    assert post(TEAM_HEADER + TEAM_ROW, commit=False).status_code == 200  # dry run
    assert audit_log(world, action="patrol.team.", who="insp") == []
    bad = post(TEAM_HEADER + TEAM_ROW.replace("L01", "L77"), commit=True)
    assert bad.status_code == 422 and "unknown leader L77" in bad.json()["detail"]
    assert audit_log(world, action="patrol.team.", who="insp") == []

    assert post(TEAM_HEADER + TEAM_ROW, commit=True).json()["added"] == ["ST09"]
    added = one(audit_log(world, action="patrol.team.upsert", who="insp"))
    assert (added["who"], added["role"]) == ("insp", "inspector")
    assert (added["object_kind"], added["object_key"]) == ("patrol_team", "ST09")
    assert added["before"] is None
    assert added["after"]["capacity_per_day"] == 3 and added["after"]["area_codes"] == ["SA02"]
    assert added["after"]["area_sha256"] is None  # no polygon

    changed = TEAM_ROW.replace(",3\n", ",5\n")
    assert post(TEAM_HEADER + changed, commit=True).json()["updated"] == ["ST09"]
    upd = audit_log(world, action="patrol.team.upsert", object_key="ST09")[0]
    assert upd["before"] == {"capacity_per_day": 3} and upd["after"] == {"capacity_per_day": 5}

    assert post(TEAM_HEADER + changed, commit=True).json()["unchanged"] == ["ST09"]
    # nothing changed, nothing recorded
    assert len(audit_log(world, action="patrol.team.", who="insp")) == 2


def test_plan_commit_and_replace_are_audited_with_counts(world):
    month = "2027-03"
    url = "/api/v1/patrol/plans"
    insp = _by(world, "inspector")
    dry = world.client.post(url, params={"month": month, "commit": "false"}, **insp)
    assert dry.status_code == 200 and dry.json()["stored"] is False
    assert audit_log(world, object_kind="patrol_plan", object_key=month) == []

    first = world.client.post(url, params={"month": month}, **insp).json()
    rec = one(audit_log(world, object_kind="patrol_plan", object_key=month))
    assert (rec["action"], rec["who"], rec["role"]) == ("patrol.plan.commit", "insp", "inspector")
    assert rec["before"] is None
    assert rec["after"]["visits"] == len(first["visits"]) > 0
    assert sum(rec["after"]["by_team"].values()) == rec["after"]["visits"]

    again = world.client.post(url, params={"month": month}, **insp)
    assert again.status_code == 409  # exists: refused, not recorded
    assert len(audit_log(world, object_kind="patrol_plan", object_key=month)) == 1

    body = {"settings": {"capacity_per_day": 1}}
    world.client.post(url, params={"month": month, "replace": "true"}, json=body, **insp)
    rep = audit_log(world, object_kind="patrol_plan", object_key=month)[0]
    assert rep["action"] == "patrol.plan.replace"
    assert rep["before"] == rec["after"] and rep["after"]["visits"] < rec["after"]["visits"]


def test_visit_outcome_is_audited_and_a_refused_one_is_not(world, plan):
    from support.issue_helpers import point_in

    # a visit already due, in a community (linked issues are reported there, that day)
    visit = next(v for v in plan if v["community_code"] and v["day"] <= "2026-12-04")
    url = f"/api/v1/patrol/visits/{visit['id']}/outcome"
    insp = _by(world, "inspector")
    missing = world.client.post(url, json={"status": "done", "issue_ids": [999999]}, **insp)
    assert missing.status_code == 404
    assert audit_log(world, action="patrol.visit.") == []
    plan_now = world.client.get(f"/api/v1/patrol/plans/{PLAN_MONTH}").json()["visits"]
    assert next(v for v in plan_now if v["id"] == visit["id"])["status"] == "planned"

    at = point_in(world.store, visit["community_code"], layer="community")
    x = world.report(at, reported_at=f"{visit['day']}T10:00:00+08:00")["id"]
    r = world.client.post(url, json={"status": "done", "issue_ids": [x]}, **insp)
    assert r.status_code == 200, r.text
    rec = one(audit_log(world, action="patrol.visit.outcome"))
    assert (rec["who"], rec["role"]) == ("insp", "inspector")
    assert (rec["object_kind"], rec["object_key"]) == ("patrol_visit", str(visit["id"]))
    assert rec["before"] == {"status": "planned", "issue_ids": []}
    assert rec["after"] == {"status": "done", "issue_ids": [x]}


def test_track_upload_is_audited_without_coordinates(world):
    from support.patrol_helpers import densify, gpx

    road = next(r.geom for r in world.store.road_sections() if r.code == "RS001")
    track = gpx(densify(road))

    def post(data, name="day.gpx", **form):
        return world.client.post(
            "/api/v1/patrol/tracks",
            files={"file": (name, data, "application/gpx+xml")},
            data={"team": "ST01", **form},
            **_by(world, "inspector"),
        )

    beijing = gpx([(116.40, 39.90), (116.41, 39.91)])
    for bad in (b"", b"<gpx><trk>", beijing):
        assert post(bad, name="bad.gpx").status_code == 422
    assert post(track, team="ST99").status_code == 404
    assert post(track, commit="false").status_code == 200  # measured only
    assert audit_log(world, action="patrol.track.") == []

    out = post(track).json()
    rec = one(audit_log(world, action="patrol.track.upload"))
    assert (rec["who"], rec["role"]) == ("insp", "inspector")
    assert (rec["object_kind"], rec["object_key"]) == ("patrol_track", str(out["id"]))
    assert rec["before"] is None
    assert rec["after"] == {
        "team": "ST01",
        "month": "2026-12",
        "filename": "day.gpx",
        "input_crs": "wgs84",
        "fixes": out["cleaning"]["n_used"],
        "length_m": out["length_m"],
        "started_at": out["started_at"],
        "ended_at": out["ended_at"],
        "day": "2026-12-03",  # the Beijing date of the first fix (09:00 on 3 December)
    }


def test_leader_visit_is_audited_with_the_planned_visit_it_completes(world, plan):
    insp = _by(world, "inspector")
    url = "/api/v1/leaders/{}/visits"
    body = {"kind": "office_hours", "day": "2026-12-03"}
    assert world.client.post(url.format("L99"), json=body, **insp).status_code == 404
    bad_area = {**body, "area_code": "999999999999"}
    assert world.client.post(url.format("L10"), json=bad_area, **insp).status_code == 404
    assert audit_log(world, action="leader_visit.") == []

    del plan  # stored by the fixture; read again: other tests mark visits done
    visits = world.client.get(f"/api/v1/patrol/plans/{PLAN_MONTH}").json()["visits"]
    planned = next(
        v for v in visits if v["kind"] == "leader_inspection" and v["status"] == "planned"
    )
    body = {"kind": "site_inspection", "day": planned["day"], "area_code": planned["target_code"]}
    r = world.client.post(url.format(planned["leader_key"]), json=body, **insp)
    assert r.status_code == 201, r.text
    rec = one(audit_log(world, action="leader_visit.record"))
    assert (rec["who"], rec["role"]) == ("insp", "inspector")
    assert (rec["object_kind"], rec["object_key"]) == ("leader_visit", str(r.json()["id"]))
    assert rec["after"] == {
        "leader": planned["leader_key"],
        "kind": "site_inspection",
        "day": planned["day"],
        "area_code": planned["target_code"],
        "planned_visit_done": planned["id"],
    }


# --------------------------------------------------------------------------- scoring


def test_rules_install_is_audited_and_a_refused_file_is_not(scored):
    world = scored
    disp = _by(world, "dispatcher")

    def post(text: str):
        return world.client.post(
            "/api/v1/scoring/rules",
            content=text,
            params={"file": "audittest.yaml"},
            headers={**disp["headers"], "Content-Type": "application/yaml"},
        )

    assert post(RULES.replace("base: 100", "base: -5")).status_code == 422  # malformed
    assert audit_log(world, action="score.rules.") == []

    assert post(RULES).status_code == 200
    rec = one(audit_log(world, action="score.rules.install"))
    assert (rec["who"], rec["role"]) == ("disp", "dispatcher")
    assert (rec["object_kind"], rec["object_key"]) == ("rules_profile", "audittest")
    assert rec["before"] is None
    assert rec["after"]["versions"] == ["2026-01-01"]
    assert rec["after"]["file"] == "audittest.yaml" and len(rec["after"]["sha256"]) == 64

    rewrite = RULES.replace("per_issue: 2", "per_issue: 3")  # the version in force changes
    r = post(rewrite)
    assert r.status_code == 422 and "cannot be changed" in r.json()["detail"]
    assert len(audit_log(world, action="score.rules.")) == 1

    assert post(RULES + NEW_VERSION).status_code == 200
    newer = audit_log(world, action="score.rules.install")[0]
    assert newer["before"]["versions"] == ["2026-01-01"]
    assert newer["after"]["versions"] == ["2026-01-01", "2027-02-01"]
    assert newer["after"]["sha256"] != rec["after"]["sha256"]


def test_bulletin_publish_is_audited_and_an_unfinished_month_is_not(scored):
    world = scored
    disp = _by(world, "dispatcher")
    running = world.client.post("/api/v1/bulletins", json={"period": "2027-01"}, **disp)
    assert running.status_code == 409 and "has not ended" in running.json()["detail"]
    assert audit_log(world, action="bulletin.") == []

    r = world.client.post("/api/v1/bulletins", json={"period": "2026-11"}, **disp)
    assert r.status_code == 201, r.text
    b = r.json()
    rec = one(audit_log(world, action="bulletin.publish"))
    assert (rec["who"], rec["role"]) == ("disp", "dispatcher")
    assert (rec["object_kind"], rec["object_key"]) == ("bulletin", str(b["id"]))
    assert rec["before"] is None
    assert rec["after"] == {
        "kind": "monthly",
        "period": "2026-11",
        "number": b["number"],
        "profile": b["profile"],
        "sha256": b["sha256"],
    }
    again = world.client.post("/api/v1/bulletins", json={"period": "2026-11"}, **disp)
    assert again.status_code == 409
    assert len(audit_log(world, action="bulletin.")) == 1


def _media_exposure(world, community: str, township: str) -> int:
    """A media-exposure issue of ``community`` reported on 10 November 2026 and closed two
    days after its deadline (Quzhou ③ needs poor rectification)."""
    from sqlalchemy import select

    from civgrid.grids.boundaries.models import Unit
    from civgrid.grids.issues.models import Issue
    from civgrid.grids.issues.workflow import State

    at = datetime(2026, 11, 10, 10, tzinfo=BJ).astimezone(UTC)
    with world.store.session() as s:
        unit = s.scalars(select(Unit).where(Unit.key == world.X["owner_unit"]["key"])).one()
        issue = Issue(
            state=State.closed,
            category_code="illegal_flyers",
            source="media_exposure",
            priority="normal",
            reporter_role="grid_worker",
            reported_at=at,
            created_at=at,
            updated_at=at,
            deadline=at,
            closed_at=at + timedelta(days=2),
            community_code=community,
            township_code=township,
            owner_unit_id=unit.id,
            anonymous=False,
        )
        s.add(issue)
        s.flush()
        return issue.id


def test_cases_open_act_and_close_are_audited(scored):
    world = scored
    disp = _by(world, "dispatcher")
    community = world.X["community"]["code"]
    _media_exposure(world, community, community[:9] + "000")
    body = {"period": "2026-11", "profile": "quzhou"}
    r = world.client.post("/api/v1/accountability/cases", json=body, **disp)
    assert r.status_code == 200, r.text
    opened = r.json()["opened"]
    case = next(c for c in opened if c["rule_id"] == "media_exposed")
    assert case["unit_code"] == community
    records = audit_log(world, action="case.open")
    assert sorted(int(x["object_key"]) for x in records) == sorted(c["id"] for c in opened)
    rec = one(audit_log(world, action="case.open", object_key=str(case["id"])))
    assert (rec["who"], rec["role"], rec["object_kind"]) == (
        "disp",
        "dispatcher",
        "accountability_case",
    )
    assert rec["before"] is None
    assert rec["after"] == {
        "profile": "quzhou",
        "rule_id": "media_exposed",
        "action": "public_criticism",
        "level": "community",
        "unit_code": community,
        "period": "2026-11",
        "status": "open",
    }
    again = world.client.post("/api/v1/accountability/cases", json=body, **disp).json()
    assert again["opened"] == [] and len(audit_log(world, action="case.open")) == len(opened)

    url = f"/api/v1/accountability/cases/{case['id']}/actions"
    key = {"object_kind": "accountability_case", "object_key": str(case["id"])}
    act = world.client.post(url, json={"action": "interview", "note": "已约谈"}, **disp)
    assert act.status_code == 200, act.text
    acted = audit_log(world, action="case.action", **key)[0]
    assert acted["before"] == {"status": "open"}
    assert acted["after"] == {"status": "open", "action": "interview"}
    assert acted["note"] == "已约谈" and acted["who"] == "disp"

    assert world.client.post(url, json={"action": "close"}, **disp).status_code == 422  # no note
    assert audit_log(world, action="case.close", **key) == []
    closed = world.client.post(url, json={"action": "close", "note": "已整改"}, **disp)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    rec = one(audit_log(world, action="case.close", **key))
    assert rec["before"] == {"status": "open"}
    assert rec["after"] == {"status": "closed", "action": "close"}
    assert rec["note"] == "已整改"
    late = world.client.post(url, json={"action": "note", "note": "x"}, **disp)
    assert late.status_code == 409  # closed: refused, not recorded
    assert [x["action"] for x in audit_log(world, **key)] == [
        "case.close",
        "case.action",
        "case.open",
    ]


# --------------------------------------------------------------------------- domain


def test_domain_writes_without_an_actor_are_the_systems(world):
    """Batch callers (the demo loader, jobs) that name no actor are recorded as the system."""
    from civgrid.grids.core.audit import AuditQuery, query
    from civgrid.grids.patrol.teams import import_teams

    row = TEAM_ROW.replace("ST09", "ST08")
    with world.store.session() as s:
        assert import_teams(s, TEAM_HEADER + row, commit=True).added == ["ST08"]
        recs, total = query(s, AuditQuery(action="patrol.team.upsert", object_key="ST08"))
        assert total == 1 and (recs[0].actor_who, recs[0].actor_role) == ("system", "system")
        s.rollback()  # the caller's transaction: rolled back, the record goes with it
    with world.store.session() as s:
        assert query(s, AuditQuery(object_key="ST08"))[1] == 0
