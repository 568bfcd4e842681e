"""Bulk reassignment (批量改派) as one batch, and its undo as one batch.

A batch gives every selected issue to one unit. Issues the unit already owns are
*skipped*: their state, deadline and history are not touched (a reassignment to the
current owner used to move 整改中 back to 已交办 with a new deadline — issue 21).
Every reassignment of the batch carries the batch id in its history event
(``data["batch"]``), together with what it changed (previous unit, co-responsible
units, state, deadline, flags and the 督办 notices it resolved).

Undo walks the batch's events: an issue whose last event is still the batch's
reassignment goes back to its previous unit, state and deadline (an ``undo_batch``
event records it); an issue that changed since is refused with its own reason, the
others are still undone.

Each item runs in a savepoint, so one failure (a stale version, a closed issue, a
unit outside the place without a reason) leaves the others' results standing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from civgrid.grids.core.actors import Actor, Guard
from civgrid.grids.core.errors import DomainError, InvalidInputError, NotFoundError
from civgrid.grids.core.labels import ISSUE_ACTION_LABELS
from civgrid.grids.issues.actions import apply
from civgrid.grids.issues.config import IssueConfig
from civgrid.grids.issues.intake import set_parties
from civgrid.grids.issues.models import Issue, IssueEvent
from civgrid.grids.issues.records import (
    check_scope,
    flush_issue,
    get_issue,
    get_unit,
    record_event,
    units_by_key,
)
from civgrid.grids.issues.workflow import Action, State

__all__ = ["BatchItem", "BatchReport", "bulk_reassign", "undo_batch"]

#: The most issues one batch may hold (a local choice: a drawn polygon, not the county).
MAX_BATCH = 500


@dataclass
class BatchItem:
    """The outcome for one issue of a batch."""

    issue_id: int
    #: ``reassigned``, ``skipped`` (already the target's), ``restored``, ``refused``, ``failed``
    outcome: str
    detail: str | None = None


@dataclass
class BatchReport:
    """What a bulk action (or its undo) did, item by item."""

    batch: str
    unit: str | None
    items: list[BatchItem] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        """How many items ended with ``outcome``."""
        return sum(1 for i in self.items if i.outcome == outcome)


def _ids(issue_ids: Sequence[int]) -> list[int]:
    ids = list(dict.fromkeys(int(i) for i in issue_ids))
    if not ids:
        raise InvalidInputError("select at least one issue", field="issue_ids")
    if len(ids) > MAX_BATCH:
        raise InvalidInputError(
            f"{len(ids)} issues in one batch; at most {MAX_BATCH}", field="issue_ids"
        )
    return ids


def bulk_reassign(
    session: Session,
    actor: Actor,
    issue_ids: Sequence[int],
    unit: str,
    note: str,
    *,
    guard: Guard | None = None,
    config: IssueConfig | None = None,
    store: Any = None,
    versions: dict[int, int] | None = None,
) -> BatchReport:
    """Reassign ``issue_ids`` to ``unit`` as one batch; skip those ``unit`` already owns.

    Parameters
    ----------
    session, actor, guard, config, store
        As for :func:`~civgrid.grids.issues.actions.apply`.
    issue_ids : sequence of int
        The selection (duplicates ignored; at most :data:`MAX_BATCH`).
    unit : str
        The target unit key.
    note : str
        The reason (required, as for every reassignment).
    versions : dict, optional
        ``issue id -> version`` the caller saw (a different version fails that item).

    Returns
    -------
    BatchReport
        ``reassigned``, ``skipped`` and ``failed`` items (failed ones say why).

    Raises
    ------
    InvalidInputError
        No selection, too many issues, unknown unit, no reason.
    """
    ids = _ids(issue_ids)
    target = get_unit(session, unit, "unit")
    if not (note or "").strip():
        raise InvalidInputError("a bulk reassignment needs a note giving the reason", field="note")
    report = BatchReport(batch=uuid.uuid4().hex[:12], unit=target.key)
    for issue_id in ids:
        try:
            with session.begin_nested():
                issue = get_issue(session, issue_id)
                check_scope(session, actor, issue, str(Action.reassign), guard)
                if issue.owner_unit is not None and issue.owner_unit.key == target.key:
                    report.items.append(BatchItem(issue_id, "skipped", "已是该单位主办，未改动"))
                    continue
                apply(
                    session,
                    actor,
                    issue_id,
                    Action.reassign,
                    expected_version=(versions or {}).get(issue_id),
                    note=note,
                    unit=target.key,
                    config=config,
                    store=store,
                    guard=guard,
                    batch=report.batch,
                )
            report.items.append(BatchItem(issue_id, "reassigned"))
        except DomainError as exc:
            report.items.append(BatchItem(issue_id, "failed", str(exc)))
    return report


def _when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def batch_events(session: Session, batch: str) -> list[IssueEvent]:
    """The history events of ``batch`` (its reassignments), in issue order."""
    rows = session.scalars(
        select(IssueEvent)
        .where(IssueEvent.action == str(Action.reassign))
        .where(IssueEvent.data["batch"].as_string() == batch)
        .order_by(IssueEvent.issue_id, IssueEvent.id)
    )
    return list(rows)


def undo_batch(
    session: Session,
    actor: Actor,
    batch: str,
    *,
    guard: Guard | None = None,
    config: IssueConfig | None = None,
) -> BatchReport:
    """Undo every reassignment of ``batch``: previous unit, co-units, state and deadline.

    An issue changed since the batch (any later event: accepted, reassigned again,
    undone already…) is refused with its reason; the others are restored.

    Raises
    ------
    NotFoundError
        No batch ``batch``.
    """
    cfg = config or IssueConfig()
    events = batch_events(session, batch)
    if not events:
        raise NotFoundError(f"no batch {batch!r}", kind="batch", key=batch)
    now = cfg.now()
    report = BatchReport(batch=batch, unit=(events[0].data or {}).get("to_unit"))
    for ev in events:
        issue_id = ev.issue_id
        try:
            with session.begin_nested():
                issue = get_issue(session, issue_id)
                check_scope(session, actor, issue, str(Action.reassign), guard)
                last = session.scalar(
                    select(IssueEvent)
                    .where(IssueEvent.issue_id == issue_id)
                    .order_by(IssueEvent.id.desc())
                    .limit(1)
                )
                if last is None or last.id != ev.id:
                    what = ISSUE_ACTION_LABELS.get(last.action, last.action) if last else "—"
                    report.items.append(
                        BatchItem(
                            issue_id,
                            "refused",
                            f"问题 #{issue_id} 在批量改派之后有了新的处理（{what}），不能撤销",
                        )
                    )
                    continue
                _restore(session, actor, issue, ev, now, batch)
            report.items.append(BatchItem(issue_id, "restored"))
        except DomainError as exc:
            report.items.append(BatchItem(issue_id, "failed", str(exc)))
    return report


def _restore(
    session: Session, actor: Actor, issue: Issue, ev: IssueEvent, now: datetime, batch: str
) -> None:
    data = ev.data or {}
    keys = [k for k in [data.get("from_unit"), *(data.get("from_co_units") or [])] if k]
    units = units_by_key(session, keys)
    owner = units.get(data.get("from_unit") or "")
    co = [units[k] for k in data.get("from_co_units") or [] if k in units]
    source = State(issue.state)
    set_parties(session, issue, owner, co)
    issue.state = State(ev.from_state) if ev.from_state else source
    issue.deadline = _when(data.get("from_deadline"))
    issue.deadline_rule = data.get("from_deadline_rule")
    issue.assigned_at = _when(data.get("from_assigned_at"))
    flags = data.get("from_flags") or {}
    issue.overdue = bool(flags.get("overdue"))
    issue.escalated = bool(flags.get("escalated"))
    reopen = set(data.get("resolved_notices") or [])
    for n in issue.notices:
        if n.id in reopen:
            n.resolved_at = None
    issue.updated_at = now
    flag_modified(issue, "updated_at")
    record_event(
        session,
        issue,
        actor,
        "undo_batch",
        now,
        from_state=source,
        to_state=issue.state,
        note=f"撤销批量改派 {batch}",
        data={
            "batch": batch,
            "from_unit": data.get("to_unit"),
            "to_unit": data.get("from_unit"),
            "deadline": data.get("from_deadline"),
        },
    )
    flush_issue(session, issue)
