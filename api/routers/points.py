"""Assessment points (测评点位): the register with status, a point's page data, inspections.

``GET /api/v1/points``
    Points with their status (达标 / 不达标 / 未检); filters ``point_type``,
    ``community``, ``unit``, ``compliance``. A unit handler sees its own points
    (包保), a leader those in its townships and communities, other readers all.
``GET /api/v1/points.geojson``
    The same as GeoJSON (the compliance layer and its export).
``GET /api/v1/points/{code}``
    A point, its checklist (the standards in force) and its inspection history.
``GET /points`` and ``GET /points/mock``
    The compliance list (a page, scoped like the list) and the mock assessment page
    (模拟测评, county-wide: command center, inspectors and viewers).
``POST /api/v1/points/{code}/inspections``
    Record an inspection (inspectors and the command center): JSON, or multipart with
    the JSON in ``inspection`` and files in ``photos`` (items name them by index).
    ``Idempotency-Key``: a resend returns the first answer (``Idempotent-Replay``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.api.deps import SessionDep, SettingsDep, StoreDep, require, require_user
from civgrid.api.idempotent import run_once
from civgrid.api.routers.issues import IssueConfigDep, body_schema
from civgrid.api.schemas import (
    ERRORS_READ,
    ERRORS_WRITE,
    FeatureCollection,
    InspectionIn,
    InspectionOut,
    PointDetailOut,
    PointListOut,
)
from civgrid.grids.accounts.permissions import Perm, Role, Scope
from civgrid.grids.boundaries.models import AssessmentPoint
from civgrid.grids.core.calendar import local_today
from civgrid.grids.core.errors import PermissionDeniedError
from civgrid.grids.issues.photos import PhotoInput

router = APIRouter(tags=["points"])

ReadScope = Annotated[Scope, require(Perm.map_read)]
InspectScope = Annotated[Scope, require(Perm.patrol_write)]
PointCode = Annotated[
    str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$", description="Point code.")
]
TypeQ = Annotated[str | None, Query(max_length=32, description="Point type code.")]
CommunityQ = Annotated[str | None, Query(max_length=32, description="Community code.")]
UnitQ = Annotated[str | None, Query(max_length=32, description="Responsible unit key.")]
ComplianceQ = Annotated[
    str | None,
    Query(pattern="^(compliant|non_compliant|uninspected)$", description="达标/不达标/未检."),
]


def point_standards(request: Request) -> Any:
    """The app's point standards (shipped, the city's and installed), built once."""
    reg = getattr(request.app.state, "point_standards", None)
    if reg is None:
        from pathlib import Path as FsPath

        from civgrid.grids.points.standards import StandardsRegistry

        settings = request.app.state.settings
        reg = StandardsRegistry.with_shipped(FsPath(settings.var_dir) / "point_standards")
        request.app.state.point_standards = reg
    return reg


StandardsDep = Annotated[Any, Depends(point_standards)]


def _rows(session: Session, standards: Any, scope: Scope, geometry: bool, **filters: Any) -> list:
    from civgrid.grids.points.register import point_rows

    version = standards.version_on(None, local_today())
    return point_rows(
        session, version, visible=scope.can_see_point, with_geometry=geometry, **filters
    )


@router.get("/api/v1/points", responses=ERRORS_READ, summary="Assessment points with status")
def list_points(
    session: SessionDep,
    scope: ReadScope,
    standards: StandardsDep,
    point_type: TypeQ = None,
    community: CommunityQ = None,
    unit: UnitQ = None,
    compliance: ComplianceQ = None,
) -> PointListOut:
    """测评点位: the points the caller may see, with 达标 / 不达标 / 未检."""
    rows = _rows(
        session,
        standards,
        scope,
        False,
        point_type=point_type,
        community=community,
        unit=unit,
        compliance=compliance,
    )
    return PointListOut(count=len(rows), points=rows)


@router.get(
    "/api/v1/points.geojson",
    responses=ERRORS_READ,
    summary="Assessment points as GeoJSON (the compliance layer)",
)
def points_geojson(
    session: SessionDep,
    scope: ReadScope,
    standards: StandardsDep,
    point_type: TypeQ = None,
    community: CommunityQ = None,
    unit: UnitQ = None,
    compliance: ComplianceQ = None,
) -> FeatureCollection:
    """A FeatureCollection of the visible points, coloured by status (``compliance_color``)."""
    from civgrid.grids.points.register import point_features

    rows = _rows(
        session,
        standards,
        scope,
        True,
        point_type=point_type,
        community=community,
        unit=unit,
        compliance=compliance,
    )
    return FeatureCollection.model_validate(point_features(rows))


def _point(session: Session, scope: Scope, code: str) -> AssessmentPoint:
    p = session.scalar(select(AssessmentPoint).where(AssessmentPoint.code == code))
    scope.check_point(p, code)
    assert p is not None
    return p


@router.get("/api/v1/points/{code}", responses=ERRORS_READ, summary="A point and its history")
def get_point(
    code: PointCode, session: SessionDep, scope: ReadScope, standards: StandardsDep
) -> PointDetailOut:
    """A point, the checklist of its type (standards in force) and its inspections."""
    from civgrid.grids.points.compliance import history

    p = _point(session, scope, code)
    version = standards.version_on(None, local_today())
    row = _rows(session, standards, scope, False, community=p.community_code)
    point = next(r for r in row if r["code"] == code)
    ptype = version.point_type(p.point_type)
    return PointDetailOut(
        point=point,
        checklist=[it.model_dump() for it in ptype.items],
        history=[h.to_dict() for h in history(session, p)],
    )


async def _inspection_body(request: Request) -> tuple[InspectionIn, list[PhotoInput]]:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    photos: list[PhotoInput] = []
    try:
        if ctype == "multipart/form-data":
            form = await request.form(max_files=50, max_fields=20)
            raw: Any = None
            for key, value in form.multi_items():
                if key == "photos" and not isinstance(value, str):
                    photos.append(
                        PhotoInput(await value.read(), value.filename, value.content_type)
                    )
                elif key == "inspection":
                    raw = json.loads(str(value))
            return InspectionIn.model_validate(raw), photos
        return InspectionIn.model_validate_json(await request.body() or b"null"), photos
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e.get("loc", ()))} for e in exc.errors(include_url=False)]
        ) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body", "inspection"), "msg": str(exc)}]
        ) from exc


@router.post(
    "/api/v1/points/{code}/inspections",
    responses=ERRORS_WRITE,
    dependencies=[Depends(require_user)],
    summary="Record an inspection of a point against its checklist",
    openapi_extra=body_schema(InspectionIn),
)
async def inspect_point(
    code: PointCode,
    request: Request,
    response: Response,
    store: StoreDep,
    cfg: IssueConfigDep,
    scope: InspectScope,
    standards: StandardsDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> InspectionOut:
    """实地检查: every checklist item (pass/fail, note, photos where the item needs one),
    time and GPS fix. A missing item or a missing required photo is 422 and nothing is
    stored; each failed item becomes an issue at the point owned by its 包保单位."""
    from civgrid.grids.core.errors import InvalidInputError
    from civgrid.grids.points.inspections import InspectionInput, ItemMark, record_inspection

    body, photos = await _inspection_body(request)
    marks = []
    for i, m in enumerate(body.items):
        bad = [n for n in m.photos if not 0 <= n < len(photos)]
        if bad:
            raise InvalidInputError(
                f"item {m.code}: no uploaded photo {bad[0]}", field=f"items[{i}].photos"
            )
        marks.append(ItemMark(m.code, m.passed, m.note, tuple(photos[n] for n in m.photos)))
    data = InspectionInput(code, marks, body.inspected_at, body.lon, body.lat, body.accuracy_m)
    fingerprint = {
        "point": code,
        "body": body.model_dump(mode="json"),
        "photos": [hashlib.sha256(p.content).hexdigest() for p in photos],
    }

    def work(session: Session) -> InspectionOut:
        _point(session, scope, code)
        r = record_inspection(session, store, scope.actor, standards, data, config=cfg, guard=scope)
        session.flush()
        return InspectionOut.of(r, code)

    return await run_in_threadpool(
        run_once,
        store,
        response,
        scope="point_inspection",
        actor=scope.actor,
        key=idempotency_key,
        request=fingerprint,
        work=work,
        model=InspectionOut,
    )


#: Who reads the county-wide mock assessment (None: the system actor).
MOCK_READERS = (None, Role.admin, Role.dispatcher, Role.inspector, Role.viewer)
SeedQ = Annotated[int, Query(ge=0, le=2**31 - 1, description="Seed of the draw.")]


@router.get("/points", response_class=HTMLResponse, include_in_schema=False)
def points_page(
    session: SessionDep,
    settings: SettingsDep,
    scope: ReadScope,
    standards: StandardsDep,
    point_type: TypeQ = None,
    community: CommunityQ = None,
    unit: UnitQ = None,
    compliance: Annotated[str | None, Query(max_length=16)] = None,
) -> HTMLResponse:
    """测评点位: the points the caller may see, coloured by status, with filters."""
    from civgrid.maps.points_page import points_html

    version = standards.version_on(None, local_today())
    filters = {
        "point_type": point_type or None,
        "community": community or None,
        "unit": unit or None,
        "compliance": compliance
        if compliance in ("compliant", "non_compliant", "uninspected")
        else None,
    }
    rows = _rows(session, standards, scope, False, **filters)
    return HTMLResponse(
        points_html(
            rows,
            county=settings.county_name,
            types={t.code: t.label for t in version.types},
            filters=filters,
            demo_standard=version.demo,
        )
    )


@router.get("/points/mock", response_class=HTMLResponse, include_in_schema=False)
def mock_page(
    session: SessionDep,
    settings: SettingsDep,
    scope: ReadScope,
    standards: StandardsDep,
    seed: SeedQ = 1,
) -> HTMLResponse:
    """模拟测评: the sample drawn with ``seed``, the predicted field score and its band."""
    from civgrid.grids.points.compliance import latest_results
    from civgrid.grids.points.mock import run
    from civgrid.maps.points_page import mock_html

    if scope.role not in MOCK_READERS:
        raise PermissionDeniedError(
            "the mock assessment is county-wide: command center, inspectors and viewers",
            role=scope.role.value if scope.role else "system",
        )
    version = standards.version_on(None, local_today())
    results = latest_results(session, version)
    result = None
    if results:
        weights = {t.code: t.weight for t in version.types}
        result = run(results, weights, seed=seed, rounds=200).to_dict()
        result["level"] = 0.9
    return HTMLResponse(
        mock_html(
            result,
            county=settings.county_name,
            types={t.code: t.label for t in version.types},
            inspected=len(results),
            seed=seed,
        )
    )
