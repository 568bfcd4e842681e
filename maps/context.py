"""What the map pages need from the store besides layers: centre, filter options, units.

Shared by the web pages (``api/routers/maps.py``) and the offline export
(:mod:`civgrid.maps.offline`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.grids.boundaries.models import Category, Unit, UnitKind
from civgrid.grids.core import labels as zh
from civgrid.grids.core.calendar import local_zone
from civgrid.maps.display import to_display_lonlat
from civgrid.maps.layers import AREA_TYPE_LABELS

__all__ = [
    "category_tree",
    "filter_options",
    "map_center",
    "reassign_units",
    "source_options",
]


def map_center(store: Any, session: Session, display_crs: str) -> tuple[float, float] | None:
    """(lat, lon) of the central city (the communities), else the county, in the display CRS."""
    for layer in ("community", "county", "township"):
        areas = store.areas(layer=layer, session=session)
        if areas:
            b = shapely.total_bounds(np.asarray([a.geom for a in areas], dtype=object))
            lon, lat = to_display_lonlat((b[0] + b[2]) / 2, (b[1] + b[3]) / 2, display_crs)
            return float(lat), float(lon)
    return None


def category_tree(session: Session) -> list[dict[str, Any]]:
    """Categories as ``{code, name, parent}`` in tree order (for the category filter)."""
    cats = list(session.scalars(select(Category).order_by(Category.id)))
    by_id = {c.id: c for c in cats}
    return [
        {
            "code": c.code,
            "name": c.name,
            "parent": by_id[c.parent_id].code if c.parent_id in by_id else None,
        }
        for c in cats
    ]


def source_options() -> list[dict[str, str]]:
    """Issue sources with their Chinese labels."""
    from civgrid.grids.issues.config import SOURCE_LABELS

    return [{"value": s.value, "label": label} for s, label in SOURCE_LABELS.items()]


def filter_options(store: Any, session: Session, *, days: int = 90) -> dict[str, Any]:
    """Options of the filter panels: categories, sources, areas, default date range.

    The default range is the last ``days`` days of data (see
    :func:`civgrid.maps.heat.heat_window`).
    """
    from civgrid.maps.heat import heat_window

    areas = []
    for layer in ("township", "community"):
        for a in store.areas(layer=layer, session=session):
            areas.append(
                {
                    "code": a.code,
                    "name": a.name,
                    "type": str(a.type),
                    "type_label": AREA_TYPE_LABELS.get(str(a.type), ""),
                }
            )
    window = heat_window(session, days=days)
    return {
        "categories": category_tree(session),
        "sources": source_options(),
        "areas": areas,
        "zones": [{"value": k, "label": v} for k, v in zh.PLACE_ZONE_LABELS.items()],
        "defaults": {
            "from": window.start.astimezone(local_zone()).date().isoformat(),
            "to": window.end.astimezone(local_zone()).date().isoformat(),
            "kind": "",
        },
    }


def reassign_units(session: Session) -> list[dict[str, str]]:
    """Units an issue may be (re)assigned to: everything but command groups and teams."""
    skip = {UnitKind.command_group, UnitKind.supervision_team}
    return [
        {"key": u.key, "name": u.name}
        for u in session.scalars(select(Unit).order_by(Unit.key))
        if u.kind not in skip
    ]
