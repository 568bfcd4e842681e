"""Display coordinates: WGS84 geometry shifted to the basemap's CRS, and back.

civgrid stores and measures in WGS84 lon/lat. Tiles from Amap (高德) and
Tencent are drawn in GCJ-02, a few hundred metres off (500–600 m in Henan); to
line up, every coordinate sent to a page over such tiles is shifted WGS84 →
GCJ-02 here, at the edge, and every coordinate coming back from the page (a
drawn polygon, a map extent) is shifted back. On Tianditu (CGCS2000) and WGS84
tiles the display CRS is ``"wgs84"`` and nothing moves.

All functions are vectorized (numpy / shapely 2).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike

from civgrid.geo import convert
from civgrid.geo.crs import from_wgs84, to_wgs84

__all__ = [
    "DISPLAY_CRS",
    "bbox_from_display",
    "check_display_crs",
    "from_display_geom",
    "from_display_lonlat",
    "shift_geojson",
    "to_display_geoms",
    "to_display_lonlat",
]

#: The display CRS names: identity, or the GCJ-02 shift.
DISPLAY_CRS = ("wgs84", "gcj02")


def check_display_crs(crs: str | None) -> str:
    """``"wgs84"`` or ``"gcj02"`` for a display CRS name (None, ``cgcs2000`` → ``"wgs84"``).

    Raises
    ------
    ValueError
        Any other name (BD-09 is not a display CRS: Baidu tiles are not supported).
    """
    if crs is None:
        return "wgs84"
    name = str(crs).strip().lower().replace("-", "").replace("_", "")
    if name in ("wgs84", "cgcs2000", "4326", "epsg:4326", "4490", "epsg:4490", ""):
        return "wgs84"
    if name in ("gcj02", "gcj"):
        return "gcj02"
    raise ValueError(f"display_crs must be wgs84 or gcj02, got {crs!r}")


def to_display_lonlat(lon: ArrayLike, lat: ArrayLike, crs: str | None) -> tuple[Any, Any]:
    """WGS84 lon/lat → display lon/lat (scalars or arrays, same shape)."""
    crs = check_display_crs(crs)
    if crs == "wgs84":
        return (lon, lat) if np.ndim(lon) == 0 else (np.asarray(lon), np.asarray(lat))
    return from_wgs84(lon, lat, crs)


def from_display_lonlat(lon: ArrayLike, lat: ArrayLike, crs: str | None) -> tuple[Any, Any]:
    """Display lon/lat → WGS84 lon/lat (exact inverse of :func:`to_display_lonlat`)."""
    crs = check_display_crs(crs)
    if crs == "wgs84":
        return (lon, lat) if np.ndim(lon) == 0 else (np.asarray(lon), np.asarray(lat))
    return to_wgs84(lon, lat, crs)


def _transformer(fn, crs: str):
    def apply(coords: np.ndarray) -> np.ndarray:
        if coords.shape[0] == 0:
            return coords
        x, y = fn(coords[:, 0], coords[:, 1], crs)
        return np.column_stack([x, y])

    return apply


def to_display_geoms(geoms: Any, crs: str | None) -> Any:
    """Shift shapely geometries (one, or an array) from WGS84 to the display CRS.

    Parameters
    ----------
    geoms : shapely.Geometry or array_like of them
        WGS84 lon/lat.
    crs : str
        Display CRS, ``"wgs84"`` (returned unchanged) or ``"gcj02"``.

    Returns
    -------
    shapely.Geometry or ndarray
        Same type and shape; every vertex converted in one vectorized call.
    """
    crs = check_display_crs(crs)
    if crs == "wgs84":
        return geoms
    return shapely.transform(geoms, _transformer(from_wgs84, crs))


def from_display_geom(geom: Any, crs: str | None) -> Any:
    """Shift a geometry drawn on the page (display CRS) back to WGS84."""
    crs = check_display_crs(crs)
    if crs == "wgs84":
        return geom
    return shapely.transform(geom, _transformer(to_wgs84, crs))


def bbox_from_display(
    bbox: tuple[float, float, float, float], crs: str | None, pad_m: float = 0.0
) -> tuple[float, float, float, float]:
    """A display-CRS bbox (minlon, minlat, maxlon, maxlat) as a WGS84 bbox.

    The four corners are converted and the envelope taken, padded by ``pad_m``
    metres (the GCJ-02 offset varies slowly, so corners suffice).
    """
    minx, miny, maxx, maxy = (float(v) for v in bbox)
    xs = np.array([minx, maxx, minx, maxx])
    ys = np.array([miny, miny, maxy, maxy])
    wx, wy = from_display_lonlat(xs, ys, crs)
    lat_mid = float(np.mean(wy))
    dlat = pad_m / 111_320.0
    dlon = pad_m / (111_320.0 * max(np.cos(np.radians(lat_mid)), 1e-6))
    return (
        float(np.min(wx)) - dlon,
        float(np.min(wy)) - dlat,
        float(np.max(wx)) + dlon,
        float(np.max(wy)) + dlat,
    )


def shift_geojson(obj: dict, crs: str | None, *, decimals: int | None = 7) -> dict:
    """A copy of a GeoJSON FeatureCollection, Feature or geometry in the display CRS.

    Parameters
    ----------
    obj : dict
        GeoJSON in WGS84 lon/lat.
    crs : str
        ``"wgs84"`` (copy unchanged) or ``"gcj02"``.
    decimals : int or None
        Coordinate rounding of the output (default 7 ≈ 1 cm).

    Returns
    -------
    dict
        The same structure and properties, geometries shifted.
    """
    crs = check_display_crs(crs)
    kind = obj.get("type")
    if kind == "FeatureCollection":
        feats = obj.get("features", [])
        geoms = [f.get("geometry") for f in feats]
        idx = [i for i, g in enumerate(geoms) if g is not None]
        shapes = np.array(
            [convert.from_geojson_geometry(geoms[i], feature=i) for i in idx], dtype=object
        )
        shifted = to_display_geoms(shapes, crs) if len(shapes) else shapes
        out_feats = [dict(f) for f in feats]
        for j, i in enumerate(idx):
            out_feats[i]["geometry"] = convert.to_geojson_geometry(shifted[j], decimals=decimals)
        return {**obj, "features": out_feats}
    if kind == "Feature":
        geom = obj.get("geometry")
        if geom is None:
            return dict(obj)
        g = to_display_geoms(convert.from_geojson_geometry(geom), crs)
        return {**obj, "geometry": convert.to_geojson_geometry(g, decimals=decimals)}
    g = to_display_geoms(convert.from_geojson_geometry(obj), crs)
    return convert.to_geojson_geometry(g, decimals=decimals)
