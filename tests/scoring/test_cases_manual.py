"""Cases beyond the data, and Shaoxing's order, on the demo county (SQLite and PostGIS).

* Manual cases: the command center opens a case of a profile's manual case type (with
  its clause) about a unit, a community or a leader, with facts and evidence; it is
  acted on and closed like a triggered case, every step in the audit log; a leader sees
  the cases of their own areas only.
* Shaoxing (附件1): a case opens as 限期整改 and is referred to the discipline body only
  when its window passes unrectified (injected clock).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from scoring_helpers import bj
from sqlalchemy import select
from test_scoring_api import CA, CB, HAOZHAI, add_issue

from civgrid.grids.core.audit import AuditRecord
from civgrid.grids.core.outbox import DomainEvent
from civgrid.grids.issues.workflow import State

pytestmark = pytest.mark.slow  # long: scheduled first (tests/conftest.py)

RAOLIANG = "411327102000"  # 饶良镇: a rural township without community grids
JAN5 = datetime(2027, 1, 5, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def as_dispatcher(client, login):
    client.headers.update(login("cc", "dispatcher"))


def _audit(store, case_id: int) -> list[str]:
    with store.session() as s:
        rows = s.scalars(
            select(AuditRecord.action)
            .where(AuditRecord.object_kind == "accountability_case")
            .where(AuditRecord.object_key == str(case_id))
            .order_by(AuditRecord.id)
        ).all()
    return list(rows)


def test_manual_case_open_act_close_audited(client, store, login):
    types = client.get("/api/v1/accountability/case-types").json()
    neglect = next(t for t in types if t["id"] == "neglect")
    assert "严重影响整体工作进展的" in neglect["citation"]
    body = {
        "case_type": "neglect",
        "level": "community",
        "key": CA,
        "facts": ["督查组三次到场，社区拒不配合整改"],
        "evidence": [{"name": "现场照片.jpg", "note": "12月3日"}, {"name": "督办单.pdf"}],
    }
    r = client.post("/api/v1/accountability/cases/manual", json=body)
    assert r.status_code == 200, r.text
    case = r.json()
    assert (case["origin"], case["level"], case["unit_code"]) == ("manual", "community", CA)
    assert case["leader_key"] == "L01"  # CA's contracting leader
    assert case["citation"].startswith("依据：") and "推进不力" in case["citation"]
    assert [e["name"] for e in case["evidence"]] == ["现场照片.jpg", "督办单.pdf"]
    assert case["facts"] == body["facts"] and case["status"] == "open"
    cid = case["id"]
    # same actions as a triggered case
    r = client.post(f"/api/v1/accountability/cases/{cid}/actions", json={"action": "interview"})
    assert r.status_code == 200, r.text
    r = client.post(
        f"/api/v1/accountability/cases/{cid}/actions", json={"action": "close", "note": "已约谈"}
    )
    done = r.json()
    assert done["status"] == "closed"
    assert [h["action"] for h in done["history"]] == ["opened", "interview", "close"]
    assert _audit(store, cid) == ["case.open", "case.action", "case.close"]
    # every step is a domain event for the notifications (docs/notifications.md)
    with store.session() as s:
        events = s.scalars(
            select(DomainEvent).where(DomainEvent.subject_key == str(cid)).order_by(DomainEvent.id)
        ).all()
    assert [(e.kind, e.payload["action"]) for e in events] == [
        ("case_opened", "opened"),
        ("case_acted", "interview"),
        ("case_acted", "close"),
    ]
    assert events[0].payload["leaders"] == ["L01"] and events[2].payload["note"] == "已约谈"
    # a leader sees the cases of their own areas only
    l01 = login("l01", "leader", leader_key="L01")
    l04 = login("l04", "leader", leader_key="L04")
    mine = [c["id"] for c in client.get("/api/v1/accountability/cases", headers=l01).json()]
    assert cid in mine
    theirs = [c["id"] for c in client.get("/api/v1/accountability/cases", headers=l04).json()]
    assert cid not in theirs
    assert client.get(f"/api/v1/accountability/cases/{cid}", headers=l04).status_code == 404
    # a case about a leader by key: that leader sees it, another does not
    r = client.post(
        "/api/v1/accountability/cases/manual",
        json={**body, "level": "leader", "key": "L04", "facts": ["分包社区长期无人到场"]},
    )
    about = r.json()
    assert (about["level"], about["leader_key"], about["unit_name"]) != ("leader", None, "L04")
    assert about["leader_key"] == "L04" and about["unit_name"]
    assert about["id"] in [
        c["id"] for c in client.get("/api/v1/accountability/cases", headers=l04).json()
    ]
    assert about["id"] not in [
        c["id"] for c in client.get("/api/v1/accountability/cases", headers=l01).json()
    ]


def test_manual_case_refused(client):
    base = {"case_type": "neglect", "level": "department", "key": "D03", "facts": ["x"]}
    r = client.post("/api/v1/accountability/cases/manual", json={**base, "case_type": "nope"})
    assert r.status_code == 404 and "neglect" in r.text
    r = client.post("/api/v1/accountability/cases/manual", json={**base, "key": "D999"})
    assert r.status_code == 404
    r = client.post("/api/v1/accountability/cases/manual", json={**base, "facts": [" "]})
    assert r.status_code == 422
    ok = client.post("/api/v1/accountability/cases/manual", json=base)
    assert ok.status_code == 200 and ok.json()["unit_code"] == "D03"


def test_shaoxing_rectify_first_then_refer(client, store, set_clock):
    """Two rural townships below the passing score in 2026Q4 (45 inspected problems a
    month, each closed on time: 100 − 45 + 2 (bonus cap) = 57): cases open as 限期整改
    (10 days); one is rectified in time, the other is referred only after its window
    passes."""
    with store.session() as s:
        for town in (HAOZHAI, RAOLIANG):
            for month in (10, 11, 12):
                for day in range(45):
                    add_issue(
                        s,
                        community=None,
                        township=town,
                        source="field_supervision",
                        reported_at=bj(month, 1 + day % 28),
                        closed_at=bj(month, 1 + day % 28, 12),
                    )
    set_clock(JAN5)
    r = client.post(
        "/api/v1/accountability/cases", json={"period": "2026Q4", "profile": "shaoxing"}
    )
    assert r.status_code == 200, r.text
    cases = {c["unit_code"]: c for c in r.json()["opened"] if c["rule_id"] == "below_passing"}
    assert set(cases) == {HAOZHAI, RAOLIANG}
    hz, rl = cases[HAOZHAI], cases[RAOLIANG]
    assert hz["facts"] == ["2026年第四季度：得分57，低于合格分60分"]
    assert "未达到合格分的" in hz["citation"] and "本地规定" in hz["citation"]
    assert [h["action"] for h in hz["history"]] == ["opened", "rectify_order"]
    assert datetime.fromisoformat(hz["due_at"]) == JAN5 + timedelta(days=10)
    assert hz["referred_at"] is None
    # the window is open: nothing is referred
    set_clock(JAN5 + timedelta(days=9))
    assert client.post("/api/v1/accountability/cases/refer-overdue").json() == []
    r = client.post(
        f"/api/v1/accountability/cases/{rl['id']}/actions",
        json={"action": "rectified", "note": "已整改"},
    )
    assert r.status_code == 200, r.text
    # the window has passed: the unrectified case is referred, once
    set_clock(JAN5 + timedelta(days=10, minutes=1))
    referred = {
        c["id"]: c for c in client.post("/api/v1/accountability/cases/refer-overdue").json()
    }
    # (D03, the owner of all those problems, is below the passing score too)
    assert hz["id"] in referred and rl["id"] not in referred
    assert referred[hz["id"]]["history"][-1]["action"] == "referral"
    assert referred[hz["id"]]["referred_at"] is not None
    assert client.post("/api/v1/accountability/cases/refer-overdue").json() == []
    assert "case.refer" in _audit(store, hz["id"])
    assert "case.refer" not in _audit(store, rl["id"])


def test_bulletin_and_case_show_the_citation(client, store):
    """The bulletin's 问责情形 and the case document carry the clause."""
    with store.session() as s:
        add_issue(s, community=CB, reported_at=bj(11, 10))
        add_issue(s, community=CB, reported_at=bj(12, 10))
        add_issue(s, community=CA, reported_at=bj(11, 10), source="field_supervision")
        add_issue(s, community=CA, reported_at=bj(12, 10), source="field_supervision")
        add_issue(s, community=CB, reported_at=bj(11, 11), source="field_supervision")
        add_issue(s, community=CB, reported_at=bj(12, 11), source="field_supervision")
    nov = client.post("/api/v1/bulletins", json={"period": "2026-11"})
    assert nov.status_code == 201, nov.text
    dec = client.post("/api/v1/bulletins", json={"period": "2026-12"})
    assert dec.status_code == 201, dec.text
    hits = dec.json()["content"]["cases"]
    assert hits and all("连续两次被通报批评的" in h["citation"] for h in hits)
    # the printed bulletin's 问责情形 table has a 依据条款 column with the clause
    from html import escape

    page = client.get(f"/bulletins/{dec.json()['id']}").text
    table = page[page.index('<table id="cg-cases">') :]
    table = table[: table.index("</table>")]
    assert "<th>依据条款</th>" in table
    assert all(escape(h["citation"]) in table for h in hits)
    cases = client.post("/api/v1/accountability/cases", json={"period": "2026-12"}).json()
    assert cases["opened"][0]["citation"] == hits[0]["citation"]
    with store.session() as s:  # each publication is a domain event (docs/notifications.md)
        published = s.scalars(
            select(DomainEvent).where(DomainEvent.kind == "bulletin_published")
        ).all()
    assert [(e.subject_key, e.payload["number"]) for e in published] == [
        (str(nov.json()["id"]), nov.json()["number"]),
        (str(dec.json()["id"]), dec.json()["number"]),
    ]


