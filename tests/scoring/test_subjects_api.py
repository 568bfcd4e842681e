"""Sheqi's subjects on the database and through the API (SQLite and PostGIS): 联建 work
of civilized units, the key-task and other-task rankings over their own periods, the
bonus stops on civilized units, adjustments, the annual result and the half-yearly and
annual bulletins.

The demo pairs 县新华书店 (CU01) with 411327100001 and 县供电公司 (CU02) with
411327100002. Patrols visit every community in October–December (Sheqi scores what
was inspected). Q4 of the communities, as in test_scoring_api:

* 411327100001: October 100, November 100, December 98.1 (street vending −1.5, closed
  2 working days late −0.4) → (100 + 100 + 98.1) / 3;
* 411327100002: October 100, November 99 (one issue), December 97.1 (media exposure
  −1 −2, closed on time +0.1) → (100 + 99 + 97.1) / 3.
"""

from __future__ import annotations

import pytest
from scoring_helpers import bj
from sqlalchemy import select
from test_scoring_api import CA, CB, SHEDIAN, add_issue, visit_all_communities

from civgrid.grids.core.audit import AuditRecord
from civgrid.grids.issues.workflow import State

QA = (100 + 100 + 98.1) / 3
QB = (100 + 99 + 97.1) / 3


@pytest.fixture(autouse=True)
def as_dispatcher(client, login):
    client.headers.update(login("cc", "dispatcher"))


@pytest.fixture
def quarter(store):
    with store.session() as s:
        visit_all_communities(s, store, months=("2026-10", "2026-11", "2026-12"))
        add_issue(
            s,
            community=CA,
            category_code="street_vending",
            reported_at=bj(12, 1),
            deadline=bj(12, 2),
            closed_at=bj(12, 4),
        )
        add_issue(
            s,
            community=CB,
            source="media_exposure",
            reported_at=bj(12, 5),
            deadline=bj(12, 6),
            closed_at=bj(12, 6, 9),
            owner="D04",
        )
        add_issue(s, community=CB, reported_at=bj(11, 10), state=State.rectifying)


def _ok(r, status=200):
    assert r.status_code == status, r.text
    return r.json()


def _work(client, unit, points, period="2026Q4", note="组织志愿服务、清理楼院"):
    return client.post(
        "/api/v1/pairing-work",
        json={"unit_key": unit, "period": period, "points": points, "note": note},
    )


def test_civilized_units_key_task_other_task_and_bonus_stops(client, store, quarter):
    # 联建 work: one record per unit and period, replaced when entered again, audited
    assert _ok(_work(client, "CU01", -2))["unit_name"] == "县新华书店"
    _ok(_work(client, "CU01", -3, note="联建活动缺席两次"))
    rows = _ok(client.get("/api/v1/pairing-work", params={"period": "2026Q4"}))
    assert [(r["unit_key"], r["points"], r["note"]) for r in rows] == [
        ("CU01", -3.0, "联建活动缺席两次")
    ]
    with store.session() as s:
        audits = s.scalars(
            select(AuditRecord)
            .where(AuditRecord.action == "score.pairing_work.record")
            .order_by(AuditRecord.id)
        ).all()
        assert [a.before for a in audits] == [
            None,
            {"points": -2.0, "note": "组织志愿服务、清理楼院"},
        ]
        assert audits[-1].after["points"] == -3.0 and audits[-1].actor_role == "dispatcher"
    r = _work(client, "D03", 1)  # 县城管局 is paired with no community
    assert r.status_code == 422 and "not paired" in r.text

    # a pairing unit's quarter = its community's quarter + its 联建 work (by hand)
    got = _ok(client.get("/api/v1/subjects/civilized_units", params={"period": "2026Q4"}))
    assert got["level"] == "civilized_unit" and "县直联建单位的成绩" in got["citation"]
    by = {s["code"]: s for s in got["scores"]}
    assert len(by) == 14
    assert by["CU01"]["points"] == pytest.approx(QA - 3, abs=1e-4)
    assert [(i["rule"], i["ref"]) for i in by["CU01"]["items"]] == [
        ("community", CA),
        ("pairing_work", None),
    ]
    assert by["CU01"]["items"][0]["points"] == pytest.approx(QA, abs=1e-4)
    assert by["CU02"]["points"] == pytest.approx(QB, abs=1e-4)  # no work recorded: + 0
    assert by["CU01"]["rank"] == 14 and by["CU02"]["rank"] == 13
    # the unit's own score page and API agree with the ranking
    one = _ok(client.get("/api/v1/scores/civilized_unit/CU01", params={"period": "2026Q4"}))
    assert (one["points"], one["rank"]) == (by["CU01"]["points"], 14)
    page = client.get("/scores/civilized_unit/CU01", params={"period": "2026Q4"})
    assert page.status_code == 200 and "联建工作" in page.text and "县新华书店" in page.text

    # the lists are assessed over their own periods only
    for subject, period in (("key_task_units", "2026-12"), ("other_task_units", "2026Q4")):
        r = client.get(f"/api/v1/subjects/{subject}", params={"period": period})
        assert r.status_code == 422, r.text
    other = _ok(client.get("/api/v1/subjects/other_task_units", params={"period": "2026H2"}))
    assert [s["name"] for s in other["scores"]][:1] and other["missing"] == []
    assert {s["name"] for s in other["scores"]} >= {"县新华书店", "县工商银行"}
    assert len(other["scores"]) == 14
    # a listed unit owning no issue still has its score page (the bulletin links it)
    cu14 = next(x for x in other["scores"] if x["name"] == "县工商银行")
    got = client.get(f"/api/v1/scores/department/{cu14['code']}", params={"period": "2026H2"})
    assert (_ok(got)["points"], _ok(got)["rank"]) == (cu14["points"], cu14["rank"])
    key = _ok(client.get("/api/v1/subjects/key_task_units", params={"period": "2026Q4"}))
    assert len(key["scores"]) == 18 and key["missing"] == []
    # months measured at department level: November and December (no issue in October).
    # D03 owns the November issue (−1 → 99) and the street vending (98.1); D04 the media
    # exposure (97.1): both (99 + 98.1) / 2 = (100 + 97.1) / 2 = 98.55, tied last
    ks = {s["code"]: s for s in key["scores"]}
    assert ks["D03"]["points"] == pytest.approx((99 + 98.1) / 2, abs=1e-4)
    assert ks["D04"]["points"] == pytest.approx((100 + 97.1) / 2, abs=1e-4)
    assert (ks["D03"]["rank"], ks["D04"]["rank"]) == (17, 17)
    assert {s["rank"] for c, s in ks.items() if c not in ("D03", "D04")} == {1}

    # the bonus stop (停发文明单位奖金) fires on the civilized unit, not on the community
    _ok(_work(client, "CU02", -30))  # QB − 30 < 75: 差
    opened = _ok(client.post("/api/v1/accountability/cases", json={"period": "2026Q4"}))["opened"]
    stops = [
        (c["rule_id"], c["level"], c["unit_code"]) for c in opened if c["action"] == "bonus_stop"
    ]
    assert stops == [("poor_quarter", "civilized_unit", "CU02")]
    assert next(c for c in opened if c["unit_code"] == "CU02")["unit_name"] == "县供电公司"


