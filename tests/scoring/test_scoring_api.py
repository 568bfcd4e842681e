"""Scoring on the database and through the API, on SQLite and PostGIS.

December 2026 on the demo county under the Sheqi profile (per issue −1, street
vending −1.5, media exposure −2 more, −0.2 per overdue day, +0.1 per on-time closure):

* 411327100001 (L01's community): street vending closed 2 days late → −1.5 −0.4 = 98.1;
* 411327100002 (L04's community): media exposure closed on time → −1 −2 +0.1 = 97.1,
  and one issue in November (−1 → 99): named worst in November and December →
  notified twice → a case (约谈) with leader L04;
* every other community 100 → ranks 1 (×12), 13, 14;
* 赊店镇 (8 communities) = (6 × 100 + 98.1 + 97.1) / 8 = 99.4, rank 3 behind the two
  street offices (100); rural townships without inspections are not ranked.

The app's scoring clock is 5 January 2027 (December has ended) unless a test moves it.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from scoring_helpers import bj
from sqlalchemy import select

from civgrid.grids.boundaries.models import Unit
from civgrid.grids.issues.models import Issue
from civgrid.grids.issues.workflow import State

CA, CB = "411327100001", "411327100002"
#: The test app's clock (conftest): 5 January 2027, 10:00 Beijing.
AFTER_DECEMBER = datetime(2027, 1, 5, 2, 0, tzinfo=UTC)
SHEDIAN = "411327100000"
HAOZHAI = "411327101000"  # 郝寨镇: a rural township without community grids


def _sheqi_yaml() -> str:
    from civgrid.grids.scoring.rules import shipped_profile_paths

    return next(p for p in shipped_profile_paths() if p.stem == "sheqi").read_text("utf-8")


SHEQI_YAML = _sheqi_yaml()


def add_issue(session, *, community: str, township: str = SHEDIAN, owner: str = "D03", **kw):
    """Insert an issue row directly (scoring reads rows; the workflow is tested elsewhere)."""
    unit = session.scalars(select(Unit).where(Unit.key == owner)).one()
    now = kw.get("reported_at", datetime.now(UTC))
    issue = Issue(
        state=kw.pop("state", State.closed),
        category_code=kw.pop("category_code", "illegal_flyers"),
        source=kw.pop("source", "grid_worker"),
        priority="normal",
        reporter_role="grid_worker",
        created_at=now,
        updated_at=now,
        community_code=community,
        township_code=township,
        owner_unit_id=unit.id,
        anonymous=False,
        **kw,
    )
    session.add(issue)
    session.flush()
    return issue


@pytest.fixture(autouse=True)
def as_dispatcher(client, login):
    """Requests are made by a command-center dispatcher unless other headers are given."""
    client.headers.update(login("cc", "dispatcher"))


def visit_all_communities(session, store, months=("2026-11", "2026-12")) -> None:
    """Done patrol visits of every community in ``months`` (Sheqi scores what was
    inspected: ``sampling: visited``)."""
    from civgrid.grids.patrol.models import PatrolPlan, PatrolVisit

    comms = [a.code for a in store.areas(layer="community", session=session)]
    for month in months:
        plan = PatrolPlan(month=month, settings={}, summary={})
        y, m = (int(x) for x in month.split("-"))
        for i, code in enumerate(comms):
            plan.visits.append(
                PatrolVisit(
                    team_key="T1",
                    day=date(y, m, 1 + i),
                    seq=i,
                    target_layer="community",
                    target_code=code,
                    community_code=code,
                    kind="routine",
                    reasons=[],
                    status="done",
                )
            )
        session.add(plan)
    session.flush()


@pytest.fixture
def scenario(store):
    """December's issues; the patrols visited every community in November and December."""
    with store.session() as s:
        visit_all_communities(s, store)
        a = add_issue(
            s,
            community=CA,
            category_code="street_vending",
            reported_at=bj(12, 1),
            deadline=bj(12, 2),
            closed_at=bj(12, 4),
        )
        b = add_issue(
            s,
            community=CB,
            source="media_exposure",
            reported_at=bj(12, 5),
            deadline=bj(12, 6),
            closed_at=bj(12, 6, 9),
            owner="D04",
        )
        add_issue(s, community=CB, reported_at=bj(11, 10), state=State.rectifying)
        return {"a": a.id, "b": b.id}


