"""Intake under real concurrency on SQLite and PostGIS: no 5xx, every report accounted for.

Each worker thread has its own ``TestClient`` (not entered: every request runs in its
own event loop), so the requests really overlap in the app's thread pool and on the
database; a barrier releases them together.
"""

from __future__ import annotations

import threading
from collections import Counter

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from civgrid.grids.issues.models import Issue, IssueEvent
from support.issue_helpers import COMPOUND, point_in

N = 20


def _parallel(client, requests: list[tuple[str, str, dict]]) -> list:
    """Send ``(method, url, kwargs)`` requests from one thread each, all released at once."""
    app = client.app
    barrier = threading.Barrier(len(requests))
    out: list = [None] * len(requests)

    def one(i: int, method: str, url: str, kw: dict) -> None:
        c = TestClient(app, raise_server_exceptions=False)
        barrier.wait()
        try:
            out[i] = c.request(method, url, **kw)
        except Exception as exc:  # a crash is a finding, reported below
            out[i] = exc

    threads = [
        threading.Thread(target=one, args=(i, m, u, kw)) for i, (m, u, kw) in enumerate(requests)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out


def _auth(client, role: str = "grid_worker", name: str = "gw-1") -> dict[str, str]:
    return {"Authorization": f"Bearer {client.token(name, role, None)}"}


def _statuses(responses) -> Counter:
    return Counter(r.status_code if hasattr(r, "status_code") else repr(r) for r in responses)


def test_parallel_duplicates_merge_into_the_open_issue(client, store):
    lon, lat = point_in(store, COMPOUND)
    body = {"category": "dumping", "source": "grid_worker", "lon": lon, "lat": lat}
    first = client.post("/api/v1/issues", json=body)
    assert first.status_code == 201, first.text
    open_id = first.json()["id"]
    rs = _parallel(
        client,
        [
            ("POST", "/api/v1/issues", {"json": {**body, "description": f"#{i}"}, "headers": h})
            for i in range(N)
            for h in [_auth(client, name=f"gw-{i % 3}")]
        ],
    )
    assert _statuses(rs) == Counter({201: N}), [getattr(r, "text", r) for r in rs]
    merged = [r.json() for r in rs if r.json()["state"] == "merged"]
    created = [r.json() for r in rs if r.json()["state"] != "merged"]
    # every report is stored with its report event; the merged ones point at the open issue
    assert all(m["duplicate_of"] == open_id for m in merged), merged[:2]
    assert len(merged) == N  # the open issue stayed open: no race can be lost here
    assert not created
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Issue)) == N + 1
        target = s.get(Issue, open_id)
        assert target.duplicate_count == N
        linked = s.scalar(
            select(func.count())
            .select_from(IssueEvent)
            .where(IssueEvent.issue_id == open_id, IssueEvent.action == "duplicate_linked")
        )
        assert linked == N
        reports = s.scalar(
            select(func.count()).select_from(IssueEvent).where(IssueEvent.action == "report")
        )
        assert reports == N + 1


def test_parallel_retries_with_one_idempotency_key_replay(client, store):
    lon, lat = point_in(store, COMPOUND)
    body = {"category": "graffiti", "source": "grid_worker", "lon": lon, "lat": lat}
    h = {**_auth(client), "Idempotency-Key": "storm-1"}
    rs = _parallel(client, [("POST", "/api/v1/issues", {"json": body, "headers": h})] * N)
    codes = _statuses(rs)
    assert codes == Counter({201: 1, 200: N - 1}), [getattr(r, "text", r) for r in rs]
    assert len({r.json()["id"] for r in rs}) == 1
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Issue)) == 1
        assert s.scalar(select(func.count()).select_from(IssueEvent)) == 1


def test_a_lost_merge_race_becomes_a_new_issue(store, config, monkeypatch):
    """The open issue found as the duplicate is closed before the count lands: the report
    is not merged into a closed issue and not refused — it becomes a new issue."""
    from sqlalchemy import update

    from civgrid.grids.core.actors import SYSTEM_ACTOR
    from civgrid.grids.issues import intake
    from civgrid.grids.issues import service as svc
    from civgrid.grids.issues.workflow import State

    lon, lat = point_in(store, COMPOUND)
    payload = svc.IssueReport(category="dumping", source="grid_worker", lon=lon, lat=lat)
    with store.session() as s:
        first = svc.report_issue(s, store, SYSTEM_ACTOR, payload, config=config).issue
    real = intake._find_duplicate

    def find_then_close(session, *args, **kw):
        found = real(session, *args, **kw)
        if found is not None:  # another request closes it right after it was found
            with store.session() as other:
                other.execute(update(Issue).where(Issue.id == found).values(state="closed"))
        return found

    monkeypatch.setattr(intake, "_find_duplicate", find_then_close)
    with store.session() as s:
        second = svc.report_issue(s, store, SYSTEM_ACTOR, payload, config=config).issue
        assert second.state == State.assigned and second.duplicate_of_id is None
    with store.session() as s:
        assert s.get(Issue, first.id).duplicate_count == 0


