"""Transfer requests (转办申请): a responsible unit asks the command center to give an
issue to another unit; the command center approves or refuses; refusals and repeated
requests are counted per unit (推诿扯皮 made visible).

The owner unit or a co-responsible unit asks, with a reason and optionally the unit
it proposes (:func:`request_transfer`); only one request of a unit may be pending
on an issue. The command center decides (:func:`decide_transfer`):

* **approve** — the issue goes to the proposed unit or another one the command
  center names. The owner change *is* a :data:`~civgrid.grids.issues.workflow.Action.reassign`
  (run through :func:`civgrid.grids.issues.actions.apply`: the same permission,
  state and note checks, a clean record, the deadline restarted from now by the
  category's rule); the old owner stays on as co-responsible.
* **refuse** — with a reason; the owner stays.

A request whose issue stops being open first lapses (``lapsed``, by the system).
The moves are :data:`~civgrid.grids.issues.workflow.TRANSFER_TRANSITIONS`; who takes
each decision, whether it needs a note and what it does are :data:`DECISIONS`. A
second decision is a 409; the same decision sent again (a retry: same outcome, unit
and note) returns the request unchanged.

:func:`transfer_counts` counts, per requesting unit, the requests made, approved,
refused, pending and **repeated** (asked again on the same issue after a refusal).
The notices ask units to take up what is handed to them and name passing it on as a
fault: notice 001 (Lüliang) "各部门单位要诚恳接受、全面认领、照单全收，压实整改责任";
notice 000 (Shaoxing) "对推诿扯皮、弄虚作假、不担当不作为的责任人进行追责问责". The
counts make that visible; which requests count as 推诿 (refused, repeated after a
refusal) is a local choice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import flag_modified

from civgrid.grids.boundaries.models import Unit
from civgrid.grids.core import audit
from civgrid.grids.core.actors import Actor, ActorRole, Guard
from civgrid.grids.core.errors import (
    ConflictError,
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
)
from civgrid.grids.core.labels import ISSUE_ACTION_LABELS
from civgrid.grids.issues.actions import apply, issue_units
from civgrid.grids.issues.config import IssueConfig
from civgrid.grids.issues.models import Issue, TransferRequest
from civgrid.grids.issues.notes import unit_roles_on
from civgrid.grids.issues.records import (
    check_scope,
    flush_issue,
    get_issue,
    get_unit,
    record_event,
    stale_is_conflict,
)
from civgrid.grids.issues.workflow import (
    TRANSFER_TRANSITIONS,
    Action,
    TransferDecision,
    TransferState,
)

__all__ = [
    "COUNT_KEYS",
    "DECISIONS",
    "REQUEST_PARTIES",
    "DecisionRow",
    "TransferCount",
    "decide_transfer",
    "list_transfers",
    "request_transfer",
    "transfer_counts",
]

#: The party roles a unit must hold on an issue to ask for a transfer.
REQUEST_PARTIES = frozenset({"owner", "co_responsible"})
#: Workflow roles that may ask (the command center reassigns directly instead).
REQUEST_ROLES = frozenset({ActorRole.unit, ActorRole.system})
_CC = frozenset({ActorRole.command_center, ActorRole.system})


@dataclass
class DecisionStep:
    """What a decision's effect works on."""

    session: Session
    actor: Actor
    request: TransferRequest
    issue: Issue
    cfg: IssueConfig
    store: Any
    guard: Guard | None
    note: str | None
    unit: Unit | None
    data: dict[str, Any] = field(default_factory=dict)


def _approve(step: DecisionStep) -> None:
    """Give the issue to ``step.unit`` by a reassign; the old owner becomes co-responsible."""
    issue, new = step.issue, step.unit
    assert new is not None
    old = issue.owner_unit
    if old is not None and old.key == new.key:
        raise InvalidInputError(
            f"unit {new.key} already owns issue {issue.id}; refuse the request instead",
            field="unit",
            value=new.key,
        )
    co = [u.key for u in issue_units(issue, "co_responsible") if u.key != new.key]
    if old is not None:
        co = [old.key, *(k for k in co if k != old.key)]
    label = ISSUE_ACTION_LABELS["transfer_request"]
    apply(
        step.session,
        step.actor,
        issue.id,
        Action.reassign,
        note=f"{label}#{step.request.id}：{step.note or step.request.reason}",
        unit=new.key,
        co_units=co,
        config=step.cfg,
        store=step.store,
        guard=step.guard,
    )
    step.request.new_owner_unit = new
    step.request.new_owner_unit_id = new.id
    step.data.update(from_unit=old.key if old is not None else None, to_unit=new.key, co_units=co)


