"""The patrol page (巡查): plan visits, a team's route, tracks and coverage on one map.

Built with :func:`civgrid.maps.folium_offline.offline_map` (Leaflet served from
``/static/vendor``, no CDN); ``maps/static/js/patrol.js`` loads the layers from
``/api/v1/patrol/map`` (WGS84 GeoJSON) and draws them: planned visits by kind,
the route, GPS tracks, road sections covered (green) or missed (red) and unit grids
entered or missed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from civgrid.grids.core.city import current_city
from civgrid.grids.core.labels import (
    PATROL_KIND_COLORS,
    PATROL_KIND_LABELS,
    PATROL_LEGEND_COLORS,
    PATROL_LEGEND_LABELS,
    UNIT_KIND_LABELS,
)

__all__ = ["KIND_COLORS", "patrol_map"]

#: Marker colour of each visit kind (home: ``grids/core/labels.py``).
KIND_COLORS = PATROL_KIND_COLORS
COVERED_COLOR = PATROL_LEGEND_COLORS["covered"]
MISSED_COLOR = PATROL_LEGEND_COLORS["missed"]
TRACK_COLOR = PATROL_LEGEND_COLORS["track"]
ROUTE_COLOR = PATROL_LEGEND_COLORS["route"]


def _panel(
    month: str, team: str | None, day: str | None, teams: Sequence[Mapping[str, Any]]
) -> str:
    opts = '<option value="">全部督查组</option>' + "".join(
        f'<option value="{escape(t["key"])}"{" selected" if t["key"] == team else ""}>'
        f"{escape(t['key'])} {escape(t['name'])}</option>"
        for t in teams
    )
    legend = "".join(
        f'<li><span class="cg-dot" style="background:{c}"></span>'
        f"{escape(PATROL_KIND_LABELS[k])}</li>"
        for k, c in KIND_COLORS.items()
    )
    legend += "".join(
        f'<li><span class="cg-line" style="background:{PATROL_LEGEND_COLORS[k]}"></span>'
        f"{escape(label)}</li>"
        for k, label in PATROL_LEGEND_LABELS.items()
    )
    return f"""
<div class="cg-panel cg-panel-left cg-patrol-panel" id="cg-patrol-panel">
  <div class="cg-panel-head"><h3>巡查计划与覆盖</h3></div>
  <div class="cg-panel-body">
    <form id="cg-patrol-form" method="get" action="/patrol" data-perm="patrol.read">
      <label>月份 <input type="month" name="month" value="{escape(month)}"></label>
      <label>督查组 <select name="team">{opts}</select></label>
      <label>日期 <input type="date" name="date" value="{escape(day or "")}"></label>
      <button type="submit" data-perm="patrol.read">查看</button>
    </form>
    <div id="cg-patrol-summary" class="cg-muted">加载中…</div>
    <ol id="cg-patrol-route"></ol>
    <ul class="cg-patrol-legend">{legend}</ul>
  </div>
</div>
<style>
.cg-patrol-panel {{ width: 300px; max-height: calc(100vh - 90px); overflow: auto; }}
.cg-patrol-panel label {{ display: block; margin: 4px 0; font-size: 13px; }}
.cg-patrol-legend {{ list-style: none; padding: 0; font-size: 12px; }}
.cg-patrol-legend li {{ margin: 2px 0; }}
.cg-dot {{ display: inline-block; width: 10px; height: 10px; border-radius: 50%;
  margin-right: 6px; }}
.cg-line {{ display: inline-block; width: 18px; height: 4px; margin-right: 6px;
  vertical-align: middle; }}
#cg-patrol-summary table {{ font-size: 12px; border-collapse: collapse; width: 100%; }}
#cg-patrol-summary td, #cg-patrol-summary th {{ border-bottom: 1px solid #eee; padding: 2px; }}
#cg-patrol-route {{ font-size: 12px; padding-left: 18px; }}
</style>"""


def patrol_map(
    *,
    month: str,
    team: str | None = None,
    day: str | None = None,
    teams: Sequence[Mapping[str, Any]] = (),
    county_name: str = "",
    center: tuple[float, float] | None = None,
    zoom: int = 13,
    api: str = "/api/v1",
    links: Sequence[tuple[str, str]] = (("首页", "/"), ("指挥中心地图", "/map")),
) -> Any:
    """The patrol page (巡查) as a folium map.

    Parameters
    ----------
    month : str
        ``YYYY-MM``.
    team : str, optional
        Only this team's visits, tracks and coverage.
    day : str, optional
        ISO date: draw the team's route of that day.
    teams : sequence of mappings
        ``key`` and ``name`` of each team (for the selector and the bases).
    center : (lat, lon), optional
        WGS84 (the page uses the offline basemap).

    Returns
    -------
    folium.Map
        Render with :func:`civgrid.maps.folium_offline.render_html`.
    """
    from folium.elements import JSCSSMixin

    from civgrid.maps.folium_offline import PageConfig, RawHtml, offline_map
    from civgrid.maps.pages import page_header

    class PatrolAssets(JSCSSMixin):
        """``js/patrol.js`` (served from the static folder)."""

        def __init__(self) -> None:
            super().__init__()
            self._name = "PatrolAssets"
            self.default_js = [("civgrid_patrol", "js/patrol.js")]
            self.default_css = []

    title = f"{county_name}创文网格化管理" if county_name else "创文网格化管理"
    m = offline_map(
        location=center or current_city().latlon,
        zoom_start=zoom,
        title=f"{title} · 巡查",
        control_scale=True,
    )
    m.add_child(PatrolAssets())
    m.add_child(RawHtml(page_header(title, "巡查计划 · 路线 · 轨迹覆盖", links)))
    m.add_child(RawHtml(_panel(month, team, day, teams)))
    cfg = {
        "api": api,
        "month": month,
        "team": team,
        "day": day,
        "teams": [{"key": t["key"], "name": t["name"], "base": t.get("base")} for t in teams],
        "kindLabels": PATROL_KIND_LABELS,
        "legendLabels": PATROL_LEGEND_LABELS,
        "teamLabel": UNIT_KIND_LABELS["supervision_team"],
        "kindColors": KIND_COLORS,
        "coveredColor": COVERED_COLOR,
        "missedColor": MISSED_COLOR,
        "trackColor": TRACK_COLOR,
        "routeColor": ROUTE_COLOR,
    }
    m.add_child(PageConfig("initPatrolMap", cfg))
    return m
