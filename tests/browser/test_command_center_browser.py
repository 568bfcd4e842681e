"""The dispatcher's daily work through the pages only (issue 21), in headless Chromium:
find issues in the queue by number and by a word of the description, dispatch one from
triage with the preselected unit, dispatch one to a unit outside the place (the page asks
for a reason, the reason is in the history), reject one, merge one, decide an extension.
Each step is then checked through the API.
"""

from __future__ import annotations

import shutil

import httpx
import pytest
from browserkit import serve, watch

pytestmark = [pytest.mark.browser]

WORD = "蓝色铁皮箱"  # a word only one description holds


@pytest.fixture(scope="module")
def server(demo_sqlite_template, tmp_path_factory):
    from support.mapdata import make_app

    path, _index = demo_sqlite_template
    root = tmp_path_factory.mktemp("cc")
    shutil.copy(path, root / "demo.sqlite")
    with serve(make_app(f"sqlite:///{root / 'demo.sqlite'}", root / "var")) as base:
        yield base


@pytest.fixture(scope="module")
def world(server):
    """Issues made through the API: triaged citizen reports, an open issue with a pending
    extension request of its unit."""
    from support.authclient import token_for
    from support.issue_helpers import COMPOUND, OUTSIDE, offset, point_in

    store = server.app.state.store
    lon, lat = point_in(store, COMPOUND)
    admin = {"Authorization": f"Bearer {token_for(server.app, 'admin', 'admin')}"}

    def post(body, headers=None):
        r = httpx.post(server + "/api/v1/issues", json=body, headers=headers or {}, timeout=60)
        assert r.status_code == 201, r.text
        return r.json()

    def citizen(category, at, description):
        body = {"category": category, "source": "citizen_complaint"}
        return post({**body, "lon": at[0], "lat": at[1], "description": description})

    w = {
        "dispatch": citizen("dumping", (lon, lat), f"小区门口有{WORD}堆放杂物"),
        "outside": citizen("graffiti", offset(lon, lat, 10, 0), "墙上乱涂乱画"),
        "reject": post({"category": "dumping", "source": "grid_worker", "lon": OUTSIDE[0],
                        "lat": OUTSIDE[1], "description": "县外的问题"}, admin),
        "open": post({"category": "street_vending", "source": "grid_worker", "lon": lon,
                      "lat": lat, "description": "占道经营"}, admin),
    }  # fmt: skip  # one report per line, as the workflow reads
    w["merge"] = citizen("illegal_flyers", offset(lon, lat, -10, 0), "电线杆上小广告")
    for key in ("dispatch", "outside", "merge", "reject"):
        assert w[key]["state"] == "triage", (key, w[key]["state"])
    owner = w["open"]["owner_unit"]["key"]
    unit = {
        "Authorization": f"Bearer {token_for(server.app, 'unit_x', 'unit_handler', unit=owner)}"
    }
    r = httpx.post(
        f"{server}/api/v1/issues/{w['open']['id']}/extensions",
        json={"reason": "需协调施工队", "working_days": 3},
        headers=unit,
        timeout=60,
    )
    assert r.status_code == 201, r.text
    w["admin"] = admin
    return w


