"""Sheqi's subjects and day counts without a database: the profile's key-task and
other-task lists (quoted from 004), overdue working days around the 2026 National Day
holiday, and the bonus stops (停发文明单位奖金) on civilized units, not communities."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from scoring_helpers import bj, rec

from civgrid.grids.core.calendar import WorkingCalendar
from civgrid.grids.scoring.rules import RuleRegistry, load_profile_text
from civgrid.grids.scoring.score import (
    Period,
    UnitRef,
    compute_scores,
    pairing_scores,
    score_issue,
)
from civgrid.grids.scoring.triggers import evaluate_triggers

SOURCES = Path(__file__).resolve().parents[3] / "shared" / "domain" / "sources"
NOTICE = (SOURCES / "004_78eab5dd939a4315.txt").read_text(encoding="utf-8")
REG = RuleRegistry.with_shipped()
SHEQI = REG.profile("sheqi")
Q4 = Period.parse("2026Q4")
RULES = SHEQI.version_on(Q4.start)
#: chinesecalendar: 1–7 October 2026 are holidays, 8–10 October working days (10th: 调休).
CAL = WorkingCalendar.china()


def _clause_units(head: str, tail: str) -> list[str]:
    """The unit names the notice lists between ``head`` and ``tail``."""
    part = NOTICE[NOTICE.index(head) + len(head) : NOTICE.index(tail)]
    return [u for u in part.strip("、").split("、") if u]


def test_key_task_and_other_task_lists_are_the_notices():
    """二、（三）2 三（2）and （3）: the lists, their periods and their quoted clauses."""
    s = RULES.subjects
    assert s.key_task_units.units == _clause_units(
        "（2）承担重点任务的单位。", "等单位，承担着创建工作的重要任务"
    )
    assert s.other_task_units.units == _clause_units(
        "（3）承担其他任务的单位。", "等单位，承担着实地考察"
    )
    assert (len(s.key_task_units.units), len(s.other_task_units.units)) == (18, 14)
    assert (s.key_task_units.period, s.other_task_units.period, s.civilized_units.period) == (
        "quarter",
        "half",
        "quarter",
    )
    for spec in (s.key_task_units, s.other_task_units, s.civilized_units):
        assert spec.citation.text in NOTICE
    assert (
        "每季度" in s.key_task_units.citation.text and "每半年" in s.other_task_units.citation.text
    )


def test_day_counts_say_working_or_calendar_with_their_ground():
    """The notice never says 工作日: every working-day count is a local choice."""
    assert "工作日" not in NOTICE
    assert RULES.counts_working("overdue_deduction") and RULES.counts_working("negative_list")
    for name in REG.names():
        for v in REG.profile(name).versions:
            for key, dc in v.day_counts.items():
                assert dc.local or (dc.citation and dc.citation.text in NOTICE), (name, key)
    # a profile without day_counts counts calendar days
    assert not REG.profile("quzhou").versions[-1].counts_working("overdue_deduction")


def test_a_working_day_count_claiming_a_clause_without_gongzuori_is_refused():
    from civgrid.grids.scoring.rules import RulesError

    bad = """profile: x
name: x
versions:
  - effective_from: 2026-01-01
    day_counts:
      overdue_deduction:
        count: working
        citation: {file: 004_78eab5dd939a4315.txt, clause: 四, text: 连续两次被通报批评的}
