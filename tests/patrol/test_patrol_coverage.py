"""GPS track coverage on the demo county: a synthetic track along known roads, noisy
tracks, GCJ-02, atomic rejection of bad tracks, monthly gaps; routes and visits."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest
from sqlalchemy import func, select

from civgrid.geo.crs import wgs84_to_gcj02
from civgrid.geo.errors import CoordinateError, FileFormatError
from civgrid.geo.metric import Projector, metric_epsg_for
from civgrid.grids.core.actors import Actor
from civgrid.grids.core.errors import InvalidInputError, NotFoundError
from civgrid.grids.patrol.coverage import ingest_track, team_coverage
from civgrid.grids.patrol.models import PatrolTrack, PatrolVisit, VisitIssue
from civgrid.grids.patrol.plan import plan_month
from civgrid.grids.patrol.routes import set_visit_outcome, team_route
from support.patrol_helpers import densify, gpx, seed_hotspot

ACTOR = Actor("第二督查组", "inspector", "ST02")


def _roads(store, s, *codes):
    by = {r.code: r.geom for r in store.road_sections(session=s)}
    return [by[c] for c in codes]


def _count(s):
    return s.scalar(select(func.count()).select_from(PatrolTrack))


def test_track_along_two_roads_covers_them(store):
    with store.session() as s:
        r1, r2 = _roads(store, s, "RS001", "RS002")  # consecutive sections of 建设路
        pts = np.vstack([densify(r1), densify(r2)])
        out = ingest_track(s, store, ACTOR, "ST01", gpx(pts), filename="t.gpx")
        cov = out["coverage"]["road_sections"]
        assert cov["RS001"] == pytest.approx(1.0, abs=1e-3)
        assert cov["RS002"] == pytest.approx(1.0, abs=1e-3)
        # crossing streets are touched only within the 30 m tolerance around the track
        others = {c: v for c, v in cov.items() if c not in ("RS001", "RS002")}
        assert all(v < 0.5 for v in others.values())
        # the communities the roads run through were entered
        assert "411327002003" in out["coverage"]["communities"]
        assert out["cleaning"]["n_raw"] == len(pts)
        proj = Projector(metric_epsg_for(pts[:, 0]))
        x, y = proj.forward(pts[:, 0], pts[:, 1])
        assert out["length_m"] == pytest.approx(np.hypot(np.diff(x), np.diff(y)).sum(), abs=0.1)
        s.commit()
        assert _count(s) == 1
        stored = s.scalars(select(PatrolTrack)).one()
        assert stored.coverage["road_sections"]["RS001"] == pytest.approx(1.0, abs=1e-3)
        assert stored.month == "2026-12"
        # the month is the local (Beijing) month of the first fix
        late = gpx(pts[:20], start=datetime(2026, 11, 30, 20, 0, tzinfo=UTC))  # 12-01 04:00
        assert ingest_track(s, store, ACTOR, "ST01", late, commit=False)["month"] == "2026-12"


def test_noisy_gcj02_track_is_cleaned_and_converted(store):
    with store.session() as s:
        (r1,) = _roads(store, s, "RS001")
        pts = densify(r1)
        noisy = [tuple(p) for p in pts]
        noisy = [p for p in noisy for _ in (0, 1)]  # every fix repeated
        noisy.insert(10, (0.0, 0.0))  # a zero fix
        noisy.insert(20, (113.5, 33.5))  # a jump of ~60 km
        glon, glat = wgs84_to_gcj02(
            np.array([p[0] for p in noisy]), np.array([p[1] for p in noisy])
        )
        glon[10], glat[10] = 0.0, 0.0
        text = gpx(list(zip(glon, glat, strict=True)))
        out = ingest_track(s, store, ACTOR, "ST01", text, crs="gcj02", commit=False)
        c = out["cleaning"]
        assert c["zero_fixes"] == 1 and c["jumps"] == 1 and c["duplicates"] == len(pts)
        assert c["n_kept"] == len(pts)
        assert out["coverage"]["road_sections"]["RS001"] == pytest.approx(1.0, abs=1e-3)
        # the same file declared WGS84 lies ~600 m off: the road is not covered
        wrong = ingest_track(s, store, ACTOR, "ST01", text, crs="wgs84", commit=False)
        assert wrong["coverage"]["road_sections"].get("RS001", 0.0) < 0.2
        assert _count(s) == 0  # commit=False stores nothing


def test_bad_tracks_give_clear_errors_and_store_nothing(store):
    with store.session() as s:
        (r1,) = _roads(store, s, "RS001")
        good = densify(r1)
        with pytest.raises(FileFormatError, match="empty"):
            ingest_track(s, store, ACTOR, "ST01", b"")
        with pytest.raises(FileFormatError, match="malformed GPX: line 2"):
            ingest_track(s, store, ACTOR, "ST01", '<?xml version="1.0"?>\n<gpx><trk>')
        bad = [tuple(p) for p in good]
        bad[17] = (bad[17][0], 95.2)
        with pytest.raises(CoordinateError, match=r"track point 17: latitude 95\.2"):
            ingest_track(s, store, ACTOR, "ST01", gpx(bad))
        with pytest.raises(CoordinateError, match="longitude 500000 out of range"):
            ingest_track(s, store, ACTOR, "ST01", gpx([(500000.0, 3660000.0)]))
        beijing = good + np.array([116.40 - good[0, 0], 39.90 - good[0, 1]])
        with pytest.raises(InvalidInputError, match="no fixes inside the county"):
            ingest_track(s, store, ACTOR, "ST01", gpx(beijing))
        with pytest.raises(InvalidInputError, match="no usable fixes"):
            ingest_track(s, store, ACTOR, "ST01", gpx([(0.0, 0.0), (0.0, 0.0)]))
        with pytest.raises(NotFoundError, match="no supervision team ST99"):
            ingest_track(s, store, ACTOR, "ST99", gpx(good))
        s.commit()
        assert _count(s) == 0


def test_monthly_coverage_and_gaps(store):
    with store.session() as s:
        plan_month(s, store, "2026-12", commit=True)
        route = team_route(s, store, "ST02", "2026-12-01")
        assert route["stops"] and route["total_m"] > 0
        # drive ST02's first day through its stops (straight lines between them)
        import shapely

        path = shapely.LineString([route["base"]] + [[x["lon"], x["lat"]] for x in route["stops"]])
        day1 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 Beijing time
        ingest_track(s, store, ACTOR, "ST02", gpx(densify(path, 20.0), start=day1))
        s.commit()
        end = date(2026, 12, 31)  # the whole month is due
        cov = team_coverage(s, store, "2026-12", team_key="ST02", today=end)["teams"]["ST02"]
        assert cov["tracks"] == 1
        visited_targets = {x["target_code"] for x in route["stops"]}
        gaps = cov["plan"]["gaps"]
        assert visited_targets.isdisjoint(
            {g["target_code"] for g in gaps if g["day"] == "2026-12-01"}
        )
        assert cov["plan"]["visited"] >= len(route["stops"])
        # a track counts for its own day only: the same targets planned later are gaps
        later = {g["target_code"] for g in gaps if g["day"] > "2026-12-01"}
        assert later & visited_targets
        assert cov["plan"]["visits"] == cov["plan"]["visited"] + len(cov["plan"]["gaps"])
        rs = cov["road_sections"]
        assert rs["total"] == len(rs["covered"]) + len(rs["missed"]) > 0
        assert cov["unit_grids"]["entered"]
        # a team without tracks misses everything its plan required
        st03 = team_coverage(s, store, "2026-12", team_key="ST03", today=end)["teams"]["ST03"]
        assert st03["tracks"] == 0 and st03["plan"]["visited"] == 0
        assert len(st03["plan"]["gaps"]) == st03["plan"]["visits"] > 0


def test_route_of_a_day_and_visit_outcome(store):
    with store.session() as s:
        plan_month(s, store, "2026-12", commit=True)
        r = team_route(s, store, "ST01", date(2026, 12, 2))
        assert [x["leg_m"] for x in r["stops"]] == pytest.approx(
            r["geojson"]["features"][0]["properties"]["legs_m"], abs=0.1
        )
        assert r["gpx"].count("<rtept") == len(r["stops"]) + 1
        assert sum(x["leg_m"] for x in r["stops"]) == pytest.approx(r["total_m"], abs=0.5)
        with pytest.raises(NotFoundError, match="no planned visits"):
            team_route(s, store, "ST01", "2026-12-05")  # a Saturday
        vid = r["stops"][0]["visit_id"]
        with pytest.raises(NotFoundError, match="no issue 999999"):
            set_visit_outcome(s, vid, "done", issue_ids=[999999])
        with pytest.raises(InvalidInputError, match="unknown visit status"):
            set_visit_outcome(s, vid, "skipped")
        assert s.scalar(select(func.count()).select_from(VisitIssue)) == 0
        # an issue reported during the visit records the visit
        issue = seed_hotspot(
            s,
            "411327100001",
            "411327100001001",
            recurrences=0,
            when=datetime(2026, 12, 2, tzinfo=UTC),
        )
        v = set_visit_outcome(s, vid, "done", issue_ids=[issue.id, issue.id])
        assert v.status == "done"
        links = s.scalars(select(VisitIssue)).all()
        assert [(x.visit_id, x.issue_id) for x in links] == [(vid, issue.id)]


def _walk_east(lon, lat, start_m, n=20, step_m=10.0):
    """A walk eastwards starting ``start_m`` metres east of (lon, lat) (WGS84)."""
    proj = Projector(metric_epsg_for(np.array([lon])))
    x, y = proj.forward(lon, lat)
    xs = float(np.ravel(x)[0]) + start_m + step_m * np.arange(n)
    lo, la = proj.inverse(xs, np.full(n, float(np.ravel(y)[0])))
    return np.column_stack([np.ravel(lo), np.ravel(la)])


def test_key_site_400m_zone_is_entered_by_a_track(store):
    with store.session() as s:
        plan_month(s, store, "2026-12", commit=True)
        site = next(k for k in store.key_sites(session=s) if k.code == "KS019")  # 县汽车站
        assert site.zone_radius_m == 400
        visit = next(
            v
            for v in s.scalars(select(PatrolVisit).order_by(PatrolVisit.day))
            if v.target_code == "KS019"
        )
        d = visit.day
        start = datetime(d.year, d.month, d.day, 1, tzinfo=UTC)
        # 305–495 m east of the site: inside its 400 m zone for the first 10 fixes
        near = _walk_east(site.geom.x, site.geom.y, 305.0)
        out = ingest_track(s, store, ACTOR, "ST02", gpx(near, start=start), commit=False)
        assert "KS019" in out["coverage"]["key_site_zones"]
        assert out["coverage"]["key_site_zones"]["KS019"]["fixes"] == 10  # 305..395 m
        # 450–640 m east: never inside the zone
        far = _walk_east(site.geom.x, site.geom.y, 450.0)
        out = ingest_track(s, store, ACTOR, "ST02", gpx(far, start=start), commit=False)
        assert "KS019" not in out["coverage"]["key_site_zones"]
        # stored, the near track confirms the planned key-site visit of that day
        ingest_track(s, store, ACTOR, "ST02", gpx(near, start=start))
        s.flush()
        cov = team_coverage(s, store, "2026-12", team_key=visit.team_key)["teams"][visit.team_key]
        assert "KS019" in cov["key_site_zones_entered"]
        assert visit.id not in {g["visit_id"] for g in cov["plan"]["gaps"]}


def test_gaps_consider_every_teams_tracks_and_group_by_community(store):
    import shapely

    with store.session() as s:
        plan_month(s, store, "2026-12", commit=True)
        route = team_route(s, store, "ST03", "2026-12-01")
        path = shapely.LineString([route["base"]] + [[x["lon"], x["lat"]] for x in route["stops"]])
        day1 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
        before = team_coverage(s, store, "2026-12", team_key="ST03")["teams"]["ST03"]
        assert before["plan"]["visited"] == 0
        # ST02 (not ST03) drives ST03's first-day stops
        ingest_track(s, store, ACTOR, "ST02", gpx(densify(path, 20.0), start=day1))
        s.flush()
        cov = team_coverage(s, store, "2026-12", team_key="ST03")["teams"]["ST03"]
        assert cov["tracks"] == 0 and cov["tracks_all"] == 1
        stops = {x["visit_id"] for x in route["stops"]}
        assert stops.isdisjoint(g["visit_id"] for g in cov["plan"]["gaps"])
        assert cov["plan"]["visited"] >= len(stops)
        assert cov["plan"]["visited_by_others"] == cov["plan"]["visited"]
        # per community: the counts add up to the team's totals
        by = cov["by_community"]
        assert sum(g["visits"] for g in by.values()) == cov["plan"]["visits"]
        assert sum(g["gaps"] for g in by.values()) == len(cov["plan"]["gaps"])
        assert sum(g["unit_grids"] for g in by.values()) == cov["unit_grids"]["total"]
        assert sum(g["grids_entered"] for g in by.values()) == len(cov["unit_grids"]["entered"])
        assert sum(g["road_sections"] for g in by.values()) == cov["road_sections"]["total"]
        assert any(g["visited"] for code, g in by.items() if code)