def _rows(client, level, period="2026-12", **params):
    r = client.get("/api/v1/scores", params={"level": level, "period": period, **params})
    assert r.status_code == 200, r.text
    return {x["code"]: x for x in r.json()["scores"]}


def test_scores_by_hand(client, scenario):
    comm = _rows(client, "community")
    assert len(comm) == 14
    assert comm[CA]["points"] == pytest.approx(98.1) and comm[CA]["rank"] == 13
    assert comm[CB]["points"] == pytest.approx(97.1) and comm[CB]["rank"] == 14
    assert sorted({x["rank"] for c, x in comm.items() if c not in (CA, CB)}) == [1]
    assert comm[CA]["tier"] == "good" and comm[CA]["tier_label"] == "好"
    town = _rows(client, "township")
    assert town[SHEDIAN]["points"] == pytest.approx(99.4) and town[SHEDIAN]["rank"] == 3
    ranked = [x for x in town.values() if x["rank"] is not None]
    assert len(ranked) == 3 and {x["rank"] for x in ranked} == {1, 3}
    # explained
    one = client.get(f"/api/v1/scores/community/{CA}", params={"period": "2026-12"}).json()
    assert [(i["rule"], i["points"], i["issue_id"]) for i in one["items"]] == [
        ("issue", -1.5, scenario["a"]),
        ("overdue", -0.4, scenario["a"]),
    ]
    assert one["items"][1]["reason"] == "超期2个工作日"  # Sheqi counts working days: 3, 4 Dec
    # the composite ranking needs the minimum sample (5): nobody is ranked
    ind = client.get("/api/v1/indicators", params={"by": "department", "period": "2026-12"})
    rows = {r["code"]: r for r in ind.json()["rows"]}
    assert rows["D04"]["on_time_rate"] == 1.0 and rows["D04"]["rank"] is None
    assert rows["D03"]["closure_rate"] == 1.0 and rows["D03"]["on_time_rate"] == 0.0
    rk = client.get("/api/v1/rankings", params={"level": "community", "period": "2026-12"})
    assert rk.json()["rows"][-1]["code"] == CB
    # only the inspected communities (sampled): none of the scenario's issues is an
    # inspection but the media exposure — only CB is scored and ranked
    r = client.get("/api/v1/scores", params={"period": "2026-12", "sample": "inspected"})
    ranked = [(x["code"], x["rank"]) for x in r.json()["scores"] if x["rank"] is not None]
    assert ranked == [(CB, 1)]
    for level in ("road_section", "department", "unit_grid"):
        rows = _rows(client, level)
        assert rows and all(x["points"] <= 100 for x in rows.values())
    assert _rows(client, "department")["D03"]["points"] == pytest.approx(98.1)


def test_leader_dashboards_match_scores(client, scenario, login):
    comm, town = _rows(client, "community"), _rows(client, "township")
    d1 = client.get("/api/v1/leaders/L01/dashboard", params={"period": "2026-12"}).json()
    d4 = client.get("/api/v1/leaders/L04/dashboard", params={"period": "2026-12"}).json()
    assert {(r["level"], r["code"]) for r in d1["rows"]} == {
        ("community", CA),
        ("township", "411327101000"),
    }
    assert {(r["level"], r["code"]) for r in d4["rows"]} == {
        ("community", CB),
        ("township", SHEDIAN),
    }
    for d in (d1, d4):
        for r in d["rows"]:
            api = (comm if r["level"] == "community" else town)[r["code"]]
            assert (r["points"], r["rank"], r["tier"]) == (api["points"], api["rank"], api["tier"])
    r = {x["code"]: x for x in d4["rows"]}
    assert r[CB]["of"] == 14 and r[SHEDIAN]["of"] == 3
    assert [t["period"] for t in r[CB]["trend"]] == ["2026-10", "2026-11", "2026-12"]
    assert [t["points"] for t in r[CB]["trend"]] == [100.0, 99.0, pytest.approx(97.1)]
    # the page
    page = client.get("/leaders/L04/scores", params={"period": "2026-12"})
    assert page.status_code == 200 and "考核看板" in page.text and "97.1" in page.text
    assert client.get("/api/v1/leaders/L99/dashboard").status_code == 404
    # a leader sees their own dashboard, and no other leader's
    l01 = login("l01", "leader", leader_key="L01")
    mine = client.get("/api/v1/leaders/L01/dashboard", params={"period": "2026-12"}, headers=l01)
    assert mine.status_code == 200 and mine.json()["rows"] == d1["rows"]
    assert client.get("/api/v1/leaders/L04/dashboard", headers=l01).status_code == 404
    assert client.get("/leaders/L04/scores", headers=l01).status_code == 404
    # the leader's map page carries the scores section, loaded from the same API
    leader_map = client.get("/leaders/L04").text
    assert 'id="cg-leader-scores"' in leader_map
    assert "/api/v1/leaders/L04/dashboard" in leader_map


