"""Boundary imports: read → check → match parents → compare → (commit a new generation).

An import is planned first (:func:`plan_boundaries`), which reads the files
through :func:`civgrid.geo.io.read_features` (converting GCJ-02/BD-09 to WGS84
at the edge), validates them with :func:`civgrid.geo.validate.validate_layer`
plus the domain checks here (code formats, parents), and compares them with
the current generation. Nothing is written. :func:`commit_plan` then writes a
new generation in **one transaction** — all or nothing — following MapIt:

* an object whose name, parent, geometry and attributes are unchanged keeps
  its row, whose ``generation_high_id`` is raised to the new generation;
* a new or changed object gets a new row valid from the new generation;
* an object missing from the file simply is not carried forward (it stays in
  the old generations);
* every layer not in the import is carried forward unchanged.

Identical input gives an "unchanged" plan and commits nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPolygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.geo import convert
from civgrid.geo.errors import GeoError
from civgrid.geo.io import FeatureTable, read_features
from civgrid.geo.metric import Projector, metric_epsg_for
from civgrid.geo.validate import validate_layer
from civgrid.grids.boundaries.models import (
    LEVEL_TYPES,
    Area,
    AreaType,
    Generation,
    KeySite,
    Layer,
    RoadSection,
)
from civgrid.grids.boundaries.store import Store, valid_in
from civgrid.grids.core import labels as zh
from civgrid.grids.core.errors import ConflictError, InvalidInputError

__all__ = [
    "PARENT_LAYER",
    "BoundaryPlan",
    "CommitResult",
    "ImportFinding",
    "ImportRejectedError",
    "LayerPlan",
    "LayerSource",
    "commit_plan",
    "import_boundaries",
    "plan_boundaries",
]

#: The layer whose areas contain each layer's areas.
PARENT_LAYER: dict[Layer, Layer | None] = {
    Layer.county: None,
    Layer.township: Layer.county,
    Layer.community: Layer.township,
    Layer.unit_grid: Layer.community,
    Layer.supervision_area: Layer.county,
    Layer.central_city: Layer.county,
    Layer.road_section: None,
    Layer.key_site: None,
}
#: Import order: parents before children.
LAYER_ORDER: tuple[Layer, ...] = (
    Layer.county,
    Layer.township,
    Layer.community,
    Layer.unit_grid,
    Layer.supervision_area,
    Layer.central_city,
    Layer.road_section,
    Layer.key_site,
)
#: Layers whose areas are meant to tile their parent (overlaps and gaps are errors).
DEFAULT_TILING: dict[Layer, bool] = {
    Layer.county: True,
    Layer.township: True,
    Layer.community: True,
    Layer.unit_grid: False,
    Layer.supervision_area: False,
    Layer.central_city: False,
}

_DIGITS = re.compile(r"^\d+$")
#: Source systems read without any conversion.
_NO_SHIFT = {"wgs84", "cgcs2000"}
#: Coordinates equal within this (degrees, ≈ 1 mm) count as unchanged geometry.
_GEOM_TOLERANCE_DEG = 1e-8
#: Properties that describe the file, not the object: not stored as attributes.
_SKIP_ATTRS = {"layer", "type", "crs", "source"}

ProgressCallback = Callable[[int, int], None]


# =========================================================================== inputs


@dataclass
class LayerSource:
    """One file to import as one layer.

    Attributes
    ----------
    layer : Layer
        Target layer: county, township (乡镇/街道), community (社区/行政村),
        unit_grid, supervision_area, road_section or key_site.
    path : Path
        GeoJSON, GeoPackage, Shapefile or CSV (see :func:`civgrid.geo.io.read_features`).
    name_field, code_field : str
        Attribute names. ``code_field`` may be None for unit grids (codes are
        generated: the community's 12 digits + a 3-digit sequence).
    parent_field : str, optional
        Attribute holding the parent's code; without it parents are found by
        containment (the parent area covering most of the child).
    type_field : str, optional
        Attribute giving the area type (``street``/``township``,
        ``community``/``village``); default: ``"type"`` when present, else from
        the name (…街道 → street, …村 → village).
    crs : str, optional
        ``gcj02``, ``bd09``, ``wgs84`` or ``cgcs2000``: what the file's lon/lat
        really are (Amap/DataV boundaries are GCJ-02 even when unlabelled).
    encoding : str, optional
        Attribute encoding (``gbk`` for many Chinese shapefiles).
    file_layer : str, optional
        Layer inside a multi-layer file (GeoPackage).
    tiling : bool, optional
        Whether the areas tile their parent; default per layer (:data:`DEFAULT_TILING`).
    extent_field, kind_field, radius_field : str
        Road sections: ``extent`` (起止 description). Key sites: ``kind`` and
        ``zone_radius_m`` (default 400 m when missing).
    """

    layer: Layer
    path: Path
    name_field: str = "name"
    code_field: str | None = "code"
    parent_field: str | None = None
    type_field: str | None = None
    crs: str | None = None
    encoding: str | None = None
    file_layer: str | None = None
    tiling: bool | None = None
    extent_field: str = "extent"
    kind_field: str = "kind"
    radius_field: str = "zone_radius_m"

    def __post_init__(self) -> None:
        self.layer = Layer(self.layer)
        self.path = Path(self.path)


@dataclass
class ImportFinding:
    """One problem found while planning an import.

    Attributes
    ----------
    severity : str
        ``"error"`` (blocks the commit) or ``"warning"``.
    kind : str
        ``read_error``, ``invalid_geometry``, ``duplicate_code``, ``bad_code``,
        ``outside_parent``, ``unknown_parent``, ``overlap``, ``gap``,
        ``wrong_geometry_type``, ``missing_value``…
    message : str
    layer : str
    codes : tuple of str
    features : tuple of int
        0-based feature indices in the file.
    field : str or None
    hint : str or None
    """

    severity: str
    kind: str
    message: str
    layer: str
    codes: tuple[str, ...] = ()
    features: tuple[int, ...] = ()
    field: str | None = None
    hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return {
            "severity": self.severity,
            "kind": self.kind,
            "message": self.message,
            "layer": self.layer,
            "codes": list(self.codes),
            "features": list(self.features),
            "field": self.field,
            "hint": self.hint,
        }

    def to_text(self) -> str:
        """One report line."""
        line = f"{self.severity.upper():7} {self.kind:18} {self.message}"
        if self.hint:
            line += f" — {self.hint}"
        return line


@dataclass
class Record:
    """One object ready to be written (WGS84 lon/lat geometry)."""

    feature: int
    layer: Layer
    type: str
    code: str
    name: str
    geom: BaseGeometry
    parent_code: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    extent: str | None = None
    kind: str | None = None
    zone_radius_m: float | None = None
    code_generated: bool = False

    def fingerprint(self) -> str:
        """Hash of the non-geometric content (compared with the stored row)."""
        data = [
            self.type,
            self.name,
            self.parent_code,
            self.extent,
            self.kind,
            self.zone_radius_m,
            _canonical(self.attributes),
        ]
        return hashlib.sha1(json.dumps(data, ensure_ascii=False, default=str).encode()).hexdigest()


@dataclass
class LayerPlan:
    """The plan for one layer: what was read, found, matched and would change."""

    source: LayerSource
    records: list[Record] = field(default_factory=list)
    findings: list[ImportFinding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    n_features: int = 0
    source_crs: str | None = None
    shift_m: tuple[float, float] | None = None  # (median, max) raw → stored displacement
    parents: dict[str, int] = field(default_factory=dict)
    unmatched_parents: list[str] = field(default_factory=list)
    new: list[Record] = field(default_factory=list)
    changed: list[Record] = field(default_factory=list)
    unchanged: list[tuple[Record, int]] = field(default_factory=list)  # (record, row id)
    removed: list[tuple[str, str]] = field(default_factory=list)  # (code, name)

    @property
    def layer(self) -> Layer:
        """Target layer."""
        return self.source.layer

    @property
    def ok(self) -> bool:
        """No error findings."""
        return not any(f.severity == "error" for f in self.findings)

    @property
    def has_changes(self) -> bool:
        """Something new, changed or removed."""
        return bool(self.new or self.changed or self.removed)

    def add(self, severity: str, kind: str, message: str, **kw: Any) -> None:
        """Record a finding."""
        self.findings.append(ImportFinding(severity, kind, message, self.layer.value, **kw))

    def summary(self) -> dict[str, Any]:
        """Counts for reports and tests."""
        return {
            "layer": self.layer.value,
            "file": str(self.source.path),
            "features": self.n_features,
            "records": len(self.records),
            "errors": sum(f.severity == "error" for f in self.findings),
            "warnings": sum(f.severity == "warning" for f in self.findings),
            "new": len(self.new),
            "changed": len(self.changed),
            "unchanged": len(self.unchanged),
            "removed": len(self.removed),
            "parents": dict(self.parents),
            "unmatched_parents": list(self.unmatched_parents),
            "shift_m": None if self.shift_m is None else [round(v, 1) for v in self.shift_m],
        }


@dataclass
class BoundaryPlan:
    """A planned import of one or more layers against a base generation."""

    layers: list[LayerPlan]
    base_generation_id: int | None

    @property
    def ok(self) -> bool:
        """No layer has an error."""
        return all(lp.ok for lp in self.layers)

    @property
    def has_changes(self) -> bool:
        """Committing would create a new generation."""
        return any(lp.has_changes for lp in self.layers) or self.base_generation_id is None

    @property
    def findings(self) -> list[ImportFinding]:
        """Every finding of every layer."""
        return [f for lp in self.layers for f in lp.findings]

    def layer(self, layer: Layer | str) -> LayerPlan:
        """The plan of one layer."""
        for lp in self.layers:
            if lp.layer == Layer(layer):
                return lp
        raise KeyError(layer)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary (layers and findings)."""
        return {
            "base_generation_id": self.base_generation_id,
            "ok": self.ok,
            "has_changes": self.has_changes,
            "layers": [lp.summary() for lp in self.layers],
            "findings": [f.to_dict() for f in self.findings],
        }

    def to_text(
        self, *, committed: int | None = None, dry_run: bool = True, max_items: int = 20
    ) -> str:
        """The plain-text import report for the CLI.

        Parameters
        ----------
        committed : int, optional
            The generation written (after a commit).
        dry_run : bool
            Say that nothing was written.
        max_items : int
            How many codes to list per change kind.
        """
        base = f"generation {self.base_generation_id}" if self.base_generation_id else "empty db"
        lines = []
        for lp in self.layers:
            s = lp.source
            lines.append(f"Layer {lp.layer.value}: {s.path.name}, {lp.n_features} features")
            if lp.source_crs and lp.source_crs not in _NO_SHIFT:
                shift = ""
                if lp.shift_m is not None and lp.shift_m[1] > 0.01:
                    shift = f", moved {lp.shift_m[0]:.0f} m (median), {lp.shift_m[1]:.0f} m (max)"
                lines.append(f"  coordinates: {lp.source_crs} → WGS84{shift}")
            for note in lp.notes:
                lines.append(f"  note: {note}")
            if lp.parents or lp.unmatched_parents:
                how = ", ".join(f"{n} {k}" for k, n in sorted(lp.parents.items()))
                lines.append(
                    f"  parents: {how or 'none'}"
                    + (
                        f"; unmatched: {', '.join(lp.unmatched_parents[:max_items])}"
                        if lp.unmatched_parents
                        else ""
                    )
                )
            errors = sum(f.severity == "error" for f in lp.findings)
            warnings = sum(f.severity == "warning" for f in lp.findings)
            lines.append(f"  checks: {errors} error(s), {warnings} warning(s)")
            for f in lp.findings:
                lines.append(f"    {f.to_text()}")
            lines.append(
                f"  changes vs {base}: {len(lp.new)} new, {len(lp.changed)} changed, "
                f"{len(lp.unchanged)} unchanged, {len(lp.removed)} removed"
            )
            for label, items in (
                ("new", [(r.code, r.name) for r in lp.new]),
                ("changed", [(r.code, r.name) for r in lp.changed]),
                ("removed", lp.removed),
            ):
                if items:
                    shown = ", ".join(f"{c} {n}" for c, n in items[:max_items])
                    more = f" … (+{len(items) - max_items})" if len(items) > max_items else ""
                    lines.append(f"    {label}: {shown}{more}")
        if not self.ok:
            lines.append("Result: REJECTED — fix the errors above; nothing was written.")
        elif committed is not None:
            lines.append(f"Result: committed as generation {committed} (now current).")
        elif not self.has_changes:
            lines.append(f"Result: unchanged — identical to {base}; nothing to write.")
        elif dry_run:
            lines.append(
                "Result: OK — dry run, nothing written; add --commit to write a new generation."
            )
        return "\n".join(lines)


@dataclass
class CommitResult:
    """What :func:`commit_plan` wrote."""

    generation_id: int | None
    status: str  # "committed" or "unchanged"
    rows_added: int = 0
    rows_extended: int = 0


class ImportRejectedError(InvalidInputError):
    """A plan with errors cannot be committed; ``plan`` holds the report."""

    def __init__(self, plan: BoundaryPlan) -> None:
        errors = [f for f in plan.findings if f.severity == "error"]
        super().__init__(
            f"import rejected: {len(errors)} error(s); first: {errors[0].message}"
            if errors
            else "import rejected",
            errors=[f.to_dict() for f in errors],
        )
        self.plan = plan


# =========================================================================== planning


def plan_boundaries(
    store: Store, sources: Sequence[LayerSource], session: Session | None = None
) -> BoundaryPlan:
    """Read, check and compare layers with the current generation. Writes nothing.

    Parameters
    ----------
    store : Store
    sources : sequence of LayerSource
        At most one per layer; they are processed parents first.
    session : Session, optional

    Returns
    -------
    BoundaryPlan
        Check ``plan.ok`` and ``plan.to_text()``.
    """
    order = {lay: i for i, lay in enumerate(LAYER_ORDER)}
    layers = Counter(s.layer for s in sources)
    dup = [lay.value for lay, n in layers.items() if n > 1]
    if dup:
        raise InvalidInputError(f"more than one file for layer {', '.join(dup)}")
    with store._use(session) as s:
        base = store.active_generation(s)
        base_id = base.id if base is not None else None
        plans: dict[Layer, LayerPlan] = {}
        for src in sorted(sources, key=lambda x: order[x.layer]):
            lp = LayerPlan(src)
            plans[src.layer] = lp
            table = _read(lp)
            if table is None:
                continue
            _records_from_table(lp, table)
            parent_layer = PARENT_LAYER[src.layer]
            parents = _parent_candidates(s, parent_layer, plans, base_id)
            _match_parents(lp, parents, parent_layer)
            if src.layer == Layer.unit_grid:
                _generate_unit_grid_codes(s, lp, base_id)
            _check_codes(lp)
            _validate(lp, parents)
            _compare(s, lp, base_id)
        return BoundaryPlan([plans[src.layer] for src in sources], base_id)


def _read(lp: LayerPlan) -> FeatureTable | None:
    src = lp.source
    required = [f for f in (src.name_field, src.code_field, src.parent_field) if f]
    try:
        table = read_features(
            src.path,
            layer=src.file_layer,
            encoding=src.encoding,
            crs=src.crs,
            required_fields=(),
        )
    except GeoError as exc:
        lp.add(
            "error",
            "read_error",
            str(exc),
            hint=getattr(exc, "hint", None),
            field=getattr(exc, "field", None),
        )
        return None
    lp.n_features = len(table)
    lp.source_crs = table.source_crs
    lp.notes.extend(table.notes)
    missing = [f for f in required if f not in table.fields]
    for name in missing:
        close = _did_you_mean(name, table.fields)
        lp.add(
            "error",
            "missing_field",
            f"{src.path.name} has no field {name!r}; fields: {', '.join(table.fields) or '(none)'}",
            field=name,
            hint=close,
        )
    if missing:
        return None
    if table.raw_geometries is not None and len(table) and table.source_crs not in _NO_SHIFT:
        lp.shift_m = _shift_stats(table.raw_geometries, table.geometries)
    return table


def _records_from_table(lp: LayerPlan, table: FeatureTable) -> None:
    src = lp.source
    layer = src.layer
    type_field = src.type_field or ("type" if "type" in table.fields else None)
    valid_types = {t.value for t in LEVEL_TYPES.get(layer, ())}
    for i, (geom, props) in enumerate(zip(table.geometries, table.properties, strict=True)):
        code = _text(props.get(src.code_field)) if src.code_field else ""
        name = _text(props.get(src.name_field))
        if not name:
            lp.add(
                "error",
                "missing_value",
                f"feature {i} has no {src.name_field!r}",
                features=(i,),
                field=src.name_field,
                codes=(code,) if code else (),
            )
            continue
        attrs = {
            k: convert.to_json_value(v)
            for k, v in props.items()
            if k
            not in {
                src.name_field,
                src.code_field,
                src.parent_field,
                type_field,
                src.extent_field,
                src.kind_field,
                src.radius_field,
            }
            and k not in _SKIP_ATTRS
            and v is not None
        }
        rec = Record(i, layer, layer.value, code, name, geom, attributes=attrs)
        if src.parent_field:
            rec.parent_code = _text(props.get(src.parent_field)) or None
        if layer in LEVEL_TYPES:
            rec.type = _area_type(layer, _text(props.get(type_field)) if type_field else "", name)
            if type_field and _text(props.get(type_field)) not in valid_types | {""}:
                lp.add(
                    "warning",
                    "unknown_type",
                    f"{code or name}: type {props.get(type_field)!r} is not one of "
                    f"{', '.join(sorted(valid_types))}; using {rec.type}",
                    codes=(code,),
                    features=(i,),
                    field=type_field,
                )
            polys = _polygonal(geom)
            if polys is None:
                lp.add(
                    "error",
                    "wrong_geometry_type",
                    f"{code or name}: {geom.geom_type} is not a polygon",
                    codes=(code,),
                    features=(i,),
                )
                continue
            rec.geom = polys
        elif layer == Layer.road_section:
            line = _line(geom)
            if line is None:
                lp.add(
                    "error",
                    "wrong_geometry_type",
                    f"{code or name}: {geom.geom_type} is not one connected line",
                    codes=(code,),
                    features=(i,),
                    hint="split it into one road section per line",
                )
                continue
            rec.geom = line
            rec.extent = _text(props.get(src.extent_field)) or None
        elif layer == Layer.key_site:
            rec.kind = _text(props.get(src.kind_field)) or "other"
            radius = props.get(src.radius_field)
            try:
                rec.zone_radius_m = 400.0 if radius in (None, "") else float(radius)
            except (TypeError, ValueError):
                lp.add(
                    "error",
                    "bad_value",
                    f"{code or name}: zone radius {radius!r} is not a number of metres",
                    codes=(code,),
                    features=(i,),
                    field=src.radius_field,
                )
                continue
            if rec.zone_radius_m < 0:
                lp.add(
                    "error",
                    "bad_value",
                    f"{code or name}: negative zone radius",
                    codes=(code,),
                    features=(i,),
                    field=src.radius_field,
                )
                continue
        lp.records.append(rec)


def _parent_candidates(
    s: Session, parent_layer: Layer | None, plans: Mapping[Layer, LayerPlan], base_id: int | None
) -> dict[str, BaseGeometry]:
    """Parent code → geometry: from the same import if planned, else the current generation."""
    if parent_layer is None:
        return {}
    if parent_layer in plans:
        return {r.code: r.geom for r in plans[parent_layer].records if r.code}
    if base_id is None:
        return {}
    types = [t.value for t in LEVEL_TYPES[parent_layer]]
    rows = s.execute(
        select(Area.code, Area.geom).where(valid_in(Area, base_id), Area.type.in_(types))
    ).all()
    return {r.code: r.geom for r in rows}


def _match_parents(
    lp: LayerPlan, parents: Mapping[str, BaseGeometry], parent_layer: Layer | None
) -> None:
    if parent_layer is None:
        return
    if not parents:
        if lp.source.parent_field:
            lp.parents["from field (not checked: no parent layer loaded)"] = sum(
                1 for r in lp.records if r.parent_code
            )
        else:
            lp.notes.append(f"no {parent_layer.value} layer loaded: parents not assigned")
        return
    codes = list(parents)
    tree = shapely.STRtree(np.asarray([parents[c] for c in codes], dtype=object))
    for rec in lp.records:
        if rec.parent_code:
            if rec.parent_code in parents:
                lp.parents["by field"] = lp.parents.get("by field", 0) + 1
            else:
                lp.unmatched_parents.append(rec.code or rec.name)
                lp.add(
                    "error",
                    "unknown_parent",
                    f"{rec.code or rec.name} {rec.name}: parent {rec.parent_code} is not a "
                    f"{parent_layer.value} of this import or the current generation",
                    codes=(rec.code,),
                    features=(rec.feature,),
                    field=lp.source.parent_field,
                )
            continue
        best, best_area = None, 0.0
        for j in tree.query(rec.geom, predicate="intersects"):
            a = shapely.area(shapely.intersection(rec.geom, tree.geometries[j]))
            if a > best_area:
                best, best_area = codes[int(j)], float(a)
        if best is None:
            lp.unmatched_parents.append(rec.code or rec.name)
            lp.add(
                "error",
                "outside_parent",
                f"{rec.code or rec.name} {rec.name} lies outside every {parent_layer.value}",
                codes=(rec.code,),
                features=(rec.feature,),
            )
        else:
            rec.parent_code = best
            lp.parents["by containment"] = lp.parents.get("by containment", 0) + 1


def _generate_unit_grid_codes(s: Session, lp: LayerPlan, base_id: int | None) -> None:
    """Give unit grids without a code the community's 12 digits + a 3-digit sequence.

    A grid with the same community and name (or the same geometry) as a stored
    one keeps that code, so re-importing the same file changes nothing.
    """
    missing = [r for r in lp.records if not r.code]
    if not missing:
        return
    stored = s.execute(
        select(
            Area.code,
            Area.name,
            Area.parent_code,
            Area.geom,
            Area.generation_low_id,
            Area.generation_high_id,
        ).where(Area.type == AreaType.unit_grid)
    ).all()
    used: dict[str, set[int]] = defaultdict(set)
    by_name: dict[tuple[str | None, str], str] = {}
    current = []
    for row in stored:
        if row.code[:12].isdigit() and len(row.code) == 15:
            used[row.code[:12]].add(int(row.code[12:]))
        if base_id is not None and row.generation_low_id <= base_id <= row.generation_high_id:
            by_name[(row.parent_code, row.name)] = row.code
            current.append(row)
    for r in lp.records:
        if r.code and len(r.code) == 15 and r.code.isdigit():
            used[r.code[:12]].add(int(r.code[12:]))
    for r in missing:
        parent = r.parent_code
        if not parent or not (len(parent) == 12 and parent.isdigit()):
            lp.add(
                "error",
                "missing_value",
                f"unit grid {r.name!r} has no code and no 12-digit community to derive one",
                features=(r.feature,),
            )
            continue
        code = by_name.get((parent, r.name))
        if code is None:
            code = next(
                (
                    row.code
                    for row in current
                    if row.parent_code == parent and _same_geometry(row.geom, r.geom)
                ),
                None,
            )
        if code is None:
            seq = max(used[parent], default=0) + 1
            if seq > 999:
                lp.add(
                    "error",
                    "bad_code",
                    f"community {parent} has more than 999 unit grids",
                    features=(r.feature,),
                )
                continue
            used[parent].add(seq)
            code = f"{parent}{seq:03d}"
        r.code = code
        r.code_generated = True
    n = sum(r.code_generated for r in missing)
    if n:
        lp.notes.append(f"{n} unit-grid codes generated (community code + 3-digit sequence)")


def _check_codes(lp: LayerPlan) -> None:
    layer = lp.layer
    for r in lp.records:
        if not r.code:
            if layer != Layer.unit_grid:
                lp.add(
                    "error",
                    "missing_code",
                    f"feature {r.feature} ({r.name}) has no code",
                    features=(r.feature,),
                    field=lp.source.code_field,
                )
            continue
        problem = None
        if layer == Layer.county and not (_DIGITS.match(r.code) and len(r.code) in (6, 12)):
            problem = "a county code has 6 or 12 digits"
        elif layer in (Layer.township, Layer.community) and not (
            _DIGITS.match(r.code) and len(r.code) == 12
        ):
            problem = "a division code (统计用区划代码) has 12 digits"
        elif layer == Layer.unit_grid and not (_DIGITS.match(r.code) and len(r.code) == 15):
            problem = "a unit-grid code has 15 digits (community's 12 + 3)"
        if problem:
            lp.add(
                "error",
                "bad_code",
                f"{r.code} {r.name}: {problem}",
                codes=(r.code,),
                features=(r.feature,),
                field=lp.source.code_field,
            )
            continue
        if layer == Layer.township and r.code.endswith("000") is False:
            lp.add(
                "warning",
                "bad_code",
                f"{r.code} {r.name}: a township code ends in 000",
                codes=(r.code,),
                features=(r.feature,),
            )
        prefix = {Layer.township: 6, Layer.community: 9, Layer.unit_grid: 12}.get(layer)
        if (
            prefix
            and r.parent_code
            and _DIGITS.match(r.parent_code)
            and (r.code[:prefix] != r.parent_code[:prefix])
        ):
            lp.add(
                "warning",
                "code_parent_mismatch",
                f"{r.code} {r.name}: code does not start with its parent's "
                f"{r.parent_code[:prefix]}",
                codes=(r.code, r.parent_code),
                features=(r.feature,),
            )


def _validate(lp: LayerPlan, parents: Mapping[str, BaseGeometry]) -> None:
    records = lp.records
    if not records:
        if lp.n_features and lp.ok:
            lp.add("error", "empty", "no usable feature in the file")
        return
    if lp.layer in LEVEL_TYPES:
        tiling = lp.source.tiling
        if tiling is None:
            tiling = DEFAULT_TILING[lp.layer]
        use_parents = {r.parent_code for r in records if r.parent_code} & set(parents)
        try:
            report = validate_layer(
                [r.geom for r in records],
                [r.code for r in records],
                parent_geoms={c: parents[c] for c in use_parents} or None,
                parent_of=[r.parent_code if r.parent_code in use_parents else None for r in records]
                if use_parents
                else None,
                tiling=tiling,
            )
        except GeoError as exc:
            lp.add("error", "invalid_geometry", str(exc))
            return
        for f in report.findings:
            feats = tuple(records[i].feature for i in f.features if 0 <= i < len(records))
            where = f" at {f.lon:.6f}, {f.lat:.6f}" if f.lon is not None else ""
            lp.add(f.severity, f.kind, f.message + where, codes=tuple(f.codes), features=feats)
        for r in records:
            fixed = report.repaired.get(r.code)
            if fixed is not None:
                r.geom = _polygonal(fixed) or r.geom
        return
    # lines and points: codes and validity here
    seen: dict[str, list[int]] = defaultdict(list)
    for r in records:
        if r.code:
            seen[r.code].append(r.feature)
        if not r.geom.is_valid:
            lp.add(
                "error",
                "invalid_geometry",
                f"{r.code}: {shapely.is_valid_reason(r.geom)}",
                codes=(r.code,),
                features=(r.feature,),
            )
    for code, feats in seen.items():
        if len(feats) > 1:
            lp.add(
                "error",
                "duplicate_code",
                f"code {code} is used by {len(feats)} features "
                f"(features {', '.join(map(str, feats))})",
                codes=(code,),
                features=tuple(feats),
            )


def _model_of(layer: Layer) -> Any:
    if layer == Layer.road_section:
        return RoadSection
    if layer == Layer.key_site:
        return KeySite
    return Area


def _stored_fingerprint(layer: Layer, row: Any) -> str:
    rec = Record(
        0,
        layer,
        str(row.type) if layer in LEVEL_TYPES else layer.value,
        row.code,
        row.name,
        row.geom,
        attributes=row.attributes or {},
    )
    if layer in LEVEL_TYPES:
        rec.parent_code = row.parent_code
    elif layer == Layer.road_section:
        rec.extent = row.extent
    else:
        rec.kind, rec.zone_radius_m = row.kind, float(row.zone_radius_m)
    return rec.fingerprint()


def _compare(s: Session, lp: LayerPlan, base_id: int | None) -> None:
    """Sort the records into new / changed / unchanged, and list the removed."""
    if not lp.ok:
        return
    current: dict[str, Any] = {}
    if base_id is not None:
        model = _model_of(lp.layer)
        q = select(model).where(valid_in(model, base_id))
        if model is Area:
            q = q.where(Area.type.in_([t.value for t in LEVEL_TYPES[lp.layer]]))
        current = {row.code: row for row in s.scalars(q)}
    incoming = set()
    for r in lp.records:
        incoming.add(r.code)
        row = current.get(r.code)
        if row is None:
            lp.new.append(r)
        elif _stored_fingerprint(lp.layer, row) == r.fingerprint() and _same_geometry(
            row.geom, r.geom
        ):
            lp.unchanged.append((r, row.id))
        else:
            lp.changed.append(r)
    lp.removed = sorted((c, row.name) for c, row in current.items() if c not in incoming)


# =========================================================================== commit


def commit_plan(
    store: Store,
    plan: BoundaryPlan,
    *,
    source: str | None = None,
    note: str | None = None,
    progress: ProgressCallback | None = None,
    session: Session | None = None,
) -> CommitResult:
    """Write a planned import as a new, active generation — in one transaction.

    Parameters
    ----------
    store : Store
    plan : BoundaryPlan
        From :func:`plan_boundaries`; must be ``ok``.
    source, note : str, optional
        Recorded on the generation.
    progress : callable, optional
        ``progress(done, total)`` after each written row (e.g. a progress bar).
        An exception raised by it aborts the import and rolls everything back.
    session : Session, optional
        Write in the caller's transaction (the caller commits and then calls
        ``store.rebuild_index()``); by default a transaction of its own, after
        which the new generation's snap index is installed.

    Returns
    -------
    CommitResult
        ``status`` is ``"unchanged"`` (nothing written) when the plan has no change.

    Raises
    ------
    ImportRejectedError
        The plan has errors.
    ConflictError
        Another generation became current since the plan was made.
    """
    if not plan.ok:
        raise ImportRejectedError(plan)
    if not plan.has_changes:
        return CommitResult(plan.base_generation_id, "unchanged")
    total = sum(len(lp.records) for lp in plan.layers)
    done = 0
    added = extended = 0
    with store._use(session) as s:
        base = store.active_generation(s)
        base_id = base.id if base is not None else None
        if base_id != plan.base_generation_id:
            raise ConflictError(
                f"the current generation changed ({plan.base_generation_id} → {base_id}) "
                "since the import was planned; plan it again",
                planned=plan.base_generation_id,
                current=base_id,
            )
        gen = Generation(source=_short(source or _sources_of(plan)), note=note, active=False)
        s.add(gen)
        s.flush()
        imported = {lp.layer for lp in plan.layers}
        for lp in plan.layers:
            keep_ids = [row_id for _, row_id in lp.unchanged]
            model = _model_of(lp.layer)
            for chunk in _chunks(keep_ids, 500):
                extended += store.extend_generation(s, base_id, gen.id, model, model.id.in_(chunk))
            for _ in lp.unchanged:
                done += 1
                if progress is not None:
                    progress(done, total)
            for r in lp.new + lp.changed:
                s.add(_row(r, gen.id))
                added += 1
                done += 1
                if progress is not None:
                    progress(done, total)
                if done % 500 == 0:
                    s.flush()
        if base_id is not None:  # carry every layer that was not imported
            for lay in LAYER_ORDER:
                if lay in imported:
                    continue
                model = _model_of(lay)
                where = None
                if model is Area:
                    where = Area.type.in_([t.value for t in LEVEL_TYPES[lay]])
                extended += store.extend_generation(s, base_id, gen.id, model, where)
        s.flush()
        gen.active = True
        gen.activated = datetime.now(UTC)
        gen_id = gen.id
    if session is None:
        store.rebuild_index()
    return CommitResult(gen_id, "committed", rows_added=added, rows_extended=extended)


def import_boundaries(
    store: Store,
    sources: Sequence[LayerSource],
    *,
    commit: bool = False,
    source: str | None = None,
    note: str | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[BoundaryPlan, CommitResult | None]:
    """Plan an import and, with ``commit=True`` and no errors, commit it.

    Returns
    -------
    (BoundaryPlan, CommitResult or None)
        The result is None for a dry run or a rejected plan.
    """
    plan = plan_boundaries(store, sources)
    if not commit or not plan.ok:
        return plan, None
    return plan, commit_plan(store, plan, source=source, note=note, progress=progress)


# =========================================================================== helpers


def _row(r: Record, gen_id: int) -> Any:
    common = dict(
        code=r.code,
        name=r.name,
        geom=r.geom,
        generation_low_id=gen_id,
        generation_high_id=gen_id,
        attributes=r.attributes or None,
    )
    if r.layer == Layer.road_section:
        return RoadSection(extent=r.extent, **common)
    if r.layer == Layer.key_site:
        return KeySite(kind=r.kind or "other", zone_radius_m=r.zone_radius_m or 400.0, **common)
    return Area(type=AreaType(r.type), parent_code=r.parent_code, **common)


def _chunks(items: Sequence[int], n: int) -> list[Sequence[int]]:
    return [items[i : i + n] for i in range(0, len(items), n)]


def _sources_of(plan: BoundaryPlan) -> str:
    return ", ".join(lp.source.path.name for lp in plan.layers)


def _short(text: str, n: int = 500) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _area_type(layer: Layer, given: str, name: str) -> str:
    valid = [t.value for t in LEVEL_TYPES[layer]]
    if given in valid:
        return given
    if layer == Layer.township:
        return (
            AreaType.street.value
            if name.endswith(zh.AREA_TYPE_LABELS["street"])
            else AreaType.township.value
        )
    if layer == Layer.community:
        return AreaType.village.value if name.endswith("村") else AreaType.community.value
    return valid[0]


def _polygonal(geom: BaseGeometry) -> MultiPolygon | None:
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type == "Polygon":
        return MultiPolygon([geom])
    if geom.geom_type == "MultiPolygon":
        return geom
    if geom.geom_type == "GeometryCollection":
        polys = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
        if polys:
            parts = [p for g in polys for p in shapely.get_parts(g)]
            return MultiPolygon(parts)
    return None


def _line(geom: BaseGeometry) -> LineString | None:
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type == "LineString":
        return geom
    if geom.geom_type == "MultiLineString":
        merged = shapely.line_merge(geom)
        if merged.geom_type == "LineString":
            return merged
    return None


def _same_geometry(a: BaseGeometry, b: BaseGeometry) -> bool:
    if a.geom_type != b.geom_type:
        return False
    return bool(
        shapely.equals_exact(
            shapely.normalize(a), shapely.normalize(b), tolerance=_GEOM_TOLERANCE_DEG
        )
    )


def _canonical(attrs: Mapping[str, Any]) -> str:
    return json.dumps(attrs or {}, ensure_ascii=False, sort_keys=True, default=str)


def _shift_stats(raw: Sequence[Any], converted: Sequence[Any]) -> tuple[float, float]:
    """(median, max) distance in metres between the first vertex as read and as stored."""
    a = _first_vertices(raw)
    b = _first_vertices(converted)
    proj = Projector(metric_epsg_for(b[:, 0]))
    x0, y0 = proj.forward(a[:, 0], a[:, 1])
    x1, y1 = proj.forward(b[:, 0], b[:, 1])
    d = np.hypot(np.asarray(x1) - x0, np.asarray(y1) - y0)
    return float(np.median(d)), float(np.max(d))


def _first_vertices(geoms: Sequence[Any]) -> np.ndarray:
    coords, index = shapely.get_coordinates(np.asarray(geoms, dtype=object), return_index=True)
    _, first = np.unique(index, return_index=True)
    return coords[first]


def _did_you_mean(name: str, choices: Sequence[str]) -> str | None:
    import difflib

    lowered = {c.lower(): c for c in choices}
    if name.lower() in lowered:
        return f"did you mean {lowered[name.lower()]!r}?"
    close = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.6)
    return ("did you mean " + " or ".join(repr(c) for c in close) + "?") if close else None
