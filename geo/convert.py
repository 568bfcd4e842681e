"""The one place that converts geometries between WKB, shapely and GeoJSON.

Other civgrid modules call these functions instead of ``shapely.from_wkb``,
``json.loads`` on geometry, or ``geoalchemy2.shape``: errors then always come
out as :class:`~civgrid.geo.errors.GeometryError` naming the feature.

Coordinates are passed through unchanged (civgrid stores WGS84 lon/lat, x
before y). Output helpers round to 7 decimals by default (1e-7 degree ≈ 1 cm),
see :func:`round_coordinates`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry.base import BaseGeometry

from civgrid.geo.errors import GeometryError

__all__ = [
    "OUTPUT_DECIMALS",
    "feature",
    "feature_collection",
    "from_geojson_geometry",
    "from_wkb",
    "from_wkb_array",
    "round_coordinates",
    "to_geojson_geometry",
    "to_json_value",
    "to_shapely",
    "to_wkb",
    "to_wkb_array",
]

#: Default decimals of lon/lat in output: 1e-7 degree is about 1.1 cm.
OUTPUT_DECIMALS = 7

_HEX_RE = re.compile(r"^(?:[0-9a-fA-F]{2})+$")
_GEOJSON_TYPES = {
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
}

Feature = int | str | None


def _err(message: str, feature: Feature, *, hint: str | None = None) -> GeometryError:
    return GeometryError(message, feature=feature, hint=hint)


def from_wkb(
    data: bytes | bytearray | memoryview | str, *, feature: Feature = None, fix: bool = False
) -> Any:
    """Parse WKB (or EWKB with an SRID, as PostGIS returns it) into a shapely geometry.

    Parameters
    ----------
    data : bytes or str
        Binary WKB/EWKB, or the same as a hex string (``"0101000020E6100000…"``).
    feature : int or str, optional
        Index or id of the feature, used in error messages.
    fix : bool
        Let GEOS repair what it can (e.g. close unclosed rings) instead of failing.

    Returns
    -------
    shapely.Geometry
        The geometry; an EWKB SRID is kept (``shapely.get_srid``).

    Raises
    ------
    GeometryError
        ``data`` is None or not valid WKB.
    """
    if data is None:
        raise _err("null geometry (no WKB)", feature)
    if isinstance(data, memoryview | bytearray):
        data = bytes(data)
    if isinstance(data, str) and not _HEX_RE.match(data.strip()):
        raise _err("not WKB: a hex string was expected", feature)
    try:
        return shapely.from_wkb(
            data.strip() if isinstance(data, str) else data,
            on_invalid="fix" if fix else "raise",
        )
    except (shapely.errors.GEOSException, TypeError, ValueError) as exc:
        raise _err(f"unreadable WKB ({exc})", feature) from exc


def to_wkb(
    geom: BaseGeometry, srid: int | None = None, *, hex: bool = False, feature: Feature = None
) -> bytes | str:
    """Serialise a shapely geometry to WKB, or to EWKB when ``srid`` is given.

    Parameters
    ----------
    geom : shapely.Geometry
        The geometry (lon/lat for civgrid data).
    srid : int, optional
        EPSG code to embed (PostGIS EWKB), e.g. 4326. Without it, plain ISO WKB.
    hex : bool
        Return a hex string instead of bytes.
    feature : int or str, optional
        Index or id of the feature, used in error messages.

    Returns
    -------
    bytes or str
        Little-endian (E)WKB, 2D or 3D as the geometry is.

    Raises
    ------
    GeometryError
        ``geom`` is None or not a shapely geometry.
    """
    if geom is None:
        raise _err("null geometry", feature)
    if not isinstance(geom, BaseGeometry):
        raise _err(f"not a shapely geometry: {type(geom).__name__}", feature)
    if srid is not None:
        geom = shapely.set_srid(geom, int(srid))
    return shapely.to_wkb(geom, hex=hex, include_srid=srid is not None)


def to_geojson_geometry(geom: BaseGeometry, *, decimals: int | None = OUTPUT_DECIMALS) -> dict:
    """GeoJSON geometry object (a dict with lists) of a shapely geometry.

    Parameters
    ----------
    geom : shapely.Geometry
        The geometry, lon/lat (WGS84) for RFC 7946 output.
    decimals : int or None
        Round coordinates to this many decimals (default 7 ≈ 1 cm); None keeps
        them exact.

    Returns
    -------
    dict
        ``{"type": ..., "coordinates": [...]}`` (``"geometries"`` for a
        collection); an empty geometry gives empty coordinates.

    Raises
    ------
    GeometryError
        ``geom`` is None or not a shapely geometry.
    """
    if geom is None:
        raise _err("null geometry", None)
    if not isinstance(geom, BaseGeometry):
        raise _err(f"not a shapely geometry: {type(geom).__name__}", None)
    if geom.is_empty:
        key = "geometries" if geom.geom_type == "GeometryCollection" else "coordinates"
        return {"type": geom.geom_type, key: []}
    if decimals is not None:
        geom = round_coordinates(geom, decimals)
    return json.loads(shapely.to_geojson(geom))


def from_geojson_geometry(obj: Mapping[str, Any] | str, *, feature: Feature = None) -> Any:
    """Parse a GeoJSON geometry object into a shapely geometry.

    Parameters
    ----------
    obj : dict or str
        A GeoJSON geometry (``{"type": "Polygon", "coordinates": ...}``) or its
        JSON text. A Feature is accepted and its geometry is used.
    feature : int or str, optional
        Index or id of the feature, used in error messages.

    Returns
    -------
    shapely.Geometry
        The geometry (may be empty if the coordinates are empty).

    Raises
    ------
    GeometryError
        Null geometry, unknown type, missing or malformed coordinates.
    """
    if isinstance(obj, str):
        try:
            obj = json.loads(obj)
        except json.JSONDecodeError as exc:
            raise _err(f"not valid JSON ({exc.msg} at character {exc.pos})", feature) from exc
    if obj is None:
        raise _err("null geometry", feature)
    if not isinstance(obj, Mapping):
        raise _err(f"a GeoJSON geometry object was expected, got {type(obj).__name__}", feature)
    gtype = obj.get("type")
    if gtype == "Feature":
        if feature is None and obj.get("id") is not None:
            feature = obj.get("id")
        return from_geojson_geometry(obj.get("geometry"), feature=feature)
    if gtype not in _GEOJSON_TYPES:
        raise _err(
            f"unknown GeoJSON geometry type {gtype!r}",
            feature,
            hint="expected one of " + ", ".join(sorted(_GEOJSON_TYPES)),
        )
    key = "geometries" if gtype == "GeometryCollection" else "coordinates"
    if key not in obj:
        raise _err(f"GeoJSON {gtype} has no {key!r} member", feature)
    try:
        return shapely.from_geojson(json.dumps(dict(obj)))
    except (shapely.errors.GEOSException, TypeError, ValueError) as exc:
        raise _err(f"malformed GeoJSON {gtype} ({exc})", feature) from exc


def to_shapely(obj: Any, *, feature: Feature = None) -> Any:
    """Coerce any supported geometry representation to a shapely geometry.

    Parameters
    ----------
    obj : shapely.Geometry, bytes, str or dict
        A shapely geometry (returned as is), WKB/EWKB bytes, hex WKB, a GeoJSON
        geometry or Feature (dict or JSON text), or WKT text.
    feature : int or str, optional
        Index or id of the feature, used in error messages.

    Returns
    -------
    shapely.Geometry

    Raises
    ------
    GeometryError
        ``obj`` is None or cannot be parsed.

    Examples
    --------
    >>> to_shapely({"type": "Point", "coordinates": [115.65, 34.41]}).wkt
    'POINT (115.65 34.41)'
    >>> to_shapely("POINT (115.65 34.41)").x
    115.65
    """
    if obj is None:
        raise _err("null geometry", feature)
    if isinstance(obj, BaseGeometry):
        return obj
    if isinstance(obj, bytes | bytearray | memoryview):
        return from_wkb(obj, feature=feature)
    if isinstance(obj, Mapping):
        return from_geojson_geometry(obj, feature=feature)
    if isinstance(obj, str):
        text = obj.strip()
        if text.startswith("{"):
            return from_geojson_geometry(text, feature=feature)
        if _HEX_RE.match(text):
            return from_wkb(text, feature=feature)
        try:
            return shapely.from_wkt(text)
        except (shapely.errors.GEOSException, ValueError) as exc:
            raise _err(
                f"not WKT, WKB hex or GeoJSON: {text[:40]!r}{'…' if len(text) > 40 else ''}",
                feature,
            ) from exc
    raise _err(f"cannot make a geometry from {type(obj).__name__}", feature)


def round_coordinates(geom: Any, decimals: int = OUTPUT_DECIMALS) -> Any:
    """Round every coordinate of a geometry (or an array of them) for output.

    Parameters
    ----------
    geom : shapely.Geometry or array_like of them
        Geometries in lon/lat degrees.
    decimals : int
        Decimals to keep; 7 (default) ≈ 1 cm, 6 ≈ 11 cm in degrees.

    Returns
    -------
    shapely.Geometry or ndarray
        The rounded geometry (same type). Rounding can make a valid polygon
        with centimetre-scale features invalid: round for output only, never
        before measuring.
    """
    return shapely.transform(geom, lambda c: np.round(c, decimals), include_z=True)


def feature(
    geom: Any,
    properties: Mapping[str, Any] | None = None,
    id: int | str | None = None,
    *,
    decimals: int | None = OUTPUT_DECIMALS,
) -> dict:
    """A GeoJSON Feature dict.

    Parameters
    ----------
    geom : shapely.Geometry, WKB, GeoJSON dict or None
        The geometry in WGS84 lon/lat (anything :func:`to_shapely` accepts);
        None gives ``"geometry": null``.
    properties : mapping, optional
        Attributes; numpy scalars are converted to Python numbers.
    id : int or str, optional
        Feature id.
    decimals : int or None
        Coordinate rounding (default 7 decimals ≈ 1 cm).

    Returns
    -------
    dict
        ``{"type": "Feature", "id"?: ..., "properties": {...}, "geometry": {...}}``.
    """
    out: dict[str, Any] = {"type": "Feature"}
    if id is not None:
        out["id"] = to_json_value(id)
    out["properties"] = {str(k): to_json_value(v) for k, v in (properties or {}).items()}
    g = None if geom is None else to_shapely(geom, feature=id)
    out["geometry"] = None if g is None else to_geojson_geometry(g, decimals=decimals)
    return out


def feature_collection(features: Iterable[Any], **members: Any) -> dict:
    """A GeoJSON FeatureCollection dict.

    Parameters
    ----------
    features : iterable
        Feature dicts (as from :func:`feature`), or ``(geometry, properties)``
        pairs, or bare geometries.
    **members
        Extra top-level members (e.g. ``name="counties"``).

    Returns
    -------
    dict
        ``{"type": "FeatureCollection", **members, "features": [...]}``.
    """
    out_features = []
    for item in features:
        if isinstance(item, Mapping) and item.get("type") == "Feature":
            out_features.append(dict(item))
        elif isinstance(item, tuple) and len(item) == 2:
            out_features.append(feature(item[0], item[1]))
        else:
            out_features.append(feature(item, {}))
    return {"type": "FeatureCollection", **members, "features": out_features}


def to_wkb_array(
    geoms: ArrayLike, srid: int | None = None, *, hex: bool = False
) -> NDArray[np.object_]:
    """Vectorized :func:`to_wkb` over an array of geometries.

    Parameters
    ----------
    geoms : array_like of shapely.Geometry
        Geometries; None entries give None.
    srid : int, optional
        EPSG code to embed (EWKB) in every element.
    hex : bool
        Hex strings instead of bytes.

    Returns
    -------
    ndarray of object
        WKB bytes (or str), same shape.

    Raises
    ------
    GeometryError
        An element is not a geometry (the error names its index).
    """
    arr = _geometry_array(geoms)
    if srid is not None:
        arr = shapely.set_srid(arr, int(srid))
    return shapely.to_wkb(arr, hex=hex, include_srid=srid is not None)


def from_wkb_array(data: ArrayLike) -> NDArray[np.object_]:
    """Vectorized :func:`from_wkb` over an array of WKB bytes or hex strings.

    Parameters
    ----------
    data : array_like of bytes or str
        (E)WKB values; None entries give None.

    Returns
    -------
    ndarray of shapely.Geometry
        Same shape.

    Raises
    ------
    GeometryError
        An element is not valid WKB; ``feature`` is its (flat) index.
    """
    arr = np.asarray(data, dtype=object)
    try:
        return shapely.from_wkb(arr)
    except (shapely.errors.GEOSException, TypeError, ValueError):
        pass
    for i, value in enumerate(arr.ravel()):  # find and name the bad element
        if value is not None:
            from_wkb(value, feature=i)
    raise _err("unreadable WKB", None)  # pragma: no cover - the loop raises


def _geometry_array(geoms: ArrayLike) -> NDArray[np.object_]:
    arr = np.asarray(geoms, dtype=object)
    ok = shapely.is_geometry(arr) | (arr == None)  # noqa: E711 - elementwise
    if not np.all(ok):
        i = int(np.flatnonzero(~np.asarray(ok).ravel())[0])
        bad = arr.ravel()[i]
        raise _err(f"not a shapely geometry: {type(bad).__name__}", i)
    return arr


def to_json_value(value: Any) -> Any:
    """JSON-friendly Python value of an attribute.

    Parameters
    ----------
    value : Any
        An attribute value as read from a file or a database.

    Returns
    -------
    Any
        numpy scalars as Python numbers, NaN/inf as None, bytes decoded as
        UTF-8, arrays as lists, dates/times as ISO 8601 text; anything else unchanged.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray):
        return [to_json_value(v) for v in value.tolist()]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
