"""Monthly patrol plans on the demo county: share, quarter coverage, capacity, hotspots,
leaders' two visits, determinism and storage."""

from __future__ import annotations

import csv
import math
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from civgrid.grids.boundaries.models import Assignment, Leader, Role
from civgrid.grids.core.errors import ConflictError, InvalidInputError
from civgrid.grids.patrol.models import PatrolPlan, PatrolTeam, PatrolVisit
from civgrid.grids.patrol.plan import PatrolSettings, compute_plan, get_plan, plan_month
from civgrid.grids.patrol.routes import set_visit_outcome
from civgrid.grids.patrol.teams import import_teams, list_teams
from support.patrol_helpers import gpx, seed_hotspot

DEMO_DIR = Path(__file__).resolve().parents[2] / "data" / "boundaries" / "demo"

N_COMMUNITIES = 14
SAMPLED = {"community_quarter", "community_sample"}


def _contracts(session):
    return session.execute(
        select(Leader.key, Assignment.object_code)
        .join(Leader, Leader.id == Assignment.leader_id)
        .where(Assignment.role == Role.contract, Assignment.object_layer == "community")
    ).all()


def _mark_done(s, month, kinds):
    for v in get_plan(s, month).visits:
        if v.kind in kinds:
            set_visit_outcome(s, v.id, "done", today=date(2030, 1, 1))  # past months
    s.flush()


def test_demo_teams_are_loaded(store):
    with store.session() as s:
        teams = {t.key: t for t in list_teams(s)}
        assert sorted(teams) == ["ST01", "ST02", "ST03", "ST04", "ST05"]  # ST05: the rural team
        assert teams["ST01"].area_codes == ["SA01"]
        assert teams["ST01"].leader_key == "L20"
        assert teams["ST02"].unit_keys == ["SO01", "CM09", "CM10", "CM11"]
        assert teams["ST04"].capacity_per_day == 4
        assert {"role": "组员", "count": 3} in teams["ST03"].members


def test_team_import_dry_run_and_row_errors(sqlite_store):
    header = "key,name,leader_key,members,area_codes,unit_keys,base_lon,base_lat,capacity_per_day\n"
    good = "ST09,第九督查组,L01,组长:1;组员:2,SA02,SO01,112.95,33.05,3\n"
    with sqlite_store.session() as s:
        rep = import_teams(s, header + good)
        assert rep.added == ["ST09"] and not rep.committed
        assert s.scalar(select(func.count()).select_from(PatrolTeam)) == 5  # dry run
        rep = import_teams(s, header + good, commit=True)
        s.commit()
        assert s.scalar(select(func.count()).select_from(PatrolTeam)) == 6
        assert import_teams(s, header + good).unchanged == ["ST09"]
        bad = good + "ST10,第十督查组,L01,组长:1,SA99,SO01,112.95,33.05,3\n"
        with pytest.raises(InvalidInputError, match="row 3: unknown area SA99") as exc:
            import_teams(s, header + bad, commit=True)
        assert exc.value.context == {"row": 3, "field": "area_codes"}
        with pytest.raises(InvalidInputError, match="row 2: capacity_per_day"):
            import_teams(s, header + good.replace(",3\n", ",0\n"))
        with pytest.raises(InvalidInputError, match="lacks columns: capacity_per_day"):
            import_teams(s, header.replace(",capacity_per_day", "") + good)
        # every error of every row at once, nothing stored
        worse = "ST11,,L01,组长:1,,SO01,abc,33.05,0\n" + ",第十二组,L01,组长:1,SA02,,112.9,33.0,2\n"
        with pytest.raises(InvalidInputError, match="4 error") as exc:
            import_teams(s, header + good + worse, commit=True)
        got = [(e["row"], e["field"]) for e in exc.value.context["errors"]]
        assert got == [(3, "base_lon"), (3, "capacity_per_day"), (3, "area_codes"), (4, "key")]
        assert s.scalar(select(func.count()).select_from(PatrolTeam)) == 6


def test_last_month_of_a_quarter_without_earlier_plans_covers_everything(sqlite_store):
    with sqlite_store.session() as s:
        r = compute_plan(s, sqlite_store, "2026-12")  # month 3 of 3, nothing visited yet
        sampled = {v["target_code"] for v in r.visits if v["kind"] == "community_quarter"}
        assert len(sampled) == N_COMMUNITIES


