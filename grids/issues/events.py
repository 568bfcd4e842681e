"""Which history events of an issue are domain events (a table), and their payload.

:func:`~civgrid.grids.issues.records.record_event` — the one writer of an issue's
history — calls :func:`publish_for_history` for every event it writes, in the same
session, so a dispatch and its domain event commit (or roll back) together.
:data:`HISTORY_EVENTS` maps a history action to the domain event kind, with an
optional condition on the event's data (a failed re-inspection only; an intake only
when it assigned the issue straight away).

Examples
--------
>>> HISTORY_EVENTS["supervise"].kind
'issue_notice'
>>> HISTORY_EVENTS["reinspect"].when({"passed": False}, "returned")
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from civgrid.grids.core.outbox import DomainEvent, event_values, publish
from civgrid.grids.issues.models import Issue

__all__ = [
    "HISTORY_EVENTS",
    "EventRow",
    "history_event_values",
    "issue_payload",
    "publish_for_history",
]


def _always(data: dict[str, Any], to_state: str | None) -> bool:
    return True


@dataclass(frozen=True)
class EventRow:
    """A domain event kind and when a history event of that action is one."""

    kind: str
    when: Callable[[dict[str, Any], str | None], bool] = _always


#: history action → domain event (the issue's own history names the actions).
HISTORY_EVENTS: dict[str, EventRow] = {
    "report": EventRow("issue_dispatched", lambda d, to: to == "assigned"),
    "dispatch": EventRow("issue_dispatched"),
    "reassign": EventRow("issue_transferred"),
    "overdue": EventRow("issue_overdue"),
    "supervise": EventRow("issue_notice"),
    "escalate": EventRow("issue_escalated"),
    "extension_decision": EventRow("issue_extension_decided"),
    "reinspect": EventRow("issue_reinspection_failed", lambda d, to: d.get("passed") is False),
}

#: History data copied into the payload (the facts a message states).
_FACTS = ("notice", "reason", "deadline", "from_unit", "to_unit", "decision", "approved")


def issue_payload(issue: Issue, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Who an issue's event concerns (owner unit, co-units, leaders) and its facts."""
    data = data or {}
    owner = issue.owner_unit.key if issue.owner_unit is not None else data.get("to_unit")
    out: dict[str, Any] = {
        "issue": issue.id,
        "unit": owner,
        "co_units": sorted(
            {p.unit.key for p in issue.parties if p.role == "co_responsible" and p.unit}
        ),
        "leaders": sorted({p.leader.key for p in issue.parties if p.leader is not None}),
        "category": issue.category_code,
        "address": issue.address,
        "deadline": issue.deadline.isoformat() if issue.deadline else None,
    }
    out.update({k: data[k] for k in _FACTS if data.get(k) is not None})
    return out


def publish_for_history(
    session: Session,
    issue: Issue,
    action: str,
    now: datetime,
    to_state: str | None,
    data: dict[str, Any] | None,
) -> DomainEvent | None:
    """Publish the domain event of one history event, if :data:`HISTORY_EVENTS` has one."""
    row = HISTORY_EVENTS.get(action)
    if row is None or not row.when(data or {}, to_state):
        return None
    return publish(session, row.kind, "issue", issue.id, now, issue_payload(issue, data))


def history_event_values(
    issue: Issue,
    action: str,
    now: datetime,
    to_state: str | None,
    data: dict[str, Any] | None,
) -> dict[str, Any] | None:
    """The domain event row of one history event (for a bulk insert), or None if it has none."""
    row = HISTORY_EVENTS.get(action)
    if row is None or not row.when(data or {}, to_state):
        return None
    return event_values(row.kind, "issue", issue.id, now, issue_payload(issue, data))
