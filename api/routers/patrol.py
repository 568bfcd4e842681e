"""Patrol (巡查): teams, monthly plans, daily routes, leader visits, GPS tracks and coverage.

API under ``/api/v1`` (``router``) and the page ``/patrol`` (``pages``). Domain
errors map to problem details (``api/errors.py``): bad input 422, unknown 404,
an existing plan 409.
"""

from __future__ import annotations

import copy
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Header, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel

from civgrid.api.deps import (
    ActorDep,
    ScopeDep,
    SessionDep,
    SettingsDep,
    StoreDep,
    require,
    score_registry,
)
from civgrid.api.idempotent import run_once
from civgrid.api.schemas import ERRORS_WRITE, ObjectId
from civgrid.api.schemas.patrol import (
    CoverageOut,
    LeaderVisitIn,
    LeaderVisitOut,
    LeaderVisitsOut,
    PatrolMapOut,
    PlanComputedOut,
    PlanOut,
    PlanRequest,
    RouteOut,
    TeamImportOut,
    TeamOut,
    TrackOut,
    TrackUploadOut,
    VisitOut,
    VisitOutcome,
)
from civgrid.grids.accounts.permissions import Perm, Scope
from civgrid.grids.core import labels as zh
from civgrid.grids.core.errors import InvalidInputError
from civgrid.grids.patrol import leader_visits as lv
from civgrid.grids.patrol.coverage import ingest_track, team_coverage, track_dict
from civgrid.grids.patrol.models import PatrolTrack
from civgrid.grids.patrol.plan import PatrolSettings, get_plan, plan_dict, plan_month
from civgrid.grids.patrol.routes import set_visit_outcome, team_route
from civgrid.grids.patrol.teams import import_teams, list_teams, team_dict
from civgrid.grids.scoring.feeds import LastMonthScores

router = APIRouter(prefix="/api/v1", tags=["patrol"], responses=ERRORS_WRITE)
#: A leader's own visits: leaders record theirs (not other patrol data), so these routes
#: carry their own permissions instead of the patrol router's read/write by method.
leaders = APIRouter(prefix="/api/v1", tags=["patrol"], responses=ERRORS_WRITE)
pages = APIRouter(include_in_schema=False)

Month = Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", description="Month, YYYY-MM.")]
MAX_TRACK_BYTES = 20 * 1024 * 1024


# --------------------------------------------------------------------------- teams


@router.get("/patrol/teams", summary="Supervision teams", response_model_exclude_unset=True)
def get_teams(session: SessionDep) -> list[TeamOut]:
    """Every supervision team (督查组) with leader, members by role, areas, units, base."""
    return [team_dict(t) for t in list_teams(session)]


@router.post(
    "/patrol/teams",
    summary="Import supervision teams from a CSV table",
    response_model_exclude_unset=True,
)
def post_teams(
    session: SessionDep,
    actor: ActorDep,
    file: Annotated[UploadFile, File(description="CSV, columns as teams.csv")],
    commit: Annotated[bool, Query(description="Write (default: dry run)")] = False,
) -> TeamImportOut:
    """Validate and (with ``commit``) upsert teams; errors name the row and field."""
    return import_teams(session, file.file.read(), commit=commit, actor=actor).to_dict()


# --------------------------------------------------------------------------- plans


@router.post(
    "/patrol/plans",
    summary="Plan a month's inspection visits",
    response_model_exclude_unset=True,
)
def post_plan(
    request: Request,
    session: SessionDep,
    store: StoreDep,
    actor: ActorDep,
    month: Month,
    body: PlanRequest | None = None,
    commit: Annotated[bool, Query(description="Store the plan")] = True,
    replace: Annotated[bool, Query(description="Replace an unstarted plan")] = False,
) -> PlanComputedOut:
    """Compute (and store) the plan of ``month``: visits with team, day, priority, reasons."""
    body = body or PlanRequest()
    result = plan_month(
        session,
        store,
        month,
        PatrolSettings.from_dict(body.settings),
        last_scores=body.last_scores,
        scores_feed=LastMonthScores(score_registry(request)),
        commit=commit,
        replace=replace,
        actor=actor,
    )
    out = result.to_dict()
    out["stored"] = commit
    return out


#: How a poor-score reason starts, in English and in Chinese (the wording of labels.py).
_SCORE_REASON = ("poor last score", zh.PATROL_REASON_TEMPLATES["poor_score"].split("{")[0].strip())


