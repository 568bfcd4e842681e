"""Domain events (领域事件): what features tell the world, written in their own transaction.

A feature that dispatches an issue, flags it overdue, issues a 督办 notice or
escalates it calls :func:`publish` in the same session as the change itself, so the
event row commits with the change or rolls back with it (the transactional outbox
pattern). Nothing here knows who is told or how: :mod:`civgrid.grids.notify` (above
every feature in the layer order) reads the events, expands each into one outbox row
per recipient and channel, and delivers them.

An event carries what its recipients are found by (the owner unit, the
co-responsible units, the leaders' keys) and what its message says (number,
deadline, reason) in ``payload``; ``dedupe`` makes a repeated publication of the
same fact (a due-soon reminder for the same deadline) a no-op.

Examples
--------
>>> sorted(k for k in EVENT_KINDS if k.startswith("issue_d"))
['issue_dispatched', 'issue_due_soon']
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from civgrid.grids.core.db import Base
from civgrid.grids.core.errors import InvalidInputError
from civgrid.grids.core.types import UTCDateTime

__all__ = ["EVENT_KINDS", "DomainEvent", "publish"]

#: The event kinds (the notify package keeps who hears each, as a table).
EVENT_KINDS = frozenset(
    {
        "issue_dispatched",  # 交办 (dispatch, or an automatic assignment at intake)
        "issue_transferred",  # 改派 to another unit (reassign, an approved 转办)
        "issue_due_soon",  # the deadline falls within 24 h
        "issue_overdue",  # 逾期
        "issue_notice",  # a 督办通知单 was issued
        "issue_escalated",  # 升级: still on the clock after the notice deadline
        "issue_extension_decided",  # 延期 approved or refused
        "issue_reinspection_failed",  # 复查未通过
        "point_inspection_failed",  # a field-assessment point failed its inspection (不达标)
        "case_opened",  # an accountability case (问责) was opened
        "case_acted",  # … and acted on (整改令, referral, decision, closing)
        "bulletin_published",  # a 通报 was published (numbered and frozen)
        "delivery_failed",  # a notification could not be delivered (notify's own)
    }
)


class DomainEvent(Base):
    """One domain event: kind, subject, when, the data recipients are found by, dedupe key."""

    __tablename__ = "domain_events"
    __table_args__ = (Index("ix_domain_events_expanded", "expanded_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(48), nullable=False)
    subject_kind: Mapped[str] = mapped_column(String(32), nullable=False)
    subject_key: Mapped[str] = mapped_column(String(64), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    #: Unique when given: the same fact published twice is stored once.
    dedupe: Mapped[str | None] = mapped_column(String(160), unique=True)
    #: When notify expanded it into outbox rows (None: not yet).
    expanded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def publish(
    session: Session,
    kind: str,
    subject_kind: str,
    subject_key: Any,
    at: datetime,
    payload: dict[str, Any] | None = None,
    *,
    dedupe: str | None = None,
) -> DomainEvent | None:
    """Add one event to ``session`` (committed or rolled back with the caller's change).

    Parameters
    ----------
    session : Session
        The feature's own session; this function never commits.
    kind : str
        One of :data:`EVENT_KINDS`.
    subject_kind, subject_key
        What the event is about (``"issue"``, 17).
    at : datetime
        When it happened (aware, UTC).
    payload : dict, optional
        JSON data: ``unit``, ``co_units``, ``leaders`` (keys) and the message's facts.
    dedupe : str, optional
        A key of the fact; an event with the same key already stored (or pending in
        this session) is not added again.

    Returns
    -------
    DomainEvent or None
        None when ``dedupe`` matched an existing event.

    Raises
    ------
    InvalidInputError
        An unknown kind.
    """
    values = event_values(kind, subject_kind, subject_key, at, payload, dedupe=dedupe)
    if dedupe is not None:
        pending = any(isinstance(o, DomainEvent) and o.dedupe == dedupe for o in session.new)
        if pending or session.scalar(select(DomainEvent.id).where(DomainEvent.dedupe == dedupe)):
            return None
    ev = DomainEvent(**values)
    session.add(ev)
    return ev


def event_values(
    kind: str,
    subject_kind: str,
    subject_key: Any,
    at: datetime,
    payload: dict[str, Any] | None = None,
    *,
    dedupe: str | None = None,
) -> dict[str, Any]:
    """The column values of one domain event (for a bulk insert; see :func:`publish`).

    Raises
    ------
    InvalidInputError
        An unknown kind.
    """
    if kind not in EVENT_KINDS:
        raise InvalidInputError(f"unknown domain event kind {kind!r}", field="kind", value=kind)
    return {
        "kind": kind,
        "subject_kind": subject_kind,
        "subject_key": str(subject_key),
        "occurred_at": at,
        "payload": dict(payload or {}),
        "dedupe": dedupe,
    }
