"""Import of the shop register (门前五包) from CSV, XLSX or GeoJSON: dry run by default,
row-level errors (row and field), one transaction on ``commit``.

See :mod:`civgrid.grids.boundaries.shops` for what a shop is and why.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.geo.crs import normalize_crs
from civgrid.grids.boundaries.assignments import (
    TableProblem,
    TableReport,
    cell_date,
    did_you_mean,
    read_table,
    table_transaction,
)
from civgrid.grids.boundaries.cell_geometry import checked_wgs84
from civgrid.grids.boundaries.models import Assignment, Layer, Role, Shop, SubjectKind, Unit
from civgrid.grids.boundaries.shops import DUTIES, GRID_OFFICER_TITLE
from civgrid.grids.boundaries.store import Store
from civgrid.grids.core import labels as zh
from civgrid.grids.core.errors import InvalidInputError

__all__ = ["import_shops"]

_REQUIRED = ("code", "name", "enforcement_grid_unit", "frontage")
#: Header aliases (Chinese spreadsheet headers) → field names.
_ALIASES = {v: k for k, v in zh.SHOP_FIELD_LABELS.items()} | {
    "geometry": "frontage",
    "wkt": "frontage",
    "grid_unit": "enforcement_grid_unit",
    "duties": "frontage_duties",
}


def _read_rows(path: Path, encoding: str | None, sheet: str | None) -> list[dict[str, str]]:
    """Rows of a CSV/XLSX (geometry as WKT or GeoJSON text) or a GeoJSON file."""
    if path.suffix.lower() in (".geojson", ".json"):
        try:
            fc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidInputError(f"cannot read {path.name}: {exc}", path=str(path)) from exc
        if not isinstance(fc, dict) or not isinstance(fc.get("features"), list):
            raise InvalidInputError(f"{path.name} is not a GeoJSON FeatureCollection")
        out = []
        for f in fc["features"]:
            props = dict((f or {}).get("properties") or {})
            row = {str(k): "" if v is None else str(v).strip() for k, v in props.items()}
            geom = (f or {}).get("geometry")
            row["frontage"] = json.dumps(geom) if geom else ""
            out.append(row)
        return out
    header, rows = read_table(path, encoding=encoding, sheet=sheet)
    names = {h: _ALIASES.get(h.strip(), _ALIASES.get(h.strip().lower(), h.strip())) for h in header}
    return [{names.get(k, k): v for k, v in r.items() if k} for r in rows]


def _geometry(text: str, crs: str) -> Any:
    """A frontage from WKT or GeoJSON text, in WGS84; raises ValueError when unusable."""
    text = text.strip()
    geom = shapely.from_geojson(text) if text.startswith("{") else shapely.from_wkt(text)
    if geom is None or geom.is_empty:
        raise ValueError("empty geometry")
    if geom.geom_type not in ("LineString", "MultiLineString", "Polygon", "MultiPolygon"):
        raise ValueError(f"a frontage is a line or polygon, not a {geom.geom_type}")
    return checked_wgs84(geom, crs)


def import_shops(
    store: Store,
    path: str | Path,
    *,
    commit: bool = False,
    crs: str = "wgs84",
    encoding: str | None = None,
    sheet: str | None = None,
    session: Session | None = None,
) -> TableReport:
    """Import the shop register from CSV, XLSX or GeoJSON, upserting by ``code``.

    Columns (or GeoJSON properties): ``code``, ``name``, ``enforcement_grid_unit``
    (a unit key), ``frontage`` (WKT or GeoJSON text; in GeoJSON the feature's
    geometry), optional ``street``, ``address``, ``responsibility_letter`` (a date)
    and ``frontage_duties`` (keys or Chinese labels, separated by ``;`` or ``、``;
    default all five). The Chinese headers of
    :data:`~civgrid.grids.core.labels.SHOP_FIELD_LABELS` are accepted too.

    Every row is checked; a broken one is reported with its row (the header is row
    1; in GeoJSON the first feature is row 2) and field, and then nothing is written.
    The grid unit's ``responsible`` assignment on the shop follows the register.

    Parameters
    ----------
    store : Store
    path : str or Path
    commit : bool
        Write, only when there is no error (one transaction); default a dry run.
    crs : str
        CRS of the coordinates (``wgs84``, ``cgcs2000``, ``gcj02``, ``bd09``).
    encoding, sheet : str, optional
        CSV encoding; XLSX sheet.
    session : Session, optional
        Write into the caller's transaction (the caller commits or rolls back).

    Returns
    -------
    TableReport
    """
    path = Path(path)
    crs = normalize_crs(crs)
    rows = _read_rows(path, encoding, sheet)
    report = TableReport("shops", str(path), rows=len(rows))
    present = set(rows[0]) if rows else set()
    for col in _REQUIRED:
        if rows and col not in present:
            report.problems.append(
                TableProblem(1, col, None, f"missing column {col!r}", did_you_mean(col, present))
            )
    if not report.ok:
        return report
    by_label = {v: k for k, v in zh.SHOP_DUTY_LABELS.items()}
    with table_transaction(store, session, report, commit) as s:
        units = {u.key: u for u in s.scalars(select(Unit))}
        existing = {x.code: x for x in s.scalars(select(Shop))}
        seen: dict[str, int] = {}
        for i, r in enumerate(rows, start=2):

            def bad(field: str, value: str | None, message: str, hint: str | None = None) -> None:
                report.problems.append(TableProblem(i, field, value, message, hint))  # noqa: B023

            code, name = r.get("code", ""), r.get("name", "")
            if not code:
                bad("code", None, "empty code")
                continue
            if code in seen:
                bad("code", code, f"code given twice (first in row {seen[code]})")
                continue
            seen[code] = i
            if not name:
                bad("name", None, "empty name")
            ukey = r.get("enforcement_grid_unit", "")
            unit = units.get(ukey)
            if unit is None:
                hint = did_you_mean(ukey, units)
                bad("enforcement_grid_unit", ukey, "no unit with this key", hint)
            try:
                geom = _geometry(r.get("frontage", ""), crs)
            except (ValueError, shapely.errors.GEOSException) as exc:
                bad("frontage", (r.get("frontage") or "")[:60], f"unusable frontage: {exc}")
                geom = None
            try:
                letter = cell_date(r.get("responsibility_letter", ""), None)
            except ValueError:
                bad("responsibility_letter", r.get("responsibility_letter"), "not a date")
                letter = None
            raw = [
                d.strip()
                for d in r.get("frontage_duties", "").replace("、", ";").split(";")
                if d.strip()
            ]
            duties = [by_label.get(d, d) for d in raw] or list(DUTIES)
            unknown = [d for d in duties if d not in DUTIES]
            if unknown:
                bad("frontage_duties", unknown[0], "no such duty", f"one of {', '.join(DUTIES)}")
            if not report.ok or geom is None or unit is None:
                continue
            minx, miny, maxx, maxy = geom.bounds
            values: dict[str, Any] = {
                "name": name,
                "street": r.get("street") or None,
                "address": r.get("address") or None,
                "responsibility_letter": letter,
                "frontage_duties": [d for d in DUTIES if d in duties],
                "enforcement_grid_unit_id": unit.id,
                "min_lon": minx,
                "min_lat": miny,
                "max_lon": maxx,
                "max_lat": maxy,
            }
            shop = existing.get(code)
            if shop is None:
                s.add(Shop(code=code, frontage=geom, **values))
                report.new += 1
            elif _changed(shop, values, geom):
                for k, v in values.items():
                    setattr(shop, k, v)
                shop.frontage = geom
                report.updated += 1
            else:
                report.unchanged += 1
            _assign(s, code, unit, letter)
        s.flush()
    return report


def _changed(shop: Shop, values: dict[str, Any], geom: Any) -> bool:
    if any(getattr(shop, k) != v for k, v in values.items()):
        return True
    return not shapely.equals_exact(shop.frontage, geom, tolerance=1e-9)


def _assign(s: Session, code: str, unit: Unit, letter: date | None) -> None:
    """The grid unit's ``responsible`` assignment on the shop (one, replaced if moved)."""
    rows = list(
        s.scalars(
            select(Assignment).where(
                Assignment.object_layer == Layer.shop,
                Assignment.object_code == code,
                Assignment.role == Role.responsible,
            )
        )
    )
    if len(rows) == 1 and rows[0].unit_id == unit.id:
        return
    for a in rows:
        s.delete(a)
    s.add(
        Assignment(
            role=Role.responsible,
            subject_kind=SubjectKind.unit,
            unit=unit,
            object_layer=Layer.shop,
            object_code=code,
            valid_from=letter or date(2000, 1, 1),
            source="shop register",
            person_title=GRID_OFFICER_TITLE,
        )
    )