def test_quarter_plans_sample_a_third_and_cover_every_community(store):
    with store.session() as s:
        seen: set[str] = set()
        for month in ("2026-10", "2026-11", "2026-12"):
            r = plan_month(s, store, month, commit=True)
            sampled = {v["target_code"] for v in r.visits if v["kind"] in SAMPLED}
            # ~1/3 each month: ceil(14/3) = 5 communities, never fewer
            assert len(sampled) == math.ceil(N_COMMUNITIES / 3) == 5, month
            _mark_done(s, month, SAMPLED)  # the teams went there
            assert r.summary["communities_sampled"] == 5
            new = sampled - seen
            seen |= sampled
            if month == "2026-10":
                assert new == sampled
        assert len(seen) == N_COMMUNITIES  # every community within the quarter
        # the new quarter starts afresh: five "quarter coverage due" again
        jan = compute_plan(s, store, "2027-01")
        assert Counter(v["kind"] for v in jan.visits)["community_quarter"] == 5


def test_plan_respects_capacity_and_working_days(store):
    with store.session() as s:
        caps = {t.key: t.capacity_per_day for t in list_teams(s)}
        r = compute_plan(s, store, "2026-12")
        load = Counter((v["team_key"], v["day"]) for v in r.visits)
        assert all(n <= caps[t] for (t, _), n in load.items())
        assert all(d.weekday() < 5 for _, d in load)
        assert r.unscheduled == []
        # a tight capacity: one visit a day per team; never more, the rest reported
        tight = compute_plan(s, store, "2026-12", PatrolSettings(capacity_per_day=1))
        load = Counter((v["team_key"], v["day"]) for v in tight.visits)
        assert max(load.values()) == 1
        assert len(tight.visits) + len(tight.unscheduled) == len(r.visits)
        assert tight.unscheduled
        assert all("capacity: team" in u["reasons"][-1] for u in tight.unscheduled)
        # sequence numbers are a route order 1..n per team-day
        seqs = defaultdict(list)
        for v in r.visits:
            seqs[(v["team_key"], v["day"])].append(v["seq"])
        assert all(sorted(x) == list(range(1, len(x) + 1)) for x in seqs.values())


def test_every_leader_gets_two_visits_in_each_half(store):
    with store.session() as s:
        contracts = _contracts(s)
        assert len(contracts) == 14
        r = compute_plan(s, store, "2026-12")
        lv = [v for v in r.visits if v["kind"] == "leader_inspection"]
        per = defaultdict(list)
        for v in lv:
            per[(v["leader_key"], v["target_code"])].append(v["day"])
        assert set(per) == set(contracts)
        for (leader, _), days in per.items():
            assert len(days) == 2, leader
            first, second = sorted(days)
            assert first <= date(2026, 12, 15) < second  # windows 1–15 and 16–31
        v = next(v for v in lv if v["leader_key"] == "L10")
        assert any(x.startswith("leader L10 ") for x in v["reasons"])


def test_a_seeded_hotspot_is_prioritised(store):
    # campaigns=(): the arithmetic below is the plan's own; campaign boosts are tested in
    # tests/patrol/test_plan_calendar.py and tests/scoring/test_campaigns.py
    community, grid = "411327001002", "411327001002003"  # 柳营村 (潘河街道 → ST02)
    with store.session() as s:
        base = compute_plan(s, store, "2026-10", campaigns=())
        base_top = max(x["priority"] for x in base.visits if x["kind"] in SAMPLED)
        seed_hotspot(s, community, grid, recurrences=5, when=datetime(2026, 9, 5, tzinfo=UTC))
        r = compute_plan(s, store, "2026-10", campaigns=())
        hot = [v for v in r.visits if v["kind"] == "hotspot"]
        assert [v["target_code"] for v in hot] == [grid]
        v = hot[0]
        assert v["team_key"] == "ST02"
        assert "hotspot: 5 recurrences" in v["reasons"]
        assert "1 open issues (1 overdue)" in v["reasons"]
        assert v["day"] == date(2026, 10, 8)  # the first working day (1–7 Oct: 国庆)
        # the community is sampled, as the month's top community:
        # 1 + 2×5 recurrences + 0.5×1 open + 1.5×1 overdue + 3 (never visited) = 16
        comm = [x for x in r.visits if x["kind"] in SAMPLED]
        top = max(comm, key=lambda x: x["priority"])
        assert top["target_code"] == community
        assert top["priority"] == pytest.approx(16.0)
        assert top["priority"] > base_top
        assert top["reasons"][0].startswith("quarter coverage due (month 1 of 3")
        assert "hotspot: 5 recurrences" in top["reasons"]
        # the first visit of the month for ST02 among communities is this one
        st02 = [x for x in comm if x["team_key"] == "ST02"]
        assert min(st02, key=lambda x: (x["day"], x["seq"]))["target_code"] == community


