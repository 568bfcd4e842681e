"""Metric projections for distances, buffers and areas.

civgrid stores lon/lat (WGS84 / CGCS2000, treated as identical at the metre
level) and measures in a CGCS2000 3-degree Gauss-Krüger zone chosen from the
data's longitude (EPSG:4534 … EPSG:4554, "CM" variants without false-easting
zone prefix). Never buffer or measure in degrees.

:class:`Projector` projects forward with a numba transcription of PROJ's
transverse Mercator (:mod:`civgrid.geo._tmerc`, agreeing with pyproj to a few
nanometres, ≈ 4× faster per point and without pyproj's per-call overhead) when
the target CRS is a plain transverse Mercator (the Gauss-Krüger zones, UTM), and
with pyproj otherwise. The inverse always uses pyproj.
"""

from __future__ import annotations

import threading
from functools import lru_cache

import numpy as np
from pyproj import Transformer, get_ellps_map

#: EPSG code of "CGCS2000 / 3-degree Gauss-Kruger CM 75E"; CM 78E is +1 … CM 135E is +20.
_GK3_CM_BASE_EPSG = 4534
_GK3_CM_FIRST = 75
#: Largest disagreement with pyproj (metres) accepted for the numba forward projection.
TM_AGREEMENT_M = 1e-6


def gk3_central_meridian(lon: float) -> int:
    """Central meridian (degrees east) of the 3-degree zone containing ``lon``.

    Parameters
    ----------
    lon : float
        Longitude in degrees east (WGS84/CGCS2000).

    Returns
    -------
    int
        Central meridian in degrees, a multiple of 3 between 75 and 135.
    """
    cm = round(lon / 3.0) * 3
    return min(max(cm, _GK3_CM_FIRST), 135)


def metric_epsg_for(lons: np.ndarray | float) -> int:
    """EPSG code of the CGCS2000 3-degree Gauss-Krüger (CM) zone for the data.

    Parameters
    ----------
    lons : array-like or float
        Longitudes in degrees east; the zone is chosen from their median.

    Returns
    -------
    int
        EPSG code, e.g. 4547 (CM 114E) for Henan.
    """
    lon = float(np.nanmedian(np.asarray(lons, dtype=float)))
    return _GK3_CM_BASE_EPSG + (gk3_central_meridian(lon) - _GK3_CM_FIRST) // 3


_local = threading.local()


def _transformer(src: int, dst: int) -> Transformer:
    """A cached lon/lat-ordered pyproj Transformer, one per thread (creating one costs ≈ 0.1 s)."""
    cache = getattr(_local, "transformers", None)
    if cache is None:
        cache = _local.transformers = {}
    key = (src, dst)
    t = cache.get(key)
    if t is None:
        t = cache[key] = Transformer.from_crs(src, dst, always_xy=True)
    return t


def _tm_definition(definition: str) -> dict[str, float] | None:
    """Transverse Mercator parameters of a pyproj pipeline from lon/lat, or None."""
    steps = [s.strip() for s in definition.split("step")]
    if not steps or steps[0] != "proj=pipeline":
        return None
    body = [s for s in steps[1:] if s != "proj=unitconvert xy_in=deg xy_out=rad"]
    if len(body) != 1:
        return None
    kv: dict[str, str] = {}
    for tok in body[0].split():
        key, _, value = tok.partition("=")
        kv[key] = value
    proj = kv.pop("proj", "")
    ellps = get_ellps_map().get(kv.pop("ellps", ""), None)
    if ellps is None or "rf" not in ellps:
        return None
    out = {"a": float(ellps["a"]), "rf": float(ellps["rf"])}
    if proj == "tmerc":
        allowed = {"lat_0", "lon_0", "k", "k_0", "x_0", "y_0"}
        if set(kv) - allowed or float(kv.get("lat_0", 0)) != 0.0:
            return None
        out.update(
            lon0=float(kv.get("lon_0", 0)),
            k0=float(kv.get("k", kv.get("k_0", 1))),
            x0=float(kv.get("x_0", 0)),
            y0=float(kv.get("y_0", 0)),
        )
        return out
    if proj == "utm":
        if set(kv) - {"zone"}:
            return None
        zone = int(kv["zone"])
        out.update(lon0=-183.0 + 6 * zone, k0=0.9996, x0=500000.0, y0=0.0)
        return out
    return None


