"""``/api/v1/issues``: intake, queries, the workflow, extensions, 督办 notices, the unit inbox.

Intake and transitions accept JSON or ``multipart/form-data`` (the same fields
plus ``photos`` files). ``Idempotency-Key`` makes a retried report return the
first result (200 instead of 201). ``If-Match: "<version>"`` (or
``expected_version`` in the body) guards concurrent updates (409 when stale).

Who acts is the logged-in account (Bearer token or the login cookie); what they may
see and do is :class:`civgrid.grids.accounts.permissions.Scope`: lists are filtered by it,
an issue outside it answers 404, a forbidden action 403. Anonymous callers may
only report (rate- and size-limited; the report waits in triage).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session

from civgrid.api.deps import (
    PUBLIC_ACTOR,
    ActorDep,
    CredentialsDep,
    ScopeDep,
    SessionDep,
    SettingsDep,
    StoreDep,
    require,
    require_user,
)
from civgrid.api.idempotent import run_once
from civgrid.api.ratelimit import PayloadTooLargeError, TooManyRequestsError, client_ip, limiter
from civgrid.api.receipts import receipt_for
from civgrid.api.schemas import (
    ERRORS_READ,
    ERRORS_WRITE,
    MAX_ID,
    DeadlineReportOut,
    DispatchIn,
    ExtensionDecisionIn,
    ExtensionIn,
    ExtensionOut,
    FeatureCollection,
    InboxOut,
    IssueCreate,
    IssueDetail,
    IssueOut,
    IssuePage,
    Problem,
    ReassignIn,
    TransitionIn,
)
from civgrid.grids.accounts.permissions import Perm, Scope
from civgrid.grids.boundaries.models import Unit
from civgrid.grids.core.actors import Actor
from civgrid.grids.core.errors import InvalidInputError, NotFoundError
from civgrid.grids.core.retry import run_retrying
from civgrid.grids.issues import service as svc
from civgrid.grids.issues.config import IssueConfig, IssueSettings
from civgrid.grids.issues.models import Issue, Photo, SupervisionNotice
from civgrid.grids.issues.photos import PhotoInput
from civgrid.maps.documents import render_notice

router = APIRouter(prefix="/api/v1", tags=["issues"])


class IssueCreateIn(IssueCreate):
    """A new report; optionally the patrol visit (巡查走访) during which it was found."""

    visit_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Planned patrol visit id (422 when unknown)."
    )


class IssueDetailOut(IssueDetail):
    """An issue with its history, and the patrol visit it was reported during."""

    visit_id: int | None = Field(default=None, description="Patrol visit id, if any.")
    receipt: str | None = Field(
        default=None,
        description="Intake only: the receipt number (回执号) to look the report up by "
        "(GET /api/v1/receipts/{receipt}).",
    )


# ----------------------------------------------------------------------------- dependencies


def get_issue_config(request: Request) -> IssueConfig:
    """The city's issue configuration (built once from ``CIVGRID_*``; tests may replace it)."""
    cfg = getattr(request.app.state, "issue_config", None)
    if cfg is None:
        settings = request.app.state.settings
        cfg = IssueConfig.from_settings(IssueSettings(), var_dir=settings.var_dir)
        request.app.state.issue_config = cfg
    return cfg


async def _issue_config_dep(request: Request) -> IssueConfig:
    # async: a cached object needs no worker-thread hop (each costs a request ~0.1 ms)
    return get_issue_config(request)


IssueConfigDep = Annotated[IssueConfig, Depends(_issue_config_dep)]
ReadScope = Annotated[Scope, require(Perm.issue_read)]
#: Writes need an account (the public only reports); the domain checks the object.
LOGIN = Depends(require_user)
ExportScope = Annotated[Scope, require(Perm.lists_export)]
IssueId = Annotated[int, PathParam(ge=1, le=MAX_ID, description="Issue id.")]


def _version(if_match: str | None, body_version: int | None) -> int | None:
    if body_version is not None:
        return body_version
    if not if_match:
        return None
    raw = if_match.strip().removeprefix("W/").strip('"')
    try:
        return int(raw)
    except ValueError as exc:
        raise InvalidInputError(
            f'If-Match must be a version like "3", got {if_match!r}', field="If-Match"
        ) from exc


