"""ORM models of patrol (巡查): teams, plans, visits, leader visits, GPS tracks, coverage."""

from __future__ import annotations

from civgrid.grids.models import Base

__all__: list[str] = []

_ = Base
