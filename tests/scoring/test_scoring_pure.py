"""Scores, township weighting, tiers, ranks and indicators against numbers worked out by hand.

The scenario (``scoring_helpers.scenario``) under the SMALL profile, December 2026:

* C1: issue 1 street vending −3, closed 3 days late −0.5×3 = −1.5; issue 2 −2,
  media exposure −1, returned once −0.5, closed on time +0.25 → 100 − 7.75 = 92.25.
* C2: issue 3 −2, open 11 days past the deadline at the end, capped at 4 → −2,
  recurrence −1 → 95.0 (issue 8 is rejected: not counted).
* C3: issues 4, 5 −2 each, bonuses 2×0.25 = 0.5 capped at 0.4 → 96.4.
* T1 = mean(92.25, 95.0) = 93.625; T2 = C3 = 96.4; T3 (no community grids) is
  scored from its own issue 6: −2 +0.25 → 98.25.
* Tiers (好 ≥ 95, 中 ≥ 90): C3 好, C2 好, C1 中; T3 好, T2 好, T1 中.
"""

from __future__ import annotations

from datetime import date

import pytest
from scoring_helpers import (
    C1,
    C2,
    C3,
    COMMUNITIES,
    T1,
    T2,
    T3,
    TOWNSHIPS,
    bj,
    rec,
    scenario,
    small_profile,
)

from civgrid.grids.core.errors import InvalidInputError
from civgrid.grids.scoring.indicators import compute_indicators, rank_indicators
from civgrid.grids.scoring.score import (
    Period,
    Score,
    bulletin_names,
    compute_scores,
    named_worst,
    rank_scores,
    score_issue,
)

DEC = Period.parse("2026-12")


@pytest.fixture
def rules():
    return small_profile().version_on(DEC.start)


def _by(scores):
    return {s.code: s for s in scores}


def test_periods():
    assert (DEC.start, DEC.end) == (date(2026, 12, 1), date(2027, 1, 1))
    q = Period.parse("2026q4")
    assert q.key == "2026Q4" and q.label == "2026年第四季度"
    assert [p.key for p in q.parts()] == ["2026-10", "2026-11", "2026-12"]
    assert Period.parse("2027Q1").previous().key == "2026Q4"
    assert Period.parse("2026").parts()[-1].key == "2026Q4"
    assert Period.parse("2026-W50").start == date(2026, 12, 7)
    # Beijing days: 2026-12-01 00:00 +08:00 is 2026-11-30 16:00 UTC
    assert DEC.start_utc.isoformat() == "2026-11-30T16:00:00+00:00"
    with pytest.raises(InvalidInputError):
        Period.parse("2026-13")


def test_issue_line_items(rules):
    items = score_issue(scenario()[1], rules, DEC.end_utc)
    assert [(i.rule, i.points) for i in items] == [
        ("issue", -2.0),
        ("source", -1.0),
        ("return", -0.5),
        ("on_time_closure", 0.25),
    ]
    assert all(i.issue_id == 2 for i in items)


def test_community_scores_by_hand(rules):
    scores = compute_scores(scenario(), rules, DEC, "community", COMMUNITIES)
    by = _by(scores)
    assert by[C1].points == pytest.approx(92.25)
    assert by[C2].points == pytest.approx(95.0)
    assert by[C3].points == pytest.approx(96.4)
    assert [s.code for s in scores] == [C3, C2, C1]
    assert [(s.rank, s.tier) for s in scores] == [(1, "good"), (2, "good"), (3, "fair")]
    # explained: deductions and bonuses, each with its issue
    assert by[C1].deductions == pytest.approx(8.0) and by[C1].bonuses == pytest.approx(0.25)
    assert {i.issue_id for i in by[C1].items} == {1, 2}
    overdue = [i for i in by[C2].items if i.rule == "overdue"]
    assert overdue[0].points == -2.0 and overdue[0].reason == "超期4天"
    cap = [i for i in by[C3].items if i.rule == "bonus_cap"]
    assert cap[0].points == pytest.approx(-0.1)
    assert by[C1].issues == 2 and by[C2].issues == 1


