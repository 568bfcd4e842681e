"""``Idempotency-Key`` on issue transitions, on SQLite and PostGIS: a retry replays the
first answer (no 409, no second event), concurrent retries never 5xx, a reused key
with another request is a conflict, and a refused action is not remembered."""

from __future__ import annotations

import threading
from collections import Counter

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from civgrid.grids.core.idempotency import IdempotencyRecord
from civgrid.grids.issues.models import IssueEvent, Photo
from support.issue_helpers import COMPOUND, point_in

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _issue(client, store, category: str = "dumping") -> int:
    lon, lat = point_in(store, COMPOUND)
    r = client.post(
        "/api/v1/issues",
        json={"category": category, "source": "grid_worker", "lon": lon, "lat": lat},
    )
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "assigned"
    return r.json()["id"]


def _events(store, issue_id: int, action: str) -> int:
    with store.session() as s:
        return s.scalar(
            select(func.count())
            .select_from(IssueEvent)
            .where(IssueEvent.issue_id == issue_id, IssueEvent.action == action)
        )


def test_a_retried_accept_and_submit_replay_the_first_answer(client, store):
    i = _issue(client, store)
    tr = f"/api/v1/issues/{i}/transitions"
    first = client.post(tr, json={"action": "accept"}, headers={"Idempotency-Key": "k-accept"})
    assert first.status_code == 200, first.text
    assert "Idempotent-Replay" not in first.headers
    again = client.post(tr, json={"action": "accept"}, headers={"Idempotency-Key": "k-accept"})
    assert again.status_code == 200, again.text
    assert again.headers["Idempotent-Replay"] == "true"
    assert again.json() == first.json()
    assert again.headers["ETag"] == first.headers["ETag"]
    # without the key the same request is what it always was: an illegal transition
    plain = client.post(tr, json={"action": "accept"})
    assert plain.status_code == 409 and "cannot accept" in plain.json()["detail"]
    assert _events(store, i, "accept") == 1

    photo = [("photos", ("fix.png", PNG, "image/png"))]
    body = {"action": "submit", "measures": "已清运"}
    h = {"Idempotency-Key": "k-submit"}
    s1 = client.post(tr, data=body, files=photo, headers=h)
    s2 = client.post(tr, data=body, files=photo, headers=h)
    assert s1.status_code == s2.status_code == 200, (s1.text, s2.text)
    assert s2.json()["state"] == "submitted" and s2.json()["version"] == s1.json()["version"]
    assert _events(store, i, "submit") == 1
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Photo).where(Photo.issue_id == i)) == 1


def test_a_key_reused_for_another_request_is_a_conflict_naming_nothing(client, store):
    i = _issue(client, store)
    j = _issue(client, store, "graffiti")
    h = {"Idempotency-Key": "k-1"}
    assert client.post(f"/api/v1/issues/{i}/transitions", json={"action": "accept"}, headers=h)
    other = client.post(f"/api/v1/issues/{j}/transitions", json={"action": "accept"}, headers=h)
    assert other.status_code == 409
    assert "already used for a different request" in other.json()["detail"]
    assert str(i) not in other.json()["detail"]
    assert _events(store, j, "accept") == 0
    blank = {"Idempotency-Key": " "}
    bad = client.post(f"/api/v1/issues/{j}/transitions", json={"action": "accept"}, headers=blank)
    assert bad.status_code == 422 and "Idempotency-Key" in bad.text


def test_a_refused_action_is_not_remembered(client, store):
    i = _issue(client, store)
    tr = f"/api/v1/issues/{i}/transitions"
    h = {"Idempotency-Key": "k-early"}
    for _ in range(2):  # re-inspecting an issue not yet submitted is refused, each time
        r = client.post(tr, json={"action": "reinspect", "passed": True}, headers=h)
        assert r.status_code == 409, r.text
        assert "cannot reinspect" in r.json()["detail"]
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0


def test_keys_are_private_to_their_account(client, store):
    i = _issue(client, store)
    tr = f"/api/v1/issues/{i}/transitions"
    h = {"Idempotency-Key": "same"}
    assert client.post(tr, json={"action": "accept"}, headers=h).status_code == 200
    other = {**h, **client.as_user("dispatcher", "dispatcher-2")}
    r = client.post(tr, json={"action": "accept"}, headers=other)
    # another account's key is its own: its accept runs (and is illegal now), no replay
    assert r.status_code == 409 and "Idempotent-Replay" not in r.headers


def test_concurrent_retries_with_one_key_never_fail(client, store):
    i = _issue(client, store)
    tr = f"/api/v1/issues/{i}/transitions"
    n = 8
    token = client.token("dispatcher-1", "dispatcher")
    headers = {"Idempotency-Key": "storm", "Authorization": f"Bearer {token}"}
    barrier = threading.Barrier(n)
    out: list = [None] * n

    def one(k: int) -> None:
        c = TestClient(client.app, raise_server_exceptions=False)
        barrier.wait()
        try:
            out[k] = c.post(tr, json={"action": "accept"}, headers=headers)
        except Exception as exc:  # a crash is a finding, reported below
            out[k] = exc

    threads = [threading.Thread(target=one, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    codes = Counter(getattr(r, "status_code", repr(r)) for r in out)
    assert codes == Counter({200: n}), [getattr(r, "text", r) for r in out]
    assert len({r.json()["version"] for r in out}) == 1
    assert sum(r.headers.get("Idempotent-Replay") == "true" for r in out) == n - 1
    assert _events(store, i, "accept") == 1
