"""Map pages and their live GeoJSON: ``/map``, ``/map/heat``, ``/leaders/{key}``, ``/api/v1/…``.

The pages are HTML shells (folium + ``civgrid-map.js``) that fetch their data
from the endpoints below, so they are never stale:

``GET /api/v1/layers``
    The layer keys and Chinese labels.
``GET /api/v1/layers/{layer}.geojson``
    A boundary layer (``township``, ``community``, ``unit_grid``,
    ``road_section``, ``key_site``, ``key_site_zone``, ``supervision_area``,
    ``county``) with issue counts and who answers for each object;
    ``zoom`` simplifies, ``bbox`` clips, ``leader`` restricts to that
    leader's objects.
``GET /api/v1/layers/issues.geojson``
    Issue points with popup properties; filters ``category``, ``state``,
    ``kind``, ``source``, ``from``/``to``, ``area``, ``leader``, ``overdue``,
    ``recurrent``, ``bbox``.
``GET /api/v1/hexbins``
    H3 hexagons weighted by open issues and recurrences in a time window, with
    the ranked hotspots.
``GET /api/v1/heat/points``
    Bounded density points for the plain heat layer.

Every coordinate is in the **display CRS**: ``display_crs`` if given, else the
configured basemap's (GCJ-02 for Amap/Tencent tiles, WGS84 otherwise); a
``bbox`` parameter is in that CRS too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.api.deps import SessionDep, SettingsDep, StoreDep, require
from civgrid.api.microcache import cached_response
from civgrid.api.schemas import ERRORS_READ, MAX_ID, HeatPointsOut, HexbinsOut, LayerCollection
from civgrid.grids.accounts.permissions import Perm, Role, Scope
from civgrid.grids.boundaries.models import Area, Category, Leader
from civgrid.grids.core.calendar import local_today, local_zone
from civgrid.grids.core.errors import InvalidInputError, NotFoundError
from civgrid.grids.core.labels import leader_role_phrase
from civgrid.maps.context import (
    category_tree,
    filter_options,
    map_center,
    reassign_units,
    source_options,
)

router = APIRouter()


class GeoJSONResponse(JSONResponse):
    """A JSON response served (and documented) as ``application/geo+json``.

    Rendered by orjson: a layer of thousands of features is most of its request's
    time with ``json.dumps``. NaN and infinity become ``null`` (``json.dumps`` would
    refuse them); numpy scalars and arrays are written as numbers.
    """

    media_type = "application/geo+json"

    def render(self, content: Any) -> bytes:
        import orjson

        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)


class OrjsonResponse(GeoJSONResponse):
    """Plain JSON rendered by orjson (a heat layer: tens of thousands of numbers)."""

    media_type = "application/json"


#: Every map page and layer needs ``map.read``; issues are filtered by the caller's scope.
MapScope = Annotated[Scope, require(Perm.map_read)]

API = "/api/v1"
_NAV = (
    ("首页", "/"),
    ("指挥中心地图", "/map"),
    ("问题热力图", "/map/heat"),
    ("责任空白清单", "/responsibility/gaps"),
)
_MAX_ISSUES = 10_000
_CONTEXT_LAYERS = ("county", "township", "community")
_COMMAND_LAYERS = (
    "county",
    "township",
    "central_city",
    "community",
    "unit_grid",
    "supervision_area",
    "key_site_zone",
    "road_section",
    "key_site",
)
_LEADER_LAYERS = {"township": "contact", "community": "contract", "road_section": "road_chief"}

DisplayCrsQuery = Annotated[
    str | None,
    Query(description="wgs84 or gcj02; default: the configured basemap's display CRS."),
]
ZoomQuery = Annotated[
    float | None, Query(ge=0, le=22, description="Web-map zoom; geometry simplified for it.")
]
BBoxQuery = Annotated[
    str | None, Query(description="min_lon,min_lat,max_lon,max_lat in the display CRS.")
]


# --------------------------------------------------------------------------- helpers


def _basemap(settings: Any):
    from civgrid.maps.basemaps import BasemapError, basemap_from_settings

    try:
        return basemap_from_settings(settings)
    except BasemapError as exc:
        raise InvalidInputError(str(exc), field="basemap_url") from exc


def _display_crs(param: str | None, settings: Any) -> str:
    from civgrid.maps.display import check_display_crs

    if param is None:
        return _basemap(settings).display_crs
    try:
        return check_display_crs(param)
    except ValueError as exc:
        raise InvalidInputError(str(exc), field="display_crs") from exc


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    try:
        parts = tuple(float(v) for v in text.split(","))
    except ValueError as exc:
        raise InvalidInputError("bbox must be four numbers", field="bbox") from exc
    if len(parts) != 4 or not (parts[0] <= parts[2] and parts[1] <= parts[3]):
        raise InvalidInputError("bbox must be min_lon,min_lat,max_lon,max_lat", field="bbox")
    return parts  # type: ignore[return-value]


def _cache(request: Request):
    from civgrid.maps.layers import GeometryCache

    cache = getattr(request.app.state, "maps_geometry_cache", None)
    if cache is None:
        cache = GeometryCache()
        request.app.state.maps_geometry_cache = cache
    return cache


def _csv(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [t.strip() for t in text.split(",") if t.strip()] or None


def _day_start(d: date | None) -> datetime | None:
    return None if d is None else datetime.combine(d, time.min, local_zone()).astimezone(UTC)


def _issue_conditions(session: Session, query: Any) -> list[Any]:
    """SQL conditions of an issue query (the issue service's filters, shared)."""
    from civgrid.grids.issues import service

    return service.issue_conditions(session, query)


def _html(m: Any) -> HTMLResponse:
    from civgrid.maps.folium_offline import render_html

    return HTMLResponse(render_html(m, mode="served"))


def _leader(session: Session, key: str) -> Leader:
    leader = session.scalars(select(Leader).where(Leader.key == key)).first()
    if leader is None:
        raise NotFoundError(f"no leader {key}", kind="leader", key=key)
    return leader


# --------------------------------------------------------------------------- pages


@router.get("/map", response_class=HTMLResponse, include_in_schema=False)
def command_center_page(
    store: StoreDep, session: SessionDep, settings: SettingsDep, scope: MapScope
) -> HTMLResponse:
    """指挥中心地图: all layers live from the API, issues with filters, draw-to-reassign."""
    from civgrid.maps.pages import command_center_map

    basemap = _basemap(settings)
    crs = basemap.display_crs
    m = command_center_map(
        layers={k: f"{API}/layers/{k}.geojson" for k in (*_COMMAND_LAYERS, "assessment_point")},
        issues=f"{API}/layers/issues.geojson",
        county_name=settings.county_name,
        basemap=basemap,
        center=map_center(store, session, crs),
        zoom=13,
        filters=filter_options(store, session),
        units=reassign_units(session),
        api=API,
        links=_NAV,
        may_dispatch=Perm.issue_dispatch in scope.permissions,
    )
    return _html(m)


@router.get("/map/heat", response_class=HTMLResponse, include_in_schema=False)
def heat_page(
    store: StoreDep,
    session: SessionDep,
    settings: SettingsDep,
    scope: MapScope,
    res: Annotated[int | None, Query(ge=5, le=11)] = None,
) -> HTMLResponse:
    """问题热力图: H3 hexagons of recurring and open problems, hotspots, density."""
    from civgrid.maps.pages import heat_map

    basemap = _basemap(settings)
    m = heat_map(
        hexbins=f"{API}/hexbins",
        density=f"{API}/heat/points",
        context={k: f"{API}/layers/{k}.geojson" for k in _CONTEXT_LAYERS},
        county_name=settings.county_name,
        basemap=basemap,
        center=map_center(store, session, basemap.display_crs),
        zoom=13,
        filters=filter_options(store, session),
        res=res,
        api=API,
        links=_NAV,
    )
    return _html(m)


def _leader_rows(
    session: Session, objects: dict[str, set], conditions: Sequence[Any] = ()
) -> list[dict[str, Any]]:
    from civgrid.maps.layers import issue_counts

    rows: list[dict[str, Any]] = []
    for layer, role in _LEADER_LAYERS.items():
        codes = sorted(objects.get(layer, ()))
        if not codes:
            continue
        counts = issue_counts(session, layer, codes=codes, conditions=conditions)
        if layer == "road_section":
            from civgrid.grids.boundaries.models import RoadSection

            names = dict(
                session.execute(
                    select(RoadSection.code, RoadSection.name).where(RoadSection.code.in_(codes))
                ).all()
            )
        else:
            names = dict(
                session.execute(select(Area.code, Area.name).where(Area.code.in_(codes))).all()
            )
        for code in codes:
            c = counts.get(code, {})
            rows.append(
                {
                    "code": code,
                    "name": names.get(code, code),
                    "layer": layer,
                    "role_label": leader_role_phrase(role),
                    "open": c.get("open", 0),
                    "overdue": c.get("overdue", 0),
                    "recurring": c.get("recurring", 0),
                    "total": c.get("total", 0),
                }
            )
    return rows


def _patrol_leader_visits(session: Session, key: str, now: datetime) -> list[dict[str, Any]]:
    """领导走访记录 of the month (patrol capability)."""
    from civgrid.grids.patrol.leader_visits import leader_visit_rows

    return leader_visit_rows(session, key, now.strftime("%Y-%m"))


def _leader_cadence(session: Session, key: str, now: datetime) -> list[tuple[str, str]]:
    """The running month's cadence verdicts (office hours in 上旬, two site inspections)."""
    from civgrid.grids.patrol.leader_visits import leader_cadence
    from civgrid.maps.pages import cadence_verdicts

    return cadence_verdicts(leader_cadence(session, key, now.strftime("%Y-%m")), now.day)


@router.get("/leaders/{key}", response_class=HTMLResponse, include_in_schema=False)
def leader_page(
    key: Annotated[str, Path(max_length=32)],
    store: StoreDep,
    session: SessionDep,
    settings: SettingsDep,
    scope: MapScope,
) -> HTMLResponse:
    """领导视图: one leader's townships, communities, road sections and their issues
    (a leader sees only their own page).
    """
    from civgrid.maps.layers import leader_objects
    from civgrid.maps.pages import leader_map

    scope.check_leader(key)
    leader = _leader(session, key)
    objects = leader_objects(session, leader.key)
    basemap = _basemap(settings)
    layers = {"county": f"{API}/layers/county.geojson"}
    for layer in _LEADER_LAYERS:
        if objects.get(layer):
            layers[layer] = f"{API}/layers/{layer}.geojson?leader={leader.key}"
    now = datetime.now(local_zone())
    m = leader_map(
        leader={"key": leader.key, "title": leader.title},
        layers=layers,
        issues=f"{API}/layers/issues.geojson?leader={leader.key}",
        communities=_leader_rows(session, objects, scope.issue_conditions()),
        visits=_patrol_leader_visits(session, leader.key, now),
        cadence=_leader_cadence(session, leader.key, now),
        month_label=f"{now.year}年{now.month}月",
        county_name=settings.county_name,
        basemap=basemap,
        center=map_center(store, session, basemap.display_crs),
        zoom=12,
        # names for the markers only: no area list (the page shows only the leader's areas)
        filters={"categories": category_tree(session), "sources": source_options()},
        api=API,
        links=_NAV,
    )
    return _html(m)


# --------------------------------------------------------------------------- API


@router.get(
    "/api/v1/layers",
    tags=["maps"],
    summary="Map layers and their Chinese labels",
    responses=ERRORS_READ,
)
def list_layers(scope: MapScope) -> list[dict[str, str]]:
    """The boundary layers served as GeoJSON (plus ``issues``)."""
    from civgrid.maps.layers import LAYERS

    return [i.to_dict() for i in LAYERS.values()] + [
        {"key": "issues", "label": "问题", "geometry": "point"}
    ]


@router.get(
    "/api/v1/layers/issues.geojson",
    tags=["maps"],
    summary="Issue points for the map (display CRS)",
    response_class=GeoJSONResponse,
    responses={**ERRORS_READ, 200: {"model": LayerCollection, "description": "Issue points"}},
)
def issues_layer(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    scope: MapScope,
    category: Annotated[
        str | None, Query(description="Category code (with sub-categories).")
    ] = None,
    state: Annotated[str | None, Query(description="States, comma separated.")] = None,
    kind: Annotated[
        str | None, Query(description="open, closed_fixed, closed_not_fixed (comma).")
    ] = None,
    source: Annotated[str | None, Query(description="Sources, comma separated.")] = None,
    from_: Annotated[
        date | None, Query(alias="from", description="Reported on or after (local date).")
    ] = None,
    to: Annotated[date | None, Query(description="Reported on or before (local date).")] = None,
    area: Annotated[str | None, Query(description="Area code of any level.")] = None,
    leader: Annotated[str | None, Query(description="Only issues this leader answers for.")] = None,
    overdue: bool | None = None,
    recurrent: bool | None = None,
    zone: Annotated[
        Literal["central", "rural"] | None,
        Query(description="central = 中心城区; rural = the rest of the county (乡村)."),
    ] = None,
    bbox: BBoxQuery = None,
    display_crs: DisplayCrsQuery = None,
    limit: Annotated[int, Query(ge=1, le=_MAX_ISSUES)] = 5000,
    detail: Annotated[
        bool, Query(description="Full popup fields; default compact (pages fetch details).")
    ] = False,
) -> Response:
    """Issues as GeoJSON points with the popup fields (category, state, age, deadline,
    responsible unit and leaders); ``total``/``truncated`` tell when ``limit`` cut the list.
    """
    from civgrid.grids.issues.service import IssueQuery
    from civgrid.maps.layers import issue_layer, wgs84_bbox

    crs = _display_crs(display_crs, settings)
    box = _bbox(bbox)
    kinds = _csv(kind)
    if kinds == ["all"]:
        kinds = None
    q = IssueQuery(
        states=_csv(state),
        kinds=kinds,
        category=category or None,
        sources=_csv(source),
        area=area or None,
        leader=leader or None,
        reported_from=_day_start(from_),
        reported_to=_day_start(to + timedelta(days=1)) if to else None,
        overdue=overdue,
        recurrent=recurrent,
        zone=zone,
        bbox=wgs84_bbox(box, crs) if box else None,
        limit=limit,
        order="-reported_at",
        scope=scope,
    )
    if leader:
        scope.check_leader(leader)

    def build(session: Session) -> Response:
        fc = issue_layer(
            session,
            _issue_conditions(session, q),
            detail=detail,
            display_crs=crs,
            limit=limit,
            include_merged=bool(q.states and "merged" in q.states),
        )
        return GeoJSONResponse(fc)

    # the heaviest frequent read: reused for seconds per viewer and query (api.microcache)
    return cached_response(request, scope, build, session)


@router.get(
    "/api/v1/layers/assessment_point.geojson",
    tags=["maps"],
    summary="Field-assessment points for the command map, coloured by compliance",
    response_class=GeoJSONResponse,
    responses={**ERRORS_READ, 200: {"model": LayerCollection, "description": "Points"}},
)
def assessment_point_layer(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    scope: MapScope,
    display_crs: DisplayCrsQuery = None,
    point_type: Annotated[str | None, Query(max_length=32, description="Point type code.")] = None,
    community: Annotated[str | None, Query(max_length=32, description="Community code.")] = None,
    unit: Annotated[str | None, Query(max_length=32, description="Responsible unit key.")] = None,
    compliance: Annotated[
        str | None,
        Query(pattern="^(compliant|non_compliant|uninspected)$", description="达标/不达标/未检."),
    ] = None,
) -> JSONResponse:
    """The points the caller may see (a unit handler its unit's, a leader those in their
    areas — as ``/api/v1/points``), with status, colour and the must-check mark."""
    from civgrid.api.routers.points import point_standards
    from civgrid.grids.points.register import point_rows
    from civgrid.maps.layers import point_layer_geojson

    version = point_standards(request).version_on(None, local_today())
    rows = point_rows(
        session,
        version,
        point_type=point_type,
        community=community,
        unit=unit,
        compliance=compliance,
        visible=scope.can_see_point,
        with_geometry=True,
    )
    fc = point_layer_geojson(rows, _display_crs(display_crs, settings))
    return JSONResponse(fc, media_type="application/geo+json")


@router.get(
    "/api/v1/layers/{layer}.geojson",
    tags=["maps"],
    summary="A boundary layer as GeoJSON (display CRS)",
    response_class=GeoJSONResponse,
    responses={**ERRORS_READ, 200: {"model": LayerCollection, "description": "The layer"}},
)
def boundary_layer(
    layer: Annotated[str, Path(description="Layer key, see GET /api/v1/layers.")],
    request: Request,
    store: StoreDep,
    session: SessionDep,
    settings: SettingsDep,
    scope: MapScope,
    zoom: ZoomQuery = None,
    bbox: BBoxQuery = None,
    display_crs: DisplayCrsQuery = None,
    leader: Annotated[str | None, Query(description="Only this leader's objects.")] = None,
    generation: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Boundary generation (default current).")
    ] = None,
) -> JSONResponse:
    """Townships, communities, unit grids, road sections, key sites and their 400 m zones,
    supervision areas or the county outline, with who answers for each and issue counts.
    """
    from civgrid.maps.layers import LAYERS, layer_geojson, leader_objects

    if layer not in LAYERS:
        raise NotFoundError(
            f"no map layer {layer!r}; layers: {', '.join(LAYERS)}, issues", kind="layer", key=layer
        )
    crs = _display_crs(display_crs, settings)
    codes = None
    if leader is None and scope.role is Role.leader and layer in _LEADER_LAYERS:
        leader = scope.actor.leader or ""  # a leader's map shows their own objects only
    if leader is not None:
        scope.check_leader(leader)
        objects = leader_objects(session, _leader(session, leader).key)
        source_layer = "key_site" if layer == "key_site_zone" else layer
        codes = objects.get(source_layer, set())
    fc = layer_geojson(
        store,
        session,
        layer,
        zoom=zoom,
        bbox=_bbox(bbox),
        display_crs=crs,
        codes=codes,
        generation=generation,
        cache=_cache(request),
        issue_conditions=scope.issue_conditions(),
    )
    return GeoJSONResponse(fc)


