"""The permission matrix: every route × every role (and an out-of-scope object).

:data:`MATRIX` has one entry per (method, path) of the app. Each entry builds a
valid request per role and says what each role gets: a status code, or ``OK`` /
``PASS`` (let through: anything but 401/403(/404) and never a 5xx). For object
routes the same request is repeated on an object outside the caller's scope
(``out``); the scoped roles (unit handler, leader, grid worker) must then get 404
— a guessed id looks like a missing one — unless a router-wide permission
refuses them first (``perm_first``: 403).

The patrol and scoring routes aim at objects seeded by
:func:`authworld.seed_patrol_scoring` (a plan, a track, a bulletin, cases on both
sides of the scopes); lists are filtered rather than refused
(:func:`test_score_lists_are_filtered_by_scope`).

A route without an entry fails :func:`test_every_route_has_an_entry`, naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from support.authclient import TEST_PASSWORD, AuthClient
from support.authworld import (
    BULLETIN_MONTH,
    CASE_PERIOD,
    PLAN_MONTH,
    ROLES,
    SCOPED,
    build_world,
    seed_patrol_scoring,
)
from support.demo_stores import BACKENDS, demo_store_copy

pytestmark = pytest.mark.slow  # long: scheduled first (tests/conftest.py)


@pytest.fixture(scope="module", params=BACKENDS)
def store(request, tmp_path_factory):
    """The demo county on SQLite or PostGIS (one private copy per backend for the module)."""
    yield from demo_store_copy(request.param, request, tmp_path_factory.mktemp("store"))


@pytest.fixture(scope="module")
def world(store, tmp_path_factory):
    """The matrix's demo county app on ``store`` (overrides the SQLite-only ``world``)."""
    w = build_world(None, tmp_path_factory.mktemp("auth"), store=store)
    yield w
    w.client.__exit__(None, None, None)


OK = "ok"  # passed the permission layer: not 401, 403 or 404
PASS = "pass"  # not 401 or 403 (a 404 for a demo object that does not exist is fine)
STAFF = ("admin", "dispatcher", "inspector", "unit_handler", "grid_worker", "leader", "viewer")
CC = ("admin", "dispatcher")


def allow(roles, status: Any = 200, deny: int = 403, public: int = 401) -> dict[str, Any]:
    """``roles`` get ``status``; other staff ``deny``; the public ``public``."""
    out = {r: (status if r in roles else deny) for r in STAFF}
    out["public"] = status if "public" in roles else public
    return out


def same(status: Any) -> dict[str, Any]:
    return dict.fromkeys(ROLES, status)


#: Roles with ``score.read`` (not the grid worker, not the public).
SCORE_READERS = allow(("admin", "dispatcher", "inspector", "unit_handler", "leader", "viewer"))


@dataclass
class Entry:
    """One route: ``build(w, role, out) -> (url, request kwargs)`` and the expectations."""

    build: Callable[..., tuple[str, dict]]
    expect: dict[str, Any]
    scoped: bool = False  # an object route: also check an out-of-scope object
    xfail_out: str | None = None  # the out-of-scope rule is not wired yet (named in the report)
    out_expect: dict[str, Any] = field(default_factory=dict)
    perm_first: bool = False  # a router-wide permission runs before the object check


# --------------------------------------------------------------------------- builders


def issue_of(w, role: str, out: bool) -> dict:
    """The in-scope issue of ``role`` (the grid worker's own report), or Y."""
    if out:
        return w.Y
    return w.G if role == "grid_worker" else w.X


def fresh(w, role: str, out: bool, *, anonymous_report: bool = False) -> dict:
    """A new issue in the role's scope (at X's place; the grid worker's own), or at Y's."""
    at = w.py if out else w.px
    if anonymous_report:
        return w.report(at, {"anonymous": True}, source="citizen_complaint")
    by = w.roles["grid_worker"] if role == "grid_worker" and not out else None
    return w.report(at, by)


def get(path: str) -> Callable[..., tuple[str, dict]]:
    return lambda w, role, out: (path, {})


def issue_get(fmt: str) -> Callable[..., tuple[str, dict]]:
    return lambda w, role, out: (fmt.format(id=issue_of(w, role, out)["id"]), {})


def _transition(w, role, out):
    d = fresh(w, role, out)
    return f"/api/v1/issues/{d['id']}/transitions", {"json": {"action": "accept"}}


def _dispatch(w, role, out):
    d = fresh(w, role, out, anonymous_report=role != "grid_worker" or out)
    return f"/api/v1/issues/{d['id']}/dispatch", {"json": {}}


def _reassign(w, role, out):
    d = fresh(w, role, out)
    other = (w.X if out else w.Y)["owner_unit"]["key"]  # not the owner: a no-op is refused
    return f"/api/v1/issues/{d['id']}/reassign", {"json": {"unit": other, "note": "矩阵测试"}}


def _bulk_reassign(w, role, out):
    d = fresh(w, role, out)
    other = (w.X if out else w.Y)["owner_unit"]["key"]
    body = {"issue_ids": [d["id"]], "unit": other, "note": "矩阵测试"}
    return "/api/v1/issues/bulk-reassign", {"json": body}


def _extension(w, role, out):
    d = fresh(w, role, out)
    return f"/api/v1/issues/{d['id']}/extensions", {"json": {"reason": "需要", "working_days": 3}}


def _decision(w, role, out):
    d = fresh(w, role, out)
    r = w.client.post(
        f"/api/v1/issues/{d['id']}/extensions", json={"reason": "需要", "working_days": 3}
    )
    assert r.status_code == 201, r.text
    return f"/api/v1/issues/{d['id']}/extensions/{r.json()['id']}/decision", {
        "json": {"approve": True}
    }


def _note(w, role, out):
    d = fresh(w, role, out)
    return f"/api/v1/issues/{d['id']}/notes", {"json": {"note": "矩阵测试"}}


def _transfer_ask(w, role, out):
    d = fresh(w, role, out)
    return f"/api/v1/issues/{d['id']}/transfer-requests", {"json": {"reason": "矩阵测试"}}


def owner_handler(w, issue: dict) -> dict:
    """Request options logging in as a unit handler of ``issue``'s owner unit."""
    key = issue["owner_unit"]["key"]
    return {"headers": w.client.as_user("unit_handler", f"uh-{key}", unit=key)}


