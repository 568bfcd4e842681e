"""Progress notes (进展说明) and transfer requests (转办申请) of the responsible units.

``POST /api/v1/issues/{id}/notes`` — the owner or a co-responsible unit (or the command
center) writes a progress note, with photos (multipart). ``POST
/api/v1/issues/{id}/transfer-requests`` — the owner or a co-responsible unit asks for a
transfer; ``POST /api/v1/transfer-requests/{id}/decision`` — the command center approves
(the owner changes) or refuses. ``GET /api/v1/transfer-counts`` — per unit: requests,
refusals, repeats (推诿扯皮). The object checks are the domain's, through the caller's
scope (:class:`civgrid.grids.accounts.permissions.Scope`): 404 outside it, 403 for a
forbidden action.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from civgrid.api.deps import ActorDep, ScopeDep, SessionDep, StoreDep, require
from civgrid.api.routers.issues import (
    LOGIN,
    IssueConfigDep,
    IssueDetailOut,
    IssueId,
    body_schema,
    detail_out,
    parse_body,
)
from civgrid.api.schemas import ERRORS_READ, ERRORS_WRITE, ObjectId
from civgrid.api.schemas.transfers import (
    NoteIn,
    TransferCountOut,
    TransferCountsOut,
    TransferDecisionIn,
    TransferRequestIn,
    TransferRequestList,
    TransferRequestOut,
    UnitRefOut,
)
from civgrid.grids.accounts.permissions import Perm, Role, Scope
from civgrid.grids.core.labels import TRANSFER_STATE_LABELS
from civgrid.grids.issues.models import Issue, TransferRequest
from civgrid.grids.issues.notes import add_progress_note
from civgrid.grids.issues.transfers import (
    decide_transfer,
    get_transfer,
    list_transfers,
    request_transfer,
    transfer_counts,
)

router = APIRouter(prefix="/api/v1", tags=["transfers"])
ReadScope = Annotated[Scope, require(Perm.issue_read)]
CountScope = Annotated[Scope, require(Perm.score_read)]


def _unit(u: Any) -> UnitRefOut | None:
    return None if u is None else UnitRefOut(key=u.key, name=u.name)


def transfer_out(req: TransferRequest) -> TransferRequestOut:
    """The API view of one transfer request."""
    return TransferRequestOut(
        id=req.id,
        issue_id=req.issue_id,
        state=req.state,
        state_label=TRANSFER_STATE_LABELS[req.state],
        requesting_unit=_unit(req.requesting_unit),
        requesting_role=req.requesting_role,
        proposed_unit=_unit(req.proposed_unit),
        reason=req.reason,
        requested_at=req.requested_at,
        requested_by=req.requested_by,
        decided_at=req.decided_at,
        decided_by=req.decided_by,
        decision_note=req.decision_note,
        new_owner_unit=_unit(req.new_owner_unit),
    )


@router.post(
    "/issues/{issue_id}/notes",
    status_code=201,
    response_model=IssueDetailOut,
    responses=ERRORS_WRITE,
    dependencies=[LOGIN],
    summary="Write a progress note, with photos (进展说明)",
    openapi_extra=body_schema(NoteIn),
)
async def add_note(
    issue_id: IssueId,
    request: Request,
    response: Response,
    store: StoreDep,
    cfg: IssueConfigDep,
    actor: ActorDep,
    scope: ScopeDep,
) -> IssueDetailOut:
    """The owner unit or a co-responsible unit (or the command center) records what was
    done on an open issue; the state does not change. Photos come as multipart files.
    """
    body, photos = await parse_body(request, NoteIn)
    assert isinstance(body, NoteIn)

    def work() -> IssueDetailOut:
        with store.session() as session:
            ev = add_progress_note(
                session,
                actor,
                issue_id,
                note=body.note,
                photos=photos,
                expected_version=body.expected_version,
                config=cfg,
                guard=scope,
            )
            session.commit()
            response.headers["ETag"] = f'"{ev.issue.version}"'
            return detail_out(ev.issue, cfg)

    return await run_in_threadpool(work)


@router.post(
    "/issues/{issue_id}/transfer-requests",
    status_code=201,
    response_model=TransferRequestOut,
    responses=ERRORS_WRITE,
    dependencies=[LOGIN],
    summary="Ask for a transfer to another unit (转办申请)",
)
def create_transfer_request(
    issue_id: IssueId,
    body: TransferRequestIn,
    session: SessionDep,
    cfg: IssueConfigDep,
    actor: ActorDep,
    scope: ScopeDep,
) -> TransferRequestOut:
    """The owner unit or a co-responsible unit asks the command center to give the issue
    to another unit, with a reason (and optionally the unit it proposes). One pending
    request per unit and issue (409 for a second)."""
    req = request_transfer(
        session,
        actor,
        issue_id,
        reason=body.reason,
        proposed_unit=body.proposed_unit,
        expected_version=body.expected_version,
        config=cfg,
        guard=scope,
    )
    session.commit()
    return transfer_out(req)


@router.get(
    "/issues/{issue_id}/transfer-requests",
    response_model=TransferRequestList,
    responses=ERRORS_READ,
    summary="The transfer requests of an issue",
)
def issue_transfer_requests(
    issue_id: IssueId, session: SessionDep, scope: ReadScope
) -> TransferRequestList:
    """Every transfer request of the issue, newest first; 404 outside the caller's scope."""
    scope.check_issue(session.get(Issue, issue_id), issue_id)
    return TransferRequestList(
        items=[transfer_out(r) for r in list_transfers(session, issue_id=issue_id)]
    )


