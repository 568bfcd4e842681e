"""Which documents fall due, read from what happened: domain events and fix submissions.

:data:`EVENT_SERIES` is the table: a dispatch or a transfer to a unit is due a 交办单, a
督办 notice its 督办通知单, a published bulletin its 月通报, an opened case whose
consequence is 约谈 an 约谈通知书 and one whose consequence is 问责 a 问责建议书
(:data:`CASE_SERIES`); a submitted fix (history action ``submit``) is due a 整改回执.
Which consequences get paper is a local choice. Issuing what is due twice is a no-op:
every document is issued for an occasion (docs/documents.md).

Examples
--------
>>> EVENT_SERIES["issue_notice"], CASE_SERIES["interview"]
('duban', 'yuetan')
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.grids.core.outbox import DomainEvent
from civgrid.grids.issues.models import IssueEvent, SupervisionNotice
from civgrid.grids.scoring.models import AccountabilityCase

__all__ = ["CASE_SERIES", "EVENT_SERIES", "Due", "due_documents"]

#: domain event kind → series of the document it is due (``case`` by the case's action).
EVENT_SERIES: dict[str, str] = {
    "issue_dispatched": "jiaoban",
    "issue_transferred": "jiaoban",
    "issue_notice": "duban",
    "bulletin_published": "bulletin",
    "case_opened": "case",
}
#: accountability case action (consequence) → series; other consequences get no paper.
CASE_SERIES: dict[str, str] = {"interview": "yuetan", "referral": "wenze"}
#: issue history action → series.
HISTORY_SERIES: dict[str, str] = {"submit": "huizhi"}


@dataclass(frozen=True)
class Due:
    """A document due: its series, the id it is built from, when its fact happened."""

    series: str
    key: int
    at: datetime


def due_documents(session: Session, since: datetime) -> list[Due]:
    """The documents due for what happened at or after ``since`` (aware UTC), in order.

    A fact whose document exists already is still listed; issuing it returns the stored one.
    """
    out: list[Due] = []
    events = session.scalars(
        select(DomainEvent)
        .where(DomainEvent.kind.in_(EVENT_SERIES), DomainEvent.occurred_at >= since)
        .order_by(DomainEvent.id)
    )
    for ev in events:
        series = EVENT_SERIES[ev.kind]
        key = int(ev.subject_key)
        if series == "duban":
            number = (ev.payload or {}).get("notice")
            found = session.scalar(
                select(SupervisionNotice.id).where(SupervisionNotice.number == number)
            )
            if found is None:
                continue
            key = found
        elif series == "case":
            case = session.get(AccountabilityCase, key)
            series = CASE_SERIES.get(case.action, "") if case is not None else ""
            if not series:
                continue
        out.append(Due(series, key, ev.occurred_at))
    for action, series in HISTORY_SERIES.items():
        for issue_id, at in session.execute(
            select(IssueEvent.issue_id, IssueEvent.at)
            .where(IssueEvent.action == action, IssueEvent.at >= since)
            .order_by(IssueEvent.id)
        ):
            out.append(Due(series, issue_id, at))
    return sorted(out, key=lambda d: d.at)