def test_township_mean_and_own_points(rules):
    scores = compute_scores(scenario(), rules, DEC, "township", TOWNSHIPS, communities=COMMUNITIES)
    by = _by(scores)
    assert by[T1].points == pytest.approx(93.625)
    assert by[T2].points == pytest.approx(96.4)
    assert by[T3].points == pytest.approx(98.25)
    assert [(s.code, s.rank, s.tier) for s in scores] == [
        (T3, 1, "good"),
        (T2, 2, "good"),
        (T1, 3, "fair"),
    ]
    assert [i.ref for i in by[T1].items] == [C1, C2]
    assert by[T1].aggregated and by[T1].deductions == pytest.approx(6.375)  # net
    assert by[T3].deductions == 2.0 and by[T3].bonuses == 0.25


def test_township_weighted_and_sampled():
    text = small_profile().model_dump(mode="json")
    text["versions"][0]["weights"] = {"township": "weighted", "community_weights": {C1: 3}}
    from civgrid.grids.scoring.rules import Profile

    rules = Profile.model_validate(text).version_on(DEC.start)
    by = _by(compute_scores(scenario(), rules, DEC, "township", TOWNSHIPS, communities=COMMUNITIES))
    assert by[T1].points == pytest.approx((3 * 92.25 + 95.0) / 4)  # 93.3125
    # only C2 sampled in T1: T1 = C2; T2 has no sampled community → unscored
    by = _by(
        compute_scores(
            scenario(), rules, DEC, "township", TOWNSHIPS, communities=COMMUNITIES, sampled={C2, T3}
        )
    )
    assert by[T1].points == pytest.approx(95.0)
    assert by[T2].sampled is False and by[T2].rank is None
    assert by[T3].rank == 1 and by[T1].rank == 2


def test_quarter_is_mean_of_months(rules):
    q4 = Period.parse("2026Q4")
    # nothing was reported anywhere in October: that month is 未考核 and left out
    by = _by(compute_scores(scenario(), rules, q4, "community", COMMUNITIES))
    # C1: November 98 (issue 7), December 92.25
    assert by[C1].points == pytest.approx((98 + 92.25) / 2)
    assert [i.ref for i in by[C1].items] == ["2026-11", "2026-12"]
    assert by[C1].tier == "good"  # 95.125 ≥ 95
    # one October issue elsewhere (C3) makes October a measured month: C1 scored 100 in it
    october = rec(community_code=C3, township_code=T2, reported_at=bj(10, 12))
    by = _by(compute_scores([*scenario(), october], rules, q4, "community", COMMUNITIES))
    assert by[C1].points == pytest.approx((100 + 98 + 92.25) / 3)
    assert [i.ref for i in by[C1].items] == ["2026-10", "2026-11", "2026-12"]
    # a quarter with nothing measured scores nobody
    q3 = Period.parse("2026Q3")
    assert not any(
        sc.sampled for sc in compute_scores(scenario(), rules, q3, "community", COMMUNITIES)
    )


def test_ties_share_rank(rules):
    scores = [
        Score("community", c, c, "x", 100, p)
        for c, p in [("a", 90), ("b", 95), ("c", 95), ("d", 80)]
    ]
    ranked = rank_scores(scores, rules)
    assert [(s.code, s.rank) for s in ranked] == [("b", 1), ("c", 1), ("a", 3), ("d", 4)]
    assert [s.tier for s in ranked] == ["good", "good", "fair", "poor"]
    assert [s.code for s in named_worst(ranked, 1)] == ["d"]
    assert [s.code for s in named_worst(ranked, 2)] == ["d", "a"]


def test_clean_season_names_nobody(rules):
    scores = compute_scores([], rules, DEC, "community", COMMUNITIES)
    assert {s.points for s in scores} == {100.0} and {s.rank for s in scores} == {1}
    assert named_worst(scores, 3) == []


