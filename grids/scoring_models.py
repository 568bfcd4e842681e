"""ORM models of scoring (考核): rule profiles, scores, frozen bulletins, accountability cases."""

from __future__ import annotations

from civgrid.grids.models import Base

__all__: list[str] = []

_ = Base