def _refuse(step: DecisionStep) -> None:
    """The owner stays; nothing changes on the issue but its history."""


@dataclass(frozen=True)
class DecisionRow:
    """One decision: who takes it, whether a note (reason) is required, its effect."""

    roles: frozenset[ActorRole]
    needs_note: bool
    effect: Callable[[DecisionStep], None]


#: The decisions the command center takes (``lapse`` is the system's, in
#: :func:`civgrid.grids.issues.actions.apply` when an issue stops being open).
DECISIONS: dict[TransferDecision, DecisionRow] = {
    TransferDecision.approve: DecisionRow(_CC, needs_note=False, effect=_approve),
    TransferDecision.refuse: DecisionRow(_CC, needs_note=True, effect=_refuse),
}


def _check_version(issue: Issue, expected: int | None) -> None:
    if expected is not None and expected != issue.version:
        raise ConflictError(
            f"issue {issue.id} is at version {issue.version}, not {expected}; reload it",
            kind="issue",
            key=issue.id,
            current_version=issue.version,
        )


@stale_is_conflict
def request_transfer(
    session: Session,
    actor: Actor,
    issue_id: int,
    *,
    reason: str,
    proposed_unit: str | None = None,
    expected_version: int | None = None,
    config: IssueConfig | None = None,
    guard: Guard | None = None,
) -> TransferRequest:
    """A responsible unit asks to give the issue to another unit (转办申请).

    Parameters
    ----------
    actor : Actor
        A unit's actor (``actor.unit`` is the requesting unit): the owner or a
        co-responsible unit of the issue.
    reason : str
        Why (required).
    proposed_unit : str, optional
        The key of the unit the requester proposes.

    Returns
    -------
    TransferRequest
        ``pending``.

    Raises
    ------
    PermissionDeniedError
        Not a unit, or a unit neither owner nor co-responsible.
    InvalidTransitionError
        The issue is in a state from which it cannot be reassigned (HTTP 409).
    ConflictError
        The unit already has a pending request on the issue, or a stale version.
    InvalidInputError
        No reason, an unknown proposed unit or the current owner proposed.
    """
    cfg = config or IssueConfig()
    now = cfg.now()
    issue = get_issue(session, issue_id)
    check_scope(session, actor, issue, "transfer_request", guard)
    _check_version(issue, expected_version)
    if actor.role not in REQUEST_ROLES or not actor.unit:
        raise PermissionDeniedError(
            f"role {actor.role.value} may not ask for a transfer; the command center "
            "reassigns directly",
            role=actor.role.value,
        )
    held = unit_roles_on(issue, actor.unit) & REQUEST_PARTIES
    if not held:
        raise PermissionDeniedError(
            f"unit {actor.unit} answers neither as owner nor as co-responsible for "
            f"issue {issue.id}",
            unit=actor.unit,
        )
    if Action.reassign not in cfg.workflow.actions(issue.state):
        raise InvalidTransitionError(
            f"issue {issue.id} is {issue.state} ({cfg.workflow.label(issue.state)}); "
            "a transfer can be asked only while it can be reassigned",
            kind="issue",
            key=issue.id,
            state=str(issue.state),
        )
    if not (reason or "").strip():
        raise InvalidInputError("a transfer request needs a reason", field="reason")
    unit = get_unit(session, actor.unit, "unit")
    proposed = get_unit(session, proposed_unit, "proposed_unit") if proposed_unit else None
    owner_key = issue.owner_unit.key if issue.owner_unit is not None else None
    if proposed is not None and proposed.key == owner_key:
        raise InvalidInputError(
            f"unit {proposed.key} already owns issue {issue.id}",
            field="proposed_unit",
            value=proposed.key,
        )
    mine = [t for t in issue.transfers if t.requesting_unit_id == unit.id]
    if any(t.state == TransferState.pending for t in mine):
        raise ConflictError(
            f"unit {unit.key} already has a pending transfer request on issue {issue.id}",
            kind="transfer_request",
            key=issue.id,
        )
    repeat = any(t.state == TransferState.refused for t in mine)
    role = "owner" if "owner" in held else "co_responsible"
    req = TransferRequest(
        issue=issue,
        requesting_unit=unit,
        requesting_unit_id=unit.id,
        requesting_role=role,
        proposed_unit=proposed,
        proposed_unit_id=proposed.id if proposed is not None else None,
        reason=reason.strip(),
        state=TransferState.pending.value,
        requested_at=now,
        requested_by=actor.who,
    )
    session.add(req)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent request of the same unit won the race
        raise ConflictError(
            f"unit {unit.key} already has a pending transfer request on issue {issue.id}",
            kind="transfer_request",
            key=issue.id,
        ) from exc
    issue.updated_at = now
    flag_modified(issue, "updated_at")  # the issue's history moved: a new version
    record_event(
        session,
        issue,
        actor,
        "transfer_request",
        now,
        from_state=issue.state,
        to_state=issue.state,
        note=req.reason,
        data={
            "request": req.id,
            "unit": unit.key,
            "party": role,
            "proposed_unit": proposed.key if proposed is not None else None,
            "repeat": repeat,
        },
    )
    flush_issue(session, issue)
    return req


