"""Metric projections for distances, buffers and areas.

civgrid stores lon/lat (WGS84 / CGCS2000, treated as identical at the metre
level) and measures in a CGCS2000 3-degree Gauss-Krüger zone chosen from the
data's longitude (EPSG:4534 … EPSG:4554, "CM" variants without false-easting
zone prefix). Never buffer or measure in degrees.
"""

from __future__ import annotations

import numpy as np
from pyproj import Transformer

#: EPSG code of "CGCS2000 / 3-degree Gauss-Kruger CM 75E"; CM 78E is +1 … CM 135E is +20.
_GK3_CM_BASE_EPSG = 4534
_GK3_CM_FIRST = 75


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
    cm = int(round(lon / 3.0)) * 3
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


class Projector:
    """Forward/inverse transform between lon/lat (EPSG:4326) and a metric CRS.

    Parameters
    ----------
    epsg : int
        Metric CRS, usually from :func:`metric_epsg_for`. Units: metres.
    """

    def __init__(self, epsg: int) -> None:
        self.epsg = epsg
        self._fwd = Transformer.from_crs(4326, epsg, always_xy=True)
        self._inv = Transformer.from_crs(epsg, 4326, always_xy=True)

    def forward(self, lon, lat):
        """Project lon/lat degrees to x/y metres (easting, northing)."""
        return self._fwd.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))

    def inverse(self, x, y):
        """Unproject x/y metres to lon/lat degrees."""
        return self._inv.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