def test_cases_idempotent_with_history(client, scenario, login, set_clock):
    body = {"period": "2026-12"}
    # a month that has not ended is not evaluated (its ranking is hypothetical)
    set_clock(bj(12, 7))
    r = client.post("/api/v1/accountability/cases", json=body)
    assert r.status_code == 422 and "2026-12 has not ended" in r.text
    set_clock(AFTER_DECEMBER)
    # no bulletin published: nobody was named, no case (CB is last in Nov and Dec)
    none = client.post("/api/v1/accountability/cases", json=body).json()
    assert none == {"opened": [], "existing": []}
    for month in ("2026-11", "2026-12"):
        assert client.post("/api/v1/bulletins", json={"period": month}).status_code == 201
    assert client.post("/api/v1/accountability/cases", json=body).status_code == 200
    r = client.get("/api/v1/accountability/cases").json()
    assert [(c["unit_code"], c["rule_id"], c["action"], c["leader_key"]) for c in r] == [
        (CB, "notified_twice", "interview", "L04")
    ]
    case = r[0]
    assert len(case["facts"]) == 2 and case["facts"][0].startswith("2026年11月：得分99")
    again = client.post("/api/v1/accountability/cases", json=body).json()
    assert again["opened"] == [] and again["existing"] == [case["id"]]
    # only the command center acts
    unit = login("d04", "unit_handler", unit_key="D04")
    url = f"/api/v1/accountability/cases/{case['id']}/actions"
    assert client.post(url, json={"action": "interview"}, headers=unit).status_code == 403
    ok = client.post(url, json={"action": "interview", "note": "已约谈社区主任"})
    assert ok.status_code == 200
    assert client.post(url, json={"action": "close"}).status_code == 422
    closed = client.post(url, json={"action": "close", "note": "已整改"}).json()
    assert closed["status"] == "closed" and closed["close_note"] == "已整改"
    assert [h["action"] for h in closed["history"]] == ["opened", "interview", "close"]
    one = client.get(f"/api/v1/accountability/cases/{case['id']}").json()
    assert one["history"][1]["note"] == "已约谈社区主任" and one["history"][1]["actor_who"] == "cc"
    assert client.get("/api/v1/accountability/cases/999999").status_code == 404
    assert client.post(url, json={"action": "note", "note": "x"}).status_code == 409
    # closed cases stay closed on re-evaluation
    client.post("/api/v1/accountability/cases", json=body)
    assert client.get("/api/v1/accountability/cases", params={"status": "open"}).json() == []


