"""Mock assessment (模拟测评): draw points as assessors do, score them, predict the field score.

Notice 003 (Minquan) names mock assessments before the real assessors come; 002 (Quzhou)
says the must-check points (必查点) may lose nothing; 004 (Sheqi) samples "三分之一左右"
of the field points each month. ASSESSMENT.md: "A type's field score is the mean of its
inspected points; the city's field score weights the types. A mock assessment draws a
sample of points per type the way assessors do (must-check points always, the rest at
random) and predicts the field score."

Local choices (the notices give no formula):

* a point's score (0–100) is 0 when a must-pass item failed, else
  ``100 × (1 − deductions / the type's total deductions)`` (:func:`point_score`);
* the sample takes every must-check point and ``ceil(share × rest)`` of the others per
  type (``share`` default 1/3, after 004);
* the **prediction** is the weighted mean over types of the mean score of the points
  drawn; its **band** (default 90 %) comes from resampling: the draw is repeated
  ``rounds`` times with the inspected points of each type resampled with replacement
  (a bootstrap), so it narrows as more points are inspected;
* the items and points that cost the most are ranked by what fixing them would gain in
  the predicted score.

Everything is pure (no database): :func:`run` takes :class:`PointResult` rows and a
seed, and is reproducible.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MockResult", "PointResult", "draw_sample", "field_score", "point_score", "run"]

#: Share of the non-must-check points of a type the assessors draw (004: 三分之一左右).
DEFAULT_SHARE = 1 / 3


@dataclass(frozen=True)
class PointResult:
    """A point's latest inspection: its type, must-check flag, score and failed items.

    ``lost`` maps a failed item code to the points (0–100 scale) it cost the point.
    """

    code: str
    point_type: str
    must_check: bool
    score: float
    lost: Mapping[str, float] = field(default_factory=dict)


def point_score(failed: Sequence[Any], all_items: Sequence[Any]) -> tuple[float, dict[str, float]]:
    """(score, item → points lost) of a point whose ``failed`` items failed.

    Examples
    --------
    >>> from types import SimpleNamespace as N
    >>> a, b = N(code="a", deduction=1, must_pass=False), N(code="b", deduction=3, must_pass=False)
    >>> point_score([a], [a, b])
    (75.0, {'a': 25.0})
    >>> c = N(code="c", deduction=0, must_pass=True)
    >>> point_score([c], [a, b, c])
    (0.0, {'c': 100.0})
    """
    must = [it for it in failed if it.must_pass]
    if must:
        return 0.0, {must[0].code: 100.0}
    total = sum(float(it.deduction) for it in all_items if not it.must_pass) or 1.0
    lost = {it.code: 100.0 * float(it.deduction) / total for it in failed}
    return max(0.0, 100.0 - sum(lost.values())), lost


def draw_sample(
    points: Sequence[PointResult], rng: random.Random, share: float = DEFAULT_SHARE
) -> list[PointResult]:
    """Every must-check point and ``ceil(share × rest)`` of the others, per type.

    Examples
    --------
    >>> ps = [PointResult(f"p{i}", "t", i == 0, 100.0) for i in range(7)]
    >>> s = draw_sample(ps, random.Random(1))
    >>> len(s), s[0].code
    (3, 'p0')
    """
    out: list[PointResult] = []
    for t in sorted({p.point_type for p in points}):
        of_type = [p for p in points if p.point_type == t]
        must = [p for p in of_type if p.must_check]
        rest = [p for p in of_type if not p.must_check]
        k = min(len(rest), math.ceil(share * len(rest)))
        out += must + rng.sample(rest, k)
    return out


def field_score(sample: Sequence[PointResult], weights: Mapping[str, float]) -> float:
    """The weighted mean over types of the mean point score (types absent: left out).

    Examples
    --------
    >>> ps = [PointResult("a", "x", False, 100), PointResult("b", "x", False, 60),
    ...       PointResult("c", "y", False, 50)]
    >>> field_score(ps, {"x": 1, "y": 1}), field_score(ps, {"x": 3, "y": 1})
    (65.0, 72.5)
    """
    by: dict[str, list[float]] = {}
    for p in sample:
        by.setdefault(p.point_type, []).append(p.score)
    if not by:
        return 0.0
    w = {t: float(weights.get(t, 1.0)) for t in by}
    return sum(w[t] * sum(v) / len(v) for t, v in by.items()) / sum(w.values())


@dataclass
class MockResult:
    """A mock assessment: the draw, the predicted score and band, what costs most."""

    seed: int
    share: float
    level: float
    sample: list[str]
    predicted: float
    low: float
    high: float
    by_type: dict[str, float]
    costly_items: list[tuple[str, float]]
    costly_points: list[tuple[str, float]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (scores rounded to 0.01)."""
        r = round
        return {
            "seed": self.seed,
            "share": self.share,
            "level": self.level,
            "sample": self.sample,
            "predicted": r(self.predicted, 2),
            "band": [r(self.low, 2), r(self.high, 2)],
            "by_type": {k: r(v, 2) for k, v in self.by_type.items()},
            "costly_items": [[c, r(g, 2)] for c, g in self.costly_items],
            "costly_points": [[c, r(g, 2)] for c, g in self.costly_points],
        }


