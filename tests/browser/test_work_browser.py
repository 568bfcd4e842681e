"""The daily work of the roles through the pages only, in headless Chromium.

The unit handler opens their queue from the home page, accepts an issue, submits the fix
with measures and a photo (after the form refused it empty, in Chinese), and asks for an
extension on another, which the dispatcher approves on its page; the handler then sees the
decision of that very request in the history. The inspector re-inspects one issue (pass)
and another (fail, with a note and a photo); the leader opens their page from the home
page; the admin checks the responsibility gaps and the outbox against the API and reopens
a closed issue; the grid worker reports from the phone app and finds the report in their
list. Each test then reads the issue's state and history through the API. Layout: no
horizontal scroll at 1366×768, and at 390×844 the issue page and the queue have none and
their submit buttons show. An expired session sends the next action to the login page and
back to the same page. Screenshots go to ``img`` (``make screenshots``: ``docs/img``, the
``role-*.png`` shown in the README and docs/screens.md).
"""

from __future__ import annotations

import httpx
import pytest
from browserkit import serve, watch

pytestmark = [pytest.mark.browser]

DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
NO_HSCROLL = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The demo county (no issues yet) served on a free port; the world's issues are
    reported through the API by :func:`report`."""
    from civgrid.grids.boundaries.store import Store
    from civgrid.grids.core.db import make_engine
    from civgrid.grids.demo.load import load_demo
    from civgrid.grids.issues.config import IssueConfig
    from support.mapdata import make_app

    root = tmp_path_factory.mktemp("work-browser")
    url = f"sqlite:///{root / 'demo.sqlite'}"
    store = Store(make_engine(url))
    try:
        store.upgrade()
        assert load_demo(store).ok
    finally:
        store.engine.dispose()
    app = make_app(url, root / "var")
    with serve(app) as base:
        # many reports at the same few points: no duplicate merging
        app.state.issue_config = IssueConfig(photo_dir=root / "photos", duplicate_radius_m=0)
        yield base


def admin_headers(server) -> dict[str, str]:
    from support.authclient import token_for

    return {"Authorization": f"Bearer {token_for(server.app, 'admin', 'admin')}"}


def api(server, method: str, path: str, **kw) -> dict:
    r = httpx.request(method, server + path, headers=admin_headers(server), timeout=60, **kw)
    assert r.status_code in (200, 201), (path, r.status_code, r.text[:300])
    return r.json()


@pytest.fixture(scope="module")
def place(server):
    """A point inside a demo compound (reports there are routed to an owner unit)."""
    from support.issue_helpers import point_in

    return point_in(server.app.state.store, "411327001001003")


def report(server, place, **extra) -> dict:
    body = {"category": "dumping", "source": "field_supervision", "lon": place[0]}
    body.update(lat=place[1], description="绿化带内堆放建筑垃圾", **extra)
    d = api(server, "POST", "/api/v1/issues", json=body)
    assert d["state"] == "assigned" and d["owner_unit"], d["state"]
    return d


def submitted(server, place) -> dict:
    """An issue the owner unit has fixed (through the API), awaiting re-inspection."""
    from support.mapdata import PNG

    d = report(server, place)
    api(server, "POST", f"/api/v1/issues/{d['id']}/transitions", json={"action": "accept"})
    return api(
        server,
        "POST",
        f"/api/v1/issues/{d['id']}/transitions",
        data={"action": "submit", "measures": "已清运"},
        files=[("photos", ("p.png", PNG, "image/png"))],
    )


def context(browser, server, role: str | None, viewport=DESKTOP, **kw):
    from support.authclient import browser_login

    ctx = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
    if role is not None:
        browser_login(ctx, server.app, server, role=role, **kw)
    return ctx


def new_page(ctx):
    pg = ctx.new_page()
    watch(pg)
    return pg


def no_hscroll(pg, what: str) -> None:
    assert pg.evaluate(NO_HSCROLL), f"{what}: horizontal scroll at {pg.viewport_size}"


def history(server, issue_id: int) -> list[str]:
    return [e["action"] for e in api(server, "GET", f"/api/v1/issues/{issue_id}")["history"]]


def submit_and_wait(pg, form: str) -> None:
    try:
        with pg.expect_navigation(timeout=15_000):
            pg.click(f"#{form} button[type=submit]")
    except Exception as exc:
        said = pg.inner_text("body")[-600:]
        raise AssertionError(f"{form} did not go through: {pg.errors} {said}") from exc
    pg.wait_for_load_state()


def test_unit_handler_accepts_fixes_with_a_photo_and_asks_for_time(browser, server, place, img):
    from support.mapdata import PNG

    a = report(server, place)
    b = report(server, place)
    unit = a["owner_unit"]["key"]
    ctx = context(browser, server, "unit_handler", unit=unit)
    pg = new_page(ctx)
    try:
        pg.goto(f"{server}/")
        assert pg.inner_text("#cg-home-heading") == "本单位待办"
        no_hscroll(pg, "home")
        pg.screenshot(path=str(img / "work-unit-home.png"))
        pg.click('a[data-figure="待签收"]')
        pg.wait_for_selector("#cg-queue")
        assert pg.is_visible(f"#cg-row-{a['id']}") and pg.is_visible(f"#cg-row-{b['id']}")
        no_hscroll(pg, "queue")
        pg.screenshot(path=str(img / "work-unit-queue.png"))
        pg.click(f"#cg-row-{a['id']} a")
        pg.wait_for_selector("#cg-form-accept")
        no_hscroll(pg, "issue page")
        submit_and_wait(pg, "cg-form-accept")
        assert "整改中" in pg.inner_text("#cg-issue-summary")
        # the fix, first empty: refused in Chinese next to the fields, nothing sent
        pg.click("#cg-form-submit button[type=submit]")
        assert (
            pg.inner_text('#cg-form-submit .cg-field-err[data-for="measures"]') == "请填写整改措施"
        )
        assert "请上传" in pg.inner_text('#cg-form-submit .cg-field-err[data-for="photos"]')
        assert "请按提示填写" in pg.inner_text("#cg-toast")
        pg.fill("#cg-submit-measures", "已清运垃圾并恢复绿化")
        pg.set_input_files(
            "#cg-submit-photos", files=[{"name": "fix.png", "mimeType": "image/png", "buffer": PNG}]
        )
        pg.screenshot(path=str(img / "work-unit-submit.png"), full_page=True)
        submit_and_wait(pg, "cg-form-submit")
        assert "待复查" in pg.inner_text("#cg-issue-summary")
        assert pg.locator('#cg-photos figure[data-stage="fix"] img').count() == 1
        # an extension on the other issue
        pg.goto(f"{server}/issues/{b['id']}")
        pg.fill("#cg-ext-days", "0")
        pg.fill("#cg-ext-reason", "需协调绿化部门补种")
        pg.click("#cg-form-extension_request button[type=submit]")
        assert "整数" in pg.inner_text('.cg-field-err[data-for="working_days"]')
        pg.fill("#cg-ext-days", "3")
        submit_and_wait(pg, "cg-form-extension_request")
        assert pg.locator("#cg-form-extension_request").count() == 0  # one pending at a time
        before = api(server, "GET", f"/api/v1/issues/{b['id']}")["deadline"]
        # the command center decides this very request, on its page
        decide(browser, server, b["id"], "需协调绿化部门补种")
        # and the handler sees the decision of their own request in the history
        pg.goto(f"{server}/issues/{b['id']}")
        last = pg.locator("#cg-history li").last.inner_text()
        assert "延期审批" in last, last
        assert "时限规则\t已批准延期" in pg.inner_text("#cg-routing")  # not the stored code
        assert pg.locator("#cg-form-extension_request").count() == 1  # may ask again
        pg.locator("#cg-history").scroll_into_view_if_needed()
        pg.screenshot(path=str(img / "role-unit_handler.png"))
        assert pg.errors == [], pg.errors
    finally:
        ctx.close()
    da = api(server, "GET", f"/api/v1/issues/{a['id']}")
    assert da["state"] == "submitted" and da["measures"] == "已清运垃圾并恢复绿化"
    assert [e["action"] for e in da["history"]][-2:] == ["accept", "submit"]
    assert da["history"][-1]["photos"], "the fix's photo is in the history"
    db = api(server, "GET", f"/api/v1/issues/{b['id']}")
    assert "extension_pending" not in db["flags"]
    (decided,) = db["extensions"]
    assert (decided["status"], decided["reason"]) == ("approved", "需协调绿化部门补种")
    asked, answered = db["history"][-2:]
    assert asked["action"] == "extension_request" and answered["action"] == "extension_decision"
    # the request decided is the one this handler made on the page, decided by the center
    assert (asked["actor"]["who"], asked["actor"]["unit"]) == ("unit_handler-browser", unit)
    assert (answered["actor"]["who"], answered["actor"]["role"]) == (
        "dispatcher-browser",
        "command_center",
    )
    assert db["deadline"] > before, "the approved days moved the deadline"


def decide(browser, server, issue_id: int, reason: str) -> None:
    """The dispatcher approves the pending extension request of ``issue_id`` on its page."""
    ctx = context(browser, server, "dispatcher")
    pg = new_page(ctx)
    try:
        pg.goto(f"{server}/issues/{issue_id}")
        assert reason in pg.inner_text("#cg-form-extension_decision")
        pg.check("#cg-form-extension_decision input[name=approve][value=true]")
        submit_and_wait(pg, "cg-form-extension_decision")
        assert pg.locator("#cg-form-extension_decision").count() == 0
        assert pg.errors == [], pg.errors
    finally:
        ctx.close()


def test_inspector_reinspects_one_pass_one_fail(browser, server, place, img):
    from support.mapdata import PNG

    ok, bad = submitted(server, place), submitted(server, place)
    ctx = context(browser, server, "inspector")
    pg = new_page(ctx)
    try:
        pg.goto(f"{server}/")
        assert pg.inner_text("#cg-home-heading") == "今日巡查与复查"
        pg.click('a[data-figure="待复查"]')
        pg.wait_for_selector(f"#cg-row-{ok['id']}")
        pg.goto(f"{server}/issues/{ok['id']}")
        pg.check('#cg-form-reinspect input[name=passed][value="true"]')
        submit_and_wait(pg, "cg-form-reinspect")
        assert "已结案" in pg.inner_text("#cg-issue-summary")
        pg.goto(f"{server}/issues/{bad['id']}")
        pg.check('#cg-form-reinspect input[name=passed][value="false"]')
        pg.click("#cg-form-reinspect button[type=submit]")
        assert "复查意见" in pg.inner_text('.cg-field-err[data-for="note"]')
        pg.fill("#cg-reinspect-note", "仍有残留垃圾")
        pg.set_input_files(
            "#cg-reinspect-photos",
            files=[{"name": "re.png", "mimeType": "image/png", "buffer": PNG}],
        )
        pg.screenshot(path=str(img / "role-inspector.png"), full_page=True)
        submit_and_wait(pg, "cg-form-reinspect")
        assert "已退回" in pg.inner_text("#cg-issue-summary")
        assert pg.errors == [], pg.errors
    finally:
        ctx.close()
    a, b = (api(server, "GET", f"/api/v1/issues/{d['id']}") for d in (ok, bad))
    assert a["state"] == "closed" and a["history"][-1]["action"] == "reinspect"
    assert b["state"] == "returned" and b["history"][-1]["note"] == "仍有残留垃圾"
    assert b["history"][-1]["photos"] and b["return_count"] == 1


def test_leader_opens_their_page_from_home(browser, server, img):
    ctx = context(browser, server, "leader", leader="L10")
    pg = new_page(ctx)
    try:
        pg.goto(f"{server}/")
        assert pg.inner_text("#cg-home-heading") == "我负责的片区"
        no_hscroll(pg, "leader home")
        with pg.expect_navigation():
            pg.click('#cg-leader-links a[href="/leaders/L10"]')
        assert pg.url == f"{server}/leaders/L10"
        pg.screenshot(path=str(img / "role-leader.png"))
        assert [e for e in pg.errors if " /api/" not in e] == []
    finally:
        ctx.close()


def login_page(pg, server, name: str, path: str = "/") -> None:
    """Open ``path`` signed out: the login page (Chinese); sign in, back at ``path``."""
    from support.authclient import TEST_PASSWORD

    pg.goto(server + path)
    assert "/login?next=" in pg.url and "登录" in pg.title()
    pg.fill("#username", name)
    pg.fill("#password", TEST_PASSWORD)
    with pg.expect_navigation():
        pg.click("#login")


def test_admin_checks_gaps_and_outbox_and_reopens_an_issue(browser, server, place, img):
    """The admin's day through the pages: home (today's reports), the responsibility gap
    list from the navigation, the outbox from the home's 系统 block, and a closed issue
    reopened with a reason; the figures and the issue are then read through the API."""
    from support.authclient import ensure_user

    name, _ = ensure_user(server.app.state.store, "admin-login", "admin")
    mine = report(server, place)
    done = submitted(server, place)
    api(
        server,
        "POST",
        f"/api/v1/issues/{done['id']}/transitions",
        json={"action": "reinspect", "passed": True},
    )
    gaps = api(server, "GET", "/api/v1/responsibility/gaps")
    outbox = api(server, "GET", "/api/v1/notifications/outbox")
    ctx = context(browser, server, None)
    pg = new_page(ctx)
    try:
        login_page(pg, server, name)
        assert pg.inner_text("#cg-home-heading") == "今日待办与数据"
        no_hscroll(pg, "admin home")
        pg.screenshot(path=str(img / "role-admin.png"))
        pg.click('a[data-figure="今日上报"]')
        pg.wait_for_selector(f"#cg-row-{mine['id']}")
        with pg.expect_navigation():
            pg.click('#cg-nav a[href="/responsibility/gaps"]')
        said = pg.inner_text("#cg-gap-summary")
        assert f"{len(gaps['gaps'])} 处无责任单位" in said.replace("\n", ""), said
        assert pg.locator("#cg-gaps tbody tr").count() == len(gaps["gaps"])
        pg.goto(f"{server}/")
        with pg.expect_navigation():
            pg.click('a[href="/notifications/outbox"]')
        rows = pg.locator("#cg-outbox-counts tr").count() - 1 if outbox else 0
        assert rows == len(outbox), (rows, outbox)
        for c in outbox:
            assert str(c["count"]) in pg.inner_text("#cg-outbox-counts")
        pg.goto(f"{server}/issues/{done['id']}")
        assert "已结案" in pg.inner_text("#cg-issue-summary")
        pg.click("#cg-form-reopen button[type=submit]")  # no reason: refused, in Chinese
        assert "理由" in pg.inner_text('#cg-form-reopen .cg-field-err[data-for="note"]')
        pg.fill("#cg-reopen-note", "群众再次反映垃圾未清理干净")
        submit_and_wait(pg, "cg-form-reopen")
        assert "整改中" in pg.inner_text("#cg-issue-summary")
        assert pg.errors == [], pg.errors
    finally:
        ctx.close()
    assert history(server, mine["id"]) == ["report"]
    d = api(server, "GET", f"/api/v1/issues/{done['id']}")
    assert d["state"] == "rectifying"
    last = d["history"][-1]
    assert (last["action"], last["note"]) == ("reopen", "群众再次反映垃圾未清理干净")
    assert last["actor"]["who"] == name


def test_grid_worker_reports_from_the_field_app_and_sees_it_in_their_list(
    browser, server, place, img
):
    """The grid worker signs in, reports a problem from the phone app (/m/report, the
    place given by the link), and finds it in their list of open reports from the home."""
    from support.authclient import ensure_user

    name, _ = ensure_user(server.app.state.store, "grid_worker-login", "grid_worker")
    ctx = context(browser, server, None, PHONE, is_mobile=True, has_touch=True)
    pg = new_page(ctx)
    try:
        login_page(pg, server, name)
        assert pg.inner_text("#cg-home-heading") == "我上报的问题"
        with pg.expect_navigation():
            pg.click('a[href="/m/report"]')
        # the place as a map link gives it (what a shared location opens)
        pg.goto(f"{pg.url}?lng={place[0]}&lat={place[1]}")
        pg.wait_for_function("() => window.civgrid && civgrid.field && civgrid.field.ready")
        code = "dumping"
        label = pg.evaluate(f"civgrid.field.cfg.categories.find(c => c.code === '{code}').name")
        pg.fill("#cg-cat-search", label)
        pg.click(f'.cg-m-cat[data-code="{code}"]')
        pg.fill("#cg-description", "路口绿化带堆放装修垃圾")
        pg.click("#cg-send")
        pg.wait_for_function("() => civgrid.field.lastReport", timeout=30_000)
        issue_id = pg.evaluate("civgrid.field.lastReport.id")
        pg.goto(f"{server}/")
        assert pg.inner_text("#cg-home-heading") == "我上报的问题"
        with pg.expect_navigation():
            pg.click('a[href="/queue?view=open"]')
        row = pg.locator(f"#cg-row-{issue_id}")
        assert "路口绿化带" in row.inner_text()
        no_hscroll(pg, "grid worker list")
        pg.screenshot(path=str(img / "role-grid_worker.png"), full_page=True)
        nav = pg.eval_on_selector_all("#cg-nav a", "els => els.map(e => e.getAttribute('href'))")
        assert "/responsibility/gaps" not in nav and "/patrol" not in nav
        assert pg.errors == [], pg.errors
    finally:
        ctx.close()
    d = api(server, "GET", f"/api/v1/issues/{issue_id}")
    assert d["source"] == "grid_worker" and d["state"] == "assigned", (d["source"], d["state"])
    assert d["description"] == "路口绿化带堆放装修垃圾"
    (first,) = d["history"]
    assert (first["action"], first["actor"]["who"]) == ("report", name)


def test_viewer_lands_on_the_map_and_is_offered_no_tool(browser, server, place, img):
    """The viewer's home is the map: issues with their details, and no draw tool, no
    交办/改派 button (they would be refused)."""
    d = report(server, place)
    ctx = context(browser, server, "viewer")
    pg = new_page(ctx)
    try:
        pg.goto(f"{server}/")
        assert pg.url == f"{server}/map"
        pg.wait_for_function(
            "() => window.civgrid && civgrid.state.ready && civgrid.state.loading === 0",
            timeout=60_000,
        )
        assert d["id"] in pg.evaluate("civgrid.state.issueMarkers.map(m => m.cgProps.id)")
        assert pg.locator(".leaflet-draw").count() == 0
        pg.evaluate(
            f"""() => {{ const m = civgrid.state.issueMarkers.find(x => x.cgProps.id === {d["id"]});
            civgrid.ctx.issues.group.zoomToShowLayer(m, () => m.openPopup()); }}"""
        )
        pg.wait_for_selector(".cg-issue-popup", timeout=20_000)
        assert "详情与处理记录" in pg.inner_text(".cg-issue-popup")
        assert pg.locator(".cg-issue-popup [data-cg-reassign]").count() == 0
        pg.screenshot(path=str(img / "role-viewer.png"))
        assert pg.errors == [], pg.errors
    finally:
        ctx.close()
    assert history(server, d["id"]) == ["report"]


def test_phone_layout_of_the_issue_page_and_queue(browser, server, place, img):
    d = report(server, place)
    ctx = context(browser, server, "unit_handler", PHONE, unit=d["owner_unit"]["key"])
    pg = new_page(ctx)
    try:
        for url, form in (
            (f"/issues/{d['id']}", "#cg-form-accept"),
            ("/queue", "#cg-queue-filters"),
        ):
            pg.goto(server + url)
            no_hscroll(pg, url)
            button = pg.locator(f"{form} button[type=submit]")
            button.scroll_into_view_if_needed()
            assert button.is_visible(), url
            box = button.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (url, box)
            name = "issue" if "issues" in url else "queue"
            pg.screenshot(path=str(img / f"work-phone-{name}.png"), full_page=True)
    finally:
        ctx.close()


def test_expired_session_goes_to_login_and_back(browser, server, place):
    from support.authclient import TEST_PASSWORD, ensure_user

    d = report(server, place)
    unit = d["owner_unit"]["key"]
    name, _ = ensure_user(server.app.state.store, "uh-expired", "unit_handler", unit=unit)
    ctx = context(browser, server, None)
    pg = new_page(ctx)
    pg.clock.install()  # the page's clock runs on, and can be moved forward
    try:
        pg.goto(f"{server}/issues/{d['id']}")
        pg.fill("#username", name)
        pg.fill("#password", TEST_PASSWORD)
        with pg.expect_navigation():
            pg.click("#login")
        assert pg.url == f"{server}/issues/{d['id']}"
        # used: six minutes later a key press renews the session (a fresh HttpOnly cookie)
        pg.clock.fast_forward("06:00")
        with pg.expect_response("**/session/renew") as renewed:
            pg.keyboard.press("Tab")
        assert renewed.value.status == 200
        assert "HttpOnly" in (renewed.value.header_value("set-cookie") or "")
        # expired: the next action leads to the login page, then back here
        ctx.clear_cookies()
        with pg.expect_navigation(url=f"**/login?next=%2Fissues%2F{d['id']}"):
            pg.click("#cg-form-accept button[type=submit]")
        assert "登录" in pg.title()
        pg.fill("#username", name)
        pg.fill("#password", TEST_PASSWORD)
        with pg.expect_navigation():
            pg.click("#login")
        assert pg.url == f"{server}/issues/{d['id']}"
        assert pg.locator("#cg-form-accept").count() == 1
    finally:
        ctx.close()
    assert history(server, d["id"]) == ["report"]  # the refused action changed nothing
