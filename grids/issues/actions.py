"""The workflow actions (:func:`apply` and one function per action): permission, note and
photo checks, the transition from the workflow table, the history, and the side effects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import shapely
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from civgrid.geo.crs import check_lonlat, normalize_crs, to_wgs84
from civgrid.grids.boundaries.models import Unit
from civgrid.grids.core.actors import SYSTEM_ACTOR, Actor, ActorRole, Guard
from civgrid.grids.core.errors import (
    ConflictError,
    InvalidInputError,
    InvalidTransitionError,
    PermissionDeniedError,
)
from civgrid.grids.issues.config import IssueConfig
from civgrid.grids.issues.deadlines import issue_notice
from civgrid.grids.issues.dispatching import check_responsible
from civgrid.grids.issues.intake import compute_deadline, route_point, set_parties
from civgrid.grids.issues.models import (
    Issue,
)
from civgrid.grids.issues.photos import PhotoInput, check_photos
from civgrid.grids.issues.records import (
    attach_photos,
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
    State,
    TransferDecision,
    TransferState,
    Workflow,
)


def _is_reporter(issue: Issue, actor: Actor) -> bool:
    return (
        actor.role is not ActorRole.system
        and issue.reporter_who == actor.who
        and issue.reporter_role == actor.role.value
    )


def _leave_open(session: Session, issue: Issue, now: datetime, why: str) -> None:
    """Clear the flags of an issue that stops being open; settle pending requests."""
    issue.overdue = issue.escalated = issue.extension_pending = False
    for req in issue.extensions:
        if req.status == "pending":
            req.status = "refused"
            req.decided_at = now
            req.decided_by = "system"
            req.decision_note = f"issue {why}"
    for t in issue.transfers:
        if t.state == TransferState.pending:
            t.state = TRANSFER_TRANSITIONS[(TransferState.pending, TransferDecision.lapse)]
            t.decided_at, t.decided_by, t.decision_note = now, "system", f"issue {why}"
    for n in issue.notices:
        if n.resolved_at is None:
            n.resolved_at = now


@dataclass
class ActionStep:
    """What a side effect of an action works on, and what it adds to the history."""

    session: Session
    store: Any
    cfg: IssueConfig
    issue: Issue
    now: datetime
    note: str | None = None
    passed: bool | None = None
    measures: str | None = None
    unit: str | None = None
    co_units: Sequence[str] | None = None
    into: int | None = None
    lon: float | None = None
    lat: float | None = None
    crs: str = "wgs84"
    #: Data recorded on the issue's history event.
    data: dict[str, Any] = field(default_factory=dict)
    #: Events on other issues (issue, what, data), e.g. the original of a merge.
    companion: list[tuple[Issue, str, dict[str, Any]]] = field(default_factory=list)


def _assign(step: ActionStep) -> None:
    step.data.update(
        _relocate_and_assign(
            step.session,
            step.store,
            step.cfg,
            step.issue,
            step.now,
            unit=step.unit,
            co_units=step.co_units,
            lon=step.lon,
            lat=step.lat,
            crs=step.crs,
            note=step.note,
        )
    )


def _before(issue: Issue) -> dict[str, Any]:
    """What a reassignment changes, kept in its history event (an undo restores it)."""
    return {
        "from_state": str(issue.state),
        "from_deadline": issue.deadline.isoformat() if issue.deadline else None,
        "from_deadline_rule": issue.deadline_rule,
        "from_assigned_at": issue.assigned_at.isoformat() if issue.assigned_at else None,
        "from_co_units": [u.key for u in issue_units(issue, "co_responsible")],
        "from_flags": {"overdue": issue.overdue, "escalated": issue.escalated},
        "resolved_notices": [n.id for n in issue.notices if n.resolved_at is None],
    }


def _reassign(step: ActionStep) -> None:
    issue = step.issue
    owner = issue.owner_unit.key if issue.owner_unit is not None else None
    if step.lon is None and step.co_units is None and step.unit in (None, owner):
        # a reassignment to the current owner changes nothing: it must not restart the
        # clock or move 整改中 back to 已交办 (issue 21)
        raise InvalidTransitionError(
            f"issue {issue.id} is already owned by {owner}; nothing to reassign",
            kind="issue",
            key=issue.id,
            unit=owner,
        )
    step.data.update(_before(issue))
    _assign(step)
    # a new owner starts with a clean record: flags cleared, open notices resolved
    step.issue.overdue = step.issue.escalated = False
    for n in step.issue.notices:
        if n.resolved_at is None:
            n.resolved_at = step.now


def _submit(step: ActionStep) -> None:
    step.issue.submitted_at = step.now
    step.issue.measures = step.measures or step.note


def _reinspect(step: ActionStep) -> None:
    issue = step.issue
    issue.reinspection_result = "passed" if step.passed else "failed"
    issue.reinspection_note = step.note
    step.data["passed"] = bool(step.passed)
    if step.passed:
        issue.closed_at = step.now
        _leave_open(step.session, issue, step.now, "closed")


def _reopen(step: ActionStep) -> None:
    issue, cfg, now = step.issue, step.cfg, step.now
    closed_at = issue.closed_at
    if closed_at is not None and now > closed_at + timedelta(days=cfg.reopen_days):
        raise InvalidTransitionError(
            f"issue {issue.id} closed on {closed_at:%Y-%m-%d}; it can be reopened only "
            f"within {cfg.reopen_days} days",
            kind="issue",
            key=issue.id,
        )
    issue.closed_at = None
    issue.reinspection_result = None
    issue.deadline, issue.deadline_rule = compute_deadline(cfg, issue, now)
    step.data["deadline"] = issue.deadline.isoformat()


def _reject(step: ActionStep) -> None:
    step.issue.closed_at = step.now
    _leave_open(step.session, step.issue, step.now, "rejected")


def _merge(step: ActionStep) -> None:
    issue = step.issue
    if step.into is None:
        raise InvalidInputError("merge needs the id of the original issue", field="into")
    root = get_issue(step.session, step.into)
    if root.id == issue.id:
        raise InvalidInputError("an issue cannot duplicate itself", field="into")
    if not step.cfg.workflow.is_open(root.state):
        raise InvalidTransitionError(
            f"issue {root.id} is {root.state}; merge only into an open issue",
            kind="issue",
            key=root.id,
        )
    issue.duplicate_of = root
    issue.closed_at = step.now
    _leave_open(step.session, issue, step.now, "merged")
    root.duplicate_count += 1
    step.data["duplicate_of"] = root.id
    step.companion.append((root, "duplicate_linked", {"duplicate": issue.id}))


def _unmerge(step: ActionStep) -> None:
    issue = step.issue
    original = issue.duplicate_of
    if original is not None:
        original.duplicate_count = max(0, original.duplicate_count - 1)
        step.companion.append((original, "duplicate_unlinked", {"duplicate": issue.id}))
        step.data["duplicate_of"] = original.id
    issue.duplicate_of = None
    issue.duplicate_of_id = None
    issue.closed_at = None
    issue.triage_reason = "unmerged"


#: The side effects of each action, run after the workflow table allowed it and before
#: the state changes and the history event is written (accept has none).
SIDE_EFFECTS: dict[Action, Callable[[ActionStep], None]] = {
    Action.dispatch: _assign,
    Action.reassign: _reassign,
    Action.submit: _submit,
    Action.reinspect: _reinspect,
    Action.reopen: _reopen,
    Action.reject: _reject,
    Action.merge: _merge,
    Action.unmerge: _unmerge,
}

#: The stage under which an action's photos are stored.
PHOTO_STAGE: dict[Action, str] = {Action.submit: "fix", Action.reinspect: "reinspection"}


@stale_is_conflict
def apply(
    session: Session,
    actor: Actor,
    issue_id: int,
    action: Action | str,
    *,
    expected_version: int | None = None,
    note: str | None = None,
    photos: Sequence[PhotoInput] = (),
    passed: bool | None = None,
    measures: str | None = None,
    config: IssueConfig | None = None,
    store: Any = None,
    unit: str | None = None,
    co_units: Sequence[str] | None = None,
    into: int | None = None,
    lon: float | None = None,
    lat: float | None = None,
    crs: str = "wgs84",
    guard: Guard | None = None,
    batch: str | None = None,
) -> Issue:
    """Run one workflow event on an issue and record it in the history.

    Parameters
    ----------
    session : Session
    actor : Actor
    issue_id : int
    action : Action or str
        ``dispatch``, ``accept``, ``submit``, ``reinspect``, ``reopen``,
        ``reject``, ``merge``, ``unmerge``, ``reassign``.
    expected_version : int, optional
        The version the caller saw; a different current version is a conflict.
    note : str, optional
        Reason / remarks (required for reject, reassign, failed reinspection, reopen).
    photos : sequence of PhotoInput
        Required for ``submit`` (the fix).
    passed : bool, optional
        The re-inspection result (``reinspect`` only).
    measures : str, optional
        Rectification measures (整改措施) for ``submit``; default: the note.
    config : IssueConfig, optional
    store : Store, optional
        Needed when ``dispatch``/``reassign`` move the issue to a new point.
    unit : str, optional
        ``dispatch``/``reassign``: the owner unit key (default: the routing answer).
    co_units : sequence of str, optional
        ``dispatch``/``reassign``: co-responsible unit keys (replace the current ones).
    into : int, optional
        ``merge``: the issue this one duplicates.
    lon, lat, crs : optional
        ``dispatch``/``reassign``: a corrected location (re-snapped and re-routed).
    guard : Guard, optional
        The caller's object-level permission check.
    batch : str, optional
        The bulk action this event belongs to (kept in its history data, see
        :mod:`civgrid.grids.issues.bulk`).

    Returns
    -------
    Issue

    Raises
    ------
    InvalidTransitionError
        Not allowed from the current state (HTTP 409).
    PermissionDeniedError
        The actor's role may not do it.
    InvalidInputError
        Missing note/photos/outcome, unknown unit…
    ConflictError
        Stale ``expected_version`` or a concurrent update.
    """
    cfg = config or IssueConfig()
    wf: Workflow = cfg.workflow
    now = cfg.now()
    issue = get_issue(session, issue_id)
    check_scope(session, actor, issue, str(action), guard)
    if expected_version is not None and expected_version != issue.version:
        raise ConflictError(
            f"issue {issue.id} is at version {issue.version}, not {expected_version}; "
            "reload it and try again",
            kind="issue",
            key=issue.id,
            current_version=issue.version,
        )
    checked = check_photos(photos, max_bytes=cfg.photo_max_bytes, max_count=cfg.photo_max_count)
    t = wf.check(
        issue.state,
        action,
        actor.role,
        outcome=passed,
        is_reporter=_is_reporter(issue, actor),
        note=note,
        photo_count=len(checked),
    )
    if actor.role is ActorRole.unit and t.action in (Action.accept, Action.submit):
        owner_key = issue.owner_unit.key if issue.owner_unit is not None else None
        if actor.unit != owner_key:
            raise PermissionDeniedError(
                f"only the owner unit ({owner_key}) may {t.action.value} issue {issue.id}",
                role=actor.role.value,
                unit=actor.unit,
            )
    if checked and cfg.photo_dir is None:
        raise InvalidInputError(
            "photos are not accepted: no photo directory is configured", field="photos"
        )
    source_state = State(issue.state)
    step = ActionStep(
        session, store, cfg, issue, now,
        note=note, passed=passed, measures=measures, unit=unit, co_units=co_units,
        into=into, lon=lon, lat=lat, crs=crs,
    )  # fmt: skip # one keyword per field, as ActionStep lists them
    effect = SIDE_EFFECTS.get(t.action)
    if effect is not None:
        effect(step)
    data, companion = step.data, step.companion
    if batch is not None:
        data["batch"] = batch

    if t.counts_return:
        issue.return_count += 1
        data["return_count"] = issue.return_count
    issue.state = t.target
    issue.updated_at = now
    flag_modified(issue, "updated_at")  # every event bumps the version, even a no-op reassign
    ev = record_event(
        session,
        issue,
        actor,
        t.action.value,
        now,
        from_state=source_state,
        to_state=t.target,
        note=note,
        data=data,
    )
    for other, what, other_data in companion:
        other.updated_at = now
        record_event(
            session,
            other,
            actor,
            what,
            now,
            from_state=other.state,
            to_state=other.state,
            data=other_data,
        )
    flush_issue(session, issue)
    stage = PHOTO_STAGE.get(t.action, "other")
    attach_photos(session, issue, ev, checked, cfg, stage, now)
    if (
        t.action is Action.reinspect
        and not passed
        and cfg.returns_before_notice
        and issue.return_count >= cfg.returns_before_notice
        and not any(n.resolved_at is None for n in issue.notices)
    ):
        issue_notice(session, issue, cfg, now, SYSTEM_ACTOR, "repeated_return")
    flush_issue(session, issue)
    return issue


def _relocate_and_assign(
    session: Session,
    store: Any,
    cfg: IssueConfig,
    issue: Issue,
    now: datetime,
    *,
    unit: str | None,
    co_units: Sequence[str] | None,
    lon: float | None,
    lat: float | None,
    crs: str,
    note: str | None = None,
) -> dict[str, Any]:
    """Dispatch/reassign: optionally re-snap at a corrected point, set owner, restart the clock.

    A unit chosen by hand outside the place's responsible units needs ``note`` (the
    reason, :func:`~civgrid.grids.issues.dispatching.check_responsible`); the history
    marks it ``outside_responsibility``.
    """
    data: dict[str, Any] = {
        "from_unit": issue.owner_unit.key if issue.owner_unit is not None else None
    }
    if (lon is None) != (lat is None):
        raise InvalidInputError("give both lon and lat", field="lon" if lon is None else "lat")
    if lon is not None:
        if store is None:
            raise InvalidInputError("a new location needs the store", field="lon")
        check_lonlat([lon], [lat])
        wlon, wlat = to_wgs84(float(lon), float(lat), normalize_crs(crs))
        data["from_location"] = [issue.lon, issue.lat]
        issue.lon, issue.lat = float(wlon), float(wlat)
        issue.geom = shapely.Point(issue.lon, issue.lat)
        issue.input_crs, issue.input_lon, issue.input_lat = normalize_crs(crs), lon, lat
        route_point(session, store, issue, issue.lon, issue.lat, now)
        data["to_location"] = [issue.lon, issue.lat]
    if unit is not None:
        owner = get_unit(session, unit, "unit")
        if check_responsible(issue, owner, note):
            data["outside_responsibility"] = True
        co = (
            issue_units(issue, "co_responsible")
            if co_units is None
            else [get_unit(session, k, "co_units") for k in co_units]
        )
        if issue.owner_unit is not None and issue.owner_unit.key != owner.key and co_units is None:
            co = [u for u in co if u.key != owner.key]
        leaders = None
        set_parties(session, issue, owner, co, leaders)
    elif co_units is not None:
        set_parties(
            session, issue, issue.owner_unit, [get_unit(session, k, "co_units") for k in co_units]
        )
    if issue.owner_unit is None:
        raise InvalidInputError(
            "no owner unit: the routing found none; name one (unit)", field="unit"
        )
    issue.assigned_at = now
    issue.deadline, issue.deadline_rule = compute_deadline(cfg, issue, now)
    data["to_unit"] = issue.owner_unit.key
    data["co_units"] = [u.key for u in issue_units(issue, "co_responsible")]
    data["deadline"] = issue.deadline.isoformat()
    return data


def issue_units(issue: Issue, role: str) -> list[Unit]:
    """Units of an issue with ``role`` (``owner`` or ``co_responsible``)."""
    return [p.unit for p in issue.parties if p.role == role and p.unit is not None]


def dispatch(session: Session, actor: Actor, issue_id: int, **kw: Any) -> Issue:
    """Confirm (or correct: ``unit``, ``co_units``, ``lon``/``lat``) a triaged issue."""
    return apply(session, actor, issue_id, Action.dispatch, **kw)


def accept(session: Session, actor: Actor, issue_id: int, **kw: Any) -> Issue:
    """The owner unit accepts the issue (签收) and starts rectifying."""
    return apply(session, actor, issue_id, Action.accept, **kw)


def submit(session: Session, actor: Actor, issue_id: int, **kw: Any) -> Issue:
    """The owner unit reports the fix, with photos and measures."""
    return apply(session, actor, issue_id, Action.submit, **kw)


def reinspect(session: Session, actor: Actor, issue_id: int, passed: bool, **kw: Any) -> Issue:
    """Re-inspection (复查): passed closes, failed returns (a return for the unit)."""
    return apply(session, actor, issue_id, Action.reinspect, passed=passed, **kw)


def reopen(session: Session, actor: Actor, issue_id: int, **kw: Any) -> Issue:
    """Reopen a closed issue (back to rectifying; counts as a return)."""
    return apply(session, actor, issue_id, Action.reopen, **kw)


def reject(session: Session, actor: Actor, issue_id: int, **kw: Any) -> Issue:
    """Not a problem (不予受理)."""
    return apply(session, actor, issue_id, Action.reject, **kw)


def merge(session: Session, actor: Actor, issue_id: int, into: int, **kw: Any) -> Issue:
    """Mark an issue as a duplicate of ``into``."""
    return apply(session, actor, issue_id, Action.merge, into=into, **kw)


def unmerge(session: Session, actor: Actor, issue_id: int, **kw: Any) -> Issue:
    """Undo a duplicate link; the issue goes back to triage."""
    return apply(session, actor, issue_id, Action.unmerge, **kw)


def reassign(session: Session, actor: Actor, issue_id: int, **kw: Any) -> Issue:
    """Give the issue to another unit (or place) — the history keeps the old one."""
    return apply(session, actor, issue_id, Action.reassign, **kw)