def test_poor_last_score_raises_priority(sqlite_store):
    with sqlite_store.session() as s:
        base = compute_plan(s, sqlite_store, "2026-10", campaigns=())
        out = {v["target_code"] for v in base.visits if v["kind"] in SAMPLED}
        codes = {a.code for a in sqlite_store.areas(layer="community", session=s)}
        target = sorted(codes - out)[0]  # not sampled on equal priorities
        r = compute_plan(s, sqlite_store, "2026-10", last_scores={target: 55}, campaigns=())
        v = next(v for v in r.visits if v["target_code"] == target and v["kind"] in SAMPLED)
        assert "poor last score 55" in v["reasons"]
        # 1 + 3 (never visited) + 0.2 × (80 − 55) = 9
        assert v["priority"] == pytest.approx(9.0)


def test_plan_is_deterministic_and_stored_once(store):
    with store.session() as s:
        a = compute_plan(s, store, "2026-12")
        b = compute_plan(s, store, "2026-12")
        assert a.to_dict() == b.to_dict()
        plan_month(s, store, "2026-12", commit=True)
        s.commit()
        n = s.scalar(select(func.count()).select_from(PatrolVisit))
        assert n == len(a.visits)
        with pytest.raises(ConflictError, match="exists"):
            plan_month(s, store, "2026-12", commit=True)
        plan_month(s, store, "2026-12", commit=True, replace=True)  # unstarted: replaced
        s.commit()
        assert s.scalar(select(func.count()).select_from(PatrolVisit)) == n
        assert s.scalar(select(func.count()).select_from(PatrolPlan)) == 1
        visit = get_plan(s, "2026-12").visits[0]
        set_visit_outcome(s, visit.id, "done")
        s.commit()
        with pytest.raises(ConflictError, match="has started"):
            plan_month(s, store, "2026-12", commit=True, replace=True)


def test_bad_month_and_settings(sqlite_store):
    with sqlite_store.session() as s:
        with pytest.raises(InvalidInputError, match="not YYYY-MM"):
            compute_plan(s, sqlite_store, "2026-13")
        with pytest.raises(InvalidInputError, match="unknown patrol setting"):
            PatrolSettings.from_dict({"visits_per_day": 3})
        with pytest.raises(InvalidInputError, match="sample_share"):
            PatrolSettings.from_dict({"sample_share": 0})
        with pytest.raises(InvalidInputError, match="capacity_per_day must be a positive"):
            PatrolSettings.from_dict({"capacity_per_day": 0})
        with pytest.raises(InvalidInputError, match="leader_visits_per_month"):
            PatrolSettings.from_dict({"leader_visits_per_month": "two"})
        s3 = PatrolSettings.from_dict({"leader_visits_per_month": 3, "holidays": ["2026-12-01"]})
        r = compute_plan(s, sqlite_store, "2026-12", s3)
        assert all(v["day"] != date(2026, 12, 1) for v in r.visits)
        lv = Counter(v["leader_key"] for v in r.visits if v["kind"] == "leader_inspection")
        assert set(lv.values()) == {3}


def test_leader_site_inspection_completes_the_planned_visit(sqlite_store):
    from civgrid.grids.core.actors import Actor
    from civgrid.grids.patrol.leader_visits import leader_cadence, record_leader_visit

    actor = Actor("创文办", "command_center")
    with sqlite_store.session() as s:
        plan_month(s, sqlite_store, "2026-12", commit=True)

        def mine():
            return sorted(
                (v.day, v.status)
                for v in get_plan(s, "2026-12").visits
                if v.leader_key == "L10" and v.kind == "leader_inspection"
            )

        (d1, st1), (d2, st2) = mine()
        assert st1 == st2 == "planned"
        record_leader_visit(
            s,
            actor,
            "L10",
            kind="site_inspection",
            day=d2,
            area_code="411327001001",
            today=date(2026, 12, 31),
        )
        record_leader_visit(
            s, actor, "L10", kind="office_hours", day="2026-12-11", today=date(2026, 12, 31)
        )
        assert mine() == [(d1, "planned"), (d2, "done")]
        cad = leader_cadence(s, "L10", "2026-12")
        assert cad["site_inspections"] == 1 and not cad["site_inspections_ok"]
        assert cad["office_hours"] == 1 and not cad["office_hours_first_ten_days"]