def _created_issue(client, store, category="dumping"):
    lon, lat = point_in(store, COMPOUND)
    body = {"category": category, "source": "grid_worker", "lon": lon, "lat": lat}
    r = client.post("/api/v1/issues", json=body)
    assert r.status_code == 201, r.text
    return r.json()


M = 10


def test_parallel_writes_to_one_issue_are_one_success_and_conflicts(client, store):
    """Identical writes raced on one issue: one wins, the others get 4xx; never a 5xx."""
    d = _created_issue(client, store)
    owner = d["owner_unit"]["key"]
    unit = {"Authorization": f"Bearer {client.token('unit-staff', 'unit_handler', owner)}"}
    cc = {"Authorization": f"Bearer {client.token('cc-1', 'dispatcher', None)}"}
    url = f"/api/v1/issues/{d['id']}"
    ext = {"json": {"reason": "需协调", "working_days": 3}, "headers": unit}
    rs = _parallel(client, [("POST", f"{url}/extensions", ext)] * M)
    codes = _statuses(rs)
    assert codes[201] == 1 and sum(codes.values()) == M and max(codes) < 500, codes
    rid = next(r.json()["id"] for r in rs if r.status_code == 201)
    decide = {"json": {"approve": True}, "headers": cc}
    rs = _parallel(client, [("POST", f"{url}/extensions/{rid}/decision", decide)] * M)
    codes = _statuses(rs)
    assert codes[200] == 1 and max(codes) < 500, codes
    with store.session() as s:
        events = s.scalars(select(IssueEvent.action).where(IssueEvent.issue_id == d["id"])).all()
    assert sorted(events).count("extension_approved") + sorted(events).count("extend") <= 1
    reassign = {"json": {"unit": "D03", "note": "改派"}, "headers": cc}
    rs = _parallel(client, [("POST", f"{url}/reassign", reassign)] * M)
    codes = _statuses(rs)
    assert codes[200] >= 1 and max(codes) < 500, codes


def test_parallel_account_creation_and_failed_logins(client, store):
    admin = {"Authorization": f"Bearer {client.token('admin', 'admin', None)}"}
    new = {"json": {"username": "racer", "role": "viewer"}, "headers": admin}
    rs = _parallel(client, [("POST", "/api/v1/users", new)] * M)
    codes = _statuses(rs)
    assert codes[201] == 1 and codes[409] == M - 1, (codes, [r.text for r in rs])
    form = {"data": {"username": "racer", "password": "wrong-Passw0rd!"}}
    rs = _parallel(client, [("POST", "/api/v1/auth/token", form)] * 5)
    codes = _statuses(rs)
    assert set(codes) <= {401, 429}, (codes, [r.text for r in rs])
    from civgrid.grids.accounts.models import User

    with store.session() as s:
        user = s.scalar(select(User).where(User.username == "racer"))
        # every failure counted (no lost update): the 5th in parallel still locks the account
        assert codes[401] == 5
        assert user.locked_until is not None and user.failed_logins == 0, user.failed_logins


def test_parallel_deadline_checks_issue_each_notice_once(client, store, clock):
    from datetime import UTC, datetime

    from civgrid.grids.issues.models import SupervisionNotice

    lon, lat = point_in(store, COMPOUND)
    ids = []
    for dx in (0.0, 0.01):  # two overdue issues, far enough apart not to merge
        body = {"category": "street_vending", "source": "grid_worker", "lon": lon + dx, "lat": lat}
        r = client.post("/api/v1/issues", json=body)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    clock.set(datetime(2025, 3, 4, 2, 0, tzinfo=UTC))  # past the 24 h deadline
    cc = {"Authorization": f"Bearer {client.token('cc-1', 'dispatcher', None)}"}
    rs = _parallel(client, [("POST", "/api/v1/deadlines/check", {"headers": cc})] * 6)
    codes = _statuses(rs)
    assert codes[200] >= 1 and max(codes) < 500, (codes, [getattr(r, "text", r) for r in rs])
    with store.session() as s:
        notices = s.scalars(select(SupervisionNotice)).all()
        assert sorted(n.issue_id for n in notices) == sorted(ids)  # one notice per issue
        assert sorted(n.seq for n in notices) == [1, 2]  # numbered without gaps
        assert all(s.get(Issue, i).notice_count == 1 for i in ids)