def _heat_inputs(
    session: Session,
    *,
    category: str | None,
    source: str | None,
    area: str | None,
    days: int,
    from_: date | None,
    to: date | None,
    scope: Scope | None = None,
) -> tuple[Any, list[Any]]:
    """The heat window and the SQL conditions of its issues (window, filters, scope)."""
    from civgrid.grids.issues.models import Issue
    from civgrid.grids.issues.service import IssueQuery
    from civgrid.maps.heat import heat_window

    window = heat_window(
        session,
        days=days,
        start=_day_start(from_),
        end=_day_start(to + timedelta(days=1)) if to else None,
    )
    q = IssueQuery(category=category or None, sources=_csv(source), area=area or None, scope=scope)
    # the window first: a table partitioned by reported_at is pruned to it
    conds = [Issue.reported_at >= window.start, Issue.reported_at < window.end]
    conds += _issue_conditions(session, q)
    return window, conds


HeatCategory = Annotated[str | None, Query(description="Category code (with sub-categories).")]
HeatSource = Annotated[str | None, Query(description="Sources, comma separated.")]
HeatArea = Annotated[str | None, Query(description="Area code of any level.")]
HeatDays = Annotated[int, Query(ge=1, le=3660, description="Window length when from is not given.")]
HeatFrom = Annotated[
    date | None,
    Query(
        alias="from",
        ge=date(2000, 1, 1),
        le=date(2099, 12, 31),
        description="Window start (local date).",
    ),
]
HeatTo = Annotated[
    date | None,
    Query(
        ge=date(2000, 1, 1),
        le=date(2099, 12, 31),
        description="Window end, inclusive (local date).",
    ),
]


