"""``Idempotency-Key`` on a patrol visit's outcome (the phone's offline queue): a retry
returns the first answer and is audited once; the key with another outcome is 409."""

from __future__ import annotations

from sqlalchemy import func, select

from civgrid.grids.core.audit import AuditRecord


def _audits(store) -> int:
    with store.session() as s:
        q = select(func.count()).select_from(AuditRecord)
        return s.scalar(q.where(AuditRecord.action == "patrol.visit.outcome"))


def test_a_retried_visit_outcome_replays(client, store):
    assert client.post("/api/v1/patrol/plans", params={"month": "2026-11"}).status_code == 200
    visit = client.get("/api/v1/patrol/plans/2026-11").json()["visits"][0]
    url = f"/api/v1/patrol/visits/{visit['id']}/outcome"
    h = {"Idempotency-Key": "phone-visit-1"}
    first = client.post(url, json={"status": "done"}, headers=h)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "done" and first.json()["id"] == visit["id"]
    before = _audits(store)
    again = client.post(url, json={"status": "done"}, headers=h)
    assert again.status_code == 200 and again.headers["Idempotent-Replay"] == "true"
    assert again.json() == first.json()
    assert _audits(store) == before  # nothing ran the second time
    other = client.post(url, json={"status": "missed"}, headers=h)
    assert other.status_code == 409 and "different request" in other.json()["detail"]
    plan = client.get("/api/v1/patrol/plans/2026-11").json()["visits"]
    assert next(v for v in plan if v["id"] == visit["id"])["status"] == "done"
