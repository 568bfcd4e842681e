"""The register read back: points with their status, filtered, as rows or GeoJSON.

Used by the API, the compliance layer and the exports. ``visible`` is the caller's
permission check (``Scope.can_see_point``; handed in, since ``points`` sits below
``accounts``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from civgrid.grids.boundaries.models import AssessmentPoint
from civgrid.grids.core import labels as zh
from civgrid.grids.points.compliance import statuses
from civgrid.grids.points.standards import StandardVersion

__all__ = ["point_features", "point_rows"]


def _row(p: AssessmentPoint, status: Any, types: dict[str, str]) -> dict[str, Any]:
    unit = p.responsible_unit
    return {
        "code": p.code,
        "name": p.name,
        "point_type": p.point_type,
        "point_type_label": types.get(p.point_type, p.point_type),
        "township_code": p.township_code,
        "community_code": p.community_code,
        "responsible_unit_key": unit.key,
        "responsible_unit_name": unit.name,
        "point_chief": p.point_chief,
        "must_check": p.must_check,
        "key_site_code": p.key_site_code,
        "radius_m": p.radius_m,
        **status.to_dict(),
        "compliance_color": zh.POINT_COMPLIANCE_COLORS[status.compliance],
    }


def point_rows(
    session: Session,
    standards: StandardVersion | None = None,
    *,
    point_type: str | None = None,
    community: str | None = None,
    unit: str | None = None,
    compliance: str | None = None,
    visible: Callable[[AssessmentPoint], bool] | None = None,
    with_geometry: bool = False,
) -> list[dict[str, Any]]:
    """The points (with their status) the filters and ``visible`` let through, by code.

    ``unit`` is a unit key; ``compliance`` one of ``compliant``, ``non_compliant``,
    ``uninspected``. With ``with_geometry`` each row has ``geometry`` (GeoJSON, WGS84).
    """
    q = select(AssessmentPoint).options(joinedload(AssessmentPoint.responsible_unit))
    if point_type:
        q = q.where(AssessmentPoint.point_type == point_type)
    if community:
        q = q.where(AssessmentPoint.community_code == community)
    points = [
        p
        for p in session.scalars(q.order_by(AssessmentPoint.code))
        if (not unit or p.responsible_unit.key == unit) and (visible is None or visible(p))
    ]
    st = statuses(session, points)
    types = {t.code: t.label for t in standards.types} if standards is not None else {}
    out = []
    for p in points:
        row = _row(p, st[p.code], types)
        if compliance and row["compliance"] != compliance:
            continue
        if with_geometry:
            row["geometry"] = shapely.geometry.mapping(p.geom)
        out.append(row)
    return out


def point_features(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of rows from :func:`point_rows` (``with_geometry``)."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": r["geometry"],
                "properties": {k: v for k, v in r.items() if k != "geometry"},
            }
            for r in rows
        ],
    }


#: Columns of the xlsx export: (row key, Chinese header).
EXPORT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("code", zh.POINT_FIELD_LABELS["code"]),
    ("name", zh.POINT_FIELD_LABELS["name"]),
    ("point_type_label", zh.POINT_FIELD_LABELS["point_type"]),
    ("township_code", zh.LAYER_LABELS["township"]),
    ("community_code", zh.LAYER_LABELS["community"]),
    ("responsible_unit_name", zh.POINT_FIELD_LABELS["responsible_unit"]),
    ("point_chief", zh.POINT_FIELD_LABELS["point_chief"]),
    ("must_check", zh.POINT_FIELD_LABELS["must_check"]),
    ("compliance_label", "状态"),
    ("last_inspected_at", "最近检查"),
    ("failed", "不合格项"),
    ("deductions", "扣分"),
)


def write_points_xlsx(rows: list[dict[str, Any]], path: Any) -> Any:
    """Write rows of :func:`point_rows` as a workbook (one sheet, Chinese headers).

    No cell runs as a formula (:func:`civgrid.grids.core.spreadsheet.values_only`).
    """
    from pathlib import Path

    from openpyxl import Workbook

    from civgrid.grids.core.spreadsheet import values_only

    wb = Workbook()
    ws = wb.active
    ws.title = zh.LAYER_LABELS["assessment_point"]
    ws.append([h for _, h in EXPORT_COLUMNS])
    for r in rows:
        out = []
        for key, _ in EXPORT_COLUMNS:
            v = r.get(key)
            if key == "must_check":
                v = "是" if v else "否"
            elif key == "failed":
                v = "、".join(v or [])
            out.append(v)
        ws.append(out)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    values_only(wb).save(p)
    return p
