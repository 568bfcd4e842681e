"""The work pages through the app: the issue page's action forms per role (each control
carries the permission it needs), the unit handler's actions posted as the forms post them,
the role home pages and navigation, the queues, the Chinese error pages, the session renewal.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from support.authworld import build_world

HTML = {"Accept": "text/html"}
#: Controls: forms, buttons, inputs of type submit (anything that acts).
CONTROL = re.compile(r"<(form|button|a\b[^>]*\bid=\"cg-export)\b[^>]*>", re.I)
PERM = re.compile(r'data-perm="([^"]*)"')


@pytest.fixture(scope="module")
def world(demo_sqlite_template, tmp_path_factory):
    path, _index = demo_sqlite_template
    w = build_world(path, tmp_path_factory.mktemp("work"))
    yield w
    w.client.__exit__(None, None, None)


def page(w, role: str, url: str, status: int = 200) -> str:
    opts = dict(w.roles[role])
    opts["headers"] = {**opts.get("headers", {}), **HTML}
    r = w.client.get(url, **opts)
    assert r.status_code == status, (role, url, r.status_code, r.text[:300])
    return r.text


def held(w, role: str) -> set[str]:
    from support.perms import held

    return held(role)


def controls(html: str) -> list[tuple[str, str | None]]:
    """(tag, data-perm or None) of every control of the page."""
    out = []
    for m in CONTROL.finditer(re.sub(r"<!--.*?-->", "", html, flags=re.S)):
        perm = PERM.search(m.group(0))
        out.append((m.group(0)[:80], perm.group(1) if perm else None))
    return out


def action_ids(html: str) -> list[str]:
    return re.findall(r'id="cg-action-([a-z_]+)"', html)


def test_the_unit_handler_sees_accept_and_posts_it(world):
    w = world
    d = w.report(w.px)
    assert d["state"] == "assigned", d["state"]
    html = page(w, "unit_handler", f"/issues/{d['id']}")
    assert action_ids(html) == ["accept", "submit", "extension_request"]
    # the form posts what the page says
    form = re.search(r'<form[^>]*id="cg-form-accept"[^>]*>', html).group(0)
    assert f'data-cg-api="/api/v1/issues/{d["id"]}/transitions"' in form
    r = w.client.post(
        f"/api/v1/issues/{d['id']}/transitions",
        json={"action": "accept", "expected_version": str(d["version"])},
        **w.roles["unit_handler"],
    )
    assert r.status_code == 200, r.text
    after = w.client.get(f"/api/v1/issues/{d['id']}").json()
    assert after["state"] == "rectifying"
    assert after["history"][-1]["action"] == "accept"
    html = page(w, "unit_handler", f"/issues/{d['id']}")
    assert action_ids(html) == ["submit", "extension_request"]


def test_viewer_and_leader_get_no_action(world):
    w = world
    for role in ("viewer", "leader"):
        html = page(w, role, f"/issues/{w.X['id']}")
        assert action_ids(html) == [], role
        assert 'id="cg-no-actions"' in html


def _issues_in_every_state(w) -> list[int]:
    """Issues at X's place in the open states and closed (through the API, as admin)."""
    from support.mapdata import PNG

    if getattr(w, "state_issues", None):
        return w.state_issues
    out = []
    base = "/api/v1/issues/{}/transitions"
    steps = [
        [],
        [{"json": {"action": "accept"}}],
        [{"json": {"action": "accept"}}, {"data": {"action": "submit"}, "files": "photo"}],
        [
            {"json": {"action": "accept"}},
            {"data": {"action": "submit"}, "files": "photo"},
            {"json": {"action": "reinspect", "passed": True}},
        ],
    ]
    for chain in steps:
        d = w.report(w.px)
        for step in chain:
            kw = dict(step)
            if kw.get("files") == "photo":
                kw["files"] = [("photos", ("p.png", PNG, "image/png"))]
            r = w.client.post(base.format(d["id"]), **kw)
            assert r.status_code == 200, r.text
        out.append(d["id"])
    w.state_issues = out
    return out


