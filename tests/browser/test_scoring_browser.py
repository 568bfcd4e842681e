"""The scoring pages in headless Chromium: the December bulletin of the simulated season,
the rankings overview and a leader's dashboard, checked against the API; screenshots
go to the ``img`` folder, ``docs/img/`` under ``make screenshots`` (bulletin-2026-12.png,
scores-2026-12.png, scores-leader.png).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest
from browserkit import assert_no_hscroll, serve, wait_for, watch

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "Chuangwen-2026!"


def _accounts(url: str) -> None:
    """A command-center dispatcher and leader L04's account in the season database."""
    from civgrid.grids.accounts.service import create_user
    from civgrid.grids.boundaries.store import Store
    from civgrid.grids.core.actors import SYSTEM_ACTOR
    from civgrid.grids.core.db import make_engine

    store = Store(make_engine(url))
    try:
        with store.session() as s:
            create_user(s, SYSTEM_ACTOR, "cc", PASSWORD, "dispatcher")
            create_user(s, SYSTEM_ACTOR, "l04", PASSWORD, "leader", leader_key="L04")
    finally:
        store.engine.dispose()


def _token(server: str, username: str) -> str:
    r = httpx.post(
        f"{server}/api/v1/auth/token", timeout=60, data={"username": username, "password": PASSWORD}
    )
    assert r.status_code == 200, r.text[:300]
    return r.json()["access_token"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app on the simulated season, served by uvicorn in a thread; its base URL."""
    from civgrid.api.app import create_app
    from civgrid.api.settings import Settings
    from support.season import shared_season

    url = shared_season(tmp_path_factory, "scoring-browser")  # built once per run
    root = tmp_path_factory.mktemp("scoring-browser-var")
    _accounts(url)
    app = create_app(Settings(database_url=url, var_dir=root / "var"))
    # scoring as of 5 January 2027: December has ended and may be published
    app.state.score_clock = lambda: datetime(2027, 1, 5, 2, 0, tzinfo=UTC)
    with serve(app) as base:
        yield str(base)


@pytest.fixture
def page(browser, server, request):
    from civgrid.api.security import COOKIE_NAME

    ctx = browser.new_context(
        viewport={"width": 1100, "height": 1400}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    who = getattr(request, "param", "cc")
    ctx.add_cookies([{"name": COOKIE_NAME, "value": _token(server, who), "url": server}])
    pg = ctx.new_page()
    watch(pg)
    yield pg
    ctx.close()


def _api(server: str, path: str, **params) -> dict:
    auth = {"Authorization": f"Bearer {_token(server, 'cc')}"}
    r = httpx.get(server + path, params=params, timeout=120, headers=auth)
    assert r.status_code == 200, r.text[:300]
    return r.json()


def test_bulletin_page(page, server, img):
    # published from the draft page's button (the dispatcher may publish)
    page.goto(f"{server}/scores/bulletin?period=2026-12")
    assert page.get_attribute("#cg-publish", "data-perm") == "score.write"
    page.once("dialog", lambda d: d.accept())
    with page.expect_navigation(url="**/bulletins/*", timeout=120_000) as nav:
        page.click("#cg-publish")
    got = nav.value  # the published page's own answer (an error page would say why)
    assert got is not None and got.status == 200, (got and got.status, got and got.text()[:300])
    bid = int(page.url.rsplit("/", 1)[1])
    b = _api(server, f"/api/v1/bulletins/{bid}")
    assert b["period"] == "2026-12"
    wait_for(page, "#cg-communities")
    assert page.inner_text("#cg-bulletin-title") == "2026年12月创建文明城市工作月通报"
    assert "社创通〔2026〕第1号" in page.inner_text("p.no")
    rows = page.locator("#cg-communities tbody tr")
    assert rows.count() == len(b["content"]["communities"]) == 14
    first = rows.nth(0).locator("td")
    api_first = b["content"]["communities"][0]
    assert first.nth(1).inner_text() == api_first["name"]
    assert float(first.nth(2).inner_text()) == pytest.approx(api_first["points"])
    named = page.locator("#cg-communities tr.named").count()
    assert named == len([w for w in b["content"]["worst"] if w["level"] == "community"])
    assert page.locator("a[href^='/map/heat?from=2026-12-01']").count() >= 1
    # it ends with the issuing office and the date of issue; no raw timestamp, no bare URL
    assert page.inner_text("#cg-bulletin-office") == "社旗县创建文明城市工作办公室"
    assert page.inner_text("#cg-bulletin-date") == "2027年1月5日"
    text = page.inner_text("body")
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:", text), "a raw ISO timestamp"
    assert "http" not in text and "/map/heat" not in text, "a bare URL"
    assert page.locator("#cg-publish").count() == 0
    # CJK glyphs render with a real font (not tofu): the title is wider than its boxes
    width = page.evaluate("document.getElementById('cg-bulletin-title').scrollWidth")
    assert width > 300
    assert page.errors == []
    page.screenshot(path=str(img / "bulletin-2026-12.png"), full_page=False)
    assert_no_hscroll(page, "the published bulletin")
    page.emulate_media(media="print")
    assert page.locator(".nav").is_hidden()


def test_scores_page(page, server, img):
    page.goto(f"{server}/scores?period=2026-12")
    wait_for(page, "#cg-townships")
    api = _api(server, "/api/v1/scores", level="township", period="2026-12")["scores"]
    cells = page.locator("#cg-townships tbody tr td:nth-child(2)").all_inner_texts()
    assert cells == [s["name"] for s in api]
    page.screenshot(path=str(img / "scores-2026-12.png"), full_page=False)
    assert_no_hscroll(page, "the rankings")
    assert page.errors == []


@pytest.mark.parametrize("page", ["l04"], indirect=True)
def test_leader_dashboard_as_the_leader(page, server, img):
    dash = _api(server, "/api/v1/leaders/L04/dashboard", period="2026-12")
    page.goto(f"{server}/leaders/L04/scores?period=2026-12")
    wait_for(page, "#cg-leader-scores")
    rows = page.locator("#cg-leader-scores tbody tr")
    assert rows.count() == len(dash["rows"]) == 2
    texts = rows.nth(0).locator("td").all_inner_texts()
    r0 = dash["rows"][0]
    assert texts[0] == r0["name"] and float(texts[2]) == pytest.approx(r0["points"])
    assert texts[3] == f"{r0['rank'] or '—'}/{r0['of']}"
    assert page.errors == []
    page.screenshot(path=str(img / "scores-leader.png"), full_page=False)
    assert_no_hscroll(page, "a leader's dashboard")
    other = httpx.get(
        f"{server}/api/v1/leaders/L01/dashboard",
        timeout=60,
        headers={"Authorization": f"Bearer {_token(server, 'l04')}"},
    )
    assert other.status_code == 404
