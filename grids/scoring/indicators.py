"""Digital urban management indicators (GB/T 30428 practice) from plain issue records.

Per group (a region, a responsible department, a post) and period:

* 立案数 ``filed`` — issues reported in the period;
* 应结案数 ``due`` — issues whose deadline fell in the period (up to now, ``as_of``,
  while the period is running);
* 结案率 ``closure_rate`` = closed (by the end of the period) / due;
* 按期结案率 ``on_time_rate`` = closed by the deadline / due;
* 返工率 ``rework_rate`` = filed issues with a returned fix / filed;
* 延期率 ``extension_rate`` = filed issues with an extension / filed;
* 平均处置时长 ``avg_handling_hours`` — reported → closed, of issues closed in the period;
* 综合指标值 ``composite_score`` = 100 × Σ weight × rate (weights from the profile;
  negative weights for the bad rates).

Rankings by the composite only include groups with at least ``min_sample`` due
issues, so a unit with one fast case does not top the table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from civgrid.grids.core.errors import InvalidInputError
from civgrid.grids.core.labels import INDICATOR_LABELS
from civgrid.grids.scoring.score import IssueRecord, Period, until_for

__all__ = ["INDICATOR_LABELS", "Indicators", "compute_indicators", "rank_indicators"]

#: ``by`` → the record attribute grouping the issues.
GROUPS = {
    "community": "community_code",
    "township": "township_code",
    "unit_grid": "unit_grid_code",
    "road_section": "road_section_code",
    "department": "owner_unit_key",
    "post": "source",
}


@dataclass
class Indicators:
    """The indicators of one group for one period (rates in 0..1, None when undefined)."""

    code: str
    filed: int = 0
    due: int = 0
    closed: int = 0
    closed_on_time: int = 0
    returned: int = 0
    extended: int = 0
    closure_rate: float | None = None
    on_time_rate: float | None = None
    rework_rate: float | None = None
    extension_rate: float | None = None
    avg_handling_hours: float | None = None
    composite_score: float | None = None
    rank: int | None = None
    name: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def compute_indicators(
    records: Iterable[IssueRecord],
    period: Period,
    by: str,
    composite: Mapping[str, float],
    names: Mapping[str, str] | None = None,
    *,
    as_of: datetime | None = None,
) -> dict[str, Indicators]:
    """Indicators per group for ``period``.

    Parameters
    ----------
    records : iterable of IssueRecord
    period : Period
    by : str
        ``community``, ``township``, ``unit_grid``, ``road_section``,
        ``department`` (owner unit) or ``post`` (the reporting channel).
    composite : mapping
        Weight per rate (``closure_rate``, ``on_time_rate``, ``rework_rate``,
        ``extension_rate``).
    names : mapping, optional
        Code → Chinese name.
    as_of : datetime, optional
        Now (aware UTC): in a period still running, only deadlines already passed
        are due (:func:`~civgrid.grids.scoring.score.until_for`).

    Returns
    -------
    dict of code → Indicators
    """
    if by not in GROUPS:
        raise InvalidInputError(f"by must be one of {sorted(GROUPS)}", field="by")
    attr = GROUPS[by]
    start, end = period.start_utc, until_for(period, as_of)
    out: dict[str, Indicators] = {}
    hours: dict[str, list[float]] = defaultdict(list)
    for r in records:
        code = getattr(r, attr)
        if not code or r.state in ("rejected", "merged"):
            continue
        ind = out.setdefault(code, Indicators(code, name=(names or {}).get(code, code)))
        if start <= r.reported_at < end:
            ind.filed += 1
            ind.returned += r.return_count > 0
            ind.extended += r.extension_count > 0
        if r.deadline is not None and start <= r.deadline < end:
            ind.due += 1
            if r.closed_at is not None and r.closed_at < end:
                ind.closed += 1
                ind.closed_on_time += r.closed_at <= r.deadline
        if r.closed_at is not None and start <= r.closed_at < end:
            hours[code].append((r.closed_at - r.reported_at).total_seconds() / 3600.0)
    for code, ind in out.items():
        ind.closure_rate = _ratio(ind.closed, ind.due)
        ind.on_time_rate = _ratio(ind.closed_on_time, ind.due)
        ind.rework_rate = _ratio(ind.returned, ind.filed)
        ind.extension_rate = _ratio(ind.extended, ind.filed)
        if hours.get(code):
            ind.avg_handling_hours = round(sum(hours[code]) / len(hours[code]), 2)
        rates = {k: getattr(ind, k) for k in composite}
        if all(v is not None for v in rates.values()) and rates:
            ind.composite_score = round(100 * sum(composite[k] * v for k, v in rates.items()), 2)
    return out


def rank_indicators(
    table: Mapping[str, Indicators], min_sample: int, key: str = "composite_score"
) -> list[Indicators]:
    """Rank groups by ``key`` (higher first), only those with ``due >= min_sample``.

    Groups below the minimum sample (or without a value) come last, unranked.
    Ties share a rank (1, 2, 2, 4).
    """
    ok = [i for i in table.values() if i.due >= min_sample and getattr(i, key) is not None]
    ok.sort(key=lambda i: (-getattr(i, key), i.code))
    prev, rank = None, 0
    for n, i in enumerate(ok, 1):
        if getattr(i, key) != prev:
            rank, prev = n, getattr(i, key)
        i.rank = rank
    rest = sorted((i for i in table.values() if i not in ok), key=lambda i: i.code)
    for i in rest:
        i.rank = None
    return ok + rest