def test_every_control_carries_a_permission_the_role_holds(world):
    """Walk the work pages per role (home, every queue of the role, issue pages in every
    state; the patrol page, the rankings and the draft bulletin where the role may open
    them): a control without data-perm, or with a permission the role lacks, fails
    (naming page, role and control)."""
    from civgrid.maps.work_queue import views_for

    w = world
    ids = _issues_in_every_state(w)
    problems = []
    seen_forms = set()
    for role in STAFF:
        mine = [w.G["id"]] if role == "grid_worker" else [w.X["id"], *ids]
        urls = ["/", *(f"/queue?view={v.key}" for v in views_for(role))]
        urls += [f"/issues/{i}" for i in mine]
        urls += [u for u in OTHER_PAGES if _opens(w, role, u)]
        for url in urls:
            if role == "viewer" and url == "/":
                continue  # the viewer's home is the map (another helper's page)
            html = page(w, role, url)
            seen_forms |= set(re.findall(r'id="cg-form-([a-z_]+)"', html))
            seen_forms |= set(re.findall(r'id="cg-(publish|patrol-form)"', html))
            seen_forms |= set(re.findall(r'id="cg-(send|track-start|flush)"', html))
            for tag, perm in controls(html):
                if perm is None:
                    problems.append(f"{role} {url}: no data-perm on {tag}")
                elif perm not in held(w, role):
                    problems.append(f"{role} {url}: {perm} not held, on {tag}")
    assert not problems, "\n".join(problems)
    # the walk met every action form of this page (else it proves little)
    assert {"accept", "submit", "extension_request", "reinspect", "reopen"} <= seen_forms
    assert {"publish", "patrol-form"} <= seen_forms  # the other pages' controls were met
    assert {"send", "track-start", "flush"} <= seen_forms  # and the phone app's


STAFF = ("admin", "dispatcher", "inspector", "unit_handler", "grid_worker", "leader", "viewer")
#: Server-rendered pages beyond the work pages that carry controls (the patrol view form,
#: the bulletin's publish button, the phone app's pages), walked for the roles that may
#: open them.
OTHER_PAGES = (
    "/patrol",
    "/scores",
    "/scores/bulletin",
    "/shops/red-black",
    *(
        f"/m/{p}"
        for p in ("", "report", "status", "day", "mine", "reinspect", "points", "track", "queue")
    ),
)


def _opens(w, role: str, url: str) -> bool:
    opts = dict(w.roles[role])
    opts["headers"] = {**opts.get("headers", {}), **HTML}
    status = w.client.get(url, **opts).status_code
    assert status in (200, 403), (role, url, status)
    return status == 200


def nav_links(html: str) -> list[str]:
    nav = re.search(r'<nav class="cg-nav".*?</nav>', html, re.S).group(0)
    return re.findall(r'<a href="([^"]+)"', nav)


def test_each_role_lands_on_its_home_and_its_nav_opens(world):
    """Every link of a role's navigation opens for that role (no 403 behind a link), and
    the home shows the role's own block; the viewer's home is the map."""
    w = world
    r = w.client.get("/", follow_redirects=False, **w.roles["viewer"])
    assert r.status_code == 303 and r.headers["location"] == "/map"
    expect = {
        "admin": "今日待办与数据",
        "dispatcher": "今日待办与数据",
        "inspector": "今日巡查与复查",
        "unit_handler": "本单位待办",
        "grid_worker": "我上报的问题",
        "leader": "我负责的片区",
    }
    for role, heading in expect.items():
        html = page(w, role, "/")
        assert f'id="cg-home-heading">{heading}<' in html, role
        for href in nav_links(html):
            if href == "/docs":
                continue
            page(w, role, href)
    leader = page(w, "leader", "/")
    assert 'href="/leaders/L10"' in leader
    unit = page(w, "unit_handler", "/")
    assert "/patrol" not in nav_links(unit) and "/responsibility/gaps" not in nav_links(unit)
    assert 'data-figure="待签收"' in unit


