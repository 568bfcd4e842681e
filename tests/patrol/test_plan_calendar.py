"""The patrol plan's days come from the one working-day calendar: statutory holidays and
make-up working days (调休) of ``../shared/data/reference/holidays-cn-2026.csv``, and the
county override file."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import pytest

from civgrid.grids.core.calendar import DEFAULT_TZ, local_zone
from civgrid.grids.core.city import current_city, load_city, set_city
from civgrid.grids.patrol.plan import PatrolSettings, compute_plan, working_days

HOLIDAYS_2026 = (
    Path(__file__).resolve().parents[3] / "shared" / "data" / "reference" / "holidays-cn-2026.csv"
)

PROFILE = """\
profile: ceshi
city:
  county_name: 测试县
  center: [112.947, 33.056]
  notice_prefix: 测创督
  bulletin_prefixes: {monthly: 测创通, quarterly: 测创考}
  calendar_file: local-days.yaml
"""


def _feb_2026_from_csv() -> list[date]:
    with HOLIDAYS_2026.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    off = {date.fromisoformat(r["date"]) for r in rows if r["kind"] == "holiday"}
    on = {date.fromisoformat(r["date"]) for r in rows if r["kind"] == "workday"}
    days = [date(2026, 2, 1) + timedelta(days=i) for i in range(28)]
    return [d for d in days if (d.weekday() < 5 and d not in off) or d in on]


@pytest.fixture
def restore_city():
    yield
    set_city(None)
    assert current_city().key == "sheqi" and local_zone().key == DEFAULT_TZ


def test_february_2026_plan_days_are_the_notice_s(sqlite_store):
    expected = _feb_2026_from_csv()
    got = working_days(date(2026, 2, 1), date(2026, 2, 28), PatrolSettings())
    assert got == expected
    assert date(2026, 2, 14) in got and date(2026, 2, 28) in got  # Saturdays worked (调休)
    assert not {date(2026, 2, 15) + timedelta(days=i) for i in range(9)} & set(got)  # 春节
    with sqlite_store.session() as s:
        plan = compute_plan(s, sqlite_store, "2026-02", PatrolSettings())
    assert plan.summary["working_days"] == len(expected)
    assert plan.summary["calendar"]["missing_years"] == []
    visit_days = {v["day"] for v in plan.visits}
    assert visit_days <= set(expected) and date(2026, 2, 14) in visit_days


def test_a_county_override_holiday_drops_out_of_the_plan(sqlite_store, tmp_path, restore_city):
    (tmp_path / "local-days.yaml").write_text("holidays: [2026-02-10]\n", encoding="utf-8")
    profile = tmp_path / "ceshi.yaml"
    profile.write_text(PROFILE, encoding="utf-8")
    with sqlite_store.session() as s:
        before = compute_plan(s, sqlite_store, "2026-02", PatrolSettings())
        set_city(load_city(profile))
        after = compute_plan(s, sqlite_store, "2026-02", PatrolSettings())
    assert date(2026, 2, 10) in {v["day"] for v in before.visits}
    assert date(2026, 2, 10) not in {v["day"] for v in after.visits}
    assert after.summary["working_days"] == before.summary["working_days"] - 1
