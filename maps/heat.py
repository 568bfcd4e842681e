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
from itertools import repeat
from typing import Any

import h3
import numpy as np
from h3.api import basic_int as h3_int
from numpy.typing import NDArray
from sqlalchemy import LargeBinary, SmallInteger, and_, case, cast, func, literal_column, select
from sqlalchemy.orm import Session

from civgrid.grids.issues.models import Issue
from civgrid.grids.issues.workflow import State, open_states
from civgrid.maps import hexbins
from civgrid.maps.display import check_display_crs, to_display_lonlat

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

        if category is None:  # one category "-"
            cat_names, cat_idx = (["-"] if n else []), np.zeros(n, dtype=np.int64)
        else:
            cat_names, cat_idx = _factorize(list(map(str, category)))
        if community is None:
            comm_list, comm_idx = [], np.full(n, -1, dtype=np.int64)
        else:
            comm_list, comm_idx = _factorize([c or "" for c in community])
            if comm_list and comm_list[0] == "":  # no place: -1 (sorted, "" comes first)
                comm_list.pop(0)
                comm_idx = comm_idx - 1
        return cls(
            np.asarray(lon, dtype=float),
            np.asarray(lat, dtype=float),
            flags(open),
            flags(overdue),
            flags(recurrence),
            cat_idx,
            cat_names,
            comm_idx,
            comm_list,
        )


def _factorize(values: Sequence[str]) -> tuple[list[str], NDArray[np.int64]]:
    """The distinct values sorted, and each value's index in them (``np.unique`` with
    ``return_inverse``, by dicts at C speed rather than a sort of strings).

    >>> _factorize(["b", "a", "b", ""])
    (['', 'a', 'b'], array([2, 1, 2, 0]))
    """
    names = sorted(dict.fromkeys(values))
    index = {v: i for i, v in enumerate(names)}
    return names, np.fromiter(map(index.__getitem__, values), dtype=np.int64, count=len(values))


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


def issue_arrays(
    session: Session, conditions: Sequence[Any] = (), *, density_only: bool = False
) -> IssueArrays:
    """The located issues matching SQL ``conditions`` as arrays (one query, no ORM objects).

    Parameters
    ----------
    session : Session
    conditions : sequence of SQL expressions on :class:`Issue`
        e.g. the window on ``reported_at`` and the issue query filters; merged
        duplicates are always left out.
    density_only : bool
        Only what :func:`density_points` uses (position and recurrence): categories
        and places are not read (``categories == ["-"]``, no community).

    Notes
    -----
    On PostgreSQL the answer is **one row**: each column packed by the database into
    one value (``string_agg`` of ``float8send``/``int2send``, codes joined by U+001F),
    read by numpy without a Python object per issue. Read row by row, a county's year
    (2·10⁵ issues, ``bench/scale.py``) cost as much again in the driver and the
    interpreter as in the database. SQLite reads plain rows.
    """
    is_open = Issue.state.in_(open_states())
    where = [
        Issue.lon.is_not(None),
        Issue.lat.is_not(None),
        Issue.state != State.merged,
        *conditions,
    ]
    # the place a hotspot is named after: the community, else the township
    place = func.coalesce(Issue.community_code, Issue.township_code)
    if session.get_bind().dialect.name == "postgresql":
        return _packed_arrays(session, where, place, density_only)
    return _row_arrays(session, where, is_open, place, density_only)


def _row_arrays(
    session: Session, where: list[Any], is_open: Any, place: Any, density_only: bool
) -> IssueArrays:
    """:func:`issue_arrays` row by row (SQLite)."""
    q = select(
        Issue.lon,
        Issue.lat,
        is_open,
        and_(is_open, Issue.overdue),
        Issue.recurrence_of_id.is_not(None),
        Issue.category_code,
        place,
    ).where(*where)
    rows = session.connection().execute(q).all()
    if not rows:
        return IssueArrays.from_columns([], [])
    lon, lat, is_open_, overdue, rec, cat, comm = zip(*rows, strict=True)
    if density_only:
        return IssueArrays.from_columns(lon, lat, recurrence=rec)
    return IssueArrays.from_columns(
        lon,
        lat,
        open=is_open_,
        overdue=overdue,
        recurrence=rec,
        category=cat,
        community=comm,
    )


#: Separator of the codes packed by :func:`_packed_arrays` (ASCII unit separator).
_SEP = "\x1f"
#: One issue in the packed column: lon, lat (float8), flags (int2), big-endian (``*send``).
_PACKED = np.dtype([("lon", ">f8"), ("lat", ">f8"), ("flags", ">i2")])


