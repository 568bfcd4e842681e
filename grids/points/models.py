"""Tables of point inspections (实地检查): one row per inspection, one per checklist item.

The register itself (:class:`~civgrid.grids.boundaries.models.AssessmentPoint`) lives
with the other places in ``boundaries``, so routing can snap reports to it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civgrid.grids.boundaries.models import AssessmentPoint
from civgrid.grids.core.db import Base
from civgrid.grids.core.types import UTCDateTime

__all__ = ["PointInspection", "PointInspectionItem"]


class PointInspection(Base):
    """One inspection of a point against its type's checklist (``point_inspection``).

    ``standard_from`` is the ``effective_from`` of the standards version used and
    ``point_type`` the type inspected; ``inspector`` is who inspected (an account's
    login or a title, never a name); ``inspected_at`` UTC; ``lon``/``lat`` the GPS
    fix (WGS84 degrees) with its ``accuracy_m`` (metres). ``compliant`` and
    ``deductions`` are the verdict computed from the items (达标 when no must-pass
    item fails and the deductions stay below the type's threshold).
    ``idempotency_key`` (namespaced by the sender) makes a resend return the first.
    """

    __tablename__ = "point_inspections"
    __table_args__ = (Index("ix_point_inspections_point_at", "point_id", "inspected_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    point_id: Mapped[int] = mapped_column(
        ForeignKey("assessment_points.id", ondelete="CASCADE"), nullable=False
    )
    standard_from: Mapped[date] = mapped_column(Date, nullable=False)
    point_type: Mapped[str] = mapped_column(String(32), nullable=False)
    inspector: Mapped[str] = mapped_column(String(100), nullable=False)
    inspected_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    compliant: Mapped[bool] = mapped_column(Boolean, nullable=False)
    deductions: Mapped[float] = mapped_column(Float, nullable=False)
    idempotency_key: Mapped[str | None] = mapped_column(String(320), unique=True)

    point: Mapped[AssessmentPoint] = relationship()
    items: Mapped[list[PointInspectionItem]] = relationship(
        back_populates="inspection",
        cascade="all, delete-orphan",
        order_by="PointInspectionItem.id",
    )


class PointInspectionItem(Base):
    """The mark of one checklist item in an inspection: pass/fail, note, photos, issue.

    ``photos`` are the stored photo references (``{"sha256", "name"}``); ``issue_id``
    is the issue a failed item opened or kept open (None when it passed and nothing
    was open).
    """

    __tablename__ = "point_inspection_items"
    __table_args__ = (
        UniqueConstraint("inspection_id", "item_code", name="uq_point_inspection_items_item"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inspection_id: Mapped[int] = mapped_column(
        ForeignKey("point_inspections.id", ondelete="CASCADE"), nullable=False
    )
    item_code: Mapped[str] = mapped_column(String(32), nullable=False)
    passed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    photos: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    issue_id: Mapped[int | None] = mapped_column(
        ForeignKey("issues.id", ondelete="SET NULL"), index=True
    )

    inspection: Mapped[PointInspection] = relationship(back_populates="items")