def test_indicators_by_hand(rules):
    table = compute_indicators(scenario(), DEC, "department", rules.composite)
    d1, d2, d3 = table["D1"], table["D2"], table["D3"]
    assert (d1.filed, d1.due, d1.closed, d1.closed_on_time) == (3, 3, 2, 1)
    assert d1.closure_rate == pytest.approx(0.6667) and d1.on_time_rate == pytest.approx(0.3333)
    assert d1.rework_rate == pytest.approx(0.3333) and d1.extension_rate == 0.0
    assert d1.avg_handling_hours == pytest.approx(59.5)  # (96 h + 23 h) / 2
    assert d1.composite_score == pytest.approx(46.67)
    assert (d2.due, d2.composite_score, d2.avg_handling_hours) == (3, 100.0, 12.0)
    assert d3.composite_score == 100.0  # one fast case…
    ranked = rank_indicators(table, rules.ranking.min_sample)
    assert [(i.code, i.rank) for i in ranked] == [("D2", 1), ("D1", 2), ("D3", None)]


def test_unknown_level(rules):
    with pytest.raises(InvalidInputError):
        compute_scores([], rules, DEC, "planet", [])
    assert rec(reported_at=bj(12, 1)).code_at("department") is None


# --------------------------------------------------------------------------- as of now


def test_overdue_counted_to_now_not_to_the_end_of_a_running_month(rules):
    """Reported 5 December, due 5 December 12:00, still open: on 6 December 10:00 it is
    one day overdue (22 hours, rounded up), not the 27 days (capped at 4) to 1 January."""
    late = rec(id=70, community_code=C1, reported_at=bj(12, 5), deadline=bj(12, 5, 12))
    now = bj(12, 6, 10)
    items = score_issue(late, rules, DEC.end_utc, as_of=now)
    assert [(i.rule, i.points, i.reason) for i in items] == [
        ("issue", -2.0, "发现问题（illegal_flyers）"),
        ("overdue", -0.5, "超期1天"),
    ]
    by = _by(compute_scores([late], rules, DEC, "community", COMMUNITIES, as_of=now))
    assert by[C1].points == pytest.approx(97.5)
    # after the month has ended: counted to the end of the month (27 days, capped at 4)
    after = _by(
        compute_scores([late], rules, DEC, "community", COMMUNITIES, as_of=bj(1, 5, year=2027))
    )
    assert after[C1].points == pytest.approx(96.0)
    assert [i.reason for i in after[C1].items] == ["发现问题（illegal_flyers）", "超期4天"]


def test_scenario_mid_december(rules):
    """The scenario as of 15 December 10:00: issue 3 (reported the 20th) is not known yet;
    C1 and C3 are as at the end of the month (everything closed before the 15th)."""
    by = _by(compute_scores(scenario(), rules, DEC, "community", COMMUNITIES, as_of=bj(12, 15)))
    assert by[C1].points == pytest.approx(92.25)
    assert by[C2].points == 100.0 and by[C2].issues == 0
    assert by[C3].points == pytest.approx(96.4)
    # on 23 December 10:00 issue 3 is two days overdue (due the 21st): −2 −0.5×2 −1 = 96
    by = _by(compute_scores(scenario(), rules, DEC, "community", COMMUNITIES, as_of=bj(12, 23)))
    assert by[C2].points == pytest.approx(96.0)
    assert [i.reason for i in by[C2].items if i.rule == "overdue"] == ["超期2天"]


def test_quarter_leaves_out_months_not_begun(rules):
    """2027Q1 on 15 January: January only (C1 −2 → 98), not (98 + 100 + 100) / 3."""
    jan = [rec(community_code=C1, reported_at=bj(1, 10, year=2027))]
    q1 = Period.parse("2027Q1")
    by = _by(compute_scores(jan, rules, q1, "community", COMMUNITIES, as_of=bj(1, 15, year=2027)))
    assert by[C1].points == pytest.approx(98.0)
    assert [(i.rule, i.ref) for i in by[C1].items] == [("period", "2027-01")]
    ended = _by(compute_scores(jan, rules, q1, "community", COMMUNITIES))
    assert ended[C1].points == pytest.approx(98.0)  # nothing measured in February, March
    march = rec(community_code=C2, reported_at=bj(3, 2, year=2027))  # now March was measured
    ended = _by(compute_scores([*jan, march], rules, q1, "community", COMMUNITIES))
    assert ended[C1].points == pytest.approx((98 + 100) / 2)


