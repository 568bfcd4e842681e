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
