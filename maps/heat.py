"""The heat map of recurring problems (反弹回潮热力图): issue arrays → H3 hexagons + hotspots.

The command center wants to know where problems keep coming back, to send
patrols and campaigns there. Each issue reported in the time window counts at
its location with

* ``open`` — still open (待分拣/已交办/整改中/待复查/已退回),
* ``overdue`` — open and past its deadline,
* ``recurrences`` — a recurrence (反弹回潮) of an earlier issue at that place,

and a hexagon's **score** is ``w_open · open + w_recurrence · recurrences``
(defaults 1 and 2: a relapse weighs more than a fresh problem). Aggregation is
server-side and vectorized (:mod:`civgrid.maps.hexbins`), so a county with a
million historical issues still answers quickly; the page receives only the
hexagons, the ranked hotspots and a bounded list of density points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import h3
import numpy as np
from numpy.typing import NDArray
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from civgrid.grids.issues.models import Issue
from civgrid.grids.issues.workflow import State, open_states
from civgrid.maps import hexbins
from civgrid.maps.display import check_display_crs, to_display_geoms, to_display_lonlat

__all__ = [
    "HeatWindow",
    "IssueArrays",
    "density_points",
    "heat_window",
    "hexbin_geojson",
    "issue_arrays",
]


@dataclass
class IssueArrays:
    """Issue columns as numpy arrays (one element per located issue)."""

    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    open: NDArray[np.bool_]
    overdue: NDArray[np.bool_]
    recurrence: NDArray[np.bool_]
    category: NDArray[np.int64]  # index into ``categories``
    categories: list[str]
    community: NDArray[np.int64]  # index into ``communities`` (-1: none)
    communities: list[str]

    def __len__(self) -> int:
        return int(self.lon.shape[0])

    @classmethod
    def from_columns(
        cls,
        lon: Sequence[float],
        lat: Sequence[float],
        *,
        open: Sequence[bool] | None = None,
        overdue: Sequence[bool] | None = None,
        recurrence: Sequence[bool] | None = None,
        category: Sequence[str] | None = None,
        community: Sequence[str | None] | None = None,
    ) -> IssueArrays:
        """Build from plain columns (e.g. a notebook's DataFrame)."""
        n = len(lon)

        def flags(v: Sequence[bool] | None) -> NDArray[np.bool_]:
            return np.zeros(n, dtype=bool) if v is None else np.asarray(v, dtype=bool)

        cats = list(category) if category is not None else ["-"] * n
        cat_names, cat_idx = np.unique(
            np.asarray(cats, dtype=object).astype(str), return_inverse=True
        )
        comms = [c or "" for c in (community if community is not None else [""] * n)]
        comm_names, comm_idx = np.unique(np.asarray(comms, dtype=str), return_inverse=True)
        comm_list = [str(c) for c in comm_names]
        comm_idx = comm_idx.astype(np.int64)
        if "" in comm_list:
            blank = comm_list.index("")
            comm_idx = np.where(comm_idx == blank, -1, comm_idx - (comm_idx > blank))
            comm_list.pop(blank)
        return cls(
            np.asarray(lon, dtype=float),
            np.asarray(lat, dtype=float),
            flags(open),
            flags(overdue),
            flags(recurrence),
            cat_idx.astype(np.int64),
            [str(c) for c in cat_names],
            comm_idx,
            comm_list,
        )


@dataclass(frozen=True)
class HeatWindow:
    """The time window of a heat map: ``start`` ≤ reported_at < ``end`` (aware UTC)."""

    start: datetime
    end: datetime

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400.0


def heat_window(
    session: Session,
    *,
    days: int = 90,
    start: datetime | None = None,
    end: datetime | None = None,
) -> HeatWindow:
    """The window: explicit ``start``/``end``, or the last ``days`` days of data.

    Without ``end``, the window ends just after the newest report (or now when
    there is none), so a demo database loaded months ago still shows its data.
    """
    if end is None:
        newest = session.scalar(select(func.max(Issue.reported_at)))
        end = (newest + timedelta(seconds=1)) if newest is not None else datetime.now(UTC)
    if end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    if start is None:
        start = end - timedelta(days=days)
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return HeatWindow(start, end)


def issue_arrays(session: Session, conditions: Sequence[Any] = ()) -> IssueArrays:
    """The located issues matching SQL ``conditions`` as arrays (one query, no ORM objects).

    Parameters
    ----------
    session : Session
    conditions : sequence of SQL expressions on :class:`Issue`
        e.g. from the issue query filters; merged duplicates are always left out.
    """
    is_open = Issue.state.in_(open_states())
    q = select(
        Issue.lon,
        Issue.lat,
        is_open,
        and_(is_open, Issue.overdue),
        Issue.recurrence_of_id.is_not(None),
        Issue.category_code,
        # the place a hotspot is named after: the community, else the township
        func.coalesce(Issue.community_code, Issue.township_code),
    ).where(
        Issue.lon.is_not(None), Issue.lat.is_not(None), Issue.state != State.merged, *conditions
    )
    # plain rows through the connection: no ORM loading, the flags computed in SQL (a
    # year of a county is 2·10⁵ issues, bench/scale.py)
    rows = session.connection().execute(q).all()
    if not rows:
        return IssueArrays.from_columns([], [])
    lon, lat, is_open_, overdue, rec, cat, comm = zip(*rows, strict=True)
    return IssueArrays.from_columns(
        lon,
        lat,
        open=is_open_,
        overdue=overdue,
        recurrence=rec,
        category=cat,
        community=comm,
    )


def _mode_per_cell(
    idx: NDArray[np.int64],
    values: NDArray[np.int64],
    n_cells: int,
    n_values: int,
    weights: NDArray | None = None,
) -> NDArray[np.int64]:
    """Most frequent value per cell (-1 when the cell has none with value ≥ 0)."""
    ok = values >= 0
    if n_values == 0 or not ok.any():
        return np.full(n_cells, -1, dtype=np.int64)
    table = np.bincount(
        idx[ok] * n_values + values[ok],
        weights=None if weights is None else weights[ok],
        minlength=n_cells * n_values,
    ).reshape(n_cells, n_values)
    best = table.argmax(axis=1)
    return np.where(table.max(axis=1) > 0, best, -1)


def hexbin_geojson(
    data: IssueArrays,
    res: int,
    *,
    display_crs: str = "wgs84",
    w_open: float = 1.0,
    w_recurrence: float = 2.0,
    top: int = 20,
    category_names: dict[str, str] | None = None,
    community_names: dict[str, str] | None = None,
    min_count: int = 1,
) -> dict:
    """H3 hexagons of the issues with counts, score and rank; the top ``top`` as hotspots.

    Parameters
    ----------
    data : IssueArrays
    res : int
        H3 resolution (:func:`civgrid.maps.hexbins.resolution_for_zoom`).
    display_crs : str
        ``"wgs84"`` or ``"gcj02"`` for the hexagon outlines.
    w_open, w_recurrence : float
        Score weights.
    top : int
        Length of the ranked hotspot list.
    category_names, community_names : dict, optional
        code → Chinese name, for labels.
    min_count : int
        Hexagons with fewer issues are left out.

    Returns
    -------
    dict
        FeatureCollection (``layer="hexbins"``, ``res``, ``max_score``,
        ``hotspots`` = list of the top cells' properties), one Polygon per cell
        with ``cell``, ``count``, ``open``, ``overdue``, ``recurrences``,
        ``score``, ``rank``, ``top_category``, ``community``.
    """
    display_crs = check_display_crs(display_crs)
    category_names = category_names or {}
    community_names = community_names or {}
    empty = {
        "type": "FeatureCollection",
        "layer": "hexbins",
        "res": int(res),
        "display_crs": display_crs,
        "issues": len(data),
        "max_score": 0,
        "hotspots": [],
        "features": [],
    }
    if len(data) == 0:
        return empty
    cells, idx = hexbins.cell_index(data.lon, data.lat, res)
    n = cells.shape[0]
    count = np.bincount(idx, minlength=n)
    n_open = np.bincount(idx, weights=data.open.astype(float), minlength=n)
    n_overdue = np.bincount(idx, weights=data.overdue.astype(float), minlength=n)
    n_rec = np.bincount(idx, weights=data.recurrence.astype(float), minlength=n)
    score = w_open * n_open + w_recurrence * n_rec
    top_cat = _mode_per_cell(idx, data.category, n, len(data.categories))
    top_comm = _mode_per_cell(idx, data.community, n, len(data.communities))
    keep = np.flatnonzero(count >= min_count)
    order = keep[np.lexsort((-count[keep], -score[keep]))]  # score, then count, descending
    import shapely

    rings = hexbins.cell_polygons(cells[order])
    polys = to_display_geoms(
        np.array([shapely.Polygon(r) for r in rings], dtype=object), display_crs
    )
    features = []
    hotspots = []
    for rank, (i, poly) in enumerate(zip(order.tolist(), polys, strict=True), start=1):
        cat = data.categories[top_cat[i]] if top_cat[i] >= 0 else None
        comm = data.communities[top_comm[i]] if top_comm[i] >= 0 else None
        props = {
            "cell": h3.int_to_str(int(cells[i])),
            "count": int(count[i]),
            "open": int(n_open[i]),
            "overdue": int(n_overdue[i]),
            "recurrences": int(n_rec[i]),
            "score": round(float(score[i]), 2),
            "rank": rank,
            "top_category": cat,
            "top_category_name": category_names.get(cat, cat) if cat else None,
            "community": comm,
            "community_name": community_names.get(comm, comm) if comm else None,
        }
        coords = [[round(x, 6), round(y, 6)] for x, y in np.asarray(poly.exterior.coords).tolist()]
        features.append(
            {
                "type": "Feature",
                "id": props["cell"],
                "properties": props,
                "geometry": {"type": "Polygon", "coordinates": [coords]},
            }
        )
        if rank <= top and score[i] > 0:
            lat_c, lon_c = h3.cell_to_latlng(props["cell"])
            x, y = to_display_lonlat(lon_c, lat_c, display_crs)
            hotspots.append({**props, "center": [round(float(x), 6), round(float(y), 6)]})
    return {
        **empty,
        "max_score": float(score[order].max()) if order.size else 0,
        "hotspots": hotspots,
        "features": features,
    }


def density_points(
    data: IssueArrays,
    res: int,
    *,
    display_crs: str = "wgs84",
    w_recurrence: float = 2.0,
    max_points: int = 20_000,
) -> dict:
    """Points for a plain density heat layer (Leaflet.heat), bounded in number.

    Issues are binned into fine H3 cells (``res``, e.g. the hexagon resolution
    + 2) and each occupied cell becomes one point at its centre weighted by
    ``count + (w_recurrence - 1)·recurrences`` — so a million issues become at
    most ``max_points`` points (the resolution is lowered until they fit).

    Returns
    -------
    dict
        ``{"res": int, "max": float, "points": [[lat, lon, weight], ...]}`` in the display CRS
        (Leaflet order: lat first).
    """
    display_crs = check_display_crs(display_crs)
    if len(data) == 0:
        return {"res": int(res), "max": 0.0, "points": []}
    weight = 1.0 + (w_recurrence - 1.0) * data.recurrence.astype(float)
    r = int(res)
    while True:
        agg = hexbins.aggregate(data.lon, data.lat, r, {"w": weight})
        if len(agg) <= max_points or r <= 0:
            break
        r -= 1
    centers = np.array([h3.cell_to_latlng(c) for c in agg.cell_strings()])
    x, y = to_display_lonlat(centers[:, 1], centers[:, 0], display_crs)
    w = agg.sums["w"]
    pts = [
        [round(float(b), 6), round(float(a), 6), round(float(c), 2)]
        for a, b, c in zip(np.atleast_1d(x), np.atleast_1d(y), w, strict=True)
    ]
    return {"res": r, "max": float(w.max()), "points": pts}