def get_transfer(session: Session, request_id: int) -> TransferRequest:
    """One transfer request by id (:class:`NotFoundError` when unknown)."""
    req = session.get(TransferRequest, request_id)
    if req is None:
        raise NotFoundError(
            f"no transfer request {request_id}", kind="transfer_request", key=request_id
        )
    return req


def _replay(req: TransferRequest, decision: TransferDecision, unit: Unit | None, note) -> bool:
    """Whether a decision on an already decided request repeats the one taken."""
    done = {TransferState.approved: TransferDecision.approve}.get(
        TransferState(req.state), TransferDecision.refuse
    )
    if req.state not in (TransferState.approved, TransferState.refused) or done is not decision:
        return False
    same_unit = unit is None or req.new_owner_unit_id == unit.id
    return same_unit and (note or None) == (req.decision_note or None)


@stale_is_conflict
def decide_transfer(
    session: Session,
    actor: Actor,
    request_id: int,
    *,
    approve: bool,
    unit: str | None = None,
    note: str | None = None,
    config: IssueConfig | None = None,
    store: Any = None,
    guard: Guard | None = None,
) -> TransferRequest:
    """The command center approves (giving the issue to ``unit``, default the proposed
    unit) or refuses (``note`` required) a pending transfer request.

    Returns
    -------
    TransferRequest
        Decided; the same request unchanged when this repeats the decision taken.

    Raises
    ------
    NotFoundError
        Unknown request, or its issue outside the caller's scope.
    PermissionDeniedError
        Not the command center.
    InvalidTransitionError
        The request was decided otherwise already (or lapsed), or the issue can no
        longer be reassigned (HTTP 409).
    InvalidInputError
        Approval without a unit (none proposed), the current owner named, a refusal
        without a reason.
    """
    cfg = config or IssueConfig()
    now = cfg.now()
    req = get_transfer(session, request_id)
    issue = req.issue
    check_scope(session, actor, issue, "transfer_decision", guard)
    decision = TransferDecision.approve if approve else TransferDecision.refuse
    row = DECISIONS[decision]
    if actor.role not in row.roles:
        raise PermissionDeniedError(
            f"role {actor.role.value} may not decide transfer requests", role=actor.role.value
        )
    note = (note or "").strip() or None
    target: Unit | None = None
    if decision is TransferDecision.approve:
        key = unit or (req.proposed_unit.key if req.proposed_unit is not None else None)
        if not key:
            raise InvalidInputError(
                f"transfer request {req.id} proposes no unit; name the new owner unit",
                field="unit",
            )
        target = get_unit(session, key, "unit")
    nxt = TRANSFER_TRANSITIONS.get((TransferState(req.state), decision))
    if nxt is None:
        if _replay(req, decision, target, note):
            return req
        raise InvalidTransitionError(
            f"transfer request {req.id} is {req.state} already"
            + (
                f" (by {req.decided_by} at {req.decided_at:%Y-%m-%d %H:%M} UTC)"
                if req.decided_at
                else ""
            )
            + f"; it cannot be {decision.value}d",
            kind="transfer_request",
            key=req.id,
            state=req.state,
        )
    if row.needs_note and not note:
        raise InvalidInputError(f"{decision.value} needs a note giving the reason", field="note")
    before = {"state": req.state}
    step = DecisionStep(session, actor, req, issue, cfg, store, guard, note, target)
    row.effect(step)
    req.state = nxt.value
    req.decided_at, req.decided_by, req.decision_note = now, actor.who, note
    issue.updated_at = now
    flag_modified(issue, "updated_at")  # the issue's history moved: a new version
    data = {"request": req.id, "decision": decision.value, "unit": req.requesting_unit.key}
    data.update(step.data)
    record_event(
        session,
        issue,
        actor,
        "transfer_decision",
        now,
        from_state=issue.state,
        to_state=issue.state,
        note=note,
        data=data,
    )
    audit.record(
        session,
        actor,
        f"transfer.{decision.value}",
        "transfer_request",
        req.id,
        before=before,
        after={"state": req.state, **data},
        note=note,
        at=now,
    )
    flush_issue(session, issue)
    return req