def _fixed(p: PointResult, item: str | None = None) -> PointResult:
    """``p`` with one item (or everything) fixed."""
    if item is None:
        return PointResult(p.code, p.point_type, p.must_check, 100.0)
    if item not in p.lost:
        return p
    lost = {k: v for k, v in p.lost.items() if k != item}
    score = 100.0 - sum(lost.values()) if p.score > 0 or lost else 100.0
    return PointResult(p.code, p.point_type, p.must_check, max(0.0, score), lost)


def run(
    points: Sequence[PointResult],
    weights: Mapping[str, float],
    *,
    seed: int,
    share: float = DEFAULT_SHARE,
    rounds: int = 400,
    level: float = 0.9,
    top: int = 5,
) -> MockResult:
    """Draw, score and predict, reproducibly from ``seed``.

    Parameters
    ----------
    points : sequence of PointResult
        The inspected points (their latest inspection).
    weights : mapping
        Type code → weight in the city's field score (the standard's ``weight``).
    seed : int
    share : float
        Share of the non-must-check points drawn per type.
    rounds : int
        Resampling rounds for the band.
    level : float
        Coverage of the band (0.9: the 5th to the 95th percentile).
    top : int
        How many costly items and points are listed.
    """
    rng = random.Random(seed)
    sample = draw_sample(points, rng, share)
    predicted = field_score(sample, weights)
    by_type = {
        t: field_score([p for p in sample if p.point_type == t], weights)
        for t in sorted({p.point_type for p in sample})
    }
    sims: list[float] = []
    types = sorted({p.point_type for p in points})
    for _ in range(rounds):
        boot: list[PointResult] = []
        for t in types:
            of_type = [p for p in points if p.point_type == t]
            must = [p for p in of_type if p.must_check]
            rest = [p for p in of_type if not p.must_check]
            boot += must + [rng.choice(rest) for _ in rest]
        sims.append(field_score(draw_sample(boot, rng, share), weights))
    sims.sort()
    cut = (1 - level) / 2
    low = sims[int(cut * (len(sims) - 1))] if sims else predicted
    high = sims[math.ceil((1 - cut) * (len(sims) - 1))] if sims else predicted
    items = sorted({c for p in sample for c in p.lost})
    item_gain = [
        (c, field_score([_fixed(p, c) for p in sample], weights) - predicted) for c in items
    ]
    point_gain = [
        (
            p.code,
            field_score([_fixed(q) if q.code == p.code else q for q in sample], weights)
            - predicted,
        )
        for p in sample
        if p.score < 100
    ]
    return MockResult(
        seed=seed,
        share=share,
        level=level,
        sample=[p.code for p in sample],
        predicted=predicted,
        low=min(low, predicted),
        high=max(high, predicted),
        by_type=by_type,
        costly_items=sorted(item_gain, key=lambda x: (-x[1], x[0]))[:top],
        costly_points=sorted(point_gain, key=lambda x: (-x[1], x[0]))[:top],
    )
