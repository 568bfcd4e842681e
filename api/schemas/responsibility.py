"""Response models of the responsibility gap report (责任空白清单).

They mirror :meth:`civgrid.grids.boundaries.responsibility.GapReport.to_dict`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

__all__ = ["GapCountOut", "PlaceGapOut", "ResponsibilityGapsOut"]


class PlaceGapOut(BaseModel):
    """A place without a responsible unit, or with units but no person title."""

    layer: Literal["unit_grid", "road_section", "key_site"]
    layer_label: str
    code: str
    name: str
    kind: Literal["no_unit", "no_person"]
    kind_label: str
    units: list[str]
    community_code: str
    community_name: str
    township_code: str
    township_name: str


class GapCountOut(BaseModel):
    """The gaps of one community or township (empty code: outside every community)."""

    code: str
    name: str
    gaps: int
    no_unit: int
    no_person: int


class ResponsibilityGapsOut(BaseModel):
    """The gap report of one day in the active boundary generation."""

    day: str
    generation_id: int | None
    ok: bool
    places: dict[str, int]
    gap_count: int
    gaps: list[PlaceGapOut]
    by_community: list[GapCountOut]
    by_township: list[GapCountOut]
