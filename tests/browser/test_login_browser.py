"""Logging in through the real pages in headless Chromium.

A user with a one-time password (as ``make demo`` prints them) opens the map,
is sent to 登录, then to 修改密码, and after a valid change lands on the map
with its layers drawn. No cookie is planted by the test: the browser does it all.
"""

from __future__ import annotations

import pytest
from browserkit import serve

pytestmark = [pytest.mark.browser]
READY = "() => window.civgrid && civgrid.state.ready && civgrid.state.loading === 0"

OTP = "Once-0nly-Pass!"
NEW = "Chosen-Passw0rd#"


@pytest.fixture(scope="module")
def sim_db(tmp_path_factory) -> str:
    """The demo county, no issues (the login flow needs none)."""
    from civgrid.grids.boundaries.store import Store
    from civgrid.grids.core.db import make_engine
    from civgrid.grids.demo.load import load_demo

    url = f"sqlite:///{tmp_path_factory.mktemp('login') / 'demo.sqlite'}"
    store = Store(make_engine(url))
    try:
        store.upgrade()
        assert load_demo(store).ok
    finally:
        store.engine.dispose()
    return url


@pytest.fixture(scope="module")
def server(sim_db, tmp_path_factory):
    from support.mapdata import make_app

    with serve(make_app(sim_db, tmp_path_factory.mktemp("var"))) as base:
        yield base


def test_first_login_changes_the_password_then_opens_the_map(browser, server, tmp_path):
    from civgrid.grids.accounts import service as accounts
    from civgrid.grids.core.actors import Actor

    admin = Actor("test-admin", "command_center", account_role="admin")
    with server.app.state.store.session() as s:
        accounts.create_user(
            s, admin, "newdispatcher", OTP, "dispatcher", must_change_password=True
        )
    ctx = browser.new_context(viewport={"width": 1200, "height": 800}, locale="zh-CN")
    page = ctx.new_page()
    errors: list[str] = []  # script errors only: the refused logins answer 401/422 on purpose
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{server}/map")
        assert page.url.endswith("/login?next=/map")
        page.fill("#username", "newdispatcher")
        page.fill("#password", "wrong-Passw0rd")
        page.click("#login")
        assert "账号或密码错误" in page.inner_text("body")
        page.fill("#username", "newdispatcher")
        page.fill("#password", OTP)
        page.click("#login")
        page.wait_for_url("**/password?next=/map")
        assert "修改密码" in page.inner_text("h1")
        # a mismatch keeps us here with a Chinese message
        page.fill("#old_password", OTP)
        page.fill("#new_password", NEW)
        page.fill("#confirm", NEW + "x")
        page.click("#change")
        assert "两次输入的新密码不一致" in page.inner_text("body")
        page.screenshot(path=str(tmp_path / "password.png"))
        page.fill("#old_password", OTP)
        page.fill("#new_password", NEW)
        page.fill("#confirm", NEW)
        page.click("#change")
        page.wait_for_url("**/map")
        page.wait_for_function(READY, timeout=60_000)
        assert page.evaluate("civgrid.state.errors") == []
        assert page.locator(".leaflet-interactive").count() > 10  # the county's areas are drawn
        assert errors == []
    finally:
        ctx.close()
    with server.app.state.store.session() as s:
        user = accounts.get_user(s, "newdispatcher")
        assert user.must_change_password is False
        assert accounts.verify_password(NEW, user.password_hash)
