"""Coverage from GPS tracks: upload (atomic), per-track coverage, per team/month gaps.

A track is read and converted to WGS84 (:mod:`civgrid.geo.tracks`), cleaned
(zero/non-finite fixes, repeats, speed jumps), restricted to the county, and
compared with the current boundaries: road sections covered (share of length
within ``tolerance_m`` metres, default 30 m), unit grids, communities and key-site
zones (the site buffered by its ``zone_radius_m``, metres) entered, with dwell
time in seconds. The track is stored with its cleaning report and coverage only
when everything succeeded; a bad track raises and stores nothing.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.geo.metric import Projector, metric_epsg_for
from civgrid.geo.tracks import Track, clean_track, read_track, track_coverage
from civgrid.grids.boundaries.store import Store
from civgrid.grids.core import audit
from civgrid.grids.core.actors import Actor
from civgrid.grids.core.calendar import local_today, local_zone, parse_month
from civgrid.grids.core.errors import InvalidInputError
from civgrid.grids.patrol.models import PatrolPlan, PatrolTrack, PatrolVisit
from civgrid.grids.patrol.teams import TeamFinder, get_team, list_teams

__all__ = [
    "coverage_layers",
    "ingest_track",
    "local_today",
    "team_coverage",
    "track_dict",
    "visit_confirmations",
]

#: Local time zone of the county: a track counts for the visits of its local day.
#: Coverage group that tells whether a planned visit's target was visited.
_VISIT_GROUP = {
    "community": "communities",
    "key_site": "key_site_zones",
    "unit_grid": "unit_grids",
    "road_section": "road_sections",
}


def _as_day(value: date | str | None, field: str) -> date | None:
    """``value`` as a date (ISO ``YYYY-MM-DD`` string accepted), or None."""
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInputError(
            f"{field} {value!r} is not a date YYYY-MM-DD（{field} 不是有效日期）", field=field
        ) from None


def _stored_duplicate(session: Session, team_key: str, digest: str) -> PatrolTrack | None:
    """The team's stored track with the same file content (SHA-256), if any."""
    for t in session.scalars(
        select(PatrolTrack).where(PatrolTrack.team_key == team_key).order_by(PatrolTrack.id)
    ):
        if (t.cleaning or {}).get("sha256") == digest:
            return t
    return None


def _fmt_of(filename: str | None) -> str | None:
    name = (filename or "").lower()
    if name.endswith(".gpx"):
        return "gpx"
    if name.endswith((".geojson", ".json")):
        return "geojson"
    return None


def coverage_layers(store: Store, session: Session) -> tuple[dict[str, Any], dict[str, Any]]:
    """Lines and polygons to test a track against (WGS84 shapely geometries).

    Returns
    -------
    lines : dict
        ``road_section:CODE`` → LineString.
    polygons : dict
        ``unit_grid:CODE``, ``community:CODE``, ``key_site_zone:CODE`` → polygon
        (zones: the key site buffered by ``zone_radius_m`` metres in the metric CRS).
    """
    import shapely

    lines = {f"road_section:{r.code}": r.geom for r in store.road_sections(session=session)}
    polys: dict[str, Any] = {}
    for layer in ("community", "unit_grid"):
        for a in store.areas(layer=layer, session=session):
            polys[f"{layer}:{a.code}"] = a.geom
    sites = store.key_sites(session=session)
    if sites:
        proj = Projector(metric_epsg_for(np.array([s.geom.centroid.x for s in sites])))

        def fwd(c: np.ndarray) -> np.ndarray:
            x, y = proj.forward(c[:, 0], c[:, 1])
            return np.column_stack([np.ravel(x), np.ravel(y)])

        def inv(c: np.ndarray) -> np.ndarray:
            lon, lat = proj.inverse(c[:, 0], c[:, 1])
            return np.column_stack([np.ravel(lon), np.ravel(lat)])

        for s in sites:
            zone = shapely.transform(s.geom, fwd).buffer(s.zone_radius_m, quad_segs=8)
            polys[f"key_site_zone:{s.code}"] = shapely.transform(zone, inv)
    return lines, polys


