"""Page builders: data (or URLs) in → a folium map / HTML out. Usable from a notebook.

Three pages, all in Chinese, drawn by one script (``static/js/civgrid-map.js``):

:func:`command_center_map`
    指挥中心地图 — toggleable layers (townships/streets, community choropleth,
    unit grids, road sections, key sites with 400 m zones, supervision areas),
    clustered issue markers by state, filters, legend, and — when an API is
    given — drawing a polygon to select issues and reassign them (改派).
:func:`heat_map`
    问题热力图 — H3 hexagons of recurring and open problems, a ranked hotspot
    list beside the map, and a plain density heat layer.
:func:`leader_map`
    领导视图 — one leader's contracted communities, contact townships and
    road sections with their issues, a table per community and the leader's
    visits this month.

Each layer is given either as a URL (``"/api/v1/layers/township.geojson"``;
the page loads it live, per zoom) or as GeoJSON data embedded in the page
(for a notebook or the offline file written by ``civgrid map --out``). Render
with :func:`civgrid.maps.folium_offline.render_html`.

Examples
--------
>>> from civgrid.maps.folium_offline import render_html
>>> fc = {"type": "FeatureCollection", "features": []}
>>> m = command_center_map(layers={"township": fc}, issues=fc, county_name="示例县")
>>> "civgrid.initCommandMap" in render_html(m, mode="inline")
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

import folium

from civgrid.grids.core import labels as zh
from civgrid.grids.core.calendar import local_zone
from civgrid.grids.core.city import current_city
from civgrid.grids.issues.workflow import DEFAULT_LABELS, STATE_COLORS, legend_states
from civgrid.maps.basemaps import OFFLINE, Basemap
from civgrid.maps.folium_offline import PageConfig, RawHtml, offline_map
from civgrid.maps.layers import EXTRA_LAYERS, LAYERS, OVERDUE_COLOR

__all__ = [
    "command_center_map",
    "heat_map",
    "leader_map",
]


#: Layers shown when a page opens (the others are in the layer control, unticked).
DEFAULT_VISIBLE = ("county", "township", "community", "road_section", "key_site")

LayerSource = str | Mapping[str, Any]


def _layer_entries(
    layers: Mapping[str, LayerSource], visible: Sequence[str] | None
) -> list[dict[str, Any]]:
    out = []
    show = set(DEFAULT_VISIBLE if visible is None else visible)
    for key, src in layers.items():
        info = LAYERS.get(key) or EXTRA_LAYERS.get(key)
        entry: dict[str, Any] = {
            "key": key,
            "label": info.label if info else key,
            "geometry": info.geometry if info else "polygon",
            "visible": key in show,
        }
        if isinstance(src, str):
            entry["url"] = src
        else:
            entry["data"] = src
        out.append(entry)
    return out


def _source(src: LayerSource | None) -> dict[str, Any] | None:
    if src is None:
        return None
    return {"url": src} if isinstance(src, str) else {"data": src}


def _base(
    *,
    title: str,
    basemap: Basemap | None,
    center: tuple[float, float] | None,
    zoom: int,
    plugins: Sequence[str],
) -> folium.Map:
    return offline_map(
        location=center or current_city().latlon,
        zoom_start=zoom,
        basemap=basemap or OFFLINE,
        plugins=plugins,
        title=title,
        control_scale=True,
    )


def page_header(title: str, subtitle: str, links: Sequence[tuple[str, str]] = ()) -> str:
    from civgrid.maps.banner import calendar_banner

    nav = "".join(f'<a href="{escape(h)}">{escape(t)}</a>' for t, h in links)
    return (
        '<header class="cg-header"><div class="cg-title">'
        f'<span class="cg-emblem">创</span><h1>{escape(title)}</h1>'
        f'<span class="cg-sub">{escape(subtitle)}</span></div>'
        f'<nav class="cg-nav">{nav}</nav></header>' + calendar_banner(floating=True)
    )


def _common_config(
    *, county_name: str, basemap: Basemap | None, api: str | None, state_labels: Mapping[str, str]
) -> dict[str, Any]:
    bm = basemap or OFFLINE
    return {
        "county": county_name,
        "timeZone": local_zone().key,
        "displayCrs": bm.display_crs,
        "basemap": {
            "key": bm.key,
            "label": bm.label,
            "offline": bm.offline,
            "tiles": [{"url": t.url, "name": t.name} for t in bm.tiles],
        },
        "api": api,
        "stateLabels": {str(s): state_labels.get(s, DEFAULT_LABELS[s]) for s in DEFAULT_LABELS},
        "stateColors": {str(s): c for s, c in STATE_COLORS.items()},
        "legendStates": legend_states(),
        "overdueColor": OVERDUE_COLOR,
        "labels": {
            "roles": {r: zh.role_holder_label(r) for r in zh.ROLE_LABELS}
            | dict(zh.PARTY_ROLE_LABELS),
            "layers": dict(zh.MAP_LAYER_LABELS),
            "sources": dict(zh.SOURCE_LABELS),
            "actions": dict(zh.ISSUE_ACTION_LABELS),
            "points": dict(zh.POINT_FIELD_LABELS),
            "compliance": dict(zh.POINT_COMPLIANCE_LABELS),
        },
    }


def command_center_map(
    *,
    layers: Mapping[str, LayerSource],
    issues: LayerSource | None = None,
    county_name: str = "",
    basemap: Basemap | None = None,
    center: tuple[float, float] | None = None,
    zoom: int = 13,
    visible: Sequence[str] | None = None,
    filters: Mapping[str, Any] | None = None,
    units: Sequence[Mapping[str, str]] = (),
    api: str | None = None,
    actions: Mapping[str, str] | None = None,
    state_labels: Mapping[str, str] | None = None,
    links: Sequence[tuple[str, str]] = (),
    subtitle: str = "指挥中心地图",
    may_dispatch: bool = True,
) -> folium.Map:
    """The command-center map (指挥中心地图).

    Parameters
    ----------
    layers : mapping of layer key → URL or GeoJSON dict
        Keys of :data:`civgrid.maps.layers.LAYERS`, in drawing order (bottom first).
    issues : URL or GeoJSON dict, optional
        The issue points (``civgrid.maps.layers.issues_geojson``). A URL is
        re-queried with the filter values as parameters; embedded data is
        filtered in the page.
    county_name : str
        Shown in the title.
    basemap : Basemap, optional
        Tiles; None = offline blank background. Data must already be in its
        display CRS (``basemap.display_crs``).
    center : (lat, lon), optional
        Initial centre in display coordinates.
    zoom : int
        Initial zoom.
    visible : sequence of str, optional
        Layers ticked at start (default: county, townships, communities, roads, key sites).
    filters : mapping, optional
        Filter options: ``categories`` [{code, name, parent}], ``sources``
        [{value, label}], ``areas`` [{code, name, type}], ``defaults`` {from, to, kind}.
    units : sequence of {key, name}
        Units offered for reassignment.
    api : str, optional
        API base (``"/api/v1"``); None disables reassignment and detail lookups.
    actions : mapping, optional
        URL templates with ``{id}``: ``reassign``, ``dispatch``, ``detail``, ``options``
        (the dispatch choices), ``bulk`` (a batch) and ``undo`` (with ``{batch}``); defaults
        under ``api``.
    state_labels : mapping, optional
        Workflow state labels (default: the workflow table's).
    links : sequence of (label, href)
        Navigation links in the header.
    subtitle : str
    may_dispatch : bool
        Whether the user may dispatch and reassign (``issue.dispatch``). Without it
        the page has no draw tool, no 交办/改派 buttons, no undo and no unit list: only
        the details (tools a role may not use are not shown).

    Returns
    -------
    folium.Map
    """
    title = f"{county_name}创文网格化管理" if county_name else "创文网格化管理"
    m = _base(
        title=f"{title} · {subtitle}",
        basemap=basemap,
        center=center,
        zoom=zoom,
        plugins=("markercluster", "draw"),
    )
    cfg = _common_config(
        county_name=county_name, basemap=basemap, api=api, state_labels=state_labels or {}
    )
    acts = dict(actions or {})
    if api:
        acts.setdefault("reassign", f"{api}/issues/{{id}}/reassign")
        acts.setdefault("dispatch", f"{api}/issues/{{id}}/dispatch")
        acts.setdefault("detail", f"{api}/issues/{{id}}")
        acts.setdefault("options", f"{api}/issues/{{id}}/dispatch-options")
        acts.setdefault("bulk", f"{api}/issues/bulk-reassign")
        acts.setdefault("undo", f"{api}/issue-batches/{{batch}}/undo")
    if not may_dispatch:
        acts = {k: v for k, v in acts.items() if k == "detail"}
        units = ()
    cfg.update(
        {
            "page": "command",
            "layers": _layer_entries(layers, visible),
            "issues": _source(issues),
            "filters": dict(filters or {}),
            "units": [dict(u) for u in units],
            "actions": acts,
            "draw": bool(api and acts.get("reassign")),
        }
    )
    m.add_child(RawHtml(page_header(title, subtitle, links)))
    m.add_child(PageConfig("initCommandMap", cfg))
    return m


def heat_map(
    *,
    hexbins: LayerSource,
    density: LayerSource | None = None,
    context: Mapping[str, LayerSource] | None = None,
    county_name: str = "",
    basemap: Basemap | None = None,
    center: tuple[float, float] | None = None,
    zoom: int = 13,
    filters: Mapping[str, Any] | None = None,
    res: int | None = None,
    api: str | None = None,
    links: Sequence[tuple[str, str]] = (),
) -> folium.Map:
    """The heat map of recurring problems (问题热力图).

    Parameters
    ----------
    hexbins : URL or GeoJSON dict
        From :func:`civgrid.maps.heat.hexbin_geojson` (with ``hotspots``). A URL
        is re-queried with ``res`` (chosen by zoom unless fixed), ``category``,
        ``source``, ``days`` / ``from`` / ``to``.
    density : URL or dict, optional
        :func:`civgrid.maps.heat.density_points` output for the density layer.
    context : mapping of layer key → URL or GeoJSON, optional
        Outlines drawn under the hexagons (townships, communities).
    res : int, optional
        Fixed H3 resolution; None = by zoom.
    (others as in :func:`command_center_map`)

    Returns
    -------
    folium.Map
    """
    title = f"{county_name}创文网格化管理" if county_name else "创文网格化管理"
    subtitle = "反弹回潮问题热力图"
    m = _base(
        title=f"{title} · {subtitle}", basemap=basemap, center=center, zoom=zoom, plugins=("heat",)
    )
    cfg = _common_config(county_name=county_name, basemap=basemap, api=api, state_labels={})
    cfg.update(
        {
            "page": "heat",
            "hexbins": _source(hexbins),
            "density": _source(density),
            "layers": _layer_entries(context or {}, list((context or {}).keys())),
            "filters": dict(filters or {}),
            "res": res,
        }
    )
    m.add_child(RawHtml(page_header(title, subtitle, links)))
    m.add_child(PageConfig("initHeatMap", cfg))
    return m


def _community_table(rows: Sequence[Mapping[str, Any]]) -> str:
    if not rows:
        return '<p class="cg-muted">该领导暂无分包社区。</p>'
    body = "".join(
        "<tr>"
        f"<td>{escape(str(r.get('name', '')))}</td>"
        f"<td>{escape(str(r.get('role_label', '')))}</td>"
        f"<td class='num'>{int(r.get('open', 0))}</td>"
        f"<td class='num cg-overdue'>{int(r.get('overdue', 0))}</td>"
        f"<td class='num'>{int(r.get('recurring', 0))}</td>"
        f"<td class='num'>{int(r.get('total', 0))}</td>"
        "</tr>"
        for r in rows
    )
    return (
        '<table class="cg-table" id="cg-leader-table"><thead><tr><th>片区</th><th>职责</th>'
        f"<th>未结</th><th>{escape(zh.ISSUE_ACTION_LABELS['overdue'])}</th>"
        "<th>反弹</th><th>累计</th></tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def cadence_verdicts(cadence: Mapping[str, Any] | None, day_of_month: int) -> list[tuple[str, str]]:
    """The month's two leader cadences as (state, text); state ``ok``, ``due`` or ``missed``.

    Sheqi: office hours (现场办公) in the first ten days; Lüliang: at least two site
    inspections (看) a month. ``day_of_month`` is today's day in a running month, or
    99 for a month that has ended (then "due" becomes "missed").
    """
    if not cadence:
        return []
    out: list[tuple[str, str]] = []
    if cadence.get("office_hours_first_ten_days"):
        out.append(("ok", "现场办公（每月上旬）：已完成"))
    elif day_of_month <= 10:
        out.append(("due", "现场办公（每月上旬）：待完成"))
    else:
        out.append(("missed", "现场办公（每月上旬）：未按时完成"))
    n = int(cadence.get("site_inspections") or 0)
    if cadence.get("site_inspections_ok"):
        out.append(("ok", f"实地察看（每月至少两次）：{n} 次，已达标"))
    else:
        state = "due" if day_of_month < 99 else "missed"
        short = "尚差" if state == "due" else "缺"
        out.append((state, f"实地察看（每月至少两次）：{n} 次，{short} {2 - n} 次"))
    return out


def _cadence_html(verdicts: Sequence[tuple[str, str]]) -> str:
    if not verdicts:
        return ""
    items = "".join(f'<li class="cg-cadence-{s}">{escape(t)}</li>' for s, t in verdicts)
    return f'<ul class="cg-cadence" id="cg-cadence">{items}</ul>'


def visits_html(
    visits: Sequence[Mapping[str, Any]] | None,
    month_label: str,
    verdicts: Sequence[tuple[str, str]] = (),
) -> str:
    head = f'<div class="cg-visits" id="cg-visits"><h3>本月走访（{escape(month_label)}）</h3>'
    head += _cadence_html(verdicts)
    if not visits:
        return (
            head + '<p class="cg-muted">暂无记录：现场办公（每月上旬）与实地察看'
            "（“看”，每月至少两次）由领导走访记录录入"
            "（巡查页面或 /api/v1/leaders/{key}/visits）。</p></div>"
        )
    items = "".join(  # 领导走访记录 (patrol): date, kind, place, findings
        f"<li>{escape(str(v.get('date', '')))} {escape(str(v.get('kind_label', '')))} "
        f"{escape(str(v.get('place', '')))}"
        + (f"：{escape(str(v['findings']))}" if v.get("findings") else "")
        + "</li>"
        for v in visits
    )
    return head + f"<ul>{items}</ul></div>"


def _scores_section(leader: Mapping[str, Any]) -> str:
    """The leader's scores (考核得分), loaded from the scoring API (see maps/scoring_pages.py)."""
    from civgrid.maps.scoring_pages import leader_dashboard_loader

    return leader_dashboard_loader(str(leader.get("key") or ""))


def leader_map(
    *,
    leader: Mapping[str, Any],
    layers: Mapping[str, LayerSource],
    issues: LayerSource | None = None,
    communities: Sequence[Mapping[str, Any]] = (),
    visits: Sequence[Mapping[str, Any]] | None = None,
    cadence: Sequence[tuple[str, str]] = (),
    month_label: str = "",
    county_name: str = "",
    basemap: Basemap | None = None,
    center: tuple[float, float] | None = None,
    zoom: int = 13,
    filters: Mapping[str, Any] | None = None,
    api: str | None = None,
    links: Sequence[tuple[str, str]] = (),
) -> folium.Map:
    """A leader's view (领导视图): only that leader's areas and their issues.

    Parameters
    ----------
    leader : mapping
        ``key`` and ``title`` (no personal name is needed or shown).
    layers : mapping of layer key → URL or GeoJSON
        The leader's townships, communities, road sections (already restricted).
    issues : URL or GeoJSON, optional
        The issues the leader answers for.
    communities : sequence of mappings
        One row per area: ``name``, ``role_label``, ``open``, ``overdue``,
        ``recurring``, ``total``.
    visits : sequence of mappings, optional
        The leader's visits this month (``date``, ``kind_label``, ``place``);
        None or empty → "none recorded".
    cadence : sequence of (state, text)
        Whether the month's cadences were kept (:func:`cadence_verdicts`).
    month_label : str
        e.g. "2025年3月".
    (others as in :func:`command_center_map`)

    Returns
    -------
    folium.Map
    """
    title = f"{county_name}创文网格化管理" if county_name else "创文网格化管理"
    who = str(leader.get("title") or leader.get("key"))
    subtitle = f"领导视图 · {who}"
    m = _base(
        title=f"{title} · {subtitle}",
        basemap=basemap,
        center=center,
        zoom=zoom,
        plugins=("markercluster",),
    )
    cfg = _common_config(county_name=county_name, basemap=basemap, api=api, state_labels={})
    cfg.update(
        {
            "page": "leader",
            "leader": {"key": leader.get("key"), "title": who},
            "layers": _layer_entries(layers, list(layers.keys())),
            "issues": _source(issues),
            "filters": dict(filters or {}),
            "actions": {"detail": f"{api}/issues/{{id}}"} if api else {},
            "draw": False,
        }
    )
    side = (
        '<aside class="cg-side" id="cg-leader-side">'
        f'<h2>{escape(who)}</h2><p class="cg-muted">联系乡镇、分包社区与路段的问题情况</p>'
        f"{_community_table(communities)}{visits_html(visits, month_label, cadence)}"
        f"{_scores_section(leader)}</aside>"
    )
    m.add_child(RawHtml(page_header(title, subtitle, links) + side))
    m.add_child(PageConfig("initLeaderMap", cfg))
    return m
