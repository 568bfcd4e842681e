"""Demo assessment points (测评点位) and a season of inspections for the demo county.

About 120 points of 15 types, made from the demo county's own places and imported through
the register import (:func:`civgrid.grids.points.imports.import_points`), so they snap and
route like any register:

* every key site but the township seats, by kind (market → 农贸市场, school → 学校周边 …),
  with the site's responsible unit and the site linked;
* unit grids as residential compounds (小区, polygons), with the grid's responsible unit;
* road sections as main roads and back streets (a point at the middle, radius 40 m),
  with the road chief's unit;
* villages' centres as urban villages (城中村), communities' centres as civilization-practice
  stations (新时代文明实践站) and a few construction sites, with the community's or the
  township's responsible unit.

Must-check points (必查点): the markets, hospitals, stations and service halls (a local
choice). Point chiefs are titles. The standard is Sheqi's **demo** standard (not official).

:func:`inspect_season` then inspects each point a few times over the last ``days`` days:
each item fails with probability ``fail_rate`` (seeded), failed items come with a photo,
and the failures open issues at the points (:mod:`civgrid.grids.points.inspections`).
"""

from __future__ import annotations

import dataclasses
import json
import random
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import shapely
from sqlalchemy import func, select

from civgrid.grids.boundaries.assignments import TableReport
from civgrid.grids.boundaries.models import AreaType, AssessmentPoint, Assignment
from civgrid.grids.boundaries.store import Store
from civgrid.grids.core.actors import Actor
from civgrid.grids.issues.config import IssueConfig
from civgrid.grids.issues.photos import PhotoInput
from civgrid.grids.points.imports import import_points
from civgrid.grids.points.inspections import InspectionInput, ItemMark, record_inspection
from civgrid.grids.points.standards import StandardVersion

__all__ = ["KIND_TYPES", "demo_point_features", "inspect_season", "load_demo_points"]

#: Key-site kind → point type of the demo standard (township seats are not points).
KIND_TYPES: dict[str, str] = {
    "market": "market",
    "school": "school",
    "hospital": "hospital",
    "public_toilet": "public_toilet",
    "bus_station": "station",
    "hsr_station": "station",
    "park": "park",
    "square": "square",
    "commercial_complex": "commercial_street",
    "government_service": "service_hall",
}
_MUST = frozenset({"market", "hospital", "station", "service_hall"})
_CHIEF = "点位长（包保单位分管负责人）"
#: A tiny valid PNG (the demo's inspection photos).
_PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _units(session: Any) -> dict[tuple[str, str, str], str]:
    """(layer, code, role) → the first unit key holding it."""
    out: dict[tuple[str, str, str], str] = {}
    for a in session.scalars(select(Assignment).order_by(Assignment.id)):
        if a.unit is not None:
            out.setdefault((str(a.object_layer), a.object_code, str(a.role)), a.unit.key)
    return out


