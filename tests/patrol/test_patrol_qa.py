"""QA findings on patrol: track days, strict months, settings/scores errors, duplicates and
future dates, due vs planned gaps, Chinese reasons, holidays, score scope, all CSV errors."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from civgrid.api.cli import app
from civgrid.geo.errors import FileFormatError
from civgrid.grids.core.actors import Actor
from civgrid.grids.core.calendar import parse_month
from civgrid.grids.core.errors import InvalidInputError
from civgrid.grids.patrol.coverage import ingest_track, team_coverage, visit_confirmations
from civgrid.grids.patrol.leader_visits import record_leader_visit
from civgrid.grids.patrol.models import LeaderVisit, PatrolPlan, PatrolTrack, PatrolVisit
from civgrid.grids.patrol.plan import PatrolSettings, plan_month
from civgrid.grids.patrol.routes import set_visit_outcome, team_route
from support.patrol_helpers import densify, gpx, seed_hotspot

ACTOR = Actor("qa", "inspector", "test")
TODAY = date(2026, 12, 10)
runner = CliRunner()


def _untimed(points) -> str:
    return re.sub(r"<time>[^<]*</time>", "", gpx(points))


def _count(s, model):
    return s.scalar(select(func.count()).select_from(model))


def _route_track(s, store, team, day):
    import shapely

    route = team_route(s, store, team, day)
    path = shapely.LineString([route["base"]] + [[x["lon"], x["lat"]] for x in route["stops"]])
    return route, densify(path, 20.0)


# --------------------------------------------------------------------------- item 1


def test_untimed_track_needs_a_day_and_counts_only_for_it(sqlite_store):
    store = sqlite_store
    with store.session() as s:
        plan_month(s, store, "2026-12", commit=True)
        route, pts = _route_track(s, store, "ST02", "2026-12-01")
        with pytest.raises(InvalidInputError, match=r"no fix times.*--day") as exc:
            ingest_track(s, store, ACTOR, "ST02", _untimed(pts), today=TODAY)
        assert exc.value.context["field"] == "day" and "请用 day / --day 指定" in str(exc.value)
        with pytest.raises(InvalidInputError, match="after today"):
            ingest_track(s, store, ACTOR, "ST02", _untimed(pts), day="2026-12-11", today=TODAY)
        assert _count(s, PatrolTrack) == 0
        out = ingest_track(s, store, ACTOR, "ST02", _untimed(pts), day="2026-12-01", today=TODAY)
        assert out["day"] == "2026-12-01"
        s.flush()
        visits = list(s.scalars(select(PatrolVisit).where(PatrolVisit.team_key == "ST02")))
        confirmed = visit_confirmations(s, visits)
        days = {v.day for v in visits if v.id in confirmed}
        assert days == {date(2026, 12, 1)}  # not every day of the month
        assert {x["visit_id"] for x in route["stops"]} <= set(confirmed)


def test_timed_track_uses_its_fix_times_and_future_is_refused(sqlite_store):
    store = sqlite_store
    with store.session() as s:
        road = next(r.geom for r in store.road_sections(session=s) if r.code == "RS001")
        late = gpx(densify(road), start=datetime(2026, 12, 3, 20, tzinfo=UTC))  # 12-04 Beijing
        assert ingest_track(s, store, ACTOR, "ST01", late, commit=False, today=TODAY)["day"] == (
            "2026-12-04"
        )
        with pytest.raises(InvalidInputError, match="does not match the track's fix times"):
            ingest_track(s, store, ACTOR, "ST01", late, day="2026-12-03", today=TODAY)
        future = gpx(densify(road), start=datetime(2026, 12, 11, 1, tzinfo=UTC))
        with pytest.raises(InvalidInputError, match="after today"):
            ingest_track(s, store, ACTOR, "ST01", future, today=TODAY)
        assert _count(s, PatrolTrack) == 0


def test_exported_route_gpx_is_not_a_track(sqlite_store, tmp_path):
    store = sqlite_store
    url = store.engine.url.render_as_string(hide_password=False)
    with store.session() as s:
        plan_month(s, store, "2026-12", commit=True)
        s.commit()
        route = team_route(s, store, "ST02", "2026-12-01")
        with pytest.raises(FileFormatError, match=r"no recorded track \(<trk>"):
            ingest_track(s, store, ACTOR, "ST02", route["gpx"], day="2026-12-01", today=TODAY)
        wpt = '<gpx xmlns="http://www.topografix.com/GPX/1/1"><wpt lat="33.07" lon="112.95"/></gpx>'
        with pytest.raises(FileFormatError, match="1 <wpt>"):
            ingest_track(s, store, ACTOR, "ST02", wpt, day="2026-12-01", today=TODAY)
    f = tmp_path / "route.gpx"
    r = runner.invoke(
        app,
        [
            "patrol",
            "route",
            "--team",
            "ST02",
            "--date",
            "2026-12-01",
            "--gpx",
            str(f),
            "--database-url",
            url,
        ],
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app,
        [
            "patrol",
            "coverage",
            "--track",
            str(f),
            "--team",
            "ST02",
            "--day",
            "2026-12-01",
            "--commit",
            "--database-url",
            url,
        ],
    )
    assert r.exit_code == 1 and "no recorded track" in r.output
    with store.session() as s:
        assert _count(s, PatrolTrack) == 0


# --------------------------------------------------------------------------- item 2


def test_month_is_strict_everywhere(sqlite_store):
    store = sqlite_store
    url = store.engine.url.render_as_string(hide_password=False)
    for bad in ("2027-1", "2027-13", "27-01", "2027-01-01", " 2027-01"):
        with pytest.raises(InvalidInputError, match="is not YYYY-MM") as exc:
            parse_month(bad)
        assert exc.value.context["field"] == "month"
    assert parse_month("2027-01") == (date(2027, 1, 1), date(2027, 1, 31))
    r = runner.invoke(
        app, ["patrol", "plan", "--month", "2027-01", "--commit", "--database-url", url]
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app, ["patrol", "plan", "--month", "2027-1", "--commit", "--database-url", url]
    )
    assert r.exit_code == 1 and "is not YYYY-MM" in r.output and "Traceback" not in r.output
    with store.session() as s:
        assert [p.month for p in s.scalars(select(PatrolPlan))] == ["2027-01"]


# --------------------------------------------------------------------------- item 3


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"holidays": ["xx"]}, "holidays"),
        ({"holidays": "2027-01-01"}, "holidays"),
        ({"holidays": [20270101]}, "holidays"),
        ({"w_days": "abc"}, "w_days"),
        ({"poor_score": None}, "poor_score"),
        ({"seed": 1.5}, "seed"),
        ({"working_weekdays": [0, 9]}, "working_weekdays"),
        ({"quarter_coverage": "yes"}, "quarter_coverage"),
    ],
)
def test_bad_settings_are_422_naming_the_field(client, settings, field):
    r = client.post(
        "/api/v1/patrol/plans",
        params={"month": "2027-01", "commit": "false"},
        json={"settings": settings},
    )
    assert r.status_code == 422, r.text
    assert field in r.json()["detail"] and r.json().get("field") == field


@pytest.mark.parametrize(
    ("content", "msg"),
    [
        ('{"x":"abc"}', "score of x is 'abc'"),
        ("[1,2]", "must be a JSON object"),
        ('{"x": 1', "not valid JSON"),
        ('{"x": 150}', "not a number 0–100"),
    ],
)
def test_cli_bad_scores_file_is_one_line(sqlite_store, tmp_path, content, msg):
    url = sqlite_store.engine.url.render_as_string(hide_password=False)
    f = tmp_path / "scores.json"
    f.write_text(content, encoding="utf-8")
    r = runner.invoke(
        app, ["patrol", "plan", "--month", "2027-01", "--scores", str(f), "--database-url", url]
    )
    assert r.exit_code == 1, r.output
    assert msg in r.output and "Traceback" not in r.output
    assert not isinstance(r.exception, ValueError | TypeError | AttributeError)


# --------------------------------------------------------------------------- item 4


def test_same_gpx_twice_is_stored_once(client, store):
    road = next(r.geom for r in store.road_sections() if r.code == "RS001")
    data = gpx(densify(road))
    post = lambda team: client.post(  # noqa: E731
        "/api/v1/patrol/tracks",
        files={"file": ("day.gpx", data, "application/gpx+xml")},
        data={"team": team},
    )
    first, again = post("ST03").json(), post("ST03")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["id"] == first["id"] and "未重复保存" in again.json()["message"]
    assert first["duplicate"] is False
    assert len(client.get("/api/v1/patrol/tracks").json()) == 1
    assert post("ST01").json()["duplicate"] is False  # another team's upload is its own
    assert len(client.get("/api/v1/patrol/tracks").json()) == 2


def test_leader_visits_future_refused_and_idempotent(sqlite_store):
    with sqlite_store.session() as s:
        kw = {"kind": "site_inspection", "area_code": "411327001001", "today": TODAY}
        with pytest.raises(InvalidInputError, match="after today") as exc:
            record_leader_visit(s, ACTOR, "L10", day="2026-12-11", **kw)
        assert exc.value.context["field"] == "day"
        a = record_leader_visit(s, ACTOR, "L10", day="2026-12-08", **kw)
        b = record_leader_visit(s, ACTOR, "L10", day="2026-12-08", **kw)
        assert a.id == b.id and b.duplicate is True
        assert _count(s, LeaderVisit) == 1
        record_leader_visit(
            s,
            ACTOR,
            "L10",
            day="2026-12-08",
            kind="office_hours",
            area_code="411327001001",
            today=TODAY,
        )
        assert _count(s, LeaderVisit) == 2


def test_visit_outcome_dates_and_linked_issues(sqlite_store):
    store = sqlite_store
    with store.session() as s:
        plan_month(s, store, "2026-12", commit=True)
        visits = list(s.scalars(select(PatrolVisit).order_by(PatrolVisit.day, PatrolVisit.id)))
        v = next(x for x in visits if x.day == date(2026, 12, 1) and x.community_code)
        later = next(x for x in visits if x.day > TODAY)
        with pytest.raises(InvalidInputError, match="after today"):
            set_visit_outcome(s, later.id, "done", today=TODAY)
        assert later.status == "planned"
        other = next(
            x.community_code for x in visits if x.community_code not in (None, v.community_code)
        )
        august = seed_hotspot(
            s, v.community_code, "g", recurrences=0, when=datetime(2026, 8, 3, 2, tzinfo=UTC)
        )
        elsewhere = seed_hotspot(
            s, other, "g", recurrences=0, when=datetime(2026, 12, 1, 2, tzinfo=UTC)
        )
        good = seed_hotspot(
            s, v.community_code, "g", recurrences=0, when=datetime(2026, 11, 30, 17, tzinfo=UTC)
        )  # 12-01 01:00 Beijing
        with pytest.raises(InvalidInputError, match="reported on 2026-08-03"):
            set_visit_outcome(s, v.id, "done", issue_ids=[august.id], today=TODAY)
        with pytest.raises(InvalidInputError, match=f"is in community {other}"):
            set_visit_outcome(s, v.id, "done", issue_ids=[elsewhere.id], today=TODAY)
        assert v.status == "planned"
        with pytest.raises(InvalidInputError, match="marked missed"):
            set_visit_outcome(s, v.id, "missed", issue_ids=[good.id], today=TODAY)
        assert set_visit_outcome(s, v.id, "done", issue_ids=[good.id], today=TODAY).status == "done"


def test_issue_cannot_be_reported_during_a_missed_visit(client, store):
    client.post("/api/v1/patrol/plans", params={"month": "2026-12"})
    visit = client.get("/api/v1/patrol/plans/2026-12").json()["visits"][0]
    with store.session() as s:
        set_visit_outcome(s, visit["id"], "missed", today=date(2026, 12, 31))
        s.commit()
    road = next(r.geom for r in store.road_sections() if r.code == "RS001")
    p = road.interpolate(0.5, normalized=True)
    body = {"category": "dumping", "source": "field_supervision", "lon": p.x, "lat": p.y}
    r = client.post("/api/v1/issues", json={**body, "visit_id": visit["id"]})
    assert r.status_code == 422 and "marked missed" in r.json()["detail"]
    assert r.json().get("field") == "visit_id"


# --------------------------------------------------------------------------- item 5


def test_visits_after_today_are_planned_not_gaps(sqlite_store, tmp_path):
    store = sqlite_store
    with store.session() as s:
        plan_month(s, store, "2026-12", commit=True)
        s.commit()
        cov = team_coverage(s, store, "2026-12", team_key="ST02", today=TODAY)["teams"]["ST02"]
        pl = cov["plan"]
        assert pl["gaps"] and pl["planned"]
        assert all(g["day"] <= "2026-12-10" for g in pl["gaps"])
        assert all(g["day"] > "2026-12-10" for g in pl["planned"])
        assert pl["visits"] == pl["visited"] + len(pl["gaps"]) + len(pl["planned"])
        by = cov["by_community"].values()
        assert sum(g["planned"] for g in by) == len(pl["planned"])


# --------------------------------------------------------------------------- item 6


def test_reasons_gpx_names_and_messages_are_chinese(sqlite_store, client):
    from civgrid.grids.patrol.plan import reasons_zh

    assert reasons_zh(["hotspot: 60 recurrences", "never visited"]) == [
        "反弹热点：60次反弹",
        "从未走访",
    ]
    assert reasons_zh(
        [
            "leader L10 first visit of 2 (contracted community)",
            "poor last score 66.7",
            "last visit 12 days ago",
            "key site cadence 1/2 per month (with its 400 m zone)",
        ]
    ) == [
        "领导包联看（L10）：第1次/共2次",
        "上期得分偏低 66.7",
        "距上次走访 12 天",
        "重点点位 每月2次（含周边400米），第1次",
    ]
    store = sqlite_store
    url = store.engine.url.render_as_string(hide_password=False)
    r = runner.invoke(
        app, ["patrol", "plan", "--month", "2026-12", "--commit", "--database-url", url]
    )
    assert r.exit_code == 0 and "从未走访" in r.output and "never visited" not in r.output
    assert "领导包联看" in r.output and "leader_inspection" not in r.output
    r = runner.invoke(
        app, ["patrol", "plan", "--month", "2026-12", "--commit", "--database-url", url]
    )
    assert r.exit_code == 1 and "--replace" in r.output and "replace=true" in r.output
    with store.session() as s:
        gpx_text = team_route(s, store, "ST01", "2026-12-01")["gpx"]
    assert "<name>出发点</name>" in gpx_text and "<name>base</name>" not in gpx_text
    assert "key_site<" not in gpx_text and "key_site)" not in gpx_text
    r = runner.invoke(
        app, ["patrol", "visit", "leader", "L10", "--month", "2026-12", "--database-url", url]
    )
    assert r.exit_code == 0 and "实地察看 0 次" in r.output and "{" not in r.output
    # the map popups
    client.post("/api/v1/patrol/plans", params={"month": "2026-12"})
    feats = client.get("/api/v1/patrol/map", params={"month": "2026-12"}).json()["visits"]
    props = feats["features"][0]["properties"]
    assert props["reasons"] and all(re.search(r"[\u4e00-\u9fff]", x) for x in props["reasons"])
    assert props["reason_codes"]


# --------------------------------------------------------------------------- item 7


def test_plan_days_follow_the_working_day_calendar(sqlite_store):
    from civgrid.grids.patrol.plan import working_days

    s = PatrolSettings()
    oct25 = working_days(date(2025, 10, 1), date(2025, 10, 31), s)
    assert not {date(2025, 10, d) for d in range(1, 9)} & set(oct25)  # 国庆、中秋
    assert date(2025, 10, 11) in oct25  # a Saturday make-up working day (调休)
    feb25 = working_days(date(2025, 2, 1), date(2025, 2, 28), s)
    assert date(2025, 2, 3) not in feb25 and date(2025, 2, 8) in feb25  # 春节, 调休
    extra = working_days(
        date(2025, 10, 1),
        date(2025, 10, 31),
        PatrolSettings.from_dict({"holidays": ["2025-10-13"]}),
    )
    assert date(2025, 10, 13) not in extra and date(2025, 10, 11) in extra
    with sqlite_store.session() as ss:
        r = plan_month(ss, sqlite_store, "2025-10", last_scores={})
        days = {v["day"] for v in r.visits}
        assert days and not {date(2025, 10, d) for d in range(1, 9)} & days
        assert r.summary["working_days"] == len(oct25)
