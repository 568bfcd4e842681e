"""Import of the assessment-point register (测评点位) from CSV, XLSX or GeoJSON.

A dry run unless ``commit``; every row is checked and a broken one is reported with its
row and field (the header is row 1; in GeoJSON the first feature is row 2); with any
error nothing is written; a commit writes every row in one transaction. Modelled on
the shop register (:mod:`civgrid.grids.boundaries.shop_imports`).

Columns (or GeoJSON properties; the Chinese headers of
:data:`~civgrid.grids.core.labels.POINT_FIELD_LABELS` too): ``code``, ``name``,
``point_type`` (a type code or label of the standards in force), ``responsible_unit``
(包保单位: a unit key or its exact name), ``geometry`` (WKT or GeoJSON text: a Point or a
(Multi)Polygon; or ``lon``/``lat`` columns; in GeoJSON the feature's geometry), and
optional ``point_chief`` (点位长, a title — never a name), ``must_check`` (是/否,
true/false, 1/0), ``key_site`` (the key site's code) and ``radius_m`` (metres, point
sites only; default :data:`~civgrid.grids.boundaries.assessment_points.DEFAULT_POINT_RADIUS_M`).

The township and community are found by snapping (the geometry's representative
point in the current boundary generation). The responsible unit is also written as the
``responsible`` assignment on (``assessment_point``, code), with the point chief's
title, so routing and the owner rules use it.
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
    did_you_mean,
    read_table,
    table_transaction,
)
from civgrid.grids.boundaries.cell_geometry import checked_wgs84
from civgrid.grids.boundaries.models import (
    AssessmentPoint,
    Assignment,
    KeySite,
    Layer,
    Role,
    SubjectKind,
    Unit,
)
from civgrid.grids.boundaries.store import Store
from civgrid.grids.core import labels as zh
from civgrid.grids.core.errors import InvalidInputError
from civgrid.grids.points.standards import StandardVersion

__all__ = ["import_points", "parse_flag"]

_REQUIRED = ("code", "name", "point_type", "responsible_unit")
_ALIASES = {v: k for k, v in zh.POINT_FIELD_LABELS.items()} | {
    "wkt": "geometry",
    "type": "point_type",
    "unit": "responsible_unit",
    "经度": "lon",
    "纬度": "lat",
}
_TRUE = {"是", "y", "yes", "true", "1", "必查"}
_FALSE = {"否", "n", "no", "false", "0", ""}


def parse_flag(text: str) -> bool:
    """是/否, yes/no, true/false, 1/0 (blank: no).

    Examples
    --------
    >>> parse_flag("是"), parse_flag(""), parse_flag("TRUE")
    (True, False, True)
    """
    t = text.strip().lower()
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    raise ValueError(f"not yes/no: {text!r}")


def _read_rows(path: Path, encoding: str | None, sheet: str | None) -> list[dict[str, str]]:
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
            row = {
                _ALIASES.get(str(k), str(k)): "" if v is None else str(v).strip()
                for k, v in props.items()
            }
            geom = (f or {}).get("geometry")
            row["geometry"] = json.dumps(geom) if geom else ""
            out.append(row)
        return out
    header, rows = read_table(path, encoding=encoding, sheet=sheet)
    names = {h: _ALIASES.get(h.strip(), _ALIASES.get(h.strip().lower(), h.strip())) for h in header}
    return [{names.get(k, k): v for k, v in r.items() if k} for r in rows]


def _geometry(row: dict[str, str], crs: str) -> Any:
    """The point's geometry in WGS84 (ValueError when unusable)."""
    text = (row.get("geometry") or "").strip()
    if not text and row.get("lon") and row.get("lat"):
        geom = shapely.Point(float(row["lon"]), float(row["lat"]))
    elif not text:
        raise ValueError("no geometry (WKT, GeoJSON or lon/lat)")
    else:
        geom = shapely.from_geojson(text) if text.startswith("{") else shapely.from_wkt(text)
    if geom is None or geom.is_empty:
        raise ValueError("empty geometry")
    if geom.geom_type not in ("Point", "Polygon", "MultiPolygon"):
        raise ValueError(f"a point is a Point or a Polygon, not a {geom.geom_type}")
    return checked_wgs84(geom, crs)


