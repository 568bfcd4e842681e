"""The city is one profile: CIVGRID_CITY selects it; county name, map centre and prefixes follow."""

from __future__ import annotations

from datetime import date

import pytest

from civgrid.api.app import create_app
from civgrid.api.settings import Settings
from civgrid.grids.core.calendar import DEFAULT_TZ, local_zone
from civgrid.grids.core.city import CityError, current_city, load_city, set_city
from support.authclient import AuthClient

#: An invented county (not on any map): its own name, centre, prefixes and zone.
TEST_COUNTY = """\
profile: ceshi
name: 测试县（城市设置测试）
city:
  county_name: 测试县
  center: [101.125, 24.375]
  zoom: 12
  time_zone: Asia/Urumqi
  notice_prefix: 测创督
  bulletin_prefixes: {monthly: 测创通, quarterly: 测创考}
  holidays: [2026-12-07]
"""


@pytest.fixture
def restore_city():
    """Put the default city (and its zone) back after the test."""
    yield
    set_city(None)
    assert current_city().key == "sheqi" and local_zone().key == DEFAULT_TZ


@pytest.fixture
def county_file(tmp_path):
    path = tmp_path / "ceshi.yaml"
    path.write_text(TEST_COUNTY, encoding="utf-8")
    return path


def test_default_city_is_the_demo_county():
    city = load_city()
    assert city.key == "sheqi" and city.time_zone == DEFAULT_TZ
    assert city.notice_prefix and city.bulletin_prefixes.monthly and city.county_name


def test_second_county_selected_by_one_setting(tmp_path, county_file, restore_city):
    from civgrid.grids.issues.config import IssueConfig, IssueSettings
    from civgrid.grids.scoring.bulletins import next_number

    db = tmp_path / "c.sqlite"
    settings = Settings(
        database_url=f"sqlite:///{db}",
        var_dir=tmp_path / "var",
        city=str(county_file),
        build_index_on_startup=False,
    )
    app = create_app(settings)
    assert app.state.city.county_name == "测试县" and settings.county_name == "测试县"
    assert local_zone().key == "Asia/Urumqi"  # the profile's zone is the county's
    with AuthClient(app) as client:
        page = client.get("/map")
        assert page.status_code == 200, page.text[:500]
        html = page.text
        assert "测试县" in html and "社旗县" not in html
        # folium: L.map(..., {center: [lat, lon], ...}) — the profile's centre (no data yet)
        assert "24.375" in html and "101.125" in html
        assert '"timeZone":"Asia/Urumqi"' in html.replace(" ", "")
        assert "测试县" in client.get("/login", anonymous=True).text
        with app.state.store.session() as session:
            assert next_number(session, "monthly", 2026) == "测创通〔2026〕第1号"
            assert next_number(session, "quarterly", 2026) == "测创考〔2026〕第1号"
    cfg = IssueConfig.from_settings(IssueSettings(), var_dir=tmp_path)
    assert cfg.notice_prefix == "测创督"
    assert str(cfg.calendar.tz) == "Asia/Urumqi"
    assert not cfg.calendar.is_working_day(date(2026, 12, 7))  # the profile's local holiday


def test_time_zone_setting_overrides_the_profile(tmp_path, county_file, restore_city):
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'c.sqlite'}",
        var_dir=tmp_path,
        city=str(county_file),
        time_zone="America/New_York",
    )
    create_app(settings)
    assert current_city().county_name == "测试县" and local_zone().key == "America/New_York"


def test_bad_city_profile_names_file_and_line(tmp_path, restore_city):
    bad = tmp_path / "bad.yaml"
    bad.write_text(TEST_COUNTY.replace("Asia/Urumqi", "Mars/Olympus"), encoding="utf-8")
    with pytest.raises(CityError) as err:
        create_app(Settings(var_dir=tmp_path, city=str(bad)))
    assert err.value.file == str(bad) and err.value.line == 7
    assert "time_zone" in str(err.value) and "Mars/Olympus" in str(err.value)
    with pytest.raises(CityError, match="no city: section"):
        load_city("quzhou")  # a scoring-only profile
    with pytest.raises(CityError, match="cannot read"):
        load_city(tmp_path / "missing.yaml")


#: The invented county with its own deadlines, patrol cadences and scoring rules.
TEST_COUNTY_RULES = (
    TEST_COUNTY
    + """\
  deadlines:
    default: 5wd
    priorities: {urgent: 2h}
    categories: {street_vending: 12h}
    notice: 3wd
  patrol:
    sample_share: 1/2
    leader_visits_per_month: 4
    key_site_visits_per_month: 3
    capacity_per_day: 3
versions:
  - effective_from: 2020-01-01
    base: 100
    deductions: {per_issue: 4.0}
    tiers: {good: 95, fair: 80}
"""
)


@pytest.fixture
def rules_county(tmp_path, restore_city):
    path = tmp_path / "ceshi.yaml"
    path.write_text(TEST_COUNTY_RULES, encoding="utf-8")
    set_city(load_city(path))
    return path


