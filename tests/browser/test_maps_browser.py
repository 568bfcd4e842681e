"""The map pages in a real browser: Debian's headless Chromium driven by Playwright.

The demo county is loaded and a season of issues simulated (``civgrid simulate``'s
function), the app is served by uvicorn in a thread, and the pages are checked
against the API they load from: layers present, as many markers/hexagons as the
API returns, a category filter changes what is shown, a polygon drawn on the
map reassigns the issues inside it through the API (the history shows it), and
a leader sees only their own areas. Screenshots go to the ``img`` folder
(``docs/img/`` under ``make screenshots``).

Never skipped: a missing ``/usr/bin/chromium`` or Playwright fails (Playwright's own browser
download is never used).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from browserkit import serve, watch

SIM_END = datetime(2025, 6, 30, 10, 0, tzinfo=UTC)

pytestmark = [pytest.mark.browser]

READY = "() => window.civgrid && civgrid.state.ready && civgrid.state.loading === 0"


@pytest.fixture(scope="module")
def sim_db(tmp_path_factory) -> str:
    """The demo county with 40 simulated days of issues (SQLite file)."""
    from civgrid.grids.boundaries.store import Store
    from civgrid.grids.core.db import make_engine
    from civgrid.grids.demo.load import load_demo
    from civgrid.grids.demo.season import simulate
    from civgrid.grids.issues.config import IssueConfig

    root = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{root / 'sim.sqlite'}"
    store = Store(make_engine(url))
    try:
        store.upgrade()
        assert load_demo(store).ok
        store.rebuild_index()
        cfg = IssueConfig(photo_dir=root / "photos")
        simulate(store, days=40, end=SIM_END, config=cfg)
        # a citizen's report of the last hour, still waiting in triage (the season's
        # own reports are triaged the morning after, so none may be left)
        from civgrid.grids.core.actors import Actor
        from civgrid.grids.issues import service as svc
        from support.issue_helpers import COMPOUND, point_in

        lon, lat = point_in(store, COMPOUND)
        with store.session() as session:
            svc.report_issue(
                session,
                store,
                Actor("公众", "citizen", None),
                svc.IssueReport(
                    category="dumping",
                    source="citizen_complaint",
                    lon=lon,
                    lat=lat,
                    reported_at=SIM_END - timedelta(hours=1),
                    description="楼道口堆放杂物",
                ),
                config=cfg,
            )
    finally:
        store.engine.dispose()
    return url


@pytest.fixture(scope="module")
def server(sim_db, tmp_path_factory):
    """The app on a free port, served by uvicorn in a thread; yields its base URL."""
    from support.mapdata import make_app

    with serve(make_app(sim_db, tmp_path_factory.mktemp("var"))) as base:
        yield base


@pytest.fixture
def page(browser, server):
    """A page logged in as the admin (the session cookie of the login page)."""
    from support.authclient import browser_login

    ctx = browser.new_context(
        viewport={"width": 1440, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    browser_login(ctx, server.app, server)
    pg = ctx.new_page()
    watch(pg)
    yield pg
    ctx.close()


def open_page(page, url: str) -> None:
    page.goto(url)
    try:
        page.wait_for_function(READY, timeout=60_000)
    except Exception as exc:  # say why the page never got ready: its script errors
        raise AssertionError(f"{url} never got ready; page errors: {page.errors}") from exc
    page.wait_for_timeout(300)  # let Leaflet finish drawing
    assert page.errors == []
    assert page.evaluate("civgrid.state.errors") == []


def wait_loaded(page) -> None:
    page.wait_for_function("() => civgrid.state.loading === 0", timeout=30_000)
    page.wait_for_timeout(200)


def api(server: str, path: str) -> dict:
    from support.authclient import token_for

    auth = {"Authorization": f"Bearer {token_for(server.app, 'admin', 'admin')}"}
    r = httpx.get(server + path, timeout=60, headers=auth)
    assert r.status_code == 200, r.text[:300]
    return r.json()


def test_command_center_map(page, server, img):
    open_page(page, server + "/map")
    overlay = page.inner_text(".leaflet-control-layers-overlays")
    for label in (
        "乡镇/街道",
        "社区/行政村网格",
        "单元网格",
        "路段（路长制）",
        "重点点位",
        "重点点位周边400米",
        "督导范围",
        "问题（按状态）",
    ):
        assert label in overlay, label
    counts = page.evaluate("civgrid.state.layerCounts")
    # 42 key sites of the central city and the 13 rural township seats (issue 24)
    assert counts["township"] == 16 and counts["community"] == 14 and counts["key_site"] == 55
    # as many issue markers as the API returns for the page's own query
    url = page.evaluate("civgrid.state.lastIssueUrl")
    fc = api(server, url)
    assert fc["count"] > 100
    assert page.evaluate("civgrid.state.issueCount") == fc["count"]
    assert page.evaluate("civgrid.issues.group.getLayers().length") == fc["count"]
    ids = set(page.evaluate("civgrid.state.issueMarkers.map(m => m.cgProps.id)"))
    assert ids == {f["id"] for f in fc["features"]}
    assert page.locator(".marker-cluster").count() + page.locator(".cg-issue").count() > 0
    assert page.inner_text("#cg-issue-count") == str(fc["count"])
    # Chinese legend and labels
    legend = page.inner_text("#cg-legend")
    assert "问题状态" in legend and "整改中" in legend and "超期" in legend
    assert page.locator(".cg-label-community").count() == 14
    page.screenshot(path=str(img / "map-command-center.png"))

    # the category filter changes what is shown
    cats = {}
    for f in fc["features"]:
        cats[f["properties"]["category"]] = cats.get(f["properties"]["category"], 0) + 1
    cat = max(cats, key=cats.get)
    page.select_option("#cg-f-category", cat)
    page.wait_for_function(f"() => civgrid.state.lastIssueUrl.includes('category={cat}')")
    wait_loaded(page)
    filtered = api(server, page.evaluate("civgrid.state.lastIssueUrl"))
    shown = page.evaluate("civgrid.state.issueCount")
    assert shown == filtered["count"] == cats[cat] < fc["count"]
    assert set(page.evaluate("civgrid.state.issueMarkers.map(m => m.cgProps.category)")) == {cat}
    # a popup shows the details fetched from the API
    page.evaluate("""() => { const m = civgrid.state.issueMarkers[0];
        civgrid.ctx.issues.group.zoomToShowLayer(m, () => m.openPopup()); }""")
    page.wait_for_selector(".cg-issue-popup", timeout=20_000)
    popup = page.inner_text(".leaflet-popup-content")
    assert "主办单位" in popup and "认定依据" in popup and "上报时间" in popup


def test_central_city_layer_and_the_central_rural_split(page, server, img):
    """Issue 24: the central city (中心城区) is a layer of the command-center map; the 城乡
    filter shows the central or the rural issues, as the API counts them, and the two
    add up to the county's."""
    open_page(page, server + "/map")
    overlays = page.locator(".leaflet-control-layers-overlays label")
    overlays.filter(has_text="中心城区").locator("input").check()
    page.wait_for_function("() => civgrid.state.layerCounts.central_city === 1")
    wait_loaded(page)
    page.screenshot(path=str(img / "map-central-city.png"))
    url = page.evaluate("civgrid.state.lastIssueUrl")
    everything = api(server, url)["count"]
    assert page.evaluate("civgrid.state.issueCount") == everything > 0
    # the county's issues (the simulation also reports a few just outside it)
    county = api(server, "/api/v1/layers/county.geojson")["features"][0]["id"]
    in_county = api(server, f"{url}&area={county}")["count"]
    shown = {}
    for zone in ("central", "rural"):
        page.select_option("#cg-f-zone", zone)
        page.wait_for_function(f"() => civgrid.state.lastIssueUrl.includes('zone={zone}')")
        wait_loaded(page)
        shown[zone] = page.evaluate("civgrid.state.issueCount")
        assert shown[zone] == api(server, page.evaluate("civgrid.state.lastIssueUrl"))["count"]
    assert shown["central"] > 0 and shown["rural"] > 0, shown
    assert shown["central"] + shown["rural"] == in_county
    # the issue list API splits the same way
    totals = {
        z: api(server, f"/api/v1/issues?limit=1&{z}")["total"]
        for z in (f"area={county}", "zone=central", "zone=rural")
    }
    assert totals["zone=central"] + totals["zone=rural"] == totals[f"area={county}"], totals


