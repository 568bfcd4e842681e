"""Helpers of the scoring tests: Beijing times, records, a small rules profile."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from civgrid.grids.scoring.rules import load_profile_text
from civgrid.grids.scoring.score import IssueRecord, UnitRef

BJ = ZoneInfo("Asia/Shanghai")


def bj(month: int, day: int, hour: int = 10, minute: int = 0, year: int = 2026) -> datetime:
    """A Beijing wall-clock time as aware UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=BJ).astimezone(UTC)


_seq = iter(range(10_000, 1_000_000))


def rec(**kw) -> IssueRecord:
    """An issue record with defaults (grid_worker, illegal_flyers, no deadline)."""
    kw.setdefault("id", next(_seq))
    kw.setdefault("category_code", "illegal_flyers")
    kw.setdefault("source", "grid_worker")
    return IssueRecord(**kw)


#: A small profile whose numbers are easy to work out by hand.
SMALL = """\
profile: small
name: 测试
versions:
  - effective_from: 2026-01-01
    base: 100
    deductions:
      per_issue: 2
      by_category: {street_vending: 3}
      by_source: {media_exposure: 1}
      per_overdue_day: 0.5
      max_overdue_days: 4
      per_recurrence: 1
      per_return: 0.5
    bonuses: {on_time_closure: 0.25, max_total: 0.4}
    tiers: {good: 95, fair: 90}
    ranking: {min_sample: 3, best_named: 1, worst_named: 1}
    composite: {closure_rate: 0.4, on_time_rate: 0.6}
"""


def small_profile():
    """The :data:`SMALL` profile."""
    return load_profile_text(SMALL, "small.yaml")


T1, T2, T3 = "T1", "T2", "T3"
C1, C2, C3 = "C1", "C2", "C3"
TOWNSHIPS = [UnitRef(T1, "一镇"), UnitRef(T2, "二镇"), UnitRef(T3, "三乡")]
COMMUNITIES = [UnitRef(C1, "甲社区", T1), UnitRef(C2, "乙社区", T1), UnitRef(C3, "丙社区", T2)]


def scenario() -> list[IssueRecord]:
    """The hand-worked December 2026 scenario (see test_scoring_pure)."""
    return [
        # C1: street vending, closed 3 days late → −3 −1.5
        rec(
            id=1,
            category_code="street_vending",
            community_code=C1,
            township_code=T1,
            reported_at=bj(12, 1),
            deadline=bj(12, 2),
            closed_at=bj(12, 5),
            state="closed",
            owner_unit_key="D1",
        ),
        # C1: media exposure, returned once, closed on time → −2 −1 −0.5 +0.25
        rec(
            id=2,
            source="media_exposure",
            community_code=C1,
            township_code=T1,
            reported_at=bj(12, 10),
            deadline=bj(12, 11),
            closed_at=bj(12, 11, 9),
            return_count=1,
            state="closed",
            owner_unit_key="D1",
        ),
        # C2: dumping, a recurrence, still open at the end → −2, overdue capped 4 days −2, −1
        rec(
            id=3,
            category_code="dumping",
            community_code=C2,
            township_code=T1,
            reported_at=bj(12, 20),
            deadline=bj(12, 21),
            recurrence=True,
            state="rectifying",
            owner_unit_key="D1",
        ),
        # C3: two on-time closures → −2 −2, bonuses 0.5 capped to 0.4
        rec(
            id=4,
            community_code=C3,
            township_code=T2,
            reported_at=bj(12, 3),
            deadline=bj(12, 4),
            closed_at=bj(12, 3, 16),
            state="closed",
            owner_unit_key="D2",
        ),
        rec(
            id=5,
            community_code=C3,
            township_code=T2,
            reported_at=bj(12, 6),
            deadline=bj(12, 7),
            closed_at=bj(12, 6, 16),
            state="closed",
            owner_unit_key="D2",
        ),
        # T3 (no community grids): graffiti closed on time → −2 +0.25
        rec(
            id=6,
            category_code="graffiti",
            source="field_supervision",
            township_code=T3,
            reported_at=bj(12, 15),
            deadline=bj(12, 16),
            closed_at=bj(12, 16),
            state="closed",
            owner_unit_key="D2",
        ),
        # November, C1 → not in December (−2 in November)
        rec(
            id=7,
            community_code=C1,
            township_code=T1,
            reported_at=bj(11, 20),
            state="rectifying",
            owner_unit_key="D1",
        ),
        # rejected: never counts
        rec(
            id=8,
            community_code=C2,
            township_code=T1,
            reported_at=bj(12, 8),
            state="rejected",
            owner_unit_key="D1",
        ),
        # D3: one fast case (on time, no area) — must not top the composite ranking
        rec(
            id=9,
            reported_at=bj(12, 31, 23, 30),
            deadline=bj(12, 31, 23, 50),
            closed_at=bj(12, 31, 23, 40),
            state="closed",
            owner_unit_key="D3",
        ),
    ]