def test_the_dispatcher_home_counts_the_triage_queue(world):
    w = world
    html = page(w, "dispatcher", "/")
    shown = int(re.search(r'data-figure="待分拣">待分拣<b>(\d+)</b>', html).group(1))
    total = w.client.get("/api/v1/issues", params={"state": "triage", "limit": 1}).json()["total"]
    assert shown == total


def test_queue_search_sort_page_and_export(world):
    w = world
    marker = "井盖松动测试词"
    d = w.report(w.px, description=f"路口{marker}一处")
    # by number and by a word of the description
    for q in (str(d["id"]), f"#{d['id']}", marker):
        html = page(w, "dispatcher", f"/queue?view=all&q={quote(q)}")
        rows = re.findall(r'id="cg-row-(\d+)"', html)
        assert rows == [str(d["id"])], (q, rows)
    # sorted by id both ways; paging moves on by the page size
    total = w.client.get("/api/v1/issues", params={"limit": 1}).json()["total"]
    for _ in range(max(0, 23 - total)):
        w.report(w.py)
    html = page(w, "dispatcher", "/queue?view=all&order=id")
    ids = [int(x) for x in re.findall(r'id="cg-row-(\d+)"', html)]
    assert ids == sorted(ids) and len(ids) == 20
    assert 'id="cg-next"' in html and 'id="cg-prev"' not in html
    html2 = page(w, "dispatcher", "/queue?view=all&order=id&offset=20")
    ids2 = [int(x) for x in re.findall(r'id="cg-row-(\d+)"', html2)]
    assert ids2 and min(ids2) > max(ids) and 'id="cg-prev"' in html2
    html = page(w, "dispatcher", "/queue?view=all&order=-id")
    desc = [int(x) for x in re.findall(r'id="cg-row-(\d+)"', html)]
    assert desc == sorted(desc, reverse=True)
    # the export of the current view lists the same issue
    html = page(w, "dispatcher", f"/queue?view=all&q={marker}")
    href = re.search(r'href="([^"]+)" id="cg-export"', html).group(1).replace("&amp;", "&")
    csv_url = href.replace("/issue_list.xlsx", "/issue_list.csv")
    body = w.client.get(csv_url).text
    assert marker in body and body.count("\n") == 2, body[:500]


def test_unit_handler_queues_are_their_units(world):
    w = world
    d = w.report(w.px)
    html = page(w, "unit_handler", "/queue")
    assert 'class="cg-current">待签收' in html
    assert f'id="cg-row-{d["id"]}"' in html
    # a unit handler has no triage queue
    page(w, "unit_handler", "/queue?view=triage", 404)


def test_page_errors_are_chinese_pages_and_the_api_keeps_problem_details(world):
    w = world
    cases = [
        ("dispatcher", "/issues/987654", 404, "找不到该页面"),
        ("unit_handler", f"/issues/{w.Y['id']}", 404, "找不到该页面"),
        ("unit_handler", "/responsibility/gaps", 403, "没有权限"),
        ("dispatcher", "/queue?offset=-1", 422, "填写有误"),
        ("dispatcher", "/queue?order=nonsense", 422, "填写有误"),
        ("dispatcher", "/no-such-page", 404, "找不到该页面"),
    ]
    for role, url, status, title in cases:
        html = page(w, role, url, status)
        assert f'id="cg-error-title">{title}<' in html, (role, url)
        assert 'lang="zh-CN"' in html and "Not Found" not in html
    r = w.client.get("/api/v1/issues/987654", headers=HTML)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == 404


def test_an_expired_session_goes_to_login_with_the_page_to_come_back_to(world):
    """A page asked without a valid session redirects to the login page with ``next``;
    the renewal answers 401 then, and a fresh cookie while the session is valid."""
    w = world
    r = w.client.get(
        f"/issues/{w.X['id']}?x=1", headers=HTML, anonymous=True, follow_redirects=False
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/login?next=/issues/{w.X['id']}%3Fx%3D1"
    r = w.client.post("/session/renew", anonymous=True)
    assert r.status_code == 401
    r = w.client.post("/session/renew", **w.roles["unit_handler"])
    assert r.status_code == 200 and r.json() == {"renewed": True}
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
