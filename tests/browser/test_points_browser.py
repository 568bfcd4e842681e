"""The assessment-point pages in headless Chromium: the compliance list coloured by status
(必查 marked, filters) and the mock assessment (模拟测评). Screenshots (points.png,
mock-assessment.png) go to ``img`` (``docs/img/`` under ``make screenshots``)."""

from __future__ import annotations

import shutil
from datetime import date

import pytest
from browserkit import assert_no_hscroll, serve, watch

pytestmark = [pytest.mark.browser]


@pytest.fixture(scope="module")
def server(demo_sqlite_template, tmp_path_factory):
    """The demo county with its demo points and a short season of inspections."""
    from civgrid.grids.boundaries.store import Store
    from civgrid.grids.core.db import make_engine
    from civgrid.grids.demo.points import inspect_season, load_demo_points
    from civgrid.grids.issues.config import IssueConfig
    from civgrid.grids.points.standards import StandardsRegistry
    from support.mapdata import make_app

    path, index = demo_sqlite_template
    root = tmp_path_factory.mktemp("points")
    shutil.copyfile(path, root / "demo.sqlite")
    url = f"sqlite:///{root / 'demo.sqlite'}"
    store = Store(make_engine(url))
    try:
        store.snap_index = index
        version = StandardsRegistry.with_shipped().version_on("sheqi", date.today())
        assert load_demo_points(store, version).committed
        cfg = IssueConfig(photo_dir=root / "photos")
        assert inspect_season(store, version, cfg, limit=40, fail_rate=0.2)["inspections"] == 80
    finally:
        store.engine.dispose()
    with serve(make_app(url, root / "var")) as base:
        yield base


@pytest.fixture(scope="module")
def page(browser, server):
    from support.authclient import browser_login

    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    browser_login(ctx, server.app, server)
    p = ctx.new_page()
    watch(p)
    yield p
    ctx.close()


def test_compliance_list(page, server, img):
    page.goto(f"{server}/points")
    rows = page.locator("#pt-list tbody tr")
    assert rows.count() >= 120
    states = page.eval_on_selector_all(
        "#pt-list tbody tr", "rs => rs.map(r => r.dataset.compliance)"
    )
    counts = {k: states.count(k) for k in ("compliant", "non_compliant", "uninspected")}
    assert counts["uninspected"] == len(states) - 40 and counts["non_compliant"] > 0
    assert page.inner_text("#pt-count-non_compliant").endswith(str(counts["non_compliant"]))
    red = page.locator('#pt-list tr[data-compliance="non_compliant"] .st').first
    assert red.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(198, 40, 40)"
    assert page.locator("#pt-list .must").count() > 0  # 必查点 marked
    page.screenshot(path=str(img / "points.png"), full_page=False)
    assert_no_hscroll(page, "the points list", None)
    page.select_option("#pt-filter select[name=compliance]", "non_compliant")
    page.click("#pt-filter button")
    page.wait_for_load_state("load")
    left = page.eval_on_selector_all("#pt-list tbody tr", "rs => rs.map(r => r.dataset.compliance)")
    assert left and set(left) == {"non_compliant"} and len(left) == counts["non_compliant"]
    assert page.errors == []


def test_mock_assessment_page(page, server, img):
    page.goto(f"{server}/points/mock?seed=7")
    score = float(page.inner_text("#mock-score"))
    low, high = (float(x) for x in page.inner_text("#mock-band").split("–"))
    assert 0 <= low <= score <= high <= 100
    assert page.locator("#mock-types tbody tr").count() >= 5
    page.screenshot(path=str(img / "mock-assessment.png"), full_page=False)
    assert_no_hscroll(page, "the mock assessment", None)
    page.goto(f"{server}/points/mock?seed=7")
    assert float(page.inner_text("#mock-score")) == score  # the same seed, the same draw
    assert page.errors == []


def test_points_layer_on_the_command_map(page, server, img):
    """The command map's 测评点位 layer: every visible point, point sites coloured by
    status (不达标 red), must-check points ringed, as the layer's API says."""
    page.goto(f"{server}/map")
    page.wait_for_function("() => window.civgrid && civgrid.state.ready")
    overlays = page.locator(".leaflet-control-layers-overlays label")
    overlays.filter(has_text="测评点位").locator("input").check()
    page.wait_for_function("() => (civgrid.state.layerCounts.assessment_point || 0) > 0")
    fc = page.evaluate("() => fetch('/api/v1/layers/assessment_point.geojson').then(r => r.json())")
    feats = fc["features"]
    assert page.evaluate("civgrid.state.layerCounts.assessment_point") == len(feats) >= 120
    sites = [f["properties"] for f in feats if f["geometry"]["type"] == "Point"]
    red = [p for p in sites if p["compliance"] == "non_compliant"]
    assert red and page.locator("path.cg-point-non_compliant").count() == len(red)
    fill = page.locator("path.cg-point-non_compliant").first.get_attribute("fill")
    assert fill == red[0]["compliance_color"] == "#c62828"
    must = [p for p in sites if p["must_check"]]
    assert must and page.locator("path.cg-point-must").count() == len(must)
    page.screenshot(path=str(img / "map-points.png"), full_page=False)
    assert page.errors == []