def test_bulletin_published_frozen(client, store, scenario, set_clock):
    from openpyxl import load_workbook

    r = client.post("/api/v1/bulletins", json={"period": "2026-12"})
    assert r.status_code == 201, r.text
    b = r.json()
    assert b["number"] == "社创通〔2026〕第1号" and b["kind"] == "monthly"
    content = b["content"]
    assert [w["code"] for w in content["worst"] if w["level"] == "community"] == [CB, CA]
    # November was never published: CB has been named once (by this bulletin) — no case
    assert content["cases"] == []
    assert content["heat_link"] == "/map/heat?from=2026-12-01&to=2026-12-31"
    again = client.post("/api/v1/bulletins", json={"period": "2026-12"})
    assert again.status_code == 409
    x = client.get(f"/api/v1/bulletins/{b['id']}.xlsx")
    assert x.status_code == 200 and x.headers["x-content-sha256"] == b["sha256"]
    wb = load_workbook(io.BytesIO(x.content))
    assert wb.sheetnames == [
        *("社区排名", "乡镇排名", "部门指标", "问责情形", "负面清单", "专项行动"),
        *("点位抽查", "不达标点位"),  # Sheqi scores field points (issue 23)
    ]
    ws = wb["社区排名"]
    assert ws["A1"].value == "2026年12月创建文明城市工作月通报 社创通〔2026〕第1号"
    assert [c.value for c in ws[2]][:4] == ["名次", "单位", "代码", "得分"]
    last = [c.value for c in ws[ws.max_row]]
    assert (last[0], last[2], last[3]) == (14, CB, pytest.approx(97.1))
    # negative list: its own headers, Chinese category names; unsampled townships 未抽查
    neg = wb["负面清单"]
    assert [c.value for c in neg[2]] == ["单位", "层级", "问题编号", "问题类别", "情形"]
    assert [c.value for c in neg[3]][3] == "占道经营"
    towns = {r[2].value: [c.value for c in r] for r in wb["乡镇排名"].iter_rows(min_row=3)}
    assert towns[HAOZHAI][3] == "未抽查" and towns[HAOZHAI][7] == "未抽查"
    html = client.get(f"/bulletins/{b['id']}").text
    assert "street_vending" not in html and "占道经营" in html
    # a late report changes the live scores but never the published bulletin
    with store.session() as s:
        add_issue(s, community=CA, reported_at=bj(12, 20))
    assert _rows(client, "community")[CA]["points"] == pytest.approx(97.1)
    # … nor does a rule change: rewriting the rules of December is refused (422), …
    yaml_ct = {"Content-Type": "application/yaml"}
    rewrite = "profile: sheqi\nname: x\nversions:\n  - effective_from: 2026-01-01\n    base: 50\n"
    r = client.post(
        "/api/v1/scoring/rules", content=rewrite, headers=yaml_ct, params={"file": "sheqi.yaml"}
    )
    assert r.status_code == 422, r.text
    assert (r.json()["file"], r.json()["line"]) == ("sheqi.yaml", 3)
    assert "2022-03-06" in r.json()["detail"]
    # … and a version dated after today applies from then on only
    newer = SHEQI_YAML + "  - effective_from: 2027-02-01\n    base: 50\n"
    assert client.post("/api/v1/scoring/rules", content=newer, headers=yaml_ct).status_code == 200
    assert _rows(client, "community")[CA]["points"] == pytest.approx(97.1)  # December: as was
    # February has not begun on 5 January: it is not scored (422) …
    r = client.get("/api/v1/scores", params={"period": "2027-02"})
    assert r.status_code == 422 and "2027-02 has not begun" in r.text
    set_clock(bj(2, 10, year=2027))  # … until it has, with the new rules
    assert _rows(client, "community", "2027-02")[CA]["points"] == 50.0
    frozen = client.get(f"/api/v1/bulletins/{b['id']}").json()["content"]
    assert {r["code"]: r["points"] for r in frozen["communities"]}[CA] == pytest.approx(98.1)
    assert frozen["rules_effective_from"] == "2022-03-06"
    page = client.get(f"/bulletins/{b['id']}")
    assert page.status_code == 200 and "社创通〔2026〕第1号" in page.text
    assert "/map/heat?from=2026-12-01" in page.text
    q = client.post("/api/v1/bulletins", json={"period": "2026Q4"}).json()
    # each series is numbered on its own: the first quarterly assessment is 第1号
    assert q["number"] == "社创考〔2026〕第1号" and q["kind"] == "quarterly"
    from civgrid.grids.scoring.bulletins import published_through

    with store.session() as s:
        assert published_through(s, "sheqi") == date(2026, 12, 31)
        assert published_through(s, "quzhou") is None


def test_negative_list(client, scenario, login):
    r = client.get(
        f"/api/v1/units/{CA}/negative-list", params={"level": "community", "period": "2026-12"}
    ).json()
    assert [(e["issue_id"], e["kind"]) for e in r["entries"]] == [(scenario["a"], "overdue")]
    d = client.get("/api/v1/units/D04/negative-list", params={"period": "2026-12"}).json()
    assert d["entries"] == [] and d["name"] == "县公安局"
    d04 = login("d04", "unit_handler", unit_key="D04")
    own = client.get("/api/v1/units/D04/negative-list", params={"period": "2026-12"}, headers=d04)
    assert own.status_code == 200
    assert client.get("/api/v1/units/D03/negative-list", headers=d04).status_code == 404
    nb = client.get(
        f"/api/v1/units/{CB}/negative-list", params={"level": "community", "period": "2026-12"}
    ).json()
    assert nb["triggers"] == []  # no bulletin published: CB was never named
    page = client.get(f"/scores/community/{CA}", params={"period": "2026-12"})
    assert page.status_code == 200
    assert "超期2个工作日" in page.text and f"问题#{scenario['a']}" in page.text
    assert "98.1" in page.text


