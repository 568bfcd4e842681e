"""The shop register (沿街商户 / 门前五包): its duties and the snap of a report to a frontage.

Quzhou (002) extends 门前三包 to five duties for street-front shops:
"从“门前三包”拓展深化到沿街店铺实行“门前五包”:包洁化、包绿化、包秩序、包立面、包文明";
Sheqi (004) puts 城管 in charge of seeing them kept: "城管执法部门要定人定网格定责任，
督导落实“门前五包”". A shop in the register has its frontage (a line or polygon, WGS84),
the date of its signed responsibility letter (责任书), the duties it lists and the unit of
the 城管 grid officer (城管网格员所在单位) for the frontage.

The register is data for routing, not a special case: importing a shop writes the grid
unit's ``responsible`` assignment on (``shop``, code); the ``shopfront_five`` owner rule
(``grids/boundaries/seed/owner_rules.yaml``) names the ``shop`` layer with ``on_site_m``
(default :data:`DEFAULT_SNAP_M`), and :func:`nearest_shop` finds the frontage there. The import is
:mod:`civgrid.grids.boundaries.shop_imports`.

Distances are metres in the county's metric CRS (CGCS2000 3° Gauss-Krüger zone of the
point); a bounding-box pre-filter on the ``min_/max_`` lon/lat columns keeps the lookup
on an index on both SQLite and PostGIS (the same Python path on both).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.geo.metric import Projector, metric_epsg_for
from civgrid.grids.boundaries.models import Shop
from civgrid.grids.core import labels as zh

__all__ = [
    "DEFAULT_SNAP_M",
    "DUTIES",
    "GRID_OFFICER_TITLE",
    "ShopHit",
    "nearest_shop",
]

#: The five duties (门前五包) as stored in ``Shop.frontage_duties``, in 002's order.
DUTIES: tuple[str, ...] = tuple(zh.SHOP_DUTY_LABELS)
#: Metres from a frontage within which a 门前五包 report snaps to the shop when the owner
#: rule gives no ``on_site_m``. A local choice: a pavement's width in front of a shop.
DEFAULT_SNAP_M = 15.0
#: The person answering for a shop's frontage in the grid unit, by title.
GRID_OFFICER_TITLE = "城管网格员"
#: Degrees of latitude per metre (pre-filter margin; generous on purpose).
_DEG_PER_M = 1.0 / 110_000.0


@dataclass(frozen=True)
class ShopHit:
    """A shop whose frontage lies within the snap distance of a point."""

    shop: Shop
    distance_m: float


def nearest_shop(session: Session, lon: float, lat: float, max_m: float) -> ShopHit | None:
    """The shop whose frontage is nearest to a point, if within ``max_m`` metres.

    Parameters
    ----------
    session : Session
    lon, lat : float
        WGS84 degrees.
    max_m : float
        Metres (inclusive).

    Returns
    -------
    ShopHit or None
        Ties go to the smaller code.
    """
    dlat = max_m * _DEG_PER_M
    dlon = dlat / max(math.cos(math.radians(lat)), 0.1)
    rows = list(
        session.scalars(
            select(Shop)
            .where(
                Shop.min_lon <= lon + dlon,
                Shop.max_lon >= lon - dlon,
                Shop.min_lat <= lat + dlat,
                Shop.max_lat >= lat - dlat,
            )
            .order_by(Shop.code)
        )
    )
    if not rows:
        return None
    proj = Projector(metric_epsg_for(lon))
    x, y = proj.forward(lon, lat)
    p = shapely.Point(float(x), float(y))
    best: ShopHit | None = None
    for shop in rows:
        d = float(_metric(proj, shop.frontage).distance(p))
        if d <= max_m and (best is None or d < best.distance_m):
            best = ShopHit(shop, d)
    return best


def _metric(proj: Projector, geom: Any) -> Any:
    def f(c: np.ndarray) -> np.ndarray:
        x, y = proj.forward(c[:, 0], c[:, 1])
        return np.column_stack([np.asarray(x, float), np.asarray(y, float)])

    return shapely.transform(geom, f)
