"""Campaigns (专项行动) as data: issues reported inside a campaign are tagged with it, and
the campaign report counts found and fixed problems against the stretch before it."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from civgrid.grids.core.actors import Actor
from civgrid.grids.core.city import load_city, load_city_text
from civgrid.grids.issues import service as svc
from civgrid.grids.issues.campaigns import campaign_keys
from civgrid.grids.issues.config import IssueConfig
from civgrid.grids.issues.models import Issue
from civgrid.grids.issues.service import IssueReport
from civgrid.grids.issues.workflow import State
from civgrid.grids.scoring.campaigns import (
    campaign_report,
    campaign_report_xlsx,
    campaign_section,
)
from civgrid.maps.scoring_pages import campaign_report_html, campaign_section_html
from support.issue_helpers import COMPOUND, Clock, offset, point_in

GW = Actor("网格员甲", "grid_worker")

#: A test county with one campaign: the 10th–12th of every month, two categories.
PROFILE = """\
profile: ceshi
city:
  county_name: 测试县
  center: [112.947, 33.056]
  notice_prefix: 测创督
  bulletin_prefixes: {monthly: 测创通, quarterly: 测创考}
  campaigns:
    - key: midmonth
      name: 月中集中整治
      clause: 每月10-12日集中整治占道经营、乱堆乱倒（测试条款）
      windows: [{days: [10, 12]}]
      categories: [street_vending, dumping]
      goals: [占道经营明显减少]
    - key: friday
      name: 周五下午清洁日
      windows: [{weekdays: [4], hours: ["14:00", "18:00"]}]
    - key: villages
      name: 行政村集中整治日
      windows: [{months: [3], days: [6, 6]}]
      categories: [street_vending]
      places: {area_types: [village]}
