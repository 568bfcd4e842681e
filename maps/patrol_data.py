"""GeoJSON of the patrol page: planned visits, a day's route, tracks, covered vs missed.

Everything is WGS84 lon/lat (EPSG:4326) GeoJSON, built through
:mod:`civgrid.geo.convert`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.geo import convert
from civgrid.grids.boundaries.store import Store
from civgrid.grids.core.calendar import parse_month
from civgrid.grids.core.errors import NotFoundError
from civgrid.grids.core.labels import PATROL_KIND_LABELS
from civgrid.grids.patrol.coverage import team_coverage
from civgrid.grids.patrol.models import PatrolPlan, PatrolTrack, PatrolVisit
from civgrid.grids.patrol.plan import reasons_zh
from civgrid.grids.patrol.routes import target_names, target_point, team_route

__all__ = ["patrol_map_data"]


def _fc(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def patrol_map_data(
    session: Session,
    store: Store,
    month: str,
    *,
    team: str | None = None,
    day: date | None = None,
) -> dict[str, Any]:
    """Layers of the patrol page for ``month`` (optionally one team and one day's route).

    Returns
    -------
    dict
        ``visits`` (points), ``route`` (or None), ``tracks`` (lines),
        ``road_sections`` (lines with ``covered`` and ``share``), ``unit_grids``
        (polygons with ``entered``), ``summary`` (counts per team).
    """
    parse_month(month)
    plan = session.scalars(select(PatrolPlan).where(PatrolPlan.month == month)).first()
    visits = []
    if plan is not None:
        q = select(PatrolVisit).where(PatrolVisit.plan_id == plan.id)
        if team:
            q = q.where(PatrolVisit.team_key == team)
        if day:
            q = q.where(PatrolVisit.day == day)
        cache: dict[tuple[str, str], tuple[float, float]] = {}
        rows = session.scalars(
            q.order_by(PatrolVisit.day, PatrolVisit.team_key, PatrolVisit.seq)
        ).all()
        names = target_names(session, [(v.target_layer, v.target_code) for v in rows])
        for v in rows:
            key = (v.target_layer, v.target_code)
            if key not in cache:
                cache[key] = target_point(store, session, *key)
            lon, lat = cache[key]
            visits.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [lon, lat]},
                    "properties": {
                        "id": v.id,
                        "team": v.team_key,
                        "day": v.day.isoformat(),
                        "seq": v.seq,
                        "kind": v.kind,
                        "kind_label": PATROL_KIND_LABELS.get(v.kind, v.kind),
                        "target_layer": v.target_layer,
                        "community_code": v.community_code,
                        "target_code": v.target_code,
                        "target_name": names.get(key, v.target_code),
                        "leader_key": v.leader_key,
                        "status": v.status,
                        "priority": v.priority,
                        "reasons": reasons_zh(v.reasons),  # the popups: Chinese
                        "reason_codes": v.reasons,
                    },
                }
            )
    route = None
    if team and day:
        try:
            route = team_route(session, store, team, day)["geojson"]
        except NotFoundError:
            route = None
    tq = select(PatrolTrack).where(PatrolTrack.month == month)
    if team:
        tq = tq.where(PatrolTrack.team_key == team)
    tracks = [
        {
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": t.coordinates},
            "properties": {
                "id": t.id,
                "team": t.team_key,
                "started_at": t.started_at.isoformat() if t.started_at else None,
                "length_m": (t.coverage or {}).get("length_m"),
                "cleaning": t.cleaning,
            },
        }
        for t in session.scalars(tq.order_by(PatrolTrack.id))
        if len(t.coordinates) > 1
    ]
    cov = team_coverage(session, store, month, team_key=team)
    share: dict[str, float] = {}
    covered: set[str] = set()
    road_team: dict[str, str] = {}
    grids_in: dict[str, bool] = {}
    grid_team: dict[str, str] = {}
    for tk, c in cov["teams"].items():
        for code, s in c["road_sections"]["share"].items():
            share[code] = s
            road_team[code] = tk
        covered |= set(c["road_sections"]["covered"])
        for code in c["unit_grids"]["entered"]:
            grids_in[code] = True
            grid_team[code] = tk
        for code in c["unit_grids"]["missed"]:
            grids_in[code] = False
            grid_team[code] = tk
    roads = [
        convert.feature(
            r.geom,
            {
                "code": r.code,
                "name": r.name,
                "team": road_team.get(r.code),
                "share": share.get(r.code, 0.0),
                "covered": r.code in covered,
            },
        )
        for r in store.road_sections(session=session)
        if r.code in road_team
    ]
    grids = [
        convert.feature(
            a.geom,
            {
                "code": a.code,
                "name": a.name,
                "team": grid_team[a.code],
                "entered": grids_in[a.code],
            },
        )
        for a in store.areas(layer="unit_grid", session=session)
        if a.code in grids_in
    ]
    summary = {
        tk: {
            "tracks": c["tracks"],
            "roads_covered": len(c["road_sections"]["covered"]),
            "roads_total": c["road_sections"]["total"],
            "grids_entered": len(c["unit_grids"]["entered"]),
            "grids_total": c["unit_grids"]["total"],
            "visits": c["plan"]["visits"],
            "visited": c["plan"]["visited"],
            "gaps": len(c["plan"]["gaps"]),
            "planned": len(c["plan"]["planned"]),
        }
        for tk, c in cov["teams"].items()
    }
    return {
        "month": month,
        "team": team,
        "day": day.isoformat() if day else None,
        "plan": plan is not None,
        "visits": _fc(visits),
        "route": route,
        "tracks": _fc(tracks),
        "road_sections": _fc(roads),
        "unit_grids": _fc(grids),
        "summary": summary,
    }
