"""The append-only audit log (操作日志): who, role, when, what, before/after.

Every write through the API appends one :class:`~civgrid.grids.accounts.models.AuditRecord`
(issue events, user changes, imports, later patrol/scoring writes). Records are
never updated or deleted (the ORM refuses), except by :func:`purge`, which removes
only records older than the retention period and refuses a period shorter than
180 days (等保 2.0: audit records kept at least six months).

Examples
--------
>>> from civgrid.grids.core.actors import Actor
>>> rec = record_values(Actor("调度员", "command_center"), "issue.dispatch", "issue", 7,
...                     before={"state": "triage"}, after={"state": "assigned"})
>>> rec["object_key"], rec["actor_role"]
('7', 'command_center')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, delete, event, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from civgrid.grids.core.actors import Actor
from civgrid.grids.core.db import Base
from civgrid.grids.core.errors import DomainError, InvalidInputError
from civgrid.grids.core.types import UTCDateTime

__all__ = [
    "MIN_RETENTION_DAYS",
    "AuditQuery",
    "AuditRecord",
    "purge",
    "query",
    "record",
    "record_values",
]

#: The shortest retention allowed (six months).
MIN_RETENTION_DAYS = 180
#: Keys never written to the log, whatever the caller passes.
_SECRET_KEYS = {"password", "password_hash", "new_password", "token", "access_token"}


def _clean(data: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if data is None:
        return None
    return {k: ("***" if k in _SECRET_KEYS else v) for k, v in data.items()}


def record_values(
    actor: Actor,
    action: str,
    object_kind: str,
    object_key: Any = None,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    note: str | None = None,
    client: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """The column values of one audit record (secrets masked)."""
    role = actor.account_role or actor.role.value
    return {
        "at": at or datetime.now(UTC),
        "actor_who": actor.who,
        "actor_role": role,
        "actor_unit_key": actor.unit,
        "action": action,
        "object_kind": object_kind,
        "object_key": None if object_key is None else str(object_key),
        "before": _clean(before),
        "after": _clean(after),
        "note": note,
        "client": client,
    }


def record(
    session: Session, actor: Actor, action: str, object_kind: str, object_key: Any = None, **kw: Any
) -> AuditRecord:
    """Append one record (flushed with the caller's transaction, never committed here).

    Parameters
    ----------
    session : Session
    actor : Actor
        Who (name, role, unit).
    action : str
        What, e.g. ``issue.accept``, ``user.disable``, ``import.boundaries``.
    object_kind, object_key
        The object changed.
    before, after : mapping, optional
        The relevant fields before and after the change.
    note, client, at : optional
    """
    rec = AuditRecord(**record_values(actor, action, object_kind, object_key, **kw))
    session.add(rec)
    return rec


@dataclass
class AuditQuery:
    """Filters of :func:`query` (AND); times are aware datetimes."""

    who: str | None = None
    action: str | None = None
    object_kind: str | None = None
    object_key: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    offset: int = 0


def query(session: Session, q: AuditQuery | None = None) -> tuple[list[AuditRecord], int]:
    """Records matching ``q``, newest first, and the total count."""
    q = q or AuditQuery()
    if not (1 <= q.limit <= 1000) or q.offset < 0:
        raise InvalidInputError("limit must be 1–1000 and offset >= 0", field="limit")
    conds: list[Any] = []
    if q.who:
        conds.append(AuditRecord.actor_who == q.who)
    if q.action:
        conds.append(AuditRecord.action.startswith(q.action))
    if q.object_kind:
        conds.append(AuditRecord.object_kind == q.object_kind)
    if q.object_key:
        conds.append(AuditRecord.object_key == q.object_key)
    if q.since:
        conds.append(AuditRecord.at >= q.since)
    if q.until:
        conds.append(AuditRecord.at < q.until)
    total = session.scalar(select(func.count()).select_from(AuditRecord).where(*conds)) or 0
    rows = session.scalars(
        select(AuditRecord)
        .where(*conds)
        .order_by(AuditRecord.at.desc(), AuditRecord.id.desc())
        .limit(q.limit)
        .offset(q.offset)
    ).all()
    return list(rows), int(total)


def purge(session: Session, retention_days: int, *, now: datetime | None = None) -> int:
    """Delete records older than ``retention_days`` (the only deletion allowed).

    Raises
    ------
    InvalidInputError
        ``retention_days`` below :data:`MIN_RETENTION_DAYS`.
    """
    if retention_days < MIN_RETENTION_DAYS:
        raise InvalidInputError(
            f"audit records are kept at least {MIN_RETENTION_DAYS} days; "
            f"refusing to purge with a retention of {retention_days} days",
            field="retention_days",
        )
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    # a bulk DELETE bypasses the ORM's append-only hooks on purpose: this is the purge
    result = session.execute(delete(AuditRecord).where(AuditRecord.at < cutoff))
    return int(result.rowcount or 0)


def to_dict(rec: AuditRecord) -> dict[str, Any]:
    """JSON-friendly dict of a record."""
    return {
        "id": rec.id,
        "at": rec.at,
        "who": rec.actor_who,
        "role": rec.actor_role,
        "unit": rec.actor_unit_key,
        "action": rec.action,
        "object_kind": rec.object_kind,
        "object_key": rec.object_key,
        "before": rec.before,
        "after": rec.after,
        "note": rec.note,
        "client": rec.client,
    }


class AuditRecord(Base):
    """One entry of the append-only audit log (操作日志)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_object", "object_kind", "object_key"),
        Index("ix_audit_log_actor", "actor_who"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    actor_who: Mapped[str] = mapped_column(String(200), nullable=False)
    actor_role: Mapped[str] = mapped_column(String(32), nullable=False)
    actor_unit_key: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    object_kind: Mapped[str] = mapped_column(String(32), nullable=False)
    object_key: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    client: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"<AuditRecord {self.id} {self.actor_who} {self.action} {self.object_kind}>"


@event.listens_for(AuditRecord, "before_update")
def _no_update(_mapper: Any, _conn: Any, target: AuditRecord) -> None:
    raise DomainError("the audit log is append-only", kind="audit_record", key=target.id)


@event.listens_for(AuditRecord, "before_delete")
def _no_delete(_mapper: Any, _conn: Any, target: AuditRecord) -> None:
    raise DomainError("the audit log is append-only", kind="audit_record", key=target.id)
