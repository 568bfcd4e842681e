"""Response models of the map API (GeoJSON layers, hexbins, heat points).

The GeoJSON layers are served as ``application/geo+json``; their models document
the members every layer has and allow the layer's own.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from civgrid.api.schemas.common import Number
from civgrid.api.schemas.issues import Feature

__all__ = ["HeatPointsOut", "HexbinsOut", "LayerCollection"]


class LayerCollection(BaseModel):
    """A map layer: a GeoJSON FeatureCollection in the display CRS.

    Besides ``features``, a layer says which it is (``layer``), its ``display_crs``
    and, for issues, ``total`` and ``truncated`` (when ``limit`` cut the list)."""

    model_config = ConfigDict(extra="allow")

    type: Literal["FeatureCollection"]
    features: list[Feature]
    layer: str | None = None
    display_crs: str | None = None


class HexbinsOut(LayerCollection):
    """H3 cells of the window with their score; ``hotspots`` the top cells."""

    res: int
    issues: int
    max_score: Number
    hotspots: list[dict[str, Any]]
    window: dict[str, str] | None = None
    weights: dict[str, Number] | None = None


class HeatPointsOut(BaseModel):
    """Density points ``[lat, lon, weight]`` (Leaflet.heat order) at resolution ``res``."""

    res: int
    max: Number
    points: list[list[Number]]