def _out(issue: Issue, cfg: IssueConfig, *, routing: bool = True) -> IssueOut:
    d = svc.describe(issue, cfg.workflow)
    if not routing:
        d["routing"] = None
    return IssueOut.model_validate(d)


class ItemsJSONResponse(JSONResponse):
    """JSON of already-shaped items (the issue list), rendered by orjson.

    The items are :func:`civgrid.grids.issues.describe.describe_item` dicts, built as the
    route's response model writes them, so the model is declared (OpenAPI) but not run
    over every item: that validation was a third of a list page's time (bench/scale.py).
    UTC times end in ``Z``, as pydantic writes them.
    """

    def render(self, content: Any) -> bytes:
        import orjson

        return orjson.dumps(content, option=orjson.OPT_UTC_Z)


def detail_out(issue: Issue, cfg: IssueConfig) -> IssueDetailOut:
    """The typed detail of an issue, with its history (shared with the transfer routes)."""
    return IssueDetailOut.model_validate(svc.describe(issue, cfg.workflow, history=True))


def _public(issue: Issue, cfg: IssueConfig) -> IssueDetail:
    """What an anonymous reporter gets back: no history, notes, notices or routing."""
    d = svc.describe(issue, cfg.workflow, history=True)
    d.update(history=[], notices=[], extensions=[], routing=None, leaders=[], visit_id=None)
    return IssueDetailOut.model_validate(d)


async def check_public_intake(request: Request, settings: Any) -> None:
    """Rate and size limits of anonymous intake (429 / 413).

    The size is checked on the declared ``Content-Length`` and again on the
    bytes actually received (a chunked body declares none); the body read here
    is kept for the handler. The in-process token bucket is the second line;
    the reverse proxy's ``limit_req`` is the production layer (docs/operations.md).
    """
    limit = settings.intake_max_bytes
    too_large = PayloadTooLargeError(f"the report is larger than {limit} bytes", field="body")
    if int(request.headers.get("content-length") or 0) > limit:
        raise too_large
    ip = client_ip(request)
    bucket = limiter(request, "intake", settings.intake_rate)
    if not await run_in_threadpool(bucket.allow, f"ip:{ip}"):  # a database write
        raise TooManyRequestsError("too many reports from this address; try again later")
    received, chunks = 0, []
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise too_large
        chunks.append(chunk)
    request._body = b"".join(chunks)  # Starlette's cache: .body()/.form() read it from here


# ----------------------------------------------------------------------------- body parsing