@router.get(
    "/transfer-requests",
    response_model=TransferRequestList,
    responses=ERRORS_READ,
    summary="Transfer requests (e.g. the pending ones)",
)
def transfer_requests(
    session: SessionDep,
    scope: ReadScope,
    state: Annotated[str | None, Query(description="pending, approved, refused, lapsed")] = None,
    unit: Annotated[str | None, Query(max_length=32, description="Requesting unit key.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> TransferRequestList:
    """Transfer requests on the issues the caller sees, newest first."""
    rows = list_transfers(
        session, state=state, unit=unit, conditions=scope.issue_conditions(), limit=limit
    )
    return TransferRequestList(items=[transfer_out(r) for r in rows])


@router.get(
    "/transfer-requests/{request_id}",
    response_model=TransferRequestOut,
    responses=ERRORS_READ,
    summary="One transfer request",
)
def transfer_request(
    request_id: ObjectId, session: SessionDep, scope: ReadScope
) -> TransferRequestOut:
    """One transfer request; 404 when its issue is outside the caller's scope."""
    req = get_transfer(session, request_id)
    if not scope.can_see_issue(req.issue):
        raise_missing(request_id)
    return transfer_out(req)


def raise_missing(request_id: int) -> None:
    from civgrid.grids.core.errors import NotFoundError

    raise NotFoundError(
        f"no transfer request {request_id}", kind="transfer_request", key=request_id
    )


@router.post(
    "/transfer-requests/{request_id}/decision",
    response_model=TransferRequestOut,
    responses=ERRORS_WRITE,
    dependencies=[LOGIN],
    summary="Approve or refuse a transfer request (command center)",
)
def decide_transfer_request(
    request_id: ObjectId,
    body: TransferDecisionIn,
    session: SessionDep,
    store: StoreDep,
    cfg: IssueConfigDep,
    actor: ActorDep,
    scope: ScopeDep,
) -> TransferRequestOut:
    """approve: the issue goes to ``unit`` (default: the proposed unit) as a reassignment —
    history, audit, the deadline restarted — and the old owner becomes co-responsible;
    refuse: with a ``note``, the owner stays. A second, different decision is 409; the
    same decision sent again returns the request unchanged."""
    req = decide_transfer(
        session,
        actor,
        request_id,
        approve=body.decision == "approve",
        unit=body.unit,
        note=body.note,
        config=cfg,
        store=store,
        guard=scope,
    )
    session.commit()
    return transfer_out(req)


@router.get(
    "/transfer-counts",
    response_model=TransferCountsOut,
    responses=ERRORS_READ,
    summary="Transfer requests per unit: made, refused, repeated (推诿扯皮)",
)
def transfer_counts_route(
    session: SessionDep,
    scope: CountScope,
    start: Annotated[datetime | None, Query(alias="from", description="From (inclusive).")] = None,
    end: Annotated[datetime | None, Query(alias="to", description="To (exclusive).")] = None,
) -> TransferCountsOut:
    """Per requesting unit, requests made in the window and how many were approved,
    refused, repeated after a refusal, or are pending; a unit handler reads its own unit,
    a leader none."""
    rows = transfer_counts(session, start=start, end=end)
    keep = set(scope.filter_codes("unit", [r.unit_key for r in rows]))
    return TransferCountsOut(
        start=start,
        end=end,
        rows=[TransferCountOut(**r.to_dict()) for r in rows if r.unit_key in keep],
    )


# ----------------------------------------------------------------------------- the page

pages = APIRouter(include_in_schema=False)


@pages.get("/issues/{issue_id}", response_class=HTMLResponse)
def issue_page(
    issue_id: IssueId,
    session: SessionDep,
    cfg: IssueConfigDep,
    scope: Annotated[Scope, require(Perm.map_read)],
) -> HTMLResponse:
    """问题详情: the issue, its photos, places, history, notices, visits and transfer
    requests, and the action forms the caller may use now (one partial per action)."""
    from sqlalchemy import select

    from civgrid.api.routers.work import page_nav
    from civgrid.grids.boundaries.models import Unit
    from civgrid.grids.documents.store import list_documents
    from civgrid.grids.issues.links import visit_linker
    from civgrid.grids.issues.models import SupervisionNotice
    from civgrid.grids.issues.notes import NOTE_PARTIES, unit_roles_on
    from civgrid.grids.issues.transfers import REQUEST_PARTIES
    from civgrid.grids.issues.workflow import Action
    from civgrid.maps.issue_actions import ActionContext
    from civgrid.maps.issue_page import IssuePageForms, PageClock, issue_page_html

    issue = scope.check_issue(session.get(Issue, issue_id), issue_id)
    open_ = cfg.workflow.is_open(issue.state)
    held = unit_roles_on(issue, scope.actor.unit) if scope.role is Role.unit_handler else None
    forms = IssuePageForms(
        note=open_ and scope.has(Perm.issue_note) and (held is None or bool(held & NOTE_PARTIES)),
        transfer=scope.has(Perm.transfer_request)
        and bool(held and held & REQUEST_PARTIES)
        and Action.reassign in cfg.workflow.actions(issue.state),
        decide=scope.has(Perm.transfer_decide),
    )
    units = [
        {"key": u.key, "name": u.name} for u in session.scalars(select(Unit).order_by(Unit.key))
    ]
    requests = [transfer_out(r).model_dump() for r in list_transfers(session, issue_id=issue.id)]
    detail = detail_out(issue, cfg).model_dump()
    ctx = ActionContext(
        issue=detail,
        role=str(scope.role),
        perms=frozenset(str(p) for p in Perm if scope.has(p)),
        unit=scope.actor.unit,
        units=units,
        reporter=scope.role is Role.grid_worker and issue.reporter_who == scope.actor.who,
        workflow=cfg.workflow,
    )
    notices = [
        {"id": n.id, "number": n.number, "issued_at": n.issued_at, "deadline": n.deadline}
        for n in session.scalars(
            select(SupervisionNotice)
            .where(SupervisionNotice.issue_id == issue.id)
            .order_by(SupervisionNotice.id)
        )
    ]
    visits = []
    linker = visit_linker(required=False)
    visit_id = linker.visit_of(session, issue.id) if linker is not None else None
    if visit_id is not None:
        from civgrid.grids.patrol.models import PatrolVisit

        v = session.get(PatrolVisit, visit_id)
        if v is not None:
            visits.append({"id": v.id, "day": v.day.isoformat(), "team": v.team_key})
    html = issue_page_html(
        detail,
        requests,
        units,
        forms,
        actions=ctx,
        nav=page_nav(session, scope),
        clock=PageClock(cfg.now(), cfg.calendar),
        notices=notices,
        visits=visits,
        deliveries=_deliveries(session, issue.id),
        documents=[
            {
                "id": d.id,
                "title": d.title,
                "number": d.number,
                "version": d.version,
                "issued_at": d.issued_at,
            }
            for d in list_documents(session, "issue", issue.id)
        ],
    )
    return HTMLResponse(html)


def _deliveries(session: Any, issue_id: int) -> list[dict[str, Any]]:
    """The issue's notifications, recipients named by unit name or account title."""
    from sqlalchemy import select

    from civgrid.grids.accounts.models import User
    from civgrid.grids.boundaries.models import Unit
    from civgrid.grids.notify.inbox import deliveries

    rows = deliveries(session, f"issue:{issue_id}")
    units = {k: n for k, n in session.execute(select(Unit.key, Unit.name))}
    titles = {u: t for u, t in session.execute(select(User.username, User.title))}

    def name(recipient: str) -> str:
        kind, _, key = recipient.partition(":")
        return (units.get(key) if kind == "unit" else titles.get(key)) or kind

    return [
        {
            "recipient": name(r.recipient),
            "channel": r.channel,
            "status": r.status,
            "attempts": r.attempts,
        }
        for r in rows
    ]
