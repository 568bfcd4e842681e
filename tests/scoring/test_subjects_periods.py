"""Subjects and periods of Sheqi's assessment (004 二、（三）2): civilized (pairing) units
scored as their paired community plus their 联建 work, and the half-year period of the
other-task units (“每半年…进行排名排序”), worked out by hand."""

from __future__ import annotations

import pytest
from scoring_helpers import bj, rec, small_profile

from civgrid.grids.scoring.score import Period, UnitRef, compute_scores, pairing_scores

PROFILE = small_profile()  # per issue −2, no bonus for issues without deadline


def _issues(months, n, **place):
    return [
        rec(reported_at=bj(m, 3 + k), state="closed", **place) for m in months for k in range(n)
    ]


def test_pairing_unit_is_its_community_plus_its_work():
    """C1: two issues a month in Q4 → 96 each month → quarter 96; C2: clean → 100.
    U1 (paired with C1, 联建 work +1.5) = 97.5; U2 (paired with C2, work −3) = 97;
    U3 (paired with C3, not sampled) is not scored."""
    q4 = Period.parse("2026Q4")
    rules = PROFILE.version_on(q4.start)
    comms = [UnitRef("C1", "甲社区", "T1"), UnitRef("C2", "乙社区", "T1"), UnitRef("C3", "丙社区")]
    records = _issues((10, 11, 12), 2, community_code="C1")
    sampled = {"C1", "C2"}
    cs = compute_scores(records, rules, q4, "community", comms, sampled=sampled)
    assert {s.code: s.points for s in cs if s.sampled} == {"C1": 96.0, "C2": 100.0}
    units = [
        UnitRef("U1", "县文广旅游局"),
        UnitRef("U2", "县供电公司"),
        UnitRef("U3", "县邮政公司"),
    ]
    got = pairing_scores(
        cs, {"U1": "C1", "U2": "C2", "U3": "C3"}, {"U1": 1.5, "U2": -3.0}, units, rules, q4
    )
    by = {s.code: s for s in got}
    assert by["U1"].points == 96.0 + 1.5
    assert by["U2"].points == 100.0 - 3.0
    assert (by["U1"].rank, by["U2"].rank) == (1, 2)
    assert (by["U3"].sampled, by["U3"].rank) == (False, None)
    assert [(i.rule, i.points, i.ref) for i in by["U1"].items] == [
        ("community", 96.0, "C1"),
        ("pairing_work", 1.5, None),
    ]


def test_half_year_ranking_of_other_task_units():
    """D1: one issue a month in Q3 (98), two a month in Q4 (96) → H2 = 97.
    D2: one issue in December only → Q3 100, Q4 (100 + 100 + 98) / 3 → H2 = 99.6667."""
    h2 = Period.parse("2026H2")
    assert (h2.start.isoformat(), h2.end.isoformat(), h2.label) == (
        "2026-07-01",
        "2027-01-01",
        "2026年下半年",
    )
    assert Period.parse("2026H1").label == "2026年上半年"
    assert Period.containing("half", h2.start).key == "2026H2"
    assert h2.previous().key == "2026H1"
    records = _issues((7, 8, 9), 1, owner_unit_key="D1") + _issues(
        (10, 11, 12), 2, owner_unit_key="D1"
    )
    records += _issues((12,), 1, owner_unit_key="D2")
    units = [UnitRef("D1", "县新华书店"), UnitRef("D2", "县移动公司")]
    got = {
        s.code: s
        for s in compute_scores(records, PROFILE.version_on(h2.start), h2, "department", units)
    }
    assert got["D1"].points == pytest.approx(97.0)
    assert got["D2"].points == pytest.approx((100 + (100 + 100 + 98) / 3) / 2, abs=1e-4)
    assert (got["D2"].rank, got["D1"].rank) == (1, 2)
    assert [i.ref for i in got["D1"].items] == ["2026Q3", "2026Q4"]


def test_annual_result_takes_recorded_adjustments():
    """年总评: the mean of the four quarters plus the recorded adjustments, re-ranked.
    T1: one issue a month (−2) → 98; T2: two a month → 96. T1 loses 2 for a media
    exposure (媒体监督) → 96, T2 gains 0.5 from the provincial feedback → 96.5: T2 first."""
    from civgrid.grids.core.errors import InvalidInputError
    from civgrid.grids.scoring.score import Adjustment, annual_result

    year = Period.parse("2026")
    rules = PROFILE.version_on(year.start)
    months = range(1, 13)
    records = _issues(months, 1, township_code="T1") + _issues(months, 2, township_code="T2")
    towns = [UnitRef("T1", "一镇"), UnitRef("T2", "二镇")]
    base = {s.code: s for s in compute_scores(records, rules, year, "township", towns)}
    assert (base["T1"].points, base["T2"].points) == (98.0, 96.0)
    adj = [
        Adjustment("T1", "media", -2.0, "12月被市级媒体曝光"),
        Adjustment("T2", "provincial_feedback", 0.5, "省年度测评反馈较好"),
    ]
    got = {s.code: s for s in annual_result(list(base.values()), adj, rules)}
    assert got["T1"].points == 98.0 - 2.0
    assert got["T2"].points == 96.0 + 0.5
    assert (got["T2"].rank, got["T1"].rank) == (1, 2)
    assert [(i.rule, i.points) for i in got["T1"].items] == [("period", 98.0), ("adjustment", -2.0)]
    assert got["T1"].deductions == 4.0  # 100 → 96
    with pytest.raises(InvalidInputError):
        annual_result(list(base.values()), [Adjustment("T1", "rumour", 1.0, "?")], rules)