def _packed_arrays(
    session: Session, where: list[Any], place: Any, density_only: bool
) -> IssueArrays:
    """:func:`issue_arrays` on PostgreSQL: one row, one packed value per kind of column.

    Positions and flags are one ``bytea`` of 18 bytes an issue (``float8send(lon) ||
    float8send(lat) || int2send(flags)``, flags = open 1, overdue 2, recurrence 4; only
    the recurrence with ``density_only``); codes are one text each. The aggregates of
    one query read the rows in one order.
    """
    flags = case((Issue.recurrence_of_id.is_not(None), 4), else_=0)
    if not density_only:  # density points read only the recurrences: no state test per row
        # open as "none of the other states", the most frequent (closed) first: most rows
        # then cost one string comparison instead of one per open state (≈ a tenth of
        # the query's time on a county's year)
        not_open = sorted(set(State) - set(open_states()), key=lambda st: st is not State.closed)
        flags = flags + case(
            (Issue.state.not_in([str(st) for st in not_open]), case((Issue.overdue, 3), else_=1)),
            else_=0,
        )
    row_bytes = (
        func.float8send(Issue.lon)
        .op("||")(func.float8send(Issue.lat))
        .op("||")(func.int2send(cast(flags, SmallInteger)))
    )
    cols = [
        func.count(),
        func.string_agg(row_bytes, literal_column("''::bytea"), type_=LargeBinary),
    ]
    if not density_only:
        cols += [
            func.string_agg(Issue.category_code, _SEP),
            func.string_agg(func.coalesce(place, ""), _SEP),
        ]
    row = session.connection().execute(select(*cols).where(*where)).one()
    if int(row[0]) == 0:
        return IssueArrays.from_columns([], [])
    packed = np.frombuffer(row[1], dtype=_PACKED)
    f = packed["flags"]
    lon, lat = packed["lon"].astype(np.float64), packed["lat"].astype(np.float64)
    if density_only:
        return IssueArrays.from_columns(lon, lat, recurrence=(f & 4) > 0)
    # the codes arrive as str ("" = no place): factorized as from_columns does, without
    # its conversion passes (a Python object per issue each)
    cat_names, cat_idx = _factorize(row[2].split(_SEP))
    comm_list, comm_idx = _factorize(row[3].split(_SEP))
    if comm_list and comm_list[0] == "":  # no place: -1 (sorted, "" comes first)
        comm_list.pop(0)
        comm_idx -= 1
    return IssueArrays(
        lon,
        lat,
        (f & 1) > 0,
        (f & 2) > 0,
        (f & 4) > 0,
        cat_idx,
        cat_names,
        comm_idx,
        comm_list,
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
    rings = _display_rings(cells[order], display_crs)
    features = []
    hotspots = []
    # per-cell values as Python lists: no numpy scalar per property
    cell_l, count_l, score_l = cells.tolist(), count.tolist(), score.tolist()
    open_l, overdue_l, rec_l = n_open.tolist(), n_overdue.tolist(), n_rec.tolist()
    top_cat_l, top_comm_l = top_cat.tolist(), top_comm.tolist()
    for rank, (i, ring) in enumerate(zip(order.tolist(), rings, strict=True), start=1):
        cat = data.categories[top_cat_l[i]] if top_cat_l[i] >= 0 else None
        comm = data.communities[top_comm_l[i]] if top_comm_l[i] >= 0 else None
        props = {
            "cell": h3.int_to_str(cell_l[i]),
            "count": count_l[i],
            "open": int(open_l[i]),
            "overdue": int(overdue_l[i]),
            "recurrences": int(rec_l[i]),
            "score": round(score_l[i], 2),
            "rank": rank,
            "top_category": cat,
            "top_category_name": category_names.get(cat, cat) if cat else None,
            "community": comm,
            "community_name": community_names.get(comm, comm) if comm else None,
        }
        features.append(
            {
                "type": "Feature",
                "id": props["cell"],
                "properties": props,
                "geometry": {"type": "Polygon", "coordinates": [ring]},
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


def _display_rings(cells: NDArray[np.uint64], crs: str) -> list[list[list[float]]]:
    """Closed boundary rings of ``cells`` in the display CRS (degrees rounded to 6
    decimals), every vertex converted in one vectorised call (the vertices
    ``to_display_geoms`` gives, without a shapely object per cell)."""
    rings = hexbins.cell_polygons(cells)
    if not rings:
        return []
    flat = np.array([v for r in rings for v in r], dtype=np.float64)
    x, y = to_display_lonlat(flat[:, 0], flat[:, 1], crs)
    # rounded to 6 decimals (≈ 0.1 m) by Python's round, a column at a time
    xs = map(round, np.asarray(x, dtype=np.float64).tolist(), repeat(6))
    ys = map(round, np.asarray(y, dtype=np.float64).tolist(), repeat(6))
    xy = list(map(list, zip(xs, ys, strict=True)))
    out, at = [], 0
    for r in rings:
        out.append(xy[at : at + len(r)])
        at += len(r)
    return out


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
    agg = hexbins.aggregate(data.lon, data.lat, int(res), {"w": weight}, max_cells=max_points)
    r = agg.res
    centers = np.array([h3_int.cell_to_latlng(c) for c in agg.cells.tolist()])
    x, y = to_display_lonlat(centers[:, 1], centers[:, 0], display_crs)
    w = agg.sums["w"]
    # rounded by Python's round (what the layer always sent), a column at a time
    lats = map(round, np.atleast_1d(y).astype(np.float64).tolist(), repeat(6))
    lons = map(round, np.atleast_1d(x).astype(np.float64).tolist(), repeat(6))
    weights = map(round, w.astype(np.float64).tolist(), repeat(2))
    pts = list(map(list, zip(lats, lons, weights, strict=True)))
    return {"res": r, "max": float(w.max()), "points": pts}