def test_rules_upload_refused_keeps_rules(client, set_clock):
    before = client.get("/api/v1/scoring/rules").json()
    bad = "profile: sheqi\nname: x\nversions:\n  - effective_from: 2026-01-01\n    base: -5\n"
    r = client.post(
        "/api/v1/scoring/rules",
        content=bad,
        params={"file": "sheqi.yaml"},
        headers={"Content-Type": "application/yaml"},
    )
    assert r.status_code == 422
    p = r.json()
    assert (p["file"], p["line"]) == ("sheqi.yaml", 5) and "base" in p["detail"]
    assert client.get("/api/v1/scoring/rules").json() == before
    # well-formed, but it replaces the rules in force since 2022: refused, rules kept
    rewrite = "profile: sheqi\nname: x\nversions:\n  - effective_from: 2026-01-01\n    base: 50\n"
    r = client.post(
        "/api/v1/scoring/rules",
        content=rewrite,
        params={"file": "sheqi.yaml"},
        headers={"Content-Type": "application/yaml"},
    )
    assert r.status_code == 422 and "must be kept unchanged" in r.json()["detail"]
    assert client.get("/api/v1/scoring/rules").json() == before
    # a new version after today (5 January 2027): accepted; December keeps its base of 100
    ok = SHEQI_YAML + "  - effective_from: 2027-01-06\n    base: 50\n"
    r = client.post(
        "/api/v1/scoring/rules", content=ok, headers={"Content-Type": "application/yaml"}
    )
    assert r.status_code == 200 and r.json()["versions"] == ["2022-03-06", "2027-01-06"]
    top = client.get("/api/v1/scores", params={"period": "2026-12"}).json()["scores"][0]
    assert top["points"] == 100.0
    assert _rows(client, "community", "2027-01")[CA]["points"] == 100.0  # January: old rules
    # the next day the new version is in force and can no longer change
    set_clock(datetime(2027, 1, 6, 4, 0, tzinfo=UTC))
    r = client.post(
        "/api/v1/scoring/rules",
        content=ok.replace("base: 50", "base: 60"),
        headers={"Content-Type": "application/yaml"},
    )
    assert r.status_code == 422 and "2027-01-06" in r.json()["detail"]
    # unknown codes are refused with the line (the category list is the county's)
    odd = SHEQI_YAML.replace("street_vending: 1.5", "street_vendors: 1.5")
    r = client.post(
        "/api/v1/scoring/rules",
        content=odd,
        params={"file": "sheqi.yaml"},
        headers={"Content-Type": "application/yaml"},
    )
    line = 1 + next(i for i, x in enumerate(odd.splitlines()) if "street_vendors" in x)
    assert r.status_code == 422 and r.json()["line"] == line
    assert "unknown category code 'street_vendors'" in r.json()["detail"]


