"""The delivery worker: expand events, claim due outbox rows, send, record every attempt.

Several workers may run at once (``civgrid notify run`` processes, the background task
of ``civgrid serve``). A worker *claims* rows before it sends them: it sets
``status = 'sending'``, a fresh ``claim_token`` and a lease, and commits.

* PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` picks rows no other worker holds,
  then the same transaction marks them.
* SQLite: one atomic ``UPDATE … WHERE id IN (SELECT … LIMIT n) AND status …`` (SQLite
  runs one writer at a time), then the worker reads back the rows with its token.

Sending happens outside any transaction; the bookkeeping afterwards (sent, or failed
with the next attempt time) only touches a row still holding the worker's token.
A worker killed between sending and its bookkeeping leaves the row ``sending``; when
its lease runs out, another worker claims it and sends it once more — at most one
duplicate, with the same message id (delivery is at least once).

Failures are retried with exponential backoff (``backoff_s`` · 2^(attempt−1), at most
``backoff_max_s``); after ``max_attempts`` the row is ``dead`` and a
``delivery_failed`` event tells the command center. Quiet hours move a held message
to the end of the quiet period without counting an attempt.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, and_, or_, select, update
from sqlalchemy.orm import Session

from civgrid.grids.core.outbox import DomainEvent, publish
from civgrid.grids.notify.audience import QuietHours
from civgrid.grids.notify.channels import Channel, DeliveryError, InAppChannel, Outgoing
from civgrid.grids.notify.expand import expand_pending
from civgrid.grids.notify.models import Contact, DeliveryAttempt, OutboxMessage

__all__ = ["NotifyConfig", "Worker", "WorkerReport", "backoff"]

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class NotifyConfig:
    """Retry, lease and batch settings (local choices), quiet hours and the clock."""

    max_attempts: int = 6
    backoff_s: float = 30.0
    backoff_max_s: float = 3600.0
    lease_s: float = 300.0
    batch: int = 50
    quiet: QuietHours = field(default_factory=QuietHours)
    clock: Callable[[], datetime] = _utcnow


def backoff(cfg: NotifyConfig, attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt.

    >>> [backoff(NotifyConfig(), n).total_seconds() for n in (1, 2, 3)]
    [30.0, 60.0, 120.0]
    >>> backoff(NotifyConfig(), 20).total_seconds()
    3600.0
    """
    return timedelta(seconds=min(cfg.backoff_s * 2 ** (attempts - 1), cfg.backoff_max_s))


@dataclass
class WorkerReport:
    """What one pass did."""

    expanded: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    held: int = 0

    def to_text(self) -> str:
        return (
            f"expanded {self.expanded}, sent {self.sent}, failed {self.failed} "
            f"(given up {self.dead}), held for quiet hours {self.held}"
        )


def _due(now: datetime):
    return or_(
        and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == "sending", OutboxMessage.lease_until < now),
    )


