"""Mock assessment (模拟测评) with known point results: the predicted score by hand, the
draw reproducible with a seed, the band narrowing as more points are inspected."""

from __future__ import annotations

import random

from civgrid.grids.points.mock import PointResult, draw_sample, run


def _points(n_market: int, n_compound: int) -> list[PointResult]:
    """Markets alternate 100/60 (one must-check at 100); compounds alternate 90/70."""
    out = [PointResult("M0", "market", True, 100.0)]
    out += [
        PointResult(
            f"M{i}", "market", False, 100.0 if i % 2 else 60.0, {} if i % 2 else {"SC-02": 40.0}
        )
        for i in range(1, n_market)
    ]
    out += [
        PointResult(
            f"C{i}", "compound", False, 90.0 if i % 2 else 70.0, {} if i % 2 else {"XQ-01": 30.0}
        )
        for i in range(n_compound)
    ]
    return out


def test_predicted_score_by_hand_when_every_point_is_drawn():
    pts = _points(5, 4)  # markets 100,100,60,100,60 → 84; compounds 70,90,70,90 → 80
    r = run(pts, {"market": 3, "compound": 1}, seed=1, share=1.0, rounds=50)
    assert sorted(r.sample) == sorted(p.code for p in pts)
    assert r.by_type == {"compound": 80.0, "market": 84.0}
    assert r.predicted == (3 * 84 + 80) / 4  # 83.0
    # fixing SC-02 at the two failed markets: markets 100 → (300 + 80) / 4 = 95 (+12)
    assert r.costly_items[0] == ("SC-02", (3 * 100 + 80) / 4 - 83.0)
    assert r.costly_points[0][1] == (3 * 92 + 80) / 4 - 83.0  # one market to 100: 460/5 = 92


def test_the_draw_is_reproducible_and_keeps_must_check_points():
    pts = _points(31, 30)
    a = run(pts, {}, seed=7)
    b = run(pts, {}, seed=7)
    assert a.to_dict() == b.to_dict()
    assert run(pts, {}, seed=8).sample != a.sample
    s = draw_sample(pts, random.Random(3))
    assert "M0" in [p.code for p in s]
    assert len(s) == 1 + 10 + 10  # must-check + ceil(30/3) markets + ceil(30/3) compounds
    assert a.low <= a.predicted <= a.high


def test_the_band_narrows_as_more_points_are_inspected():
    few = run(_points(7, 6), {}, seed=5, rounds=300)
    many = run(_points(121, 120), {}, seed=5, rounds=300)
    assert (many.high - many.low) < (few.high - few.low) / 2