def test_running_month_is_scored_as_of_now(client, store, scenario, set_clock):
    """9 December 10:00: an open issue of CA due 6 December 10:00 (a Sunday) is 3 working
    days overdue (−0.6), not 10 (capped; 19 working days to the end of the month):
    CA = 100 − 1.5 − 0.4 − 1 − 0.6 = 96.5.
    The December bulletin cannot be published yet; on 5 January it can, and the
    overdue days run to the end of December: capped at 10 → CA = 95.1."""
    with store.session() as s:
        late = add_issue(
            s, community=CA, reported_at=bj(12, 5), deadline=bj(12, 6), state=State.rectifying
        ).id
    set_clock(bj(12, 9))
    one = client.get(f"/api/v1/scores/community/{CA}", params={"period": "2026-12"}).json()
    assert one["points"] == pytest.approx(96.5)
    assert [(i["issue_id"], i["reason"]) for i in one["items"] if i["rule"] == "overdue"] == [
        (scenario["a"], "超期2个工作日"),
        (late, "超期3个工作日"),
    ]
    neg = client.get(
        f"/api/v1/units/{CA}/negative-list", params={"level": "community", "period": "2026-12"}
    ).json()
    assert [(e["issue_id"], e["label"]) for e in neg["entries"]] == [
        (scenario["a"], "超期2个工作日"),
        (late, "超期3个工作日"),
    ]
    # the current month by default, as of the clock
    assert client.get("/api/v1/scores").json()["period"] == "2026-12"
    draft = client.get("/api/v1/bulletins/preview", params={"period": "2026-12"}).json()
    assert draft["summary"]["overdue"] == 2 and draft["as_of"] == bj(12, 9).isoformat()
    assert "统计截至2026-12-09 10:00" in client.get("/scores/bulletin?period=2026-12").text
    r = client.post("/api/v1/bulletins", json={"period": "2026-12"})
    assert r.status_code == 409 and "2026-12 has not ended" in r.json()["detail"]
    assert client.post("/api/v1/bulletins", json={"period": "2026Q4"}).status_code == 409
    assert client.get("/api/v1/bulletins").json() == []
    # November has ended: it may be published
    assert client.post("/api/v1/bulletins", json={"period": "2026-11"}).status_code == 201
    set_clock(datetime(2027, 1, 5, 2, 0, tzinfo=UTC))
    assert _rows(client, "community")[CA]["points"] == pytest.approx(95.1)
    neg = client.get(
        f"/api/v1/units/{CA}/negative-list", params={"level": "community", "period": "2026-12"}
    ).json()
    # working days (Sheqi's day_counts): 7–31 December, weekdays only = 19 (26 calendar days)
    assert [e["label"] for e in neg["entries"]] == ["超期2个工作日", "超期19个工作日"]
    b = client.post("/api/v1/bulletins", json={"period": "2026-12"})
    assert b.status_code == 201 and b.json()["content"]["summary"]["overdue"] == 2


def test_named_worst_counts_published_bulletins(client, store, scenario):
    """The November bulletin named CB only. A late November report for CA (99, tied with
    CB) would make the computed November ranking name CA too — and, with December, CA
    would be 'notified twice'. Cases follow what was issued: only CB, with the number."""
    nov = client.post("/api/v1/bulletins", json={"period": "2026-11"}).json()
    named = [(w["code"], w["points"]) for w in nov["content"]["worst"] if w["level"] == "community"]
    assert named == [(CB, 99.0)]
    with store.session() as s:
        add_issue(s, community=CA, reported_at=bj(11, 25))
    live = _rows(client, "community", "2026-11")
    assert (live[CA]["points"], live[CB]["points"]) == (99.0, 99.0)
    dec = client.post("/api/v1/bulletins", json={"period": "2026-12"}).json()
    assert [c["facts"] for c in dec["content"]["cases"]] == [
        [  # its own month: being issued
            f"2026年11月：得分99，第14名，月通报（{nov['number']}）中被点名",
            f"2026年12月：得分97.1，第14名，月通报（{dec['number']}）中被点名",
        ]
    ]
    r = client.post("/api/v1/accountability/cases", json={"period": "2026-12"}).json()
    assert [(c["unit_code"], c["rule_id"]) for c in r["opened"]] == [(CB, "notified_twice")]
    assert r["opened"][0]["facts"] == dec["content"]["cases"][0]["facts"]


