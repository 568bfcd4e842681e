"""Object-level permissions through the API: leaders, unit handlers, the public.

Expectations are computed by hand from the demo assignments (data/boundaries/demo/
assignments.csv): L10 contracts community 411327001001 and contacts township
411327001000; L13 contracts 411327002001 and contacts 411327002000.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from support.authclient import AuthClient

X_COMMUNITY = "411327001001"
OTHER = "411327002001"


def _ids(r) -> set[int]:
    assert r.status_code == 200, r.text
    return {i["id"] for i in r.json()["items"]}


def test_leader_cannot_read_another_leaders_issues_by_guessing_ids(world):
    c, X, Y = world.client, world.X, world.Y
    l10 = {"headers": AuthClient.as_user("leader", "l10", leader="L10")}
    l13 = {"headers": AuthClient.as_user("leader", "l13", leader="L13")}
    assert c.get(f"/api/v1/issues/{X['id']}", **l10).status_code == 200
    assert c.get(f"/api/v1/issues/{Y['id']}", **l13).status_code == 200
    # B's issue and a nonexistent id answer the same: 404, no existence leak
    other = c.get(f"/api/v1/issues/{Y['id']}", **l10)
    missing = c.get("/api/v1/issues/999999", **l10)
    assert other.status_code == missing.status_code == 404
    assert other.json()["detail"] == f"no issue {Y['id']}"
    assert c.get(f"/api/v1/issues/{X['id']}", **l13).status_code == 404
    # lists filter: every L10 issue lies in L10's township, none in L13's community
    mine = c.get("/api/v1/issues", params={"limit": 1000}, **l10).json()["items"]
    assert X["id"] in {i["id"] for i in mine} and Y["id"] not in {i["id"] for i in mine}
    assert {i["township"]["code"] for i in mine} == {"411327001000"}
    # the map layer and Open311 (logged in) follow the same scope
    fc = c.get("/api/v1/layers/issues.geojson", params={"kind": "all"}, **l10).json()
    assert Y["id"] not in {f["id"] for f in fc["features"]}
    assert X["id"] in {f["id"] for f in fc["features"]}
    r = c.get(f"/open311/v2/requests/{Y['id']}.json", **l10)
    assert r.status_code == 404
    # and the leader pages: only one's own
    assert c.get("/leaders/L10", **l10).status_code == 200
    assert c.get("/leaders/L13", **l10).status_code == 404
    assert c.get("/api/v1/layers/community.geojson?leader=L13", **l10).status_code == 404
    own = c.get("/api/v1/layers/community.geojson", **l10).json()
    assert {f["id"] for f in own["features"]} == {"411327001001"}  # L10's contract only


def test_leader_scope_follows_assignment_validity(world):
    """An assignment that ended before the report does not open it; one valid then does."""
    from civgrid.grids.accounts.permissions import Scope
    from civgrid.grids.boundaries.models import Assignment, Leader
    from civgrid.grids.core.actors import Actor
    from civgrid.grids.issues.models import Issue

    store, Y = world.store, world.Y
    with store.session() as s:
        l20 = s.query(Leader).filter_by(key="L20").one()
        s.add(
            Assignment(
                role="contract",
                subject_kind="leader",
                leader_id=l20.id,
                object_layer="community",
                object_code=Y["community"]["code"],
                valid_from=date(2020, 1, 1),
                valid_to=date(2021, 1, 1),
            )
        )
    actor = Actor("l20", "citizen", account_role="leader", leader="L20")
    with store.session() as s:
        issue = s.get(Issue, Y["id"])
        assert not Scope.for_actor(s, actor).can_see_issue(issue)  # ended in 2021
        s.query(Assignment).filter_by(leader_id=l20.id, object_code=Y["community"]["code"]).update(
            {"valid_to": None}
        )
    with store.session() as s:
        scope = Scope.for_actor(s, actor)
        assert scope.can_see_issue(s.get(Issue, Y["id"]))
        # the SQL condition agrees with the object check
        from sqlalchemy import select

        ids = set(s.scalars(select(Issue.id).where(*scope.issue_conditions())))
        assert Y["id"] in ids and world.X["id"] not in ids
        assert scope.area_codes("community") == {Y["community"]["code"]}
    assert datetime.now(UTC) > datetime(2021, 1, 1, tzinfo=UTC)


def test_unit_handler_cannot_act_on_another_units_issue(world):
    c, X, Y = world.client, world.X, world.Y
    own = {"headers": AuthClient.as_user("unit_handler", "uh-x", unit=X["owner_unit"]["key"])}
    # another unit's issue: invisible (404) for reading and transitions
    assert c.get(f"/api/v1/issues/{Y['id']}", **own).status_code == 404
    r = c.post(f"/api/v1/issues/{Y['id']}/transitions", json={"action": "accept"}, **own)
    assert r.status_code == 404
    assert c.get(f"/api/v1/units/{Y['owner_unit']['key']}/inbox", **own).status_code == 404
    # its list holds exactly the issues where the unit is a party
    listed = _ids(c.get("/api/v1/issues", params={"limit": 1000}, **own))
    everyone = c.get("/api/v1/issues", params={"limit": 1000}).json()["items"]
    expected = {
        i["id"]
        for i in everyone
        if X["owner_unit"]["key"]
        in {(i["owner_unit"] or {}).get("key")} | {u["key"] for u in i["co_responsible_units"]}
    }
    assert listed == expected and X["id"] in listed
    # a co-responsible (not owner) unit sees it but may not act on it: 403
    fresh = world.report(world.px)
    co = [u["key"] for u in fresh["co_responsible_units"]]
    if co:
        h = {"headers": AuthClient.as_user("unit_handler", f"uh-{co[0]}", unit=co[0])}
        assert c.get(f"/api/v1/issues/{fresh['id']}", **h).status_code == 200
        r = c.post(f"/api/v1/issues/{fresh['id']}/transitions", json={"action": "accept"}, **h)
        assert r.status_code == 403, r.text
    # the owner may
    r = c.post(f"/api/v1/issues/{fresh['id']}/transitions", json={"action": "accept"}, **own)
    assert r.status_code == 200 and r.json()["state"] == "rectifying"


def test_anonymous_reporter_cannot_read_internal_notes(world):
    c = world.client
    lon, lat = world.px
    body = {
        "category": "dumping",
        "source": "citizen_complaint",
        "lon": lon,
        "lat": lat,
        "description": "路边有垃圾",
    }
    r = c.post("/api/v1/issues", json=body, anonymous=True)
    assert r.status_code == 201
    mine = r.json()
    assert mine["state"] == "triage" and mine["triage_reason"] == "anonymous_citizen"
    assert mine["history"] == [] and mine["routing"] is None and mine["leaders"] == []
    # the dispatcher dispatches with an internal note; the unit fails re-inspection notes
    admin = {"headers": AuthClient.as_user("dispatcher", "disp")}
    r = c.post(f"/api/v1/issues/{mine['id']}/dispatch", json={"note": "内部：请城管优先"}, **admin)
    assert r.status_code == 200
    # no token: the issue API is closed
    r = c.get(f"/api/v1/issues/{mine['id']}", anonymous=True)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert c.get("/api/v1/issues", anonymous=True).status_code == 401
    # Open311's public projection keeps the status, drops the notes
    pub = c.get(
        f"/open311/v2/requests/{mine['id']}.json", params={"extensions": "true"}, anonymous=True
    ).json()[0]
    notes = pub["extended_attributes"]["notes"]
    assert [n["type"] for n in notes] == ["report", "dispatch"]
    assert all(n["description"] is None for n in notes)
    assert "内部" not in r.text and "内部" not in str(pub)
    staff = c.get(
        f"/open311/v2/requests/{mine['id']}.json", params={"extensions": "true"}, **admin
    ).json()[0]
    assert staff["extended_attributes"]["notes"][1]["description"] == "内部：请城管优先"


def test_public_cannot_claim_a_role(world):
    """reporter_role in the body is honoured for the command center only."""
    c = world.client
    lon, lat = world.px
    body = {
        "category": "dumping",
        "source": "grid_worker",
        "lon": lon,
        "lat": lat,
        "reporter_role": "command_center",
    }
    r = c.post("/api/v1/issues", json=body, anonymous=True)
    assert r.status_code == 201 and r.json()["reporter_role"] == "citizen"
    assert r.json()["state"] == "triage"
    gw = c.post("/api/v1/issues", json=body, **world.roles["grid_worker"])
    assert gw.json()["reporter_role"] == "grid_worker"


def test_inspector_reinspects_only_in_the_team_area(world):
    """ST01's supervision area is SA01; an issue outside it is 403 for its inspector."""
    c = world.client
    admin = {"headers": AuthClient.as_user("admin", "admin")}
    st01 = {"headers": AuthClient.as_user("inspector", "insp-st01", unit="ST01")}
    free = {"headers": AuthClient.as_user("inspector", "insp-free")}
    from support.mapdata import PNG

    results = {}
    for name, at in (("X", world.px), ("Y", world.py)):
        d = world.report(at)
        tr = f"/api/v1/issues/{d['id']}/transitions"
        r = c.post(
            tr, data={"action": "submit"}, files=[("photos", ("f.png", PNG, "image/png"))], **admin
        )
        assert r.status_code == 200, r.text
        sa = {a["code"] for a in (r.json()["routing"] or {}).get("supervision_areas", [])}
        r = c.post(tr, json={"action": "reinspect", "passed": True}, **st01)
        results[name] = (r.status_code, sa)
        if r.status_code == 403:  # an inspector without a team may re-inspect anywhere
            ok = c.post(tr, json={"action": "reinspect", "passed": True}, **free)
            assert ok.status_code == 200
    in_sa01 = {k for k, (_, sa) in results.items() if "SA01" in sa}
    for k, (status, _) in results.items():
        assert status == (200 if k in in_sa01 else 403), (k, results)
    assert any(s == 403 for s, _ in results.values())


