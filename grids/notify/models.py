"""ORM models of notifications: contacts, subscriptions, the outbox and delivery attempts.

* :class:`Contact` — where a unit or an account is reached on a channel (an e-mail
  address, a robot webhook and its signing secret, a mobile number). Stored per
  unit or account, never in the demo data.
* :class:`Subscription` — a preference that turns an event kind on or off for a
  subscriber (``unit:<key>``, ``account:<username>``, ``role:<role>``) on a channel
  (``*`` for any); without one the defaults of
  :mod:`civgrid.grids.notify.audience` apply.
* :class:`OutboxMessage` — one message per (event, recipient, channel, address), by
  a unique ``key``; ``message_id`` is derived from it and stays the same on every
  retry, so a receiver can deduplicate. In-app messages are read from here
  (``read_at``).
* :class:`DeliveryAttempt` — every attempt, with the worker and the error.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from civgrid.grids.core.db import Base
from civgrid.grids.core.types import UTCDateTime

__all__ = ["Contact", "DeliveryAttempt", "OutboxMessage", "Subscription"]


class Contact(Base):
    """Where ``owner`` (``unit:<key>`` or ``account:<username>``) is reached on ``channel``."""

    __tablename__ = "notify_contacts"
    __table_args__ = (UniqueConstraint("owner", "channel", "address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(100), nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    address: Mapped[str] = mapped_column(String(500), nullable=False)
    secret: Mapped[str | None] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class Subscription(Base):
    """A subscriber's choice for an event kind (or ``*``) on a channel (or ``*``)."""

    __tablename__ = "notify_subscriptions"
    __table_args__ = (UniqueConstraint("subscriber", "event_kind", "channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscriber: Mapped[str] = mapped_column(String(100), nullable=False)
    event_kind: Mapped[str] = mapped_column(String(48), nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False)


class OutboxMessage(Base):
    """One message to one recipient on one channel; claimed, sent and retried by workers."""

    __tablename__ = "notify_outbox"
    __table_args__ = (
        Index("ix_notify_outbox_due", "status", "next_attempt_at"),
        Index("ix_notify_outbox_recipient", "recipient", "channel", "read_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("domain_events.id", ondelete="CASCADE"), nullable=False, index=True
    )
    event_kind: Mapped[str] = mapped_column(String(48), nullable=False)
    subject: Mapped[str] = mapped_column(String(64), nullable=False)
    recipient: Mapped[str] = mapped_column(String(100), nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    address: Mapped[str | None] = mapped_column(String(500))
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    #: pending → sending → sent; failed attempts go back to pending until ``dead``.
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    claim_token: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def message_id(self) -> str:
        """The stable id a receiver deduplicates on (the same on every retry)."""
        return f"{self.key}@civgrid"


class DeliveryAttempt(Base):
    """One attempt to deliver an outbox message."""

    __tablename__ = "notify_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(
        ForeignKey("notify_outbox.id", ondelete="CASCADE"), nullable=False, index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    worker: Mapped[str] = mapped_column(String(64), nullable=False)
    ok: Mapped[bool] = mapped_column(Boolean, nullable=False)
    error: Mapped[str | None] = mapped_column(Text)
