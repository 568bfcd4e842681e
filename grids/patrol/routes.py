"""A team's daily route through its planned visits, and visit outcomes (done/missed, issues).

The route is an open path from the team's base through the day's stops (straight
lines in the metric CRS, metres; the road network is not used), from
:func:`civgrid.geo.route.plan_route`. Output: a list, GeoJSON (WGS84) and GPX.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.geo.route import plan_route, route_to_geojson, route_to_gpx
from civgrid.grids.boundaries.store import Store
from civgrid.grids.core import audit
from civgrid.grids.core.actors import SYSTEM_ACTOR, Actor
from civgrid.grids.core.errors import InvalidInputError, NotFoundError
from civgrid.grids.core.labels import PATROL_KIND_LABELS
from civgrid.grids.issues.models import Issue
from civgrid.grids.patrol.models import PatrolPlan, PatrolVisit, VisitIssue
from civgrid.grids.patrol.teams import get_team

__all__ = ["set_visit_outcome", "target_names", "target_point", "team_route"]


def target_names(
    session: Session, targets: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """Names of visit targets: (layer, code) → name (areas, road sections, key sites,
    assessment points).

    Targets not found are left out (callers show the code).
    """
    from civgrid.grids.boundaries.models import Area, AssessmentPoint, KeySite, RoadSection

    by_layer: dict[str, set[str]] = {}
    for layer, code in targets:
        by_layer.setdefault(layer, set()).add(code)
    out: dict[tuple[str, str], str] = {}
    for layer, codes in by_layer.items():
        model = {
            "key_site": KeySite,
            "road_section": RoadSection,
            "assessment_point": AssessmentPoint,
        }.get(layer, Area)
        rows = session.execute(select(model.code, model.name).where(model.code.in_(codes)))
        out.update({(layer, code): name for code, name in rows})
    return out


def target_point(store: Store, session: Session, layer: str, code: str) -> tuple[float, float]:
    """A WGS84 lon/lat point of a visit target (key-site point, else a point inside the area).

    Raises
    ------
    NotFoundError
        The target is not in the current boundaries.
    """
    geom = None
    if layer == "key_site":
        geom = next((k.geom for k in store.key_sites(session=session) if k.code == code), None)
    elif layer == "assessment_point":
        from civgrid.grids.boundaries.models import AssessmentPoint

        geom = session.scalar(select(AssessmentPoint.geom).where(AssessmentPoint.code == code))
    elif layer == "road_section":
        geom = next((r.geom for r in store.road_sections(session=session) if r.code == code), None)
        if geom is not None:
            geom = geom.interpolate(0.5, normalized=True)
    else:
        geom = store.area(code, session=session).geom
    if geom is None:
        raise NotFoundError(f"no {layer} {code}", kind=layer, key=code)
    p = geom if geom.geom_type == "Point" else geom.representative_point()
    return float(p.x), float(p.y)


def team_route(session: Session, store: Store, team_key: str, day: date | str) -> dict[str, Any]:
    """The route of ``team_key`` on ``day`` through the stored plan's visits.

    Returns
    -------
    dict
        ``team``, ``day``, ``base`` [lon, lat], ``stops`` in visiting order (visit
        id, target, kind, lon/lat, leg in metres), ``total_m``, ``geojson``
        (FeatureCollection: the path and the stops) and ``gpx`` (text).

    Raises
    ------
    NotFoundError
        Unknown team, no plan for the month, or no visits that day.
    """
    if isinstance(day, str):
        try:
            day = date.fromisoformat(day)
        except ValueError:
            raise InvalidInputError(f"date {day!r} is not YYYY-MM-DD", field="date") from None
    team = get_team(session, team_key)
    visits = list(
        session.scalars(
            select(PatrolVisit)
            .join(PatrolPlan, PatrolPlan.id == PatrolVisit.plan_id)
            .where(
                PatrolPlan.month == day.strftime("%Y-%m"),
                PatrolVisit.team_key == team_key,
                PatrolVisit.day == day,
            )
            .order_by(PatrolVisit.seq, PatrolVisit.id)
        )
    )
    if not visits:
        raise NotFoundError(
            f"no planned visits for team {team_key} on {day.isoformat()}",
            kind="route",
            key=f"{team_key}/{day.isoformat()}",
        )
    base = (team.base_lon, team.base_lat)
    pts = [target_point(store, session, v.target_layer, v.target_code) for v in visits]
    r = plan_route(base, pts)
    known = target_names(session, [(v.target_layer, v.target_code) for v in visits])
    label = {v.id: known.get((v.target_layer, v.target_code), v.target_code) for v in visits}
    names = [f"{label[v.id]}（{PATROL_KIND_LABELS.get(v.kind, v.kind)}）" for v in visits]
    stops = []
    for leg, i in zip(r.legs_m, r.order, strict=True):
        v = visits[i]
        stops.append(
            {
                "visit_id": v.id,
                "target_layer": v.target_layer,
                "target_code": v.target_code,
                "target_name": label[v.id],
                "kind": v.kind,
                "lon": pts[i][0],
                "lat": pts[i][1],
                "leg_m": round(leg, 1),
            }
        )
    path = route_to_geojson(base, pts, r)
    path["properties"].update({"team": team_key, "day": day.isoformat(), "kind": "route"})
    features = [path] + [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [s["lon"], s["lat"]]},
            "properties": {
                "seq": n,
                **{k: s[k] for k in ("target_code", "target_name", "kind", "visit_id")},
            },
        }
        for n, s in enumerate(stops, 1)
    ]
    return {
        "team": team_key,
        "day": day.isoformat(),
        "base": list(base),
        "stops": stops,
        "total_m": round(r.total_m, 1),
        "epsg": r.epsg,
        "geojson": {"type": "FeatureCollection", "features": features},
        "gpx": route_to_gpx(base, pts, r, names=names),
    }


def _check_issue_fits(visit: PatrolVisit, issue: Issue) -> None:
    """Refuse an issue not reported on the visit's local day or outside its community."""
    from civgrid.grids.core.calendar import local_zone

    reported = issue.reported_at
    if reported is not None and reported.tzinfo is None:
        reported = reported.replace(tzinfo=UTC)
    day = reported.astimezone(local_zone()).date() if reported is not None else None
    if day != visit.day:
        raise InvalidInputError(
            f"issue {issue.id} was reported on {day.isoformat() if day else 'an unknown day'}, "
            f"not on the day of visit {visit.id} ({visit.day.isoformat()}, county time)"
            "（问题上报日期与走访日期不符）",
            field="issue_ids",
        )
    if visit.community_code and issue.community_code != visit.community_code:
        raise InvalidInputError(
            f"issue {issue.id} is in community {issue.community_code or '(none)'}, not in "
            f"{visit.community_code} visited by visit {visit.id}（问题不在走访的社区）",
            field="issue_ids",
        )