def test_sample_per_month_in_a_quarter(rules):
    """A quarter averages each month's own sample: C1 sampled in December only → 92.25;
    C2 in October and November → 100; C3 never → unscored."""
    q4 = Period.parse("2026Q4")

    def sample(p):
        return {C1} if p.key == "2026-12" else {C2}

    by = _by(compute_scores(scenario(), rules, q4, "community", COMMUNITIES, sampled=sample))
    assert by[C1].points == pytest.approx(92.25)
    assert [i.ref for i in by[C1].items] == ["2026-12"]
    assert by[C2].points == 100.0 and [i.ref for i in by[C2].items] == ["2026-10", "2026-11"]
    assert by[C3].sampled is False and by[C3].rank is None


def test_bulletin_never_praises_a_poor_unit(rules):
    """Six units all below 差 (< 90 under SMALL): the best of them is not praised."""
    scores = rank_scores(
        [
            Score("community", c, c, "x", 100, p)
            for c, p in [("a", 80), ("b", 79), ("c", 78), ("d", 77), ("e", 70), ("f", 60)]
        ],
        rules,
    )
    best, worst = bulletin_names(scores, 1, 1)
    assert best == [] and [s.code for s in worst] == ["f"]
    # a 中 unit on top is praised as before
    scores[0].points, scores[0].tier = 92.0, "fair"
    best, _ = bulletin_names(scores, 1, 1)
    assert [s.code for s in best] == ["a"]


def test_composite_per_grouping():
    """composite_by weighs departments by the closure rate alone: D1 = 100 × 2/3 = 66.67
    (46.67 with the profile's composite); other groupings keep the profile's weights."""
    from scoring_helpers import SMALL

    from civgrid.grids.scoring.rules import RulesError, load_profile_text

    text = SMALL + "    composite_by: {department: {closure_rate: 1.0}}\n"
    rules = load_profile_text(text, "x.yaml").version_on(DEC.start)
    assert rules.composite_for("department") == {"closure_rate": 1.0}
    assert rules.composite_for("post") == {"closure_rate": 0.4, "on_time_rate": 0.6}
    table = compute_indicators(scenario(), DEC, "department", rules.composite_for("department"))
    assert table["D1"].composite_score == pytest.approx(66.67)
    with pytest.raises(RulesError) as err:  # an unknown grouping
        load_profile_text(SMALL + "    composite_by: {planet: {closure_rate: 1}}\n", "x.yaml")
    assert err.value.line == 18 and "composite_by.planet" in err.value.reason


def test_overdue_is_measured_to_the_rectification_report():
    """The deadline is for reporting the fix (as the deadline checker has it): reported on
    time and re-inspected two days late is not overdue; a returned fix is on the clock."""
    deadline = bj(12, 10)
    on_time = rec(
        reported_at=bj(12, 1),
        deadline=deadline,
        state="closed",
        submitted_at=bj(12, 9),
        closed_at=bj(12, 12),
    )
    assert on_time.overdue_days(bj(12, 31)) == 0 and on_time.closed_on_time(bj(12, 31))
    late = rec(
        reported_at=bj(12, 1),
        deadline=deadline,
        state="closed",
        submitted_at=bj(12, 12, 9),
        closed_at=bj(12, 13),
    )
    assert late.overdue_days(bj(12, 31)) == 2 and not late.closed_on_time(bj(12, 31))
    # reported on time, returned, still being reworked on the 15th: 5 days on the clock
    returned = rec(
        reported_at=bj(12, 1), deadline=deadline, state="returned", submitted_at=bj(12, 9)
    )
    assert returned.overdue_days(bj(12, 15)) == 5
    # waiting for re-inspection, reported on time: the clock stopped at the report
    waiting = rec(
        reported_at=bj(12, 1), deadline=deadline, state="submitted", submitted_at=bj(12, 8)
    )
    assert waiting.overdue_days(bj(12, 20)) == 0
