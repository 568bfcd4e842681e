"""The field app (外勤 / 随手拍) under ``/m/``: server-rendered Jinja2 pages for phones.

Pages are plain HTML with one small script (``static/js/field.js``) and Leaflet from
the npm assets; the service worker caches them for use without signal. This module
builds what the pages show (categories by frequency, the patrol day's stops with
GCJ-02 navigation links, the re-inspections due with their photos) and renders
the templates ``maps/templates/field_*.html`` (Jinja2, autoescaped). It never
imports the web framework; ``api/routers/field.py`` serves it.
"""

from __future__ import annotations

import functools
import json
from datetime import date
from importlib import resources
from typing import Any
from urllib.parse import quote

import jinja2
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.geo.convert import to_geojson_geometry
from civgrid.geo.crs import gcj02_to_wgs84, normalize_crs, to_wgs84, wgs84_to_gcj02
from civgrid.grids.boundaries.models import Category
from civgrid.grids.core.errors import InvalidInputError
from civgrid.grids.core.labels import ISSUE_ACTION_LABELS, UNIT_KIND_LABELS
from civgrid.grids.issues.models import Issue, Photo
from civgrid.grids.issues.workflow import DEFAULT_LABELS
from civgrid.grids.patrol.models import PatrolVisit
from civgrid.grids.patrol.visit_photos import visit_photo_ids
from civgrid.maps.assets import STATIC_URL
from civgrid.maps.render import script_nonce

__all__ = [
    "amap_link",
    "category_choices",
    "community_outlines",
    "day_stops",
    "link_point",
    "photos_by_stage",
    "render_field",
]

#: The app's pages, in the order of the home screen (path, label, who may use it).
PAGES = (
    ("/m/report", "上报问题", "issue.report"),
    ("/m/status", "查询回执", "public"),
    ("/m/day", "今日巡查", "patrol.read"),
    ("/m/mine", "我的问题", "issue.transition"),
    ("/m/reinspect", DEFAULT_LABELS["submitted"], "issue.transition"),
    ("/m/points", "点位检查", "patrol.write"),
    ("/m/track", "轨迹记录", "patrol.write"),
    ("/m/queue", "待发送", "public"),
)
#: What a signed-out citizen may do in the app (their report, the status look-up); the
#: pages' controls carry the permission they need (``data-perm``) and show only to those
#: who hold it. ``public``: anyone; ``session``: any signed-in account.
PUBLIC_PERMS = frozenset({"issue.report", "public"})

#: The queue's item kinds that are labels (``field.js`` reads them from the page config).
QUEUE_KIND_LABELS: dict[str, str] = {
    "report": ISSUE_ACTION_LABELS["report"],
    "reinspect": ISSUE_ACTION_LABELS["reinspect"],
    "point_inspection": "点位检查",
}


def _load(name: str) -> str:
    return (resources.files("civgrid.maps") / "templates" / name).read_text(encoding="utf-8")


@functools.cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_load),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["tojson_attr"] = lambda v: json.dumps(v, ensure_ascii=False)
    return env


def render_field(name: str, **ctx: Any) -> str:
    """Render ``maps/templates/field_<name>.html`` with the common context.

    The script nonce of the response (``script_nonce``) and the static URL are added,
    with the labels the pages and ``field.js`` show (``team_label``; the page config's
    ``queue_kinds``).
    """
    ctx.setdefault("title", "")
    ctx.setdefault("user", None)
    ctx.setdefault("pages", PAGES)
    user = ctx.get("user") or {}
    ctx["perms"] = (set(user["perms"]) | {"session", "public"}) if "perms" in user else PUBLIC_PERMS
    ctx.setdefault("team_label", UNIT_KIND_LABELS["supervision_team"])
    ctx["config"] = {"queue_kinds": QUEUE_KIND_LABELS, **(ctx.get("config") or {})}
    return (
        _env()
        .get_template(f"field_{name}.html")
        .render(nonce=script_nonce.get() or "", static=STATIC_URL, **ctx)
    )


def category_choices(session: Session) -> list[dict[str, Any]]:
    """Leaf categories, the most reported first (then by code), with their counts.

    Returns
    -------
    list of dict
        ``{"code", "name", "count"}``.
    """
    cats = list(session.scalars(select(Category)))
    parents = {c.parent_id for c in cats if c.parent_id is not None}
    q = select(Issue.category_code, func.count()).group_by(Issue.category_code)
    counts = {code: n for code, n in session.execute(q)}
    leaves = [c for c in cats if c.id not in parents]
    out = [{"code": c.code, "name": c.name, "count": int(counts.get(c.code, 0))} for c in leaves]
    return sorted(out, key=lambda c: (-c["count"], c["code"]))


