"""folium maps that never touch a CDN.

folium and its plugins link Leaflet, jQuery, Bootstrap and Font Awesome from
public CDNs; county intranets reach none of them. :func:`offline_map` builds a
:class:`folium.Map` whose every script and stylesheet is either

* ``"served"`` — a URL below the app's static mount (``/static/vendor/…``,
  ``/static/js/…``), for pages served by civgrid, or
* ``"inline"`` — embedded in the HTML as a ``data:`` URI (images referenced
  by the stylesheets included), for a self-contained file shared offline.

jQuery, Bootstrap and the awesome-markers assets folium adds by default are
dropped (civgrid's pages use none of them). A script or stylesheet with no
local copy is an error, never a silent CDN link. The only remote URLs a
rendered page may contain are the basemap's tile templates.

This module imports folium; nothing outside :mod:`civgrid.maps` may import it.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import folium
from branca.element import Element, Figure, MacroElement
from folium.elements import JSCSSMixin
from folium.template import Template

from civgrid.maps.assets import STATIC_DIR, STATIC_URL, VENDOR_CSS, VENDOR_JS
from civgrid.maps.basemaps import Basemap

__all__ = [
    "CIVGRID_CSS",
    "CIVGRID_JS",
    "AssetMode",
    "Assets",
    "MissingAssetError",
    "PageConfig",
    "RawHtml",
    "add_basemap",
    "localize",
    "offline_map",
    "remote_urls",
    "render_html",
]

AssetMode = Literal["served", "inline"]

#: civgrid's own page script and stylesheet, below the static folder.
CIVGRID_JS = {"civgrid_map_js": "js/civgrid-map.js"}
#: Leaflet's controls in Chinese (zoom titles), metric scale only, a plain-text prefix.
LEAFLET_ZH = ("leaflet_zh", "js/leaflet-zh.js")
CIVGRID_CSS = {"civgrid_map_css": "css/civgrid-map.css"}

# folium's resource names → our local file (below STATIC_DIR), or None to drop it.
_JS_NAMES: dict[str, str | None] = {
    "leaflet": VENDOR_JS["leaflet"],
    "jquery": None,
    "bootstrap": None,
    "awesome_markers": None,
    "markerclusterjs": VENDOR_JS["markercluster"],
    "leaflet-heat.js": VENDOR_JS["heat"],
    "leaflet_draw_js": VENDOR_JS["draw"],
}
_CSS_NAMES: dict[str, str | None] = {
    "leaflet_css": VENDOR_CSS["leaflet"],
    "bootstrap_css": None,
    "glyphicons_css": None,
    "awesome_markers_font_css": None,
    "awesome_markers_css": None,
    "awesome_rotate_css": None,
    "markerclustercss": VENDOR_CSS["markercluster"],
    "markerclusterdefaultcss": VENDOR_CSS["markercluster_default"],
    "leaflet_draw_css": VENDOR_CSS["draw"],
}

#: Vendor plugins a page may ask for (name → js names, css names).
PLUGINS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "markercluster": (("markercluster",), ("markercluster", "markercluster_default")),
    "heat": (("heat",), ()),
    "draw": (("draw",), ("draw",)),
}

_REMOTE = re.compile(r"^(?:https?:)?//", re.I)


class MissingAssetError(LookupError):
    """A folium element wants a script or stylesheet civgrid has no local copy of."""


@lru_cache(maxsize=64)
def _data_uri(rel: str, mime: str | None = None) -> str:
    path = STATIC_DIR / rel
    if not path.is_file():
        raise MissingAssetError(f"{path} is missing; run `make assets`")
    data = path.read_bytes()
    mime = mime or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if mime == "text/css":
        data = _inline_css_urls(data.decode("utf-8"), path.parent).encode("utf-8")
    if mime in ("text/javascript", "application/javascript"):
        mime = "text/javascript"
    return f"data:{mime};charset=utf-8;base64,{base64.b64encode(data).decode('ascii')}"


_CSS_URL = re.compile(r"url\(\s*(['\"]?)([^)'\"]+)\1\s*\)")


def _inline_css_urls(css: str, folder: Path) -> str:
    """Replace relative ``url(images/x.png)`` in a stylesheet by data URIs."""

    def repl(m: re.Match[str]) -> str:
        ref = m.group(2)
        if ref.startswith(("data:", "#")) or _REMOTE.match(ref):
            return m.group(0)
        target = (folder / ref).resolve()
        if not target.is_file():
            return m.group(0)
        mime = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        b64 = base64.b64encode(target.read_bytes()).decode("ascii")
        return f"url('data:{mime};base64,{b64}')"

    return _CSS_URL.sub(repl, css)


def _asset_url(rel: str, mode: AssetMode, static_url: str) -> str:
    if mode == "inline":
        return _data_uri(rel)
    return f"{static_url.rstrip('/')}/{rel}"


def _local_list(
    items: Iterable[tuple[str, str]],
    table: dict[str, str | None],
    mode: AssetMode,
    static_url: str,
    owner: str,
) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name, url in items:
        if url.startswith(("data:", static_url.rstrip("/") + "/")):
            out.append((name, url))
            continue
        if not _REMOTE.match(url):  # a path below the static folder
            out.append((name, _asset_url(url.lstrip("/"), mode, static_url)))
            continue
        if name not in table:
            raise MissingAssetError(
                f"{owner} links {url!r} ({name}); civgrid has no local copy — vendor it "
                "in maps/package.json and map it in civgrid.maps.folium_offline"
            )
        rel = table[name]
        if rel is not None:
            out.append((name, _asset_url(rel, mode, static_url)))
    return out


def localize(m: Any, mode: AssetMode = "served", static_url: str = STATIC_URL) -> Any:
    """Point every script/stylesheet of ``m`` and its descendants at local copies.

    Parameters
    ----------
    m : folium.Map or branca Element
        The root of the tree to rewrite (in place).
    mode : {"served", "inline"}
        Static URLs below ``static_url``, or ``data:`` URIs.
    static_url : str
        Where the app serves ``maps/static`` (default ``/static``).

    Returns
    -------
    The same object.

    Raises
    ------
    MissingAssetError
        A remote asset without a local copy.
    """
    stack = [m]
    while stack:
        el = stack.pop()
        if isinstance(el, JSCSSMixin):
            owner = type(el).__name__
            el.default_js = _local_list(el.default_js, _JS_NAMES, mode, static_url, owner)
            el.default_css = _local_list(el.default_css, _CSS_NAMES, mode, static_url, owner)
        stack.extend(getattr(el, "_children", {}).values())
    return m


class Assets(JSCSSMixin):
    """Extra scripts and stylesheets for a page: vendor plugins and civgrid's own files.

    Paths are relative to the static folder; :func:`localize` turns them into
    served URLs or data URIs.
    """

    _template = Template("")

    def __init__(self, plugins: Iterable[str] = (), civgrid: bool = True) -> None:
        super().__init__()
        self._name = "CivgridAssets"
        js: list[tuple[str, str]] = []
        css: list[tuple[str, str]] = []
        for p in plugins:
            if p not in PLUGINS:
                raise MissingAssetError(f"unknown plugin {p!r}; known: {', '.join(PLUGINS)}")
            js_names, css_names = PLUGINS[p]
            js += [(f"vendor_{n}", VENDOR_JS[n]) for n in js_names]
            css += [(f"vendor_{n}_css", VENDOR_CSS[n]) for n in css_names]
        if civgrid:
            js += list(CIVGRID_JS.items())
            css += list(CIVGRID_CSS.items())
        self.default_js = js
        self.default_css = css


class RawHtml(MacroElement):
    """Fixed HTML placed in the page body (panels, legends), outside the map div."""

    _template = Template("{% macro html(this, kwargs) %}{{ this.markup }}{% endmacro %}")

    def __init__(self, markup: str) -> None:
        super().__init__()
        self._name = "RawHtml"
        self.markup = markup


class PageConfig(MacroElement):
    """Calls ``civgrid.<entry>(map, config)`` from the page script once the map exists.

    ``config`` is serialised as JSON (``</`` escaped so it cannot close the script).
    """

    _template = Template(
        "{% macro script(this, kwargs) %}\n"
        "civgrid.{{ this.entry }}({{ this._parent.get_name() }}, {{ this.config_json }});\n"
        "{% endmacro %}"
    )

    def __init__(self, entry: str, config: dict[str, Any]) -> None:
        super().__init__()
        self._name = "PageConfig"
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", entry):
            raise ValueError(f"bad entry point name {entry!r}")
        self.entry = entry
        self.config = config

    @property
    def config_json(self) -> str:
        text = json.dumps(self.config, ensure_ascii=False, separators=(",", ":"))
        return text.replace("</", "<\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def add_basemap(m: folium.Map, basemap: Basemap | None) -> folium.Map:
    """Add the basemap's tile layers to ``m`` (nothing for the offline basemap)."""
    if basemap is None or basemap.offline:
        return m
    for i, t in enumerate(basemap.tiles):
        kwargs: dict[str, Any] = {}
        if t.subdomains:
            kwargs["subdomains"] = t.subdomains
        folium.TileLayer(
            tiles=t.url,
            attr=t.attribution or basemap.label,
            name=t.name,
            overlay=t.overlay,
            control=i == 0,
            min_zoom=t.min_zoom,
            max_zoom=t.max_zoom,
            max_native_zoom=t.max_zoom,
            **kwargs,
        ).add_to(m)
    return m


