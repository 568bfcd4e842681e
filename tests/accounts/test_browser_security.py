"""Browser security: cross-site state changes refused (actions, intake, login), and the
security headers (CSP with a per-response nonce, frame, nosniff, referrer) on every answer.

A browser is played by a plain TestClient holding the session cookie and sending the
headers a browser sends (``Sec-Fetch-Site``, ``Origin``); the real browser checks (no
CSP violation on the pages) are in ``tests/browser/test_csp_browser.py``.
"""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from civgrid.api.security import COOKIE_NAME
from civgrid.grids.accounts import service as accounts
from civgrid.grids.core.actors import Actor
from civgrid.grids.issues.models import Issue
from support.authclient import token_for
from support.mapdata import PNG

PW = "Str0ng-Passw0rd"
ADMIN = Actor("test-admin", "command_center", account_role="admin")
CROSS = {"sec-fetch-site": "same-site", "origin": "http://testserver:9999"}
SAME = {"sec-fetch-site": "same-origin", "origin": "http://testserver"}


@pytest.fixture(scope="module")
def browser_client(world):
    """A 'browser' logged in as a dispatcher through the session cookie (no bearer token)."""
    c = TestClient(world.app)
    c.cookies.set(COOKIE_NAME, token_for(world.app, "csrf-dispatcher", "dispatcher"))
    return c


def _issue_count(world) -> int:
    with world.store.session() as s:
        return s.query(Issue).count()


def _state(world, issue_id: int) -> tuple[str, int]:
    with world.store.session() as s:
        i = s.get(Issue, issue_id)
        return i.state, i.version


def _report(world) -> dict:
    lon, lat = world.px
    return {"category": "dumping", "source": "field_supervision", "lon": lon, "lat": lat}


def test_cross_site_action_with_the_cookie_is_refused(world, browser_client):
    issue = world.report(world.px)
    before = _state(world, issue["id"])
    body = {"action": "reject", "note": "不是问题"}
    # a form posted from another port on the host: same-site, not same-origin
    r = browser_client.post(f"/api/v1/issues/{issue['id']}/transitions", json=body, headers=CROSS)
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "civgrid:CrossSiteRequest"
    assert _state(world, issue["id"]) == before
    # an old browser without Sec-Fetch-Site: the Origin decides
    r = browser_client.post(
        f"/api/v1/issues/{issue['id']}/transitions",
        json=body,
        headers={"origin": "http://evil.example"},
    )
    assert r.status_code == 403 and _state(world, issue["id"]) == before
    r = browser_client.post(
        f"/api/v1/issues/{issue['id']}/transitions", json=body, headers={"origin": "null"}
    )
    assert r.status_code == 403 and _state(world, issue["id"]) == before
    # the same action from the app's own page goes through
    r = browser_client.post(f"/api/v1/issues/{issue['id']}/transitions", json=body, headers=SAME)
    assert r.status_code == 200, r.text
    assert _state(world, issue["id"])[0] == "rejected"


def test_cross_site_report_with_the_cookie_stores_nothing(world, browser_client):
    n = _issue_count(world)
    # an HTML form (enctype multipart/form-data) on another origin, photo attached
    photo = [("photos", ("p.png", PNG, "image/png"))]
    r = browser_client.post(
        "/api/v1/issues",
        data=_report(world),
        files=photo,
        headers={**CROSS, "accept": "text/html,application/xhtml+xml"},
    )
    assert r.status_code == 403 and "跨站请求已拦截" in r.text  # a browser gets a Chinese page
    assert _issue_count(world) == n
    r = browser_client.post(
        "/api/v1/issues", data=_report(world), files=photo, headers={"origin": "http://testserver"}
    )
    assert r.status_code == 201, r.text
    assert _issue_count(world) == n + 1


def test_login_csrf_is_refused(world):
    with world.store.session() as s:
        accounts.create_user(s, ADMIN, "csrf-viewer", PW, "viewer")
    c = TestClient(world.app)
    form = {"username": "csrf-viewer", "password": PW, "next": "/"}
    for headers in (CROSS, {"sec-fetch-site": "cross-site"}, {"origin": "http://evil.example"}):
        r = c.post("/login", data=form, headers=headers, follow_redirects=False)
        assert r.status_code == 403, headers
        assert "set-cookie" not in r.headers and COOKIE_NAME not in c.cookies
    r = c.post("/login", data=form, headers=SAME, follow_redirects=False)
    assert r.status_code == 303 and COOKIE_NAME in r.headers["set-cookie"]


def test_bearer_clients_and_safe_methods_are_not_checked(world, browser_client):
    n = _issue_count(world)
    r = world.client.post(
        "/api/v1/issues",
        json=_report(world),
        headers={**world.client.as_user("dispatcher", "disp"), **CROSS},
    )
    assert r.status_code == 201 and _issue_count(world) == n + 1
    # reading with the cookie from anywhere is not a state change
    r = browser_client.get("/api/v1/issues", params={"limit": 1}, headers=CROSS)
    assert r.status_code == 200 and r.json()["total"] >= 1
    # an anonymous cross-site report carries no ambient authority: a plain citizen report
    r = TestClient(world.app).post("/api/v1/issues", json=_report(world), headers=CROSS)
    assert r.status_code == 201 and _issue_count(world) == n + 2


def _csp(r) -> dict[str, str]:
    policy = r.headers["content-security-policy"]
    return {d.split(" ", 1)[0]: d.partition(" ")[2] for d in policy.split("; ")}


def _assert_headers(r) -> dict[str, str]:
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    csp = _csp(r)
    assert csp["frame-ancestors"] == "'none'"
    assert "unsafe-eval" not in r.headers["content-security-policy"]
    assert "unsafe-inline" not in csp["script-src"]
    return csp


@pytest.mark.parametrize(
    "path",
    ["/login", "/map", "/heat", "/issues", "/docs", "/", "/api/v1/issues", "/api/v1/nope"],
)
def test_every_answer_carries_the_security_headers(world, browser_client, path):
    r = browser_client.get(path, follow_redirects=False)
    assert r.status_code < 500
    _assert_headers(r)


def test_refusals_and_static_files_carry_the_headers_too(world, browser_client):
    r = browser_client.post("/api/v1/issues", json=_report(world), headers=CROSS)
    assert r.status_code == 403
    _assert_headers(r)
    r = browser_client.get("/static/js/civgrid-map.js")
    assert r.status_code == 200
    _assert_headers(r)


def test_inline_scripts_carry_this_answers_nonce(world, browser_client):
    nonces = set()
    for _ in range(2):
        r = browser_client.get("/map")
        assert r.status_code == 200
        nonce = re.fullmatch(r"'self' 'nonce-([\w-]+)'", _assert_headers(r)["script-src"])[1]
        tags = re.findall(r"<script\b[^>]*>", r.text)
        assert len(tags) > 3
        assert all(f'nonce="{nonce}"' in t for t in tags), tags
        assert "javascript:" not in r.text and " onclick=" not in r.text
        nonces.add(nonce)
    assert len(nonces) == 2  # fresh per response


def test_docs_page_uses_local_swagger_assets(world, browser_client):
    r = browser_client.get("/docs")
    assert r.status_code == 200
    srcs = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert srcs and all(s.startswith(("/static/", "data:")) for s in srcs), srcs
    assert "<script>" not in r.text  # no inline script at all
    for s in srcs:
        if s.startswith("/static/"):
            asset = browser_client.get(s)
            assert asset.status_code == 200 and len(asset.content) > 300, s
    assert "SwaggerUIBundle" in browser_client.get("/static/js/swagger-init.js").text
