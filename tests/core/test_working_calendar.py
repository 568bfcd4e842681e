"""The one working-day calendar: chinesecalendar + the county override file, and the years
it lacks said aloud (/healthz, `civgrid calendar check`, the page banner).

The 2026 arrangement is read in place from ``../shared/data/reference/holidays-cn-2026.csv``
(the State Council's notice of 2025-11-04), never copied into the repository.
"""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from civgrid.api.app import create_app
from civgrid.api.settings import Settings
from civgrid.grids.core import calendar as core_calendar
from civgrid.grids.core.calendar import (
    DEFAULT_TZ,
    DeadlineRule,
    WorkingCalendar,
    local_zone,
    national_arrangement,
)
from civgrid.grids.core.calendarfile import CalendarFileError, load_calendar_text
from civgrid.grids.core.city import CityError, current_city, load_city, set_city
from civgrid.grids.issues.config import IssueConfig, IssueSettings, configured_calendar

#: The 2026 arrangement (read in place, never copied into the repository).
HOLIDAYS_2026 = (
    Path(__file__).resolve().parents[3] / "shared" / "data" / "reference" / "holidays-cn-2026.csv"
)

#: The first year the installed chinesecalendar lacks, found at run time.
FIRST_MISSING = max(national_arrangement()[2]) + 1

PROFILE = """\
profile: ceshi
name: 测试县（日历测试）
city:
  county_name: 测试县
  center: [101.125, 24.375]
  notice_prefix: 测创督
  bulletin_prefixes: {{monthly: 测创通, quarterly: 测创考}}
  calendar_file: {calendar_file}
"""


def _csv_rows() -> list[dict[str, str]]:
    with HOLIDAYS_2026.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def restore_city():
    """Put the default city (and its zone) back after the test."""
    yield
    set_city(None)
    assert current_city().key == "sheqi" and local_zone().key == DEFAULT_TZ


def _county(tmp_path: Path, calendar_text: str) -> Path:
    (tmp_path / "county-calendar.yaml").write_text(calendar_text, encoding="utf-8")
    path = tmp_path / "ceshi.yaml"
    path.write_text(PROFILE.format(calendar_file="county-calendar.yaml"), encoding="utf-8")
    return path


def test_every_day_of_2026_matches_the_state_council_notice():
    rows = _csv_rows()
    holidays = {date.fromisoformat(r["date"]) for r in rows if r["kind"] == "holiday"}
    workdays = {date.fromisoformat(r["date"]) for r in rows if r["kind"] == "workday"}
    assert len(holidays) >= 20 and len(workdays) >= 5  # the file was read, not empty
    cal = WorkingCalendar.china()
    day, seen = date(2026, 1, 1), 0
    while day.year == 2026:
        expected = (day.weekday() < 5 and day not in holidays) or day in workdays
        assert cal.is_working_day(day) is expected, day
        day += timedelta(days=1)
        seen += 1
    assert seen == 365 and not cal.missing_seen


def test_three_working_days_from_the_eve_of_national_day_2026():
    cal = WorkingCalendar.china()
    start = datetime.fromisoformat("2026-09-30T10:00+08:00")
    end = cal.deadline(start, DeadlineRule.working_days(3))
    assert end == datetime.fromisoformat("2026-10-10T18:00+08:00")  # 8, 9 and Saturday 10 Oct
    assert end.utcoffset() == timedelta(hours=8)


def test_a_year_the_package_lacks_counts_weekends_only_and_is_recorded():
    cal = WorkingCalendar.china()
    assert cal.covers(FIRST_MISSING - 1) and not cal.covers(FIRST_MISSING)
    jan1 = date(FIRST_MISSING, 1, 1)  # 元旦 every year, but not known to this calendar
    assert cal.is_working_day(jan1) is (jan1.weekday() < 5)
    assert cal.missing_seen == {FIRST_MISSING}
    # a day asked about is reported whatever today is
    assert cal.status(date(FIRST_MISSING - 10, 6, 1)).missing_years == (FIRST_MISSING,)
    fresh = WorkingCalendar.china()
    assert fresh.status(date(FIRST_MISSING - 1, 6, 1)).ok  # far from the new year: not in use
    assert fresh.status(date(FIRST_MISSING - 1, 12, 7)).missing_years == (FIRST_MISSING,)