def list_transfers(
    session: Session,
    *,
    state: str | None = None,
    unit: str | None = None,
    issue_id: int | None = None,
    conditions: Sequence[Any] = (),
    limit: int = 200,
) -> list[TransferRequest]:
    """Transfer requests, newest first; ``conditions`` restrict their issues (a scope's).

    Raises
    ------
    InvalidInputError
        An unknown state.
    """
    q = select(TransferRequest).join(Issue, Issue.id == TransferRequest.issue_id)
    if state is not None:
        if state not in {s.value for s in TransferState}:
            raise InvalidInputError(
                f"unknown state {state!r}; states are " + ", ".join(s.value for s in TransferState),
                field="state",
            )
        q = q.where(TransferRequest.state == state)
    if unit is not None:
        q = q.join(Unit, Unit.id == TransferRequest.requesting_unit_id).where(Unit.key == unit)
    if issue_id is not None:
        q = q.where(TransferRequest.issue_id == issue_id)
    for c in conditions:
        q = q.where(c)
    q = q.order_by(TransferRequest.id.desc()).limit(limit)
    return list(session.scalars(q).unique())


#: The counts of :class:`TransferCount`, in display order.
COUNT_KEYS = ("requested", "approved", "refused", "repeated", "pending")


@dataclass(frozen=True)
class TransferCount:
    """Transfer requests of one unit (推诿扯皮 statistics)."""

    unit_key: str
    unit_name: str
    requested: int
    approved: int
    refused: int
    repeated: int
    pending: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit_key": self.unit_key,
            "unit_name": self.unit_name,
            **{k: getattr(self, k) for k in COUNT_KEYS},
        }


def transfer_counts(
    session: Session,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    units: Iterable[str] | None = None,
) -> list[TransferCount]:
    """Per requesting unit: transfer requests made in ``[start, end)`` (UTC; open ends
    allowed), how many were approved, refused, are pending, and how many **repeated**
    a request of the same unit on the same issue that had been refused before.

    Units without a request are left out; ``units`` keeps only those keys. Sorted by
    refused + repeated, then requests, descending (the worst first).
    """
    t = TransferRequest
    earlier = aliased(TransferRequest)
    repeat = exists().where(
        and_(
            earlier.issue_id == t.issue_id,
            earlier.requesting_unit_id == t.requesting_unit_id,
            earlier.state == TransferState.refused.value,
            earlier.id < t.id,
        )
    )
    q = select(t.requesting_unit_id, t.state, repeat.label("repeat"))
    if start is not None:
        q = q.where(t.requested_at >= start)
    if end is not None:
        q = q.where(t.requested_at < end)
    counts: dict[int, Counter[str]] = {}
    for unit_id, state, rep in session.execute(q):
        c = counts.setdefault(unit_id, Counter())
        c["requested"] += 1
        c[str(state)] += 1
        c["repeated"] += int(bool(rep))
    if not counts:
        return []
    names = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(list(counts))))}
    keep = None if units is None else set(units)
    out = [
        TransferCount(names[uid].key, names[uid].name, **{k: c[k] for k in COUNT_KEYS})
        for uid, c in counts.items()
        if keep is None or names[uid].key in keep
    ]
    out.sort(key=lambda r: (-(r.refused + r.repeated), -r.requested, r.unit_key))
    return out