def ask_transfer(w, issue: dict) -> int:
    """A pending transfer request of the issue's owner unit on it (its id)."""
    r = w.client.post(
        f"/api/v1/issues/{issue['id']}/transfer-requests",
        json={"reason": "矩阵测试"},
        **owner_handler(w, issue),
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _transfer_get(w, role, out):
    issue = issue_of(w, role, out)
    cache = w.__dict__.setdefault("transfer_of", {})
    if issue["id"] not in cache:
        cache[issue["id"]] = ask_transfer(w, issue)
    return f"/api/v1/transfer-requests/{cache[issue['id']]}", {}


def _transfer_decision(w, role, out):
    d = fresh(w, role, out)
    rid = ask_transfer(w, d)
    return f"/api/v1/transfer-requests/{rid}/decision", {
        "json": {"decision": "refuse", "note": "矩阵测试"}
    }


def _inbox(w, role, out):
    key = (w.Y if out else w.X)["owner_unit"]["key"]
    return f"/api/v1/units/{key}/inbox", {}


def _notice(w, role, out):
    key = "Y" if out else ("G" if role == "grid_worker" else "X")
    return f"/api/v1/notices/{w.notices[key]}", {}


def _photo(w, role, out):
    return f"/api/v1/photos/{issue_of(w, role, out)['photos'][0]['id']}", {}


def _o311_post(w, role, out):
    lon, lat = w.px
    data = {"service_code": "dumping", "lat": str(lat), "long": str(lon), "description": "矩阵"}
    return "/open311/v2/requests.json", {"data": data}


def _o311_token(w, role, out):
    if not hasattr(w, "o311_token"):
        lon, lat = w.px
        r = w.client.post(
            "/open311/v2/requests.json",
            anonymous=True,
            data={"service_code": "dumping", "lat": str(lat), "long": str(lon)},
        )
        w.o311_token = r.json()[0]["token"]
    return f"/open311/v2/tokens/{w.o311_token}.json", {}


def _leader_page(w, role, out):
    return f"/leaders/{'L13' if out else 'L10'}", {}


def _issue_body(w, role, out):
    lon, lat = w.px
    return "/api/v1/issues", {
        "json": {"category": "dumping", "source": "grid_worker", "lon": lon, "lat": lat}
    }


def _token(w, role, out):
    name = _username(w, role)
    pw = TEST_PASSWORD if name else "wrong-Passw0rd"
    return "/api/v1/auth/token", {"data": {"username": name or "nobody", "password": pw}}


def _username(w, role: str) -> str | None:
    if role == "public":
        return None
    h = w.roles[role]["headers"]
    return h["X-Actor"]


def _refresh(w, role, out):
    from civgrid.api.security import issue_token

    name = _username(w, role)
    if name is None:
        return "/api/v1/auth/refresh", {"json": {"refresh_token": "not-a-token"}}
    w.client.get("/api/v1/auth/me", **w.roles[role])  # make sure the account exists
    tok, _ = issue_token(w.app.state.settings, name, 1, "refresh")
    return "/api/v1/auth/refresh", {"json": {"refresh_token": tok}}


# The caller's right old password with a new one the policy refuses (too short): a role
# allowed to change its password gets past the permission layer and the old-password check
# to the policy (422), the public gets 401, and no password (nor token) actually changes.
WEAK = "x"


def _password(w, role, out):
    return "/api/v1/auth/password", {"json": {"old_password": TEST_PASSWORD, "new_password": WEAK}}


def _password_form(w, role, out):
    form = {"old_password": TEST_PASSWORD, "new_password": WEAK, "confirm": WEAK, "next": "/"}
    return "/password", {"data": form}


_counter = [0]


def _new_user(w, role, out):
    _counter[0] += 1
    return "/api/v1/users", {"json": {"username": f"m{_counter[0]}", "role": "viewer"}}


def _target(action: str):
    def build(w, role, out):
        if not hasattr(w, "target_user"):
            r = w.client.post("/api/v1/users", json={"username": "target", "role": "viewer"})
            assert r.status_code == 201, r.text
            w.target_user = "target"
        return f"/api/v1/users/target/{action}", {}

    return build


def _login_form(w, role, out):
    name = _username(w, role)
    if name:
        w.client.get("/api/v1/auth/me", **w.roles[role])
    data = {"username": name or "nobody", "password": TEST_PASSWORD, "next": "/"}
    return "/login", {"data": data}


def _any(path: str, **kw: Any):
    return lambda w, role, out: (path, dict(kw))


# --------------------------------------------------------------------------- expectations

READ = allow(STAFF)  # every account reads; the public must log in
PAGE = allow(STAFF, public=303)  # HTML pages send the public to /login
UNIT_INBOX = {
    **allow(("admin", "dispatcher", "inspector", "unit_handler", "viewer")),
    "leader": 404,
    "grid_worker": 404,
}
LEADER_PAGE = {
    **allow(("admin", "dispatcher", "inspector", "leader", "viewer"), public=303),
    "unit_handler": 404,
    "grid_worker": 404,
}

MATRIX: dict[tuple[str, str], Entry] = {
    # health, home
    ("GET", "/healthz"): Entry(get("/healthz"), same(200)),
    ("GET", "/"): Entry(get("/"), {**PAGE, "viewer": 303}),  # a viewer's home is the map
    ("GET", "/favicon.ico"): Entry(get("/favicon.ico"), same(200)),
    # issues
    ("POST", "/api/v1/issues"): Entry(
        _issue_body,
        allow(("admin", "dispatcher", "inspector", "unit_handler", "grid_worker", "public"), 201),
    ),
    ("GET", "/api/v1/issues"): Entry(get("/api/v1/issues"), READ),
    ("GET", "/api/v1/issues.geojson"): Entry(get("/api/v1/issues.geojson"), READ),
    ("GET", "/api/v1/issues/{issue_id}"): Entry(
        issue_get("/api/v1/issues/{id}"), READ, scoped=True
    ),
    ("POST", "/api/v1/issues/{issue_id}/transitions"): Entry(
        _transition, allow(("admin", "dispatcher", "unit_handler"), 200), scoped=True
    ),
    ("POST", "/api/v1/issues/{issue_id}/dispatch"): Entry(_dispatch, allow(CC), scoped=True),
    ("POST", "/api/v1/issues/{issue_id}/reassign"): Entry(_reassign, allow(CC), scoped=True),
    ("GET", "/api/v1/issues/{issue_id}/dispatch-options"): Entry(
        issue_get("/api/v1/issues/{id}/dispatch-options"), allow(CC), scoped=True, perm_first=True
    ),
    ("POST", "/api/v1/issues/bulk-reassign"): Entry(_bulk_reassign, allow(CC)),
    ("POST", "/api/v1/issue-batches/{batch}/undo"): Entry(
        get("/api/v1/issue-batches/0123abcd/undo"), allow(CC, 404)
    ),
    ("POST", "/api/v1/issues/{issue_id}/extensions"): Entry(
        _extension, allow(("admin", "dispatcher", "unit_handler"), 201), scoped=True
    ),
    ("POST", "/api/v1/issues/{issue_id}/extensions/{request_id}/decision"): Entry(
        _decision, allow(CC), scoped=True
    ),
    # progress notes and transfer requests (issue 17): the owner's handler here; the
    # co-responsible unit's rows are test_co_responsible_unit_cooperates_but_does_not_fix
    ("POST", "/api/v1/issues/{issue_id}/notes"): Entry(
        _note, allow(("admin", "dispatcher", "unit_handler"), 201), scoped=True
    ),
    ("POST", "/api/v1/issues/{issue_id}/transfer-requests"): Entry(
        _transfer_ask, allow(("unit_handler",), 201), scoped=True
    ),
    ("GET", "/api/v1/issues/{issue_id}/transfer-requests"): Entry(
        issue_get("/api/v1/issues/{id}/transfer-requests"), READ, scoped=True
    ),
    ("GET", "/api/v1/transfer-requests"): Entry(get("/api/v1/transfer-requests"), READ),
    ("GET", "/api/v1/transfer-requests/{request_id}"): Entry(_transfer_get, READ, scoped=True),
    ("POST", "/api/v1/transfer-requests/{request_id}/decision"): Entry(
        _transfer_decision, allow(CC), scoped=True
    ),
    ("GET", "/api/v1/transfer-counts"): Entry(
        get("/api/v1/transfer-counts"),
        allow(("admin", "dispatcher", "inspector", "unit_handler", "leader", "viewer")),
    ),
    ("GET", "/issues/{issue_id}"): Entry(issue_get("/issues/{id}"), PAGE, scoped=True),
    ("POST", "/api/v1/deadlines/check"): Entry(_any("/api/v1/deadlines/check"), allow(CC)),
    ("GET", "/api/v1/lists.xlsx"): Entry(get("/api/v1/lists.xlsx"), READ),
    ("GET", "/api/v1/lists/{name}.{fmt}"): Entry(get("/api/v1/lists/issue_list.csv"), READ),
    ("GET", "/api/v1/units/{unit_key}/inbox"): Entry(_inbox, UNIT_INBOX, scoped=True),
    ("GET", "/api/v1/notices/{notice_id}"): Entry(_notice, READ, scoped=True),
    ("GET", "/api/v1/photos/{photo_id}"): Entry(_photo, READ, scoped=True),
    # Open311: public by design (the public projection); a logged-in reader is scoped
    ("GET", "/open311/v2/services.{fmt}"): Entry(get("/open311/v2/services.json"), same(200)),
    ("GET", "/open311/v2/requests.{fmt}"): Entry(get("/open311/v2/requests.json"), same(200)),
    ("GET", "/open311/v2/requests/{request_id}.{fmt}"): Entry(
        issue_get("/open311/v2/requests/{id}.json"),
        same(200),
        scoped=True,
        out_expect={"public": 200},
    ),
    ("POST", "/open311/v2/requests.{fmt}"): Entry(_o311_post, same(201)),
    ("GET", "/open311/v2/tokens/{token}.{fmt}"): Entry(_o311_token, same(200)),
    # map pages and layers
    ("GET", "/map"): Entry(get("/map"), PAGE),
    ("GET", "/map/heat"): Entry(get("/map/heat"), PAGE),
    ("GET", "/leaders/{key}"): Entry(_leader_page, LEADER_PAGE, scoped=True),
    ("GET", "/api/v1/layers"): Entry(get("/api/v1/layers"), READ),
    ("GET", "/api/v1/layers/issues.geojson"): Entry(get("/api/v1/layers/issues.geojson"), READ),
    ("GET", "/api/v1/layers/{layer}.geojson"): Entry(get("/api/v1/layers/community.geojson"), READ),
    ("GET", "/api/v1/hexbins"): Entry(get("/api/v1/hexbins"), READ),
    ("GET", "/api/v1/heat/points"): Entry(get("/api/v1/heat/points"), READ),
    # the responsibility gap report: county-wide, command center and viewers
    ("GET", "/api/v1/responsibility/gaps"): Entry(
        get("/api/v1/responsibility/gaps"), allow(("admin", "dispatcher", "viewer"))
    ),
    ("GET", "/responsibility/gaps"): Entry(
        get("/responsibility/gaps"), allow(("admin", "dispatcher", "viewer"), public=303)
    ),
    # the red/black list of shops (红黑榜): published, so every score reader
    ("GET", "/api/v1/shops/red-black"): Entry(get("/api/v1/shops/red-black"), SCORE_READERS),
    ("GET", "/api/v1/shops/red-black.xlsx"): Entry(
        get("/api/v1/shops/red-black.xlsx"), SCORE_READERS
    ),
    ("GET", "/shops/red-black"): Entry(get("/shops/red-black"), SCORE_READERS | {"public": 303}),
    # accounts
    ("POST", "/api/v1/auth/token"): Entry(_token, same(200) | {"public": 401}),
    ("POST", "/api/v1/auth/refresh"): Entry(_refresh, same(200) | {"public": 401}),
    ("GET", "/api/v1/auth/me"): Entry(get("/api/v1/auth/me"), READ),
    ("POST", "/api/v1/auth/password"): Entry(_password, allow(STAFF, 422)),
    ("GET", "/api/v1/users"): Entry(get("/api/v1/users"), allow(("admin",))),
    ("POST", "/api/v1/users"): Entry(_new_user, allow(("admin",), 201)),
    ("POST", "/api/v1/users/{username}/disable"): Entry(_target("disable"), allow(("admin",))),
    ("POST", "/api/v1/users/{username}/enable"): Entry(_target("enable"), allow(("admin",))),
    ("POST", "/api/v1/users/{username}/reset-password"): Entry(
        _target("reset-password"), allow(("admin",))
    ),
    ("GET", "/api/v1/audit"): Entry(get("/api/v1/audit"), allow(("admin",))),
    ("GET", "/login"): Entry(get("/login"), same(200)),
    ("GET", "/password"): Entry(get("/password"), PAGE),
    ("POST", "/session/renew"): Entry(_any("/session/renew"), READ),
    ("GET", "/queue"): Entry(get("/queue"), PAGE),
    ("POST", "/password"): Entry(_password_form, allow(STAFF, 422)),
    ("POST", "/login"): Entry(_login_form, same(303) | {"public": 401}),
    ("POST", "/logout"): Entry(_any("/logout"), same(303)),
    # the notification centre: every account its own (tests/notify/test_inbox.py)
    ("GET", "/api/v1/notifications"): Entry(get("/api/v1/notifications"), READ),
    ("POST", "/api/v1/notifications/read"): Entry(
        _any("/api/v1/notifications/read", json={}), READ
    ),
    ("GET", "/api/v1/notifications/outbox"): Entry(get("/api/v1/notifications/outbox"), allow(CC)),
    ("GET", "/notifications"): Entry(get("/notifications"), PAGE),
    ("GET", "/notifications/outbox"): Entry(get("/notifications/outbox"), allow(CC, public=303)),
    ("POST", "/notifications/read"): Entry(_any("/notifications/read"), allow(STAFF, 303)),
}

# patrol (issue 8) and scoring (issue 9): a router-wide read/write permission by HTTP
# method (api/app.py) runs first, then the object scope inside the routes. Every request
# is valid and aims at a seeded object (authworld.seed_patrol_scoring), so an allowed
# role must get the exact 2xx.


def seeded(w) -> SimpleNamespace:
    return seed_patrol_scoring(w)


def _ps(fn: Callable[..., tuple[str, dict]]) -> Callable[..., tuple[str, dict]]:
    """A builder that seeds the patrol/scoring objects before building."""

    def build(w, role, out):
        seeded(w)
        return fn(w, role, out)

    return build


def ps_get(path: str, **params: Any) -> Callable[..., tuple[str, dict]]:
    return _ps(lambda w, role, out: (path, {"params": dict(params)} if params else {}))


_month_seq = iter(range(1, 1000))


def _next_month(year: int) -> str:
    n = next(_month_seq)
    return f"{year + (n - 1) // 12}-{(n - 1) % 12 + 1:02d}"


def _plan_post(w, role, out):
    # a new month per call: a stored plan is not replaced silently (409)
    return "/api/v1/patrol/plans", {"params": {"month": _next_month(2030)}, "json": {}}


def _teams_post(w, role, out):
    # the demo county's own table, committed: an upsert that changes nothing
    csv = seeded(w).teams_csv
    return "/api/v1/patrol/teams", {
        "params": {"commit": "true"},
        "files": {"file": ("teams.csv", csv, "text/csv")},
    }


def _plan_get(w, role, out):
    return f"/api/v1/patrol/plans/{seeded(w).plan_month}", {}


def _visit_outcome(w, role, out):
    ps = seeded(w)
    visit = ps.visit_y if out else ps.visit_x
    body = {"status": "done"}  # idempotent (linking issues: tests/patrol)
    return f"/api/v1/patrol/visits/{visit['id']}/outcome", {"json": body}


def _route_get(w, role, out):
    team, day = seeded(w).route
    return "/api/v1/patrol/routes", {"params": {"team": team, "date": day}}


def _track_post(w, role, out):
    ps = seeded(w)
    return "/api/v1/patrol/tracks", {
        "files": {"file": ("day.gpx", ps.gpx, "application/gpx+xml")},
        "data": {"team": "ST01", "crs": "wgs84"},
    }


def _leader_key(out: bool) -> str:
    return "L13" if out else "L10"


def _leader_visit_post(w, role, out):
    return f"/api/v1/leaders/{_leader_key(out)}/visits", {"json": seeded(w).leader_visit}


def _leader_get(fmt: str, **params: Any):
    return _ps(lambda w, role, out: (fmt.format(key=_leader_key(out)), {"params": dict(params)}))


def score_object(w, role: str, out: bool) -> tuple[str, str]:
    """(level, code) of the score ``role`` reads: the unit handler its unit's (X's owner;
    out: Y's owner), everyone else X's community (out: Y's, another leader's)."""
    if role == "unit_handler":
        return "department", (w.Y if out else w.X)["owner_unit"]["key"]
    return "community", (w.Y if out else w.X)["community"]["code"]


def _score(prefix: str):
    def build(w, role, out):
        seeded(w)
        level, code = score_object(w, role, out)
        return f"{prefix}/{level}/{code}", {"params": {"period": BULLETIN_MONTH}}

    return build


def _negative_list(w, role, out):
    seeded(w)
    level, code = score_object(w, role, out)
    return f"/api/v1/units/{code}/negative-list", {
        "params": {"level": level, "period": BULLETIN_MONTH}
    }


def case_of(w, role: str, out: bool) -> int:
    """The case ``role`` reads: its unit's (unit handler) or L10's (out: Y's side)."""
    cases = seeded(w).cases
    if role == "unit_handler":
        return cases["Y_unit" if out else "X_unit"]
    return cases["Y" if out else "X"]


def _case_get(w, role, out):
    return f"/api/v1/accountability/cases/{case_of(w, role, out)}", {}


def _case_action(w, role, out):
    body = {"action": "note", "note": "矩阵测试"}  # a note keeps the case open
    return f"/api/v1/accountability/cases/{case_of(w, role, out)}/actions", {"json": body}


def _cases_evaluate(w, role, out):
    return "/api/v1/accountability/cases", {"json": {"period": CASE_PERIOD}}  # idempotent


def _case_manual(w, role, out):
    """A manual case about Y's owner unit (outside every scope the matrix reads)."""
    body = {
        "case_type": "neglect",
        "level": "department",
        "key": w.Y["owner_unit"]["key"],
        "facts": ["矩阵测试"],
        "evidence": [{"name": "照片.jpg"}],
    }
    return "/api/v1/accountability/cases/manual", {"json": body}


def _pairing_work_post(w, role, out):
    """联建 work of the demo's CU01 (paired with a community) in 2026Q4 (replaced each time)."""
    body = {"unit_key": "CU01", "period": "2026Q4", "points": 1, "note": "矩阵测试"}
    return "/api/v1/pairing-work", {"json": body}


def _adjustment_post(w, role, out):
    body = {
        "period": "2026",
        "level": "department",
        "code": w.Y["owner_unit"]["key"],
        "kind": "leader_instruction",
        "points": 0.5,
        "reason": "矩阵测试",
        "source": "县领导批示",
    }
    return "/api/v1/adjustments", {"json": body}


def _bulletin_post(w, role, out):
    seeded(w)
    return "/api/v1/bulletins", {"json": {"period": _next_month(2024)}}  # ended, unpublished


def _bulletin(fmt: str):
    return _ps(lambda w, role, out: (fmt.format(id=seeded(w).bulletin["id"]), {}))


def _rules_post(w, role, out):
    return "/api/v1/scoring/rules", {
        "content": seeded(w).rules_yaml.encode(),
        "headers": {"Content-Type": "application/yaml"},
        "params": {"file": "quzhou.yaml"},
    }


PATROL_READERS = ("admin", "dispatcher", "inspector", "leader", "viewer")
PATROL_WRITERS = ("admin", "dispatcher", "inspector")
SCORE_READERS = ("admin", "dispatcher", "inspector", "unit_handler", "leader", "viewer")
PATROL_READ = allow(PATROL_READERS)
PATROL_WRITE = allow(PATROL_WRITERS)
SCORE_READ = allow(SCORE_READERS)
SCORE_PAGE = allow(SCORE_READERS, public=303)
# a leader's dashboard: no unit handler reads any leader's (404, check_leader)
LEADER_SCORES = {**SCORE_READ, "unit_handler": 404}
# a draft bulletin ranks every unit: only the roles that read every score
ALL_SCORES = ("admin", "dispatcher", "inspector", "viewer")
DRAFT = allow(ALL_SCORES)
DRAFT_PAGE = allow(ALL_SCORES, public=303)
LEADER_SCORES_PAGE = {**SCORE_PAGE, "unit_handler": 404}


def _entry(build, expect, *, scoped: bool = False) -> Entry:
    return Entry(build, expect, scoped=scoped, perm_first=True)


MATRIX.update(
    {
        # patrol
        ("GET", "/api/v1/patrol/teams"): _entry(ps_get("/api/v1/patrol/teams"), PATROL_READ),
        ("POST", "/api/v1/patrol/teams"): _entry(_ps(_teams_post), PATROL_WRITE),
        ("POST", "/api/v1/patrol/plans"): _entry(_ps(_plan_post), PATROL_WRITE),
        ("GET", "/api/v1/patrol/plans/{month}"): _entry(_ps(_plan_get), PATROL_READ),
        ("POST", "/api/v1/patrol/visits/{visit_id}/outcome"): _entry(
            _ps(_visit_outcome), PATROL_WRITE, scoped=True
        ),
        ("GET", "/api/v1/patrol/routes"): _entry(_ps(_route_get), PATROL_READ),
        ("POST", "/api/v1/patrol/tracks"): _entry(_ps(_track_post), PATROL_WRITE),
        ("GET", "/api/v1/patrol/tracks"): _entry(
            ps_get("/api/v1/patrol/tracks", team="ST01", month=PLAN_MONTH), PATROL_READ
        ),
        ("GET", "/api/v1/patrol/coverage"): _entry(
            ps_get("/api/v1/patrol/coverage", month=PLAN_MONTH), PATROL_READ
        ),
        ("GET", "/api/v1/patrol/map"): _entry(
            ps_get("/api/v1/patrol/map", month=PLAN_MONTH), PATROL_READ
        ),
        ("POST", "/api/v1/leaders/{key}/visits"): _entry(
            _ps(_leader_visit_post), allow((*PATROL_WRITERS, "leader"), 201), scoped=True
        ),
        ("GET", "/api/v1/leaders/{key}/visits"): _entry(
            _leader_get("/api/v1/leaders/{key}/visits", month=PLAN_MONTH), PATROL_READ, scoped=True
        ),
        ("GET", "/patrol"): _entry(
            ps_get("/patrol", month=PLAN_MONTH), allow(PATROL_READERS, public=303)
        ),
        # scoring
        ("GET", "/api/v1/scores"): _entry(
            ps_get("/api/v1/scores", period=BULLETIN_MONTH), SCORE_READ
        ),
        ("GET", "/api/v1/scores/{level}/{code}"): _entry(
            _score("/api/v1/scores"), SCORE_READ, scoped=True
        ),
        ("GET", "/api/v1/indicators"): _entry(
            ps_get("/api/v1/indicators", period=BULLETIN_MONTH), SCORE_READ
        ),
        ("GET", "/api/v1/rankings"): _entry(
            ps_get("/api/v1/rankings", period=BULLETIN_MONTH), SCORE_READ
        ),
        ("GET", "/api/v1/scoring/rules"): _entry(ps_get("/api/v1/scoring/rules"), SCORE_READ),
        ("POST", "/api/v1/scoring/rules"): _entry(_ps(_rules_post), allow(CC)),
        ("GET", "/api/v1/bulletins"): _entry(ps_get("/api/v1/bulletins"), SCORE_READ),
        ("GET", "/api/v1/supervision-report"): _entry(
            ps_get("/api/v1/supervision-report", month=BULLETIN_MONTH, profile="lvliang"), DRAFT
        ),
        ("GET", "/api/v1/bulletins/preview"): _entry(
            ps_get("/api/v1/bulletins/preview", period=BULLETIN_MONTH), DRAFT
        ),
        ("POST", "/api/v1/bulletins"): _entry(_ps(_bulletin_post), allow(CC, 201)),
        ("GET", "/api/v1/bulletins/{bulletin_id}.xlsx"): _entry(
            _bulletin("/api/v1/bulletins/{id}.xlsx"), SCORE_READ
        ),
        ("GET", "/api/v1/bulletins/{bulletin_id}"): _entry(
            _bulletin("/api/v1/bulletins/{id}"), SCORE_READ
        ),
        ("GET", "/api/v1/units/{key}/negative-list"): _entry(
            _negative_list, SCORE_READ, scoped=True
        ),
        ("GET", "/api/v1/accountability/cases"): _entry(
            ps_get("/api/v1/accountability/cases"), SCORE_READ
        ),
        ("POST", "/api/v1/accountability/cases"): _entry(_ps(_cases_evaluate), allow(CC)),
        ("GET", "/api/v1/accountability/case-types"): _entry(
            ps_get("/api/v1/accountability/case-types"), SCORE_READ
        ),
        ("POST", "/api/v1/accountability/cases/manual"): _entry(_ps(_case_manual), allow(CC)),
        ("POST", "/api/v1/accountability/cases/refer-overdue"): _entry(
            ps_get("/api/v1/accountability/cases/refer-overdue"), allow(CC)
        ),
        ("GET", "/api/v1/accountability/cases/{case_id}"): _entry(
            _case_get, SCORE_READ, scoped=True
        ),
        ("POST", "/api/v1/accountability/cases/{case_id}/actions"): _entry(
            _case_action, allow(CC), scoped=True
        ),
        ("GET", "/api/v1/leaders/{key}/dashboard"): _entry(
            _leader_get("/api/v1/leaders/{key}/dashboard", period=BULLETIN_MONTH),
            LEADER_SCORES,
            scoped=True,
        ),
        # subjects (civilized units, key-task, other-task), 联建 work, adjustments, 年总评
        ("GET", "/api/v1/subjects/{subject}"): _entry(
            ps_get("/api/v1/subjects/key_task_units", period="2026Q4"), SCORE_READ
        ),
        ("GET", "/api/v1/annual-result"): _entry(
            ps_get("/api/v1/annual-result", year="2026"), SCORE_READ
        ),
        ("GET", "/api/v1/pairing-work"): _entry(ps_get("/api/v1/pairing-work"), SCORE_READ),
        ("POST", "/api/v1/pairing-work"): _entry(_ps(_pairing_work_post), allow(CC)),
        ("GET", "/api/v1/adjustments"): _entry(ps_get("/api/v1/adjustments"), SCORE_READ),
        ("POST", "/api/v1/adjustments"): _entry(_ps(_adjustment_post), allow(CC, 201)),
        ("GET", "/scores"): _entry(ps_get("/scores", period=BULLETIN_MONTH), SCORE_PAGE),
        ("GET", "/scores/bulletin"): _entry(
            ps_get("/scores/bulletin", period=BULLETIN_MONTH), DRAFT_PAGE
        ),
        ("GET", "/bulletins/{bulletin_id}"): _entry(_bulletin("/bulletins/{id}"), SCORE_PAGE),
        ("GET", "/leaders/{key}/scores"): _entry(
            _leader_get("/leaders/{key}/scores", period=BULLETIN_MONTH),
            LEADER_SCORES_PAGE,
            scoped=True,
        ),
        ("GET", "/scores/{level}/{code}"): _entry(_score("/scores"), SCORE_PAGE, scoped=True),
        # campaigns (专项行动): the county-wide comparison, for the roles reading all scores
        ("GET", "/api/v1/campaigns"): _entry(ps_get("/api/v1/campaigns"), DRAFT),
        ("GET", "/api/v1/campaigns/{key}/report"): _entry(
            ps_get("/api/v1/campaigns/disorder/report", period=BULLETIN_MONTH), DRAFT
        ),
        ("GET", "/api/v1/campaigns/{key}/report.xlsx"): _entry(
            ps_get("/api/v1/campaigns/disorder/report.xlsx", period=BULLETIN_MONTH), DRAFT
        ),
        ("GET", "/campaigns/{key}"): _entry(
            ps_get("/campaigns/disorder", period=BULLETIN_MONTH), DRAFT_PAGE
        ),
    }
)

# official documents (issue 25): who reads the subject reads its documents; the command
# center issues and re-issues (a fake PDF printer: the rendering is tests/documents')


def docs_seeded(w) -> dict[str, int]:
    """A 交办单 of X, Y and G (made once; the app prints with a fake printer)."""
    if getattr(w, "docs", None) is None:
        from civgrid.grids.core.actors import Actor
        from civgrid.maps.doc_issue import issue_document
        from support.doc_helpers import FakePrinter

        w.app.state.pdf_printer = FakePrinter()
        cfg = w.app.state.issue_config
        with w.store.session() as s:
            w.docs = {
                k: issue_document(
                    s,
                    "jiaoban",
                    getattr(w, k)["id"],
                    cfg,
                    FakePrinter(),
                    Actor("指挥中心", "command_center"),
                ).id
                for k in ("X", "Y", "G")
            }
    return w.docs


def _doc(fmt: str):
    def build(w, role, out):
        key = "Y" if out else ("G" if role == "grid_worker" else "X")
        return fmt.format(id=docs_seeded(w)[key]), {}

    return build


def _issue_docs(w, role, out):
    docs_seeded(w)
    return f"/api/v1/issues/{issue_of(w, role, out)['id']}/documents", {}


def _case_docs(w, role, out):
    return f"/api/v1/accountability/cases/{case_of(w, role, out)}/documents", {}


def _doc_post(w, role, out):
    docs_seeded(w)  # the 交办单 of X exists: issuing it again returns it (same dispatch)
    return "/api/v1/documents", {"json": {"series": "jiaoban", "key": w.X["id"]}}


def _report_doc(w, role, out):
    seeded(w)
    docs_seeded(w)  # the fake printer
    params = {"month": BULLETIN_MONTH, "profile": "lvliang"}
    return "/api/v1/supervision-report/document", {"params": params}


def _doc_reissue(w, role, out):
    url, _ = _doc("/api/v1/documents/{id}/reissue")(w, role, out)
    return url, {"json": {"reason": "矩阵测试"}}


MATRIX.update(
    {
        ("GET", "/api/v1/issues/{issue_id}/documents"): Entry(_issue_docs, READ, scoped=True),
        ("GET", "/api/v1/accountability/cases/{case_id}/documents"): _entry(
            _ps(_case_docs), SCORE_READ, scoped=True
        ),
        ("GET", "/api/v1/documents/{document_id}"): Entry(
            _doc("/api/v1/documents/{id}"), READ, scoped=True
        ),
        ("GET", "/api/v1/documents/{document_id}/file/{fmt}"): Entry(
            _doc("/api/v1/documents/{id}/file/pdf"), READ, scoped=True
        ),
        ("POST", "/api/v1/documents"): Entry(_doc_post, allow(CC)),
        ("POST", "/api/v1/supervision-report/document"): _entry(_report_doc, allow(CC)),
        ("POST", "/api/v1/documents/{document_id}/reissue"): Entry(
            _doc_reissue, allow(CC), scoped=True
        ),
    }
)

# the field app (/m/, issue 22): the shell, the report, the queue and the receipt status
# serve everyone (citizens report without an account); the work pages need the
# permission of their work; visit photos go with patrol read/write
_TRANSITION_ROLES = ("admin", "dispatcher", "inspector", "unit_handler", "grid_worker")


def _visit_photo_post(w, role, out):
    from support.mapdata import PNG

    files = [("photos", ("p.png", PNG, "image/png"))]
    return f"/api/v1/patrol/visits/{seeded(w).visits[0]['id']}/photos", {"files": files}


MATRIX.update(
    {
        ("GET", "/api/v1/receipts/{receipt}"): Entry(
            get("/api/v1/receipts/987654-000000"),
            same(404),  # a forged number: not found
        ),
        ("GET", "/api/v1/patrol/visit-photos/{photo_id}"): Entry(
            get("/api/v1/patrol/visit-photos/987654"), allow(PATROL_READERS, 404)
        ),
        ("POST", "/api/v1/patrol/visits/{visit_id}/photos"): _entry(
            _ps(_visit_photo_post), allow(PATROL_WRITERS, PASS)
        ),
        ("GET", "/m"): Entry(get("/m"), same(200)),
        ("GET", "/m/"): Entry(get("/m/"), same(200)),
        ("GET", "/m/report"): Entry(get("/m/report"), same(200)),
        ("GET", "/m/queue"): Entry(get("/m/queue"), same(200)),
        ("GET", "/m/status"): Entry(get("/m/status"), same(200)),
        ("GET", "/m/manifest.webmanifest"): Entry(get("/m/manifest.webmanifest"), same(200)),
        ("GET", "/m/sw.js"): Entry(get("/m/sw.js"), same(200)),
        ("GET", "/m/icon-{size}.png"): Entry(get("/m/icon-192.png"), same(200)),
        ("GET", "/m/day"): Entry(get("/m/day"), allow(PATROL_READERS, public=303)),
        ("GET", "/m/reinspect"): Entry(get("/m/reinspect"), allow(_TRANSITION_ROLES, public=303)),
        ("GET", "/m/mine"): Entry(get("/m/mine"), allow(_TRANSITION_ROLES, public=303)),
        ("GET", "/m/track"): Entry(get("/m/track"), allow(PATROL_WRITERS, public=303)),
    }
)


# --------------------------------------------------------------------------- assessment points


def seeded_points(w) -> SimpleNamespace:
    """Two market points (测评点位): PX at X's place, 包保 by X's owner unit, in X's
    community (leader L10's); PY at Y's, by Y's owner unit. Made once, in the store."""
    if getattr(w, "points", None) is not None:
        return w.points
    import shapely

    from civgrid.grids.boundaries.models import AssessmentPoint, Unit
    from civgrid.grids.points.standards import StandardsRegistry

    with w.store.session() as s:
        for code, d, at in (("PX", w.X, w.px), ("PY", w.Y, w.py)):
            unit = s.scalar(select(Unit).where(Unit.key == d["owner_unit"]["key"]))
            s.add(
                AssessmentPoint(
                    code=code,
                    name=f"矩阵市场{code}",
                    point_type="market",
                    geom=shapely.Point(*at),
                    min_lon=at[0],
                    max_lon=at[0],
                    min_lat=at[1],
                    max_lat=at[1],
                    township_code=d["township"]["code"],
                    community_code=d["community"]["code"],
                    responsible_unit_id=unit.id,
                    point_chief="市场负责人",
                    must_check=code == "PX",
                )
            )
        s.commit()
    std = StandardsRegistry.with_shipped().version_on("sheqi", date.today())
    items = [{"code": it.code, "passed": True} for it in std.point_type("market").items]
    w.points = SimpleNamespace(items=items)
    return w.points


def _pt(fn: Callable[..., tuple[str, dict]]) -> Callable[..., tuple[str, dict]]:
    def build(w, role, out):
        seeded_points(w)
        return fn(w, role, out)

    return build


def _point_get(w, role, out):
    return f"/api/v1/points/{'PY' if out else 'PX'}", {}


def _inspection(w, role, out):
    body = {"items": seeded_points(w).items, "lon": w.px[0], "lat": w.px[1]}
    return f"/api/v1/points/{'PY' if out else 'PX'}/inspections", {"json": body}


MATRIX.update(
    {
        ("GET", "/api/v1/points"): Entry(_pt(get("/api/v1/points")), READ),
        ("GET", "/api/v1/points.geojson"): Entry(_pt(get("/api/v1/points.geojson")), READ),
        ("GET", "/api/v1/layers/assessment_point.geojson"): Entry(
            _pt(get("/api/v1/layers/assessment_point.geojson")), READ
        ),
        # a grid worker sees every point (public places, as on the map): a local choice
        ("GET", "/api/v1/points/{code}"): Entry(
            _pt(_point_get), READ, scoped=True, out_expect={"grid_worker": 200}
        ),
        ("POST", "/api/v1/points/{code}/inspections"): _entry(
            _pt(_inspection), PATROL_WRITE, scoped=True
        ),
        ("GET", "/points"): Entry(_pt(get("/points")), PAGE),
        # the field app's checklist screen: who may inspect, the point in their scope
        ("GET", "/m/points"): _entry(
            _pt(lambda w, role, out: (f"/m/points?code={'PY' if out else 'PX'}", {})),
            allow(PATROL_WRITERS, public=303),
            scoped=True,
        ),
        ("GET", "/points/mock"): Entry(
            _pt(get("/points/mock")),
            allow(("admin", "dispatcher", "inspector", "viewer"), public=303),
        ),
    }
)


def test_point_lists_are_filtered_by_scope(world):
    """A unit handler sees only the points its unit answers for (包保); a leader only the
    points in their areas; the command center all."""
    seeded_points(world)

    def codes(opts, path="/api/v1/points"):
        r = world.client.get(path, **opts)
        assert r.status_code == 200, r.text
        body = r.json()
        rows = body["points"] if "points" in body else [f["properties"] for f in body["features"]]
        return {row["code"] for row in rows}

    assert {"PX", "PY"} <= codes({})
    assert codes(world.roles["unit_handler"]) == {"PX"}
    assert codes(world.roles["leader"]) == {"PX"}
    assert codes(world.roles["leader"], "/api/v1/points.geojson") == {"PX"}
    layer = "/api/v1/layers/assessment_point.geojson"  # the command map's layer
    assert codes(world.roles["unit_handler"], layer) == {"PX"}
    assert codes(world.roles["leader"], layer) == {"PX"}
    assert {"PX", "PY"} <= codes({}, layer)
    r = world.client.get("/api/v1/points/PX", **world.roles["unit_handler"])
    assert (
        r.status_code == 200
        and r.json()["point"]["responsible_unit_key"] == (world.X["owner_unit"]["key"])
    )
    assert [c["code"] for c in r.json()["checklist"]][:1] == ["SC-01"]


# --------------------------------------------------------------------------- tests


def app_routes(app) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves (API and pages; docs excluded)."""
    out = set()
    for r in app.routes:
        contexts = r.effective_route_contexts() if hasattr(r, "effective_route_contexts") else [r]
        for c in contexts:
            path = getattr(c, "path", None)
            if path is None or path in (
                "/openapi.json",
                "/docs",
                "/docs/oauth2-redirect",
                "/redoc",
            ):
                continue
            if not getattr(c, "methods", None):
                continue  # the static mount
            for m in c.methods - {"HEAD"}:
                out.add((m, path))
    return out


def test_every_route_has_an_entry(world):
    served = app_routes(world.app)
    missing = sorted(served - set(MATRIX))
    assert not missing, "routes without a permission-matrix entry: " + ", ".join(
        f"{m} {p}" for m, p in missing
    )
    stale = sorted(set(MATRIX) - served)
    assert not stale, "matrix entries for routes that do not exist: " + repr(stale)


def _matches(status: int, expected: Any) -> bool:
    if expected in (OK, PASS) and status >= 500:
        return False  # a server error never counts as "let through"
    if expected == OK:
        return status not in (401, 403, 404)
    if expected == PASS:
        return status not in (401, 403)
    return status == expected


def _run(world, key: tuple[str, str], entry: Entry, out: bool) -> list[str]:
    method, _ = key
    bad = []
    for role in ROLES:
        expected = entry.expect[role]
        if out:
            hidden = role in SCOPED and not (entry.perm_first and expected == 403)
            expected = entry.out_expect.get(role, 404 if hidden else expected)
        url, kw = entry.build(world, role, out)
        opts = {**kw, **world.roles[role]}
        if "headers" in kw and "headers" in world.roles[role]:
            opts["headers"] = {**kw["headers"], **world.roles[role]["headers"]}
        r = world.client.request(method, url, follow_redirects=False, **opts)
        if not _matches(r.status_code, expected):
            bad.append(f"{role}: got {r.status_code}, expected {expected} ({r.text[:120]!r})")
    return bad


@pytest.mark.parametrize("key", sorted(MATRIX), ids=lambda k: f"{k[0]} {k[1]}")
def test_route_by_role(world, key):
    entry = MATRIX[key]
    bad = _run(world, key, entry, out=False)
    assert not bad, f"{key[0]} {key[1]}:\n" + "\n".join(bad)


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(k, marks=pytest.mark.xfail(reason=e.xfail_out, strict=True))
        if e.xfail_out
        else k
        for k, e in sorted(MATRIX.items())
        if e.scoped
    ],
    ids=lambda k: f"{k[0]} {k[1]} (out of scope)",
)
def test_route_out_of_scope(world, key):
    entry = MATRIX[key]
    bad = _run(world, key, entry, out=True)
    assert not bad, f"{key[0]} {key[1]} on an object outside the scope:\n" + "\n".join(bad)


def test_score_lists_are_filtered_by_scope(world):
    """Lists are filtered, not refused: leader L10 gets their own community's score and case,
    not L13's; the unit handler its own unit's; the levels outside a scope are empty."""
    ps = seeded(world)
    x_comm, y_comm = world.X["community"]["code"], world.Y["community"]["code"]
    x_unit = world.X["owner_unit"]["key"]
    leader, unit = world.roles["leader"], world.roles["unit_handler"]
    period = {"period": BULLETIN_MONTH}

    def codes(path, opts, key="scores", **params):
        r = world.client.get(path, params={**period, **params}, **opts)
        assert r.status_code == 200, r.text
        return {row["code"] for row in r.json()[key]}

    everyone = codes("/api/v1/scores", {}, level="community")
    assert {x_comm, y_comm} <= everyone
    mine = codes("/api/v1/scores", leader, level="community")
    assert x_comm in mine and y_comm not in mine
    assert codes("/api/v1/rankings", leader, "rows", level="community") == mine
    assert codes("/api/v1/scores", leader, level="department") == set()
    assert codes("/api/v1/scores", unit, level="department") == {x_unit}
    assert codes("/api/v1/indicators", unit, "rows", by="department") <= {x_unit}
    assert codes("/api/v1/scores", unit, level="community") == set()
    # one score outside the level a scope reads: 404, like an unknown code
    r = world.client.get(f"/api/v1/scores/department/{x_unit}", **leader)
    assert r.status_code == 404
    r = world.client.get(f"/api/v1/scores/community/{x_comm}", **unit)
    assert r.status_code == 404

    def case_ids(opts):
        r = world.client.get("/api/v1/accountability/cases", **opts)
        assert r.status_code == 200, r.text
        return [(c["id"], c["level"], c["unit_code"], c["leader_key"]) for c in r.json()]

    assert ps.evaluated["opened"] == []  # no trigger trips on this small world
    every = {c[0] for c in case_ids({})}
    assert set(ps.cases.values()) <= every
    assert case_ids(leader) == [(ps.cases["X"], "community", x_comm, "L10")]
    assert case_ids(unit) == [(ps.cases["X_unit"], "department", x_unit, None)]


def test_co_responsible_unit_cooperates_but_does_not_fix(world):
    """Issue 17: the co-responsible unit's handler writes a progress note and asks for a
    transfer but may not submit the fix; an unrelated unit's handler gets 404; the owner's
    handler submits. The command center approves: the owner changes (history), the old
    owner stays co-responsible; a second decision is 409; the counts follow."""
    from sqlalchemy import select

    from civgrid.grids.boundaries.models import Unit
    from support.mapdata import PNG

    c = world.client
    d = fresh(world, "admin", False)
    owner = d["owner_unit"]["key"]
    co = world.Y["owner_unit"]["key"]
    with world.store.session() as s:
        keys = [u.key for u in s.scalars(select(Unit).order_by(Unit.key))]
    parties = {owner, co, *(u["key"] for u in d["co_responsible_units"])}
    stranger = next(k for k in keys if k not in parties)
    r = c.post(
        f"/api/v1/issues/{d['id']}/reassign",
        json={"unit": owner, "co_units": [co], "note": "加协办单位"},
    )
    assert r.status_code == 200, r.text
    co_h = {"headers": c.as_user("unit_handler", "uh-co", unit=co)}

    def count_of(key: str) -> dict:
        rows = c.get("/api/v1/transfer-counts").json()["rows"]
        row = next((r for r in rows if r["unit_key"] == key), None)
        keys = ("requested", "approved", "refused", "repeated", "pending")
        return {k: (row or {}).get(k, 0) for k in keys}

    before = count_of(co)  # the matrix's earlier rows may have asked for this unit already
    other_h = {"headers": c.as_user("unit_handler", "uh-other", unit=stranger)}
    base = f"/api/v1/issues/{d['id']}"
    photo = [("photos", ("p.png", PNG, "image/png"))]

    r = c.post(f"{base}/notes", data={"note": "已协助清理"}, files=photo, **co_h)
    assert r.status_code == 201, r.text
    last = r.json()["history"][-1]
    assert (last["action"], last["note"], last["actor"]["unit"]) == (
        "progress_note",
        "已协助清理",
        co,
    )
    r = c.post(f"{base}/transfer-requests", json={"reason": "不属本单位"}, **co_h)
    assert r.status_code == 201, r.text
    req = r.json()
    assert (req["state"], req["requesting_role"]) == ("pending", "co_responsible")
    r = c.post(f"{base}/transfer-requests", json={"reason": "再次"}, **co_h)
    assert r.status_code == 409, r.text
    r = c.post(f"{base}/transitions", data={"action": "submit"}, files=photo, **co_h)
    assert r.status_code == 403, r.text
    for path in ("notes", "transfer-requests"):
        r = c.post(f"{base}/{path}", json={"note": "x", "reason": "x"}, **other_h)
        assert r.status_code == 404, (path, r.text)
    r = c.get(f"/api/v1/transfer-requests/{req['id']}", **other_h)
    assert r.status_code == 404

    # the command center approves, giving the issue to the stranger
    decision = f"/api/v1/transfer-requests/{req['id']}/decision"
    r = c.post(decision, json={"decision": "approve", "unit": stranger, "note": "同意"})
    assert r.status_code == 200, r.text
    assert r.json()["new_owner_unit"]["key"] == stranger
    issue = c.get(base).json()
    assert issue["owner_unit"]["key"] == stranger
    assert {u["key"] for u in issue["co_responsible_units"]} >= {owner, co}
    tail = [(e["action"], (e["data"] or {}).get("to_unit")) for e in issue["history"][-2:]]
    assert tail == [("reassign", stranger), ("transfer_decision", stranger)]
    r = c.post(decision, json={"decision": "refuse", "note": "不同意"})
    assert r.status_code == 409, r.text
    r = c.post(decision, json={"decision": "approve", "unit": stranger, "note": "同意"})
    assert r.status_code == 200 and c.get(base).json()["version"] == issue["version"]
    # the old owner, now co-responsible, may no longer submit; the new owner may
    old_h = world.roles["unit_handler"]
    r = c.post(f"{base}/transitions", data={"action": "submit"}, files=photo, **old_h)
    assert r.status_code == 403, r.text
    r = c.post(f"{base}/transitions", data={"action": "submit"}, files=photo, **other_h)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "submitted"
    expected = {**before, "requested": before["requested"] + 1}
    assert count_of(co) == {**expected, "approved": before["approved"] + 1}
    page = c.get(f"/issues/{d['id']}", headers={"Accept": "text/html"})
    assert page.status_code == 200 and f'id="cg-transfer-{req["id"]}"' in page.text
    # the rankings page of this month lists the unit's requests (推诿扯皮 section)
    from datetime import datetime

    from civgrid.grids.core.calendar import local_zone

    month = datetime.now(local_zone()).strftime("%Y-%m")
    page = c.get("/scores", params={"period": month}, headers={"Accept": "text/html"})
    assert page.status_code == 200, page.text
    section = page.text.split('id="cg-transfers"', 1)[1]
    assert world.Y["owner_unit"]["name"] in section.split("</table>", 1)[0]


def test_owner_handler_submits_the_fix(world):
    """The owner unit's handler submits the fix (the co-responsible one may not, above)."""
    from support.mapdata import PNG

    d = fresh(world, "admin", False)
    r = world.client.post(
        f"/api/v1/issues/{d['id']}/transitions",
        data={"action": "submit"},
        files=[("photos", ("p.png", PNG, "image/png"))],
        **world.roles["unit_handler"],
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "submitted"


def test_the_matrix_names_a_new_route(world):
    """Adding a route without an entry makes the matrix fail, naming the route."""
    from fastapi import APIRouter

    extra = APIRouter()
    extra.add_api_route("/api/v1/secret", lambda: {"ok": True}, methods=["GET"])
    world.app.include_router(extra)
    try:
        with pytest.raises(AssertionError, match="GET /api/v1/secret"):
            test_every_route_has_an_entry(world)
    finally:
        world.app.router.routes.pop()
    assert ("GET", "/api/v1/secret") not in app_routes(world.app)


_ = AuthClient
