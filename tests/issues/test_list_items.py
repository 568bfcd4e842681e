"""The issue list's items read as columns equal the items built from ORM issues.

``GET /api/v1/issues`` builds its items from columns (``list_issue_items``: no ORM
object, no per-item model validation, issue 26). Here every page is asked twice: as
the route answers, and with ``list_issue_items`` replaced by the ORM build (the issues
of ``list_issues``, ``describe``, validated by ``IssueOut``, as the route answered
before) — for an admin, the command center, two unit handlers (owner, co-responsible),
a leader and a grid worker, over filters, sort orders and pages. The JSON must be equal,
key order included. Both backends.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from civgrid.api.schemas import IssueOut
from civgrid.geo.crs import from_wgs84
from civgrid.grids.boundaries.models import Leader, Unit
from civgrid.grids.issues import service as svc
from civgrid.grids.issues.member_sets import point_at_parties
from civgrid.grids.issues.models import Issue, IssueRouting, PartySetMember
from civgrid.grids.issues.routing_store import answer_hash
from support.issue_helpers import COMPOUND, offset, point_in

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
CC = {"X-Actor": "cc-1", "X-Actor-Role": "command_center"}
GRID_WORKER = {"X-Actor": "gw-7", "X-Actor-Role": "grid_worker"}
ORDERS = ["-reported_at", "reported_at", "deadline", "-deadline", "id", "-id", "updated_at"]


def _orm_items(session, query, workflow=None, *, routing=True):
    """The list's items as the route built them before: ORM issues → describe → IssueOut."""
    page = svc.list_issues(session, query)
    items = []
    for issue in page.items:
        d = svc.describe(issue, workflow)
        if not routing:
            d["routing"] = None
        items.append(IssueOut.model_validate(d).model_dump(mode="json"))
    return replace(page, items=items)


def _seed(client, store, clock) -> dict:
    """Issues in every kind of state, with co-responsible units, leaders, a GCJ-02 input,
    flags, a shared routing answer and an unrouted one; returns keys to filter by."""
    lon, lat = point_in(store, COMPOUND)
    ids = []
    for n, cat in enumerate(["dumping", "graffiti", "street_vending", "dumping", "graffiti"] * 2):
        body = {
            "category": cat,
            "source": ["field_supervision", "grid_worker", "citizen_complaint"][n % 3],
            "description": f"问题{n} 垃圾",
            "lon": offset(lon, lat, 70 * n, 40 * (n % 3))[0],
            "lat": offset(lon, lat, 70 * n, 40 * (n % 3))[1],
        }
        headers = GRID_WORKER if n % 4 == 1 else {}
        r = client.post("/api/v1/issues", json=body, headers=headers)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
        clock.advance(minutes=7)
    glon, glat = (float(v) for v in from_wgs84(*offset(lon, lat, 30, 30), "gcj02"))
    r = client.post(
        "/api/v1/issues",
        json={
            "category": "dumping",
            "source": "referral",
            "lon": glon,
            "lat": glat,
            "crs": "gcj02",
        },
    )
    ids.append(r.json()["id"])
    triage = client.post(
        "/api/v1/issues",
        json={"category": "dumping", "source": "grid_worker", "lon": lon + 3.0, "lat": lat},
    ).json()["id"]
    for i in ids[:3]:  # rectifying, submitted, closed
        tr = f"/api/v1/issues/{i}/transitions"
        assert client.post(tr, json={"action": "accept"}).status_code == 200
    tr = f"/api/v1/issues/{ids[1]}/transitions"
    client.post(tr, data={"action": "submit"}, files=[("photos", ("f.png", PNG, "image/png"))])
    tr = f"/api/v1/issues/{ids[2]}/transitions"
    client.post(tr, data={"action": "submit"}, files=[("photos", ("f.png", PNG, "image/png"))])
    client.post(tr, json={"action": "reinspect", "passed": True, "note": "复查"})
    client.post(f"/api/v1/issues/{ids[3]}/transitions", json={"action": "reject", "note": "非问题"})
    with store.session() as s:
        units = list(s.scalars(select(Unit).order_by(Unit.id)))
        leaders = list(s.scalars(select(Leader).order_by(Leader.id)))
        issues = {i.id: i for i in s.scalars(select(Issue).where(Issue.id.in_(ids)))}
        owner = issues[ids[4]].owner_unit
        co = next(u for u in units if owner is None or u.id != owner.id)

        def member(role, unit=None, leader=None):
            return PartySetMember(
                role=role,
                unit=unit,
                unit_id=None if unit is None else unit.id,
                leader=leader,
                leader_id=None if leader is None else leader.id,
            )

        for i in ids[4:8]:  # a co-responsible unit and leaders on a few issues
            extra = [member("co_responsible", unit=co), member("contract", leader=leaders[0])]
            if i == ids[5]:
                extra.append(member("road_chief", leader=leaders[1]))
            kept = [member(p.role, p.unit, p.leader) for p in issues[i].parties]
            point_at_parties(s, issues[i], kept + extra)
        flagged = issues[ids[5]]
        flagged.overdue, flagged.overdue_at = True, datetime(2025, 3, 4, 2, 30, 15, 250000, UTC)
        flagged.escalated, flagged.escalated_at = True, datetime(2025, 3, 5, tzinfo=UTC)
        issues[ids[6]].extension_pending = True
        for i in ids[6:8]:  # back-fill's shared routing answer
            answer = issues[i].own_routing
            shared = s.scalar(select(IssueRouting).where(IssueRouting.hash == answer_hash(answer)))
            if shared is None:
                shared = IssueRouting(hash=answer_hash(answer), answer=answer)
                s.add(shared)
                s.flush()
            issues[i].own_routing, issues[i].routing_id = None, shared.id
        issues[ids[8]].own_routing = None  # no routing answer at all
        s.commit()
        assert any(p.role == "co_responsible" for p in issues[ids[4]].parties)
        return {
            "ids": ids,
            "triage": triage,
            "owner": owner.key,
            "co": co.key,
            "leader": leaders[0].key,
        }


