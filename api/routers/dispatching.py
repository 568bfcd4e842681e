"""Safe dispatch and bulk reassignment (issue 21).

``GET /api/v1/issues/{id}/dispatch-options`` — the routing's suggestion with its reason,
the place's responsible units and every unit (the picker searches them); a unit outside
the place's units needs a reason (422 ``OutsideResponsibilityError`` otherwise).
``POST /api/v1/issues/bulk-reassign`` — one batch; issues the target already owns are
skipped untouched. ``POST /api/v1/issue-batches/{batch}/undo`` — the batch back as it
was, item by item (an issue changed since is refused with its reason).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi import Path as PathParam

from civgrid.api.deps import ActorDep, SessionDep, StoreDep, require
from civgrid.api.routers.issues import IssueConfigDep, IssueId
from civgrid.api.schemas import ERRORS_READ, ERRORS_WRITE
from civgrid.api.schemas.dispatching import (
    BatchItemOut,
    BatchOut,
    BulkReassignIn,
    DispatchOptionsOut,
    UnitChoiceOut,
)
from civgrid.grids.accounts.permissions import Perm, Scope
from civgrid.grids.issues.bulk import BatchReport, bulk_reassign, undo_batch
from civgrid.grids.issues.dispatching import dispatch_options
from civgrid.grids.issues.records import check_scope, get_issue

router = APIRouter(prefix="/api/v1", tags=["issues"])
DispatchScope = Annotated[Scope, require(Perm.issue_dispatch)]
BatchId = Annotated[str, PathParam(pattern=r"^[0-9a-f]{1,32}$", description="Batch id.")]


def _batch_out(report: BatchReport) -> BatchOut:
    outcomes = ("reassigned", "skipped", "restored", "refused", "failed")
    return BatchOut(
        batch=report.batch,
        unit=report.unit,
        counts={o: report.count(o) for o in outcomes if report.count(o)},
        items=[
            BatchItemOut(issue_id=i.issue_id, outcome=i.outcome, detail=i.detail)
            for i in report.items
        ],
    )


@router.get(
    "/issues/{issue_id}/dispatch-options",
    response_model=DispatchOptionsOut,
    responses=ERRORS_READ,
    summary="The units to offer when dispatching or reassigning an issue (交办/改派)",
)
def get_dispatch_options(
    issue_id: IssueId, session: SessionDep, scope: DispatchScope
) -> DispatchOptionsOut:
    """The suggested owner (preselect it) with its reason, the place's responsible units,
    and every unit; choosing one outside the place's units needs a reason (``note``).
    """
    issue = get_issue(session, issue_id)
    check_scope(session, scope.actor, issue, "reassign", scope)
    opts = dispatch_options(session, issue)
    return DispatchOptionsOut(
        issue_id=opts.issue_id,
        state=opts.state,
        current_owner=opts.current_owner,
        suggested=opts.suggested,
        suggested_reason=opts.suggested_reason,
        responsible=[UnitChoiceOut(**vars(c)) for c in opts.responsible],
        units=[UnitChoiceOut(**vars(c)) for c in opts.units],
    )


@router.post(
    "/issues/bulk-reassign",
    response_model=BatchOut,
    responses=ERRORS_WRITE,
    summary="Reassign a selection of issues to one unit, as one batch (批量改派)",
)
def post_bulk_reassign(
    body: BulkReassignIn,
    session: SessionDep,
    store: StoreDep,
    cfg: IssueConfigDep,
    actor: ActorDep,
    scope: DispatchScope,
) -> BatchOut:
    """Issues the unit already owns are skipped (state and deadline untouched); the
    others are reassigned, each in its own savepoint (a failure names its reason).
    """
    report = bulk_reassign(
        session,
        actor,
        body.issue_ids,
        body.unit,
        body.note,
        guard=scope,
        config=cfg,
        store=store,
        versions=body.versions,
    )
    session.commit()
    return _batch_out(report)


@router.post(
    "/issue-batches/{batch}/undo",
    response_model=BatchOut,
    responses=ERRORS_WRITE,
    summary="Undo a bulk reassignment as one batch",
)
def post_undo_batch(
    batch: BatchId,
    session: SessionDep,
    cfg: IssueConfigDep,
    actor: ActorDep,
    scope: DispatchScope,
) -> BatchOut:
    """Every issue of the batch back to its previous unit, state and deadline; an issue
    changed since is refused (``refused``, with the reason).
    """
    report = undo_batch(session, actor, batch, guard=scope, config=cfg)
    session.commit()
    return _batch_out(report)