# --------------------------------------------------------------------------- last scores


def _sampled_reasons(r, code):
    return next(v["reasons"] for v in r.visits if v["target_code"] == code and v["kind"] in SAMPLED)


def test_last_scores_from_the_bulletin_else_computed(sqlite_store):
    from civgrid.grids.scoring.feeds import LastMonthScores
    from civgrid.grids.scoring.models import Bulletin

    feed = LastMonthScores()

    community, grid = "411327001002", "411327001002003"
    with sqlite_store.session() as s:
        # four issues in September: the computed September score is 96
        for day in (5, 6, 7, 8):
            seed_hotspot(s, community, grid, recurrences=0, when=datetime(2026, 9, day, tzinfo=UTC))
        r = compute_plan(
            s, sqlite_store, "2026-10", PatrolSettings(poor_score=99), scores_feed=feed
        )
        info = r.summary["last_scores"]
        assert info["source"] == "computed" and info["period"] == "2026-09"
        assert community in info["poor"] and grid in info["poor"]
        assert "poor last score 96" in _sampled_reasons(r, community)
        # the default threshold (80): 96 is not poor
        assert (
            compute_plan(s, sqlite_store, "2026-10", scores_feed=feed).summary["last_scores"][
                "poor"
            ]
            == []
        )
        # a published September bulletin wins over computing
        other = "411327100004"
        s.add(
            Bulletin(
                kind="monthly",
                period="2026-09",
                number="社创通〔2026〕第9号",
                profile="sheqi",
                rules_effective_from="2026-01-01",
                issued_at=datetime(2026, 10, 1, tzinfo=UTC),
                issued_by="创文办",
                content={"communities": [{"code": other, "points": 55.0}]},
                xlsx=b"",
                sha256="0" * 64,
            )
        )
        s.flush()
        r = compute_plan(s, sqlite_store, "2026-10", scores_feed=feed)
        info = r.summary["last_scores"]
        assert info["source"] == "bulletin" and info["number"] == "社创通〔2026〕第9号"
        assert info["poor"] == [other]
        assert "poor last score 55" in _sampled_reasons(r, other)
        # scores given by hand are used as they are
        given = compute_plan(s, sqlite_store, "2026-10", last_scores={})
        assert given.summary["last_scores"] == {"source": "given", "scores": 0, "poor": []}
        # without a feed (patrol never imports scoring) no score raises a priority
        bare = compute_plan(s, sqlite_store, "2026-10").summary["last_scores"]
        assert bare["source"] == "none" and bare["poor"] == []


# --------------------------------------------------------------------------- visits that happened


def test_only_visits_that_happened_count(store):
    from civgrid.grids.core.actors import Actor
    from civgrid.grids.patrol.coverage import ingest_track

    with store.session() as s:
        plan_month(s, store, "2026-10", commit=True)
        nov = compute_plan(s, store, "2026-11")
        quarter = [v for v in nov.visits if v["kind"] == "community_quarter"]
        # nothing was done: planned visits are not visits, all 14 still due
        assert len(quarter) == 7
        assert all("(month 2 of 3, 14 left)" in v["reasons"][0] for v in quarter)
        done, missed, tracked = [v for v in get_plan(s, "2026-10").visits if v.kind in SAMPLED][:3]
        set_visit_outcome(s, done.id, "done")
        set_visit_outcome(s, missed.id, "missed")
        # another team's GPS track walks through the third community on the planned day
        other = next(t.key for t in list_teams(s) if t.key != tracked.team_key)
        p = store.area(tracked.target_code, session=s).geom.representative_point()
        pts = [(p.x + 0.00005 * i, p.y) for i in range(10)]
        d = tracked.day
        start = datetime(d.year, d.month, d.day, 2, tzinfo=UTC)  # 10:00 Beijing time
        ingest_track(s, store, Actor("督查组", "inspector"), other, gpx(pts, start=start))
        s.flush()
        nov = compute_plan(s, store, "2026-11")
        quarter = [v for v in nov.visits if v["kind"] == "community_quarter"]
        assert all("(month 2 of 3, 12 left)" in v["reasons"][0] for v in quarter)
        due = {v["target_code"] for v in quarter}
        assert done.target_code not in due and tracked.target_code not in due
        leader = {
            v["target_code"]: v["reasons"] for v in nov.visits if v["kind"] == "leader_inspection"
        }
        days = (date(2026, 11, 1) - done.day).days
        assert f"last visit {days} days ago" in leader[done.target_code]
        assert "never visited" in leader[missed.target_code]