def community_outlines(store: Any, session: Session) -> dict[str, Any]:
    """The communities' outlines (simplified to about 10 m, WGS84) with their names, for
    the report map when there are no tiles (offline basemap): a place to tap on."""
    feats = []
    for a in store.areas(layer="community", session=session):
        geom = a.geom.boundary.simplify(0.0001, preserve_topology=False)
        feats.append(
            {
                "type": "Feature",
                "geometry": to_geojson_geometry(geom, decimals=5),
                "properties": {"name": a.name},
            }
        )
    return {"type": "FeatureCollection", "features": feats}


def link_point(
    lng: str | None, lat: str | None, crs: str | None
) -> tuple[float, float, str] | None:
    """A point passed in a link (``?lng=&lat=&crs=``), converted to WGS84 at the edge.

    A map app's share link gives GCJ-02 (``crs=gcj02``); the page places the pin at
    the WGS84 point and reports it as WGS84.

    Returns
    -------
    (lon, lat, input_crs) or None
        WGS84 degrees and the CRS the link named; None when no point is given.

    Raises
    ------
    InvalidInputError
        Not numbers, or an unknown CRS.

    Examples
    --------
    >>> lon, lat, crs = link_point("112.9520", "33.0600", "gcj02")
    >>> crs, round(lon, 4), round(lat, 4)
    ('gcj02', 112.9461, 33.062)
    >>> link_point(None, None, None) is None
    True
    """
    if not lng or not lat:
        return None
    try:
        x, y = float(lng), float(lat)
    except ValueError as exc:
        msg = f"lng/lat must be numbers, got {lng!r}, {lat!r}"
        raise InvalidInputError(msg, field="lng") from exc
    name = normalize_crs(crs or "wgs84")
    if name == "gcj02":
        wx, wy = gcj02_to_wgs84(x, y)
    else:
        wx, wy = to_wgs84(x, y, name)
    return float(wx), float(wy), name


def amap_link(lon: float, lat: float, name: str) -> str:
    """A navigate-to link for the phone's map app: Amap's URI API with GCJ-02 coordinates.

    ``lon``/``lat`` are WGS84 and are shifted to GCJ-02 here (the map apps of
    China draw in GCJ-02). A local choice: Amap's public URI (it opens the app when
    installed, else its mobile web page).

    Examples
    --------
    >>> amap_link(112.95, 33.06, "路口").startswith("https://uri.amap.com/marker?position=112.95")
    True
    """
    gx, gy = wgs84_to_gcj02(lon, lat)
    return (
        f"https://uri.amap.com/marker?position={float(gx):.6f},{float(gy):.6f}"
        f"&name={quote(name)}&coordinate=gaode&callnative=1"
    )


def day_stops(route: dict[str, Any], session: Session) -> list[dict[str, Any]]:
    """The stops of a day's route (``patrol.routes.team_route``) in route order, each with
    its visit status, GCJ-02 coordinates and a navigate-to link."""
    out = []
    for n, s in enumerate(route["stops"], 1):
        visit = session.get(PatrolVisit, s["visit_id"])
        gx, gy = wgs84_to_gcj02(s["lon"], s["lat"])
        out.append(
            {
                **s,
                "seq": n,
                "status": visit.status if visit is not None else "planned",
                "photos": len(visit_photo_ids(session, s["visit_id"])),
                "gcj_lon": round(float(gx), 6),
                "gcj_lat": round(float(gy), 6),
                "nav": amap_link(s["lon"], s["lat"], s["target_name"]),
            }
        )
    return out


def photos_by_stage(session: Session, issue: Issue) -> dict[str, list[int]]:
    """Photo ids of an issue: ``before`` (the report) and ``after`` (the fix)."""
    rows = session.scalars(select(Photo).where(Photo.issue_id == issue.id).order_by(Photo.id))
    out: dict[str, list[int]] = {"before": [], "after": []}
    for p in rows:
        if p.stage == "report":
            out["before"].append(p.id)
        elif p.stage == "fix":
            out["after"].append(p.id)
    return out


def today_or(day: str | None, today: date) -> date:
    """``day`` (YYYY-MM-DD) or today; a bad date names the field."""
    if not day:
        return today
    try:
        return date.fromisoformat(day)
    except ValueError as exc:
        raise InvalidInputError(f"date {day!r} is not YYYY-MM-DD", field="date") from exc