def _reassignable(page) -> dict:
    return page.evaluate(
        """() => civgrid.state.issueMarkers.map(m => m.cgProps)
             .filter(p => ['assigned', 'rectifying', 'returned'].includes(p.state))[0]"""
    )


def test_draw_polygon_and_reassign(page, server, img):
    open_page(page, server + "/map")
    page.select_option("#cg-f-state", "kind:open")
    wait_loaded(page)
    target = _reassignable(page)
    assert target, "the simulation left open issues"
    before = api(server, f"/api/v1/issues/{target['id']}")
    # zoom in on the issue, then draw a square around it with the polygon tool
    page.evaluate(
        """(id) => { const m = civgrid.state.issueMarkers.find(x => x.cgProps.id === id);
             civgrid.ctx.issues.group._map.setView(m.getLatLng(), 17, {animate: false}); }""",
        target["id"],
    )
    wait_loaded(page)
    page.wait_for_timeout(500)
    box = page.evaluate(
        """(id) => { const m = civgrid.state.issueMarkers.find(x => x.cgProps.id === id);
             const map = civgrid.ctx.issues.group._map;
             const p = map.latLngToContainerPoint(m.getLatLng());
             const r = map.getContainer().getBoundingClientRect();
             return {x: p.x + r.left, y: p.y + r.top}; }""",
        target["id"],
    )
    page.click(".leaflet-draw-draw-polygon")
    d = 70
    for n, (dx, dy) in enumerate(((-d, -d), (d, -d), (d, d), (-d, d)), start=1):
        page.mouse.click(box["x"] + dx, box["y"] + dy)
        # each vertex must be registered before the next click (slow machines drop clicks)
        page.wait_for_function(
            f"() => document.querySelectorAll('.leaflet-editing-icon').length >= {n}",
            timeout=10_000,
        )
        page.wait_for_timeout(300)
    finish = ".leaflet-draw-actions a[title='完成绘制']"
    for _attempt in range(4):
        page.click(finish)
        try:
            page.wait_for_selector("#cg-selected-count", timeout=10_000)
            break
        except Exception:
            # a loaded machine drops clicks (as for the vertices above): while the draw
            # toolbar still offers 完成绘制 the shape is open, so finish it again
            if not page.is_visible(finish):
                break
    state = page.evaluate(
        "() => ({icons: document.querySelectorAll('.leaflet-editing-icon').length,"
        " panel: !!document.querySelector('#cg-selected-count'),"
        " side: (document.querySelector('#cg-side') || {}).innerText || '',"
        " loading: civgrid.state.loading})"
    )
    state["finish_visible"] = page.is_visible(finish)
    state["side"] = state["side"][:200]
    assert state["panel"], f"no selection panel; page: {state}, errors: {page.errors}"
    selection = page.evaluate("civgrid.state.selection")
    assert target["id"] in selection
    assert int(page.inner_text("#cg-selected-count")) == len(selection)
    befores = {i: api(server, f"/api/v1/issues/{i}") for i in selection}
    # the picker searches by name or code; pick a unit owning one of the selection, so
    # that issue is skipped untouched while the others are reassigned
    owners = [b["owner_unit"]["key"] for b in befores.values() if b["owner_unit"]]
    new_unit = next((u for u in owners if u != (before["owner_unit"] or {}).get("key")), None)
    if new_unit is None:
        units = page.evaluate(
            "Array.from(document.querySelectorAll('#cg-r-unit option')).map(o => o.value)"
        )
        new_unit = next(u for u in units if u and u != (before["owner_unit"] or {}).get("key"))
    page.fill("#cg-r-search", new_unit)
    assert page.evaluate("document.querySelector('#cg-r-unit').value") == new_unit
    page.fill("#cg-r-note", "浏览器测试：按位置改派")
    page.click("#cg-r-submit")
    page.wait_for_selector("#cg-r-confirm", timeout=10_000)
    own = [i for i, b in befores.items() if (b["owner_unit"] or {}).get("key") == new_unit]
    confirm = page.inner_text("#cg-r-confirm-text")
    assert f"将把 {len(selection) - len(own)} 个问题改派给" in confirm
    assert (f"另有 {len(own)} 个已由该单位主办，将跳过" in confirm) == bool(own)
    page.screenshot(path=str(img / "map-reassign.png"))
    page.click("#cg-r-confirm")
    page.wait_for_function("() => civgrid.state.lastReassign !== null", timeout=30_000)
    wait_loaded(page)
    result = page.evaluate("civgrid.state.lastReassign")
    outcome = {i["issue_id"]: i["outcome"] for i in result["items"]}
    assert outcome == {i: "skipped" if i in own else "reassigned" for i in selection}
    for issue_id in selection:
        after = api(server, f"/api/v1/issues/{issue_id}")
        assert after["owner_unit"]["key"] == new_unit
        last = after["history"][-1]
        if issue_id in own:  # skipped: state, deadline and history untouched
            assert after["state"] == befores[issue_id]["state"]
            assert after["deadline"] == befores[issue_id]["deadline"]
            assert after["history"] == befores[issue_id]["history"]
            continue
        assert last["action"] == "reassign" and last["note"] == "浏览器测试：按位置改派"
        assert last["actor"]["role"] == "command_center"
    # the history in the page shows it too
    moved = next(i for i in selection if i not in own)
    page.click(f"[data-cg-detail='{moved}']")
    page.wait_for_selector("#cg-history li.cg-event-reassign", timeout=20_000)
    assert "改派" in page.inner_text("#cg-history")
    # undo the whole batch from the history: every reassigned issue back as it was
    page.once("dialog", lambda d: d.accept())
    page.click("#cg-history [data-cg-undo-batch]")
    page.wait_for_function("() => civgrid.state.lastUndo !== null", timeout=30_000)
    assert page.evaluate("civgrid.state.lastUndo.counts") == {"restored": len(selection) - len(own)}
    assert "已撤销" in page.inner_text("#cg-r-undone")
    for issue_id in selection:
        after = api(server, f"/api/v1/issues/{issue_id}")
        for key in ("owner_unit", "state", "deadline", "co_responsible_units"):
            assert after.get(key) == befores[issue_id].get(key), (issue_id, key)


