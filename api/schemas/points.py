"""Models of the assessment-point API (测评点位): points, status, inspections."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from civgrid.grids.core import labels as zh

__all__ = [
    "InspectionIn",
    "InspectionItemIn",
    "InspectionOut",
    "PointDetailOut",
    "PointListOut",
    "PointOut",
    "PointStatusOut",
]


class PointStatusOut(BaseModel):
    """One inspection's verdict: 达标 / 不达标 / 未检, when, what failed."""

    code: str
    compliance: str = Field(description="compliant, non_compliant or uninspected")
    compliance_label: str
    last_inspected_at: datetime | None
    failed: list[str]
    deductions: float | None
    inspection_id: int | None


class PointOut(PointStatusOut):
    """A point of the register with its current status."""

    name: str
    point_type: str
    point_type_label: str
    township_code: str | None
    community_code: str | None
    responsible_unit_key: str
    responsible_unit_name: str
    point_chief: str | None = Field(description="The point chief (点位长), by title")
    must_check: bool
    key_site_code: str | None
    radius_m: float | None
    compliance_color: str


class PointListOut(BaseModel):
    """Points visible to the caller (a unit handler its own, a leader those in its areas)."""

    count: int
    points: list[PointOut]


class ChecklistItemOut(BaseModel):
    """An item of the point's checklist (the standards in force)."""

    code: str
    text: str
    family: str
    must_pass: bool
    deduction: float
    photo_on_fail: bool
    category: str


class PointDetailOut(BaseModel):
    """A point, its checklist and its inspection history (newest first)."""

    point: PointOut
    checklist: list[ChecklistItemOut]
    history: list[PointStatusOut]


class InspectionItemIn(BaseModel):
    """One checklist item's mark; ``photos``: indexes of the uploaded files (multipart)."""

    code: str = Field(min_length=1, max_length=32)
    passed: bool
    note: str | None = Field(None, max_length=2000)
    photos: list[int] = Field(default_factory=list)


class InspectionIn(BaseModel):
    """An inspection: every checklist item, time and GPS fix (WGS84 degrees, metres)."""

    items: list[InspectionItemIn] = Field(min_length=1)
    inspected_at: datetime | None = None
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    accuracy_m: float | None = Field(None, ge=0)


class InspectionOut(BaseModel):
    """The stored inspection and what it did to the items' issues."""

    inspection_id: int
    point: str
    compliant: bool
    compliance_label: str
    deductions: float
    opened: list[int]
    kept_open: list[int]
    closed: list[int]
    returned: list[int]
    awaiting_fix: list[int]

    @classmethod
    def of(cls, r: Any, code: str) -> InspectionOut:
        """From an :class:`~civgrid.grids.points.inspections.InspectionResult`."""
        i = r.inspection
        return cls(
            inspection_id=i.id,
            point=code,
            compliant=i.compliant,
            compliance_label=zh.POINT_COMPLIANCE_LABELS[
                "compliant" if i.compliant else "non_compliant"
            ],
            deductions=i.deductions,
            opened=r.opened,
            kept_open=r.kept_open,
            closed=r.closed,
            returned=r.returned,
            awaiting_fix=r.awaiting_fix,
        )
