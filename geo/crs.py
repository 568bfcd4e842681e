"""Chinese geographic coordinate systems and lon/lat validation, vectorized with numpy.

Four names are known (see :func:`normalize_crs` for the aliases):

``wgs84``
    GPS lon/lat, EPSG:4326. civgrid stores and measures in this.
``cgcs2000``
    China Geodetic Coordinate System 2000, EPSG:4490. Its ellipsoid differs
    from WGS84 only in the flattening (0.1 mm at most) and its frame agrees
    with ITRF/WGS84 to a few centimetres, so civgrid **treats it as identical
    to WGS84 at the metre level**: conversion is the identity.
``gcj02``
    The obfuscated "Mars" coordinates required of published maps in China
    (Amap/高德, Tencent, Google China, DataV boundaries). WGS84 shifted by a
    position-dependent offset of a few hundred metres (500–600 m in Henan).
``bd09``
    Baidu's coordinates (BD-09 lon/lat, "bd09ll"), a further shift of GCJ-02.
    Baidu's Mercator metres ("bd09mc") are not supported.

The offsets are the standard published formulas (Krasovsky ellipsoid
a = 6378245 m, e² = 0.00669342162296594323; BD-09 with x_pi = π·3000/180), the
same ones the map apps use. Like the apps, **no offset is applied outside
China**: a point outside the apps' rectangle (lon 72.004–137.8347, lat
0.8293–55.8271) is the same in all four systems. civgrid applies that rule to
the BD-09 step as well, so outside China every name means WGS84. (Within about
0.02 degrees of the rectangle's edge — sea or desert — the offset can carry a
point across it, and the round trip is then off by the offset, as in the apps.)

The inverses (GCJ-02 → WGS84, BD-09 → GCJ-02) are not closed-form: they are
solved by fixed-point iteration on the forward formula until the change is
below 1e-10 degrees (≈ 0.01 mm), so a round trip is exact to well under a
millimetre, not the 1–2 m of the rough published inverses.

All functions take lon, lat in that order (x, y) as scalars or numpy arrays
and return the same shape (Python floats for scalar input).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from civgrid.geo.errors import CoordinateError, UnknownCRSError

__all__ = [
    "CRS_NAMES",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "check_lonlat",
    "diagnose_lonlat",
    "from_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "haversine_m",
    "normalize_crs",
    "out_of_china",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

#: The canonical CRS names civgrid understands.
CRS_NAMES: tuple[str, ...] = ("wgs84", "cgcs2000", "gcj02", "bd09")

# Krasovsky 1940 ellipsoid, as used by the GCJ-02 formula.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0
_BD_DLON = 0.0065
_BD_DLAT = 0.006

# The apps' "in China" rectangle.
_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)

_EARTH_RADIUS_M = 6371008.8  # mean radius, for haversine distances

# Fixed-point iteration for the inverses: stop when the step is below this (degrees).
_INVERSE_TOL_DEG = 1e-10
_INVERSE_MAX_ITER = 30

# Keys are compared after lower-casing and dropping spaces, '-', '_' and '.'.
_ALIASES: dict[str, str] = {
    # WGS84
    "wgs84": "wgs84",
    "wgs": "wgs84",
    "gps": "wgs84",
    "4326": "wgs84",
    "epsg:4326": "wgs84",
    "crs84": "wgs84",
    "ogc:crs84": "wgs84",
    "urn:ogc:def:crs:ogc:1.3:crs84": "wgs84",
    "urn:ogc:def:crs:ogc::crs84": "wgs84",
    "urn:ogc:def:crs:epsg::4326": "wgs84",
    "wgs84ll": "wgs84",
    # CGCS2000
    "cgcs2000": "cgcs2000",
    "cgcs": "cgcs2000",
    "4490": "cgcs2000",
    "epsg:4490": "cgcs2000",
    "urn:ogc:def:crs:epsg::4490": "cgcs2000",
    "国家2000": "cgcs2000",
    "2000国家大地坐标系": "cgcs2000",
    # GCJ-02
    "gcj02": "gcj02",
    "gcj": "gcj02",
    "gcj2": "gcj02",
    "mars": "gcj02",
    "amap": "gcj02",
    "gaode": "gcj02",
    "autonavi": "gcj02",
    "tencent": "gcj02",
    "qq": "gcj02",
    "高德": "gcj02",
    "火星": "gcj02",
    "火星坐标": "gcj02",
    "火星坐标系": "gcj02",
    # BD-09
    "bd09": "bd09",
    "bd09ll": "bd09",
    "bd": "bd09",
    "baidu": "bd09",
    "百度": "bd09",
    "百度坐标": "bd09",
}


def normalize_crs(name: str | int) -> str:
    """Canonical civgrid name of a geographic CRS.

    Parameters
    ----------
    name : str or int
        A CRS name in any case, with or without separators: ``"WGS84"``,
        ``"EPSG:4326"``, ``4326``, ``"CRS84"``, ``"EPSG:4490"``, ``"CGCS2000"``,
        ``"gcj-02"``, ``"GCJ02"``, ``"amap"``, ``"bd-09"``, ``"bd09ll"``, ``"baidu"`` …

    Returns
    -------
    str
        One of ``"wgs84"``, ``"cgcs2000"``, ``"gcj02"``, ``"bd09"``.

    Raises
    ------
    UnknownCRSError
        The name is not one of these (e.g. ``"bd09mc"``, ``"EPSG:3857"``).

    Examples
    --------
    >>> normalize_crs("GCJ-02"), normalize_crs(4326), normalize_crs("bd09ll")
    ('gcj02', 'wgs84', 'bd09')
    """
    if isinstance(name, bool) or not isinstance(name, str | int | np.integer):
        raise UnknownCRSError(f"CRS must be a name or an EPSG code, got {name!r}")
    key = str(name).strip().lower()
    for ch in " -_.":
        key = key.replace(ch, "")
    key = key.replace("urn:ogc:def:crs:ogc:13:", "urn:ogc:def:crs:ogc:1.3:")
    if key in _ALIASES:
        return _ALIASES[key]
    hint = "use one of: wgs84 (EPSG:4326), cgcs2000 (EPSG:4490), gcj02, bd09"
    if key.startswith("bd09mc") or key in {"bdmc", "baidumercator"}:
        hint = "Baidu Mercator metres (bd09mc) are not supported; export BD-09 lon/lat (bd09ll)"
    raise UnknownCRSError(f"unknown coordinate system {name!r}", hint=hint)


# --------------------------------------------------------------------------- helpers


def _arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    if x.shape != y.shape:
        x, y = np.broadcast_arrays(x, y)
    return x, y


def _out(x: NDArray[np.float64], y: NDArray[np.float64], scalar: bool) -> tuple[Any, Any]:
    if scalar:
        return float(x), float(y)
    return x, y


def _is_scalar(lon: ArrayLike, lat: ArrayLike) -> bool:
    return np.ndim(lon) == 0 and np.ndim(lat) == 0


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_] | bool:
    """Whether points lie outside the map apps' China rectangle (where no offset applies).

    Parameters
    ----------
    lon, lat : float or array_like
        Longitude and latitude in degrees (any of the four systems).

    Returns
    -------
    bool or ndarray of bool
        True outside lon 72.004–137.8347 / lat 0.8293–55.8271, and for NaN.
    """
    x, y = _arrays(lon, lat)
    in_lon = (x >= _CHINA_LON[0]) & (x <= _CHINA_LON[1])
    inside = in_lon & (y >= _CHINA_LAT[0]) & (y <= _CHINA_LAT[1])
    res = ~inside
    return bool(res) if _is_scalar(lon, lat) else res


def _gcj_offset(
    x: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """GCJ-02 minus WGS84 (dlon, dlat) in degrees at WGS84 (x, y), no China test."""
    pi = math.pi
    dx = x - 105.0
    dy = y - 35.0
    sqrt_abs = np.sqrt(np.abs(dx))
    common = (20.0 * np.sin(6.0 * dx * pi) + 20.0 * np.sin(2.0 * dx * pi)) * 2.0 / 3.0
    dlat_m = -100.0 + 2.0 * dx + 3.0 * dy + 0.2 * dy * dy + 0.1 * dx * dy + 0.2 * sqrt_abs
    dlat_m += common
    dlat_m += (20.0 * np.sin(dy * pi) + 40.0 * np.sin(dy / 3.0 * pi)) * 2.0 / 3.0
    dlat_m += (160.0 * np.sin(dy / 12.0 * pi) + 320.0 * np.sin(dy * pi / 30.0)) * 2.0 / 3.0
    dlon_m = 300.0 + dx + 2.0 * dy + 0.1 * dx * dx + 0.1 * dx * dy + 0.1 * sqrt_abs
    dlon_m += common
    dlon_m += (20.0 * np.sin(dx * pi) + 40.0 * np.sin(dx / 3.0 * pi)) * 2.0 / 3.0
    dlon_m += (150.0 * np.sin(dx / 12.0 * pi) + 300.0 * np.sin(dx / 30.0 * pi)) * 2.0 / 3.0
    radlat = y / 180.0 * pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat_m * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * pi)
    dlon = (dlon_m * 180.0) / (_A / sqrtmagic * np.cos(radlat) * pi)
    return dlon, dlat


def _bd_forward(
    x: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """BD-09 of GCJ-02 (x, y), no China test."""
    z = np.hypot(x, y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + _BD_DLON, z * np.sin(theta) + _BD_DLAT


def _bd_rough_inverse(
    x: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The published approximate BD-09 → GCJ-02 (error up to about a metre)."""
    x = x - _BD_DLON
    y = y - _BD_DLAT
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _invert(
    forward,
    tx: NDArray[np.float64],
    ty: NDArray[np.float64],
    x0: NDArray[np.float64],
    y0: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Solve forward(x, y) == (tx, ty) by fixed-point iteration from (x0, y0).

    The offsets' Jacobians differ from the identity by less than ~0.02, so the
    update x += t - f(x) contracts fast (3–5 iterations to 1e-10 degrees).
    Only unconverged points are recomputed.
    """
    x = x0.copy()
    y = y0.copy()
    active = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    for _ in range(_INVERSE_MAX_ITER):
        if active.size == 0:
            break
        fx, fy = forward(x[active], y[active])
        sx = tx[active] - fx
        sy = ty[active] - fy
        x[active] += sx
        y[active] += sy
        active = active[(np.abs(sx) > _INVERSE_TOL_DEG) | (np.abs(sy) > _INVERSE_TOL_DEG)]
    return x, y


# --------------------------------------------------------------------------- conversions


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """Convert WGS84 lon/lat to GCJ-02 (the published forward formula).

    Parameters
    ----------
    lon, lat : float or array_like
        WGS84 (or CGCS2000) longitude and latitude in degrees.

    Returns
    -------
    lon, lat : float or ndarray
        GCJ-02 degrees, same shape as the input. Points outside China (see
        :func:`out_of_china`) and NaN are returned unchanged.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(112.9472, 33.056)
    >>> round(lon, 6), round(lat, 6)
    (112.953093, 33.053996)
    """
    x, y = _arrays(lon, lat)
    inside = ~np.asarray(out_of_china(x, y))
    dlon, dlat = _gcj_offset(x, y)
    ox = np.where(inside, x + dlon, x)
    oy = np.where(inside, y + dlat, y)
    return _out(ox, oy, _is_scalar(lon, lat))


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """Convert GCJ-02 lon/lat to WGS84, the exact inverse of :func:`wgs84_to_gcj02`.

    Solved by fixed-point iteration on the forward formula to 1e-10 degrees;
    the round trip error is far below 0.5 m (sub-millimetre in practice).

    Parameters
    ----------
    lon, lat : float or array_like
        GCJ-02 longitude and latitude in degrees.

    Returns
    -------
    lon, lat : float or ndarray
        WGS84 degrees, same shape. Points outside China and NaN are unchanged.
    """
    x, y = _arrays(lon, lat)
    inside = ~np.asarray(out_of_china(x, y))
    tx, ty = x[inside], y[inside]
    dlon, dlat = _gcj_offset(tx, ty)

    def fwd(a, b):
        da, db = _gcj_offset(a, b)
        return a + da, b + db

    sx, sy = _invert(fwd, tx, ty, tx - dlon, ty - dlat)
    ox = x.copy()
    oy = y.copy()
    ox[inside] = sx
    oy[inside] = sy
    return _out(ox, oy, _is_scalar(lon, lat))


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """Convert GCJ-02 lon/lat to BD-09 (Baidu lon/lat; the published formula).

    Parameters
    ----------
    lon, lat : float or array_like
        GCJ-02 longitude and latitude in degrees.

    Returns
    -------
    lon, lat : float or ndarray
        BD-09 degrees, same shape. Outside China and NaN unchanged.
    """
    x, y = _arrays(lon, lat)
    inside = ~np.asarray(out_of_china(x, y))
    bx, by = _bd_forward(x, y)
    return _out(np.where(inside, bx, x), np.where(inside, by, y), _is_scalar(lon, lat))


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """Convert BD-09 lon/lat to GCJ-02, the exact inverse of :func:`gcj02_to_bd09`.

    Starts from the published approximate inverse and refines by fixed-point
    iteration on the forward formula to 1e-10 degrees.

    Parameters
    ----------
    lon, lat : float or array_like
        BD-09 longitude and latitude in degrees.

    Returns
    -------
    lon, lat : float or ndarray
        GCJ-02 degrees, same shape. Outside China and NaN unchanged.
    """
    x, y = _arrays(lon, lat)
    inside = ~np.asarray(out_of_china(x, y))
    tx, ty = x[inside], y[inside]
    x0, y0 = _bd_rough_inverse(tx, ty)
    sx, sy = _invert(_bd_forward, tx, ty, x0, y0)
    ox = x.copy()
    oy = y.copy()
    ox[inside] = sx
    oy[inside] = sy
    return _out(ox, oy, _is_scalar(lon, lat))


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """Convert WGS84 lon/lat to BD-09 (via GCJ-02).

    Parameters
    ----------
    lon, lat : float or array_like
        WGS84 longitude and latitude in degrees.

    Returns
    -------
    lon, lat : float or ndarray
        BD-09 degrees, same shape. Outside China and NaN unchanged.
    """
    gx, gy = wgs84_to_gcj02(lon, lat)
    return gcj02_to_bd09(gx, gy)


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """Convert BD-09 lon/lat to WGS84 (via GCJ-02, both steps exact inverses).

    Parameters
    ----------
    lon, lat : float or array_like
        BD-09 longitude and latitude in degrees.

    Returns
    -------
    lon, lat : float or ndarray
        WGS84 degrees, same shape. Outside China and NaN unchanged.
    """
    gx, gy = bd09_to_gcj02(lon, lat)
    return gcj02_to_wgs84(gx, gy)


def _identity(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    x, y = _arrays(lon, lat)
    return _out(x.copy(), y.copy(), _is_scalar(lon, lat))


_TO_WGS84 = {
    "wgs84": _identity,
    "cgcs2000": _identity,
    "gcj02": gcj02_to_wgs84,
    "bd09": bd09_to_wgs84,
}
_FROM_WGS84 = {
    "wgs84": _identity,
    "cgcs2000": _identity,
    "gcj02": wgs84_to_gcj02,
    "bd09": wgs84_to_bd09,
}


def to_wgs84(lon: ArrayLike, lat: ArrayLike, crs: str | int) -> tuple[Any, Any]:
    """Convert lon/lat from a named Chinese geographic CRS to WGS84.

    Parameters
    ----------
    lon, lat : float or array_like
        Longitude and latitude in degrees, in ``crs``.
    crs : str or int
        Source CRS, any name accepted by :func:`normalize_crs`.

    Returns
    -------
    lon, lat : float or ndarray
        WGS84 degrees, same shape (a copy, even for wgs84/cgcs2000).

    Raises
    ------
    UnknownCRSError
        ``crs`` is not a known name.
    """
    return _TO_WGS84[normalize_crs(crs)](lon, lat)


def from_wgs84(lon: ArrayLike, lat: ArrayLike, crs: str | int) -> tuple[Any, Any]:
    """Convert WGS84 lon/lat to a named Chinese geographic CRS.

    Parameters
    ----------
    lon, lat : float or array_like
        WGS84 longitude and latitude in degrees.
    crs : str or int
        Target CRS, any name accepted by :func:`normalize_crs`.

    Returns
    -------
    lon, lat : float or ndarray
        Degrees in ``crs``, same shape.

    Raises
    ------
    UnknownCRSError
        ``crs`` is not a known name.
    """
    return _FROM_WGS84[normalize_crs(crs)](lon, lat)


# --------------------------------------------------------------------------- validation


def haversine_m(lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike) -> Any:
    """Great-circle distance in metres between lon/lat points (spherical, mean radius).

    Parameters
    ----------
    lon1, lat1, lon2, lat2 : float or array_like
        Degrees (WGS84); broadcast against each other.

    Returns
    -------
    float or ndarray
        Distance in metres (error ≤ 0.5 % against the ellipsoid).
    """
    x1, y1, x2, y2 = (np.radians(np.asarray(v, dtype=float)) for v in (lon1, lat1, lon2, lat2))
    h = np.sin((y2 - y1) / 2) ** 2 + np.cos(y1) * np.cos(y2) * np.sin((x2 - x1) / 2) ** 2
    d = 2.0 * _EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return float(d) if np.ndim(d) == 0 else d


def _fmt(v: float) -> str:
    return "NaN" if np.isnan(v) else (repr(float(v)) if np.isinf(v) else f"{v:.7g}")


def diagnose_lonlat(
    lon: ArrayLike,
    lat: ArrayLike,
    *,
    bounds: tuple[float, float, float, float] | None = None,
    max_outside_m: float | None = None,
    what: str = "point",
    lon_name: str = "lon",
    lat_name: str = "lat",
) -> list[dict[str, Any]]:
    """Every problem row of a lon/lat array, without raising.

    Checks, in this order (one problem per row, the first that applies):

    1. ``not_finite``: lon or lat is NaN or ±inf;
    2. ``swapped``: the pair looks like (lat, lon) — lat holds a value in the
       range of Chinese longitudes (73–136) and lon one of Chinese latitudes
       (3–54) — and the point is not inside ``bounds``;
    3. ``out_of_range``: lon not in [-180, 180] or lat not in [-90, 90];
    4. ``outside_bounds``: more than ``max_outside_m`` metres outside the
       jurisdiction's bounding box ``bounds``.

    Parameters
    ----------
    lon, lat : float or array_like
        Longitude and latitude in degrees, 1-D (or scalars), same length.
    bounds : tuple of float, optional
        Jurisdiction bounding box ``(minlon, minlat, maxlon, maxlat)`` in degrees.
    max_outside_m : float, optional
        Tolerance in metres for points outside ``bounds`` (distance to the box,
        haversine). Default 0: any point outside the box is reported.
    what : str
        Noun used in messages ("point", "issue location" …).
    lon_name, lat_name : str
        Field names reported for the lon and lat values (e.g. CSV column names).

    Returns
    -------
    list of dict
        One dict per bad row, ordered by row: ``row`` (0-based index),
        ``problem`` (one of the codes above), ``field`` (the offending field
        name or None), ``lon``, ``lat``, ``message`` and, for
        ``outside_bounds``, ``distance_m``.
    """
    x = np.atleast_1d(np.asarray(lon, dtype=float)).ravel()
    y = np.atleast_1d(np.asarray(lat, dtype=float)).ravel()
    if x.shape != y.shape:
        raise CoordinateError(f"lon and lat have different lengths ({x.size} and {y.size})")
    problems: dict[int, dict[str, Any]] = {}

    def add(rows: NDArray[np.intp], problem: str, make) -> None:
        for i in rows.tolist():
            if i not in problems:
                field, message, extra = make(i)
                problems[i] = {
                    "row": i,
                    "problem": problem,
                    "field": field,
                    "lon": float(x[i]),
                    "lat": float(y[i]),
                    "message": message,
                    **extra,
                }

    # 1. NaN / inf
    bad_x = ~np.isfinite(x)
    bad_y = ~np.isfinite(y)

    def not_finite(i: int):
        field = lon_name if bad_x[i] else lat_name
        v = x[i] if bad_x[i] else y[i]
        desc = "not a number (NaN)" if np.isnan(v) else f"not a finite number ({_fmt(v)})"
        if bad_x[i] and bad_y[i]:
            desc += f"; {lat_name} is {_fmt(y[i])} too"
        return field, desc, {}

    add(np.flatnonzero(bad_x | bad_y), "not_finite", not_finite)

    finite = ~(bad_x | bad_y)
    in_bounds = np.zeros_like(finite)
    if bounds is not None:
        minx, miny, maxx, maxy = (float(b) for b in bounds)
        in_bounds = finite & (x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)

    # 2. swapped
    swapped = finite & ~in_bounds & (y >= 73.0) & (y <= 136.0) & (x >= 3.0) & (x <= 54.0)

    def swapped_msg(i: int):
        return (
            None,
            f"{what} looks swapped: {lon_name}={_fmt(x[i])} looks like a latitude and "
            f"{lat_name}={_fmt(y[i])} like a longitude (expected lon, lat order)",
            {},
        )

    add(np.flatnonzero(swapped), "swapped", swapped_msg)

    # 3. out of range
    bad_lon = finite & ((x < -180.0) | (x > 180.0))
    bad_lat = finite & ((y < -90.0) | (y > 90.0))

    def out_of_range(i: int):
        if bad_lon[i]:
            return lon_name, f"longitude {_fmt(x[i])} is not in [-180, 180]", {}
        return lat_name, f"latitude {_fmt(y[i])} is not in [-90, 90]", {}

    add(np.flatnonzero(bad_lon | bad_lat), "out_of_range", out_of_range)

    # 4. far outside the jurisdiction
    if bounds is not None:
        tol = 0.0 if max_outside_m is None else float(max_outside_m)
        ok = finite & ~bad_lon & ~bad_lat & ~in_bounds
        idx = np.flatnonzero(ok)
        if idx.size:
            cx = np.clip(x[idx], minx, maxx)
            cy = np.clip(y[idx], miny, maxy)
            dist = np.atleast_1d(haversine_m(x[idx], y[idx], cx, cy))
            far = dist > tol
            dist_of = dict(zip(idx[far].tolist(), dist[far].tolist(), strict=True))

            def outside(i: int):
                d = dist_of[i]
                return (
                    None,
                    f"{what} ({_fmt(x[i])}, {_fmt(y[i])}) is {d:,.0f} m outside the "
                    f"jurisdiction bounds ({minx:g}, {miny:g}, {maxx:g}, {maxy:g})"
                    + (f" (tolerance {tol:,.0f} m)" if tol else ""),
                    {"distance_m": d},
                )

            add(idx[far], "outside_bounds", outside)

    return [problems[i] for i in sorted(problems)]


def check_lonlat(
    lon: ArrayLike,
    lat: ArrayLike,
    *,
    bounds: tuple[float, float, float, float] | None = None,
    max_outside_m: float | None = None,
    what: str = "point",
    lon_name: str = "lon",
    lat_name: str = "lat",
) -> None:
    """Validate lon/lat arrays; raise on the first bad row.

    See :func:`diagnose_lonlat` for the checks and parameters.

    Parameters
    ----------
    lon, lat : float or array_like
        Longitude and latitude in degrees (WGS84 or any of the Chinese systems).
    bounds : tuple of float, optional
        Jurisdiction bounding box ``(minlon, minlat, maxlon, maxlat)``, degrees.
    max_outside_m : float, optional
        Metres a point may lie outside ``bounds`` (default 0).
    what : str
        Noun used in messages.
    lon_name, lat_name : str
        Field names reported in the error.

    Raises
    ------
    CoordinateError
        Naming the first bad row (``row``, ``field``) and its problem; every
        bad row is in ``problems``.

    Examples
    --------
    >>> check_lonlat([115.6, float("nan")], [34.4, 34.4])
    Traceback (most recent call last):
    ...
    civgrid.geo.errors.CoordinateError: row 1, field 'lon': not a number (NaN)
    """
    problems = diagnose_lonlat(
        lon,
        lat,
        bounds=bounds,
        max_outside_m=max_outside_m,
        what=what,
        lon_name=lon_name,
        lat_name=lat_name,
    )
    if problems:
        first = problems[0]
        raise CoordinateError(
            first["message"], row=first["row"], field=first["field"], problems=problems
        )
