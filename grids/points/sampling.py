"""Which points a month's patrol plan visits: must-check monthly, the rest by thirds.

004 (Sheqi): "每月按照三分之一左右的比例对社区（行政村）网格和实地考察点位进行抽查" — about a
third of the field points each month; 002 (Quzhou): the must-check points (必查点) may lose
nothing, so they are visited every month (a local reading). The others are split into
three cohorts by a stable hash of their code (sizes differ by at most one), and the month's
place in its quarter picks the cohort, so every point is visited within each quarter.
Points that failed their last inspection (不达标) come first in the list: they are
re-visited first (issue 23).

The patrol plan (``grids/patrol/plan.py``, ``_point_requirements``) follows it: one
visit of each point the month samples, the failed ones in the first half of the month.

Examples
--------
>>> codes = [f"P{i:02d}" for i in range(10)]
>>> months = [monthly_points(codes, set(), 2026, m) for m in (10, 11, 12)]
>>> sorted(c for m in months for c in m) == codes
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping

__all__ = ["cohort_of", "monthly_points"]


def cohort_of(codes: Iterable[str]) -> dict[str, int]:
    """Code → cohort 0, 1 or 2: the codes sorted by a stable hash, dealt round-robin.

    Examples
    --------
    >>> sorted(cohort_of(["a", "b", "c", "d"]).values())
    [0, 0, 1, 2]
    """
    ordered = sorted(codes, key=lambda c: (hashlib.sha256(c.encode()).hexdigest(), c))
    return {c: i % 3 for i, c in enumerate(ordered)}


def monthly_points(
    codes: Iterable[str],
    must_check: Collection[str],
    year: int,
    month: int,
    failed: Mapping[str, bool] | Collection[str] = (),
) -> list[str]:
    """The points to visit in ``year``-``month``: failed ones first, then by code.

    Parameters
    ----------
    codes : iterable of str
        Every point of the register.
    must_check : collection of str
        The must-check points (every month).
    year, month : int
    failed : collection of str
        Points whose last inspection failed (listed first).
    """
    all_codes = list(codes)
    rest = [c for c in all_codes if c not in must_check]
    cohorts = cohort_of(rest)
    turn = (month - 1) % 3
    chosen = [c for c in all_codes if c in must_check or cohorts.get(c) == turn]
    bad = set(failed)
    return sorted(chosen, key=lambda c: (c not in bad, c))