def test_dispatch_panel_preselects_and_asks_a_reason(page, server, img):
    """交办 from a popup: the routing's unit preselected with its reason, a searchable
    picker, a warning and a required reason for a unit outside the place's units."""
    open_page(page, server + "/map")
    page.select_option("#cg-f-state", "state:triage")
    wait_loaded(page)
    ids = page.evaluate("civgrid.state.issueMarkers.map(m => m.cgProps.id)")
    opts = next(
        o
        for o in (api(server, f"/api/v1/issues/{i}/dispatch-options") for i in ids)
        if o["suggested"]
    )
    issue_id = opts["issue_id"]
    page.evaluate(
        """(id) => { const m = civgrid.state.issueMarkers.find(x => x.cgProps.id === id);
             civgrid.ctx.issues.group.zoomToShowLayer(m, () => m.openPopup()); }""",
        issue_id,
    )
    page.click(f"[data-cg-reassign='{issue_id}']")
    page.wait_for_selector("#cg-r-suggest", timeout=20_000)
    assert page.inner_text("#cg-side h3").startswith("交办") and "改派" not in page.inner_text(
        "#cg-side h3"
    )
    assert page.evaluate("document.querySelector('#cg-r-unit').value") == opts["suggested"]
    assert "建议交办给" in page.inner_text("#cg-r-suggest")
    assert not page.is_visible("#cg-r-warn")
    place = {u["key"] for u in opts["responsible"]}
    outside = next(u for u in opts["units"] if u["key"] not in place)
    page.fill("#cg-r-search", outside["name"])
    assert page.evaluate("document.querySelector('#cg-r-unit').value") == outside["key"]
    assert page.is_visible("#cg-r-warn")
    page.click("#cg-r-submit")
    assert "请填写理由" in page.inner_text("#cg-r-result")
    page.fill("#cg-r-note", "浏览器测试：交界处，先由该单位处置")
    page.screenshot(path=str(img / "map-dispatch.png"))
    page.click("#cg-r-submit")
    page.wait_for_function("() => civgrid.state.lastDispatch !== null", timeout=30_000)
    assert page.evaluate("civgrid.state.lastDispatch.ok"), page.evaluate(
        "civgrid.state.lastDispatch"
    )
    after = api(server, f"/api/v1/issues/{issue_id}")
    assert after["state"] == "assigned" and after["owner_unit"]["key"] == outside["key"]
    last = after["history"][-1]
    assert last["action"] == "dispatch" and last["note"] == "浏览器测试：交界处，先由该单位处置"
    assert last["data"]["outside_responsibility"] is True


