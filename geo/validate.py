"""Quality checks for a polygon layer (grids, townships, communities) before import.

:func:`validate_layer` repairs what can be repaired and reports, with a place
and an area, everything a reviewer has to look at:

``null_geometry`` / ``empty_geometry`` / ``not_polygonal`` (error)
    No usable polygon for the feature.
``degenerate_geometry`` (error)
    A polygon whose area is at most ``min_area_m2`` (collapsed rings).
``invalid_geometry`` (warning, error if unrepairable)
    Self-intersection, unclosed ring, bad ring… repaired with
    ``shapely.make_valid`` keeping the polygonal parts; the reason is GEOS's
    ``is_valid_reason``. The repaired geometry is in ``report.repaired``.
``missing_code`` / ``duplicate_code`` (error)
    Every feature needs a unique code.
``overlap`` (error for a tiling, warning otherwise)
    Two features of the layer cover the same ground (found with an STRtree).
``gap`` (error inside a parent; warning inside the outline of a top layer)
    Ground of the parent (or holes in the union of a layer without parents)
    that no feature covers.
``outside_parent`` / ``unknown_parent`` (error)
    Area of a child outside its parent; a child whose parent is unknown.
``sliver`` (warning)
    A thin polygon part: isoperimetric quotient (Polsby–Popper compactness)
    ``4π·A / P²`` below ``sliver_ratio``. It is 1 for a circle, 0.785 for a
    square, 0.14 for a 1:20 rectangle, 0.05 for about 1:60 and 0.02 for 1:155;
    the default 0.05 flags digitising slivers but not street-block grids.

Only overlaps, gaps and outside parts larger than ``min_area_m2`` are reported
(smaller ones are numeric noise along shared edges).

Geometries come in and go out as WGS84 lon/lat; every area and distance is
computed in the CGCS2000 3-degree Gauss-Krüger zone of the data
(:mod:`civgrid.geo.metric`), in square metres, never in degrees.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from civgrid.geo import convert
from civgrid.geo.errors import GeometryError
from civgrid.geo.metric import Projector, metric_epsg_for

__all__ = [
    "DEFAULT_SLIVER_RATIO",
    "Finding",
    "ValidationReport",
    "compactness",
    "validate_layer",
]

#: Polsby–Popper compactness below which a polygon part is a sliver (≈ a 1:60 rectangle).
DEFAULT_SLIVER_RATIO = 0.05

ERROR = "error"
WARNING = "warning"

_REASON_XY = re.compile(r"\[\s*([-+0-9.eE]+)\s+([-+0-9.eE]+)")


@dataclass
class Finding:
    """One problem spot found by :func:`validate_layer`.

    Attributes
    ----------
    kind : str
        ``"overlap"``, ``"gap"``, ``"outside_parent"``, ``"sliver"``,
        ``"invalid_geometry"``, ``"duplicate_code"`` … (see the module docs).
    severity : str
        ``"error"`` (must be fixed before import) or ``"warning"``.
    codes : tuple of str
        Codes of the features involved (for a gap: the parent's code, if any).
    message : str
        Human-readable description, with area and place.
    area_m2 : float or None
        Area of the problem spot in square metres (metric projection).
    lon, lat : float or None
        A representative location of the spot, WGS84 degrees.
    geometry : shapely.Geometry or None
        The problem spot (overlap, gap, part outside, sliver …) in WGS84 lon/lat.
    features : tuple of int
        0-based indices of the features involved in the input.
    """

    kind: str
    severity: str
    codes: tuple[str, ...]
    message: str
    area_m2: float | None = None
    lon: float | None = None
    lat: float | None = None
    geometry: BaseGeometry | None = None
    features: tuple[int, ...] = ()

    def to_dict(self, *, with_geometry: bool = False) -> dict[str, Any]:
        """JSON-friendly dict of the finding.

        Parameters
        ----------
        with_geometry : bool
            Include the geometry as a GeoJSON object (lon/lat, 7 decimals).

        Returns
        -------
        dict
        """
        out: dict[str, Any] = {
            "kind": self.kind,
            "severity": self.severity,
            "codes": list(self.codes),
            "features": list(self.features),
            "message": self.message,
            "area_m2": None if self.area_m2 is None else round(self.area_m2, 2),
            "lon": None if self.lon is None else round(self.lon, 7),
            "lat": None if self.lat is None else round(self.lat, 7),
        }
        if with_geometry:
            out["geometry"] = (
                None if self.geometry is None else convert.to_geojson_geometry(self.geometry)
            )
        return out


@dataclass
class ValidationReport:
    """Result of :func:`validate_layer`.

    Attributes
    ----------
    findings : list of Finding
        Every problem, errors first, then by kind and code.
    repaired : dict
        Code → repaired geometry (WGS84 lon/lat) for features that were invalid
        and could be repaired; use these instead of the originals.
    n_features : int
        Number of features checked.
    metric_epsg : int or None
        EPSG code of the projection used for areas (m²).
    """

    findings: list[Finding] = field(default_factory=list)
    repaired: dict[str, BaseGeometry] = field(default_factory=dict)
    n_features: int = 0
    metric_epsg: int | None = None

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not any(f.severity == ERROR for f in self.findings)

    @property
    def errors(self) -> list[Finding]:
        """Findings of severity ``"error"``."""
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        """Findings of severity ``"warning"``."""
        return [f for f in self.findings if f.severity == WARNING]

    def by_kind(self, kind: str) -> list[Finding]:
        """Findings of one kind.

        Parameters
        ----------
        kind : str
            E.g. ``"overlap"``.

        Returns
        -------
        list of Finding
        """
        return [f for f in self.findings if f.kind == kind]

    def summary(self) -> dict[str, int]:
        """Number of findings per kind.

        Returns
        -------
        dict
            Kind → count, e.g. ``{"overlap": 2, "gap": 1}``; empty when clean.
        """
        return dict(Counter(f.kind for f in self.findings))

    def to_geojson(self) -> dict:
        """The problem spots as a GeoJSON FeatureCollection (WGS84 lon/lat).

        Returns
        -------
        dict
            One Feature per finding; its properties are :meth:`Finding.to_dict`
            (codes as a list, area in m²), its geometry the problem spot or,
            failing that, the representative point.
        """
        features = []
        for f in self.findings:
            geom = f.geometry
            if geom is None and f.lon is not None and f.lat is not None:
                geom = shapely.Point(f.lon, f.lat)
            features.append(convert.feature(geom, f.to_dict()))
        return convert.feature_collection(features)

    def to_text(self) -> str:
        """A plain-text report for the CLI.

        Returns
        -------
        str
            A headline with counts, then one line per finding (severity, kind,
            codes, area in m², lon/lat, message).
        """
        n_err, n_warn = len(self.errors), len(self.warnings)
        head = (
            f"{self.n_features} features checked: "
            f"{n_err} error{'s' if n_err != 1 else ''}, "
            f"{n_warn} warning{'s' if n_warn != 1 else ''}"
        )
        if self.metric_epsg:
            head += f" (areas in m², EPSG:{self.metric_epsg})"
        lines = [head]
        if self.repaired:
            lines.append(f"repaired geometries: {', '.join(sorted(self.repaired))}")
        for f in self.findings:
            where = "" if f.lon is None else f" at {f.lon:.6f}, {f.lat:.6f}"
            lines.append(f"{f.severity.upper():7} {f.kind:16} {f.message}{where}")
        if self.ok:
            lines.append("OK" if not self.findings else "OK (warnings only)")
        return "\n".join(lines)


# =========================================================================== helpers


def compactness(geom: BaseGeometry) -> float:
    """Polsby–Popper compactness ``4π·A / P²`` of a polygon in a metric CRS.

    Parameters
    ----------
    geom : shapely.Geometry
        A polygon in projected metres (the ratio is unitless but degrees
        distort it).

    Returns
    -------
    float
        1 for a circle, 0.785 for a square, towards 0 for thin shapes; 0 for
        empty or zero-perimeter geometries.
    """
    perimeter = geom.length
    return 0.0 if perimeter == 0 else 4.0 * math.pi * geom.area / perimeter**2


def _polygonal(geom: BaseGeometry | None) -> BaseGeometry | None:
    """Polygonal part of a geometry (from make_valid output), or None if it has none."""
    if geom is None or geom.is_empty:
        return None
    if isinstance(geom, Polygon | MultiPolygon):
        return geom
    parts = [
        p
        for p in shapely.get_parts(geom)
        if isinstance(p, Polygon | MultiPolygon) and not p.is_empty
    ]
    polys = []
    for p in parts:
        polys.extend(shapely.get_parts(p) if isinstance(p, MultiPolygon) else [p])
    if not polys:
        return None
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def _close_rings(obj: Any) -> Any:
    """A GeoJSON Polygon/MultiPolygon dict with every ring closed."""

    def close(ring: list) -> list:
        return [*ring, ring[0]] if ring and list(ring[0]) != list(ring[-1]) else ring

    t = obj.get("type")
    coords = obj.get("coordinates")
    if t == "Polygon":
        return {"type": t, "coordinates": [close(list(r)) for r in coords]}
    if t == "MultiPolygon":
        return {"type": t, "coordinates": [[close(list(r)) for r in p] for p in coords]}
    return obj


def _parse(obj: Any, i: int) -> tuple[BaseGeometry | None, str | None]:
    """Shapely geometry of an input item, and a repair note if its rings had to be closed."""
    if obj is None or isinstance(obj, BaseGeometry):
        return obj, None
    try:
        return convert.to_shapely(obj, feature=i), None
    except GeometryError:
        if isinstance(obj, Mapping) and obj.get("type") in ("Polygon", "MultiPolygon"):
            return convert.to_shapely(_close_rings(obj), feature=i), "Unclosed ring"
        if isinstance(obj, bytes | bytearray | memoryview):
            fixed = convert.from_wkb(bytes(obj), feature=i, fix=True)
            if fixed is not None:
                return fixed, "Unclosed ring"
        raise


def _reason_xy(reason: str) -> tuple[float | None, float | None]:
    m = _REASON_XY.search(reason)
    if not m:
        return None, None
    try:
        return float(m.group(1)), float(m.group(2))
    except ValueError:  # pragma: no cover - the regex only matches numbers
        return None, None


def _fmt_area(a: float) -> str:
    return f"{a:,.1f} m²" if a < 10_000 else f"{a:,.0f} m² ({a / 1e6:,.3f} km²)"


class _Layer:
    """Metric copies of the geometries and the projection between them."""

    def __init__(self, lonlat: list[BaseGeometry | None], extra: list[BaseGeometry]) -> None:
        coords = [shapely.get_coordinates(g)[:, 0] for g in [*lonlat, *extra] if g is not None]
        lons = np.concatenate(coords) if coords else np.array([114.0])
        self.epsg = metric_epsg_for(lons)
        self.proj = Projector(self.epsg)

    def forward(self, geoms: Any) -> Any:
        return shapely.transform(
            geoms, lambda xy: np.column_stack(self.proj.forward(xy[:, 0], xy[:, 1]))
        )

    def inverse(self, geoms: Any) -> Any:
        return shapely.transform(
            geoms, lambda xy: np.column_stack(self.proj.inverse(xy[:, 0], xy[:, 1]))
        )

    def spot(self, geom_m: BaseGeometry) -> tuple[BaseGeometry, float, float]:
        """(lon/lat geometry, lon, lat of a representative point) of a metric spot."""
        pt = self.inverse(geom_m.representative_point())
        return self.inverse(geom_m), float(pt.x), float(pt.y)


def _resolve_parents(
    codes: list[str],
    parent_codes: list[str],
    parent_of: Mapping[str, str] | Sequence[str | None] | Callable[[str], str | None] | None,
) -> list[str | None]:
    if parent_of is None:
        if len(parent_codes) == 1:
            return [parent_codes[0]] * len(codes)
        by_len = sorted(parent_codes, key=len, reverse=True)
        return [next((p for p in by_len if c and c.startswith(p)), None) for c in codes]
    if callable(parent_of):
        return [parent_of(c) for c in codes]
    if isinstance(parent_of, Mapping):
        return [parent_of.get(c) for c in codes]
    result = list(parent_of)
    if len(result) != len(codes):
        raise GeometryError(f"parent_of has {len(result)} entries for {len(codes)} features")
    return [None if p is None else str(p) for p in result]


# =========================================================================== validate


def validate_layer(
    geoms: Sequence[Any] | NDArray[np.object_],
    codes: Sequence[Any],
    *,
    parent_geoms: Mapping[str, Any] | BaseGeometry | None = None,
    parent_of: Mapping[str, str] | Sequence[str | None] | Callable[[str], str | None] | None = None,
    tiling: bool = True,
    sliver_ratio: float = DEFAULT_SLIVER_RATIO,
    min_area_m2: float = 1.0,
) -> ValidationReport:
    """Check a polygon layer: validity, codes, overlaps, gaps, containment and slivers.

    Parameters
    ----------
    geoms : sequence
        One polygon per feature in **WGS84 lon/lat** (shapely geometries, or
        anything :func:`civgrid.geo.convert.to_shapely` accepts; GeoJSON or WKB
        with unclosed rings is accepted and reported). None means no geometry.
    codes : sequence
        The feature codes (division or grid codes), same length as ``geoms``.
    parent_geoms : mapping or shapely.Geometry, optional
        Parent code → parent polygon (WGS84 lon/lat), or a single polygon (the
        jurisdiction, code ``"parent"``). Without parents, gaps are looked for
        inside the outline of the layer's union.
    parent_of : mapping, sequence or callable, optional
        The parent code of each child: a child code → parent code mapping, a
        sequence aligned with ``geoms``, or a function of the child code. By
        default, a single parent takes every child; otherwise a child's parent
        is the longest parent code that prefixes its code (411421 → 411421001 →
        411421001001, as statistical division codes nest).
    tiling : bool
        The features are meant to cover the parent without overlaps (grids,
        townships): overlaps and gaps are errors. False for layers that may
        overlap and need not cover (zones, supervision areas): overlaps become
        warnings and gaps are not looked for.
    sliver_ratio : float
        Polsby–Popper compactness ``4π·A/P²`` below which a polygon part is
        reported as a sliver (default 0.05, about a 1:60 rectangle).
    min_area_m2 : float
        Overlaps, gaps and parts outside the parent smaller than this (m²) are
        ignored as numeric noise.

    Returns
    -------
    ValidationReport
        Findings (areas in m², locations in lon/lat) and repaired geometries.

    Raises
    ------
    GeometryError
        ``geoms`` and ``codes`` differ in length, or an input item cannot be
        parsed at all.
    """
    items = list(geoms)
    code_list = [None if c is None else str(c) for c in codes]
    if len(items) != len(code_list):
        raise GeometryError(f"{len(items)} geometries but {len(code_list)} codes")
    if isinstance(parent_geoms, BaseGeometry):
        parent_geoms = {"parent": parent_geoms}
    check = _Checker(code_list, min_area_m2)
    check.codes()
    lonlat = check.repair(items)
    parents_ll: dict[str, BaseGeometry] = {}
    for pc, pg in (parent_geoms or {}).items():
        g = _polygonal(shapely.make_valid(convert.to_shapely(pg, feature=str(pc))))
        if g is not None:
            parents_ll[str(pc)] = g
    check.project(lonlat, parents_ll)
    check.overlaps(ERROR if tiling else WARNING)
    if parents_ll:
        check.parents(parent_of, gaps=tiling)
    elif tiling:
        check.outline_gaps()
    check.slivers(sliver_ratio)
    order = {ERROR: 0, WARNING: 1}
    check.findings.sort(key=lambda f: (order[f.severity], f.kind, f.codes))
    return ValidationReport(
        findings=check.findings,
        repaired=check.repaired,
        n_features=len(items),
        metric_epsg=check.layer.epsg if check.layer else None,
    )


class _Checker:
    """State of one validate_layer run: codes, metric geometries and the findings so far."""

    def __init__(self, codes: list[str | None], min_area_m2: float) -> None:
        self.code_list = codes
        self.min_area = min_area_m2
        self.findings: list[Finding] = []
        self.repaired: dict[str, BaseGeometry] = {}
        self.layer: _Layer | None = None
        self.metric: list[BaseGeometry | None] = []
        self.present: list[int] = []  # indices with a usable metric polygon
        self.parents_m: dict[str, BaseGeometry] = {}

    def label(self, i: int) -> str:
        return self.code_list[i] or f"#{i}"

    def add(self, kind: str, severity: str, codes: tuple[str, ...], message: str, **kw) -> None:
        self.findings.append(Finding(kind, severity, codes, message, **kw))

    def add_spot(
        self,
        kind: str,
        severity: str,
        codes: tuple[str, ...],
        message: str,
        spot_m: BaseGeometry,
        features: tuple[int, ...] = (),
    ) -> None:
        """Add a finding located at a metric geometry (area, lon/lat, spot from it)."""
        assert self.layer is not None
        spot_ll, lon, lat = self.layer.spot(spot_m)
        self.add(
            kind,
            severity,
            codes,
            message,
            area_m2=float(spot_m.area),
            lon=lon,
            lat=lat,
            geometry=spot_ll,
            features=features,
        )

    # ---- codes
    def codes(self) -> None:
        positions: dict[str, list[int]] = defaultdict(list)
        for i, c in enumerate(self.code_list):
            if not c or not c.strip():
                self.add("missing_code", ERROR, (), f"feature {i} has no code", features=(i,))
            else:
                positions[c].append(i)
        for c, idx in positions.items():
            if len(idx) > 1:
                self.add(
                    "duplicate_code",
                    ERROR,
                    (c,),
                    f"code {c} is used by {len(idx)} features "
                    f"(features {', '.join(map(str, idx))})",
                    features=tuple(idx),
                )

    # ---- validity and repair, in lon/lat as given
    def repair(self, items: list[Any]) -> list[BaseGeometry | None]:
        return [self._repair_one(i, obj) for i, obj in enumerate(items)]

    def _repair_one(self, i: int, obj: Any) -> BaseGeometry | None:
        name = self.label(i)
        g, note = _parse(obj, i)
        if g is None or g.is_empty:
            kind = "null_geometry" if g is None else "empty_geometry"
            text = "no geometry" if g is None else "empty geometry"
            self.add(kind, ERROR, (name,), f"{name}: {text}", features=(i,))
            return None
        reason = note or (None if g.is_valid else shapely.is_valid_reason(g))
        if reason:
            fixed = _polygonal(shapely.make_valid(g))
            x, y = _reason_xy(reason)
            if x is None:
                pt = shapely.centroid(g)
                x, y = pt.x, pt.y
            where = {"lon": x, "lat": y, "geometry": shapely.Point(x, y), "features": (i,)}
            if fixed is None:
                self.add(
                    "invalid_geometry",
                    ERROR,
                    (name,),
                    f"{name}: invalid geometry ({reason}) cannot be repaired",
                    **where,
                )
                return None
            self.add(
                "invalid_geometry",
                WARNING,
                (name,),
                f"{name}: invalid geometry ({reason}), repaired with make_valid",
                **where,
            )
            if self.code_list[i]:
                self.repaired[self.code_list[i]] = fixed
            g = fixed
        poly = _polygonal(g)
        if poly is None:
            self.add(
                "not_polygonal",
                ERROR,
                (name,),
                f"{name}: a polygon was expected, got a {g.geom_type}",
                features=(i,),
            )
        return poly

    # ---- metric copies
    def project(self, lonlat: list[BaseGeometry | None], parents: dict[str, BaseGeometry]) -> None:
        self.layer = _Layer(lonlat, list(parents.values()))
        self.metric = [None] * len(lonlat)
        idx = [i for i, g in enumerate(lonlat) if g is not None]
        if idx:
            projected = self.layer.forward(np.array([lonlat[i] for i in idx], dtype=object))
            for i, g in zip(idx, projected, strict=True):
                self.metric[i] = g if g.is_valid else _polygonal(shapely.make_valid(g))
        self.parents_m = {
            pc: _polygonal(shapely.make_valid(self.layer.forward(g))) for pc, g in parents.items()
        }
        for i in idx:
            area = self.metric[i].area if self.metric[i] is not None else 0.0
            if area <= self.min_area:
                self.add(
                    "degenerate_geometry",
                    ERROR,
                    (self.label(i),),
                    f"{self.label(i)}: polygon area {area:,.3f} m² is not above "
                    f"{self.min_area:g} m²",
                    area_m2=float(area),
                    features=(i,),
                )
                self.metric[i] = None
            else:
                self.present.append(i)

    # ---- overlaps: STRtree, each pair once
    def overlaps(self, severity: str) -> None:
        if len(self.present) < 2:
            return
        arr = np.array([self.metric[i] for i in self.present], dtype=object)
        a_idx, b_idx = shapely.STRtree(arr).query(arr, predicate="intersects")
        keep = a_idx < b_idx
        a_idx, b_idx = a_idx[keep], b_idx[keep]
        if a_idx.size:
            touching = shapely.touches(arr[a_idx], arr[b_idx])
            a_idx, b_idx = a_idx[~touching], b_idx[~touching]
        if not a_idx.size:
            return
        inter = shapely.intersection(arr[a_idx], arr[b_idx])
        for a, b, g in zip(a_idx, b_idx, inter, strict=True):
            spot = _polygonal(g)
            if spot is None or spot.area <= self.min_area:
                continue
            i, j = self.present[a], self.present[b]
            li, lj = self.label(i), self.label(j)
            self.add_spot(
                "overlap",
                severity,
                (li, lj),
                f"{li} and {lj} overlap by {_fmt_area(spot.area)}",
                spot,
                (i, j),
            )

    # ---- parents: containment and gaps
    def parents(self, parent_of: Any, *, gaps: bool) -> None:
        parent_list = list(self.parents_m)
        assigned = _resolve_parents([c or "" for c in self.code_list], parent_list, parent_of)
        children: dict[str, list[int]] = defaultdict(list)
        for i in self.present:
            p, name = assigned[i], self.label(i)
            if p is None or self.parents_m.get(p) is None:
                self.add(
                    "unknown_parent",
                    ERROR,
                    (name,),
                    f"{name}: no parent found for this code"
                    if p is None
                    else f"{name}: parent {p!r} is not among the parents given",
                    features=(i,),
                )
                continue
            children[p].append(i)
            outside = _polygonal(shapely.difference(self.metric[i], self.parents_m[p]))
            if outside is not None and outside.area > self.min_area:
                share = outside.area / self.metric[i].area
                self.add_spot(
                    "outside_parent",
                    ERROR,
                    (name, p),
                    f"{name} lies {_fmt_area(outside.area)} ({share:.1%}) outside its parent {p}",
                    outside,
                    (i,),
                )
        if not gaps:
            return
        for p, parent in self.parents_m.items():
            if parent is None:
                continue
            kids = [self.metric[i] for i in children.get(p, [])]
            covered = shapely.union_all(kids) if kids else Polygon()
            self._gaps(shapely.difference(parent, covered), (p,), f"inside parent {p}", ERROR)

    def outline_gaps(self) -> None:
        """Holes in the union of a layer without parents (warnings: they may be enclaves)."""
        if not self.present:
            return
        union = shapely.union_all([self.metric[i] for i in self.present])
        holes = [
            Polygon(ring)
            for poly in shapely.get_parts(union)
            if isinstance(poly, Polygon)
            for ring in poly.interiors
        ]
        if holes:
            self._gaps(MultiPolygon(holes), (), "inside the layer's outline", WARNING)

    def _gaps(self, gaps: BaseGeometry, codes: tuple[str, ...], where: str, severity: str) -> None:
        poly = _polygonal(gaps)
        if poly is None:
            return
        for part in shapely.get_parts(poly):
            if part.area > self.min_area:
                self.add_spot(
                    "gap",
                    severity,
                    codes,
                    f"gap of {_fmt_area(part.area)} {where} not covered by any feature",
                    part,
                )

    # ---- slivers, per polygon part
    def slivers(self, ratio_limit: float) -> None:
        for i in self.present:
            for part in shapely.get_parts(self.metric[i]):
                ratio = compactness(part)
                if ratio < ratio_limit:
                    name = self.label(i)
                    self.add_spot(
                        "sliver",
                        WARNING,
                        (name,),
                        f"{name} has a sliver of {_fmt_area(part.area)} "
                        f"(compactness {ratio:.3f} < {ratio_limit:g}, mean width "
                        f"{2 * part.area / part.length:,.1f} m)",
                        part,
                        (i,),
                    )