def test_area_checks_for_scores_and_lists(world):
    """A leader's areas are their assignments valid today; a unit handler's, its unit."""
    import pytest

    from civgrid.grids.accounts.permissions import Scope
    from civgrid.grids.core.actors import Actor
    from civgrid.grids.core.errors import NotFoundError

    with world.store.session() as s:
        leader = Scope.for_actor(s, Actor("l10", "citizen", account_role="leader", leader="L10"))
        unit = Scope.for_actor(s, Actor("u", "unit", "D04", account_role="unit_handler"))
        admin = Scope.for_actor(s, Actor("a", "command_center", account_role="admin"))
    leader.check_area("community", "411327001001")
    with pytest.raises(NotFoundError):
        leader.check_area("community", "411327002001")
    assert leader.filter_codes("township", ["411327001000", "411327002000"]) == ["411327001000"]
    assert unit.filter_codes("unit", ["D04", "D05"]) == ["D04"]
    with pytest.raises(NotFoundError):
        unit.check_area("unit", "D05")
    assert admin.filter_codes("community", ["a", "b"]) == ["a", "b"]


def test_boundary_layer_counts_follow_the_scope(world):
    """The community layer's issue counts: all issues for the admin, only its own for a unit.

    Y (another unit's issue in 411327002001) counts for the admin and not for X's owner unit.
    """
    c = world.client

    def totals(**opts) -> dict[str, int]:
        fc = c.get("/api/v1/layers/community.geojson", **opts).json()
        return {f["id"]: f["properties"]["total"] for f in fc["features"]}

    def n_issues(community: str, **opts) -> int:
        r = c.get("/api/v1/issues", params={"area": community, "limit": 1000}, **opts)
        assert r.status_code == 200, r.text
        return r.json()["total"]

    admin = totals(**world.roles["admin"])
    unit = totals(**world.roles["unit_handler"])
    assert admin[OTHER] >= 1 and unit.get(OTHER, 0) == 0
    # each count equals what the same caller can list through the issue API
    for community in (X_COMMUNITY, OTHER):
        assert admin[community] == n_issues(community, **world.roles["admin"])
        assert unit.get(community, 0) == n_issues(community, **world.roles["unit_handler"])
    assert unit[X_COMMUNITY] >= 1