@router.get(
    "/api/v1/hexbins",
    tags=["maps"],
    summary="H3 hexagons of recurring problems",
    response_class=GeoJSONResponse,
    responses={**ERRORS_READ, 200: {"model": HexbinsOut, "description": "The cells"}},
)
def hexbins(
    session: SessionDep,
    settings: SettingsDep,
    scope: MapScope,
    res: Annotated[int | None, Query(ge=0, le=15, description="H3 resolution.")] = None,
    zoom: ZoomQuery = None,
    category: HeatCategory = None,
    source: HeatSource = None,
    area: HeatArea = None,
    days: HeatDays = 90,
    from_: HeatFrom = None,
    to: HeatTo = None,
    w_open: Annotated[float, Query(ge=0, le=100)] = 1.0,
    w_recurrence: Annotated[float, Query(ge=0, le=100)] = 2.0,
    top: Annotated[int, Query(ge=0, le=200)] = 20,
    display_crs: DisplayCrsQuery = None,
) -> JSONResponse:
    """Issues of the window binned into H3 cells (resolution ``res``, or chosen from
    ``zoom``); score = ``w_open``·open + ``w_recurrence``·recurrences; ``hotspots`` ranks
    the top cells with their main category and community.
    """
    from civgrid.maps.heat import hexbin_geojson, issue_arrays
    from civgrid.maps.hexbins import resolution_for_zoom

    crs = _display_crs(display_crs, settings)
    if res is None:
        res = resolution_for_zoom(zoom if zoom is not None else 14)
    window, conds = _heat_inputs(
        session,
        category=category,
        source=source,
        area=area,
        days=days,
        from_=from_,
        to=to,
        scope=scope,
    )
    data = issue_arrays(session, conds)
    cat_names = dict(session.execute(select(Category.code, Category.name)).all())
    comm_names = dict(session.execute(select(Area.code, Area.name)).all())
    fc = hexbin_geojson(
        data,
        res,
        display_crs=crs,
        w_open=w_open,
        w_recurrence=w_recurrence,
        top=top,
        category_names=cat_names,
        community_names=comm_names,
    )
    last = window.end - timedelta(seconds=1)
    fc["window"] = {
        "from": window.start.astimezone(local_zone()).date().isoformat(),
        "to": last.astimezone(local_zone()).date().isoformat(),
    }
    fc["weights"] = {"open": w_open, "recurrence": w_recurrence}
    return GeoJSONResponse(fc)