async def parse_body(
    request: Request, model: type[BaseModel], *, photos_allowed: bool = True
) -> tuple[BaseModel, list[PhotoInput]]:
    """JSON or multipart body → (validated model, photos); errors name the field (422)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    photos: list[PhotoInput] = []
    if ctype == "multipart/form-data" and photos_allowed:
        form = await request.form(max_files=50, max_fields=100)
        data: dict[str, Any] = {}
        for key, value in form.multi_items():
            if key == "photos":
                if isinstance(value, str):
                    raise RequestValidationError(
                        [_err(("body", "photos"), "photos must be files", value)]
                    )
                photos.append(PhotoInput(await value.read(), value.filename, value.content_type))
            elif key in ("co_units",):
                data.setdefault(key, []).extend(v for v in str(value).split(",") if v)
            elif key == "attributes":
                data[key] = _json_field(str(value), key)
            elif str(value) != "":
                data[key] = value
    elif ctype in ("application/json", "") or ctype.endswith("+json"):
        raw = await request.body()
        try:
            data = json.loads(raw or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            pos = getattr(exc, "pos", 0)
            raise RequestValidationError(
                [
                    _err(
                        ("body", pos),
                        f"malformed JSON: {getattr(exc, 'msg', exc)}",
                        None,
                        "json_invalid",
                    )
                ]
            ) from exc
        if not isinstance(data, dict):
            raise RequestValidationError(
                [_err(("body",), "the body must be a JSON object", data, "model_attributes_type")]
            )
    else:
        raise RequestValidationError(
            [
                _err(
                    ("header", "content-type"),
                    f"unsupported content type {ctype!r}: send "
                    "application/json or multipart/form-data",
                    ctype,
                )
            ]
        )
    try:
        return model.model_validate(data), photos
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from exc


def _err(loc: tuple, msg: str, value: Any, type_: str = "value_error") -> dict[str, Any]:
    return {"type": type_, "loc": loc, "msg": msg, "input": value}


def _json_field(text: str, name: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RequestValidationError([_err(("body", name), f"{name} must be JSON", text)]) from exc


def _inline_defs(node: Any, defs: dict[str, Any]) -> Any:
    """``node`` with every ``#/$defs/X`` reference replaced by its definition: an
    ``openapi_extra`` schema is not hoisted into ``components`` the way a declared body
    is, and ReDoc cannot resolve a ``$defs`` pointer inside the operation."""
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline_defs(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline_defs(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline_defs(v, defs) for v in node]
    return node


def body_schema(model: type[BaseModel], *, photos: bool = True) -> dict[str, Any]:
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})
    schema = _inline_defs(schema, defs)
    content: dict[str, Any] = {"application/json": {"schema": schema}}
    if photos:
        form = {
            **schema,
            "properties": {
                **schema.get("properties", {}),
                "photos": {
                    "type": "array",
                    "items": {"type": "string", "format": "binary"},
                    "description": "Photos (JPEG, PNG, WebP, GIF); size limited.",
                },
            },
        }
        content["multipart/form-data"] = {"schema": form}
    return {"requestBody": {"required": True, "content": content}}


# ----------------------------------------------------------------------------- intake


@router.post(
    "/issues",
    status_code=201,
    response_model=IssueDetailOut,
    summary="Report an issue (上报问题)",
    responses={
        **ERRORS_WRITE,
        200: {"model": IssueDetailOut, "description": "Idempotent replay: the first result"},
    },
    openapi_extra=body_schema(IssueCreateIn),
)
async def create_issue(
    request: Request,
    response: Response,
    store: StoreDep,
    cfg: IssueConfigDep,
    credentials: CredentialsDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> IssueDetail:
    """Report a problem at a place. It is snapped and routed at once: the response shows
    township, community, unit grid, road section and road chief, key-site zones, the
    owner unit (lead unit), co-responsible units, leaders, the deadline — and why
    (``routing``, a structured reason per part). Outside the county, unroutable,
    unmatched addresses and (by setting) anonymous citizen reports wait in triage.
    """
    # The account is read in the thread that writes the report, in its transaction
    # (issue 19: one worker-thread hop and one connection per intake); the checks and
    # their order are those of the dependencies: credentials (401), permission (403),
    # the public's limits (429/413), then the body (422).
    public = credentials.anonymous
    if public:
        Scope.for_actor(None, PUBLIC_ACTOR).require(Perm.issue_report)
        await check_public_intake(request, settings)
    body_error: Exception | None = None
    body: Any = None
    photos: list[PhotoInput] = []
    try:
        body, photos = await parse_body(request, IssueCreateIn)
    except Exception as exc:  # said after the account checks, as before the change
        if public:
            raise
        body_error = exc

    def work(session: Session) -> tuple[IssueDetailOut, bool]:
        # the routing stamp comes with the account: the report routes next (one round
        # trip fewer)
        scope = credentials.scope(store, session, routing_stamp=True)
        scope.require(Perm.issue_report)
        if body_error is not None:
            raise body_error
        assert isinstance(body, IssueCreateIn)
        actor = scope.actor
        # only the command center records a report on someone else's behalf (a phone
        # complaint)
        role = (body.reporter_role if scope.has(Perm.issue_dispatch) else None) or actor.role.value
        reporter = Actor(
            actor.who,
            role,
            actor.unit,
            account_role=actor.account_role,
            leader=actor.leader,
            team=actor.team,
        )
        payload = svc.IssueReport(
            category=body.category,
            source=body.source,
            lon=body.lon,
            lat=body.lat,
            crs=body.crs,
            address=body.address,
            description=body.description,
            priority=body.priority,
            reported_at=body.reported_at,
            reporter_name=body.reporter_name,
            reporter_contact=body.reporter_contact,
            photos=photos,
            attributes=body.attributes,
            visit_id=body.visit_id,
        )
        # keys are private to their sender: another account (or the public) reusing one
        # makes its own report and never sees the first
        key = f"user:{actor.who}:{idempotency_key}" if idempotency_key is not None else None
        result = svc.report_issue(session, store, reporter, payload, key, config=cfg)
        session.flush()
        # a replay is answered in the caller's view (the public's: no notes or history)
        full = not public and (result.created or scope.can_see_issue(result.issue))
        out = detail_out(result.issue, cfg) if full else _public(result.issue, cfg)
        return out, result.created

    # a race lost to a concurrent retry with the same key is run again: it replays
    out, created = await run_in_threadpool(run_retrying, store.session, work)
    out.receipt = receipt_for(settings, out.id)
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/api/v1/issues/{out.id}"
    response.headers["ETag"] = f'"{out.version}"'
    return out


# ----------------------------------------------------------------------------- queries


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    try:
        parts = tuple(float(p) for p in text.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 4:
        raise InvalidInputError(
            "bbox must be min_lon,min_lat,max_lon,max_lat (WGS84 degrees)", field="bbox"
        )
    return parts  # type: ignore[return-value]


async def issue_query(
    state: Annotated[list[str] | None, Query(description="State(s): triage, assigned…")] = None,
    kind: Annotated[
        list[str] | None, Query(description="open, closed_fixed, closed_not_fixed")
    ] = None,
    category: Annotated[str | None, Query(description="Category code (with its subtree).")] = None,
    source: Annotated[list[str] | None, Query()] = None,
    area: Annotated[str | None, Query(description="Area code of any level.")] = None,
    unit: Annotated[str | None, Query(description="Unit key (owner or co-responsible).")] = None,
    leader: Annotated[str | None, Query(description="Leader key.")] = None,
    road_section: Annotated[str | None, Query()] = None,
    key_site: Annotated[str | None, Query()] = None,
    reported_from: Annotated[datetime | None, Query()] = None,
    reported_to: Annotated[datetime | None, Query()] = None,
    overdue: Annotated[bool | None, Query()] = None,
    escalated: Annotated[bool | None, Query()] = None,
    recurrent: Annotated[bool | None, Query()] = None,
    bbox: Annotated[str | None, Query(description="min_lon,min_lat,max_lon,max_lat")] = None,
    q: Annotated[
        str | None,
        Query(max_length=200, description="An issue number, or words of address/description."),
    ] = None,
    deadline_before: Annotated[datetime | None, Query()] = None,
    extension_pending: Annotated[bool | None, Query()] = None,
    supervised: Annotated[bool | None, Query(description="Has a 督办 notice.")] = None,
    proposed: Annotated[bool | None, Query(description="Has an owner unit.")] = None,
    owner_only: Annotated[bool, Query(description="unit: as owner only.")] = False,
    zone: Annotated[
        Literal["central", "rural"] | None,
        Query(description="central = 中心城区; rural = the rest of the county (乡村)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    order: Annotated[
        str,
        Query(
            description="-reported_at, reported_at, deadline, -deadline, id, -id, updated_at, "
            "-updated_at"
        ),
    ] = "-reported_at",
) -> svc.IssueQuery:
    """Query parameters → :class:`civgrid.grids.issues.service.IssueQuery`."""
    return svc.IssueQuery(
        states=state,
        kinds=kind,
        category=category,
        sources=source,
        area=area,
        unit=unit,
        leader=leader,
        road_section=road_section,
        key_site=key_site,
        reported_from=reported_from,
        reported_to=reported_to,
        overdue=overdue,
        escalated=escalated,
        recurrent=recurrent,
        bbox=_bbox(bbox),
        text=q,
        deadline_before=deadline_before,
        extension_pending=extension_pending,
        supervised=supervised,
        proposed=proposed,
        owner_only=owner_only,
        zone=zone,
        limit=limit,
        offset=offset,
        order=order,
    )


QueryDep = Annotated[svc.IssueQuery, Depends(issue_query)]
#: The list counts at most this many issues past its offset (``total_capped`` beyond): a
#: unit's queue of 8·10³ open issues costs a probe each to count (a local choice).
LIST_COUNT_CAP = 1000


@router.get(
    "/issues",
    response_model=IssuePage,
    responses=ERRORS_READ,
    summary="List issues (filters, bbox, pagination)",
)
def list_issues(
    session: SessionDep,
    cfg: IssueConfigDep,
    q: QueryDep,
    scope: ReadScope,
    routing: Annotated[
        bool,
        Query(
            description="Include each issue's full routing answer (the why of every part, "
            "~2.5 kB an issue); by default a list leaves it out (``routing: null``) and "
            "the issue's detail carries it."
        ),
    ] = False,
) -> Response:
    """Issues filtered by state, kind, category, source, area (any level), unit, leader,
    road section, key site, date range, overdue, escalated, recurrent and bbox —
    only those in the caller's scope.
    """
    q.scope = scope
    q.count_cap = LIST_COUNT_CAP
    page = svc.list_issue_items(session, q, cfg.workflow, routing=routing)
    nxt = page.offset + len(page.items)
    return ItemsJSONResponse(
        {
            "items": page.items,
            "total": page.total,
            "limit": page.limit,
            "offset": page.offset,
            "next_offset": nxt if nxt < page.total else None,
            "total_capped": page.total_capped,
        }
    )


@router.get(
    "/issues.geojson",
    response_model=FeatureCollection,
    responses=ERRORS_READ,
    summary="Issues as GeoJSON (same filters)",
)
def issues_geojson(
    session: SessionDep, cfg: IssueConfigDep, q: QueryDep, scope: ReadScope
) -> FeatureCollection:
    """The same query as ``GET /issues``, as a FeatureCollection of points (WGS84)."""
    from civgrid.grids.issues.lists import issues_geojson as to_geojson

    q.scope = scope
    page = svc.list_issues(session, q)
    fc = to_geojson(page.items, cfg.workflow)
    fc["total"] = page.total
    return FeatureCollection.model_validate(fc)


@router.get(
    "/issues/{issue_id}",
    response_model=IssueDetailOut,
    responses=ERRORS_READ,
    summary="One issue with its history",
)
def get_issue(
    issue_id: IssueId,
    session: SessionDep,
    cfg: IssueConfigDep,
    response: Response,
    scope: ReadScope,
) -> IssueDetailOut:
    """An issue with history (who, when, from → to, note, photos), notices and extensions,
    and the patrol visit it was reported during (``visit_id``); 404 outside the caller's scope.
    """
    issue = scope.check_issue(session.get(Issue, issue_id), issue_id)
    response.headers["ETag"] = f'"{issue.version}"'
    return detail_out(issue, cfg)


# ----------------------------------------------------------------------------- workflow


def _commit_and_describe(
    session: Session, issue: Issue, cfg: IssueConfig, response: Response
) -> IssueDetail:
    session.commit()
    response.headers["ETag"] = f'"{issue.version}"'
    return detail_out(issue, cfg)


@router.post(
    "/issues/{issue_id}/transitions",
    response_model=IssueDetail,
    responses=ERRORS_WRITE,
    dependencies=[LOGIN],
    summary="Run a workflow event (accept, submit, reinspect, reopen, reject, merge…)",
    openapi_extra=body_schema(TransitionIn),
)
async def transition(
    issue_id: IssueId,
    request: Request,
    response: Response,
    store: StoreDep,
    cfg: IssueConfigDep,
    actor: ActorDep,
    scope: ScopeDep,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> IssueDetail:
    """One event of the state machine. ``submit`` needs photos (multipart);
    ``reinspect`` needs ``passed``; reject/reassign/failed reinspection/reopen need a note.
    An illegal transition or a stale version is 409; a forbidden role 403.
    ``Idempotency-Key``: a retry of the same request returns the first answer (200,
    ``Idempotent-Replay: true``) instead of a 409; the key with another request is 409.
    """
    body, photos = await parse_body(request, TransitionIn)
    assert isinstance(body, TransitionIn)
    version = _version(if_match, body.expected_version)
    fingerprint = {
        "issue": issue_id,
        "body": body.model_dump(mode="json"),
        "photos": [hashlib.sha256(p.content).hexdigest() for p in photos],
    }

    def work(session: Session) -> IssueDetailOut:
        issue = svc.apply(
            session,
            actor,
            issue_id,
            body.action,
            expected_version=version,
            note=body.note,
            photos=photos,
            passed=body.passed,
            measures=body.measures,
            config=cfg,
            store=store,
            unit=body.unit,
            co_units=body.co_units,
            into=body.into,
            guard=scope,
            lon=body.lon,
            lat=body.lat,
            crs=body.crs,
        )
        session.flush()
        return detail_out(issue, cfg)

    out = await run_in_threadpool(
        run_once,
        store,
        response,
        scope="issue_transition",
        actor=actor,
        key=idempotency_key,
        request=fingerprint,
        work=work,
        model=IssueDetailOut,
    )
    response.headers["ETag"] = f'"{out.version}"'
    return out


@router.post(
    "/issues/{issue_id}/dispatch",
    response_model=IssueDetail,
    responses=ERRORS_WRITE,
    dependencies=[LOGIN],
    summary="Confirm or correct the assignment of a triaged issue (分拣交办)",
)
def dispatch(
    issue_id: IssueId,
    body: DispatchIn,
    session: SessionDep,
    store: StoreDep,
    cfg: IssueConfigDep,
    actor: ActorDep,
    scope: ScopeDep,
    response: Response,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> IssueDetail:
    """Dispatch a triaged issue to the proposed owner unit, or to ``unit``/``co_units``, or
    re-route it at a corrected ``lon``/``lat``; the clock starts now.
    """
    issue = svc.dispatch(
        session,
        actor,
        issue_id,
        expected_version=_version(if_match, body.expected_version),
        note=body.note,
        unit=body.unit,
        co_units=body.co_units,
        lon=body.lon,
        lat=body.lat,
        crs=body.crs,
        store=store,
        config=cfg,
        guard=scope,
    )
    return _commit_and_describe(session, issue, cfg, response)


@router.post(
    "/issues/{issue_id}/reassign",
    response_model=IssueDetail,
    responses=ERRORS_WRITE,
    dependencies=[LOGIN],
    summary="Reassign to another unit or place (改派)",
)
def reassign(
    issue_id: IssueId,
    body: ReassignIn,
    session: SessionDep,
    store: StoreDep,
    cfg: IssueConfigDep,
    actor: ActorDep,
    scope: ScopeDep,
    response: Response,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> IssueDetail:
    """The command center gives the issue to another unit (or place); the history keeps
    the old assignment and the clock restarts.
    """
    issue = svc.reassign(
        session,
        actor,
        issue_id,
        expected_version=_version(if_match, body.expected_version),
        note=body.note,
        unit=body.unit,
        co_units=body.co_units,
        lon=body.lon,
        lat=body.lat,
        crs=body.crs,
        store=store,
        config=cfg,
        guard=scope,
    )
    return _commit_and_describe(session, issue, cfg, response)


def _extension_out(req: Any) -> ExtensionOut:
    return ExtensionOut(
        id=req.id,
        kind=req.kind,
        status=req.status,
        reason=req.reason,
        requested_deadline=req.requested_deadline,
        granted_deadline=req.granted_deadline,
        requested_at=req.requested_at,
        decided_at=req.decided_at,
        decision_note=req.decision_note,
    )


@router.post(
    "/issues/{issue_id}/extensions",
    response_model=ExtensionOut,
    status_code=201,
    responses=ERRORS_WRITE,
    dependencies=[LOGIN],
    summary="Request an extension or postponement (延期/缓办)",
)
def request_extension(
    issue_id: IssueId,
    body: ExtensionIn,
    session: SessionDep,
    cfg: IssueConfigDep,
    actor: ActorDep,
    scope: ScopeDep,
) -> ExtensionOut:
    """The owner unit asks for more time; the issue is flagged ``extension_pending``."""
    req = svc.request_extension(
        session,
        actor,
        issue_id,
        reason=body.reason,
        until=body.until,
        working_days=body.working_days,
        kind=body.kind,
        expected_version=body.expected_version,
        config=cfg,
        guard=scope,
    )
    session.commit()
    return _extension_out(req)


@router.post(
    "/issues/{issue_id}/extensions/{request_id}/decision",
    response_model=ExtensionOut,
    responses=ERRORS_WRITE,
    dependencies=[LOGIN],
    summary="Approve or refuse an extension request",
)
def decide_extension(
    issue_id: IssueId,
    request_id: Annotated[int, PathParam(ge=1, le=MAX_ID)],
    body: ExtensionDecisionIn,
    session: SessionDep,
    cfg: IssueConfigDep,
    actor: ActorDep,
    scope: ScopeDep,
) -> ExtensionOut:
    """The command center decides; an approval moves the deadline and is counted."""
    req = svc.decide_extension(
        session,
        actor,
        issue_id,
        request_id,
        approve=body.approve,
        note=body.note,
        deadline=body.deadline,
        config=cfg,
        guard=scope,
    )
    session.commit()
    return _extension_out(req)


@router.post(
    "/deadlines/check",
    response_model=DeadlineReportOut,
    responses=ERRORS_WRITE,
    dependencies=[LOGIN],
    summary="Flag overdue issues, issue 督办 notices, escalate",
)
def check_deadlines(
    session: SessionDep,
    cfg: IssueConfigDep,
    actor: ActorDep,
    _: Annotated[Scope, require(Perm.deadlines_check)],
) -> DeadlineReportOut:
    """Run the deadline check now (normally by a scheduler): overdue issues get a numbered
    supervision notice; issues still open after the notice's deadline escalate.
    """
    rep = svc.check_deadlines(session, config=cfg, actor=actor)
    session.commit()
    return DeadlineReportOut(overdue=rep.overdue, notices=rep.notices, escalated=rep.escalated)


# ----------------------------------------------------------------------------- the three lists

_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ListName = Literal["issue_list", "responsibility_list", "rectification_list"]


def _disposition(filename: str) -> dict[str, str]:
    from urllib.parse import quote

    return {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"}


def _download(content: bytes | str, media_type: str, filename: str) -> Response:
    return Response(content, media_type=media_type, headers=_disposition(filename))


def _stream_file(file: Any, media_type: str, filename: str) -> StreamingResponse:
    """Send a (temporary) file in 64 KiB chunks and close it at the end."""

    def chunks() -> Any:
        try:
            file.seek(0)
            while chunk := file.read(65536):
                yield chunk
        finally:
            file.close()

    return StreamingResponse(chunks(), media_type=media_type, headers=_disposition(filename))


def _xlsx_response(store: Any, names: list[str], query: Any, cfg: Any, county: str, filename: str):
    """Write the lists' workbook to a temporary file, a page of issues at a time, in its
    own session (write-only openpyxl), and stream the file."""
    import tempfile

    from civgrid.grids.issues import lists

    file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the response, or below)
    try:
        with store.session() as s:
            streams = [lists.stream_list(n, s, store, query=query, config=cfg) for n in names]
            lists.write_lists_xlsx(file, streams, county=county)
    except BaseException:
        file.close()
        raise
    return _stream_file(file, _XLSX, filename)


@router.get(
    "/lists.xlsx",
    response_class=Response,
    responses={
        200: {"content": {_XLSX: {}}, "description": "问题清单, 责任清单, 整改清单 as sheets"},
        **ERRORS_READ,
    },
    summary="The three lists in one workbook",
)
def lists_workbook(
    session: SessionDep,
    store: StoreDep,
    cfg: IssueConfigDep,
    settings: SettingsDep,
    q: QueryDep,
    scope: ExportScope,
) -> Response:
    """问题清单, 责任清单 and 整改清单 as three sheets (Chinese headers); issue filters and
    the caller's scope apply.
    """
    from civgrid.grids.issues import lists

    q.scope = scope if not scope.sees_all else None
    query = q if _filtered(q) else None
    day = cfg.calendar.local(cfg.now()).date().isoformat()
    filename = f"{settings.county_name}三个清单-{day}.xlsx"
    return _xlsx_response(store, list(lists.LIST_NAMES), query, cfg, settings.county_name, filename)


@router.get(
    "/lists/{name}.{fmt}",
    response_class=Response,
    responses={
        200: {
            "content": {_XLSX: {}, "text/csv": {}, "application/geo+json": {}},
            "description": "One list as xlsx, csv or geojson",
        },
        **ERRORS_READ,
    },
    summary="One of the three lists (xlsx, csv, geojson)",
)
def one_list(
    name: ListName,
    fmt: Literal["xlsx", "csv", "geojson"],
    session: SessionDep,
    store: StoreDep,
    cfg: IssueConfigDep,
    settings: SettingsDep,
    q: QueryDep,
    scope: ExportScope,
) -> Response:
    """``issue_list`` (问题清单), ``responsibility_list`` (责任清单) or
    ``rectification_list`` (整改清单); issue filters and the caller's scope apply.
    """
    from civgrid.grids.issues import lists

    q.scope = scope if not scope.sees_all else None
    query = q if _filtered(q) else None
    day = cfg.calendar.local(cfg.now()).date().isoformat()
    filename = f"{settings.county_name}{lists.LIST_NAMES[name]}-{day}.{fmt}"
    if fmt == "xlsx":
        return _xlsx_response(store, [name], query, cfg, settings.county_name, filename)
    if fmt == "csv":
        lists.stream_list(name, session, store, query=query, config=cfg)  # bad filters: 422 now

        def csv_chunks() -> Any:  # its own session: the request's is closed while streaming
            with store.session() as s:
                yield from lists.iter_csv(
                    lists.stream_list(name, s, store, query=query, config=cfg)
                )

        return StreamingResponse(
            csv_chunks(), media_type="text/csv; charset=utf-8", headers=_disposition(filename)
        )
    table = lists.build_list(name, session, store, query=query, config=cfg)
    return _download(
        json.dumps(lists.list_geojson(table), ensure_ascii=False).encode("utf-8"),
        "application/geo+json",
        filename,
    )


def _filtered(q: svc.IssueQuery) -> bool:
    """Whether any issue filter was given (paging aside)."""
    default = svc.IssueQuery(limit=q.limit, offset=q.offset, order=q.order, scope=None)
    return q != default


# ----------------------------------------------------------------------------- inbox, notices


@router.get(
    "/units/{unit_key}/inbox",
    response_model=InboxOut,
    responses=ERRORS_READ,
    summary="A unit's to-do list",
)
def unit_inbox(
    unit_key: str, session: SessionDep, cfg: IssueConfigDep, scope: ReadScope
) -> InboxOut:
    """Assigned, returned, due soon, overdue (owner) and watching (co-responsible);
    a unit handler reads only their own unit's inbox.
    """
    from sqlalchemy import select

    scope.check_unit(unit_key)
    unit = session.scalar(select(Unit).where(Unit.key == unit_key))
    if unit is None:
        raise NotFoundError(f"no unit {unit_key!r}", kind="unit", key=unit_key)
    box = svc.unit_inbox(session, unit_key, config=cfg)
    return InboxOut(
        unit={"key": unit.key, "name": unit.name, "kind": str(unit.kind)},
        **{k: [_out(i, cfg) for i in v] for k, v in box.items()},
    )


@router.get(
    "/notices/{notice_id}",
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/html": {}}, "description": "Printable 督办通知单 (A4)"},
        **ERRORS_READ,
    },
    summary="Printable supervision notice (督办通知单)",
)
def notice_html(
    notice_id: Annotated[int, PathParam(ge=1, le=MAX_ID)],
    session: SessionDep,
    cfg: IssueConfigDep,
    settings: SettingsDep,
    scope: ReadScope,
) -> HTMLResponse:
    """The 督办通知单 as an HTML page that prints cleanly on A4."""
    notice = session.get(SupervisionNotice, notice_id)
    if notice is None or not scope.can_see_issue(notice.issue):
        raise NotFoundError(f"no supervision notice {notice_id}", kind="notice", key=notice_id)
    return HTMLResponse(render_notice(notice, cfg, settings.county_name))


@router.get(
    "/photos/{photo_id}",
    response_class=FileResponse,
    responses={200: {"content": {"image/*": {}}, "description": "The photo"}, **ERRORS_READ},
    summary="A photo of an issue",
)
def photo(
    photo_id: Annotated[int, PathParam(ge=1, le=MAX_ID)],
    session: SessionDep,
    cfg: IssueConfigDep,
    scope: ReadScope,
) -> FileResponse:
    """The stored image (by id); 404 outside the caller's scope."""
    row = session.get(Photo, photo_id)
    if row is not None and not scope.can_see_issue(row.issue):
        row = None
    path = Path(cfg.photo_dir or ".") / row.path if row is not None else None
    if row is None or path is None or not path.is_file():
        raise NotFoundError(f"no photo {photo_id}", kind="photo", key=photo_id)
    return FileResponse(path, media_type=row.mime)


__all__ = ["Problem", "get_issue_config", "render_notice", "router"]