def offline_map(
    *,
    location: tuple[float, float] | None = None,
    zoom_start: int = 11,
    basemap: Basemap | None = None,
    plugins: Iterable[str] = (),
    civgrid_assets: bool = True,
    title: str | None = None,
    **map_kwargs: Any,
) -> folium.Map:
    """A :class:`folium.Map` without default tiles and with local assets declared.

    Parameters
    ----------
    location : (lat, lon), optional
        Initial centre in **display** coordinates (Leaflet order: lat first).
    zoom_start : int
        Initial zoom.
    basemap : Basemap, optional
        Tiles to add; None or the offline basemap gives a blank background.
    plugins : iterable of str
        Vendor plugins the page needs: ``"markercluster"``, ``"heat"``, ``"draw"``.
    civgrid_assets : bool
        Also load civgrid's own ``civgrid-map.js`` / ``.css``.
    title : str, optional
        ``<title>`` of the page.
    **map_kwargs
        Passed to :class:`folium.Map` (``tiles`` is always None here).

    Returns
    -------
    folium.Map
        Render it with :func:`render_html` (which localizes the assets).

    Examples
    --------
    >>> m = offline_map(location=(30.27, 120.16))
    >>> "cdn" in render_html(m)
    False
    """
    map_kwargs.pop("tiles", None)
    map_kwargs.setdefault("prefer_canvas", False)
    max_zoom = map_kwargs.pop("max_zoom", 19)
    min_zoom = map_kwargs.pop("min_zoom", 4)
    m = folium.Map(location=location, zoom_start=zoom_start, tiles=None, **map_kwargs)
    # folium passes min/max zoom only to its default tiles; markercluster needs them on
    # the map itself when no tile layer provides one (offline)
    m.options["maxZoom"] = max_zoom
    m.options["minZoom"] = min_zoom
    # instance lists: folium's add_js_link would otherwise mutate the class attribute
    m.default_js = list(m.default_js)
    m.default_css = list(m.default_css)
    # Chinese control texts, metric scale, plain-text attribution: before any map is made
    at = next((i for i, (name, _url) in enumerate(m.default_js) if name == "leaflet"), -1)
    m.default_js.insert(at + 1, LEAFLET_ZH)
    add_basemap(m, basemap)
    m.add_child(Assets(plugins, civgrid=civgrid_assets))
    if title:
        root = m.get_root()
        root.header.add_child(Element(f"<title>{_esc(title)}</title>"), name="title", index=0)
    m.get_root().header.add_child(
        Element('<meta name="referrer" content="no-referrer">\n<link rel="icon" href="data:,">'),
        name="referrer",
    )
    return m


def _esc(text: str) -> str:
    from html import escape

    return escape(text, quote=True)


def render_html(m: Any, mode: AssetMode = "served", static_url: str = STATIC_URL) -> str:
    """The full HTML page of a map, with assets localized.

    Parameters
    ----------
    m : folium.Map
    mode : {"served", "inline"}
        ``"inline"`` makes a self-contained file (no other file needed).
    static_url : str
        Static mount of the app (``"served"`` mode).

    Returns
    -------
    str
    """
    localize(m, mode, static_url)
    root = m.get_root()
    if not isinstance(root, Figure):  # pragma: no cover - folium always has a Figure root
        raise TypeError("map is not attached to a figure")
    from civgrid.maps.render import nonce_scripts

    return nonce_scripts(root.render())


_TAG_URL = re.compile(
    r"<(script|link|img|iframe)\b[^>]*?\b(?:src|href)\s*=\s*(['\"])(.*?)\2", re.I | re.S
)


def remote_urls(html: str) -> list[str]:
    """Every http(s) or protocol-relative URL in ``src``/``href`` of script/link/img/iframe tags.

    Used by tests: a civgrid page must return ``[]``.
    """
    return [u for _tag, _q, u in _TAG_URL.findall(html) if _REMOTE.match(u.strip())]