def test_heat_map(page, server, img):
    open_page(page, server + "/map/heat")
    fc = api(server, page.evaluate("civgrid.state.lastHexUrl"))
    assert fc["features"] and fc["hotspots"]
    assert page.evaluate("civgrid.state.hexCount") == len(fc["features"])
    assert page.locator("path.cg-hex").count() == len(fc["features"])
    assert page.locator("#cg-hotspots li[data-cell]").count() == len(fc["hotspots"])
    first = page.inner_text("#cg-hotspots li[data-cell] >> nth=0")
    assert (fc["hotspots"][0]["community_name"] or "（未入网格）") in first
    assert "H3 六边形热点" in page.inner_text(".leaflet-control-layers-overlays")
    assert "密度热力" in page.inner_text(".leaflet-control-layers-overlays")
    page.screenshot(path=str(img / "map-heat.png"))
    # a category narrows the hexagons
    cat = fc["hotspots"][0]["top_category"]
    page.select_option("#cg-h-category", cat)
    page.wait_for_function(f"() => civgrid.state.lastHexUrl.includes('category={cat}')")
    wait_loaded(page)
    narrowed = api(server, page.evaluate("civgrid.state.lastHexUrl"))
    assert page.evaluate("civgrid.state.hexCount") == len(narrowed["features"])
    assert narrowed["issues"] < fc["issues"]
    # the density layer
    page.check("text=密度热力")
    wait_loaded(page)
    assert page.evaluate("civgrid.state.densityPoints") > 0
    assert page.locator("canvas.leaflet-heatmap-layer").count() == 1


def test_leader_pages(page, server, img):
    seen = {}
    for key in ("L01", "L10"):
        open_page(page, server + f"/leaders/{key}")
        fc = api(server, page.evaluate("civgrid.state.lastIssueUrl"))
        assert f"leader={key}" in page.evaluate("civgrid.state.lastIssueUrl")
        assert page.evaluate("civgrid.state.issueCount") == fc["count"]
        table = page.inner_text("#cg-leader-table")
        assert "分包社区" in table
        assert "暂无记录" in page.inner_text("#cg-visits")
        codes = page.evaluate(
            "Object.values(civgrid.ctx.boundaries).filter(b => b.entry.key !== 'county')"
            ".flatMap(b => b.data.features.map(f => f.id))"
        )
        seen[key] = (set(codes), {f["id"] for f in fc["features"]})
        if key == "L10":
            page.screenshot(path=str(img / "map-leader.png"))
    assert not (seen["L01"][0] & seen["L10"][0])
    assert not (seen["L01"][1] & seen["L10"][1])