def _hide_scores(scope: Scope, visits: list[dict[str, Any]], summary: dict | None) -> None:
    """Remove, in place, the last scores of communities whose scores ``scope`` may not read:
    the plan's poor-score list and the poor-score reasons of visits (a leader reads only
    their own areas' scores; the plan is otherwise readable by every patrol reader)."""
    if scope.sees_all:
        return
    codes = {v.get("community_code") for v in visits} - {None}
    if summary and isinstance(summary.get("last_scores"), dict):
        codes |= set(summary["last_scores"].get("poor") or [])
    allowed = set(scope.score_codes("community", sorted(codes)))
    if summary and isinstance(summary.get("last_scores"), dict):
        ls = summary["last_scores"]
        ls["poor"] = [c for c in ls.get("poor") or [] if c in allowed]
    for v in visits:
        if v.get("community_code") in allowed:
            continue
        for key in ("reasons", "reasons_zh", "reason_codes"):
            if isinstance(v.get(key), list):
                v[key] = [r for r in v[key] if not str(r).startswith(_SCORE_REASON)]


@router.get(
    "/patrol/plans/{month}", summary="A stored monthly plan", response_model_exclude_unset=True
)
def get_month_plan(
    session: SessionDep,
    scope: ScopeDep,
    month: Annotated[str, Path(pattern=r"^\d{4}-\d{2}$")],
    team: Annotated[str | None, Query(max_length=32)] = None,
) -> PlanOut:
    """The stored plan of ``month`` (optionally one team's visits); last scores only of the
    communities whose scores the caller reads."""
    out = plan_dict(get_plan(session, month), team=team)
    out["summary"] = copy.deepcopy(out["summary"])
    _hide_scores(scope, out["visits"], out["summary"])
    return out