def test_override_file_errors_name_file_and_line():
    with pytest.raises(CalendarFileError) as err:
        load_calendar_text("years: [2027]\nholidays:\n  - 2027-01-01\n  - 2027-13-01\n", "c.yaml")
    assert err.value.line == 4 and "2027-13-01" in str(err.value)
    with pytest.raises(CalendarFileError, match=r"c.yaml:2: unknown key 'holiday'"):
        load_calendar_text("years: [2027]\nholiday: []\n", "c.yaml")
    with pytest.raises(CalendarFileError, match="years\\[0\\]"):
        load_calendar_text("years: [next]\n", "c.yaml")


def test_profile_naming_a_missing_calendar_file_names_the_line(tmp_path):
    path = tmp_path / "ceshi.yaml"
    path.write_text(PROFILE.format(calendar_file="nowhere.yaml"), encoding="utf-8")
    with pytest.raises(CityError) as err:
        load_city(path)
    assert err.value.line == 8 and "nowhere.yaml" in str(err.value)


def test_county_override_holiday_drops_out_of_deadlines(tmp_path, restore_city):
    # Tuesday 10 March 2026: a local holiday of the test county
    set_city(load_city(_county(tmp_path, "holidays: [2026-03-10]\n")))
    start = datetime.fromisoformat("2026-03-06T10:00+08:00")  # a Friday
    plain = WorkingCalendar.china().deadline(start, DeadlineRule.working_days(3))
    assert plain == datetime.fromisoformat("2026-03-11T18:00+08:00")
    cfg = IssueConfig.from_settings(IssueSettings(), var_dir=tmp_path)
    assert not cfg.calendar.is_working_day(date(2026, 3, 10))
    got = cfg.calendar.deadline(start, DeadlineRule.working_days(3))
    assert got == datetime.fromisoformat("2026-03-12T18:00+08:00")
    # 督办 second deadlines and extensions read the same calendar
    assert IssueConfig().calendar.holidays == cfg.calendar.holidays


def _health(tmp_path: Path, city: str | None = None) -> dict:
    from support.authclient import AuthClient

    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'h.sqlite'}",
        var_dir=tmp_path / "var",
        build_index_on_startup=False,
        **({"city": city} if city else {}),
    )
    app = create_app(settings)
    with AuthClient(app) as client:
        body = client.get("/healthz").json()
        home = client.get("/").text + client.get("/map").text
    return {"health": body, "home": home}


def test_first_missing_year_reported_by_healthz_cli_and_banner(tmp_path, monkeypatch, restore_city):
    from civgrid.api.cli import app as cli

    near = date(FIRST_MISSING - 1, 12, 7)  # the new year is within the deadlines' reach
    monkeypatch.setattr(core_calendar, "local_today", lambda: near)
    got = _health(tmp_path)
    cal = got["health"]["calendar"]
    assert cal["missing_years"] == [FIRST_MISSING]
    assert cal["last_year"] == FIRST_MISSING - 1
    assert "cg-calendar-banner" in got["home"] and f"{FIRST_MISSING}年" in got["home"]
    r = CliRunner().invoke(cli, ["calendar", "check"])
    assert r.exit_code != 0 and str(FIRST_MISSING) in r.output

    # an override file giving that year: nothing is missing any more
    profile = _county(
        tmp_path,
        f"years: [{FIRST_MISSING}]\nholidays: [{FIRST_MISSING}-01-01]\n",
    )
    got = _health(tmp_path / "with", str(profile))
    assert got["health"]["calendar"]["missing_years"] == []
    assert "cg-calendar-banner" not in got["home"]
    monkeypatch.setenv("CIVGRID_CITY", str(profile))
    r = CliRunner().invoke(cli, ["calendar", "check"])
    assert r.exit_code == 0, r.output
    assert not configured_calendar().is_working_day(date(FIRST_MISSING, 1, 1))