"""
    with pytest.raises(RulesError, match="工作日"):
        load_profile_text(bad, "x.yaml")


@pytest.mark.parametrize(
    ("closed", "working", "calendar"),
    [
        ((10, 7, 10), 0, 7),  # only holidays after the deadline
        ((10, 8, 10), 1, 8),  # the first working day after 国庆
        ((10, 9, 10), 2, 9),
        ((9, 30, 20), 1, 1),  # the deadline's own working day, after its close
    ],
)
def test_overdue_days_in_working_days_around_national_day(closed, working, calendar):
    """Deadline 30 September 2026 18:00 (a working day); 1–7 October are holidays.
    Sheqi counts the days past it in working days (−0.2 each); calendar days would
    give the old deduction."""
    r = rec(
        reported_at=bj(9, 28),
        deadline=bj(9, 30, 18),
        closed_at=bj(*closed),
        state="closed",
        community_code="C1",
    )
    until = bj(10, 31)
    assert r.overdue_days(until, CAL) == working
    assert r.overdue_days(until) == calendar
    items = {i.rule: i for i in score_issue(r, RULES, until, calendar=CAL)}
    if working:
        assert items["overdue"].points == pytest.approx(-0.2 * working)
        assert items["overdue"].reason == f"超期{working}个工作日"
    else:
        assert "overdue" not in items  # the old count deducted 7 × 0.2
    # without the calendar (or under calendar-day rules) the old count stands
    old = {i.rule: i for i in score_issue(r, RULES, until)}
    assert old["overdue"].points == pytest.approx(-0.2 * min(calendar, 10))


def test_overdue_trigger_in_working_days():
    """An ``overdue_days`` trigger of 3 counted in working days crosses at the close of
    the third working day after the deadline (10 October, a 调休 Saturday), not on
    3 October (a holiday)."""
    text = """profile: t
name: t
versions:
  - effective_from: 2026-01-01
    day_counts:
      overdue_trigger: {count: %s, local: true, local_reason: 测试}
    triggers:
      - {id: late, kind: overdue_days, days: 3, action: interview, label: 超期, local: true,
         local_reason: 测试}
"""
    r = rec(reported_at=bj(9, 28), deadline=bj(9, 30, 18), community_code="C1")
    month = Period.parse("2026-10")

    def hits(count: str, as_of: datetime) -> list[str]:
        prof = load_profile_text(text % count, "t.yaml")
        got = evaluate_triggers(prof, [r], month, lambda p, lvl: [], as_of=as_of, calendar=CAL)
        return [h.facts[0] for h in got]

    assert hits("calendar", bj(10, 9, 12)) == [f"问题#{r.id}超期逾3天未整改"]
    assert hits("working", bj(10, 9, 12)) == []
    assert hits("working", bj(10, 11, 12)) == [f"问题#{r.id}超期逾3个工作日未整改"]


def test_bonus_stops_fire_on_civilized_units_not_communities():
    """Q4: C1 has 26 issues a month (−1 each) → 74 (差), C2 25 → 75 (中). U1 (paired
    with C1, 联建 work +3) = 77 (中): no bonus stop; U2 (paired with C2, work −2) = 73
    (差): one quarter's bonus stopped. The old profile stopped C1's (a community's)."""
    comms = [UnitRef("C1", "甲社区", "T1"), UnitRef("C2", "乙社区", "T1")]
    records = [
        rec(reported_at=bj(m, 1 + k), community_code=c, state="closed")
        for m in (10, 11, 12)
        for c, n in (("C1", 26), ("C2", 25))
        for k in range(n)
    ]
    units = [UnitRef("U1", "县供电公司"), UnitRef("U2", "县移动公司")]

    def scores(p, level):
        cs = compute_scores(records, RULES, p, "community", comms)
        if level == "community":
            return cs
        assert level == "civilized_unit"
        return pairing_scores(
            cs, {"U1": "C1", "U2": "C2"}, {"U1": 3.0, "U2": -2.0}, units, RULES, p
        )

    by = {s.code: s for s in scores(Q4, "civilized_unit")}
    assert (by["U1"].points, by["U1"].tier) == (74.0 + 3.0, "fair")
    assert (by["U2"].points, by["U2"].tier) == (75.0 - 2.0, "poor")
    hits = evaluate_triggers(SHEQI, records, Q4, scores, as_of=datetime(2027, 1, 5, tzinfo=UTC))
    stops = [(h.rule_id, h.level, h.unit_code) for h in hits if h.action == "bonus_stop"]
    assert stops == [("poor_quarter", "civilized_unit", "U2")]