def test_city_deadlines_are_the_issue_defaults(rules_county, monkeypatch):
    from civgrid.grids.core.calendar import DeadlinePolicy, DeadlineRule
    from civgrid.grids.issues.config import IssueConfig, IssueSettings

    monkeypatch.delenv("CIVGRID_DEADLINES", raising=False)
    monkeypatch.delenv("CIVGRID_NOTICE_DEADLINE", raising=False)
    for cfg in (IssueConfig(), IssueConfig.from_settings(IssueSettings())):
        pol = cfg.deadlines
        assert pol.default == DeadlineRule.working_days(5)
        assert pol.rule_for(None, "urgent") == DeadlineRule.hours(2)
        assert pol.rule_for(None, "high") == DeadlineRule.working_days(2)  # code default kept
        assert pol.rule_for("street_vending") == DeadlineRule.hours(12)
        assert cfg.notice_deadline == DeadlineRule.working_days(3)
    # a setting wins over the city, key by key; an explicit argument wins over both
    s = IssueSettings(deadlines={"priorities": {"urgent": "4h"}}, notice_deadline="1wd")
    cfg = IssueConfig.from_settings(s)
    assert cfg.deadlines.rule_for(None, "urgent") == DeadlineRule.hours(4)
    assert cfg.deadlines.rule_for("street_vending") == DeadlineRule.hours(12)
    assert cfg.notice_deadline == DeadlineRule.working_days(1)
    assert IssueConfig(deadlines=DeadlinePolicy()).deadlines.default == DeadlineRule.working_days(3)


def test_city_patrol_cadences_are_the_plan_defaults(rules_county):
    from civgrid.grids.patrol.plan import PatrolSettings

    s = PatrolSettings()
    assert (s.sample_share, s.leader_visits_per_month, s.key_site_visits_per_month) == (0.5, 4, 3)
    assert s.capacity_per_day == 3 and s.unit_visits_per_month == 1  # not set: code default
    assert PatrolSettings(capacity_per_day=1).capacity_per_day == 1  # explicit wins
    req = PatrolSettings.from_dict({"capacity_per_day": 2})  # a request's settings win
    assert req.capacity_per_day == 2 and req.leader_visits_per_month == 4


def test_sheqi_profile_keeps_the_former_defaults(restore_city):
    from civgrid.grids.core.calendar import DeadlinePolicy, DeadlineRule
    from civgrid.grids.patrol.plan import PatrolSettings

    set_city(None)
    city = current_city()
    assert city.deadlines is not None and city.patrol is not None  # in sheqi.yaml
    assert city.deadline_policy() == DeadlinePolicy()
    assert city.notice_deadline() == DeadlineRule.working_days(2)
    assert city.scoring_profile_name == "sheqi"
    s = PatrolSettings()
    assert s.sample_share == 1 / 3 and s.quarter_coverage and s.capacity_per_day is None
    assert (s.key_site_visits_per_month, s.leader_visits_per_month, s.unit_visits_per_month) == (
        2,
        2,
        1,
    )


@pytest.mark.parametrize(
    ("old", "new", "line", "where"),
    [
        ("default: 5wd", "default: soon", 12, "city.deadlines.default"),
        ("urgent: 2h}", "urgnt: 2h}", 13, "city.deadlines.priorities"),
        ("sample_share: 1/2", "sample_share: 3/2", 17, "city.patrol.sample_share"),
        ("capacity_per_day: 3", "capacity_per_day: 0", 20, "city.patrol.capacity_per_day"),
        ("key_site_visits_per_month: 3", "key_site_visits: 3", 19, "city.patrol.key_site"),
    ],
)
def test_bad_deadlines_or_patrol_name_file_and_line(tmp_path, old, new, line, where):
    bad = tmp_path / "bad.yaml"
    bad.write_text(TEST_COUNTY_RULES.replace(old, new), encoding="utf-8")
    with pytest.raises(CityError) as err:
        load_city(bad)
    assert err.value.file == str(bad) and err.value.line == line, str(err.value)
    assert where in str(err.value)


def test_scores_default_to_the_city_profile(tmp_path, rules_county):
    from civgrid.grids.scoring.rules import RuleRegistry, default_profile

    assert default_profile() == "ceshi"
    reg = RuleRegistry.with_shipped()
    assert reg.profile().profile == "ceshi"
    assert reg.rules(None, date(2026, 12, 1)).tiers.good == 95
    app = create_app(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'c.sqlite'}",
            var_dir=tmp_path / "var",
            city=str(rules_county),
            build_index_on_startup=False,
        )
    )
    with AuthClient(app) as client:
        r = client.get("/api/v1/scores", params={"period": "2026-12"})
        assert r.status_code == 200, r.text[:500]
        assert r.json()["profile"] == "ceshi"
        named = {"period": "2026-12", "profile": "sheqi"}
        assert client.get("/api/v1/scores", params=named).json()["profile"] == "sheqi"


def test_city_names_a_shipped_scoring_profile(tmp_path, restore_city):
    from civgrid.grids.scoring.rules import RuleRegistry

    path = tmp_path / "ceshi.yaml"
    path.write_text(TEST_COUNTY + "  scoring_profile: quzhou\n", encoding="utf-8")
    set_city(load_city(path))
    assert RuleRegistry.with_shipped().profile().profile == "quzhou"


def test_one_time_zone_setting(tmp_path, county_file, restore_city, monkeypatch):
    from civgrid.grids.issues.config import IssueConfig, IssueSettings

    monkeypatch.setenv("CIVGRID_TIMEZONE", "America/New_York")  # the former second knob
    set_city(load_city(county_file))
    assert not hasattr(IssueSettings(), "timezone")
    assert str(IssueConfig.from_settings(IssueSettings()).calendar.tz) == "Asia/Urumqi"
    set_city(load_city(county_file), time_zone="Europe/Paris")  # CIVGRID_TIME_ZONE
    assert str(IssueConfig.from_settings(IssueSettings()).calendar.tz) == "Europe/Paris"