def set_visit_outcome(
    session: Session,
    visit_id: int,
    status: str,
    *,
    issue_ids: list[int] | None = None,
    actor: Actor = SYSTEM_ACTOR,
    today: date | None = None,
) -> PatrolVisit:
    """Mark a planned visit ``done`` or ``missed`` and link issues reported during it.

    A visit of a later day than today cannot be done or missed yet. A linked issue
    must have been reported on the visit's day (local date) and, when the
    visit has a community, in that community; a missed visit links no issues.

    Parameters
    ----------
    session : Session
        The caller commits.
    visit_id : int
    status : {"planned", "done", "missed"}
    issue_ids : list of int, optional
        Issues reported during the visit (linked once each).
    actor : Actor
        Who records the outcome (default: the system, for batch jobs). Audited as
        ``patrol.visit.outcome``: status and linked issue ids before and after.
    today : date, optional
        Today's local date (default: the clock).

    Raises
    ------
    NotFoundError
        Unknown visit or issue.
    InvalidInputError
        Unknown status; a later day's visit marked done or missed; an issue of
        another day or community; issues linked to a missed visit. Nothing changes.
    """
    from civgrid.grids.core.calendar import local_today

    if status not in ("planned", "done", "missed"):
        raise InvalidInputError(f"unknown visit status {status!r}", field="status")
    visit = session.get(PatrolVisit, visit_id)
    if visit is None:
        raise NotFoundError(f"no patrol visit {visit_id}", kind="visit", key=visit_id)
    today = today or local_today()
    if status != "planned" and visit.day > today:
        raise InvalidInputError(
            f"visit {visit_id} is planned for {visit.day.isoformat()}, after today "
            f"({today.isoformat()}): it cannot be {status} yet（走访日期晚于今天）",
            field="status",
        )
    if status == "missed" and issue_ids:
        raise InvalidInputError(
            f"visit {visit_id} is marked missed: no issues can be linked to it"
            "（未走访的计划不能关联问题）",
            field="issue_ids",
        )
    issues = []
    for iid in issue_ids or []:
        issue = session.get(Issue, iid)
        if issue is None:
            raise NotFoundError(f"no issue {iid}", kind="issue", key=iid)
        _check_issue_fits(visit, issue)
        issues.append(issue)
    old_status = visit.status
    visit.status = status
    linked = {
        vi.issue_id
        for vi in session.scalars(select(VisitIssue).where(VisitIssue.visit_id == visit_id))
    }
    before = {"status": old_status, "issue_ids": sorted(linked)}
    for issue in issues:
        iid = issue.id
        if iid not in linked:
            session.add(VisitIssue(visit_id=visit_id, issue_id=iid))
            linked.add(iid)
    audit.record(
        session,
        actor,
        "patrol.visit.outcome",
        "patrol_visit",
        visit_id,
        before=before,
        after={"status": status, "issue_ids": sorted(linked)},
    )
    session.flush()
    return visit