@router.post(
    "/patrol/visits/{visit_id}/outcome",
    summary="Mark a visit done or missed",
    response_model_exclude_unset=True,
)
def post_visit_outcome(
    store: StoreDep,
    actor: ActorDep,
    visit_id: ObjectId,
    body: VisitOutcome,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> VisitOut:
    """Set a planned visit's status and link the issues reported during it.

    ``Idempotency-Key``: a retry of the same request returns the first answer (200,
    ``Idempotent-Replay: true``); the key with another request is 409.
    """
    from civgrid.grids.patrol.plan import visit_dict

    def work(session: Any) -> VisitOut:
        v = set_visit_outcome(session, visit_id, body.status, issue_ids=body.issue_ids, actor=actor)
        session.flush()
        return VisitOut.model_validate(visit_dict(v))

    return run_once(
        store,
        response,
        scope="visit_outcome",
        actor=actor,
        key=idempotency_key,
        request={"visit": visit_id, "body": body.model_dump(mode="json")},
        work=work,
        model=VisitOut,
    )


class VisitPhotosOut(BaseModel):
    """The photos of a visit (ids; the image is ``/api/v1/patrol/visit-photos/{id}``)."""

    visit_id: int
    photos: list[int]


@router.post("/patrol/visits/{visit_id}/photos", summary="Add photos to a visit (走访照片)")
def post_visit_photos(
    request: Request,
    store: StoreDep,
    actor: ActorDep,
    visit_id: ObjectId,
    response: Response,
    photos: Annotated[list[UploadFile], File(description="JPEG, PNG, WebP or GIF")],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> VisitPhotosOut:
    """Store photos taken at a visit (the phone sends them with the visit marked done).

    ``Idempotency-Key``: a retry returns the first answer and stores nothing again.
    """
    import hashlib
    from datetime import UTC, datetime

    from civgrid.api.routers.issues import get_issue_config
    from civgrid.grids.issues.photos import PhotoInput
    from civgrid.grids.patrol.visit_photos import add_visit_photos, visit_photo_ids

    cfg = get_issue_config(request)
    limit = cfg.photo_max_bytes
    got = [PhotoInput(f.file.read(limit + 1), f.filename, f.content_type) for f in photos]

    def work(session: Any) -> VisitPhotosOut:
        add_visit_photos(
            session,
            visit_id,
            got,
            actor,
            photo_dir=cfg.photo_dir,
            max_bytes=limit,
            max_count=cfg.photo_max_count,
            now=datetime.now(UTC),
        )
        return VisitPhotosOut(visit_id=visit_id, photos=visit_photo_ids(session, visit_id))

    return run_once(
        store,
        response,
        scope="visit_photos",
        actor=actor,
        key=idempotency_key,
        request={"visit": visit_id, "photos": [hashlib.sha256(p.content).hexdigest() for p in got]},
        work=work,
        model=VisitPhotosOut,
    )


@router.get(
    "/patrol/visit-photos/{photo_id}",
    response_class=FileResponse,
    responses={200: {"content": {"image/*": {}}, "description": "The photo"}},
    summary="A photo of a visit",
)
def get_visit_photo(request: Request, session: SessionDep, photo_id: ObjectId) -> FileResponse:
    """The stored image (by id)."""
    from pathlib import Path as FilePath

    from civgrid.api.routers.issues import get_issue_config
    from civgrid.grids.core.errors import NotFoundError
    from civgrid.grids.patrol.visit_photos import VisitPhoto

    row = session.get(VisitPhoto, photo_id)
    photo_dir = get_issue_config(request).photo_dir
    path = FilePath(photo_dir or ".") / row.path if row is not None else None
    if row is None or path is None or not path.is_file():
        raise NotFoundError(f"no visit photo {photo_id}", kind="photo", key=photo_id)
    return FileResponse(path, media_type=row.mime)


# --------------------------------------------------------------------------- routes


@router.get(
    "/patrol/routes",
    summary="A team's route for a day",
    response_model=None,
    responses={
        200: {
            "model": RouteOut,
            "description": "The route: JSON, GeoJSON or GPX (``format``)",
            "content": {
                "application/geo+json": {
                    "schema": {"$ref": "#/components/schemas/PatrolFeatureCollection"}
                },
                "application/gpx+xml": {"schema": {"type": "string"}},
            },
        }
    },
)
def get_route(
    session: SessionDep,
    store: StoreDep,
    team: Annotated[str, Query(max_length=32)],
    day: Annotated[date, Query(alias="date")],
    format: Literal["json", "geojson", "gpx"] = "json",
) -> Any:
    """Open path from the team's base through the day's planned stops (metres).

    ``json``: the ordered stops with legs; ``geojson``: a FeatureCollection (WGS84);
    ``gpx``: a GPX 1.1 route for phones.
    """
    r = team_route(session, store, team, day)
    if format == "gpx":
        return Response(
            r["gpx"],
            media_type="application/gpx+xml",
            headers={"Content-Disposition": f'attachment; filename="{team}-{day}.gpx"'},
        )
    if format == "geojson":
        return JSONResponse(r["geojson"], media_type="application/geo+json")
    return {k: v for k, v in r.items() if k not in ("gpx", "geojson")}


# --------------------------------------------------------------------------- tracks


@router.post(
    "/patrol/tracks",
    summary="Upload a GPS track (GPX or GeoJSON)",
    response_model_exclude_unset=True,
)
def post_track(
    session: SessionDep,
    store: StoreDep,
    actor: ActorDep,
    file: Annotated[UploadFile, File(description="GPX or GeoJSON track")],
    team: Annotated[str, Form(max_length=32)],
    crs: Annotated[str, Form(description="wgs84, cgcs2000, gcj02 or bd09")] = "wgs84",
    tolerance_m: Annotated[float, Form(gt=0, le=500)] = 30.0,
    commit: Annotated[bool, Form()] = True,
    day: Annotated[
        str | None, Form(description="YYYY-MM-DD: the day of a track without fix times")
    ] = None,
) -> TrackUploadOut:
    """Clean and measure a track; store it with its cleaning report and coverage.

    A bad track (empty, malformed, out-of-range coordinates, unknown CRS, no fix in
    the county, a planned route instead of a recorded track, no fix times and no
    ``day``, dated after today) is refused with 422 and nothing is stored. The same
    file uploaded again by the team returns the stored track (``duplicate`` true).
    """
    data = file.file.read(MAX_TRACK_BYTES + 1)
    if len(data) > MAX_TRACK_BYTES:
        raise InvalidInputError("track file larger than 20 MB", field="file")
    return ingest_track(
        session,
        store,
        actor,
        team,
        data,
        crs=crs,
        filename=file.filename,
        tolerance_m=tolerance_m,
        commit=commit,
        day=day or None,
    )


@router.get("/patrol/tracks", summary="Stored tracks", response_model_exclude_unset=True)
def get_tracks(
    session: SessionDep,
    team: Annotated[str | None, Query(max_length=32)] = None,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None,
    geometry: bool = False,
) -> list[TrackOut]:
    """Tracks with their cleaning report and coverage (coordinates with ``geometry``)."""
    from sqlalchemy import select

    q = select(PatrolTrack).order_by(PatrolTrack.id)
    if team:
        q = q.where(PatrolTrack.team_key == team)
    if month:
        q = q.where(PatrolTrack.month == month)
    return [track_dict(t, geometry=geometry) for t in session.scalars(q)]


@router.get(
    "/patrol/coverage", summary="Coverage and gaps of a month", response_model_exclude_unset=True
)
def get_coverage(
    session: SessionDep,
    store: StoreDep,
    month: Month,
    team: Annotated[str | None, Query(max_length=32)] = None,
    covered_share: Annotated[float, Query(gt=0, le=1)] = 0.8,
) -> CoverageOut:
    """Per team: road sections covered/missed, unit grids entered/missed, plan gaps."""
    return team_coverage(session, store, month, team_key=team, covered_share=covered_share)


@router.get(
    "/patrol/map",
    summary="Layers of the patrol page (GeoJSON)",
    response_model_exclude_unset=True,
)
def get_map_data(
    session: SessionDep,
    store: StoreDep,
    scope: ScopeDep,
    month: Month,
    team: Annotated[str | None, Query(max_length=32)] = None,
    day: Annotated[date | None, Query(alias="date")] = None,
) -> PatrolMapOut:
    """Planned visits, a day's route, tracks, covered vs missed road sections and unit grids."""
    from civgrid.maps.patrol_data import patrol_map_data

    data = patrol_map_data(session, store, month, team=team, day=day)
    _hide_scores(scope, [f["properties"] for f in data["visits"]["features"]], None)
    return data


# --------------------------------------------------------------------------- leaders


@leaders.post(
    "/leaders/{key}/visits",
    summary="Record a leader's visit",
    status_code=201,
    response_model_exclude_unset=True,
)
def post_leader_visit(
    session: SessionDep,
    actor: ActorDep,
    scope: Annotated[Scope, require(Perm.leader_visit_record)],
    key: Annotated[str, Path(max_length=32)],
    body: LeaderVisitIn,
) -> LeaderVisitOut:
    """现场办公 or 看: date, area, note, findings — by the leader (their own only), the
    command center or a supervision team."""
    scope.check_leader(key)
    v = lv.record_leader_visit(session, actor, key, **body.model_dump())
    return lv.leader_visit_dict(v)


@leaders.get(
    "/leaders/{key}/visits",
    summary="A leader's visits and cadence",
    response_model_exclude_unset=True,
)
def get_leader_visits(
    session: SessionDep,
    scope: Annotated[Scope, require(Perm.patrol_read)],
    key: Annotated[str, Path(max_length=32)],
    month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None,
) -> LeaderVisitsOut:
    """The visits (newest first) and, for a month, whether the cadences were kept."""
    scope.check_leader(key)  # a leader reads only their own record (others: 404)
    visits = lv.list_leader_visits(session, key, month=month)
    out: dict[str, Any] = {"leader": key, "visits": [lv.leader_visit_dict(v) for v in visits]}
    if month:
        out["cadence"] = lv.leader_cadence(session, key, month)
    return out


# --------------------------------------------------------------------------- page


@pages.get("/patrol", response_class=HTMLResponse)
def patrol_page(
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
    scope: ScopeDep,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None,
    team: Annotated[str | None, Query(max_length=32)] = None,
    day: Annotated[str | None, Query(alias="date", pattern=r"^(\d{4}-\d{2}-\d{2})?$")] = None,
) -> HTMLResponse:
    """巡查: the plan, a team's route, tracks and coverage on the map; an inspector's own
    team is preselected (``team=`` empty in the form shows every team; an empty ``date=``
    of the form is no day)."""
    from civgrid.maps.folium_offline import render_html
    from civgrid.maps.patrol_page import patrol_map

    try:
        when = date.fromisoformat(day) if day else None
    except ValueError:
        raise InvalidInputError(f"not a date: {day!r}", field="date") from None
    if team is None and scope.actor.team:
        team = scope.actor.team
    team = team or None
    month = month or datetime.now().strftime("%Y-%m")
    m = patrol_map(
        month=month,
        team=team,
        day=when.isoformat() if when else None,
        teams=[team_dict(t) for t in list_teams(session)],
        county_name=getattr(settings, "county_name", ""),
        center=_center(store, session),
        api="/api/v1",
    )
    return HTMLResponse(render_html(m, mode="served"))


def _center(store: Any, session: Any) -> tuple[float, float] | None:
    counties = store.areas(layer="county", session=session)
    if not counties:
        return None
    c = counties[0].geom.centroid
    return (float(c.y), float(c.x))
