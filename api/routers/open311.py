"""Open311 GeoReport v2 under ``/open311/v2`` (JSON and XML), so existing clients can report
and read: ``services``, ``requests`` (GET list/one, POST) and ``tokens``, with the common
extensions (``page``/``page_size``, ``extensions=true`` → detailed status and ``notes``).

POST ``requests`` is routed like any report (a citizen complaint) and waits in
triage; it is rate- and size-limited per client address, and needs one of the
configured ``api_key`` values when ``CIVGRID_OPEN311_API_KEYS`` is set. Anonymous
readers get the public projection (no internal notes); a logged-in caller sees
the issues of their scope. Errors use the GeoReport format:
``[{"code": 400, "description": "…"}]`` or ``<errors><error>…``.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.api.deps import ScopeDep, SessionDep, SettingsDep, StoreDep
from civgrid.api.routers.issues import IssueConfigDep, check_public_intake
from civgrid.api.schemas import MAX_ID
from civgrid.geo.errors import GeoError
from civgrid.grids.accounts.permissions import Role, Scope
from civgrid.grids.core.actors import Actor
from civgrid.grids.core.errors import DomainError, InvalidInputError
from civgrid.grids.core.retry import run_retrying
from civgrid.grids.issues import open311 as o311
from civgrid.grids.issues import service as svc
from civgrid.grids.issues.models import Issue

router = APIRouter(prefix="/open311/v2", tags=["open311"])

Format = Annotated[Literal["json", "xml"], Path(description="json or xml")]


class Open311Error(BaseModel):
    """A GeoReport v2 error."""

    code: int
    description: str


class Service(BaseModel):
    """A GeoReport v2 service (one per issue category)."""

    service_code: str
    service_name: str
    description: str | None
    metadata: bool
    type: str
    keywords: str
    group: str


class Note(BaseModel):
    datetime: str | None
    summary: str
    description: str | None
    type: str
    from_status: str | None
    to_status: str | None


class ExtendedAttributes(BaseModel):
    """The ``extensions=true`` block: detailed status and the notes history."""

    detailed_status: str
    detailed_status_label: str
    kind: str
    flags: list[str]
    source: str
    township: str | None
    community: str | None
    unit_grid: str | None
    duplicate_of: int | None
    recurrence_of: int | None
    notes: list[Note]


class ServiceRequest(BaseModel):
    """A GeoReport v2 service request (spec field names)."""

    service_request_id: str
    status: Literal["open", "closed"]
    status_notes: str | None
    service_name: str | None
    service_code: str
    description: str | None
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: str | None
    updated_datetime: str | None
    expected_datetime: str | None
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None
    extended_attributes: ExtendedAttributes | None = None


class RequestCreated(BaseModel):
    """Answer to POST requests."""

    service_request_id: str | None
    token: str | None
    service_notice: str | None
    account_id: str | None = None


class Token(BaseModel):
    service_request_id: str | None
    token: str


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": list[Open311Error], "description": "Bad request (GeoReport errors)"},
    404: {"model": list[Open311Error], "description": "Not found"},
    409: {"model": list[Open311Error], "description": "Conflict"},
    422: {"model": list[Open311Error], "description": "Invalid input"},
}


def _render(fmt: str, root: str, item: str, items: list[dict[str, Any]], status: int = 200):
    if fmt == "xml":
        return Response(
            o311.to_xml(root, item, items), status_code=status, media_type="text/xml; charset=utf-8"
        )
    return JSONResponse(items, status_code=status)


def _error(fmt: str, status: int, description: str) -> Response:
    return _render(fmt, "errors", "error", [{"code": status, "description": description}], status)


def _projection(issue: Issue, cfg: Any, scope: Scope, extensions: bool) -> dict[str, Any]:
    """A GeoReport request; the public (no account) never sees internal notes."""
    d = o311.service_request(issue, cfg, extensions=extensions)
    if scope.role is Role.public:
        parts = [p for p in (d["status_notes"] or "").split("；") if not p.startswith("复查未通过")]
        d["status_notes"] = "；".join(parts) or None
        for note in (d.get("extended_attributes") or {}).get("notes", []):
            note["description"] = None
    return d


def _visible(scope: Scope) -> Scope | None:
    """The scope filtering Open311 reads (the public projection covers every request)."""
    return None if scope.role is Role.public or scope.sees_all else scope


def _status_of(exc: Exception) -> int:
    from civgrid.api.errors import status_for

    return status_for(exc) or 400


@router.get(
    "/services.{fmt}",
    response_model=list[Service],
    responses=ERRORS,
    summary="Service list (issue categories)",
)
def services(fmt: Format, session: SessionDep) -> Any:
    """Every category as a service (``service_code`` = category code)."""
    return _render(fmt, "services", "service", o311.service_list(session))


def _issue_filter(
    session: Any,
    cfg: Any,
    service_request_id: str | None,
    service_code: str | None,
    start_date: datetime | None,
    end_date: datetime | None,
    status: str | None,
    page: int,
    page_size: int,
    scope: Scope | None = None,
) -> list[Issue]:
    kinds = None
    if status:
        wanted = {s.strip() for s in status.split(",") if s.strip()}
        if not wanted <= {"open", "closed"}:
            raise InvalidInputError("status must be open and/or closed", field="status")
        kinds = (["open"] if "open" in wanted else []) + (
            ["closed_fixed", "closed_not_fixed"] if "closed" in wanted else []
        )
    ids = None
    if service_request_id:
        try:
            ids = [int(x) for x in service_request_id.split(",") if x.strip()]
        except ValueError as exc:
            raise InvalidInputError(
                "service_request_id must be ids separated by commas", field="service_request_id"
            ) from exc
    elif start_date is None:
        start_date = cfg.now() - timedelta(days=90)  # the spec's default window
    q = svc.IssueQuery(
        ids=ids,
        category=service_code or None,
        kinds=kinds,
        reported_from=start_date,
        reported_to=end_date,
        limit=page_size,
        offset=(page - 1) * page_size,
        order="-reported_at",
        scope=scope,
    )
    return svc.list_issues(session, q).items


@router.get(
    "/requests.{fmt}",
    response_model=list[ServiceRequest],
    responses=ERRORS,
    summary="Service requests (issues)",
)
def get_requests(
    fmt: Format,
    session: SessionDep,
    cfg: IssueConfigDep,
    scope: ScopeDep,
    service_request_id: Annotated[str | None, Query()] = None,
    service_code: Annotated[str | None, Query()] = None,
    start_date: Annotated[datetime | None, Query()] = None,
    end_date: Annotated[datetime | None, Query()] = None,
    status: Annotated[str | None, Query(description="open, closed or both")] = None,
    page: Annotated[int, Query(ge=1, le=MAX_ID)] = 1,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 50,
    extensions: Annotated[bool, Query(description="Detailed status and notes")] = False,
) -> Any:
    """Issues as GeoReport v2 requests (newest first, last 90 days unless dated)."""
    try:
        items = _issue_filter(
            session,
            cfg,
            service_request_id,
            service_code,
            start_date,
            end_date,
            status,
            page,
            page_size,
            _visible(scope),
        )
    except (DomainError, GeoError) as exc:
        return _error(fmt, _status_of(exc), str(exc))
    return _render(
        fmt,
        "service_requests",
        "request",
        [_projection(i, cfg, scope, extensions) for i in items],
    )


@router.get(
    "/requests/{request_id}.{fmt}",
    response_model=list[ServiceRequest],
    responses=ERRORS,
    summary="One service request",
)
def get_request(
    request_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    fmt: Format,
    session: SessionDep,
    cfg: IssueConfigDep,
    scope: ScopeDep,
    extensions: Annotated[bool, Query()] = False,
) -> Any:
    """One issue as a GeoReport v2 request (a list of one, as the spec says)."""
    issue = session.get(Issue, request_id)
    limited = _visible(scope)
    if issue is None or (limited is not None and not limited.can_see_issue(issue)):
        return _error(fmt, 404, f"no service request {request_id}")
    return _render(
        fmt,
        "service_requests",
        "request",
        [_projection(issue, cfg, scope, extensions)],
    )


@router.post(
    "/requests.{fmt}",
    response_model=list[RequestCreated],
    status_code=201,
    responses=ERRORS,
    summary="Create a service request (a citizen report, routed like any other)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            k: {"type": "string"}
                            for k in (
                                "api_key",
                                "service_code",
                                "lat",
                                "long",
                                "address_string",
                                "address_id",
                                "email",
                                "device_id",
                                "account_id",
                                "first_name",
                                "last_name",
                                "phone",
                                "description",
                                "media_url",
                            )
                        },
                        "required": ["service_code"],
                    }
                }
            },
        }
    },
)
async def post_request(
    fmt: Format,
    request: Request,
    store: StoreDep,
    cfg: IssueConfigDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Any:
    """Form fields of GeoReport v2; ``lat``/``long`` in WGS84. Returns the request id and a
    token (``tokens/{token}`` resolves it later).
    """
    try:
        await check_public_intake(request, settings)
    except DomainError as exc:
        return _error(fmt, _status_of(exc), str(exc))
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    keys = {k.strip() for k in settings.open311_api_keys.split(",") if k.strip()}
    if keys and fields.get("api_key", "") not in keys:
        return _error(fmt, 403, "a valid api_key is required")
    try:
        payload, extra = o311.parse_request(fields)
    except (DomainError, GeoError) as exc:
        return _error(fmt, _status_of(exc), str(exc))
    token = (idempotency_key or "").strip() or uuid.uuid4().hex
    actor = Actor(extra["reporter"] or "anonymous", "citizen", account_role="public")

    def work(session: Session) -> dict[str, Any]:
        result = svc.report_issue(session, store, actor, payload, f"open311:{token}", config=cfg)
        session.flush()
        return {
            "service_request_id": str(result.issue.id),
            "token": token,
            "service_notice": o311._notice(result.issue, cfg),
            "account_id": None,
        }

    try:
        created = await run_in_threadpool(run_retrying, store.session, work)
    except (DomainError, GeoError) as exc:
        return _error(fmt, _status_of(exc), str(exc))
    return _render(fmt, "service_requests", "request", [created], 201)


@router.get(
    "/tokens/{token}.{fmt}",
    response_model=list[Token],
    responses=ERRORS,
    summary="Service request id from a token",
)
def get_token(token: str, fmt: Format, session: SessionDep) -> Any:
    """The id of the request created with ``token``."""
    issue_id = session.scalar(select(Issue.id).where(Issue.idempotency_key == f"open311:{token}"))
    if issue_id is None:
        return _error(fmt, 404, f"no request for token {token!r}")
    return _render(fmt, "tokens", "token", [{"service_request_id": str(issue_id), "token": token}])


__all__ = ["router"]