@router.get(
    "/api/v1/heat/points",
    tags=["maps"],
    summary="Density points for the heat layer",
    responses=ERRORS_READ,
    response_model=HeatPointsOut,
    response_model_exclude_unset=True,
)
def heat_points(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    scope: MapScope,
    res: Annotated[int | None, Query(ge=0, le=15, description="Binning resolution.")] = None,
    zoom: ZoomQuery = None,
    category: HeatCategory = None,
    source: HeatSource = None,
    area: HeatArea = None,
    days: HeatDays = 90,
    from_: HeatFrom = None,
    to: HeatTo = None,
    w_recurrence: Annotated[float, Query(ge=0, le=100)] = 2.0,
    display_crs: DisplayCrsQuery = None,
) -> Response:
    """``[[lat, lon, weight], …]`` (Leaflet.heat order), one point per occupied fine H3 cell."""
    from civgrid.maps.heat import density_points, issue_arrays
    from civgrid.maps.hexbins import resolution_for_zoom

    crs = _display_crs(display_crs, settings)
    if res is None:
        res = min(resolution_for_zoom(zoom if zoom is not None else 14) + 2, 13)
    _window, conds = _heat_inputs(
        session,
        category=category,
        source=source,
        area=area,
        days=days,
        from_=from_,
        to=to,
        scope=scope,
    )

    def build(session: Session) -> Response:
        data = issue_arrays(session, conds, density_only=True)
        out = density_points(data, res, display_crs=crs, w_recurrence=w_recurrence)
        # HeatPointsOut's shape by construction (plain ints, floats and lists): not
        # validated again, ~10 ms for 10⁴ points (the schemathesis run checks the schema)
        body = {"res": int(out["res"]), "max": float(out["max"]), "points": out["points"]}
        return OrjsonResponse(body)

    # a heat layer is re-read on every pan and reload: reused as the issue layer is
    return cached_response(request, scope, build, session)