def test_lvliang_supervision_report_on_the_25th(client, store, set_clock):
    """Lüliang's monthly supervision report is due on the 25th and covers the 1st to the
    25th; the month-end bulletin of the same month is still refused."""
    with store.session() as s:
        add_issue(
            s, community=CA, source="field_supervision", reported_at=bj(12, 3), closed_at=bj(12, 4)
        )
        late = add_issue(
            s,
            community=CA,
            source="unannounced_visit",
            reported_at=bj(12, 10),
            deadline=bj(12, 15),
            state=State.rectifying,
            closed_at=None,
        )
        add_issue(s, community=CB, source="field_supervision", reported_at=bj(12, 27))
        add_issue(s, community=CB, reported_at=bj(12, 5))  # a grid worker's: not supervision
        late_id = late.id
    params = {"month": "2026-12", "profile": "lvliang"}
    set_clock(bj(12, 24, 23))
    r = client.get("/api/v1/supervision-report", params=params)
    assert r.status_code == 422 and "2026-12-25" in r.text
    set_clock(bj(12, 25, 18))
    r = client.get("/api/v1/supervision-report", params=params)
    assert r.status_code == 200, r.text
    rep = r.json()
    assert (rep["report_day"], rep["window"]) == (25, ["2026-12-01", "2026-12-25"])
    assert (rep["found"], rep["rectified"], rep["open"], rep["overdue"]) == (2, 1, 1, 1)
    assert "每月25日总结本月督导情况" in rep["citation"]
    assert late_id  # the open, overdue one is the unannounced visit's
    # the month-end bulletin is not available yet
    r = client.post("/api/v1/bulletins", json={"period": "2026-12", "profile": "lvliang"})
    assert r.status_code in (409, 422) and "2026-12" in r.text
    # after the month: the report still covers the 1st to the 25th only
    set_clock(JAN5)
    assert client.get("/api/v1/supervision-report", params=params).json()["found"] == 2
    # a profile without a report day says so
    r = client.get("/api/v1/supervision-report", params={"month": "2026-12"})
    assert r.status_code == 422 and "supervision" in r.text


def test_two_manual_cases_the_same_day(client):
    """The same situation reported twice on one day about one subject: two cases."""
    body = {"case_type": "neglect", "level": "department", "key": "D03", "facts": ["一"]}
    a = client.post("/api/v1/accountability/cases/manual", json=body)
    b = client.post("/api/v1/accountability/cases/manual", json={**body, "facts": ["二"]})
    assert a.status_code == b.status_code == 200, b.text
    assert a.json()["id"] != b.json()["id"]
    assert (a.json()["period"], b.json()["period"]) == ("20270105-1", "20270105-2")
