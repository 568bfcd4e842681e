"""A point's compliance (达标 / 不达标 / 未检) and its inspection history.

The status is the verdict of the point's latest inspection (``compliant`` /
``non_compliant``), ``uninspected`` without one; with it come the date of that
inspection and the items that failed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from civgrid.grids.boundaries.models import AssessmentPoint
from civgrid.grids.core import labels as zh
from civgrid.grids.points.models import PointInspection

__all__ = ["PointStatus", "history", "statuses"]


@dataclass(frozen=True)
class PointStatus:
    """The status of one point: ``compliance``, the last inspection, what failed."""

    code: str
    compliance: str
    last_inspected_at: datetime | None
    failed: tuple[str, ...]
    deductions: float | None
    inspection_id: int | None

    @property
    def label(self) -> str:
        """达标 / 不达标 / 未检."""
        return zh.POINT_COMPLIANCE_LABELS[self.compliance]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return {
            "code": self.code,
            "compliance": self.compliance,
            "compliance_label": self.label,
            "last_inspected_at": self.last_inspected_at.isoformat()
            if self.last_inspected_at
            else None,
            "failed": list(self.failed),
            "deductions": self.deductions,
            "inspection_id": self.inspection_id,
        }


def _status(code: str, insp: PointInspection | None) -> PointStatus:
    if insp is None:
        return PointStatus(code, "uninspected", None, (), None, None)
    failed = tuple(i.item_code for i in insp.items if not i.passed)
    return PointStatus(
        code,
        "compliant" if insp.compliant else "non_compliant",
        insp.inspected_at,
        failed,
        insp.deductions,
        insp.id,
    )


def statuses(session: Session, points: Iterable[AssessmentPoint]) -> dict[str, PointStatus]:
    """Code → status of each of ``points`` (its latest inspection decides)."""
    pts = list(points)
    ids = [p.id for p in pts]
    latest: dict[int, PointInspection] = {}
    if ids:
        last = (
            select(PointInspection.point_id, func.max(PointInspection.inspected_at).label("at"))
            .where(PointInspection.point_id.in_(ids))
            .group_by(PointInspection.point_id)
            .subquery()
        )
        rows = session.scalars(
            select(PointInspection)
            .join(
                last,
                (last.c.point_id == PointInspection.point_id)
                & (last.c.at == PointInspection.inspected_at),
            )
            .options(selectinload(PointInspection.items))
            .order_by(PointInspection.id)
        )
        for r in rows:
            latest[r.point_id] = r  # the last id wins a tie in time
    return {p.code: _status(p.code, latest.get(p.id)) for p in pts}


def history(session: Session, point: AssessmentPoint) -> list[PointStatus]:
    """Every inspection of ``point`` as a status, newest first."""
    rows = session.scalars(
        select(PointInspection)
        .where(PointInspection.point_id == point.id)
        .options(selectinload(PointInspection.items))
        .order_by(PointInspection.inspected_at.desc(), PointInspection.id.desc())
    )
    return [_status(point.code, r) for r in rows]


def latest_results(session: Session, version: Any) -> list[Any]:
    """The inspected points as :class:`~civgrid.grids.points.mock.PointResult` rows.

    Each point's latest inspection, scored with :func:`~civgrid.grids.points.mock.point_score`
    against its type's checklist in ``version`` (a ``StandardVersion``); points never
    inspected, or of a type the version lacks, are left out.
    """
    from civgrid.grids.points.mock import PointResult, point_score

    points = list(session.scalars(select(AssessmentPoint).order_by(AssessmentPoint.code)))
    st = statuses(session, points)
    types = {t.code: t for t in version.types}
    out = []
    for p in points:
        s = st[p.code]
        t = types.get(p.point_type)
        if s.compliance == "uninspected" or t is None:
            continue
        failed = [it for it in t.items if it.code in s.failed]
        score, lost = point_score(failed, t.items)
        out.append(PointResult(p.code, p.point_type, p.must_check, score, lost))
    return out