@lru_cache(maxsize=64)
def _tm_params_for(epsg: int) -> np.ndarray | None:
    """Numba TM parameter vector for ``epsg`` if it reproduces pyproj, else None."""
    fwd = _transformer(4326, epsg)
    spec = _tm_definition(fwd.definition)
    if spec is None:
        return None
    from civgrid.geo._tmerc import tm_forward_array, tm_params

    p = tm_params(spec["lon0"], a=spec["a"], rf=spec["rf"], k0=spec["k0"], x0=spec["x0"])
    p[3] = spec["y0"]
    # verify on a grid around the central meridian before trusting it
    lon = spec["lon0"] + np.linspace(-4.0, 4.0, 33)
    lat = np.linspace(-60.0, 70.0, 27)
    lon, lat = (a.ravel() for a in np.meshgrid(lon, lat))
    x = np.empty_like(lon)
    y = np.empty_like(lat)
    tm_forward_array(p, lon, lat, x, y)
    ex, ey = fwd.transform(lon, lat)
    if not (np.all(np.abs(x - ex) <= TM_AGREEMENT_M) and np.all(np.abs(y - ey) <= TM_AGREEMENT_M)):
        return None
    p.flags.writeable = False
    return p


class Projector:
    """Forward/inverse transform between lon/lat (EPSG:4326) and a metric CRS.

    Parameters
    ----------
    epsg : int
        Metric CRS, usually from :func:`metric_epsg_for`. Units: metres.
    fast : bool, default True
        Use the numba transverse Mercator for :meth:`forward` when the CRS allows
        it (agrees with pyproj within :data:`TM_AGREEMENT_M`, in practice ≈ 2e-9 m).

    Attributes
    ----------
    epsg : int
        The metric CRS.
    tm_params : numpy.ndarray or None
        Parameter vector of the numba projection (see :mod:`civgrid.geo._tmerc`),
        None when the CRS is not a plain transverse Mercator.

    Examples
    --------
    >>> p = Projector(4547)
    >>> x, y = p.forward(114.0, 0.0)
    >>> round(x, 6), round(y, 6)
    (500000.0, 0.0)
    """

    def __init__(self, epsg: int, *, fast: bool = True) -> None:
        self.epsg = epsg
        self.tm_params = _tm_params_for(int(epsg)) if fast else None

    @property
    def _fwd(self) -> Transformer:
        return _transformer(4326, self.epsg)

    @property
    def _inv(self) -> Transformer:
        return _transformer(self.epsg, 4326)

    def forward(self, lon, lat):
        """Project lon/lat degrees to x/y metres (easting, northing).

        Parameters
        ----------
        lon, lat : float or array-like
            Degrees (EPSG:4326), same shape.

        Returns
        -------
        tuple
            ``(x, y)`` in metres; floats for scalar input, float64 arrays otherwise.
        """
        if self.tm_params is None:
            return self._fwd.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        from civgrid.geo._tmerc import tm_forward_array, tm_forward_scalar

        if np.ndim(lon) == 0 and np.ndim(lat) == 0:
            return tm_forward_scalar(self.tm_params, float(lon), float(lat))
        lo, la = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        flat_lo = np.ascontiguousarray(lo).ravel()
        flat_la = np.ascontiguousarray(la).ravel()
        x = np.empty(flat_lo.shape[0])
        y = np.empty(flat_lo.shape[0])
        tm_forward_array(self.tm_params, flat_lo, flat_la, x, y)
        return x.reshape(lo.shape), y.reshape(lo.shape)

    def inverse(self, x, y):
        """Unproject x/y metres to lon/lat degrees (pyproj)."""
        return self._inv.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
