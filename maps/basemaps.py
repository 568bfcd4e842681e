"""Basemap presets (底图) and the display CRS they imply.

A :class:`Basemap` is a stack of XYZ tile layers plus the geographic CRS its
tiles are drawn in. That CRS decides how civgrid's vector layers (stored in
WGS84) are *displayed*: on GCJ-02 tiles (Amap 高德, Tencent 腾讯) every
coordinate is shifted to GCJ-02 before it reaches the browser
(:mod:`civgrid.maps.display`); on Tianditu (CGCS2000, treated as WGS84 at the
metre level) and on WGS84 tiles nothing is shifted.

Presets
-------
``tianditu`` / ``tianditu-img``
    天地图, the government default: vector (``vec_w``) or imagery (``img_w``)
    with the Chinese annotation overlay (``cva_w`` / ``cia_w``), WMTS "w"
    matrix set (Web Mercator), key ``tk`` required. CGCS2000.
``amap`` / ``amap-img``
    高德地图 road map or imagery. GCJ-02.
``tencent``
    腾讯地图. GCJ-02.
``intranet``
    The county's own tile server, any URL template, CRS as configured.
``none``
    Offline: no tiles at all; the vector layers show on a blank background.

The settings ``basemap_url`` may hold a preset instead of a URL, with the key
after a colon: ``"tianditu:0123abcd…"``, ``"amap"``, ``"none"``; any other
value is used as the tile URL template of the ``intranet`` preset with
``basemap_attribution`` and ``basemap_crs``.

Examples
--------
>>> resolve_basemap("amap").display_crs
'gcj02'
>>> resolve_basemap("tianditu:KEY").display_crs
'wgs84'
>>> resolve_basemap(None).offline
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from civgrid.geo.crs import normalize_crs

__all__ = [
    "PRESETS",
    "Basemap",
    "BasemapError",
    "TileSpec",
    "basemap_from_settings",
    "display_crs_for",
    "resolve_basemap",
    "tile_hosts",
]


class BasemapError(ValueError):
    """A basemap setting that cannot be used (unknown preset, missing key, bad CRS)."""


@dataclass(frozen=True)
class TileSpec:
    """One XYZ tile layer: URL template (``{s}``, ``{z}``, ``{x}``, ``{y}``) and metadata."""

    url: str
    name: str
    attribution: str = ""
    subdomains: str = ""
    min_zoom: int = 1
    max_zoom: int = 18
    overlay: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Leaflet ``L.tileLayer`` options (plus ``url`` and ``name``)."""
        out: dict[str, Any] = {
            "url": self.url,
            "name": self.name,
            "attribution": self.attribution,
            "minZoom": self.min_zoom,
            "maxZoom": self.max_zoom,
            "overlay": self.overlay,
        }
        if self.subdomains:
            out["subdomains"] = self.subdomains
        return out


