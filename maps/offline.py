"""A self-contained HTML file of the county map, for sharing offline (``civgrid map --out``).

Everything the page needs — Leaflet and its plugins, civgrid's script and
stylesheet, every layer's GeoJSON and the issues — is embedded; the file opens
from a USB stick on a machine with no network. Tiles are the only thing fetched
(and only when a basemap is configured; the default is the blank offline
background). Filters work in the page on the embedded issues; reassignment
needs the live system and is left out.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from sqlalchemy.orm import Session

from civgrid.maps.basemaps import OFFLINE, Basemap
from civgrid.maps.context import filter_options, map_center
from civgrid.maps.layers import issue_layer, layer_geojson

__all__ = ["COUNTY_LAYERS", "county_html"]

#: Layers of the offline command-center map, bottom first.
COUNTY_LAYERS = (
    "county",
    "township",
    "community",
    "unit_grid",
    "supervision_area",
    "key_site_zone",
    "road_section",
    "key_site",
)


def _issues(session: Session, *, days: int, max_issues: int, display_crs: str) -> dict:
    from civgrid.grids.issues.models import Issue
    from civgrid.maps.heat import heat_window

    window = heat_window(session, days=days)
    conds = [Issue.reported_at >= window.start, Issue.reported_at < window.end]
    return issue_layer(session, conds, detail=True, display_crs=display_crs, limit=max_issues)


def county_html(
    store: Any,
    *,
    county_name: str = "",
    basemap: Basemap | None = None,
    page: Literal["command", "heat"] = "command",
    days: int = 90,
    zoom: int = 13,
    max_issues: int = 5000,
) -> str:
    """The county map as one self-contained HTML document.

    Parameters
    ----------
    store : Store
    county_name : str
    basemap : Basemap, optional
        Tiles; default none (blank background, fully offline).
    page : {"command", "heat"}
        The command-center map (layers + issues) or the heat map.
    days : int
        Issues reported in the last ``days`` days of data.
    zoom : int
        Initial zoom; geometry is simplified for one zoom level deeper.
    max_issues : int
        At most this many issues (newest first).

    Returns
    -------
    str
        HTML with every script, stylesheet and data set inline.
    """
    from civgrid.maps.folium_offline import render_html
    from civgrid.maps.pages import command_center_map, heat_map

    bm = basemap or OFFLINE
    crs = bm.display_crs
    with store.session() as session:
        center = map_center(store, session, crs)
        filters = filter_options(store, session, days=days)
        if page == "heat":
            from sqlalchemy import select

            from civgrid.grids.boundaries.models import Area, Category
            from civgrid.grids.issues.models import Issue
            from civgrid.maps.heat import density_points, heat_window, hexbin_geojson, issue_arrays
            from civgrid.maps.hexbins import resolution_for_zoom

            window = heat_window(session, days=days)
            data = issue_arrays(
                session, [Issue.reported_at >= window.start, Issue.reported_at < window.end]
            )
            res = resolution_for_zoom(zoom + 1)
            hexes = hexbin_geojson(
                data,
                res,
                display_crs=crs,
                category_names=dict(session.execute(select(Category.code, Category.name)).all()),
                community_names=dict(session.execute(select(Area.code, Area.name)).all()),
            )
            last = window.end - timedelta(seconds=1)
            hexes["window"] = {
                "from": window.start.date().isoformat(),
                "to": last.date().isoformat(),
            }
            m = heat_map(
                hexbins=hexes,
                density=density_points(data, min(res + 2, 13), display_crs=crs),
                context={
                    k: layer_geojson(store, session, k, zoom=zoom + 1, display_crs=crs)
                    for k in ("county", "township", "community")
                },
                county_name=county_name,
                basemap=bm,
                center=center,
                zoom=zoom,
                filters=filters,
                res=res,
            )
        else:
            layers = {
                k: layer_geojson(store, session, k, zoom=zoom + 1, display_crs=crs)
                for k in COUNTY_LAYERS
            }
            m = command_center_map(
                layers=layers,
                issues=_issues(session, days=days, max_issues=max_issues, display_crs=crs),
                county_name=county_name,
                basemap=bm,
                center=center,
                zoom=zoom,
                filters=filters,
                subtitle="指挥中心地图（离线版）",
            )
    return render_html(m, mode="inline")