"""


def _local(*a: int) -> datetime:
    """A Beijing wall-clock time as aware UTC."""
    return datetime(*a, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


def test_campaign_windows_from_the_profile():
    city = load_city_text(PROFILE, "ceshi.yaml")
    mid, fri, _ = city.campaigns
    assert mid.active_at(datetime(2026, 3, 12, 23, 59)) and not mid.active_at(datetime(2026, 3, 13))
    assert fri.active_at(datetime(2026, 3, 13, 14, 0))  # a Friday, 14:00
    assert not fri.active_at(datetime(2026, 3, 13, 18, 0))  # the end is excluded
    assert not fri.active_at(datetime(2026, 3, 12, 15, 0))  # Thursday
    assert fri.describe() == "每周五 14:00–18:00" and mid.describe() == "每月10–12日"


def test_shipped_campaigns_quote_their_notices():
    sheqi = {c.key: c for c in load_city("sheqi").campaigns}
    assert "每月1-5日开展城市乱象治理行动" in sheqi["disorder"].clause
    assert sheqi["traffic_order"].active_at(datetime(2026, 9, 15, 10))
    assert sheqi["friday_cleanup"].active_at(datetime(2026, 12, 4, 15))  # Friday afternoon
    lvliang = load_city("lvliang").campaigns
    assert [c.key for c in lvliang] == ["survey", "review", "hard_points", "improvement"]
    assert all(c.clause for c in lvliang)


def test_campaign_tags_and_report_match_a_hand_count(store):
    city = load_city_text(PROFILE, "ceshi.yaml")
    clock = Clock(_local(2026, 3, 1, 9, 0))
    cfg = IssueConfig(clock=clock, campaigns=city.campaigns)
    lon, lat = point_in(store, COMPOUND)
    plan = [
        # (local report time, category, tagged?)
        # before the comparison stretch; in 望东庄村 (a village) on 6 March: "villages"
        ((2026, 3, 6, 23, 0), "street_vending", "villages"),
        ((2026, 3, 9, 10, 0), "street_vending", False),  # comparison stretch (7–9 Mar)
        ((2026, 3, 9, 11, 0), "graffiti", False),  # not the campaign's category
        ((2026, 3, 10, 9, 0), "street_vending", True),  # inside
        ((2026, 3, 11, 16, 0), "graffiti", False),  # inside, other category
        ((2026, 3, 12, 23, 30), "dumping", True),  # inside, last evening
        ((2026, 3, 13, 0, 30), "dumping", False),  # just after
    ]
    ids = []
    with store.session() as s:
        for when, cat, _ in plan:
            clock.set(_local(*when))
            # 40 m apart: no report is a duplicate (30 m) of another
            issue = svc.report_issue(
                s,
                store,
                GW,
                IssueReport(cat, "grid_worker", *offset(lon, lat, 40.0 * len(ids), 0.0)),
                config=cfg,
            ).issue
            ids.append(issue.id)
        tags = {i: campaign_keys(s, i) for i in ids}
        # fixes, as stored by the workflow: closed (fixed) at a local time
        for idx, closed in (
            (1, (2026, 3, 9, 18, 0)),
            (3, (2026, 3, 11, 15, 0)),
            (5, (2026, 3, 14, 9, 0)),
        ):
            issue = s.get(Issue, ids[idx])
            issue.state, issue.closed_at = State.closed, _local(*closed)
        s.commit()
        for i, (_, _, tagged) in zip(ids, plan, strict=True):
            want = ["midmonth"] if tagged is True else [tagged] if tagged else []
            assert tags[i] == want, i
        report = campaign_report(s, city.campaigns[0], date(2026, 3, 1), date(2026, 3, 31))
        section = campaign_section(s, date(2026, 3, 1), date(2026, 3, 31), city.campaigns)
    # hand count: found inside = 10 Mar street_vending + 12 Mar dumping = 2; fixed inside = 1
    # (closed 11 Mar); the stretch before (7–9 Mar): found 1 (9 Mar street_vending), fixed 1
    assert len(report["runs"]) == 1
    run = report["runs"][0]
    assert run["start"] == "2026-03-10T00:00" and run["end"] == "2026-03-13T00:00"
    assert run["before_start"] == "2026-03-07T00:00"
    assert (run["found"], run["fixed"], run["found_before"], run["fixed_before"]) == (2, 1, 1, 1)
    assert report["totals"]["found_change"] == 1.0
    wb = load_workbook(io.BytesIO(campaign_report_xlsx(report)))
    rows = list(wb["专项行动成效"].iter_rows(values_only=True))
    assert rows[-1][:4] == ("合计", "", 2, 1) or rows[-1][:4] == ("合计", None, 2, 1)
    # the bulletin's section: the same counts, one line per campaign of the month
    mid = next(x for x in section if x["key"] == "midmonth")
    assert (mid["found"], mid["fixed"], mid["found_before"], mid["fixed_before"]) == (2, 1, 1, 1)
    assert "月中集中整治" in campaign_section_html(section, "2026-03")
    page = campaign_report_html(report)
    assert "月中集中整治成效对比" in page and "行动期间发现问题2件" in page


def test_campaign_routes_serve_the_city_s_campaigns(tmp_path):
    from civgrid.api.app import create_app
    from civgrid.api.settings import Settings
    from support.authclient import AuthClient

    app = create_app(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'c.sqlite'}",
            var_dir=tmp_path,
            build_index_on_startup=False,
        )
    )
    with AuthClient(app) as client:
        listed = client.get("/api/v1/campaigns").json()
        assert [c["key"] for c in listed] == [c.key for c in load_city("sheqi").campaigns]
        body = client.get("/api/v1/campaigns/disorder/report", params={"period": "2026-03"}).json()
        assert body["from"] == "2026-03-01" and len(body["runs"]) == 1  # the 1st–5th
        assert body["runs"][0]["start"] == "2026-03-01T00:00"
        x = client.get("/api/v1/campaigns/disorder/report.xlsx", params={"period": "2026-03"})
        assert x.headers["content-type"].startswith("application/vnd.openxmlformats")
        page = client.get("/campaigns/disorder", params={"period": "2026-03"}).text
        assert "城市乱象治理行动成效对比" in page
        assert client.get("/api/v1/campaigns/nope/report").status_code == 404
