"""Expand domain events into outbox rows: one per (event, recipient, channel, address).

An event is claimed by an atomic ``UPDATE … WHERE expanded_at IS NULL`` (a second
worker's update matches nothing), and its rows are inserted in the same transaction,
so an event is expanded exactly once. Each row's ``key`` is a hash of (event,
recipient, channel, address): unique in the table, and the stable message id.

Recipients (see :mod:`civgrid.grids.notify.audience`):

* a unit (``unit:<key>``) on each of its enabled contacts (e-mail, robot, SMS), and
  each active account of the unit in the in-app centre (``account:<username>``);
* a leader's and the command center's accounts, in the in-app centre and on the
  account's own contacts.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from civgrid.grids.accounts.models import User
from civgrid.grids.boundaries.models import Unit
from civgrid.grids.core.calendar import local_zone
from civgrid.grids.core.labels import NOTIFY_TEMPLATES
from civgrid.grids.core.outbox import DomainEvent
from civgrid.grids.notify.audience import COMMAND_CENTER_ROLES, DEFAULT_AUDIENCE, best_choice
from civgrid.grids.notify.models import Contact, OutboxMessage, Subscription

__all__ = ["Recipient", "expand_pending", "message_key", "recipients", "render"]


@dataclass(frozen=True)
class Recipient:
    """One addressee: its name, the names its preferences are found under, in-app or not."""

    name: str  # unit:<key> or account:<username>
    names: tuple[str, ...]  # most specific first (itself, its unit, its role)
    in_app: bool


def message_key(event_id: int, recipient: str, channel: str, address: str | None) -> str:
    """The unique key of one outbox row (hex, 32 characters).

    >>> message_key(1, "unit:D03", "email", "a@example.org") == message_key(
    ...     1, "unit:D03", "email", "a@example.org")
    True
    >>> len(message_key(1, "unit:D03", "in_app", None))
    32
    """
    raw = f"{event_id}|{recipient}|{channel}|{address or ''}".encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def _accounts(session: Session, **where: Any) -> list[User]:
    q = select(User).where(User.disabled.is_(False))
    for col, values in where.items():
        q = q.where(getattr(User, col).in_(values))
    return list(session.scalars(q.order_by(User.username)))


def _account(u: User) -> Recipient:
    names = [f"account:{u.username}"]
    if u.unit_key:
        names.append(f"unit:{u.unit_key}")
    names.append(f"role:{u.role}")
    return Recipient(f"account:{u.username}", tuple(names), in_app=True)


def recipients(session: Session, event: DomainEvent) -> list[Recipient]:
    """The default audience of ``event`` and the subscribers who opted in, in a stable order."""
    p = event.payload
    out: dict[str, Recipient] = {}
    for audience in DEFAULT_AUDIENCE.get(event.kind, ()):
        if audience in ("unit", "co_units"):
            keys = [p["unit"]] if audience == "unit" and p.get("unit") else p.get("co_units", [])
            for k in keys:
                out.setdefault(f"unit:{k}", Recipient(f"unit:{k}", (f"unit:{k}",), False))
                for u in _accounts(session, unit_key=[k], role=["unit_handler"]):
                    out.setdefault(f"account:{u.username}", _account(u))
        elif audience == "leaders" and p.get("leaders"):
            for u in _accounts(session, leader_key=p["leaders"], role=["leader"]):
                out.setdefault(f"account:{u.username}", _account(u))
        elif audience == "all_leaders":
            for u in _accounts(session, role=["leader"]):
                out.setdefault(f"account:{u.username}", _account(u))
        elif audience == "command_center":
            for u in _accounts(session, role=list(COMMAND_CENTER_ROLES)):
                out.setdefault(f"account:{u.username}", _account(u))
    opted = session.scalars(
        select(Subscription.subscriber).where(
            Subscription.event_kind == event.kind, Subscription.enabled.is_(True)
        )
    )
    for sub in opted:
        if sub.startswith("unit:"):
            out.setdefault(sub, Recipient(sub, (sub,), False))
        elif sub.startswith("account:"):
            for u in _accounts(session, username=[sub.removeprefix("account:")]):
                out.setdefault(sub, _account(u))
    return list(out.values())


def _local(iso: str | None) -> str:
    if not iso:
        return "—"
    return datetime.fromisoformat(iso).astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")


def render(session: Session, event: DomainEvent) -> tuple[str, str]:
    """The Chinese title and body of ``event`` (from ``labels.NOTIFY_TEMPLATES``).

    Units are named by their name; people by title only (the payload holds no names).
    """
    title, body = NOTIFY_TEMPLATES[event.kind]
    p = event.payload
    unit = session.scalar(select(Unit.name).where(Unit.key == p["unit"])) if p.get("unit") else None
    facts: defaultdict[str, Any] = defaultdict(lambda: "—", p)
    facts["unit"] = unit or p.get("unit") or "—"
    facts["deadline"] = _local(p.get("deadline"))
    return title, body.format_map(facts)


def _rows(session: Session, event: DomainEvent, now: datetime) -> Iterable[OutboxMessage]:
    title, body = render(session, event)
    people = recipients(session, event)
    names = {n for r in people for n in r.names}
    subs = [
        (s.subscriber, s.event_kind, s.channel, s.enabled)
        for s in session.scalars(select(Subscription).where(Subscription.subscriber.in_(names)))
    ]
    contacts: defaultdict[str, list[Contact]] = defaultdict(list)
    for c in session.scalars(
        select(Contact)
        .where(Contact.owner.in_([r.name for r in people]), Contact.enabled.is_(True))
        .order_by(Contact.id)
    ):
        contacts[c.owner].append(c)
    for r in people:
        targets: list[tuple[str, str | None]] = [("in_app", None)] if r.in_app else []
        targets += [(c.channel, c.address) for c in contacts[r.name]]
        for channel, address in targets:
            if best_choice(subs, list(r.names), event.kind, channel) is False:
                continue
            yield OutboxMessage(
                key=message_key(event.id, r.name, channel, address),
                event_id=event.id,
                event_kind=event.kind,
                subject=f"{event.subject_kind}:{event.subject_key}",
                recipient=r.name,
                channel=channel,
                address=address,
                title=title,
                body=body,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )


def expand_pending(session: Session, now: datetime, *, limit: int = 100) -> int:
    """Expand up to ``limit`` unexpanded events into outbox rows; return how many rows.

    The caller commits (the claim and the rows go together).
    """
    ids = list(
        session.scalars(
            select(DomainEvent.id)
            .where(DomainEvent.expanded_at.is_(None))
            .order_by(DomainEvent.id)
            .limit(limit)
        )
    )
    added = 0
    for event_id in ids:
        claimed = session.execute(
            update(DomainEvent)
            .where(DomainEvent.id == event_id, DomainEvent.expanded_at.is_(None))
            .values(expanded_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            continue  # another worker has it
        event = session.get(DomainEvent, event_id)
        assert event is not None
        for row in _rows(session, event, now):
            session.add(row)
            added += 1
    session.flush()
    return added