def test_team_area_prefers_the_patrol_teams_table(world):
    """ST01 patrols SA01 (teams.csv and its supervision assignment); moving the team moves it."""
    from sqlalchemy import select

    from civgrid.grids.accounts.permissions import team_area
    from civgrid.grids.patrol.models import PatrolTeam

    day = date(2026, 12, 1)
    with world.store.session() as s:
        assert team_area(s, "ST01", day) == {"SA01"}
        team = s.scalar(select(PatrolTeam).where(PatrolTeam.key == "ST01"))
        team.area_codes = ["SA02", "SA03"]
        s.flush()
        assert team_area(s, "ST01", day) == {"SA02", "SA03"}
        s.delete(team)
        s.flush()
        assert team_area(s, "ST01", day) == {"SA01"}  # the supervision assignment
        assert team_area(s, "NOPE", day) is None  # no area: the whole county
        s.rollback()


def test_a_leader_records_their_own_visits_only(world):
    """现场办公 / 看 are recorded by the leader (own record only) or by the command center."""
    c = world.client
    l10 = {"headers": AuthClient.as_user("leader", "l10", leader="L10")}
    body = {
        "kind": "office_hours",
        "day": "2026-12-02",
        "area_code": "411327001001",
        "note": "现场办公",
        "findings": "垃圾清运不及时",
    }
    r = c.post("/api/v1/leaders/L10/visits", json=body, **l10)
    assert r.status_code == 201, r.text
    assert r.json()["leader_key"] == "L10" and r.json()["kind"] == "office_hours"
    # another leader's record: as if it did not exist
    assert c.post("/api/v1/leaders/L13/visits", json=body, **l10).status_code == 404
    # the leader still cannot write other patrol data
    assert c.post("/api/v1/patrol/plans", params={"month": "2026-12"}, **l10).status_code == 403
    got = c.get("/api/v1/leaders/L10/visits", params={"month": "2026-12"}, **l10).json()
    assert [v["day"] for v in got["visits"]] == ["2026-12-02"]
    assert got["cadence"]["office_hours_first_ten_days"] is True
    log = c.get("/api/v1/audit", params={"action": "leader_visit."}).json()["items"]
    assert log[0]["who"] == "l10" and log[0]["role"] == "leader"


