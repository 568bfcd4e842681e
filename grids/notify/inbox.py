"""The in-app notification centre (通知中心) of one account, and delivery status views.

An in-app notification is the outbox row on the ``in_app`` channel addressed to
``account:<username>``; it is listed once expanded (whether the worker has marked it
delivered yet or not) and read by setting ``read_at``. Every function takes the
account's username and touches only that account's rows: another account's id is
"not found", as a missing one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from civgrid.grids.core.errors import NotFoundError
from civgrid.grids.notify.models import OutboxMessage

__all__ = [
    "InAppItem",
    "deliveries",
    "list_notifications",
    "mark_read",
    "outbox_counts",
    "troubles",
    "unread_count",
]


def _mine(username: str):
    return (OutboxMessage.recipient == f"account:{username}") & (OutboxMessage.channel == "in_app")


@dataclass(frozen=True)
class InAppItem:
    """One notification of the centre."""

    id: int
    kind: str
    subject: str
    title: str
    body: str
    at: datetime
    read: bool


def unread_count(session: Session, username: str) -> int:
    """How many of the account's notifications are unread."""
    q = select(func.count()).where(_mine(username), OutboxMessage.read_at.is_(None))
    return int(session.scalar(q) or 0)


def list_notifications(
    session: Session, username: str, *, unread_only: bool = False, limit: int = 50
) -> list[InAppItem]:
    """The account's notifications, newest first."""
    q = select(OutboxMessage).where(_mine(username))
    if unread_only:
        q = q.where(OutboxMessage.read_at.is_(None))
    rows = session.scalars(q.order_by(OutboxMessage.id.desc()).limit(max(1, min(limit, 200))))
    return [
        InAppItem(
            r.id, r.event_kind, r.subject, r.title, r.body, r.created_at, r.read_at is not None
        )
        for r in rows
    ]


def mark_read(session: Session, username: str, ids: Sequence[int] | None, now: datetime) -> int:
    """Mark the account's notifications ``ids`` (None: all) read; how many changed.

    Raises
    ------
    NotFoundError
        An id that is not one of the account's notifications.
    """
    if ids is not None:
        found = set(
            session.scalars(
                select(OutboxMessage.id).where(_mine(username), OutboxMessage.id.in_(list(ids)))
            )
        )
        missing = sorted(set(ids) - found)
        if missing:
            raise NotFoundError(f"no notification {missing[0]}", field="ids", value=missing[0])
    q = update(OutboxMessage).where(_mine(username), OutboxMessage.read_at.is_(None))
    if ids is not None:
        q = q.where(OutboxMessage.id.in_(list(ids)))
    n = session.execute(q.values(read_at=now).execution_options(synchronize_session=False))
    return int(n.rowcount or 0)


def outbox_counts(session: Session) -> dict[tuple[str, str], int]:
    """``(channel, status) → count`` of the whole outbox (the admin view)."""
    q = select(OutboxMessage.channel, OutboxMessage.status, func.count()).group_by(
        OutboxMessage.channel, OutboxMessage.status
    )
    return {(c, s): int(n) for c, s, n in session.execute(q)}


def troubles(session: Session, limit: int = 100) -> list[OutboxMessage]:
    """Messages given up or still failing (``dead``, or pending after a failed attempt)."""
    q = select(OutboxMessage).where(
        (OutboxMessage.status == "dead")
        | ((OutboxMessage.status == "pending") & (OutboxMessage.attempts > 0))
    )
    return list(session.scalars(q.order_by(OutboxMessage.id.desc()).limit(limit)))


def deliveries(session: Session, subject: str) -> list[OutboxMessage]:
    """The outbox rows about ``subject`` (``issue:17``): recipient, channel, status."""
    q = select(OutboxMessage).where(OutboxMessage.subject == subject)
    return list(session.scalars(q.order_by(OutboxMessage.id)))