def ingest_track(
    session: Session,
    store: Store,
    actor: Actor,
    team_key: str,
    data: bytes | str,
    *,
    crs: str = "wgs84",
    filename: str | None = None,
    fmt: str | None = None,
    tolerance_m: float = 30.0,
    commit: bool = True,
    day: date | str | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """Read, clean and measure a GPS track of a team; store it with ``commit``.

    A track counts for one day only (its confirmations of planned visits): a timed
    track for the local (county time zone) date of its first fix, an untimed one for the
    ``day`` given with it (required). A track dated after ``today`` is refused. The
    same file uploaded again by the same team is not stored twice: the stored track
    is returned with ``duplicate`` true.

    Parameters
    ----------
    session : Session
        The caller commits.
    store : Store
    actor : Actor
        Who uploads.
    team_key : str
    data : bytes or str
        GPX or GeoJSON (format from ``fmt``, the file name or the content).
    crs : str
        CRS of the file: ``wgs84`` (default), ``cgcs2000``, ``gcj02``, ``bd09``.
    filename : str, optional
    tolerance_m : float
        Road-section tolerance in metres.
    commit : bool
        Store the track (False: report only). A stored track is audited
        (``patrol.track.upload``: team, month, file, fixes, length — not the
        coordinates).
    day : date or str, optional
        The day an untimed track was recorded (``YYYY-MM-DD``). For a timed track
        it must agree with the fix times when given.
    today : date, optional
        Today's local date (default: the clock); later days are refused.

    Returns
    -------
    dict
        ``cleaning`` (counts removed, fixes outside the county, the file's
        ``sha256``), ``coverage`` (road sections with their covered share, areas and
        zones entered with dwell seconds), ``length_m``, ``started_at``/``ended_at``,
        ``day``, ``id`` when stored, ``duplicate`` (true: the same file was stored
        before; nothing new is stored and ``message`` says so).

    Raises
    ------
    NotFoundError
        Unknown team.
    FileFormatError, CoordinateError, UnknownCRSError
        Unreadable file, out-of-range coordinates, unknown CRS (what and where).
    InvalidInputError
        No usable fixes, or no fixes inside the county; an untimed track without
        ``day``; a day after today; ``day`` disagreeing with the fix times.
    """
    import shapely

    get_team(session, team_key)
    if not 0 < tolerance_m <= 500:
        raise InvalidInputError("tolerance_m must be in (0, 500] metres", field="tolerance_m")
    given_day = _as_day(day, "day")
    today = today or local_today()
    raw_bytes = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    digest = hashlib.sha256(raw_bytes).hexdigest()
    raw = read_track(data, fmt=fmt or _fmt_of(filename), crs=crs)
    dup = _stored_duplicate(session, team_key, digest)
    if dup is not None:
        return {
            **track_dict(dup),
            "length_m": (dup.coverage or {}).get("length_m"),
            "duplicate": True,
            "message": f"the same file was uploaded before by team {team_key} as track "
            f"{dup.id}; nothing new stored（相同轨迹文件已上传过，编号 {dup.id}，未重复保存）",
        }
    clean, rep = clean_track(raw)
    cleaning = rep.to_dict()
    if len(clean) == 0:
        raise InvalidInputError(
            f"no usable fixes in the track ({rep.zero_fixes} zero, {rep.non_finite} "
            f"non-finite of {rep.n_raw})",
            field="file",
        )
    counties = store.areas(layer="county", session=session)
    if counties:
        inside = shapely.contains_xy(counties[0].geom, clean.lon, clean.lat)
        cleaning["outside_county"] = int((~inside).sum())
        if not inside.any():
            raise InvalidInputError(
                f"no fixes inside the county ({len(clean)} fixes, first at "
                f"{clean.lon[0]:.5f}, {clean.lat[0]:.5f}) — wrong CRS or another place?",
                field="file",
            )
        clean = Track(clean.lon[inside], clean.lat[inside], clean.t[inside])
    cleaning["n_used"] = len(clean)
    lines, polys = coverage_layers(store, session)
    cov = track_coverage(clean, lines, polys, tolerance_m=tolerance_m)
    coverage: dict[str, Any] = {
        "tolerance_m": tolerance_m,
        "road_sections": {},
        "unit_grids": {},
        "communities": {},
        "key_site_zones": {},
    }
    for key, share in cov.lines.items():
        if share > 0:
            coverage["road_sections"][key.split(":", 1)[1]] = round(share, 4)
    group = {
        "unit_grid": "unit_grids",
        "community": "communities",
        "key_site_zone": "key_site_zones",
    }
    for key, v in cov.polygons.items():
        if v["entered"]:
            layer, code = key.split(":", 1)
            coverage[group[layer]][code] = {"fixes": v["fixes"], "dwell_s": round(v["dwell_s"], 1)}
    start, end = clean.start_end()
    if start is not None:
        track_day = start.astimezone(local_zone()).date()  # county-local day of the first fix
        if given_day is not None and given_day != track_day:
            raise InvalidInputError(
                f"day {given_day.isoformat()} does not match the track's fix times (first fix "
                f"on {track_day.isoformat()}, county time)（指定日期与轨迹时间不符）",
                field="day",
            )
    elif given_day is None:
        raise InvalidInputError(
            "the track has no fix times: give the day it was recorded (day=YYYY-MM-DD, CLI "
            "--day)（轨迹没有时间戳，请用 day / --day 指定记录日期）",
            field="day",
        )
    else:
        track_day = given_day
    if track_day > today:
        raise InvalidInputError(
            f"the track is dated {track_day.isoformat()}, after today ({today.isoformat()})"
            "（轨迹日期晚于今天）",
            field="day",
        )
    cleaning["sha256"] = digest
    coverage["day"] = track_day.isoformat()
    month = track_day.strftime("%Y-%m")  # local month
    out = {
        "team": team_key,
        "input_crs": crs,
        "filename": filename,
        "started_at": start.isoformat() if start else None,
        "ended_at": end.isoformat() if end else None,
        "day": track_day.isoformat(),
        "month": month,
        "duplicate": False,
        "length_m": round(cov.length_m, 1),
        "cleaning": cleaning,
        "coverage": coverage,
    }
    if commit:
        track = PatrolTrack(
            team_key=team_key,
            filename=filename,
            input_crs=crs,
            started_at=start,
            ended_at=end,
            month=month,
            coordinates=clean.coordinates(),
            cleaning=cleaning,
            coverage={**coverage, "length_m": out["length_m"]},
            uploaded_by=actor.who,
        )
        session.add(track)
        session.flush()
        out["id"] = track.id
        audit.record(
            session,
            actor,
            "patrol.track.upload",
            "patrol_track",
            track.id,
            after={
                "team": team_key,
                "month": month,
                "filename": filename,
                "input_crs": crs,
                "fixes": cleaning["n_used"],
                "length_m": out["length_m"],
                "started_at": out["started_at"],
                "ended_at": out["ended_at"],
                "day": out["day"],
            },
        )
    return out


def track_dict(t: PatrolTrack, *, geometry: bool = False) -> dict[str, Any]:
    """JSON form of a stored track (optionally with its WGS84 coordinates)."""
    out = {
        "id": t.id,
        "team": t.team_key,
        "month": t.month,
        "filename": t.filename,
        "input_crs": t.input_crs,
        "started_at": t.started_at.isoformat() if t.started_at else None,
        "ended_at": t.ended_at.isoformat() if t.ended_at else None,
        "day": (t.coverage or {}).get("day"),
        "cleaning": t.cleaning,
        "coverage": t.coverage,
    }
    if geometry:
        out["coordinates"] = t.coordinates
    return out


#: Key of a track's day in :func:`_seen_index`: its local date.
_SeenKey = date


def _seen_index(
    rows: list[Any], covered_share: float
) -> dict[_SeenKey, dict[str, dict[str, set[str]]]]:
    """Day → coverage group → target code → teams whose tracks of that day reached it.

    ``rows`` are ``(team_key, started_at, month, coverage)``. A track counts for its
    own day only: the ``day`` stored with its coverage, else the local (county time zone) date
    of its first fix; an untimed track stored without a day counts for no day. A road
    section counts when covered ≥ ``covered_share``.
    """
    seen: dict[_SeenKey, dict[str, dict[str, set[str]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(set))
    )
    for team_key, started_at, _month, cov in rows:
        stored_day = (cov or {}).get("day")
        if stored_day:
            key = date.fromisoformat(stored_day)
        elif started_at is not None:
            key = started_at.astimezone(local_zone()).date()
        else:
            continue
        for code, share in (cov or {}).get("road_sections", {}).items():
            if share >= covered_share:
                seen[key]["road_sections"][code].add(team_key)
        for grp in ("unit_grids", "communities", "key_site_zones"):
            for code in (cov or {}).get(grp, {}):
                seen[key][grp][code].add(team_key)
    return seen


def _seen_by(seen: dict[_SeenKey, Any], v: PatrolVisit) -> set[str]:
    """Teams whose tracks reached the target of visit ``v`` on its day."""
    grp = _VISIT_GROUP.get(v.target_layer)
    if grp is None:
        return set()
    if v.day not in seen:
        return set()
    return set(seen[v.day][grp].get(v.target_code, set()))


def visit_confirmations(
    session: Session, visits: list[PatrolVisit], *, covered_share: float = 0.8
) -> dict[int, list[str]]:
    """Which planned visits a GPS track (of any team) confirms.

    Parameters
    ----------
    session : Session
    visits : list of PatrolVisit
    covered_share : float
        Share of a road section's length a track must cover (0..1).

    Returns
    -------
    dict of int to list of str
        Visit id → keys of the teams whose tracks of the visit's local day entered
        its target (community, key-site zone, unit grid) or covered its road
        section; visits not confirmed are absent.
    """
    if not visits:
        return {}
    months = sorted({v.day.strftime("%Y-%m") for v in visits})
    rows = session.execute(
        select(
            PatrolTrack.team_key, PatrolTrack.started_at, PatrolTrack.month, PatrolTrack.coverage
        ).where(PatrolTrack.month.in_(months))
    ).all()
    seen = _seen_index(rows, covered_share)
    out = {}
    for v in visits:
        teams = _seen_by(seen, v)
        if teams:
            out[v.id] = sorted(teams)
    return out


def team_coverage(
    session: Session,
    store: Store,
    month: str,
    *,
    team_key: str | None = None,
    covered_share: float = 0.8,
    today: date | None = None,
) -> dict[str, Any]:
    """Coverage of a month per team, and the gaps: what the plan required and nobody visited.

    Parameters
    ----------
    session : Session
    store : Store
    month : str
        ``YYYY-MM``.
    team_key : str, optional
        One team (default: every team).
    covered_share : float
        A road section counts as covered when a track covers at least this share
        of its length (within the tolerance the track was measured with).
    today : date, optional
        Today's local date (default: the clock). Only visits of days up to today
        can be gaps; later unvisited visits are ``planned``.

    Returns
    -------
    dict
        Per team: ``tracks`` (its own) and ``tracks_all`` (every team's that month);
        ``road_sections`` (``covered``/``missed`` codes of the sections in the
        team's area, with the best share by any team's track), ``unit_grids``
        (``entered``/``missed`` by any track), ``plan`` (visits planned,
        ``visited``, ``visited_by_others``, ``gaps``: visits of days up to today no
        track of any team reached, and ``planned``: unvisited visits of later days,
        not yet due), and ``by_community`` (the same counts per community of the
        team's area; key-site visits and roads outside communities under ``""``). A
        planned visit counts as visited when a track of its day (county time zone; an
        untimed track: the day given with it) entered its target (community,
        key-site zone, unit grid) or covered its road section.
    """
    import shapely

    parse_month(month)
    today = today or local_today()
    teams = [get_team(session, team_key)] if team_key else list_teams(session)
    if not teams:
        return {"month": month, "teams": {}}
    finder = TeamFinder(store, session, list_teams(session))
    communities = store.areas(layer="community", session=session)
    for c in communities:
        shapely.prepare(c.geom)

    def community_of(p: Any) -> str:
        return next((c.code for c in communities if c.geom.contains(p)), "")

    roads_by_team: dict[str, list[str]] = defaultdict(list)
    road_comm: dict[str, str] = {}
    for r in store.road_sections(session=session):
        mid = r.geom.interpolate(0.5, normalized=True)
        roads_by_team[finder.team_of(mid.x, mid.y)[0]].append(r.code)
        road_comm[r.code] = community_of(mid)
    grids_by_team: dict[str, list[str]] = defaultdict(list)
    grid_comm: dict[str, str] = {}
    for a in store.areas(layer="unit_grid", session=session):
        p = a.geom.representative_point()
        grids_by_team[finder.team_of(p.x, p.y)[0]].append(a.code)
        grid_comm[a.code] = a.parent_code or ""
    plan = session.scalars(select(PatrolPlan).where(PatrolPlan.month == month)).first()
    rows = session.execute(
        select(
            PatrolTrack.team_key, PatrolTrack.started_at, PatrolTrack.month, PatrolTrack.coverage
        ).where(PatrolTrack.month == month)
    ).all()
    # every team's tracks: what the plan required and *nobody* visited
    seen = _seen_index(rows, covered_share)
    best: dict[str, float] = defaultdict(float)
    entered: dict[str, set[str]] = defaultdict(set)
    for _, _, _, cov in rows:
        for code, share in (cov or {}).get("road_sections", {}).items():
            best[code] = max(best[code], share)
        for grp in ("unit_grids", "communities", "key_site_zones"):
            entered[grp] |= set((cov or {}).get(grp, {}))
    own = defaultdict(int)
    for tk, *_ in rows:
        own[tk] += 1
    out: dict[str, Any] = {"month": month, "covered_share": covered_share, "teams": {}}
    for team in teams:
        roads = sorted(roads_by_team.get(team.key, []))
        covered = [c for c in roads if best.get(c, 0.0) >= covered_share]
        grids = sorted(grids_by_team.get(team.key, []))
        by_comm: dict[str, dict[str, int]] = defaultdict(
            lambda: dict.fromkeys(
                (
                    "road_sections",
                    "roads_covered",
                    "unit_grids",
                    "grids_entered",
                    "visits",
                    "visited",
                    "gaps",
                    "planned",
                ),
                0,
            )
        )
        for c in roads:
            g = by_comm[road_comm.get(c, "")]
            g["road_sections"] += 1
            g["roads_covered"] += int(best.get(c, 0.0) >= covered_share)
        for c in grids:
            g = by_comm[grid_comm.get(c, "")]
            g["unit_grids"] += 1
            g["grids_entered"] += int(c in entered["unit_grids"])
        gaps, upcoming, visited, by_others = [], [], 0, 0
        if plan is not None:
            for v in session.scalars(
                select(PatrolVisit)
                .where(PatrolVisit.plan_id == plan.id, PatrolVisit.team_key == team.key)
                .order_by(PatrolVisit.day, PatrolVisit.seq)
            ):
                who = _seen_by(seen, v)
                g = by_comm[v.community_code or ""]
                g["visits"] += 1
                if who:
                    visited += 1
                    g["visited"] += 1
                    by_others += int(team.key not in who)
                else:
                    due = v.day <= today
                    g["gaps" if due else "planned"] += 1
                    (gaps if due else upcoming).append(
                        {
                            "visit_id": v.id,
                            "day": v.day.isoformat(),
                            "target_layer": v.target_layer,
                            "target_code": v.target_code,
                            "community_code": v.community_code,
                            "kind": v.kind,
                        }
                    )
        out["teams"][team.key] = {
            "tracks": own[team.key],
            "tracks_all": len(rows),
            "road_sections": {
                "total": len(roads),
                "covered": covered,
                "missed": [c for c in roads if c not in set(covered)],
                "share": {c: round(best.get(c, 0.0), 4) for c in roads},
            },
            "unit_grids": {
                "total": len(grids),
                "entered": [c for c in grids if c in entered["unit_grids"]],
                "missed": [c for c in grids if c not in entered["unit_grids"]],
            },
            "key_site_zones_entered": sorted(entered["key_site_zones"]),
            "plan": {
                "exists": plan is not None,
                "visits": visited + len(gaps) + len(upcoming),
                "visited": visited,
                "visited_by_others": by_others,
                "gaps": gaps,
                "planned": upcoming,
                "today": today.isoformat(),
            },
            "by_community": {k: by_comm[k] for k in sorted(by_comm)},
        }
    return out
