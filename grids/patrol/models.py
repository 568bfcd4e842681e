"""ORM models of patrol (巡查): teams, plans, visits, leader visits, GPS tracks, coverage.

* :class:`PatrolTeam` — a supervision team (督查组/督导分队): leader (by key),
  members by role, supervision areas (codes and/or a polygon, WGS84 GeoJSON),
  supervised units (keys), a base (WGS84 lon/lat) and a capacity in visits per
  working day.
* :class:`PatrolPlan` — the plan of one month (``YYYY-MM``), with the settings it
  was computed with and a summary.
* :class:`PatrolVisit` — one planned inspection visit: team, day, target
  (layer + code), kind, priority, reasons, status ``planned``/``done``/``missed``.
* :class:`LeaderVisit` — a leader's own visit: ``office_hours`` (现场办公) or
  ``site_inspection`` (看).
* :class:`PatrolTrack` — an uploaded GPS track (WGS84 after conversion), its
  cleaning report and coverage result. Stored only when the whole upload is valid.
* :class:`VisitIssue` — an issue reported during a visit (link table; the issues
  table is unchanged).

Geometry of tracks is kept as GeoJSON coordinates (WGS84 lon/lat) in JSON: tracks
are only read back whole, never queried spatially.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
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

from civgrid.grids.core.db import Base
from civgrid.grids.core.types import UTCDateTime

__all__ = [
    "LeaderVisit",
    "PatrolPlan",
    "PatrolTeam",
    "PatrolTrack",
    "PatrolVisit",
    "VisitIssue",
]


def _now() -> datetime:
    return datetime.now(UTC)


class PatrolTeam(Base):
    """A supervision team (督查组 / 督导分队)."""

    __tablename__ = "patrol_teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    leader_key: Mapped[str | None] = mapped_column(String(32))
    members: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    area_codes: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    #: Own supervision area (督导范围) drawn as a polygon: a GeoJSON Polygon or
    #: MultiPolygon geometry, WGS84 lon/lat (migration 0410); None: the areas only.
    area_geojson: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    unit_keys: Mapped[list[str] | None] = mapped_column(JSON)
    base_lon: Mapped[float] = mapped_column(Float, nullable=False)
    base_lat: Mapped[float] = mapped_column(Float, nullable=False)
    capacity_per_day: Mapped[int] = mapped_column(Integer, nullable=False, default=4)
    note: Mapped[str | None] = mapped_column(Text)


class PatrolPlan(Base):
    """The patrol plan of one month."""

    __tablename__ = "patrol_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[str] = mapped_column(String(7), unique=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=_now)
    settings: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    visits: Mapped[list[PatrolVisit]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="PatrolVisit.id"
    )


class PatrolVisit(Base):
    """One planned inspection visit of a team."""

    __tablename__ = "patrol_visits"
    __table_args__ = (
        Index("ix_patrol_visits_plan_team_day", "plan_id", "team_key", "day"),
        Index("ix_patrol_visits_target", "target_layer", "target_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        ForeignKey("patrol_plans.id", ondelete="CASCADE"), nullable=False
    )
    team_key: Mapped[str] = mapped_column(String(32), nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    target_layer: Mapped[str] = mapped_column(String(32), nullable=False)
    target_code: Mapped[str] = mapped_column(String(32), nullable=False)
    community_code: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    leader_key: Mapped[str | None] = mapped_column(String(32))
    priority: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    reasons: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="planned")

    plan: Mapped[PatrolPlan] = relationship(back_populates="visits")


class LeaderVisit(Base):
    """A leader's own visit: 现场办公 (``office_hours``) or 看 (``site_inspection``)."""

    __tablename__ = "leader_visits"
    __table_args__ = (Index("ix_leader_visits_leader_day", "leader_key", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    leader_key: Mapped[str] = mapped_column(String(32), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    area_code: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    findings: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=_now)


class PatrolTrack(Base):
    """An uploaded GPS track with its cleaning report and coverage (WGS84)."""

    __tablename__ = "patrol_tracks"
    __table_args__ = (Index("ix_patrol_tracks_team_started", "team_key", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_key: Mapped[str] = mapped_column(String(32), nullable=False)
    filename: Mapped[str | None] = mapped_column(String(300))
    input_crs: Mapped[str] = mapped_column(String(16), nullable=False)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=_now)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    month: Mapped[str | None] = mapped_column(String(7))
    coordinates: Mapped[list[list[float]]] = mapped_column(JSON, nullable=False)
    cleaning: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    coverage: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    uploaded_by: Mapped[str | None] = mapped_column(String(200))


class VisitIssue(Base):
    """An issue reported during a planned visit."""

    __tablename__ = "patrol_visit_issues"
    __table_args__ = (UniqueConstraint("visit_id", "issue_id", name="uq_patrol_visit_issues"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visit_id: Mapped[int] = mapped_column(
        ForeignKey("patrol_visits.id", ondelete="CASCADE"), nullable=False
    )
    issue_id: Mapped[int] = mapped_column(
        ForeignKey("issues.id", ondelete="CASCADE"), nullable=False
    )
