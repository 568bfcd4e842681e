"""The patrol page (/patrol) in headless Chromium: plan visits, a day's route, a GPS
track, covered vs missed road sections and unit grids; screenshot ``patrol.png`` in ``img``
(``docs/img/`` under ``make screenshots``).

The demo county is loaded, December 2026 planned, and a track driven along 建设路
(RS001, RS002) and into a compound by the third team is uploaded through the API;
the page must show as many visits, tracks and covered road sections as the API returns.
"""

from __future__ import annotations

import numpy as np
import pytest
from browserkit import assert_no_hscroll, serve, watch

pytestmark = [pytest.mark.browser]

READY = "() => window.civgrid && civgrid.patrol && civgrid.patrol.ready"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The demo county with a December plan and one track; the app served by uvicorn."""
    from civgrid.api.app import create_app
    from civgrid.api.settings import Settings
    from civgrid.grids.boundaries.store import Store
    from civgrid.grids.core.db import make_engine
    from civgrid.grids.demo.load import load_demo
    from support.authclient import AuthClient
    from support.patrol_helpers import densify, gpx

    root = tmp_path_factory.mktemp("patrol_browser")
    url = f"sqlite:///{root / 'demo.sqlite'}"
    store = Store(make_engine(url))
    store.upgrade()
    assert load_demo(store).ok
    roads = {r.code: r.geom for r in store.road_sections()}
    pts = np.vstack([densify(roads["RS001"]), densify(roads["RS002"])])
    # then into a compound of 河南街村 (赵河街道, ST03's area)
    import shapely

    inside = store.area("411327002001002").geom.representative_point()
    pts = np.vstack([pts, densify(shapely.LineString([pts[-1], (inside.x, inside.y)]))])
    store.engine.dispose()

    app = create_app(Settings(database_url=url, var_dir=root / "var"))
    with serve(app) as base:
        with AuthClient(app, base_url=base) as c:
            assert c.post("/api/v1/patrol/plans", params={"month": "2026-12"}).status_code == 200
            r = c.post(
                "/api/v1/patrol/tracks",
                files={"file": ("day.gpx", gpx(pts), "application/gpx+xml")},
                data={"team": "ST03"},
            )
            assert r.status_code == 200, r.text
            data = c.get(
                "/api/v1/patrol/map",
                params={"month": "2026-12", "team": "ST03", "date": "2026-12-03"},
            ).json()
        yield base, app, data


def test_patrol_page(browser, server, img):
    from support.authclient import browser_login

    base, app, data = server
    ctx = browser.new_context(
        viewport={"width": 1440, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    browser_login(ctx, app, base)
    page = ctx.new_page()
    errors = watch(page)
    remote: list[str] = []
    page.on("request", lambda r: remote.append(r.url) if not r.url.startswith(base) else None)
    page.goto(base + "/patrol?month=2026-12&team=ST03&date=2026-12-03")
    page.wait_for_function(READY, timeout=60_000)
    page.wait_for_timeout(400)
    assert errors == [] and page.evaluate("civgrid.patrol.error") is None
    assert [u for u in remote if not u.startswith("data:")] == []

    counts = page.evaluate("civgrid.patrol.counts")
    feats = data["road_sections"]["features"]
    assert counts["visits"] == len(data["visits"]["features"]) > 0
    assert counts["tracks"] == 1
    assert counts["roads"] == len(feats)
    assert counts["roadsCovered"] == sum(f["properties"]["covered"] for f in feats) >= 2
    assert counts["grids"] == len(data["unit_grids"]["features"])
    assert counts["gridsEntered"] == data["summary"]["ST03"]["grids_entered"] > 0
    assert counts["routeStops"] == len(data["route"]["features"]) - 1 > 0

    overlay = page.inner_text(".leaflet-control-layers-overlays")
    for label in ("单元网格（进入/未进入）", "路段覆盖", "GPS 轨迹", "计划走访", "当日路线"):
        assert label in overlay
    summary = page.inner_text("#cg-patrol-summary")
    assert "ST03" in summary and "路段覆盖" in summary
    assert page.locator("#cg-patrol-route li").count() == counts["routeStops"]
    # stops are named (区划/点位 names from the API), not bare codes
    stops = [f["properties"] for f in data["route"]["features"][1:]]
    first = page.locator("#cg-patrol-route li").first.inner_text()
    assert stops and stops[0]["target_name"] != stops[0]["target_code"]
    assert first.startswith(stops[0]["target_name"])
    # covered sections are drawn green, missed ones red
    strokes = page.evaluate(
        "() => Array.from(document.querySelectorAll('path.leaflet-interactive'))"
        ".map(p => p.getAttribute('stroke'))"
    )
    assert "#1e8449" in strokes and "#cb4335" in strokes
    # township and community boundaries, with their names
    page.wait_for_function("() => civgrid.patrol.boundaries.township > 0")
    assert page.evaluate("civgrid.patrol.boundaries") == {"township": 16, "community": 14}
    labels = page.eval_on_selector_all(".cg-plabel-township", "t => t.map(x => x.textContent)")
    assert len(labels) == 16 and all(labels)
    assert "乡镇/街道界" in page.inner_text(".leaflet-control-layers-overlays")
    # a stop of the route list opens its target on the map
    page.click("#cg-patrol-route li:nth-child(2) a.cg-stop-link")
    page.wait_for_selector(".leaflet-popup-content")
    popup = page.inner_text(".leaflet-popup-content")
    assert "第2站" in popup and stops[1]["target_name"] in popup
    assert page.locator(".cg-stop").count() == counts["routeStops"]
    # the route as GPX for phones
    href = page.get_attribute("#cg-route-gpx", "href")
    gpx = page.request.get(base + href)
    assert gpx.status == 200 and "<rte>" in gpx.text() and stops[0]["target_name"] in gpx.text()
    page.screenshot(path=str(img / "patrol.png"))
    assert_no_hscroll(page, "the patrol page with a plan, a track and a route")
    ctx.close()


def test_the_inspectors_own_team_is_preselected(browser, server):
    from support.authclient import browser_login

    base, app, _data = server
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    browser_login(ctx, app, base, role="inspector", unit="ST03")
    page = ctx.new_page()
    watch(page)
    page.goto(base + "/patrol?month=2026-12")
    page.wait_for_function(READY, timeout=60_000)
    assert page.eval_on_selector("#cg-patrol-form select[name=team]", "s => s.value") == "ST03"
    assert page.evaluate("civgrid.patrol.counts.visits") > 0
    # every team, when the inspector asks for it
    page.select_option("#cg-patrol-form select[name=team]", "")
    with page.expect_navigation():
        page.click("#cg-patrol-form button[type=submit]")
    page.wait_for_function(READY, timeout=60_000)
    assert page.eval_on_selector("#cg-patrol-form select[name=team]", "s => s.value") == ""
    ctx.close()
