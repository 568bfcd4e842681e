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


def test_a_running_campaign_raises_its_places_in_the_plan(sqlite_store):
    from civgrid.grids.core.campaigns import Campaign

    markets = Campaign.model_validate(
        {
            "key": "markets",
            "name": "农贸市场整治",
            "windows": [{"months": [4]}],
            "places": {"key_site_kinds": ["market"]},
            "patrol_boost": 4.0,
        }
    )
    with sqlite_store.session() as s:
        kinds = {k.code: k.kind for k in sqlite_store.key_sites(session=s)}
        base = compute_plan(s, sqlite_store, "2026-04", PatrolSettings(), campaigns=[])
        april = compute_plan(s, sqlite_store, "2026-04", PatrolSettings(), campaigns=[markets])
        may = compute_plan(s, sqlite_store, "2026-05", PatrolSettings(), campaigns=[markets])

    def site_prios(plan):
        return {
            v["target_code"]: (v["priority"], v["reasons"])
            for v in plan.visits
            if v["kind"] == "key_site"
        }

    b, a = site_prios(base), site_prios(april)
    market_codes = {c for c, k in kinds.items() if k == "market"}
    assert market_codes and market_codes <= set(a)
    for code in market_codes:
        assert a[code][0] == pytest.approx(b[code][0] + 4.0)
        assert "campaign markets: 农贸市场整治" in a[code][1]
    other = next(c for c in a if c not in market_codes)
    assert a[other][0] == b[other][0]
    assert april.summary["campaigns"] == ["campaign markets: 农贸市场整治"]
    assert may.summary["campaigns"] == []  # not running in May
