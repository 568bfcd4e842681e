"""Helpers shared by the issue tests (points on the demo county, a clock)."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from civgrid.geo.metric import Projector, metric_epsg_for
from civgrid.grids.boundaries.store import Store

DEMO_DATA = Path(__file__).resolve().parents[2] / "data" / "boundaries" / "demo"


class Clock:
    """A controllable clock (aware UTC)."""

    def __init__(self, start: datetime) -> None:
        self.t = start

    def __call__(self) -> datetime:
        return self.t

    def advance(self, **kw: float) -> datetime:
        self.t += timedelta(**kw)
        return self.t

    def set(self, t: datetime) -> datetime:
        self.t = t
        return t


@lru_cache(maxsize=4)
def _projector(epsg: int) -> Projector:
    return Projector(epsg)


def offset(lon: float, lat: float, dx_m: float, dy_m: float) -> tuple[float, float]:
    """The point ``dx_m`` east and ``dy_m`` north of (lon, lat), in the metric CRS."""
    p = _projector(metric_epsg_for(lon))
    x, y = p.forward([lon], [lat])
    lo, la = p.inverse([x[0] + dx_m], [y[0] + dy_m])
    return float(lo[0]), float(la[0])


def point_in(store: Store, code: str, layer: str = "unit_grid") -> tuple[float, float]:
    """A point well inside the area ``code`` (current generation)."""
    area = store.area(code, layer=layer)
    p = area.geom.representative_point()
    return float(p.x), float(p.y)


#: 望东庄村第2小区 (潘河街道 望东庄村), a compound with a property company (PC01).
COMPOUND = "411327001001003"
#: Far outside the county (still in China).
OUTSIDE = (116.40, 39.90)