def test_time_since_last_visit_raises_priority(sqlite_store):
    a, b, c, d = "411327100001", "411327100002", "411327100003", "411327100004"

    def visit(code, day, status):
        return PatrolVisit(
            team_key="ST01",
            day=day,
            target_layer="community",
            target_code=code,
            community_code=code,
            kind="community_sample",
            priority=1.0,
            reasons=[],
            status=status,
        )

    with sqlite_store.session() as s:
        s.add(
            PatrolPlan(
                month="2026-09",
                visits=[
                    visit(a, date(2026, 9, 1), "done"),  # 30 days before October
                    visit(b, date(2026, 9, 29), "done"),  # 2 days before
                    visit(c, date(2026, 9, 29), "planned"),  # planned only: not a visit
                ],
            )
        )
        s.flush()
        r = compute_plan(s, sqlite_store, "2026-10")
        prio, why = {}, {}
        for v in r.visits:
            if v["kind"] == "leader_inspection":
                prio[v["target_code"]], why[v["target_code"]] = v["priority"], v["reasons"]
        assert "last visit 30 days ago" in why[a] and "last visit 2 days ago" in why[b]
        assert "never visited" in why[c] and "never visited" in why[d]
        # 10 (leader) + 1 + days/30 (max 3; never visited = 3)
        assert prio[a] == pytest.approx(12.0)
        assert prio[b] == pytest.approx(11.0 + 2 / 30, abs=1e-3)
        assert prio[c] == prio[d] == pytest.approx(14.0)
        assert prio[c] > prio[a] > prio[b]


# --------------------------------------------------------------------------- teams: area, units

ZH_HEADER = "编号,组别,组长,成员,督导范围,督导单位,驻地经度,驻地纬度,每日走访,督导范围图形\n"


def _box(lon, lat, half=0.002):
    return (
        f"POLYGON(({lon - half} {lat - half}, {lon + half} {lat - half}, "
        f"{lon + half} {lat + half}, {lon - half} {lat + half}, {lon - half} {lat - half}))"
    )