@dataclass(frozen=True)
class Basemap:
    """A basemap: tile layers (bottom first) drawn in the geographic CRS ``crs``.

    Attributes
    ----------
    key : str
        Preset name (``"tianditu"``, ``"amap"``, ``"intranet"``, ``"none"`` …).
    label : str
        Chinese name for the layer control.
    crs : str
        ``"wgs84"``, ``"cgcs2000"`` or ``"gcj02"`` — the coordinates the tiles are drawn in.
    tiles : tuple of TileSpec
        Empty for the offline basemap.
    """

    key: str
    label: str
    crs: str = "wgs84"
    tiles: tuple[TileSpec, ...] = field(default_factory=tuple)

    @property
    def offline(self) -> bool:
        """True when there are no tiles (blank background)."""
        return not self.tiles

    @property
    def display_crs(self) -> str:
        """The CRS vector layers must be shown in to line up: ``"wgs84"`` or ``"gcj02"``."""
        return display_crs_for(self.crs)

    @property
    def tile_templates(self) -> tuple[str, ...]:
        """The URL templates (the only remote URLs a rendered page may contain)."""
        return tuple(t.url for t in self.tiles)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly description (for page configuration)."""
        return {
            "key": self.key,
            "label": self.label,
            "crs": self.crs,
            "display_crs": self.display_crs,
            "tiles": [t.to_dict() for t in self.tiles],
        }


def display_crs_for(crs: str | None) -> str:
    """The display CRS for tiles in ``crs``.

    Parameters
    ----------
    crs : str or None
        Tile CRS, any name :func:`civgrid.geo.crs.normalize_crs` accepts; None = WGS84.

    Returns
    -------
    str
        ``"gcj02"`` for GCJ-02 tiles, otherwise ``"wgs84"`` (CGCS2000 is WGS84 at the metre level).

    Raises
    ------
    BasemapError
        BD-09 (Baidu tiles use their own tiling scheme and are not supported) or an unknown name.
    """
    if crs is None or crs == "":
        return "wgs84"
    try:
        name = normalize_crs(crs)
    except Exception as exc:  # UnknownCRSError
        raise BasemapError(f"unknown basemap CRS {crs!r}") from exc
    if name == "bd09":
        raise BasemapError("Baidu (BD-09) tiles are not supported; use Tianditu, Amap or Tencent")
    return "gcj02" if name == "gcj02" else "wgs84"


_TDT_ATTR = "天地图 © 国家地理信息公共服务平台"
_AMAP_ATTR = "© 高德地图 AutoNavi"


def _tianditu_url(layer: str, key: str) -> str:
    return (
        f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
        f"&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
        f"&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
    )


def _tianditu(key: str | None, imagery: bool = False) -> Basemap:
    if not key:
        raise BasemapError(
            "Tianditu needs a key: set basemap_url to 'tianditu:<tk>' (apply at "
            "console.tianditu.gov.cn)"
        )
    base, notes = ("img", "cia") if imagery else ("vec", "cva")
    return Basemap(
        key="tianditu-img" if imagery else "tianditu",
        label="天地图影像" if imagery else "天地图",
        crs="cgcs2000",
        tiles=(
            TileSpec(
                _tianditu_url(base, key),
                "天地图影像" if imagery else "天地图矢量",
                _TDT_ATTR,
                "01234567",
                1,
                18,
            ),
            TileSpec(_tianditu_url(notes, key), "天地图注记", "", "01234567", 1, 18, True),
        ),
    )


def _amap(imagery: bool = False) -> Basemap:
    if imagery:
        tiles = (
            TileSpec(
                "https://webst0{s}.is.autonavi.com/appmaptile?style=6&x={x}&y={y}&z={z}",
                "高德影像",
                _AMAP_ATTR,
                "1234",
                3,
                18,
            ),
            TileSpec(
                "https://webst0{s}.is.autonavi.com/appmaptile?style=8&x={x}&y={y}&z={z}",
                "高德注记",
                "",
                "1234",
                3,
                18,
                True,
            ),
        )
    else:
        tiles = (
            TileSpec(
                "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1"
                "&style=8&x={x}&y={y}&z={z}",
                "高德地图",
                _AMAP_ATTR,
                "1234",
                3,
                18,
            ),
        )
    return Basemap(
        "amap-img" if imagery else "amap", "高德影像" if imagery else "高德地图", "gcj02", tiles
    )


def _tencent() -> Basemap:
    return Basemap(
        "tencent",
        "腾讯地图",
        "gcj02",
        (
            TileSpec(
                "https://rt{s}.map.gtimg.com/tile?z={z}&x={x}&y={-y}&styleid=1000&scene=0",
                "腾讯地图",
                "© 腾讯地图",
                "0123",
                3,
                18,
            ),
        ),
    )


OFFLINE = Basemap("none", "无底图（离线）", "wgs84", ())

#: Preset names → short Chinese description (for docs and ``--help``).
PRESETS: dict[str, str] = {
    "tianditu": "天地图矢量 + 注记 (CGCS2000, 需要 tk 密钥)",
    "tianditu-img": "天地图影像 + 注记 (CGCS2000, 需要 tk 密钥)",
    "amap": "高德地图 (GCJ-02)",
    "amap-img": "高德影像 (GCJ-02)",
    "tencent": "腾讯地图 (GCJ-02)",
    "intranet": "内网瓦片服务 (URL 模板, 坐标系按配置)",
    "none": "无底图, 离线空白背景",
}

_OFFLINE_WORDS = {"", "none", "offline", "blank", "off"}


def resolve_basemap(
    url_or_preset: str | None,
    *,
    attribution: str = "",
    crs: str = "wgs84",
    key: str | None = None,
) -> Basemap:
    """The basemap for a setting value.

    Parameters
    ----------
    url_or_preset : str or None
        A preset name (``"tianditu"``, ``"tianditu:<tk>"``, ``"amap"``, ``"none"`` …),
        an XYZ URL template (the ``intranet`` preset), or None/empty for offline.
    attribution : str
        Attribution of a URL template.
    crs : str
        CRS of a URL template's tiles (``wgs84``, ``cgcs2000``, ``gcj02``).
    key : str, optional
        Tianditu key, when not given after the colon.

    Returns
    -------
    Basemap

    Raises
    ------
    BasemapError
        Unknown preset, missing Tianditu key, unsupported CRS.
    """
    value = (url_or_preset or "").strip()
    if value.lower() in _OFFLINE_WORDS:
        return OFFLINE
    if "{" not in value and "/" not in value:
        name, _, arg = value.partition(":")
        name = name.strip().lower()
        arg = arg.strip() or key
        if name in ("tianditu", "tdt", "天地图"):
            return _tianditu(arg)
        if name in ("tianditu-img", "tdt-img"):
            return _tianditu(arg, imagery=True)
        if name in ("amap", "gaode", "高德"):
            return _amap()
        if name in ("amap-img", "gaode-img"):
            return _amap(imagery=True)
        if name in ("tencent", "qq", "腾讯"):
            return _tencent()
        raise BasemapError(
            f"unknown basemap preset {value!r}; presets: {', '.join(PRESETS)} or a URL template"
        )
    if "{z}" not in value or "{x}" not in value or ("{y}" not in value and "{-y}" not in value):
        raise BasemapError(f"basemap URL template needs {{z}}, {{x}} and {{y}}: {value!r}")
    display_crs_for(crs)  # validate
    return Basemap(
        "intranet",
        "内网底图",
        normalize_crs(crs),
        (TileSpec(value, "内网底图", attribution, "", 1, 20),),
    )


def basemap_from_settings(settings: Any) -> Basemap:
    """The basemap configured in :class:`civgrid.api.settings.Settings`.

    Reads ``basemap_url``, ``basemap_attribution``, ``basemap_crs`` and, when
    the settings class has them, ``basemap_preset`` and ``tianditu_key``.
    """
    preset = getattr(settings, "basemap_preset", None)
    url = getattr(settings, "basemap_url", None)
    value = url if (preset in (None, "", "intranet")) else preset
    return resolve_basemap(
        value,
        attribution=getattr(settings, "basemap_attribution", "") or "",
        crs=getattr(settings, "basemap_crs", "wgs84") or "wgs84",
        key=getattr(settings, "tianditu_key", None),
    )


def _source_of(template: str) -> str | None:
    """The CSP source expression (``scheme://host[:port]``) of a tile URL template.

    A templated first label (``t{s}``, ``webst0{s}``) becomes ``*``.

    >>> _source_of("https://t{s}.tianditu.gov.cn/vec_w/wmts?x={x}")
    'https://*.tianditu.gov.cn'
    >>> _source_of("http://10.0.0.5:8080/tiles/{z}/{x}/{y}.png")
    'http://10.0.0.5:8080'
    """
    from urllib.parse import urlsplit

    parts = urlsplit(template.replace("{s}", "S"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    labels = parts.netloc.split(".")
    if "S" in labels[0] and "{s}" in template:
        labels[0] = "*"
    return f"{parts.scheme}://{'.'.join(labels)}"


def tile_hosts(settings: Any) -> tuple[str, ...]:
    """CSP image sources of the basemap configured in ``settings`` (empty when offline).

    Parameters
    ----------
    settings : Settings or None
        As for :func:`basemap_from_settings`; a basemap that cannot be resolved gives none.

    >>> tile_hosts(None)
    ()
    >>> tile_hosts(type("S", (), {"basemap_url": "amap"})())
    ('https://*.is.autonavi.com',)
    """
    if settings is None:
        return ()
    try:
        basemap = basemap_from_settings(settings)
    except BasemapError:
        return ()
    found = (_source_of(t) for t in basemap.tile_templates)
    return tuple(dict.fromkeys(s for s in found if s))
