"""Every page, as one walk, in headless Chromium (issue 21): no horizontal scroll at
1366×768; a page opened signed out (or with an expired session) leads to the Chinese login
page and back; two tabs acting on the same issue: the second is refused with a Chinese
toast (409) and changes nothing.

One server (a copy of the demo county with a few issues and this month's patrol plan) and
one browser for the module; the pages are opened by an admin (who may open all of them),
the leader's and phone pages by the roles they are for.
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from browserkit import DESKTOP, assert_no_hscroll, is_chinese, serve, watch

pytestmark = [pytest.mark.browser]

MAP_READY = "() => window.civgrid && civgrid.state.ready && civgrid.state.loading === 0"


@pytest.fixture(scope="module")
def server(demo_sqlite_template, tmp_path_factory):
    """The demo county, a few issues (one assigned, one in triage) and this month's plan."""
    from support.authclient import AuthClient
    from support.issue_helpers import COMPOUND, point_in
    from support.mapdata import make_app

    path, _index = demo_sqlite_template
    root = tmp_path_factory.mktemp("layout")
    shutil.copy(path, root / "demo.sqlite")
    app = make_app(f"sqlite:///{root / 'demo.sqlite'}", root / "var")
    with serve(app) as base, AuthClient(app, base_url=base) as c:
        lon, lat = point_in(app.state.store, COMPOUND)
        body = {"category": "dumping", "lon": lon, "lat": lat, "description": "绿化带内堆放垃圾"}
        made = []
        for source in ("grid_worker", "citizen_complaint"):
            r = c.post("/api/v1/issues", json={**body, "source": source})
            assert r.status_code == 201, r.text
            made.append(r.json())
        month = f"{date.today():%Y-%m}"
        assert c.post("/api/v1/patrol/plans", params={"month": month}).status_code == 200
        # an issue reassigned in a batch (批量改派): its history offers the batch's undo
        r = c.post(
            "/api/v1/issues",
            json={
                **body,
                "source": "grid_worker",
                "lon": lon + 0.0008,
                "category": "wires_banners",
            },
        )
        assert r.status_code == 201, r.text
        batched = r.json()
        opts = c.get(f"/api/v1/issues/{batched['id']}/dispatch-options").json()
        other = next(u["key"] for u in opts["units"] if u["key"] != batched["owner_unit"]["key"])
        bulk = {"issue_ids": [batched["id"]], "unit": other, "note": "调整责任单位"}
        r = c.post("/api/v1/issues/bulk-reassign", json=bulk)
        assert r.status_code == 200 and r.json()["counts"]["reassigned"] == 1, r.text
        base.issues = made
        base.batched = batched
        base.api = c
        yield base


def _context(browser, server, role: str | None, **kw):
    from support.authclient import browser_login

    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN", timezone_id="Asia/Shanghai")
    if role:
        browser_login(ctx, server.app, server, role=role, **kw)
    return ctx


@pytest.fixture(scope="module")
def admin_page(browser, server):
    ctx = _context(browser, server, "admin")
    pg = ctx.new_page()
    watch(pg)
    yield pg
    ctx.close()


#: (page, role that opens it, what to wait for once loaded); admin opens most of them.
#: (The role tests check the homes of the unit handler and the grid worker, and the phone
#: layouts, at their own sizes.)
PAGES = [
    ("/", "admin", None),
    ("/queue?view=all", "admin", "#cg-queue"),
    ("/issues/{issue}", "admin", "#cg-issue-summary"),
    ("/map", "admin", MAP_READY),
    ("/map/heat", "admin", MAP_READY),
    ("/patrol", "admin", None),
    ("/scores", "admin", None),
    ("/scores/bulletin", "admin", None),
    ("/scores/township/411327001000", "admin", None),
    ("/points", "admin", None),
    ("/points/mock", "admin", None),
    ("/responsibility/gaps", "admin", None),
    ("/notifications", "admin", None),
    ("/notifications/outbox", "admin", None),
    ("/issues/999999", "admin", "#cg-error-title"),  # the 404 page
    ("/leaders/L10", "leader", None),
    ("/leaders/L10/scores", "leader", None),
    ("/", "inspector", None),
    ("/login", None, "#login"),
]


