"""Accountability cases (问责) as domain events: every history entry of a case publishes one.

A case's history (:class:`~civgrid.grids.scoring.models.CaseEvent`) is appended in many
places (a trigger opens a case, a 限期整改 order, a referral, a decision); this module
listens for inserted entries, so the domain event is written in the same flush — and
transaction — as the entry. :data:`CASE_EVENTS` maps the entry's action to the event
kind: ``opened`` is ``case_opened``, every other entry ``case_acted``.

Examples
--------
>>> CASE_EVENTS.get("opened"), CASE_EVENTS.get("referral", "case_acted")
('case_opened', 'case_acted')
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, insert

from civgrid.grids.core.outbox import DomainEvent
from civgrid.grids.scoring.models import CaseEvent

__all__ = ["CASE_EVENTS", "case_payload"]

#: case history action → domain event kind (anything else: ``case_acted``).
CASE_EVENTS: dict[str, str] = {"opened": "case_opened"}


def case_payload(entry: CaseEvent) -> dict[str, Any]:
    """Who a case's event concerns (the unit at department level, the leader) and its facts."""
    case = entry.case
    return {
        "case": case.id,
        "unit": case.unit_code if case.level == "department" else None,
        "unit_name": case.unit_name,
        "leaders": [case.leader_key] if case.leader_key else [],
        "rule": case.rule_label,
        "action": entry.action,
        "note": entry.note,
        "period": case.period,
    }


@event.listens_for(CaseEvent, "after_insert")
def _publish(mapper: Any, connection: Any, entry: CaseEvent) -> None:
    connection.execute(
        insert(DomainEvent.__table__).values(
            kind=CASE_EVENTS.get(entry.action, "case_acted"),
            subject_kind="case",
            subject_key=str(entry.case_id),
            occurred_at=entry.at,
            payload=case_payload(entry),
        )
    )
