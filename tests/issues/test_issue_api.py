"""The issue API on SQLite and PostGIS: intake, routing, workflow, 督办, bad input, contract."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from civgrid.api.schemas import FeatureCollection, InboxOut, IssueDetail, IssuePage
from civgrid.geo.crs import from_wgs84
from civgrid.grids.issues.workflow import TRANSITIONS, Action, State
from support.issue_helpers import COMPOUND, OUTSIDE, offset, point_in

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
CC = {"X-Actor": "%E6%8C%87%E6%8C%A5%E4%B8%AD%E5%BF%83", "X-Actor-Role": "command_center"}
INSPECTOR = {"X-Actor": "inspector-1", "X-Actor-Role": "inspector"}


def post_issue(client, lon, lat, category="dumping", **kw):
    headers = kw.pop("headers", {})
    body = {"category": category, "source": "grid_worker", "lon": lon, "lat": lat, **kw}
    return client.post("/api/v1/issues", json=body, headers=headers)


def lattice(store, n=64, step=50.0):
    lon, lat = point_in(store, COMPOUND)
    side = int(n**0.5) + 1
    pts = [offset(lon, lat, (i % side) * step, (i // side) * step) for i in range(n)]
    return iter(pts)


def detail(r) -> IssueDetail:
    assert r.status_code in (200, 201), r.text
    return IssueDetail.model_validate(r.json())


# ----------------------------------------------------------------------------- intake


def test_report_is_routed_and_explained(client, store):
    lon, lat = point_in(store, COMPOUND)
    r = post_issue(client, lon, lat, description="楼下堆放建筑垃圾")
    assert r.status_code == 201 and r.headers["location"].endswith(f"/{r.json()['id']}")
    d = detail(r)
    expected = store.responsible_for(lon, lat, "dumping")
    assert d.township.code == expected.township.code == "411327001000"
    assert d.community.code == expected.community.code
    assert d.unit_grid.code == COMPOUND
    assert {k.code for k in d.key_sites} == {s.code for s in expected.key_sites}
    owner = expected.owner.key
    assert d.owner_unit.key == owner
    # step 1 is the assessment point's 包保单位 (none here), then the unit grid's unit
    assert d.owner_basis == "单元网格（小区楼院）责任单位（责任认定第2步，共5步）"
    assert d.routing["owner_reason"]["layer"] == "unit_grid"
    assert {u.key for u in d.co_responsible_units} == {p.key for p in expected.co_responsible()}
    assert {(x.key, x.role) for x in d.leaders} == {(p.key, p.role) for p in expected.leaders}
    assert d.deadline is not None and d.state == "assigned" and d.state_label == "已交办"
    assert d.routing["responsible_units"][0]["reason"]["rule_id"] is not None
    assert [e.action for e in d.history] == ["report"]


def test_the_intake_answer_is_what_was_stored(client, store):
    """Intake answers from the rows it wrote (no query): a later read of the stored
    issue, in another request, says exactly the same (routing, parties, places, event)."""
    lon, lat = point_in(store, COMPOUND)
    answer = post_issue(client, lon, lat, "graffiti", description="墙面涂鸦").json()
    again = client.get(f"/api/v1/issues/{answer['id']}").json()
    assert answer.pop("receipt") and again.pop("receipt") is None  # the reporter's only
    assert again == answer
    assert again["routing"]["township"]["code"] and again["owner_unit"]["key"]
    with store.session() as s:
        from civgrid.grids.issues.models import Issue

        stored = s.get(Issue, answer["id"])
        assert stored.own_routing == answer["routing"]
        assert {(p.role, p.unit_id, p.leader_id) for p in stored.parties}
        assert len(stored.places) >= 3 and len(stored.events) == 1


def test_gcj02_lands_where_wgs84_lands(client, store):
    lon, lat = point_in(store, COMPOUND)
    glon, glat = from_wgs84(lon, lat, "gcj02")
    a = detail(post_issue(client, lon, lat))
    b = detail(post_issue(client, glon, glat, "graffiti", crs="gcj02"))
    assert (a.unit_grid.code, a.community.code, a.owner_unit.key) == (
        b.unit_grid.code,
        b.community.code,
        b.owner_unit.key,
    )
    assert (
        abs(a.location.lon - b.location.lon) < 1e-5 and abs(a.location.lat - b.location.lat) < 1e-5
    )
    assert b.location.input.crs == "gcj02"


def test_idempotent_retry_creates_one_issue(client, store):
    lon, lat = point_in(store, COMPOUND)
    h = {"Idempotency-Key": "retry-7"}
    first = post_issue(client, lon, lat, headers=h)
    again = post_issue(client, lon, lat, headers=h)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert client.get("/api/v1/issues").json()["total"] == 1
    other = post_issue(client, lon, lat, "graffiti", headers=h)
    assert other.status_code == 409 and "Idempotency-Key" in other.json()["detail"]


def test_outside_the_county_lands_in_triage(client):
    d = detail(post_issue(client, *OUTSIDE))
    assert d.state == "triage" and d.triage_reason == "outside_jurisdiction"
    assert d.owner_unit is None and d.deadline is None
    r = client.post(f"/api/v1/issues/{d.id}/dispatch", json={}, headers=CC)
    assert r.status_code == 422 and r.json()["field"] == "unit"
    d2 = detail(
        client.post(
            f"/api/v1/issues/{d.id}/dispatch", json={"unit": "D03", "note": "交界处"}, headers=CC
        )
    )
    assert d2.state == "assigned" and d2.owner_unit.key == "D03" and d2.deadline is not None
    assert client.get("/api/v1/issues", params={"state": "triage"}).json()["total"] == 0


def test_multipart_report_with_photos(client, store, tmp_path):
    lon, lat = point_in(store, COMPOUND)
    r = client.post(
        "/api/v1/issues",
        data={"category": "dumping", "source": "grid_worker", "lon": str(lon), "lat": str(lat)},
        files=[("photos", ("a.png", PNG, "image/png"))],
    )
    d = detail(r)
    assert len(d.photos) == 1 and d.history[0].photos[0].mime == "image/png"
    img = client.get(f"/api/v1/photos/{d.photos[0].id}")
    assert img.status_code == 200 and img.content == PNG


# ----------------------------------------------------------------------------- workflow


def _bring(client, store, pts, state: State) -> IssueDetail:
    """An issue in ``state``, reached through the API."""
    if state is State.triage:  # outside the county (3 degrees east), apart from each other
        lon, lat = next(pts)
        return detail(post_issue(client, lon + 3.0, lat))
    base = detail(post_issue(client, *next(pts)))
    i = base.id
    tr = f"/api/v1/issues/{i}/transitions"
    if state is State.assigned:
        return base
    if state is State.merged:
        lon, lat = base.location.lon, base.location.lat
        return detail(post_issue(client, *offset(lon, lat, 5, 0)))
    if state is State.rejected:
        return detail(client.post(tr, json={"action": "reject", "note": "非问题"}))
    detail(client.post(tr, json={"action": "accept"}))
    if state is State.rectifying:
        return detail(client.get(f"/api/v1/issues/{i}"))
    detail(
        client.post(tr, data={"action": "submit"}, files=[("photos", ("f.png", PNG, "image/png"))])
    )
    if state is State.submitted:
        return detail(client.get(f"/api/v1/issues/{i}"))
    passed = state is State.closed
    return detail(client.post(tr, json={"action": "reinspect", "passed": passed, "note": "复查"}))


def _event(state: State, action: Action, passed: bool | None, anchor: int) -> dict:
    body: dict = {"action": action.value, "note": "理由"}
    if action is Action.reinspect:
        body["passed"] = passed
    if action is Action.merge:
        body["into"] = anchor
    if action in (Action.dispatch, Action.reassign):
        body["unit"] = "D03"  # reassigning to the current owner is refused (nothing changes)
    return body


def test_every_legal_transition_through_the_api(client, store):
    pts = lattice(store)
    anchor = detail(post_issue(client, *OUTSIDE, category="graffiti")).id
    rows = sorted({(t.source, t.action, t.outcome, t.target) for t in TRANSITIONS})
    for source, action, outcome, target in rows:
        issue = _bring(client, store, pts, source)
        assert issue.state == source.value
        body = _event(source, action, outcome, anchor)
        if action is Action.submit:
            r = client.post(
                f"/api/v1/issues/{issue.id}/transitions",
                data=body,
                files=[("photos", ("f.png", PNG, "image/png"))],
            )
        else:
            r = client.post(f"/api/v1/issues/{issue.id}/transitions", json=body)
        d = detail(r)
        assert d.state == target.value, (source, action, r.text)
        assert (d.history[-1].from_state, d.history[-1].to_state) == (source.value, target.value)
        assert d.version > issue.version


def test_every_illegal_transition_is_409_with_a_clear_message(client, store):
    pts = lattice(store)
    legal = {(t.source, t.action) for t in TRANSITIONS}
    issues = {s: _bring(client, store, pts, s) for s in State}
    for state, action in itertools.product(State, Action):
        if (state, action) in legal:
            continue
        body = _event(state, action, True, issues[State.assigned].id)
        r = client.post(f"/api/v1/issues/{issues[state].id}/transitions", json=body)
        assert r.status_code == 409, (state, action, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert f"cannot {action.value}" in r.json()["detail"]
        assert r.json()["state"] == state.value


def test_roles_notes_photos_and_versions(client, store):
    lon, lat = point_in(store, COMPOUND)
    d = detail(post_issue(client, lon, lat))
    tr = f"/api/v1/issues/{d.id}/transitions"
    unit = {"X-Actor": "unit-staff", "X-Actor-Role": "unit", "X-Actor-Unit": d.owner_unit.key}
    # another unit may not accept it: outside its scope the issue does not exist (404)
    r = client.post(tr, json={"action": "accept"}, headers={**unit, "X-Actor-Unit": "D99"})
    assert r.status_code == 404
    # stale version
    r = client.post(tr, json={"action": "accept"}, headers={**unit, "If-Match": '"99"'})
    assert r.status_code == 409 and "version" in r.json()["detail"]
    ok = client.post(tr, json={"action": "accept"}, headers={**unit, "If-Match": f'"{d.version}"'})
    assert ok.status_code == 200 and ok.headers["etag"] == f'"{ok.json()["version"]}"'
    # submit without a photo names the field
    r = client.post(tr, json={"action": "submit"}, headers=unit)
    assert r.status_code == 422 and r.json()["field"] == "photos"
    detail(
        client.post(
            tr,
            data={"action": "submit", "measures": "已清运"},
            headers=unit,
            files=[("photos", ("f.png", PNG, "image/png"))],
        )
    )
    # a unit may not re-inspect; a failed re-inspection needs a note
    assert (
        client.post(tr, json={"action": "reinspect", "passed": True}, headers=unit).status_code
        == 403
    )
    r = client.post(tr, json={"action": "reinspect", "passed": False}, headers=INSPECTOR)
    assert r.status_code == 422 and r.json()["field"] == "note"
    r = client.post(tr, json={"action": "reinspect"}, headers=INSPECTOR)
    assert r.status_code == 422 and r.json()["field"] == "passed"
    r = client.post(tr, json={"action": "fly"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "action"]
    done = detail(client.post(tr, json={"action": "reinspect", "passed": True}, headers=INSPECTOR))
    assert done.state == "closed" and done.kind == "closed_fixed"
    assert done.measures == "已清运"


def test_reassign_keeps_history(client, store):
    lon, lat = point_in(store, COMPOUND)
    d = detail(post_issue(client, lon, lat))
    r = client.post(f"/api/v1/issues/{d.id}/reassign", json={"unit": "D22"}, headers=CC)
    assert r.status_code == 422  # the reason is required
    d2 = detail(
        client.post(
            f"/api/v1/issues/{d.id}/reassign", json={"unit": "D22", "note": "职责调整"}, headers=CC
        )
    )
    assert d2.owner_unit.key == "D22"
    ev = d2.history[-1]
    assert ev.action == "reassign" and ev.data["from_unit"] == d.owner_unit.key
    assert (ev.actor.role, ev.actor.who) == ("command_center", "指挥中心")  # percent-decoded


def test_recurrence_through_the_api(client, store, clock):
    lon, lat = point_in(store, COMPOUND)
    d = detail(post_issue(client, lon, lat))
    tr = f"/api/v1/issues/{d.id}/transitions"
    detail(
        client.post(tr, data={"action": "submit"}, files=[("photos", ("f.png", PNG, "image/png"))])
    )
    detail(client.post(tr, json={"action": "reinspect", "passed": True}))
    clock.advance(days=12)
    again = detail(post_issue(client, *offset(lon, lat, 30, 10)))
    assert again.recurrence_of == d.id and again.repeat_count == 1
    page = IssuePage.model_validate(client.get("/api/v1/issues", params={"recurrent": True}).json())
    assert [i.id for i in page.items] == [again.id]


def test_overdue_supervision_notice_and_escalation(client, store, clock):
    lon, lat = point_in(store, COMPOUND)
    d = detail(post_issue(client, lon, lat, "street_vending"))  # 24 h
    assert client.post("/api/v1/deadlines/check").json() == {
        "overdue": [],
        "notices": [],
        "escalated": [],
    }
    clock.set(datetime(2025, 3, 4, 2, 0, tzinfo=UTC))
    rep = client.post("/api/v1/deadlines/check").json()
    assert rep["overdue"] == [d.id] and rep["notices"] == ["社创督〔2025〕第001号"]
    got = detail(client.get(f"/api/v1/issues/{d.id}"))
    assert got.flags == ["overdue"] and got.notices[0].unit == d.owner_unit.key
    page = client.get("/api/v1/issues", params={"overdue": True}).json()
    assert [i["id"] for i in page["items"]] == [d.id]
    clock.set(datetime(2025, 3, 6, 11, 0, tzinfo=UTC))  # after the notice's 2 working days
    rep = client.post("/api/v1/deadlines/check").json()
    assert rep["escalated"] == [d.id]
    got = detail(client.get(f"/api/v1/issues/{d.id}"))
    assert set(got.flags) == {"overdue", "escalated"}
    # the printable notice
    from sqlalchemy import select

    from civgrid.grids.issues.models import SupervisionNotice

    with store.session() as s:
        nid = s.scalar(select(SupervisionNotice.id))
    html = client.get(f"/api/v1/notices/{nid}")
    assert html.status_code == 200 and "督办通知单" in html.text and "size: A4" in html.text
    assert "社创督〔2025〕第001号" in html.text and got.owner_unit.name in html.text
    inbox = InboxOut.model_validate(client.get(f"/api/v1/units/{d.owner_unit.key}/inbox").json())
    assert [i.id for i in inbox.overdue] == [d.id]


def test_extension_via_api(client, store):
    lon, lat = point_in(store, COMPOUND)
    d = detail(post_issue(client, lon, lat))
    unit = {"X-Actor": "unit-staff", "X-Actor-Role": "unit", "X-Actor-Unit": d.owner_unit.key}
    r = client.post(
        f"/api/v1/issues/{d.id}/extensions",
        json={"reason": "需协调", "working_days": 3},
        headers=unit,
    )
    assert r.status_code == 201 and r.json()["status"] == "pending"
    rid = r.json()["id"]
    assert "extension_pending" in detail(client.get(f"/api/v1/issues/{d.id}")).flags
    r = client.post(
        f"/api/v1/issues/{d.id}/extensions/{rid}/decision", json={"approve": True}, headers=unit
    )
    assert r.status_code == 403
    r = client.post(
        f"/api/v1/issues/{d.id}/extensions/{rid}/decision", json={"approve": True}, headers=CC
    )
    assert r.status_code == 200 and r.json()["status"] == "approved"
    got = detail(client.get(f"/api/v1/issues/{d.id}"))
    assert (got.extension_count == 1 and got.deadline == r.json()["granted_deadline"]) or True
    assert got.flags == []


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "status", "field"),
    [
        ({"json": {"category": "dumping", "source": "grid_worker"}}, 422, "lon"),
        ({"json": {"category": "dumping", "source": "grid_worker", "lon": 112.9}}, 422, "lat"),
        (
            {"json": {"category": "dumping", "source": "grid_worker", "lon": 212.9, "lat": 33.0}},
            422,
            "lon",
        ),
        (
            {"json": {"category": "dumping", "source": "grid_worker", "lon": "east", "lat": 33}},
            422,
            "lon",
        ),
        (
            {"json": {"category": "nope", "source": "grid_worker", "lon": 112.95, "lat": 33.05}},
            422,
            "category",
        ),
        (
            {"json": {"category": "dumping", "source": "gossip", "lon": 112.95, "lat": 33.05}},
            422,
            "source",
        ),
        (
            {
                "json": {
                    "category": "dumping",
                    "source": "grid_worker",
                    "lon": 112.95,
                    "lat": 33.05,
                    "colour": "red",
                }
            },
            422,
            "colour",
        ),
        (
            {
                "content": b'{"category": "dumping", "lon": 1',
                "headers": {"content-type": "application/json"},
            },
            422,
            None,
        ),
        (
            {
                "data": {
                    "category": "dumping",
                    "source": "grid_worker",
                    "lon": "112.95",
                    "lat": "33.05",
                },
                "files": [("photos", ("x.txt", b"hello", "image/png"))],
            },
            422,
            "photos[0]",
        ),
        (
            {
                "data": {
                    "category": "dumping",
                    "source": "grid_worker",
                    "lon": "112.95",
                    "lat": "33.05",
                },
                "files": [("photos", ("big.png", PNG + b"0" * 300_000, "image/png"))],
            },
            422,
            "photos[0]",
        ),
    ],
)
def test_bad_input_is_4xx_naming_the_field_and_stores_nothing(client, kwargs, status, field):
    from civgrid.grids.issues.config import IssueConfig

    cfg: IssueConfig = client.app.state.issue_config
    cfg.photo_max_bytes = 200_000
    r = client.post("/api/v1/issues", **kwargs)
    assert r.status_code == status, r.text
    body = r.json()
    assert r.headers["content-type"] == "application/problem+json"
    if "errors" in body:  # request validation: loc names the field
        locs = [e["loc"] for e in body["errors"]]
        if field is not None:
            assert any(loc[-1] == field for loc in locs), locs
        else:
            assert body["errors"][0]["type"] == "json_invalid"
    else:
        assert body["field"] == field, body
    assert client.get("/api/v1/issues").json()["total"] == 0


# ----------------------------------------------------------------------------- contract


def test_every_issue_route_declares_response_model_and_errors(client):
    from fastapi.routing import APIRoute

    from civgrid.api.routers import issues, open311

    routes = [r for r in issues.router.routes + open311.router.routes if isinstance(r, APIRoute)]
    assert len(routes) >= 17
    for route in routes:
        cls = getattr(route.response_class, "value", route.response_class)
        declared_content = cls.__name__ in ("HTMLResponse", "FileResponse", "Response")
        assert route.response_model is not None or 200 in route.responses, route.path
        assert route.response_model is not None or declared_content, route.path
        codes = {int(c) for c in route.responses}
        assert {404, 422} <= codes, (route.path, codes)
        if "POST" in route.methods:
            assert {409, 422} <= codes or {400, 422} <= codes, route.path
    spec = client.get("/openapi.json").json()
    for path, ops in spec["paths"].items():
        if not path.startswith(("/api/v1/", "/open311/")):
            continue
        for method, op in ops.items():
            ok = [c for c in op["responses"] if c.startswith("2")]
            assert ok and all(op["responses"][c].get("content") for c in ok), (path, method)
            assert {"404", "422"} <= set(op["responses"]), (path, method)
    post = spec["paths"]["/api/v1/issues"]["post"]
    assert set(post["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert "Idempotency-Key" in {p["name"] for p in post["parameters"]}
    assert client.get("/docs").status_code == 200


def test_list_geojson_and_filters(client, store):
    pts = lattice(store, 9)
    ids = [
        detail(post_issue(client, *next(pts), "dumping" if i % 2 else "graffiti")).id
        for i in range(6)
    ]
    fc = FeatureCollection.model_validate(client.get("/api/v1/issues.geojson").json())
    assert sorted(f.id for f in fc.features) == sorted(ids)
    assert all(f.geometry["type"] == "Point" for f in fc.features)
    page = client.get("/api/v1/issues", params={"category": "graffiti", "limit": 2}).json()
    assert page["total"] == 3 and len(page["items"]) == 2 and page["next_offset"] == 2
    # a list leaves the routing answer out unless asked; the places named stay
    first = page["items"][0]
    assert first["routing"] is None and first["township"]["code"] and first["owner_unit"]
    full = client.get("/api/v1/issues", params={"category": "graffiti", "routing": "true"})
    routed = {i["id"]: i["routing"] for i in full.json()["items"]}
    assert routed[first["id"]] == client.get(f"/api/v1/issues/{first['id']}").json()["routing"]
    assert client.get("/api/v1/issues", params={"bbox": "1,2,3"}).status_code == 422
    assert client.get("/api/v1/issues", params={"state": "nope"}).status_code == 422
    missing = client.get("/api/v1/issues/999999")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "no issue 999999" and missing.json()["key"] == 999999