@pytest.mark.parametrize(("path", "role", "ready"), PAGES, ids=[f"{r}{p}" for p, r, _ in PAGES])
def test_no_horizontal_scroll_at_1366(browser, server, admin_page, path, role, ready):
    url = server + path.format(issue=server.issues[0]["id"])
    if role == "admin":
        pg, ctx = admin_page, None
    else:
        unit = server.issues[0]["owner_unit"]["key"] if role == "unit_handler" else None
        leader = "L10" if role == "leader" else None
        ctx = _context(browser, server, role, unit=unit, leader=leader)
        pg = ctx.new_page()
        watch(pg)
    try:
        r = pg.goto(url)
        expected = 404 if path == "/issues/999999" else 200
        assert r.status == expected, (path, r.status)
        if ready and ready.startswith("()"):
            pg.wait_for_function(ready, timeout=60_000)
        elif ready:
            pg.wait_for_selector(ready)
        assert_no_hscroll(pg, f"{path} ({role})")
    finally:
        if ctx is not None:
            ctx.close()


#: Pages that need an account: signed out or with an expired session they lead to login.
SIGNED_OUT = ("/", "/queue?view=all", "/issues/{issue}", "/map", "/scores", "/notifications")


def test_signed_out_or_expired_a_page_leads_to_the_chinese_login(browser, server):
    """401 on a page: no session, or one expired a day ago, opens the login page (Chinese)
    with the page to come back to."""
    from civgrid.api.security import COOKIE_NAME, issue_token
    from support.authclient import ensure_user

    name, ver = ensure_user(server.app.state.store, "layout-expired", "dispatcher")
    then = datetime.now(UTC) - timedelta(days=1)
    stale, _ = issue_token(server.app.state.settings, name, ver, now=then)
    for cookie in (None, stale):
        ctx = _context(browser, server, None)
        if cookie:
            ctx.add_cookies([{"name": COOKIE_NAME, "value": cookie, "url": server}])
        pg = ctx.new_page()
        try:
            for path in SIGNED_OUT:
                want = path.format(issue=server.issues[0]["id"])
                pg.goto(server + want)
                got = urlsplit(pg.url)
                assert got.path == "/login", (want, pg.url)
                assert parse_qs(got.query)["next"] == [want]
                assert "登录" in pg.title() and is_chinese(pg.inner_text("body"))
        finally:
            ctx.close()


def test_refused_and_missing_pages_are_chinese_and_recorded(browser, server, chinese_messages):
    """403 and 404 pages are Chinese sentences, and the suite-wide check (conftest's
    ``chinese_messages``) sees them."""
    unit = server.issues[0]["owner_unit"]["key"]
    ctx = _context(browser, server, "unit_handler", unit=unit)
    pg = ctx.new_page()
    try:
        for path, status in (("/responsibility/gaps", 403), ("/issues/999999", 404)):
            assert pg.goto(server + path).status == status
            assert is_chinese(pg.inner_text("#cg-error-text")), path
            pg.wait_for_function(f"() => document.querySelector('main[data-status=\"{status}\"]')")
        pg.goto(server + "/")  # pumps the page's pending reports
    finally:
        ctx.close()
    kinds = {(kind, path) for kind, path, _ in chinese_messages}
    assert ("error page 403", "/responsibility/gaps") in kinds
    assert ("error page 404", "/issues/999999") in kinds


def test_two_tabs_act_on_one_issue_the_second_gets_a_chinese_409(browser, server, chinese_messages):
    """Two tabs of the unit handler open the same new issue; the first accepts it, the
    second's accept is refused (409) with a Chinese toast, and the issue was accepted once."""
    from support.issue_helpers import COMPOUND, offset, point_in

    lon, lat = offset(*point_in(server.app.state.store, COMPOUND), 40, -30)
    body = {"category": "illegal_flyers", "source": "grid_worker", "lon": lon, "lat": lat}
    r = server.api.post("/api/v1/issues", json=body)
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["state"] == "assigned", d["state"]
    ctx = _context(browser, server, "unit_handler", unit=d["owner_unit"]["key"])
    first, second = ctx.new_page(), ctx.new_page()
    try:
        for pg in (first, second):
            watch(pg)
            pg.goto(f"{server}/issues/{d['id']}")
            pg.wait_for_selector("#cg-form-accept")
        with first.expect_navigation():
            first.click("#cg-form-accept button[type=submit]")
        assert "整改中" in first.inner_text("#cg-issue-summary")
        with second.expect_response(lambda x: x.url.endswith("/transitions")) as refused:
            second.click("#cg-form-accept button[type=submit]")
        assert refused.value.status == 409
        second.wait_for_selector("#cg-toast.cg-show")
        said = second.inner_text("#cg-toast")
        assert "已被他人更新" in said and is_chinese(said), said
        assert second.url == f"{server}/issues/{d['id']}"  # no navigation: stays to refresh
    finally:
        ctx.close()
    assert any(k == "toast" and "已被他人更新" in t for k, _, t in chinese_messages)
    got = server.api.get(f"/api/v1/issues/{d['id']}").json()
    assert [e["action"] for e in got["history"]] == ["report", "accept"]
    assert got["state"] == "rectifying"