def _both(client, monkeypatch, path, params, headers):
    """The route's answer as columns, then as the ORM build; both JSON texts."""
    new = client.get(path, params=params, headers=headers)
    with monkeypatch.context() as m:
        m.setattr(svc, "list_issue_items", _orm_items)
        old = client.get(path, params=params, headers=headers)
    assert new.status_code == old.status_code == 200, (new.text, old.text)
    return new.json(), old.json()


def test_column_items_equal_the_orm_items(client, store, clock, monkeypatch):
    seeded = _seed(client, store, clock)
    viewers = {
        "admin": {},
        "dispatcher": CC,
        "owner unit": client.as_user("unit_handler", unit=seeded["owner"]),
        "co-responsible unit": client.as_user("unit_handler", unit=seeded["co"]),
        "leader": client.as_user("leader", leader=seeded["leader"]),
        "grid worker": GRID_WORKER,
    }
    queries = [{}, {"routing": "true"}, {"kind": "open"}, {"state": "triage"}]
    queries += [{"order": o, "limit": 4, "offset": 1} for o in ORDERS]
    queries += [
        {"unit": seeded["co"]},
        {"unit": seeded["owner"], "owner_only": "true", "order": "deadline"},
        {"leader": seeded["leader"], "routing": "true"},
        {"area": COMPOUND, "kind": "open", "order": "deadline", "limit": 3},
        {"category": "dumping", "source": ["grid_worker", "referral"]},
        {"q": "垃圾", "overdue": "false"},
        {"overdue": "true", "escalated": "true"},
        {"extension_pending": "true", "routing": "true"},
        {"limit": 1000, "order": "-id"},
    ]
    seen = {name: set() for name in viewers}
    for name, headers in viewers.items():
        for params in queries:
            new, old = _both(client, monkeypatch, "/api/v1/issues", params, headers)
            assert json.dumps(new, ensure_ascii=False) == json.dumps(old, ensure_ascii=False), (
                name,
                params,
            )
            seen[name] |= {i["id"] for i in new["items"]}
    # the comparison saw what it must: each viewer some issues, the unit and leader
    # fewer than the admin; co-responsible units, leaders, shared routing, flags
    assert all(seen.values()) and seen["admin"] == set(seeded["ids"]) | {seeded["triage"]}
    assert seen["co-responsible unit"] < seen["admin"] and seen["leader"] < seen["admin"]
    page = client.get("/api/v1/issues", params={"limit": 1000}).json()["items"]
    by_id = {i["id"]: i for i in page}
    assert by_id[seeded["ids"][5]]["flags"] == ["overdue", "escalated"]
    assert by_id[seeded["ids"][5]]["overdue_at"] == "2025-03-04T02:30:15.250000Z"
    co_units = [u["key"] for u in by_id[seeded["ids"][4]]["co_responsible_units"]]
    assert co_units[-1] == seeded["co"]  # routing's, then the one added
    added = [x["role"] for x in by_id[seeded["ids"][5]]["leaders"]][-2:]
    assert added == ["contract", "road_chief"]  # routing's leaders, then the two added
    assert by_id[seeded["ids"][6]]["township"] is not None  # from the shared answer
    assert by_id[seeded["ids"][8]]["township"] is None  # no answer
    assert any(i["location"] and i["location"]["input"] for i in page)  # the GCJ-02 input


@pytest.mark.parametrize("cap", [2, 3, 20])
def test_bounded_totals_are_the_same(client, store, clock, monkeypatch, cap):
    """``total``, ``total_capped`` and ``next_offset`` as before, capped or not."""
    from civgrid.api.routers import issues as issues_router

    seeded = _seed(client, store, clock)
    monkeypatch.setattr(issues_router, "LIST_COUNT_CAP", cap)
    unit = client.as_user("unit_handler", unit=seeded["owner"])
    for headers in ({}, unit):
        for params in ({"limit": 2}, {"limit": 2, "offset": 3}, {"limit": 5, "offset": 10}):
            new, old = _both(client, monkeypatch, "/api/v1/issues", params, headers)
            assert new == old
            keys = ("total", "total_capped", "next_offset")
            assert [new[k] for k in keys] == [old[k] for k in keys]


def test_page_parties_in_party_order(store, client, clock):
    """Every party of each issue, in its party set's member order; none for no issue."""
    from civgrid.grids.issues.queries import page_parties

    seeded = _seed(client, store, clock)
    with store.session() as s:
        got = page_parties(s, seeded["ids"][4:6])
        assert page_parties(s, []) == {}
        for i in seeded["ids"][4:6]:
            rows = s.scalars(
                select(PartySetMember)
                .where(PartySetMember.set_id == s.get(Issue, i).party_set_id)
                .order_by(PartySetMember.id)
            )
            assert [p[0] for p in got[i]] == [p.role for p in rows]
        assert got[seeded["ids"][5]][-1] == ("road_chief", None, got[seeded["ids"][5]][-1][2])
