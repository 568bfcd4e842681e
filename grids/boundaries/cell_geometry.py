"""A geometry from one cell of an imported table, brought to WGS84 and checked.

Shared by the registers whose rows carry a geometry (shops, assessment points): the
caller parses the cell and checks the geometry type it accepts; this converts from the
table's CRS and refuses what is not lon/lat or not valid, with the reason as the
message (the caller reports it with row and field).
"""

from __future__ import annotations

import numpy as np
import shapely

from civgrid.geo.crs import to_wgs84

__all__ = ["checked_wgs84"]


def checked_wgs84(geom: shapely.Geometry, crs: str) -> shapely.Geometry:
    """``geom`` in WGS84 degrees, checked.

    Parameters
    ----------
    geom : shapely.Geometry
        Coordinates in ``crs``.
    crs : str
        ``"wgs84"``, ``"gcj02"``, ``"bd09"`` or an EPSG name (as :func:`to_wgs84`).

    Raises
    ------
    ValueError
        Coordinates outside lon/lat degrees after conversion, or an invalid geometry.

    >>> checked_wgs84(shapely.Point(112.95, 33.05), "wgs84").x
    112.95
    """
    if crs != "wgs84":

        def f(c: np.ndarray) -> np.ndarray:
            lon, lat = to_wgs84(c[:, 0], c[:, 1], crs)
            return np.column_stack([lon, lat])

        geom = shapely.transform(geom, f)
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise ValueError("coordinates are not lon/lat degrees")
    if not geom.is_valid:
        raise ValueError(shapely.is_valid_reason(geom))
    return geom
