"""Working-day calendar and deadline policy (pure logic)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civgrid.grids.core.calendar import (
    DeadlinePolicy,
    DeadlineRule,
    DeadlineUnit,
    Priority,
    WorkingCalendar,
    national_arrangement,
    parse_day_list,
)
from civgrid.grids.core.errors import InvalidInputError

CAL = WorkingCalendar.china()


def at(*args) -> datetime:
    return datetime(*args, tzinfo=CAL.tz)


def test_weekdays_weekends_holidays_and_makeup_days():
    assert CAL.is_working_day(date(2025, 9, 30))  # Tuesday
    assert not CAL.is_working_day(date(2025, 9, 27))  # Saturday
    assert CAL.is_working_day(date(2025, 9, 28))  # Sunday, 调休上班
    assert not CAL.is_working_day(date(2025, 10, 3))  # Friday, 国庆
    assert CAL.is_working_day(date(2025, 10, 11))  # Saturday, 调休上班
    assert not CAL.is_working_day(date(2022, 1, 31))  # 春节 2022, a Monday


def test_the_national_arrangement_is_consistent():
    holidays, makeup, years = national_arrangement()
    assert not holidays & makeup
    # make-up days are weekend days; every covered year has its holidays
    assert all(d.weekday() >= 5 for d in makeup)
    assert {d.year for d in holidays} >= set(years)
    assert years == frozenset(range(min(years), max(years) + 1))


def test_add_working_days_skips_the_national_day_week():
    start = at(2025, 9, 30, 10, 0)
    assert CAL.add_working_days(start, 1) == at(2025, 10, 9, 18, 0)
    assert CAL.add_working_days(start, 3) == at(2025, 10, 11, 18, 0)  # Saturday make-up day
    assert CAL.add_working_days(start, 4) == at(2025, 10, 13, 18, 0)


def test_friday_report_three_working_days_is_wednesday():
    assert CAL.add_working_days(at(2025, 3, 7, 16, 0), 3) == at(2025, 3, 12, 18, 0)


def test_zero_working_days_is_today_or_next_working_day():
    assert CAL.add_working_days(at(2025, 3, 7, 9, 0), 0) == at(2025, 3, 7, 18, 0)
    assert CAL.add_working_days(at(2025, 3, 7, 19, 0), 0) == at(2025, 3, 10, 18, 0)
    assert CAL.add_working_days(at(2025, 3, 8, 9, 0), 0) == at(2025, 3, 10, 18, 0)


def test_naive_datetimes_are_utc_and_results_are_local():
    # 2025-03-07 23:00 UTC is Saturday 07:00 in Beijing
    got = CAL.add_working_days(datetime(2025, 3, 7, 23, 0), 1)
    assert got == at(2025, 3, 10, 18, 0)  # Monday
    assert got.utcoffset() == timedelta(hours=8)


def test_hours_are_clock_hours_across_holidays():
    assert CAL.deadline(at(2025, 10, 1, 8, 0), DeadlineRule.hours(2)) == at(2025, 10, 1, 10, 0)
    assert CAL.deadline(at(2025, 10, 1, 8, 0), DeadlineRule.hours(48)) == at(2025, 10, 3, 8, 0)


def test_configurable_holidays_and_makeup_days():
    cal = WorkingCalendar(holidays=[date(2030, 1, 2)], makeup_workdays=[date(2030, 1, 5)])
    assert not cal.is_working_day(date(2030, 1, 2))
    assert cal.is_working_day(date(2030, 1, 5))
    extra = WorkingCalendar.china(extra_makeup_workdays=[date(2025, 10, 4)])
    assert extra.is_working_day(date(2025, 10, 4))  # a local override wins
    with pytest.raises(InvalidInputError, match="both a holiday and a make-up"):
        WorkingCalendar(holidays=[date(2030, 1, 5)], makeup_workdays=[date(2030, 1, 5)])


def test_custom_day_end_and_weekend():
    cal = WorkingCalendar(weekend=(6,), day_end=time(17, 30))  # six-day week
    assert cal.add_working_days(at(2030, 1, 4, 9), 1) == at(2030, 1, 5, 17, 30)


def test_working_days_between():
    assert CAL.working_days_between(date(2025, 9, 26), date(2025, 10, 12)) == 6
    assert CAL.working_days_between(date(2025, 10, 2), date(2025, 10, 1)) == 0


def test_parse_day_list():
    assert parse_day_list("2025-10-01..2025-10-03 2025-10-11") == [
        date(2025, 10, 1),
        date(2025, 10, 2),
        date(2025, 10, 3),
        date(2025, 10, 11),
    ]
    with pytest.raises(InvalidInputError, match="2025-13-01"):
        parse_day_list("2025-13-01")


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [
        ("24h", 24, "hours"),
        ("3wd", 3, "working_days"),
        ("5d", 5, "working_days"),
        (2, 2, "working_days"),
        ({"amount": 2, "unit": "hours"}, 2, "hours"),
    ],
)
def test_rule_parse(text, amount, unit):
    rule = DeadlineRule.parse(text)
    assert (rule.amount, rule.unit) == (amount, DeadlineUnit(unit))


@pytest.mark.parametrize("bad", ["soon", "1.5wd", "-3h"])
def test_rule_parse_rejects(bad):
    with pytest.raises(InvalidInputError):
        DeadlineRule.parse(bad)


def test_policy_lookup_order():
    policy = DeadlinePolicy.from_mapping(
        {
            "default": "5wd",
            "priorities": {"urgent": "2h"},
            "categories": {
                "cigarette_butts": "24h",
                "illegal_structure": {"normal": "10wd", "urgent": "3wd"},
            },
        }
    )
    assert policy.rule_for("illegal_structure", "urgent") == DeadlineRule.working_days(3)
    assert policy.rule_for("cigarette_butts", "urgent") == DeadlineRule.hours(2)
    assert policy.rule_for("cigarette_butts") == DeadlineRule.hours(24)
    assert policy.rule_for("illegal_structure", Priority.normal) == DeadlineRule.working_days(10)
    assert policy.rule_for("dogs", category_hours=72) == DeadlineRule.hours(72)
    assert policy.rule_for("dogs", category_hours=4) == DeadlineRule.hours(4)
    assert policy.rule_for("dogs") == DeadlineRule.working_days(5)
    assert policy.rule_for(None, "low") == DeadlineRule.working_days(10)


@given(
    st.dates(min_value=date(2022, 1, 1), max_value=date(2025, 12, 20)),
    st.integers(min_value=0, max_value=23),
    st.integers(min_value=1, max_value=15),
)
def test_working_day_deadline_matches_day_count(day, hour, n):
    """Oracle: the deadline's day is a working day and exactly n working days follow start."""
    start = at(day.year, day.month, day.day, hour)
    due = CAL.add_working_days(start, n)
    assert CAL.is_working_day(due.date())
    assert CAL.working_days_between(day, due.date()) == n
    assert due.time() == CAL.day_end