def test_patrol_sampling(client, store, set_clock):
    """Done patrol visits in December sample: CA (a community target), the community of a
    visited unit grid, 郝寨镇 (a township target: no community grids) and the township
    holding a visited key site; planned and missed visits, November visits and visits
    after now do not. Scores with sample=patrol rank only those."""
    from types import SimpleNamespace

    from civgrid.grids.patrol.models import PatrolPlan, PatrolVisit
    from civgrid.grids.scoring.score import Period
    from civgrid.grids.scoring.service import patrol_sample

    with store.session() as s:
        grid = next(
            a for a in store.areas(layer="unit_grid", session=s) if a.parent_code not in (CA, CB)
        )
        grid_town = next(
            a.parent_code
            for a in store.areas(layer="community", session=s)
            if a.code == grid.parent_code
        )
        rao = "411327102000"  # 饶良镇: visited in November only
        plan = PatrolPlan(month="2026-12", settings={}, summary={})
        visits = [
            ("community", CA, None, date(2026, 12, 3), "done"),
            ("community", CB, CB, date(2026, 12, 4), "planned"),
            ("community", "411327100003", None, date(2026, 12, 4), "missed"),
            ("unit_grid", grid.code, None, date(2026, 12, 5), "done"),
            ("township", HAOZHAI, None, date(2026, 12, 7), "done"),
            ("key_site", "KSX", None, date(2026, 12, 8), "done"),
            ("township", rao, None, date(2026, 11, 28), "done"),
            ("community", "411327100004", None, date(2026, 12, 20), "done"),
        ]
        for i, (layer, code, comm, day, status) in enumerate(visits):
            plan.visits.append(
                PatrolVisit(
                    team_key="T1",
                    day=day,
                    seq=i,
                    target_layer=layer,
                    target_code=code,
                    community_code=comm,
                    kind="routine",
                    reasons=[],
                    status=status,
                )
            )
        s.add(plan)
        s.flush()
        # a key site inside 饶良镇 (the demo's key sites all lie in the central townships)
        town = next(a for a in store.areas(layer="township", session=s) if a.code == rao)
        site = SimpleNamespace(code="KSX", geom=town.geom.representative_point())
        fake = SimpleNamespace(
            areas=store.areas, key_sites=lambda session=None: [*store.key_sites(session=s), site]
        )
        got = patrol_sample(fake, s, Period.parse("2026-12"), as_of=bj(12, 15))
        assert got == {CA, grid.parent_code, HAOZHAI, rao}
        assert patrol_sample(store, s, Period.parse("2026-12"), as_of=bj(12, 15)) == {
            CA,
            grid.parent_code,
            HAOZHAI,
        }
        assert CA in patrol_sample(store, s, Period.parse("2026-12"))  # no clock: whole month
    set_clock(bj(12, 15))
    ranked = {c for c, x in _rows(client, "community", sample="patrol").items() if x["rank"]}
    assert ranked == {CA, grid.parent_code}
    towns = {c: x for c, x in _rows(client, "township", sample="patrol").items() if x["rank"]}
    assert set(towns) == {HAOZHAI, grid_town, SHEDIAN}
    assert towns[HAOZHAI]["points"] == 100.0
    # default (the Sheqi profile says visited): what patrols visited, nothing inspected here
    assert {c for c, x in _rows(client, "community").items() if x["rank"]} == {
        CA,
        grid.parent_code,
    }
    assert all(x["rank"] for x in _rows(client, "community", sample="all").values())
    # a profile whose rules say sampling: patrol samples by patrols by default
    patrolled = SHEQI_YAML.replace("profile: sheqi", "profile: patrolled").replace(
        "    base: 100\n", "    base: 100\n    sampling: patrol\n"
    )
    r = client.post(
        "/api/v1/scoring/rules", content=patrolled, headers={"Content-Type": "application/yaml"}
    )
    assert r.status_code == 200, r.text
    rows = _rows(client, "community", profile="patrolled")
    assert {c for c, x in rows.items() if x["rank"]} == {CA, grid.parent_code}
    rows = _rows(client, "community", profile="patrolled", sample="all")  # the caller decides
    assert all(x["rank"] for x in rows.values())


def test_streak_covered_by_a_case_opens_nothing(client, store, scenario):
    """A closed 约谈 case of CB for 2026-11 already counted the November naming: December
    (named in November and December) adds one new naming, short of two — no new case."""
    from civgrid.grids.scoring.models import AccountabilityCase

    with store.session() as s:
        s.add(
            AccountabilityCase(
                profile="sheqi",
                rule_id="notified_twice",
                rule_label="x",
                action="interview",
                level="community",
                unit_code=CB,
                unit_name="x",
                period="2026-11",
                facts=[],
                issue_ids=[],
                status="closed",
                opened_at=AFTER_DECEMBER,
            )
        )
    for month in ("2026-11", "2026-12"):
        assert client.post("/api/v1/bulletins", json={"period": month}).status_code == 201
    r = client.post("/api/v1/accountability/cases", json={"period": "2026-12"}).json()
    assert r == {"opened": [], "existing": []}


def test_future_periods_are_refused(client, scenario):
    """On 5 January 2027, March 2027 and the second quarter have not begun: no scores,
    no ranking, no preview naming the 'best' (422); January, running, is scored."""
    for url, params in (
        ("/api/v1/scores", {"period": "2027-03"}),
        ("/api/v1/bulletins/preview", {"period": "2027-03"}),
        ("/api/v1/rankings", {"level": "community", "period": "2027Q2"}),
        ("/api/v1/indicators", {"period": "2027-02"}),
    ):
        r = client.get(url, params=params)
        assert r.status_code == 422 and "has not begun" in r.text, (url, r.text)
    assert client.get("/api/v1/scores", params={"period": "2027-01"}).status_code == 200