def test_exports_hold_only_what_the_caller_may_read(world):
    """The 问题清单 (CSV and GeoJSON) and the three-list workbook follow the scope."""
    import csv
    import io

    from openpyxl import load_workbook

    c = world.client
    X, Y = world.X["id"], world.Y["id"]

    def csv_ids(**opts) -> set[int]:
        r = c.get("/api/v1/lists/issue_list.csv", **opts)
        assert r.status_code == 200, r.text
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        col = next(i for i, h in enumerate(rows[0]) if h in ("id", "编号", "问题编号"))
        return {int(row[col]) for row in rows[1:] if row and row[col].isdigit()}

    admin = csv_ids(**world.roles["admin"])
    unit = csv_ids(**world.roles["unit_handler"])
    leader = csv_ids(**world.roles["leader"])
    assert {X, Y} <= admin
    assert X in unit and Y not in unit and unit < admin
    assert X in leader and Y not in leader
    fc = c.get("/api/v1/lists/issue_list.geojson", **world.roles["unit_handler"]).json()
    assert {f["id"] for f in fc["features"]} == unit
    wb = load_workbook(
        io.BytesIO(c.get("/api/v1/lists.xlsx", **world.roles["unit_handler"]).content)
    )
    ws = wb["问题清单"]
    rows = list(ws.iter_rows(values_only=True))
    col = rows[0].index("问题编号")
    assert {r[col] for r in rows[1:]} == unit


