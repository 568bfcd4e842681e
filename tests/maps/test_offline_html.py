"""No CDN anywhere: rendered pages link only local assets (or embed them), and folium stays
inside civgrid.maps."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from civgrid.maps.basemaps import resolve_basemap
from civgrid.maps.folium_offline import (
    MissingAssetError,
    localize,
    offline_map,
    remote_urls,
    render_html,
)
from civgrid.maps.pages import command_center_map, heat_map, leader_map

FC = {"type": "FeatureCollection", "features": []}
ISSUE_FC = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "id": 1,
            "properties": {
                "id": 1,
                "state": "assigned",
                "category": "street_vending",
                "open": True,
            },
            "geometry": {"type": "Point", "coordinates": [112.95, 33.05]},
        },
    ],
}
_SCRIPT_OR_LINK = re.compile(r"<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*\"([^\"]*)\"", re.I)
_ANY_URL = re.compile(r"""(?:https?:)?//[^\s"'<>)\\]+""")


def pages(basemap):
    yield command_center_map(
        layers={"township": "/api/v1/layers/township.geojson"},
        issues="/api/v1/layers/issues.geojson",
        basemap=basemap,
        county_name="社旗县",
        api="/api/v1",
    )
    yield heat_map(hexbins="/api/v1/hexbins", density="/api/v1/heat/points", basemap=basemap)
    yield leader_map(
        leader={"key": "L01", "title": "县委副书记"},
        layers={"community": FC},
        issues=ISSUE_FC,
        basemap=basemap,
    )


def remote_strings(html: str, allowed: tuple[str, ...]) -> list[str]:
    """Every URL-looking string in the page that is not an allowed tile template."""
    text = html.replace("\\u0026", "&").replace("\\/", "/")
    return [
        u for u in _ANY_URL.findall(text) if not any(u in a or a.startswith(u) for a in allowed)
    ]


@pytest.mark.parametrize("preset", ["none", "tianditu:testkey", "amap"])
@pytest.mark.parametrize("mode", ["served", "inline"])
def test_pages_load_nothing_from_a_cdn(preset, mode):
    bm = resolve_basemap(preset)
    for m in pages(bm):
        html = render_html(m, mode=mode)
        assert remote_urls(html) == []
        links = _SCRIPT_OR_LINK.findall(html)
        assert links, "the page must load Leaflet"
        for url in links:
            assert not re.match(r"^(https?:)?//", url), url
            if mode == "served":
                assert url.startswith(("/static/", "data:")), url
            else:
                assert url.startswith("data:"), url
        # the only remote URLs anywhere in the document are the basemap tile templates
        assert remote_strings(html, bm.tile_templates) == []
        for template in bm.tile_templates:
            assert template.split("{s}")[0].replace("&", "\\u0026") in html or template in html
        for lib in ("jquery", "bootstrap", "font-awesome", "fontawesome", "awesome-markers"):
            assert lib not in html.lower(), lib


def test_served_pages_name_the_vendored_files():
    html = render_html(next(pages(resolve_basemap(None))), mode="served")
    for path in (
        "/static/vendor/leaflet/leaflet.js",
        "/static/vendor/leaflet/leaflet.css",
        "/static/vendor/leaflet.markercluster/leaflet.markercluster.js",
        "/static/vendor/leaflet-draw/leaflet.draw.js",
        "/static/js/civgrid-map.js",
        "/static/css/civgrid-map.css",
    ):
        assert f'"{path}"' in html, path


def test_inline_page_is_self_contained():
    html = render_html(next(pages(resolve_basemap(None))), mode="inline")
    assert "/static/" not in html
    assert "url(images/" not in html  # stylesheet images embedded too
    assert "civgrid.initCommandMap" in html


def test_offline_basemap_has_no_tile_layer_and_tianditu_has_its_layers():
    off = render_html(offline_map(basemap=resolve_basemap(None)))
    assert "L.tileLayer" not in off
    tdt = render_html(offline_map(basemap=resolve_basemap("tianditu:k")))
    assert tdt.count("L.tileLayer(") == 2
    assert "t{s}.tianditu.gov.cn/vec_w/wmts" in tdt and "t{s}.tianditu.gov.cn/cva_w/wmts" in tdt


def test_unknown_cdn_asset_is_an_error_not_a_link():
    import folium
    from folium.plugins import Fullscreen

    m = offline_map()
    Fullscreen().add_to(m)  # a plugin we have not vendored
    with pytest.raises(MissingAssetError):
        localize(m)
    assert folium.Map.default_js[0][1].startswith("https://")  # class lists left alone


def test_page_config_cannot_close_its_script():
    m = command_center_map(
        layers={},
        issues={
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"description": "</script><script>alert(1)</script>"},
                    "geometry": None,
                }
            ],
        },
    )
    html = render_html(m, mode="served")
    assert "</script><script>alert(1)" not in html


FOLIUM_FREE = (
    "civgrid.geo",
    "civgrid.grids",
    "civgrid.grids.issues.service",
    "civgrid.grids.boundaries.store",
    "civgrid.maps.hexbins",
    "civgrid.maps.layers",
    "civgrid.api.routers.maps",
)


@pytest.mark.parametrize("package", FOLIUM_FREE)
def test_importing_does_not_import_folium(package):
    code = (
        f"import sys, importlib; importlib.import_module({package!r}); "
        "bad = [m for m in ('folium', 'branca') if m in sys.modules]; "
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"{package} imported {r.stdout.strip()} {r.stderr[-500:]}"