def _feature(code: str, name: str, ptype: str, unit: str, geom: Any, **extra: Any) -> dict:
    props = {
        "code": code,
        "name": name,
        "point_type": ptype,
        "responsible_unit": unit,
        "point_chief": _CHIEF,
        "must_check": "是" if ptype in _MUST else "否",
        **{k: str(v) for k, v in extra.items() if v is not None},
    }
    return {"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(geom)}


def demo_point_features(store: Store, *, seed: int = 23) -> dict[str, Any]:
    """The demo register as a GeoJSON FeatureCollection (about 120 points, 15 types)."""
    rng = random.Random(seed)
    feats: list[dict] = []
    with store.session() as s:
        units = _units(s)
        for k in store.key_sites(session=s):
            ptype = KIND_TYPES.get(str(k.kind))
            unit = units.get(("key_site", k.code, "responsible"))
            if ptype is None or unit is None:
                continue
            feats.append(_feature(f"P{k.code}", k.name, ptype, unit, k.geom, key_site=k.code))
        grids = [a for a in store.areas(type=AreaType.unit_grid, session=s)]
        for n, a in enumerate(rng.sample(grids, min(40, len(grids))), start=1):
            unit = units.get(("unit_grid", a.code, "responsible"))
            if unit is not None:
                feats.append(_feature(f"PXQ{n:03d}", a.name, "compound", unit, a.geom))
        roads = store.road_sections(session=s)
        for n, r in enumerate(rng.sample(roads, min(25, len(roads)))):
            unit = units.get(("road_section", r.code, "road_chief")) or units.get(
                ("road_section", r.code, "responsible")
            )
            if unit is None:
                continue
            mid = r.geom.interpolate(0.5, normalized=True)
            ptype = "main_road" if n < 15 else "back_street"
            feats.append(_feature(f"P{r.code}", r.name, ptype, unit, mid, radius_m=40))
        communities = store.areas(type=AreaType.community, session=s)
        villages = store.areas(type=AreaType.village, session=s)
        for kind, areas, n in (
            ("urban_village", villages, 5),
            ("practice_station", communities, 6),
        ):
            for i, a in enumerate(areas[:n], start=1):
                unit = units.get(("community", a.code, "responsible"))
                if unit is not None:
                    feats.append(
                        _feature(
                            f"P{kind[:2].upper()}{i:02d}",
                            a.name,
                            kind,
                            unit,
                            a.geom.representative_point(),
                            radius_m=60,
                        )
                    )
        towns = (
            store.areas(type=AreaType.street, session=s)[:1]
            or store.areas(type=AreaType.township, session=s)[:1]
        )
        for i, t in enumerate(towns * 3):
            unit = units.get(("township", t.code, "responsible"))
            if unit is None:
                continue
            c = t.geom.representative_point()
            at = shapely.Point(c.x + 0.004 * (i - 1), c.y + 0.003 * (i % 2))
            if t.geom.covers(at):
                feats.append(
                    _feature(
                        f"PGD{i + 1:02d}",
                        f"{t.name}在建工地{i + 1}",
                        "construction_site",
                        unit,
                        at,
                        radius_m=80,
                    )
                )
    return {"type": "FeatureCollection", "features": feats}


def load_demo_points(
    store: Store, standards: StandardVersion, *, commit: bool = True, seed: int = 23
) -> TableReport:
    """Import :func:`demo_point_features` through the register import."""
    fc = demo_point_features(store, seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo-points.geojson"
        path.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
        return import_points(store, path, standards, commit=commit)


def inspect_season(
    store: Store,
    standards: StandardVersion,
    config: IssueConfig,
    *,
    days: int = 90,
    per_point: int = 2,
    fail_rate: float = 0.12,
    seed: int = 23,
    now: datetime | None = None,
    limit: int | None = None,
) -> dict[str, int]:
    """Inspect every point ``per_point`` times over the last ``days`` days (seeded).

    Returns counts: ``inspections``, ``issues`` (opened by failures).
    """
    rng = random.Random(seed)
    end = now or datetime.now(UTC)
    inspector = Actor("督查组（演示）", "inspector")
    counts = {"inspections": 0, "issues": 0}
    with store.session() as s:
        points = list(s.scalars(select(AssessmentPoint).order_by(AssessmentPoint.code)))
    if limit is not None:
        points = points[:limit]
    types = {t.code: t for t in standards.types}
    for p in points:
        t = types.get(p.point_type)
        if t is None:
            continue
        times = sorted(end - timedelta(days=rng.uniform(1, days)) for _ in range(per_point))
        for at in times:
            marks = []
            for it in t.items:
                ok = rng.random() >= fail_rate
                photos = () if ok or not it.photo_on_fail else (PhotoInput(_PNG, "demo.png"),)
                marks.append(ItemMark(it.code, ok, None if ok else "演示：检查不合格", photos))
            cfg = dataclasses.replace(config, clock=lambda at=at: at + timedelta(minutes=5))
            with store.session() as s:
                r = record_inspection(
                    s, store, inspector, standards, InspectionInput(p.code, marks, at), config=cfg
                )
                s.commit()
            counts["inspections"] += 1
            counts["issues"] += len(r.opened)
    return counts


def has_points(store: Store) -> bool:
    """Whether the register holds any point (``--if-empty``)."""
    with store.session() as s:
        return bool(s.scalar(select(func.count()).select_from(AssessmentPoint)))