def test_team_polygon_extends_the_reinspection_area(world):
    """A team's own polygon (teams.csv ``area_wkt``) counts with its area codes."""
    import shapely
    from sqlalchemy import select

    from civgrid.grids.accounts.permissions import team_covers_issue
    from civgrid.grids.issues.models import Issue
    from civgrid.grids.patrol.models import PatrolTeam

    day = date(2026, 12, 1)
    with world.store.session() as s:
        x = s.get(Issue, world.X["id"])
        y = s.get(Issue, world.Y["id"])
        sa = lambda i: {p.code for p in i.places if p.layer == "supervision_area"}  # noqa: E731
        team = s.scalar(select(PatrolTeam).where(PatrolTeam.key == "ST01"))
        team.area_codes = sorted(sa(x)) or ["SA-none"]
        team.area_geojson = None
        s.flush()
        assert team_covers_issue(s, "ST01", x, day) is bool(sa(x))
        assert team_covers_issue(s, "ST01", y, day) is bool(sa(y) & sa(x))
        # a small square around Y's point: Y is now in the team's area, X stays as it was
        team.area_geojson = shapely.geometry.mapping(shapely.Point(y.lon, y.lat).buffer(0.001))
        s.flush()
        assert team_covers_issue(s, "ST01", y, day) is True
        assert team_covers_issue(s, "ST01", x, day) is bool(sa(x))
        # no codes in the table: the polygon and the team's supervision assignment (SA01)
        team.area_codes = []
        s.flush()
        assert team_covers_issue(s, "ST01", y, day) is True
        assert team_covers_issue(s, "ST01", x, day) is ("SA01" in sa(x))
        s.rollback()


def test_a_leaders_scores_follow_the_assignment_of_the_period(world):
    """L36 contracts 411327001002 in October 2026 only: October's score is theirs to read,
    November's is not (404, and absent from lists and the dashboard)."""
    from civgrid.grids.boundaries.models import Assignment, Leader

    code = "411327001002"
    with world.store.session() as s:
        l36 = s.query(Leader).filter_by(key="L36").one()
        s.add(
            Assignment(
                role="contract",
                subject_kind="leader",
                leader_id=l36.id,
                object_layer="community",
                object_code=code,
                valid_from=date(2026, 10, 1),
                valid_to=date(2026, 11, 1),
            )
        )
    c = world.client
    l36 = {"headers": AuthClient.as_user("leader", "l36", leader="L36")}

    def listed(period: str) -> set[str]:
        r = c.get("/api/v1/scores", params={"level": "community", "period": period}, **l36)
        assert r.status_code == 200, r.text
        return {row["code"] for row in r.json()["scores"]}

    def dashboard(period: str) -> set[str]:
        r = c.get("/api/v1/leaders/L36/dashboard", params={"period": period}, **l36)
        assert r.status_code == 200, r.text
        return {row["code"] for row in r.json()["rows"] if row["level"] == "community"}

    one = f"/api/v1/scores/community/{code}"
    assert c.get(one, params={"period": "2026-10"}, **l36).status_code == 200
    assert c.get(one, params={"period": "2026-11"}, **l36).status_code == 404
    assert code in listed("2026-10") and code not in listed("2026-11")
    assert code in dashboard("2026-10") and code not in dashboard("2026-11")
    # the command center reads both months
    admin = world.roles["admin"]
    assert c.get(one, params={"period": "2026-11"}, **admin).status_code == 200


def test_responsibility_list_counts_only_the_callers_issues(world):
    """The 责任清单 rows are the published assignments; its open-issue counts follow scope."""
    import csv
    import io

    c = world.client
    y_unit = world.Y["owner_unit"]["key"]

    def counts(**opts) -> dict[str, int]:
        r = c.get("/api/v1/lists/responsibility_list.csv", **opts)
        assert r.status_code == 200, r.text
        rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
        out: dict[str, int] = {}
        for row in rows:
            key = row["主体编号"]
            out[key] = max(out.get(key, 0), int(row["在办问题数"] or 0))
        return out

    admin = counts(**world.roles["admin"])
    unit = counts(**world.roles["unit_handler"])
    assert set(admin) == set(unit)  # the same assignments
    assert admin[y_unit] >= 1 and unit[y_unit] == 0
    assert admin["L13"] >= 1 and counts(**world.roles["leader"])["L13"] == 0
