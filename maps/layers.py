"""GeoJSON of the map layers, built from the store: plain functions, data in → dict out.

Every layer of the command-center map is a FeatureCollection in the display
CRS (:mod:`civgrid.maps.display`) with Chinese-ready properties:

=================== ============ ==================================================
layer               label        properties (besides ``code``, ``name``)
=================== ============ ==================================================
``county``          县界          —
``township``        乡镇/街道      type label, contact leaders, issue counts
``community``       社区/行政村    contract leader, paired and responsible units, counts
``unit_grid``       单元网格       kind, responsible units, counts
``road_section``    路段          extent, road chiefs, responsible units, counts
``key_site``        重点点位       kind, lead and responsible units, zone radius, counts
``key_site_zone``   周边400米      the ring around each key site (buffer in metres)
``supervision_area`` 督导范围      supervision teams, counts
``central_city``    中心城区       counts (the central/rural split of the county)
=================== ============ ==================================================

Issue counts (``open``, ``overdue``, ``recurring``, ``total``) come from the
places recorded at report time (the issue's place set), so a layer's numbers match
what the issue lists show for the same object.

Large polygons are simplified **per zoom** in the metric CRS (CGCS2000
Gauss-Krüger, metres; never degrees) with a tolerance of half a screen pixel;
tiling layers (townships, communities, unit grids) use shapely's coverage
simplification so neighbours keep a shared edge. Simplified geometries are
cached per (generation, layer, zoom, display CRS) in a :class:`GeometryCache`.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from sqlalchemy import DateTime, String, and_, case, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from civgrid.geo import convert
from civgrid.geo.metric import Projector, metric_epsg_for
from civgrid.grids.boundaries.models import (
    Area,
    AreaType,
    Assignment,
    KeySite,
    Layer,
    Leader,
    RoadSection,
    SubjectKind,
    Unit,
)
from civgrid.grids.core import labels as zh
from civgrid.grids.issues.models import Issue, PlaceSetMember
from civgrid.grids.issues.workflow import State, open_states
from civgrid.maps.display import bbox_from_display, check_display_crs, to_display_geoms

__all__ = [
    "AREA_TYPE_LABELS",
    "EXTRA_LAYERS",
    "LAYERS",
    "ROLE_LABELS",
    "GeometryCache",
    "LayerInfo",
    "issue_counts",
    "layer_geojson",
    "leader_objects",
    "point_layer_geojson",
    "tolerance_m",
]


#: Labels live in :mod:`civgrid.grids.core.labels`; re-exported for the pages.
AREA_TYPE_LABELS = zh.AREA_TYPE_LABELS
#: Who holds a role, as a popup row title (联系领导, 分包领导, 联建单位 …).
ROLE_LABELS = {r: zh.role_holder_label(r) for r in zh.ROLE_LABELS}


@dataclass(frozen=True)
class LayerInfo:
    """A map layer: key, Chinese label, geometry kind and where its rows come from."""

    key: str
    label: str
    geometry: str  # polygon / line / point
    tiling: bool = False  # coverage-simplified
    counts: bool = True  # carries issue counts

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "geometry": self.geometry}


LAYERS: dict[str, LayerInfo] = {
    i.key: i
    for i in (
        LayerInfo("county", zh.MAP_LAYER_LABELS["county"], "polygon", counts=False),
        LayerInfo("township", zh.MAP_LAYER_LABELS["township"], "polygon", tiling=True),
        LayerInfo("central_city", zh.MAP_LAYER_LABELS["central_city"], "polygon"),
        LayerInfo("community", zh.MAP_LAYER_LABELS["community"], "polygon", tiling=True),
        LayerInfo("unit_grid", zh.MAP_LAYER_LABELS["unit_grid"], "polygon", tiling=True),
        LayerInfo("road_section", zh.MAP_LAYER_LABELS["road_section"], "line"),
        LayerInfo("key_site", zh.MAP_LAYER_LABELS["key_site"], "point"),
        LayerInfo("key_site_zone", zh.MAP_LAYER_LABELS["key_site_zone"], "polygon", counts=False),
        LayerInfo("supervision_area", zh.MAP_LAYER_LABELS["supervision_area"], "polygon"),
    )
}

#: Layers of the command map served by their own routes (not boundary layers): the
#: field-assessment points (测评点位, :func:`point_layer_geojson`), scoped like ``/points``.
EXTRA_LAYERS: dict[str, LayerInfo] = {
    "assessment_point": LayerInfo(
        "assessment_point", zh.LAYER_LABELS["assessment_point"], "point", counts=False
    ),
}

#: Metres per pixel of Web Mercator at zoom 0 on the equator.
_M_PER_PX_Z0 = 156_543.033_928


def tolerance_m(zoom: float | None, lat: float | None = None) -> float:
    """Simplification tolerance (metres) at a web-map zoom: half a pixel; 0 when zoom is None.

    ``lat`` defaults to the latitude of the city's map centre.

    Examples
    --------
    >>> round(tolerance_m(10, 33.0), 1), round(tolerance_m(16, 33.0), 2)
    (64.1, 1.0)
    >>> tolerance_m(None)
    0.0
    """
    if zoom is None:
        return 0.0
    if lat is None:
        from civgrid.grids.core.city import current_city

        lat = current_city().center[1]
    z = min(max(float(zoom), 0.0), 22.0)
    return 0.5 * _M_PER_PX_Z0 * math.cos(math.radians(lat)) / 2.0**z


def _decimals_for(zoom: float | None) -> int:
    """Output decimals: 1e-5° ≈ 1 m is plenty below zoom 14, 1e-6 up to 18, else 7."""
    if zoom is None or zoom >= 18:
        return 7
    return 5 if zoom < 14 else 6


class GeometryCache:
    """A small thread-safe LRU of simplified, display-shifted layer geometries.

    Keys are (store id, generation, layer, zoom, display CRS); a generation's
    geometry never changes, so entries never go stale.
    """

    def __init__(self, maxsize: int = 64) -> None:
        self._data: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.maxsize = maxsize

    def get(self, key: tuple) -> Any:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        return None

    def put(self, key: tuple, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)


# --------------------------------------------------------------------------- geometry


@lru_cache(maxsize=8)
def _projector(epsg: int) -> Projector:
    """Projectors are costly to build (pyproj transformers): one per zone."""
    return Projector(epsg)


def _metric(geoms: np.ndarray) -> tuple[Projector, np.ndarray]:
    bounds = shapely.bounds(geoms)
    lon_mid = float(np.nanmedian((bounds[:, 0] + bounds[:, 2]) / 2))
    proj = _projector(metric_epsg_for(lon_mid))

    def fwd(c: np.ndarray) -> np.ndarray:
        x, y = proj.forward(c[:, 0], c[:, 1])
        return np.column_stack([x, y])

    return proj, shapely.transform(geoms, fwd)


def _unproject(proj: Projector, geoms: np.ndarray) -> np.ndarray:
    def inv(c: np.ndarray) -> np.ndarray:
        if c.shape[0] == 0:
            return c
        lon, lat = proj.inverse(c[:, 0], c[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geoms, inv)


def simplify_lonlat(geoms: Sequence[Any], tol_m: float, *, coverage: bool = False) -> np.ndarray:
    """Simplify lon/lat geometries with a tolerance in metres (in the metric CRS).

    Parameters
    ----------
    geoms : sequence of shapely geometries
        WGS84 lon/lat.
    tol_m : float
        Tolerance in metres; 0 returns the input.
    coverage : bool
        The polygons form a coverage (no overlaps): simplify shared edges once
        (``shapely.coverage_simplify``) so neighbours stay gap-free.

    Returns
    -------
    ndarray of shapely geometries, lon/lat
    """
    arr = np.asarray(list(geoms), dtype=object)
    if tol_m <= 0 or arr.size == 0:
        return arr
    proj, metric = _metric(arr)
    if coverage:
        try:
            simple = shapely.coverage_simplify(metric, tol_m, simplify_boundary=True)
        except shapely.errors.GEOSException:  # not a valid coverage: fall back per polygon
            simple = shapely.simplify(metric, tol_m, preserve_topology=True)
    else:
        simple = shapely.simplify(metric, tol_m, preserve_topology=True)
    return _unproject(proj, simple)


def zone_rings(geoms: Sequence[Any], radii_m: Sequence[float]) -> np.ndarray:
    """The zones around key sites: buffers of ``radii_m`` metres, computed in the metric CRS.

    Parameters
    ----------
    geoms : sequence of shapely geometries
        Key sites (points or polygons), WGS84 lon/lat.
    radii_m : sequence of float
        Zone radius per site, metres (周边400米: 400).

    Returns
    -------
    ndarray of shapely Polygons, WGS84 lon/lat
    """
    arr = np.asarray(list(geoms), dtype=object)
    if arr.size == 0:
        return arr
    proj, metric = _metric(arr)
    rings = shapely.buffer(metric, np.asarray(radii_m, dtype=float), quad_segs=16)
    return _unproject(proj, rings)


# --------------------------------------------------------------------------- attributes


def _today(day: date | None) -> date:
    return day or datetime.now(UTC).date()


def holders(session: Session, layer: str, day: date | None = None) -> dict[str, dict[str, list]]:
    """Who holds each object of ``layer`` on ``day``: code → role → [{key, name, kind}].

    Leaders are named by title (no personal names in the UI).
    """
    d = _today(day)
    rows = session.execute(
        select(Assignment, Unit, Leader)
        .outerjoin(Unit, Assignment.unit_id == Unit.id)
        .outerjoin(Leader, Assignment.leader_id == Leader.id)
        .where(
            Assignment.object_layer == Layer(layer),
            Assignment.in_force_on(d),
        )
        .order_by(Assignment.id)
    ).all()
    out: dict[str, dict[str, list]] = {}
    for a, unit, leader in rows:
        if a.subject_kind == SubjectKind.leader and leader is not None:
            who = {"key": leader.key, "name": leader.title, "kind": "leader"}
        elif unit is not None:
            who = {"key": unit.key, "name": unit.name, "kind": str(unit.kind)}
        else:  # pragma: no cover - the check constraint forbids it
            continue
        if a.category_code:
            who["category"] = a.category_code
        roles = out.setdefault(a.object_code, {})
        lst = roles.setdefault(str(a.role), [])
        if all(w["key"] != who["key"] for w in lst):
            lst.append(who)
    return out


def issue_counts(
    session: Session,
    layer: str,
    *,
    codes: Iterable[str] | None = None,
    since: datetime | None = None,
    conditions: Sequence[Any] = (),
) -> dict[str, dict[str, int]]:
    """Issue counts per object of ``layer``: code → {open, overdue, recurring, total}.

    Parameters
    ----------
    session : Session
    layer : str
        ``township``, ``community``, ``unit_grid``, ``road_section``, ``key_site``,
        ``supervision_area`` (the layers of the place sets).
    codes : iterable of str, optional
        Only these objects.
    since : datetime, optional
        Only issues reported at or after this time (``open`` counts every open one).
    conditions : sequence of SQL expressions
        Further restrictions on ``issues`` rows, e.g. the caller's scope
        (:meth:`civgrid.grids.accounts.permissions.Scope.issue_conditions`).

    Returns
    -------
    dict
        ``recurring`` counts issues that are a recurrence (反弹回潮) of an earlier one.
    """
    is_open = Issue.state.in_(open_states())
    q = (
        select(
            PlaceSetMember.code,
            func.count(Issue.id),
            func.sum(case((is_open, 1), else_=0)),
            func.sum(case((and_(is_open, Issue.overdue.is_(True)), 1), else_=0)),
            func.sum(case((Issue.recurrence_of_id.is_not(None), 1), else_=0)),
        )
        .join(Issue, Issue.place_set_id == PlaceSetMember.set_id)
        .where(PlaceSetMember.layer == layer, Issue.state != State.merged)
        .group_by(PlaceSetMember.code)
    )
    if codes is not None:
        q = q.where(PlaceSetMember.code.in_(list(codes)))
    if since is not None:
        q = q.where(or_(Issue.reported_at >= since, is_open))
    if conditions:
        q = q.where(*conditions)
    out: dict[str, dict[str, int]] = {}
    for code, total, n_open, n_overdue, n_rec in session.execute(q):
        out[code] = {
            "total": int(total or 0),
            "open": int(n_open or 0),
            "overdue": int(n_overdue or 0),
            "recurring": int(n_rec or 0),
        }
    return out


_ZERO = {"total": 0, "open": 0, "overdue": 0, "recurring": 0}


def leader_objects(session: Session, leader_key: str, day: date | None = None) -> dict[str, set]:
    """The objects a leader answers for on ``day``: layer → set of codes.

    Roles: ``contact`` (townships), ``contract`` (communities), ``road_chief``
    (road sections) — and any other role a city gives leaders.
    """
    d = _today(day)
    rows = session.execute(
        select(Assignment.object_layer, Assignment.object_code)
        .join(Leader, Assignment.leader_id == Leader.id)
        .where(
            Leader.key == leader_key,
            Assignment.in_force_on(d),
        )
    ).all()
    out: dict[str, set] = {}
    for lay, code in rows:
        out.setdefault(str(lay), set()).add(code)
    return out


def _names(lst: list[dict] | None) -> str:
    return "、".join(dict.fromkeys(w["name"] for w in lst or []))


# --------------------------------------------------------------------------- layers


def _rows(store: Any, session: Session, layer: str, generation: int | None) -> list[Any]:
    if layer in ("county", "township", "community", "unit_grid", "supervision_area") or (
        layer == "central_city"
    ):
        return store.areas(layer=layer, generation=generation, session=session)
    if layer == "road_section":
        return store.road_sections(generation=generation, session=session)
    if layer in ("key_site", "key_site_zone"):
        return store.key_sites(generation=generation, session=session)
    raise KeyError(layer)


def _properties(
    layer: str, row: Any, hold: dict[str, list], counts: dict[str, int] | None
) -> dict[str, Any]:
    attrs = row.attributes or {}
    p: dict[str, Any] = {"code": row.code, "name": row.name, "layer": layer}
    if isinstance(row, Area):
        p["type"] = str(row.type)
        p["type_label"] = AREA_TYPE_LABELS.get(str(row.type), str(row.type))
        if row.parent_code:
            p["parent_code"] = row.parent_code
        if row.type == AreaType.unit_grid and attrs.get("kind_zh"):
            p["kind_label"] = attrs["kind_zh"]
    elif isinstance(row, RoadSection):
        if row.extent:
            p["extent"] = row.extent
    elif isinstance(row, KeySite):
        p["kind"] = row.kind
        p["kind_label"] = attrs.get("kind_zh") or row.kind
        p["zone_radius_m"] = float(row.zone_radius_m)
    for role, lst in hold.items():
        p[role] = _names(lst)
        if role in ("contact", "contract", "road_chief"):
            p[f"{role}_keys"] = [w["key"] for w in lst]
    if counts is not None:
        p.update(counts)
    return p


def _geometries(
    store: Any,
    rows: list[Any],
    layer: str,
    info: LayerInfo,
    zoom: float | None,
    display_crs: str,
    gen_id: int | None,
    cache: GeometryCache | None,
) -> np.ndarray:
    zkey = None if zoom is None else math.floor(zoom)
    key = (id(store), gen_id, layer, zkey, display_crs, tuple(r.id for r in rows))
    if cache is not None:
        hit = cache.get(key)
        if hit is not None:
            return hit
    geoms = [r.geom for r in rows]
    if layer == "key_site_zone":
        geoms = list(zone_rings(geoms, [r.zone_radius_m for r in rows]))
    if info.geometry != "point":
        lat: float | None = None  # the city's centre latitude
        if geoms:
            b = shapely.total_bounds(np.asarray(geoms, dtype=object))
            lat = float((b[1] + b[3]) / 2)
        geoms = simplify_lonlat(geoms, tolerance_m(zkey, lat), coverage=info.tiling)
    if layer == "key_site":  # markers: the site's point (polygons → a point inside)
        geoms = [g if g.geom_type == "Point" else g.representative_point() for g in geoms]
    arr = to_display_geoms(np.asarray(list(geoms), dtype=object), display_crs)
    if cache is not None:
        cache.put(key, arr)
    return arr


def layer_geojson(
    store: Any,
    session: Session,
    layer: str,
    *,
    zoom: float | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    display_crs: str = "wgs84",
    codes: Iterable[str] | None = None,
    generation: int | None = None,
    cache: GeometryCache | None = None,
    day: date | None = None,
    issue_conditions: Sequence[Any] = (),
) -> dict:
    """A map layer as a GeoJSON FeatureCollection in the display CRS.

    Parameters
    ----------
    store : Store
    session : Session
    layer : str
        A key of :data:`LAYERS`.
    zoom : float, optional
        Web-map zoom: geometry simplified to half a pixel there; None = full detail.
    bbox : (minlon, minlat, maxlon, maxlat), optional
        Only features meeting this box, given in the **display** CRS.
    display_crs : str
        ``"wgs84"`` or ``"gcj02"`` (the basemap's, see :mod:`civgrid.maps.basemaps`).
    codes : iterable of str, optional
        Only these objects (e.g. a leader's).
    generation : int, optional
        Boundary generation (default: current).
    cache : GeometryCache, optional
    day : date, optional
        Assignments valid on this day (default: today).
    issue_conditions : sequence of SQL expressions
        Restrict the issue counts (the caller's scope): a unit handler's map
        counts only the issues they may read.

    Returns
    -------
    dict
        FeatureCollection with members ``layer``, ``label``, ``display_crs``,
        ``generation``, ``zoom`` and ``features`` (``id`` = object code).

    Raises
    ------
    KeyError
        Unknown layer.
    """
    info = LAYERS[layer]
    display_crs = check_display_crs(display_crs)
    rows = _rows(store, session, layer, generation)
    if codes is not None:
        wanted = set(codes)
        rows = [r for r in rows if r.code in wanted]
    gen_id = rows[0].generation_high_id if rows else None
    geoms = _geometries(store, rows, layer, info, zoom, display_crs, gen_id, cache)
    if bbox is not None and len(rows):
        # bbox is in display coordinates, as are the geometries now
        box = shapely.box(*bbox)
        keep = shapely.intersects(geoms, box)
        rows = [r for r, k in zip(rows, keep, strict=True) if k]
        geoms = geoms[keep]
    source_layer = "key_site" if layer == "key_site_zone" else layer
    hold = holders(session, source_layer, day) if layer not in ("county",) else {}
    counts = (
        issue_counts(
            session, source_layer, codes=[r.code for r in rows], conditions=issue_conditions
        )
        if info.counts
        else None
    )
    decimals = _decimals_for(zoom)
    features = []
    for row, geom in zip(rows, geoms, strict=True):
        props = _properties(
            layer,
            row,
            hold.get(row.code, {}),
            None if counts is None else counts.get(row.code, _ZERO),
        )
        features.append(convert.feature(geom, props, id=row.code, decimals=decimals))
    return {
        "type": "FeatureCollection",
        "layer": layer,
        "label": info.label,
        "display_crs": display_crs,
        "generation": gen_id,
        "zoom": zoom,
        "features": features,
    }


#: Properties of a point on the command map (rows of ``grids.points.register.point_rows``).
_POINT_PROPS = (
    "code",
    "name",
    "point_type",
    "point_type_label",
    "community_code",
    "responsible_unit_key",
    "responsible_unit_name",
    "point_chief",
    "must_check",
    "compliance",
    "compliance_label",
    "compliance_color",
    "last_inspected_at",
    "failed",
)


def point_layer_geojson(rows: Sequence[dict[str, Any]], display_crs: str = "wgs84") -> dict:
    """The field-assessment points as a command-map layer, coloured by compliance.

    Parameters
    ----------
    rows : sequence of dict
        :func:`civgrid.grids.points.register.point_rows` with ``with_geometry`` (WGS84
        GeoJSON geometry; the caller has filtered them by scope).
    display_crs : str
        ``"wgs84"`` or ``"gcj02"``.

    Returns
    -------
    dict
        FeatureCollection (``layer`` ``assessment_point``) in the display CRS; each
        feature's ``compliance_color`` is the colour of 达标 / 不达标 / 未检 and
        ``must_check`` marks a 必查点.

    Examples
    --------
    >>> row = {"code": "P1", "name": "甲", "compliance": "non_compliant", "must_check": True,
    ...        "geometry": {"type": "Point", "coordinates": [112.95, 33.06]}}
    >>> fc = point_layer_geojson([row])
    >>> fc["features"][0]["properties"]["must_check"], fc["features"][0]["id"]
    (True, 'P1')
    """
    crs = check_display_crs(display_crs)
    geoms = np.array([shapely.geometry.shape(r["geometry"]) for r in rows], dtype=object)
    if len(geoms):
        geoms = to_display_geoms(geoms, crs)
    info = EXTRA_LAYERS["assessment_point"]
    features = [
        convert.feature(
            g, {k: r.get(k) for k in _POINT_PROPS}, id=r["code"], decimals=_decimals_for(None)
        )
        for r, g in zip(rows, geoms, strict=True)
    ]
    return {
        "type": "FeatureCollection",
        "layer": info.key,
        "label": info.label,
        "display_crs": crs,
        "generation": None,
        "zoom": None,
        "features": features,
    }


def wgs84_bbox(bbox: tuple[float, float, float, float], display_crs: str) -> tuple:
    """A display-CRS bbox as WGS84, padded 50 m (for issue queries)."""
    return bbox_from_display(bbox, display_crs, pad_m=50.0)


# --------------------------------------------------------------------------- issues

#: Marker colour of an overdue issue (state colours: the workflow table).
OVERDUE_COLOR = "#d50000"


def _iso(t: datetime | None) -> str | None:
    if t is None:
        return None
    return (t if t.tzinfo is UTC else t.astimezone(UTC)).isoformat(timespec="minutes")


def _stored_iso(t: datetime | None) -> str | None:
    """:func:`_iso` of a stored time as the driver gives it (naive on SQLite: UTC)."""
    if t is None:
        return None
    if t.tzinfo is None:
        return t.isoformat(timespec="minutes") + "+00:00"
    return _iso(t)


def issue_feature_properties(
    issue: Any, now: datetime, labels: dict[str, str], *, detail: bool = True
) -> dict[str, Any]:
    """Popup-ready properties of one issue (what the map shows, nothing personal).

    With ``detail=False`` only what markers, filters and selection need (about a
    third of the size); a page with an API fetches the rest when a popup opens.
    """
    routing = issue.routing or {}
    community = routing.get("community") or {}
    township = routing.get("township") or {}
    state = str(issue.state)
    p: dict[str, Any] = {
        "id": issue.id,
        "version": issue.version,
        "state": state,
        "open": state in open_states(),
        "overdue": bool(issue.overdue),
        "category": issue.category_code,
        "source": issue.source,
        "reported_at": _iso(issue.reported_at),
        "township_code": township.get("code"),
        "community_code": community.get("code"),
        "recurrence": issue.recurrence_of_id is not None,
    }
    if not detail:
        return p
    parties = list(issue.parties)
    owner = issue.owner_unit
    leaders = [pt.leader.title for pt in parties if pt.leader is not None]
    co = [pt.unit.name for pt in parties if pt.role == "co_responsible" and pt.unit is not None]
    road = routing.get("road_section") or {}
    age_days = (now - issue.reported_at).total_seconds() / 86400.0
    desc = issue.description or ""
    p.update(
        {
            "state_label": labels.get(state, state),
            "escalated": bool(issue.escalated),
            "category_name": issue.category.name if issue.category is not None else None,
            "deadline": _iso(issue.deadline),
            "age_days": round(age_days, 1),
            "owner_unit": owner.name if owner is not None else None,
            "owner_unit_key": owner.key if owner is not None else None,
            "co_units": "、".join(co),
            "leaders": "、".join(dict.fromkeys(leaders)),
            "township": township.get("name"),
            "community": community.get("name"),
            "road_section": road.get("name"),
            "repeat_count": issue.repeat_count,
            "address": issue.address,
            "description": desc if len(desc) <= 60 else desc[:59] + "…",
        }
    )
    return p


def issues_geojson(
    session: Session,
    issues: Sequence[Any],
    *,
    display_crs: str = "wgs84",
    now: datetime | None = None,
    labels: dict[str, str] | None = None,
    total: int | None = None,
    detail: bool = True,
) -> dict:
    """Issues as GeoJSON points in the display CRS (issues without a location are skipped).

    Parameters
    ----------
    session : Session
    issues : sequence of Issue
        e.g. ``list_issues(session, IssueQuery(...)).items``.
    display_crs : str
        ``"wgs84"`` or ``"gcj02"``.
    now : datetime, optional
        For ages (default: now, UTC).
    labels : dict, optional
        State labels (default: the workflow's Chinese labels).
    total : int, optional
        How many matched before paging (reported as ``total``; ``truncated`` when larger).
    detail : bool
        Full popup properties (default), or the compact set (see
        :func:`issue_feature_properties`).

    Returns
    -------
    dict
        FeatureCollection with ``layer="issues"``, ``count``, ``total``, ``truncated``.
    """
    from civgrid.grids.issues.workflow import DEFAULT_LABELS

    display_crs = check_display_crs(display_crs)
    now = now or datetime.now(UTC)
    labels = labels or {str(k): v for k, v in DEFAULT_LABELS.items()}
    located = [i for i in issues if i.lon is not None and i.lat is not None]
    lon = np.array([i.lon for i in located], dtype=float)
    lat = np.array([i.lat for i in located], dtype=float)
    if len(located):
        from civgrid.maps.display import to_display_lonlat

        lon, lat = to_display_lonlat(lon, lat, display_crs)
    features = []
    for i, x, y in zip(located, np.atleast_1d(lon), np.atleast_1d(lat), strict=True):
        features.append(
            {
                "type": "Feature",
                "id": i.id,
                "properties": issue_feature_properties(i, now, labels, detail=detail),
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(float(x), 7), round(float(y), 7)],
                },
            }
        )
    n = len(features)
    return {
        "type": "FeatureCollection",
        "layer": "issues",
        "label": "问题",
        "display_crs": display_crs,
        "count": n,
        "total": n if total is None else int(total),
        "truncated": total is not None and total > len(issues),
        "detail": detail,
        "features": features,
    }


def compact_issues_geojson(
    session: Session,
    conditions: Sequence[Any] = (),
    *,
    display_crs: str = "wgs84",
    limit: int = 5000,
) -> dict:
    """The compact issue layer straight from the issue columns (no ORM objects).

    The same properties as ``issues_geojson(..., detail=False)``, newest first,
    for pages that fetch popup details on demand; ~10× faster on thousands of
    issues because nothing but the needed columns is read.

    Parameters
    ----------
    session : Session
    conditions : sequence of SQL expressions on :class:`Issue`
        The filters (e.g. the issue service's query conditions).
    display_crs : str
    limit : int
        Newest ``limit`` issues; ``total`` tells how many matched.
    """
    display_crs = check_display_crs(display_crs)
    base = [Issue.lon.is_not(None), Issue.lat.is_not(None), *conditions]
    total = session.scalar(select(func.count()).select_from(Issue).where(*base)) or 0
    # Core rows, the state as its stored text and the time as the driver gives it: the
    # ORM's row loading and the two column types' conversions were a third of the time
    # of a 5,000-issue layer (cProfile), and a layer build holds the worker's interpreter
    rows = (
        session.connection()
        .execute(
            select(
                Issue.id,
                Issue.version,
                type_coerce(Issue.state, String),
                Issue.overdue,
                Issue.category_code,
                Issue.source,
                type_coerce(Issue.reported_at, DateTime()),
                Issue.township_code,
                Issue.community_code,
                Issue.recurrence_of_id,
                Issue.lon,
                Issue.lat,
            )
            .where(*base)
            .order_by(Issue.reported_at.desc(), Issue.id.desc())
            .limit(limit)
        )
        .all()
    )
    features = []
    opened = frozenset(open_states())
    if rows:
        from civgrid.maps.display import to_display_lonlat

        xs, ys = to_display_lonlat(
            np.array([r[10] for r in rows], dtype=float),
            np.array([r[11] for r in rows], dtype=float),
            display_crs,
        )
        for (iid, ver, state, overdue, cat, src, at, town, comm, rec, _, _), x, y in zip(
            rows, np.atleast_1d(xs).tolist(), np.atleast_1d(ys).tolist(), strict=True
        ):
            features.append(
                {
                    "type": "Feature",
                    "id": iid,
                    "properties": {
                        "id": iid,
                        "version": ver,
                        "state": state,
                        "open": state in opened,
                        "overdue": bool(overdue),
                        "category": cat,
                        "source": src,
                        "reported_at": _stored_iso(at),
                        "township_code": town,
                        "community_code": comm,
                        "recurrence": rec is not None,
                    },
                    "geometry": {"type": "Point", "coordinates": [round(x, 7), round(y, 7)]},
                }
            )
    return {
        "type": "FeatureCollection",
        "layer": "issues",
        "label": "问题",
        "display_crs": display_crs,
        "count": len(features),
        "total": int(total),
        "truncated": int(total) > len(features),
        "detail": False,
        "features": features,
    }


def issue_layer(
    session: Session,
    conditions: Sequence[Any] = (),
    *,
    detail: bool = False,
    display_crs: str = "wgs84",
    limit: int = 5000,
    include_merged: bool = False,
) -> dict:
    """The issue layer for SQL ``conditions``: compact or with full popup properties.

    Duplicates merged into another issue are left out unless ``include_merged``
    (the issue they were merged into stands for them).
    """
    conds = list(conditions)
    if not include_merged:
        conds.append(Issue.state != State.merged)
    if not detail:
        return compact_issues_geojson(session, conds, display_crs=display_crs, limit=limit)
    from sqlalchemy.orm import selectinload

    base = [Issue.lon.is_not(None), Issue.lat.is_not(None), *conds]
    total = session.scalar(select(func.count()).select_from(Issue).where(*base)) or 0
    items = session.scalars(
        select(Issue)
        .where(*base)
        .options(selectinload(Issue.parties))
        .order_by(Issue.reported_at.desc(), Issue.id.desc())
        .limit(limit)
    ).all()
    return issues_geojson(session, items, display_crs=display_crs, total=total)
