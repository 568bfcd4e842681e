"""``civgrid map --out county.html`` — the county map as one self-contained HTML file.

``api/cli/__init__.py`` registers :func:`map_command` as the ``map`` command::

    app.command("map")(cli_maps.map_command)

The file embeds Leaflet, civgrid's script and every layer (no CDN, no server):
open it from a USB stick on an intranet machine. The database option and its
revision check are those of every command (``_common``).
"""

from __future__ import annotations

from pathlib import Path

import typer

from civgrid.api.cli._common import DatabaseUrl, open_store

__all__ = ["map_command"]


def map_command(
    out: Path = typer.Option(..., "--out", "-o", help="Output HTML file, e.g. county.html."),
    page: str = typer.Option("command", help="command (指挥中心地图) or heat (问题热力图)."),
    days: int = typer.Option(90, min=1, help="Issues of the last N days of data."),
    basemap: str | None = typer.Option(
        None,
        help="Basemap preset or URL template (default: the configured one; 'none' = offline).",
    ),
    zoom: int = typer.Option(13, min=5, max=18, help="Initial zoom."),
    max_issues: int = typer.Option(5000, min=1, max=10000, help="At most this many issues."),
    database_url: DatabaseUrl = None,
) -> None:
    """Write the county map (all layers and recent issues inline) as one offline HTML file."""
    from civgrid.api.settings import Settings
    from civgrid.maps.basemaps import BasemapError, basemap_from_settings, resolve_basemap
    from civgrid.maps.offline import county_html

    if page not in ("command", "heat"):
        raise typer.BadParameter("page must be 'command' or 'heat'", param_hint="--page")
    settings = Settings()
    try:
        bm = (
            resolve_basemap(
                basemap, attribution=settings.basemap_attribution, crs=settings.basemap_crs
            )
            if basemap is not None
            else basemap_from_settings(settings)
        )
    except BasemapError as exc:
        raise typer.BadParameter(str(exc), param_hint="--basemap") from exc
    with open_store(database_url) as store:
        html = county_html(
            store,
            county_name=settings.county_name,
            basemap=bm,
            page=page,
            days=days,
            zoom=zoom,
            max_issues=max_issues,
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    size_kb = out.stat().st_size / 1024
    typer.echo(f"wrote {out} ({size_kb:.0f} KB, {page} map, basemap: {bm.label})")
