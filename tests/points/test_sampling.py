"""The monthly point sample: every must-check point each month, a third of the rest (±1),
every point within a quarter, failed points first."""

from __future__ import annotations

import pytest

from civgrid.grids.points.sampling import monthly_points


@pytest.mark.parametrize("n", [7, 30, 121])
def test_must_check_monthly_a_third_of_the_rest_every_point_each_quarter(n):
    codes = [f"P{i:03d}" for i in range(n)]
    must = set(codes[::9])
    rest = [c for c in codes if c not in must]
    seen: set[str] = set()
    for month in (4, 5, 6):
        got = monthly_points(codes, must, 2026, month)
        assert must <= set(got)
        others = [c for c in got if c not in must]
        assert abs(len(others) - len(rest) / 3) <= 1
        assert len(set(got)) == len(got)
        seen |= set(got)
    assert seen == set(codes)
    # the next quarter repeats the cycle: July is April's cohort
    assert monthly_points(codes, must, 2026, 7) == monthly_points(codes, must, 2026, 4)


def test_failed_points_come_first():
    codes = [f"P{i:02d}" for i in range(12)]
    month = monthly_points(codes, {"P11"}, 2026, 12)
    failed = {month[-1]}
    again = monthly_points(codes, {"P11"}, 2026, 12, failed)
    assert again[0] == month[-1] and sorted(again) == sorted(month)