@pytest.fixture
def page(browser, server):
    from support.authclient import browser_login

    ctx = browser.new_context(
        viewport={"width": 1366, "height": 768}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    browser_login(ctx, server.app, server, role="dispatcher")
    pg = ctx.new_page()
    watch(pg)
    yield pg
    ctx.close()


def api(server, world, path: str) -> dict:
    r = httpx.get(server + path, headers=world["admin"], timeout=60)
    assert r.status_code == 200, r.text[:300]
    return r.json()


def submit(page, form: str) -> None:
    with page.expect_navigation(timeout=30_000):
        page.click(f"{form} button[type=submit]")


def test_search_by_number_and_by_a_word(page, server, world, img):
    target = world["dispatch"]["id"]
    page.goto(f"{server}/queue?view=all")
    page.fill("#cg-f-q", str(target))
    with page.expect_navigation():
        page.press("#cg-f-q", "Enter")
    assert page.locator(f"#cg-queue a[href='/issues/{target}']").count() == 1
    page.fill("#cg-f-q", WORD)
    with page.expect_navigation():
        page.press("#cg-f-q", "Enter")
    links = page.eval_on_selector_all("#cg-queue a[href^='/issues/']", "a => a.map(x => x.href)")
    assert [link.rsplit("/", 1)[1] for link in links] == [str(target)]


def test_dispatch_with_the_preselected_unit(page, server, world, img):
    issue_id = world["dispatch"]["id"]
    opts = api(server, world, f"/api/v1/issues/{issue_id}/dispatch-options")
    assert opts["suggested"]
    page.goto(f"{server}/queue?view=triage")  # from the triage queue (待分拣)
    with page.expect_navigation():
        page.click(f"#cg-row-{issue_id} a")
    assert page.url == f"{server}/issues/{issue_id}"
    form = "#cg-form-dispatch"
    assert page.eval_on_selector(f"{form} select[name=unit]", "s => s.value") == opts["suggested"]
    assert "建议交办给" in page.inner_text("#cg-dispatch-suggest")
    assert not page.is_visible("#cg-dispatch-warn")
    assert "需核实后交办" in page.inner_text("#cg-routing")  # the triage reason, in Chinese
    page.screenshot(path=str(img / "role-dispatcher.png"))
    submit(page, form)
    d = api(server, world, f"/api/v1/issues/{issue_id}")
    assert d["state"] == "assigned" and d["owner_unit"]["key"] == opts["suggested"]
    last = d["history"][-1]
    assert last["action"] == "dispatch" and "outside_responsibility" not in (last["data"] or {})


def test_a_unit_outside_the_place_asks_for_a_reason(page, server, world, img):
    issue_id = world["outside"]["id"]
    opts = api(server, world, f"/api/v1/issues/{issue_id}/dispatch-options")
    place = {u["key"] for u in opts["responsible"]}
    other = next(u for u in opts["units"] if u["key"] not in place)
    page.goto(f"{server}/issues/{issue_id}")
    form = "#cg-form-dispatch"
    page.fill(f"{form} .cg-unit-search", other["name"])
    assert page.eval_on_selector(f"{form} select[name=unit]", "s => s.value") == other["key"]
    assert page.is_visible("#cg-dispatch-warn")
    page.click(f"{form} button[type=submit]")  # no reason: refused in the page, in Chinese
    err = page.inner_text(f"{form} .cg-field-err[data-for=note]")
    assert "请填写理由" in err
    assert api(server, world, f"/api/v1/issues/{issue_id}")["state"] == "triage"
    page.fill(f"{form} textarea[name=note]", "社区反映该处由该单位管护")
    page.screenshot(path=str(img / "issue-dispatch-outside.png"))
    submit(page, form)
    d = api(server, world, f"/api/v1/issues/{issue_id}")
    assert d["owner_unit"]["key"] == other["key"]
    last = d["history"][-1]
    assert last["note"] == "社区反映该处由该单位管护"
    assert last["data"]["outside_responsibility"] is True


def test_reject_and_merge(page, server, world, img):
    rid = world["reject"]["id"]
    page.goto(f"{server}/issues/{rid}")
    page.fill("#cg-form-reject textarea[name=note]", "不在本县范围")
    submit(page, "#cg-form-reject")
    d = api(server, world, f"/api/v1/issues/{rid}")
    assert d["state"] == "rejected" and d["history"][-1]["note"] == "不在本县范围"

    mid, into = world["merge"]["id"], world["open"]["id"]
    page.goto(f"{server}/issues/{mid}")
    page.fill("#cg-merge-into", str(into))
    page.wait_for_function(
        f"() => document.getElementById('cg-merge-found').textContent.includes('#{into}')"
    )
    submit(page, "#cg-form-merge")
    d = api(server, world, f"/api/v1/issues/{mid}")
    assert d["state"] == "merged" and d["history"][-1]["action"] == "merge"
    assert d["history"][-1]["data"]["duplicate_of"] == into


def test_decide_the_extension(page, server, world, img):
    issue_id = world["open"]["id"]
    page.goto(f"{server}/issues/{issue_id}")
    assert "需协调施工队" in page.inner_text("#cg-form-extension_decision")
    page.check("#cg-form-extension_decision input[name=approve][value=true]")
    page.screenshot(path=str(img / "issue-extension-decision.png"))
    submit(page, "#cg-form-extension_decision")
    d = api(server, world, f"/api/v1/issues/{issue_id}")
    assert [e["status"] for e in d["extensions"]] == ["approved"]
    assert page.locator("#cg-form-extension_decision").count() == 0