def import_points(
    store: Store,
    path: str | Path,
    standards: StandardVersion,
    *,
    commit: bool = False,
    crs: str = "wgs84",
    encoding: str | None = None,
    sheet: str | None = None,
    session: Session | None = None,
    valid_from: date | None = None,
) -> TableReport:
    """Import the point register, upserting by ``code`` (see the module docstring).

    Parameters
    ----------
    store : Store
    path : str or Path
        .csv, .xlsx or .geojson.
    standards : StandardVersion
        The standards in force: a point's type must be one of its types.
    commit : bool
        Write, only when no row has an error (one transaction); default a dry run.
    crs : str
        CRS of the coordinates (``wgs84``, ``cgcs2000``, ``gcj02``, ``bd09``).
    encoding, sheet : str, optional
        CSV encoding; XLSX sheet.
    session : Session, optional
        Write into the caller's transaction.
    valid_from : date, optional
        Start of the responsible assignments written (default 2000-01-01).

    Returns
    -------
    TableReport
    """
    path = Path(path)
    crs = normalize_crs(crs)
    rows = _read_rows(path, encoding, sheet)
    report = TableReport("assessment_points", str(path), rows=len(rows))
    present = set(rows[0]) if rows else set()
    for col in _REQUIRED:
        if rows and col not in present:
            hint = did_you_mean(col, present)
            report.problems.append(TableProblem(1, col, None, f"missing column {col!r}", hint))
    if not report.ok:
        return report
    types = {t.code: t.code for t in standards.types} | {t.label: t.code for t in standards.types}
    with table_transaction(store, session, report, commit) as s:
        units = {u.key: u for u in s.scalars(select(Unit))}
        by_name = {u.name: u for u in units.values()}
        sites = set(s.scalars(select(KeySite.code)))
        existing = {p.code: p for p in s.scalars(select(AssessmentPoint))}
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
            raw_type = r.get("point_type", "")
            ptype = types.get(raw_type)
            if not raw_type:
                bad("point_type", None, "empty point type")
            elif ptype is None:
                bad(
                    "point_type",
                    raw_type,
                    "no such point type in the standards in force",
                    did_you_mean(raw_type, types),
                )
            ukey = r.get("responsible_unit", "")
            unit = units.get(ukey) or by_name.get(ukey)
            if unit is None:
                bad(
                    "responsible_unit",
                    ukey,
                    "no unit with this key or name",
                    did_you_mean(ukey, units),
                )
            try:
                geom = _geometry(r, crs)
            except (ValueError, shapely.errors.GEOSException) as exc:
                bad("geometry", (r.get("geometry") or "")[:60], f"unusable geometry: {exc}")
                geom = None
            try:
                must = parse_flag(r.get("must_check", ""))
            except ValueError as exc:
                bad("must_check", r.get("must_check"), str(exc))
                must = False
            radius: float | None = None
            if r.get("radius_m"):
                try:
                    radius = float(r["radius_m"])
                    if not 0 < radius <= 500:
                        raise ValueError
                except ValueError:
                    bad("radius_m", r["radius_m"], "not a radius in metres (0 < r ≤ 500)")
            site = r.get("key_site") or None
            if site and site not in sites:
                bad("key_site", site, "no key site with this code", did_you_mean(site, sites))
            if not report.ok or geom is None or unit is None or ptype is None:
                continue
            at = geom if geom.geom_type == "Point" else geom.representative_point()
            _, hits = store.hits_at(at.x, at.y, session=s)
            town = hits.get(Layer.township.value) or []
            comm = hits.get(Layer.community.value) or []
            minx, miny, maxx, maxy = geom.bounds
            chief = r.get("point_chief") or None
            values: dict[str, Any] = {
                "name": name,
                "point_type": ptype,
                "radius_m": radius if geom.geom_type == "Point" else None,
                "min_lon": minx,
                "min_lat": miny,
                "max_lon": maxx,
                "max_lat": maxy,
                "township_code": town[0].info.code if town else None,
                "community_code": comm[0].info.code if comm else None,
                "responsible_unit_id": unit.id,
                "point_chief": chief,
                "must_check": must,
                "key_site_code": site,
            }
            point = existing.get(code)
            if point is None:
                s.add(AssessmentPoint(code=code, geom=geom, **values))
                report.new += 1
            elif any(getattr(point, k) != v for k, v in values.items()) or not shapely.equals_exact(
                point.geom, geom, tolerance=1e-9
            ):
                for k, v in values.items():
                    setattr(point, k, v)
                point.geom = geom
                report.updated += 1
            else:
                report.unchanged += 1
            _assign(s, code, unit, chief, valid_from or date(2000, 1, 1))
        s.flush()
    return report


def _assign(s: Session, code: str, unit: Unit, chief: str | None, valid_from: date) -> None:
    """The responsible unit's assignment on the point (one; replaced when it changes)."""
    rows = list(
        s.scalars(
            select(Assignment).where(
                Assignment.object_layer == Layer.assessment_point,
                Assignment.object_code == code,
                Assignment.role == Role.responsible,
            )
        )
    )
    if len(rows) == 1 and rows[0].unit_id == unit.id and rows[0].person_title == chief:
        return
    for a in rows:
        s.delete(a)
    s.flush()
    s.add(
        Assignment(
            role=Role.responsible,
            subject_kind=SubjectKind.unit,
            unit=unit,
            object_layer=Layer.assessment_point,
            object_code=code,
            valid_from=valid_from,
            source="point register",
            person_title=chief,
        )
    )