class Worker:
    """One delivery worker over ``engine`` with the configured channel adapters."""

    def __init__(
        self,
        engine: Engine,
        channels: Mapping[str, Channel],
        config: NotifyConfig | None = None,
        name: str | None = None,
    ) -> None:
        self.engine = engine
        self.channels: dict[str, Channel] = {"in_app": InAppChannel(), **channels}
        self.cfg = config or NotifyConfig()
        self.name = name or f"worker-{uuid.uuid4().hex[:8]}"
        self._facts: dict[int, dict] = {}  # event id → payload, of the rows last claimed

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def expand(self) -> int:
        """Expand pending domain events into outbox rows (one transaction)."""
        with self._session() as s, s.begin():
            return expand_pending(s, self.cfg.clock())

    def claim(self) -> tuple[str, list[OutboxMessage]]:
        """Claim up to ``batch`` due rows; return the claim token and the rows."""
        now = self.cfg.clock()
        token = uuid.uuid4().hex
        lease = now + timedelta(seconds=self.cfg.lease_s)
        mark = {"status": "sending", "claim_token": token, "lease_until": lease}
        with self._session() as s, s.begin():
            pick = select(OutboxMessage.id).where(_due(now)).order_by(OutboxMessage.id)
            pick = pick.limit(self.cfg.batch)
            if self.engine.dialect.name == "postgresql":
                ids = list(s.scalars(pick.with_for_update(skip_locked=True)))
                if ids:
                    s.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(**mark))
            else:
                s.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(pick.scalar_subquery()), _due(now))
                    .values(**mark)
                    .execution_options(synchronize_session=False)
                )
            rows = list(
                s.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.claim_token == token)
                    .order_by(OutboxMessage.id)
                )
            )
            facts = {
                e.id: e.payload
                for e in s.scalars(
                    select(DomainEvent).where(DomainEvent.id.in_({r.event_id for r in rows}))
                )
            }
        self._facts = facts
        return token, rows

    def run_once(self) -> WorkerReport:
        """Expand, claim and deliver one batch."""
        report = WorkerReport(expanded=self.expand())
        token, rows = self.claim()
        for row in rows:
            self.deliver(token, row, report)
        return report

    def run_until_idle(self, max_passes: int = 100) -> WorkerReport:
        """Run passes until one finds nothing to do (tests, ``notify run --once``)."""
        total = WorkerReport()
        for _ in range(max_passes):
            r = self.run_once()
            for k in vars(total):
                setattr(total, k, getattr(total, k) + getattr(r, k))
            if not (r.expanded or r.sent or r.failed):
                break
        return total

    def deliver(self, token: str, row: OutboxMessage, report: WorkerReport) -> None:
        """Send one claimed row and record the outcome (held rows go back unchanged)."""
        now = self.cfg.clock()
        held = self.cfg.quiet.held_until(row.event_kind, row.channel, now)
        if held is not None:
            self._release(token, row, held)
            report.held += 1
            return
        channel = self.channels.get(row.channel)
        facts = self._facts.get(row.event_id, {})
        msg = Outgoing(row.message_id, row.address, row.title, row.body, row.event_kind, facts)
        error: str | None = None
        try:
            if channel is None:
                raise DeliveryError(f"channel {row.channel} is not configured")
            msg = self._with_secret(row, msg)
            channel.send(msg)
        except DeliveryError as exc:
            error = str(exc)[:2000]
        self._bookkeep(token, row, error)
        if error is None:
            report.sent += 1
        else:
            report.failed += 1
            if row.attempts + 1 >= self.cfg.max_attempts:
                report.dead += 1

    def _with_secret(self, row: OutboxMessage, msg: Outgoing) -> Outgoing:
        if row.channel != "dingtalk":
            return msg
        with self._session() as s:
            secret = s.scalar(
                select(Contact.secret).where(
                    Contact.owner == row.recipient,
                    Contact.channel == row.channel,
                    Contact.address == row.address,
                )
            )
        return Outgoing(**{**vars(msg), "secret": secret})

    def _release(self, token: str, row: OutboxMessage, at: datetime) -> None:
        with self._session() as s, s.begin():
            s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id, OutboxMessage.claim_token == token)
                .values(
                    status="pending",
                    claim_token=None,
                    lease_until=None,
                    next_attempt_at=at,
                    last_error="quiet hours",
                )
            )

    def _bookkeep(self, token: str, row: OutboxMessage, error: str | None) -> None:
        """Record the attempt and the row's new state (only while the claim is ours)."""
        now = self.cfg.clock()
        attempts = row.attempts + 1
        values: dict = {"attempts": attempts, "claim_token": None, "lease_until": None}
        if error is None:
            values.update(status="sent", sent_at=now, last_error=None)
        elif attempts >= self.cfg.max_attempts:
            values.update(status="dead", last_error=error)
        else:
            values.update(
                status="pending",
                last_error=error,
                next_attempt_at=now + backoff(self.cfg, attempts),
            )
        with self._session() as s, s.begin():
            mine = s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id, OutboxMessage.claim_token == token)
                .values(**values)
            ).rowcount
            s.add(
                DeliveryAttempt(
                    outbox_id=row.id, at=now, worker=self.name, ok=error is None, error=error
                )
            )
            if mine and values["status"] == "dead" and row.event_kind != "delivery_failed":
                publish(
                    s,
                    "delivery_failed",
                    "notify_outbox",
                    row.id,
                    now,
                    {
                        "message": row.message_id,
                        "channel": row.channel,
                        "attempts": attempts,
                        "recipient": row.recipient,
                    },
                )
        if error is not None:
            log.warning("notification %s on %s failed: %s", row.id, row.channel, error)
