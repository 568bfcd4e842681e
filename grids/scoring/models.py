"""ORM models of scoring (考核): frozen bulletins and accountability cases with history.

* :class:`Bulletin` — a published 通报 (monthly or quarterly), stored as issued:
  its JSON content, the xlsx bytes and their SHA-256, the profile and the
  ``effective_from`` of the rules used. ``(kind, period)`` is unique: a period
  is published once and never recomputed.
* :class:`AccountabilityCase` — a tripped trigger (问责情形) for one unit in one
  period: rule, facts, issues, the leader answering for the unit, status
  ``open`` → ``closed``. ``(profile, rule_id, level, unit_code, period)`` is
  unique, so re-evaluating never opens duplicates.
* :class:`CaseEvent` — the append-only history of a case (opened, 约谈
  ``interview``, 通报批评 ``public_criticism``, 问责 ``referral``, ``note``, ``close``,
  限期整改 ``rectify_order``, 整改到位 ``rectified``).

* :class:`PairingWork` — the 联建 work points of a civilized (pairing) unit in a
  period, as its paired community reports them (004: “县直单位参与联建工作情况由社区提供”);
  one record per unit and period, replaced (and audited) when entered again.
* :class:`ScoreAdjustment` — a recorded adjustment of a period's result (年总评: provincial
  or city feedback, 领导批示, 县指挥部通报, media, complaints): subject (level and code),
  points, reason and source document.

A case carries the ``citation`` of its rule; a manual case (``origin='manual'``,
opened by the command center for what the data cannot show) its ``evidence``; a case
under a profile's ``rectify_days`` opens as 限期整改 with ``due_at`` and is referred
(``referred_at``) only when the window passes unrectified.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civgrid.grids.core.db import Base
from civgrid.grids.core.types import UTCDateTime

__all__ = ["AccountabilityCase", "Bulletin", "CaseEvent", "PairingWork", "ScoreAdjustment"]

#: Bulletin kinds: 月通报, 季度考评, 半年考评 (other-task units), 年度总评.
BULLETIN_KINDS = ("monthly", "quarterly", "half_yearly", "annual")


class Bulletin(Base):
    """A published bulletin (通报), frozen as issued."""

    __tablename__ = "score_bulletins"
    __table_args__ = (
        UniqueConstraint("kind", "period", name="uq_score_bulletins_kind_period"),
        UniqueConstraint("number", name="uq_score_bulletins_number"),
        CheckConstraint(
            "kind IN ('monthly', 'quarterly', 'half_yearly', 'annual')", name="kind_known"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    period: Mapped[str] = mapped_column(String(16), nullable=False)
    number: Mapped[str] = mapped_column(String(64), nullable=False)
    profile: Mapped[str] = mapped_column(String(32), nullable=False)
    rules_effective_from: Mapped[str] = mapped_column(String(10), nullable=False)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    issued_by: Mapped[str] = mapped_column(String(200), nullable=False)
    content: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    xlsx: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)


class AccountabilityCase(Base):
    """An accountability case (问责) opened by a tripped trigger."""

    __tablename__ = "accountability_cases"
    __table_args__ = (
        UniqueConstraint(
            "profile",
            "rule_id",
            "level",
            "unit_code",
            "period",
            name="uq_accountability_cases_trigger",
        ),
        CheckConstraint("status IN ('open', 'closed')", name="status_known"),
        CheckConstraint("origin IN ('trigger', 'manual')", name="origin_known"),
        Index("ix_accountability_cases_status", "status"),
        Index("ix_accountability_cases_unit", "level", "unit_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile: Mapped[str] = mapped_column(String(32), nullable=False)
    rule_id: Mapped[str] = mapped_column(String(64), nullable=False)
    rule_label: Mapped[str] = mapped_column(String(500), nullable=False)
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    level: Mapped[str] = mapped_column(String(16), nullable=False)
    unit_code: Mapped[str] = mapped_column(String(32), nullable=False)
    unit_name: Mapped[str] = mapped_column(String(200), nullable=False)
    leader_key: Mapped[str | None] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(16), nullable=False)
    facts: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    issue_ids: Mapped[list[int]] = mapped_column(JSON, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    close_note: Mapped[str | None] = mapped_column(Text)
    #: The notice clause the case rests on, quoted (and the local choice, if any).
    citation: Mapped[str | None] = mapped_column(Text)
    #: ``trigger`` (opened by a tripped trigger) or ``manual`` (by the command center).
    origin: Mapped[str] = mapped_column(
        String(16), nullable=False, default="trigger", server_default="trigger"
    )
    #: Evidence of a manual case: ``[{"name", "ref", "note"}]`` (file names or links).
    evidence: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    #: End of the rectification window (限期整改) before a referral (Shaoxing).
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: When the case was referred after its window passed unrectified.
    referred_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id", cascade="all, delete-orphan"
    )


class CaseEvent(Base):
    """One entry of a case's history."""

    __tablename__ = "accountability_case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("accountability_cases.id", ondelete="CASCADE"), nullable=False, index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    actor_who: Mapped[str] = mapped_column(String(200), nullable=False)
    actor_role: Mapped[str] = mapped_column(String(32), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)

    case: Mapped[AccountabilityCase] = relationship(back_populates="events")


class PairingWork(Base):
    """联建 work points of a civilized (pairing) unit in one period (see the module doc)."""

    __tablename__ = "score_pairing_work"
    __table_args__ = (
        UniqueConstraint("unit_key", "period", name="uq_score_pairing_work_unit_period"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_key: Mapped[str] = mapped_column(String(32), nullable=False)
    period: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    points: Mapped[float] = mapped_column(Float, nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(200), nullable=False)


class ScoreAdjustment(Base):
    """A recorded adjustment of one unit's result of a period (see the module doc)."""

    __tablename__ = "score_adjustments"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('provincial_feedback', 'city_feedback', 'leader_instruction', "
            "'command_notice', 'media', 'complaint')",
            name="kind_known",
        ),
        Index("ix_score_adjustments_period", "period", "level"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[str] = mapped_column(String(16), nullable=False)
    level: Mapped[str] = mapped_column(String(16), nullable=False)
    code: Mapped[str] = mapped_column(String(32), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    points: Mapped[float] = mapped_column(Float, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    #: Where it comes from: the feedback document, the 批示, the report (no names).
    source: Mapped[str] = mapped_column(String(200), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(200), nullable=False)
