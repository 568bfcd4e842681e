"""Every main page under the Content-Security-Policy in headless Chromium: no violation.

A short simulated season (demo county, 20 days of issues) is served; logged in as the
admin, the browser opens the login page, the home page, the command-center map (the
issue list) and an issue's popup (its detail fetched from the API), the heat map, a
leader's map, the patrol page, the scoring pages and the API docs. On each, nothing is
reported blocked: neither in the console (Chromium's "Content Security Policy" errors,
collected by ``browserkit.watch``) nor as a ``securitypolicyviolation`` event — and
the page did run its scripts (it got ready), so a silently blocked script would fail too.
"""

from __future__ import annotations

import pytest
from browserkit import serve, watch

pytestmark = [pytest.mark.browser]

MAP_READY = "() => window.civgrid && civgrid.state.ready && civgrid.state.loading === 0"
PATROL_READY = "() => window.civgrid && civgrid.patrol && civgrid.patrol.ready"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The demo county with 20 simulated days, served by uvicorn in a thread."""
    from datetime import UTC, datetime

    from civgrid.grids.boundaries.store import Store
    from civgrid.grids.core.db import make_engine
    from civgrid.grids.demo.load import load_demo
    from civgrid.grids.demo.season import simulate
    from civgrid.grids.issues.config import IssueConfig
    from support.mapdata import make_app

    root = tmp_path_factory.mktemp("csp")
    url = f"sqlite:///{root / 'sim.sqlite'}"
    store = Store(make_engine(url))
    try:
        store.upgrade()
        assert load_demo(store).ok
        store.rebuild_index()
        end = datetime(2025, 6, 30, 10, 0, tzinfo=UTC)
        simulate(store, days=20, end=end, config=IssueConfig(photo_dir=root / "photos"))
    finally:
        store.engine.dispose()
    with serve(make_app(url, root / "var")) as base:
        yield base


@pytest.fixture
def context(browser, server):
    from support.authclient import browser_login

    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    browser_login(ctx, server.app, server)
    yield ctx
    ctx.close()


def _clean(page) -> None:
    """No script error, no CSP violation in the console or as an event."""
    page.wait_for_timeout(300)
    assert page.errors == [], page.errors
    assert page.evaluate("window.__cspViolations") == []


def _open(context, url: str, ready: str | None = None):
    page = context.new_page()
    watch(page)
    page.goto(url)
    if ready:
        try:
            page.wait_for_function(ready, timeout=60_000)
        except Exception as exc:  # say why: the blocked scripts
            raise AssertionError(f"{url} never got ready: {page.errors}") from exc
    else:
        page.wait_for_load_state("networkidle")
    return page


def test_login_page_under_the_csp(browser, server):
    ctx = browser.new_context(locale="zh-CN")
    try:
        page = _open(ctx, server + "/login")
        _clean(page)
        # the form still logs in (form-action 'self', same-origin POST)
        from support.authclient import ensure_user

        ensure_user(server.app.state.store, "csp-viewer", "viewer")
        assert page.locator("#login").count() == 1
    finally:
        ctx.close()


def test_map_issue_list_and_detail_under_the_csp(context, server):
    page = _open(context, server + "/map", MAP_READY)
    _clean(page)
    assert page.evaluate("civgrid.state.issueCount") > 0  # the issue list got drawn
    # an issue's detail: the popup fetched from the API
    page.evaluate("""() => { const m = civgrid.state.issueMarkers[0];
        civgrid.ctx.issues.group.zoomToShowLayer(m, () => m.openPopup()); }""")
    page.wait_for_selector(".cg-issue-popup", timeout=20_000)
    assert "主办单位" in page.inner_text(".leaflet-popup-content")
    _clean(page)


def test_heat_and_leader_maps_under_the_csp(context, server):
    _clean(_open(context, server + "/map/heat", MAP_READY))
    _clean(_open(context, server + "/leaders/L10", MAP_READY))


def test_patrol_page_under_the_csp(context, server):
    page = _open(context, server + "/patrol", PATROL_READY)
    _clean(page)


@pytest.mark.parametrize("path", ["/", "/scores", "/scores/bulletin", "/docs", "/redoc"])
def test_other_pages_under_the_csp(context, server, path):
    page = _open(context, server + path)
    _clean(page)
    if path == "/docs":  # Swagger UI ran from the local bundle
        page.wait_for_selector(".opblock", timeout=30_000)
        _clean(page)
    if path == "/redoc":  # ReDoc ran from the local bundle
        page.wait_for_selector(".api-content h2", timeout=30_000)
        _clean(page)


@pytest.mark.parametrize(
    ("path", "rendered"), [("/docs", ".opblock"), ("/redoc", ".api-content h2")]
)
def test_api_docs_render_offline(context, server, path, rendered):
    """Every request outside the app is cut (an intranet): the docs still render."""
    outside: list[str] = []

    def only_local(route):
        if route.request.url.startswith(server):
            return route.continue_()
        outside.append(route.request.url)
        return route.abort()

    page = context.new_page()
    page.route("**/*", only_local)
    page.goto(server + path)
    page.wait_for_selector(rendered, timeout=30_000)
    assert "Issue" in page.inner_text("body") or "issue" in page.inner_text("body")
    assert outside == []


def test_leaflet_controls_in_chinese_metric_plain_attribution(context, server):
    page = _open(context, server + "/map", MAP_READY)
    assert page.get_attribute(".leaflet-control-zoom-in", "title") == "放大"
    assert page.get_attribute(".leaflet-control-zoom-out", "title") == "缩小"
    scales = page.eval_on_selector_all(
        ".leaflet-control-scale-line", "s => s.map(x => x.textContent)"
    )
    assert len(scales) == 1 and scales[0].split()[-1] in ("m", "km"), scales
    assert page.locator(".leaflet-control-attribution svg").count() == 0
    assert page.inner_text(".leaflet-control-attribution").startswith("Leaflet")
    icon = page.request.get(server + "/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"].startswith("image/")