def test_team_with_polygon_area_chinese_headers_and_supervised_units(sqlite_store):
    with sqlite_store.session() as s:
        site = next(k for k in sqlite_store.key_sites(session=s) if k.code == "KS019")  # 县汽车站
        row = (
            f"ST06,第六督查组,L01,组长：1；组员：2,,PC01,{site.geom.x},{site.geom.y},3,"
            f'"{_box(site.geom.x, site.geom.y)}"\n'
        )
        rep = import_teams(s, ZH_HEADER + row, commit=True)
        s.commit()
        assert rep.added == ["ST06"]
        team = next(t for t in list_teams(s) if t.key == "ST06")
        assert team.area_codes == [] and team.area_geojson["type"] == "Polygon"
        assert team.unit_keys == ["PC01"]
        assert {"role": "组员", "count": 2} in team.members
        assert import_teams(s, ZH_HEADER + row).unchanged == ["ST06"]  # polygon round-trips
        r = compute_plan(s, sqlite_store, "2026-12", campaigns=())
        # the key site inside the team's polygon is its stop now (it lies in SA03 too)
        ks = [v for v in r.visits if v["target_code"] == "KS019" and v["kind"] == "key_site"]
        assert len(ks) == 2 and {v["team_key"] for v in ks} == {"ST06"}
        # its supervised unit (a property company) gets a visit to a unit grid it answers for
        unit = [v for v in r.visits if v["kind"] == "supervised_unit" and v["team_key"] == "ST06"]
        assert len(unit) == 1 and unit[0]["target_layer"] == "unit_grid"
        assert unit[0]["reasons"][0].startswith("supervised unit PC01 ")
        assert "responsible unit of this unit_grid" in unit[0]["reasons"][0]
        # ST04 supervises the transport bureau (D09): one of its road sections (the demo's
        # assignments: responsible or road chief, the rural through roads included)
        d09 = {
            row.split(",")[4]
            for row in (DEMO_DIR / "assignments.csv").read_text(encoding="utf-8").splitlines()
            if row.startswith("unit,D09,") and ",road_section," in row
        }
        st04 = [v for v in r.visits if v["kind"] == "supervised_unit" and v["team_key"] == "ST04"]
        assert [v["target_layer"] for v in st04] == ["road_section"]
        assert {"RS009", "RS033", "RS057"} < d09 and st04[0]["target_code"] in d09
        sup = r.summary["supervised_units"]
        # ST01–ST03 supervise the street offices and community committees; a committee
        # answers for the building yards and back streets of its community
        # (assignments.csv), so each gets one visit; the street offices hold no grid
        holders = {
            row["subject_key"]
            for row in csv.DictReader(
                (DEMO_DIR / "assignments.csv").read_text(encoding="utf-8").splitlines()
            )
            if row["object_layer"] == "unit_grid"
        }
        central = ("ST01", "ST02", "ST03")
        listed = {k for t in list_teams(s) if t.key in central for k in t.unit_keys}
        committees = {k for k in listed & holders if k.startswith("CM")}
        assert len(committees) == 14
        # ST05, the rural team, supervises the 13 rural township offices (SO04–SO16)
        rural = [v for v in r.visits if v["kind"] == "supervised_unit" and v["team_key"] == "ST05"]
        assert len(rural) == 13
        assert sup["visits"] == 2 + len(committees) + len(rural)
        assert {v["reasons"][0].split()[2] for v in r.visits if v["kind"] == "supervised_unit"} >= (
            committees
        )
        skipped = {(x["team_key"], x["unit_key"]): x["reason"] for x in sup["skipped"]}
        assert skipped[("ST01", "SO03")].startswith("answers for no unit grid")
        # the cadence is a setting; capacity is never exceeded
        none = compute_plan(s, sqlite_store, "2026-12", PatrolSettings(unit_visits_per_month=0))
        assert not [v for v in none.visits if v["kind"] == "supervised_unit"]
        tight = compute_plan(s, sqlite_store, "2026-12", PatrolSettings(capacity_per_day=1))
        assert max(Counter((v["team_key"], v["day"]) for v in tight.visits).values()) == 1


def test_team_area_errors_name_row_and_field(sqlite_store):
    with sqlite_store.session() as s:
        base = "ST06,第六督查组,L01,组长:1,,,112.95,33.05,3,{wkt}\n"
        metres = '"POLYGON((500000 3e6, 500100 3e6, 500100 3.1e6, 500000 3e6))"'
        cases = [
            ("", "row 2: no area codes and no area polygon", "area_codes"),
            ('"POINT(112.95 33.05)"', "Polygon or MultiPolygon", "area_wkt"),
            ("nonsense", "not a WKT or GeoJSON polygon", "area_wkt"),
            (metres, "not in WGS84", "area_wkt"),
        ]
        for wkt, msg, fld in cases:
            with pytest.raises(InvalidInputError, match=msg) as exc:
                import_teams(s, ZH_HEADER + base.format(wkt=wkt))
            assert exc.value.context["field"] == fld
        with pytest.raises(InvalidInputError, match="column key twice"):
            import_teams(s, "key," + ZH_HEADER)
        # English headers with area codes and a GeoJSON polygon
        en = "key,name,leader_key,members,area_codes,unit_keys,base_lon,base_lat,capacity_per_day,area_geojson\n"  # noqa: E501
        gj = '"{""type"": ""Polygon"", ""coordinates"": [[[112.9, 33.0], [113.0, 33.0], [113.0, 33.1], [112.9, 33.0]]]}"'  # noqa: E501
        rep = import_teams(s, en + f"ST07,第七督查组,L01,组长:1,SA02、SA03,,112.95,33.05,3,{gj}\n")
        assert rep.added == ["ST07"]
