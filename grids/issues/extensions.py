"""Extensions and postponements (延期/缓办): requests by the owner unit and the command
center's decision.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from civgrid.grids.core.actors import Actor, ActorRole, Guard
from civgrid.grids.core.calendar import DeadlineRule
from civgrid.grids.core.errors import (
    ConflictError,
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
)
from civgrid.grids.core.types import utc
from civgrid.grids.issues.config import IssueConfig
from civgrid.grids.issues.models import (
    ExtensionRequest,
)
from civgrid.grids.issues.records import (
    check_scope,
    flush_issue,
    get_issue,
    record_event,
    stale_is_conflict,
)
from civgrid.grids.issues.workflow import ON_CLOCK


@stale_is_conflict
def request_extension(
    session: Session,
    actor: Actor,
    issue_id: int,
    *,
    reason: str,
    until: datetime | None = None,
    working_days: int | None = None,
    kind: str = "extension",
    expected_version: int | None = None,
    config: IssueConfig | None = None,
    guard: Guard | None = None,
) -> ExtensionRequest:
    """A unit asks for more time (延期) or a postponement (缓办).

    Give ``until`` (a new deadline) or ``working_days`` (added to the current deadline).

    Raises
    ------
    InvalidTransitionError
        The issue is not on the clock (assigned, rectifying, returned).
    ConflictError
        A request is already pending, or the version is stale.
    PermissionDeniedError
        A unit that does not own the issue.
    """
    cfg = config or IssueConfig()
    now = cfg.now()
    issue = get_issue(session, issue_id)
    check_scope(session, actor, issue, "extension_request", guard)
    if expected_version is not None and expected_version != issue.version:
        raise ConflictError(
            f"issue {issue.id} is at version {issue.version}, not {expected_version}",
            kind="issue",
            key=issue.id,
        )
    if kind not in ("extension", "postponement"):
        raise InvalidInputError("kind must be extension or postponement", field="kind")
    if actor.role not in (ActorRole.unit, ActorRole.command_center, ActorRole.system):
        raise PermissionDeniedError(f"role {actor.role.value} may not request an extension")
    if actor.role is ActorRole.unit and (
        issue.owner_unit is None or actor.unit != issue.owner_unit.key
    ):
        raise PermissionDeniedError("only the owner unit may request an extension", unit=actor.unit)
    if issue.state not in ON_CLOCK:
        raise InvalidTransitionError(
            f"cannot request an extension for an issue in state {issue.state} "
            f"({cfg.workflow.label(issue.state)})",
            kind="issue",
            key=issue.id,
        )
    if not (reason or "").strip():
        raise InvalidInputError("an extension request needs a reason", field="reason")
    if any(r.status == "pending" for r in issue.extensions):
        raise ConflictError(
            f"issue {issue.id} already has a pending extension request", kind="issue", key=issue.id
        )
    base = issue.deadline or now
    if until is not None:
        requested = utc(until)
    elif working_days is not None and working_days > 0:
        requested = utc(cfg.calendar.deadline(base, DeadlineRule.working_days(working_days)))
    else:
        raise InvalidInputError("give the new deadline (until) or working_days > 0", field="until")
    if requested <= base:
        raise InvalidInputError(
            "the requested deadline must be later than the current one", field="until"
        )
    req = ExtensionRequest(
        issue=issue,
        kind=kind,
        status="pending",
        reason=reason,
        old_deadline=issue.deadline,
        requested_deadline=requested,
        requested_at=now,
        requested_by=actor.who,
        requested_unit_key=actor.unit,
    )
    session.add(req)
    issue.extension_pending = True
    issue.updated_at = now
    record_event(
        session,
        issue,
        actor,
        "extension_request",
        now,
        from_state=issue.state,
        to_state=issue.state,
        note=reason,
        data={"kind": kind, "requested_deadline": requested.isoformat()},
    )
    flush_issue(session, issue)
    return req


@stale_is_conflict
def decide_extension(
    session: Session,
    actor: Actor,
    issue_id: int,
    request_id: int,
    *,
    approve: bool,
    note: str | None = None,
    deadline: datetime | None = None,
    config: IssueConfig | None = None,
    guard: Guard | None = None,
) -> ExtensionRequest:
    """The command center approves (optionally with another deadline) or refuses a request."""
    cfg = config or IssueConfig()
    now = cfg.now()
    issue = get_issue(session, issue_id)
    check_scope(session, actor, issue, "extension_decision", guard)
    if actor.role not in (ActorRole.command_center, ActorRole.system):
        raise PermissionDeniedError(
            f"role {actor.role.value} may not decide extensions", role=actor.role.value
        )
    req = session.get(ExtensionRequest, request_id)
    if req is None or req.issue_id != issue.id:
        raise NotFoundError(
            f"no extension request {request_id} on issue {issue.id}",
            kind="extension_request",
            key=request_id,
        )
    if req.status != "pending":
        raise ConflictError(
            f"extension request {request_id} was already {req.status}",
            kind="extension_request",
            key=request_id,
        )
    req.decided_at, req.decided_by, req.decision_note = now, actor.who, note
    data: dict[str, Any] = {"request": req.id, "approved": approve}
    if approve:
        granted = utc(deadline) if deadline is not None else req.requested_deadline
        req.status, req.granted_deadline = "approved", granted
        issue.deadline = granted
        issue.deadline_rule = "extended"
        issue.extension_count += 1
        if granted > now:
            issue.overdue = issue.escalated = False
            for n in issue.notices:
                if n.resolved_at is None:
                    n.resolved_at = now
        data["deadline"] = granted.isoformat()
    else:
        req.status = "refused"
    issue.extension_pending = False
    issue.updated_at = now
    record_event(
        session,
        issue,
        actor,
        "extension_decision",
        now,
        from_state=issue.state,
        to_state=issue.state,
        note=note,
        data=data,
    )
    flush_issue(session, issue)
    return req
