"""The account tests' world: one demo-county app with real logins.

:func:`build_world` returns a started :class:`authclient.AuthClient` on a private copy of the
demo county (SQLite) and the objects the tests aim at:

* ``X`` — an issue in compound 411327001001003 (community 411327001001, contracted
  by leader L10; township 411327001000 contacted by L10, L11, L12);
* ``Y`` — an issue in community 411327002001 (leader L13), another owner unit;
* ``G`` — an issue reported by the grid worker account;
* a photo and a 督办 notice on each of X, Y and G.

``roles`` maps each account role to the request options that log in as it
(``public`` sends no token). :func:`seed_patrol_scoring` adds (once, cached on the
world) the patrol and scoring objects: a stored plan, a GPS track, a leader visit,
a published bulletin and accountability cases on each side of the scopes.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from support.authclient import AuthClient

ROOT = Path(__file__).resolve().parents[2]

COMPOUND = "411327001001003"
OTHER_COMMUNITY = "411327002001"

ROLES = (
    "admin",
    "dispatcher",
    "inspector",
    "unit_handler",
    "grid_worker",
    "leader",
    "viewer",
    "public",
)
SCOPED = ("unit_handler", "leader", "grid_worker")


def role_options(owner_unit: str) -> dict[str, dict]:
    """Request options per account role (headers selecting the account, or anonymous)."""
    h = AuthClient.as_user
    return {
        "admin": {"headers": h("admin", "admin")},
        "dispatcher": {"headers": h("dispatcher", "disp")},
        "inspector": {"headers": h("inspector", "insp")},
        "unit_handler": {"headers": h("unit_handler", "uh", unit=owner_unit)},
        "grid_worker": {"headers": h("grid_worker", "gw")},
        "leader": {"headers": h("leader", "ld10", leader="L10")},
        "viewer": {"headers": h("viewer", "vw")},
        "public": {"anonymous": True},
    }


def build_world(
    template: Path | None, tmp: Path, *, store: Any = None, **settings
) -> SimpleNamespace:
    """A started client on a copy of the demo county, with X, Y, G, photos, notices.

    ``template`` is the demo county's SQLite file (copied); or pass ``store``, a private
    demo-county store on either backend (``demo_stores.demo_store_copy``), used in place.
    """
    from civgrid.api.app import create_app
    from civgrid.api.settings import Settings
    from civgrid.grids.issues.config import IssueConfig
    from support.issue_helpers import point_in
    from support.mapdata import PNG

    if store is not None:
        url = store.engine.url.render_as_string(hide_password=False)
        settings = {"build_index_on_startup": False, **settings}
    else:
        db = tmp / "auth.sqlite"
        shutil.copyfile(template, db)
        url = f"sqlite:///{db}"
    settings = {"login_rate": "1000/60", "intake_rate": "1000/60", **settings}
    app = create_app(Settings(database_url=url, var_dir=tmp / "var", **settings))
    # no duplicate merging: the tests report many issues at the same few points
    app.state.issue_config = IssueConfig(photo_dir=tmp / "photos", duplicate_radius_m=0)
    client = AuthClient(app)
    client.__enter__()
    if store is not None:
        app.state.store.snap_index = store.snap_index
    store = app.state.store
    px = point_in(store, COMPOUND)
    py = point_in(store, OTHER_COMMUNITY, layer="community")
    w = SimpleNamespace(client=client, app=app, store=store, px=px, py=py)

    def report(at, role_headers=None, category="dumping", photo=False, **kw):
        data = {"category": category, "source": "field_supervision", "lon": at[0], "lat": at[1]}
        opts = dict(role_headers or {"headers": client.as_user("admin", "admin")})
        if photo:
            r = client.post(
                "/api/v1/issues", data=data, files=[("photos", ("p.png", PNG, "image/png"))], **opts
            )
        else:
            r = client.post("/api/v1/issues", json={**data, **kw}, **opts)
        assert r.status_code == 201, r.text
        return r.json()

    w.report = report
    w.X = report(px, photo=True)
    w.Y = report(py, photo=True)
    assert w.X["owner_unit"]["key"] != w.Y["owner_unit"]["key"]
    assert w.X["community"]["code"] == "411327001001"
    assert w.Y["community"]["code"] == OTHER_COMMUNITY
    w.roles = role_options(w.X["owner_unit"]["key"])
    w.G = report(px, w.roles["grid_worker"], category="illegal_flyers", photo=True)
    w.notices = {k: _notice(store, getattr(w, k)["id"]) for k in ("X", "Y", "G")}
    return w


def _notice(store, issue_id: int) -> int:
    from civgrid.grids.issues.models import SupervisionNotice

    now = datetime.now(UTC)
    with store.session() as s:
        n = SupervisionNotice(
            number=f"测督〔2025〕第{issue_id:03d}号",
            year=2025,
            seq=issue_id,
            issue_id=issue_id,
            reason="overdue",
            issued_at=now,
            deadline=now + timedelta(days=2),
            issued_by="test",
        )
        s.add(n)
        s.flush()
        return n.id


# --------------------------------------------------------------------------- patrol, scoring

#: The scoring clock of a seeded world: 5 January 2027, 10:00 Beijing (2026 has ended).
SCORE_NOW = datetime(2027, 1, 5, 2, 0, tzinfo=UTC)
PLAN_MONTH = "2026-12"  # the stored patrol plan (the GPX tracks are dated 3 December 2026)
BULLETIN_MONTH = "2026-11"  # the published bulletin
CASE_PERIOD = "2026-11"
FUTURE_VERSION = "2027-02-01"  # a new rules version dated after the scoring clock's today


def seed_patrol_scoring(w: SimpleNamespace) -> SimpleNamespace:
    """The patrol and scoring objects of world ``w`` (made on first call, then cached).

    Fixes the scoring clock at :data:`SCORE_NOW`, then, through the API as admin:
    the plan of :data:`PLAN_MONTH` (``plan``, ``visits`` with ids), a GPS track of
    team ST01 along road RS001 (``gpx``, kept as the upload body), a leader visit of
    L10, the bulletin of :data:`BULLETIN_MONTH` (``bulletin``), an evaluation of the
    triggers of :data:`CASE_PERIOD`; and directly in the store the accountability
    cases ``cases[name]`` (ids) for X's community (leader L10), Y's community (L13),
    X's owner unit and Y's owner unit (department level, no leader).
    ``rules_yaml`` is the shipped Quzhou profile with a version from
    :data:`FUTURE_VERSION` (accepted again and again: no version in force changes).
    """
    if getattr(w, "ps", None) is not None:
        return w.ps
    from civgrid.grids.scoring.rules import shipped_profile_paths
    from support.patrol_helpers import densify, gpx

    client = w.client
    w.app.state.score_clock = lambda: SCORE_NOW

    def ok(r, status=200):
        assert r.status_code == status, r.text
        return r.json()

    ok(client.post("/api/v1/patrol/plans", params={"month": PLAN_MONTH}))
    plan = ok(client.get(f"/api/v1/patrol/plans/{PLAN_MONTH}"))
    visits = plan["visits"]
    assert visits, "the demo county's plan has no visits"
    x_comm, y_comm = w.X["community"]["code"], w.Y["community"]["code"]

    early = sorted((v for v in visits if v["day"] <= "2026-12-04"), key=lambda v: v["day"])
    assert len(early) >= 2, "the plan has no visits in its first days"

    def visit_in(community: str) -> dict:
        """A visit already due (outcomes of future visits are refused), in ``community``
        if one is due there."""
        return next((v for v in early if v["community_code"] == community), early[0])

    road = next(r.geom for r in w.store.road_sections() if r.code == "RS001")
    track = gpx(densify(road))
    ok(
        client.post(
            "/api/v1/patrol/tracks",
            files={"file": ("day.gpx", track, "application/gpx+xml")},
            data={"team": "ST01"},
        )
    )
    leader_visit = {
        "kind": "office_hours",
        "day": "2026-12-02",
        "area_code": x_comm,
        "note": "矩阵",
    }
    ok(client.post("/api/v1/leaders/L10/visits", json=leader_visit), 201)
    bulletin = ok(client.post("/api/v1/bulletins", json={"period": BULLETIN_MONTH}), 201)
    evaluated = ok(client.post("/api/v1/accountability/cases", json={"period": CASE_PERIOD}))

    quzhou = next(p for p in shipped_profile_paths() if p.stem == "quzhou").read_text("utf-8")
    rules_yaml = quzhou.rstrip("\n") + f"\n  - effective_from: {FUTURE_VERSION}\n    base: 90\n"

    x_unit, y_unit = w.X["owner_unit"], w.Y["owner_unit"]
    cases = {
        "X": _case(w.store, "community", x_comm, w.X["community"]["name"], "L10", w.X["id"]),
        "Y": _case(w.store, "community", y_comm, w.Y["community"]["name"], "L13", w.Y["id"]),
        "X_unit": _case(w.store, "department", x_unit["key"], x_unit["name"], None, w.X["id"]),
        "Y_unit": _case(w.store, "department", y_unit["key"], y_unit["name"], None, w.Y["id"]),
    }
    w.ps = SimpleNamespace(
        plan_month=PLAN_MONTH,
        visits=visits,
        visit_x=visit_in(x_comm),
        visit_y=visit_in(y_comm) if visit_in(y_comm) != visit_in(x_comm) else early[1],
        route=(visits[0]["team_key"], visits[0]["day"]),
        gpx=track,
        leader_visit=leader_visit,
        bulletin=bulletin,
        evaluated=evaluated,
        rules_yaml=rules_yaml,
        cases=cases,
        teams_csv=(ROOT / "data" / "boundaries" / "demo" / "teams.csv").read_bytes(),
    )
    return w.ps


def _case(store, level: str, code: str, name: str, leader: str | None, issue_id: int) -> int:
    """An open accountability case (rule ``matrix``) for ``level``/``code``; its id."""
    from civgrid.grids.scoring.models import AccountabilityCase, CaseEvent

    with store.session() as s:
        c = AccountabilityCase(
            profile="sheqi",
            rule_id="matrix",
            rule_label="矩阵测试",
            action="interview",
            level=level,
            unit_code=code,
            unit_name=name,
            leader_key=leader,
            period=CASE_PERIOD,
            facts=["矩阵测试"],
            issue_ids=[issue_id],
            status="open",
            opened_at=SCORE_NOW,
        )
        c.events.append(
            CaseEvent(at=SCORE_NOW, action="opened", actor_who="test", actor_role="system")
        )
        s.add(c)
        s.flush()
        return c.id