#: Every control of the page, with its data-perm: forms, buttons, and the draw toolbar's
#: tools and actions (anchors built by Leaflet.Draw).
CONTROLS = """() => Array.from(document.querySelectorAll(
  'form, button, input[type=submit], input[type=button], .leaflet-draw a'))
  .map(e => [e.outerHTML.slice(0, 200), e.getAttribute('data-perm')])"""
POPUP = """id => { const m = civgrid.state.issueMarkers.find(x => x.cgProps.id === id);
  civgrid.ctx.issues.group.zoomToShowLayer(m, () => m.openPopup()); }"""


def test_script_built_controls_carry_a_permission_the_role_holds(browser, server):
    """The command-center map per role: the controls its script builds (filter and panel
    buttons, the draw tool and the actions it adds while drawing, a popup's 交办/改派, the
    dispatch panel, a batch's undo in the history) each carry data-perm, and only with a
    permission the role holds; the heat map's controls too."""
    from support.perms import STAFF, problems

    found, met = [], set()
    batched = server.batched["id"]

    def collect(pg, role, where):
        got = pg.evaluate(CONTROLS)
        met.update(tag.split(">")[0] for tag, _ in got)
        found.extend(problems(role, where, got))

    for role in STAFF:
        unit = server.batched["owner_unit"]["key"] if role == "unit_handler" else None
        leader = "L10" if role == "leader" else None
        ctx = _context(browser, server, role, unit=unit, leader=leader)
        pg = ctx.new_page()
        watch(pg)
        try:
            pg.goto(f"{server}/map")
            pg.wait_for_function(MAP_READY, timeout=60_000)
            collect(pg, role, "/map")
            if role == "dispatcher":  # the admin's map is the same (the same permissions)
                pg.click(".leaflet-draw-draw-rectangle")
                pg.wait_for_selector(".leaflet-draw-actions a", state="attached")
                collect(pg, role, "/map while drawing")
                pg.keyboard.press("Escape")
                pg.evaluate(POPUP, batched)
                pg.click(f".cg-issue-popup [data-cg-reassign='{batched}']")
                pg.wait_for_selector("#cg-r-submit")
                collect(pg, role, "/map dispatch panel")
                pg.evaluate(POPUP, batched)
                pg.click(f".cg-issue-popup [data-cg-detail='{batched}']")
                pg.wait_for_selector("[data-cg-undo-batch]")
                collect(pg, role, "/map history")
            if role == "viewer":
                pg.goto(f"{server}/map/heat")
                pg.wait_for_function(MAP_READY, timeout=60_000)
                collect(pg, role, "/map/heat")
        finally:
            ctx.close()
    assert not found, "\n".join(found)
    # the walk met what it is about (else it proves little)
    seen = ("leaflet-draw-draw-rectangle", "data-cg-reassign", "cg-r-submit", "data-cg-undo-batch")
    for what in (*seen, "cg-f-apply", "cg-h-apply"):
        assert any(what in tag for tag in met), what


FIELD_READY = "() => window.civgrid && civgrid.field && civgrid.field.ready"


@pytest.mark.parametrize("role", ["grid_worker", "viewer", "public"])
def test_the_phone_report_form_offers_only_controls_the_role_holds(browser, server, role):
    """The phone app's report page: the category buttons its script builds carry data-perm
    like the rest of the form, with a permission the role holds; an account that may not
    report (a viewer) is not offered the form at all. (The app's server-rendered pages are
    walked per role in ``tests/maps/test_work_pages.py``.)"""
    from support.perms import problems

    ctx = _context(browser, server, None if role == "public" else role)
    pg = ctx.new_page()
    watch(pg)
    try:
        pg.goto(f"{server}/m/report")
        pg.wait_for_function(FIELD_READY, timeout=30_000)
        got = pg.evaluate(CONTROLS)
        assert problems(role, "/m/report", got) == []
        tags = " ".join(tag for tag, _ in got)
        if role == "viewer":
            assert got == [] and pg.locator("#cg-report-refused").count() == 1
        else:
            assert "cg-m-cat" in tags and "cg-send" in tags, tags
        assert pg.evaluate("civgrid.field.error || null") is None
    finally:
        ctx.close()
