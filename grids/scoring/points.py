"""Field points (实地考察点位) in scores and bulletins: the month's point results.

004 (Sheqi) 二、（三）1: "每月按照三分之一左右的比例对社区（行政村）网格和实地考察点位进行抽查，
根据任务完成情况和日常督查情况进行量化打分，进行月通报" — the monthly bulletin samples
field points besides community grids. A point inspected in a period is scored by its
**last inspection in the period** (a local choice: the standing the bulletin reports;
compliance uses the latest inspection the same way); how it weighs in a unit's score is
the profile's :class:`~civgrid.grids.scoring.rules.PointsRule`.

The pure part (:class:`~civgrid.grids.scoring.score.PointRecord`,
:func:`~civgrid.grids.scoring.score.period_points`,
:func:`~civgrid.grids.scoring.score.point_items` in the pure core, and
:func:`points_section` here) takes plain records, so bulletins can be worked out by
hand; :func:`point_records` reads them from the database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from civgrid.grids.boundaries.models import AssessmentPoint
from civgrid.grids.core.errors import NotFoundError
from civgrid.grids.points.mock import point_score
from civgrid.grids.points.models import PointInspection
from civgrid.grids.scoring.score import (
    PointRecord,
    period_points,
    point_items,
    sampled_by_points,
)

__all__ = [
    "PointRecord",
    "period_points",
    "point_items",
    "point_records",
    "points_section",
    "sampled_by_points",
]


def _rate(passed: int, n: int) -> float | None:
    return round(100.0 * passed / n, 1) if n else None


def points_section(
    points: Sequence[PointRecord], type_labels: Sequence[tuple[str, str]] = (), worst: int = 5
) -> dict[str, Any]:
    """The bulletin's points section from a period's point results (:func:`period_points`).

    Per type: points inspected, passed (达标) and the pass rate (达标率, % to one
    decimal); the failing points (不达标) grouped by responsible unit with their failed
    items; the ``worst`` lowest-scoring points; the items that failed most often.

    ``type_labels`` lists the standards' types (code, label) in order, so a type
    without an inspection shows as 0 inspected.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> at = datetime(2026, 10, 3, tzinfo=UTC)
    >>> ps = [PointRecord("P1", "甲", "market", "农贸市场", at, 100, True),
    ...       PointRecord("P2", "乙", "market", "农贸市场", at, 0, False, failed=(("M-2", "秤"),),
    ...                   unit_key="D1", unit_name="县市场监督管理局")]
    >>> s = points_section(ps)
    >>> s["by_type"][0]["pass_rate"], s["failing_by_unit"][0]["points"][0]["code"]
    (50.0, 'P2')
    """
    labels = dict(type_labels)
    for p in points:
        labels.setdefault(p.point_type, p.type_label)
    by_type = []
    for code, label in labels.items():
        mine = [p for p in points if p.point_type == code]
        passed = sum(1 for p in mine if p.compliant)
        by_type.append(
            {
                "point_type": code,
                "label": label,
                "inspected": len(mine),
                "passed": passed,
                "failed": len(mine) - passed,
                "pass_rate": _rate(passed, len(mine)),
            }
        )

    def row(p: PointRecord) -> dict[str, Any]:
        return {
            "code": p.code,
            "name": p.name,
            "point_type": p.point_type,
            "type_label": p.type_label,
            "must_check": p.must_check,
            "community_code": p.community_code,
            "unit_key": p.unit_key,
            "unit_name": p.unit_name,
            "score": p.score,
            "compliant": p.compliant,
            "inspected_at": p.inspected_at.isoformat(),
            "failed_items": [{"code": c, "text": t} for c, t in p.failed],
        }

    units: dict[str, list[PointRecord]] = defaultdict(list)
    for p in points:
        if not p.compliant:
            units[p.unit_key or ""].append(p)
    failing = [
        {
            "unit_key": key or None,
            "unit_name": ps[0].unit_name or key,
            "points": [row(p) for p in sorted(ps, key=lambda x: (x.score, x.code))],
        }
        for key, ps in sorted(units.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    ]
    items: dict[tuple[str, str], int] = defaultdict(int)
    for p in points:
        for it in p.failed:
            items[it] += 1
    passed = sum(1 for p in points if p.compliant)
    return {
        "inspected": len(points),
        "passed": passed,
        "failed": len(points) - passed,
        "pass_rate": _rate(passed, len(points)),
        "by_type": by_type,
        "failing_by_unit": failing,
        "worst": [row(p) for p in sorted(points, key=lambda x: (x.score, x.code))[:worst]],
        "failed_items": [
            {"code": c, "text": t, "count": n}
            for (c, t), n in sorted(items.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
    }


def point_records(
    session: Session, standards: Any, before: datetime | None = None
) -> tuple[list[PointRecord], list[tuple[str, str]]]:
    """Every point inspection (before ``before``) as a :class:`PointRecord`, with the
    (code, label) of the point types of the current city's latest standards.

    Each inspection is scored against its type's checklist in the standards version
    it was made under (``standard_from``); an inspection whose version or type the
    standards no longer hold is scored by its verdict alone (100 达标, else 0 — a
    local fallback). ``standards`` is a
    :class:`~civgrid.grids.points.standards.StandardsRegistry`; without standards for
    the city, there are no point records.
    """
    try:
        versions = {v.effective_from: v for v in standards.standards(None).versions}
    except NotFoundError:
        return [], []
    q = (
        select(PointInspection)
        .options(
            selectinload(PointInspection.items),
            joinedload(PointInspection.point).joinedload(AssessmentPoint.responsible_unit),
        )
        .order_by(PointInspection.id)
    )
    if before is not None:
        q = q.where(PointInspection.inspected_at < before)
    out = []
    latest = versions[max(versions)] if versions else None
    for insp in session.scalars(q):
        p = insp.point
        version = versions.get(insp.standard_from)
        types = version.types if version is not None else []
        ptype = next((t for t in types if t.code == insp.point_type), None)
        failed_codes = [i.item_code for i in insp.items if not i.passed]
        if ptype is not None:
            by_code = {it.code: it for it in ptype.items}
            failed_items = [by_code[c] for c in failed_codes if c in by_code]
            score, _ = point_score(failed_items, ptype.items)
            failed = tuple((it.code, it.text) for it in failed_items)
            label = ptype.label
        else:
            score = 100.0 if insp.compliant else 0.0
            failed = tuple((c, c) for c in failed_codes)
            label = insp.point_type
        out.append(
            PointRecord(
                code=p.code,
                name=p.name,
                point_type=insp.point_type,
                type_label=label,
                inspected_at=insp.inspected_at,
                score=round(score, 4),
                compliant=insp.compliant,
                must_check=p.must_check,
                failed=failed,
                community_code=p.community_code,
                township_code=p.township_code,
                unit_key=p.responsible_unit.key,
                unit_name=p.responsible_unit.name,
                inspection_id=insp.id,
            )
        )
    types = [(t.code, t.label) for t in latest.types] if latest is not None else []
    return out, types