def test_annual_result_with_an_adjustment_and_the_bulletins(client, store, quarter):
    p0 = {
        s["code"]: s["points"]
        for s in _ok(client.get("/api/v1/scores", params={"level": "township", "period": "2026"}))[
            "scores"
        ]
    }[SHEDIAN]
    body = {
        "period": "2026",
        "level": "township",
        "code": SHEDIAN,
        "kind": "media",
        "points": -2,
        "reason": "11月被市级媒体曝光背街小巷脏乱",
        "source": "市创建办年度测评反馈",
    }
    adj = _ok(client.post("/api/v1/adjustments", json=body), 201)
    assert adj["kind_label"] == "媒体监督"
    for bad in ({"period": "2026-12"}, {"code": "nowhere"}):
        assert client.post("/api/v1/adjustments", json={**body, **bad}).status_code in (404, 422)
    with store.session() as s:
        a = s.scalars(select(AuditRecord).where(AuditRecord.action == "score.adjustment.record"))
        assert [x.after["points"] for x in a] == [-2.0]

    # the annual result: the year's score plus the adjustment; scores and rankings agree
    annual = _ok(client.get("/api/v1/annual-result", params={"year": "2026"}))
    town = {s["code"]: s for s in annual["townships"]}[SHEDIAN]
    assert town["points"] == pytest.approx(p0 - 2, abs=1e-4)
    assert [(i["rule"], i["points"]) for i in town["items"]] == [("period", p0), ("adjustment", -2)]
    again = _ok(client.get("/api/v1/scores", params={"level": "township", "period": "2026"}))
    assert {s["code"]: s["points"] for s in again["scores"]}[SHEDIAN] == town["points"]
    assert [s["subject"] for s in annual["subjects"]] == [
        "civilized_units",
        "key_task_units",
        "other_task_units",
    ]
    assert [x["reason"] for x in annual["adjustments"]] == [body["reason"]]

    # published as an annual bulletin, numbered in its own series like the monthly one
    b = _ok(client.post("/api/v1/bulletins", json={"period": "2026"}), 201)
    assert (b["kind"], b["number"]) == ("annual", "社创年评〔2026〕第1号")
    c = b["content"]
    assert c["title"] == "2026年度创建文明城市工作总评"
    assert {s["code"]: s["points"] for s in c["townships"]}[SHEDIAN] == town["points"]
    assert [x["points"] for x in c["adjustments"]] == [-2.0]
    page = client.get(f"/bulletins/{b['id']}").text
    assert "十、综合加减分" in page and body["reason"] in page and "承担其他任务的单位" in page
    assert client.post("/api/v1/bulletins", json={"period": "2026"}).status_code == 409

    half = _ok(client.post("/api/v1/bulletins", json={"period": "2026H2"}), 201)
    assert (half["kind"], half["number"]) == ("half_yearly", "社创半年考〔2026〕第1号")
    assert [s["subject"] for s in half["content"]["subjects"]] == ["other_task_units"]
    assert len(half["content"]["subjects"][0]["scores"]) == 14
    q = _ok(client.post("/api/v1/bulletins", json={"period": "2026Q4"}), 201)
    assert q["number"] == "社创考〔2026〕第1号"
    secs = {s["subject"]: s for s in q["content"]["subjects"]}
    assert set(secs) == {"civilized_units", "key_task_units"}
    cu01 = {s["code"]: s for s in secs["civilized_units"]["scores"]}["CU01"]
    assert cu01["points"] == pytest.approx(QA, abs=1e-4)  # no 联建 work recorded
