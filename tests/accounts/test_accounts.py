"""Logins, tokens, lockout, throttling, disabled users, password policy and secrecy."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import pytest

from civgrid.api.ratelimit import RateLimiter
from civgrid.api.security import decode_token, issue_token
from civgrid.grids.accounts import service as accounts
from civgrid.grids.core.actors import Actor
from support.authclient import AuthClient
from support.authworld import build_world

ADMIN = Actor("test-admin", "command_center", account_role="admin")
PW = "Str0ng-Passw0rd"


@pytest.fixture(scope="module")
def w(demo_sqlite_template, tmp_path_factory):
    """A world with a strict login throttle (3 per minute per address)."""
    path, _ = demo_sqlite_template
    world = build_world(path, tmp_path_factory.mktemp("acc"), lockout_threshold=3)
    yield world
    world.client.__exit__(None, None, None)


def _add(w, name: str, role: str = "dispatcher", **kw) -> None:
    with w.store.session() as s:
        accounts.create_user(s, ADMIN, name, PW, role, **kw)


def _login(w, name: str, pw: str = PW):
    return w.client.post(
        "/api/v1/auth/token", data={"username": name, "password": pw}, anonymous=True
    )


def _me(w, token: str):
    return w.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})


def test_password_policy_and_hash():
    policy = accounts.PasswordPolicy()
    assert policy.problems("Abcdefghij1") == []
    assert "at least 10 characters" in policy.problems("Ab1!", "x")
    assert policy.problems("abcdefghijk") == [
        "at least three of: lower case, upper case, digits, symbols"
    ]
    assert "must not contain the username" in policy.problems("Zhang-San-2025", "zhang-san")
    h = accounts.hash_password(PW)
    assert h.startswith("$argon2id$") and PW not in h
    assert accounts.verify_password(PW, h) and not accounts.verify_password(PW + "x", h)
    assert not accounts.verify_password(PW, "garbage")
    assert policy.problems(accounts.generate_password()) == []


def test_production_hash_cost(cheap_password_hashes):
    """The tests hash cheaply (tests/conftest.py: the fixture gives back the app's own
    hasher), which keeps the production cost; a hash made with it verifies through the
    app's code, which reads the parameters from the hash."""
    production = cheap_password_hashes()
    h = production.hash(PW)
    assert h.startswith("$argon2id$v=19$m=65536,t=3,p=4$"), h
    assert accounts.verify_password(PW, h) and not accounts.verify_password(PW + "x", h)


def test_login_me_refresh_and_secrecy(w, caplog):
    _add(w, "alice", "unit_handler", unit_key="D04", title="经办人")
    with caplog.at_level(logging.DEBUG):
        r = _login(w, "alice")
    assert r.status_code == 200, r.text
    tok = r.json()
    assert tok["token_type"] == "bearer" and tok["expires_in"] == 30 * 60
    claims = decode_token(w.app.state.settings, tok["access_token"])
    assert claims["sub"] == "alice" and claims["exp"] - claims["iat"] == 1800
    me = _me(w, tok["access_token"]).json()
    assert me["role"] == "unit_handler" and me["unit_key"] == "D04"
    assert "password_hash" not in me
    assert PW not in caplog.text and PW not in r.text and PW not in str(me)
    users = w.client.get("/api/v1/users").text
    assert PW not in users and "argon2" not in users
    # a refresh token is not an access token, and vice versa
    r = w.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {tok['refresh_token']}"})
    assert r.status_code == 401
    r = w.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tok["refresh_token"]}, anonymous=True
    )
    assert r.status_code == 200 and r.json()["access_token"] != tok["access_token"]
    r = w.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tok["access_token"]}, anonymous=True
    )
    assert r.status_code == 401
    # the audit log has the login
    log = w.client.get("/api/v1/audit", params={"who": "alice", "action": "auth."}).json()
    assert [i["action"] for i in log["items"]] == ["auth.login"]


def test_invalid_requests_never_echo_a_password(w):
    """FastAPI echoes the request body in a 422; the password in it is redacted."""
    _add(w, "olga")
    tok = _login(w, "olga").json()
    h = {"Authorization": f"Bearer {tok['access_token']}"}
    secret = "Echo-Me-N0t-2026"
    # a misspelt field: the whole body (with the password) is the "input" of the error
    r = w.client.post(
        "/api/v1/auth/password",
        headers=h,
        json={"current_password": PW, "new_password": secret},
    )
    assert r.status_code == 422
    err = r.json()["errors"][0]
    assert err["loc"] == ["body", "old_password"] and err["type"] == "missing"
    assert err["input"] == {"current_password": "***", "new_password": "***"}
    assert PW not in r.text and secret not in r.text
    # a too-long password names the field, without the value
    r = w.client.post(
        "/api/v1/auth/password", headers=h, json={"old_password": PW, "new_password": "x" * 300}
    )
    assert r.status_code == 422 and "x" * 300 not in r.text
    assert r.json()["errors"][0]["loc"] == ["body", "new_password"]


def test_tokens_expire(w):
    _add(w, "bob")
    settings = w.app.state.settings
    old, _ = issue_token(settings, "bob", 1, now=datetime.now(UTC) - timedelta(minutes=31))
    r = w.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {old}"})
    assert r.status_code == 401 and r.json()["detail"] == "token expired"
    fresh, _ = issue_token(settings, "bob", 1, now=datetime.now(UTC) - timedelta(minutes=29))
    assert _me(w, fresh).status_code == 200
    forged = fresh[:-4] + ("AAAA" if not fresh.endswith("AAAA") else "BBBB")
    assert _me(w, forged).status_code == 401


def test_disabled_users_are_refused_at_once(w):
    _add(w, "carol")
    tok = _login(w, "carol").json()
    h = {"Authorization": f"Bearer {tok['access_token']}"}
    assert w.client.get("/api/v1/issues", headers=h).status_code == 200
    assert w.client.post("/api/v1/users/carol/disable").status_code == 200
    assert w.client.get("/api/v1/issues", headers=h).status_code == 401
    r = w.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tok["refresh_token"]}, anonymous=True
    )
    assert r.status_code == 401
    assert _login(w, "carol").status_code == 401
    assert w.client.post("/api/v1/users/carol/enable").status_code == 200
    # re-enabled: old tokens stay revoked (token version), a new login works
    assert w.client.get("/api/v1/issues", headers=h).status_code == 401
    assert _login(w, "carol").status_code == 200
    log = w.client.get("/api/v1/audit", params={"object_key": "carol"}).json()["items"]
    assert [i["action"] for i in log][:3] == ["auth.login", "user.enable", "user.disable"]
    assert log[2]["before"] == {"disabled": False} and log[2]["after"] == {"disabled": True}


def test_lockout_after_repeated_failures_and_reset(w):
    _add(w, "dave")
    for _ in range(3):  # the world's threshold
        assert _login(w, "dave", "wrong-Passw0rd").status_code == 401
    # locked: even the right password is refused, with the same message
    r = _login(w, "dave")
    assert r.status_code == 401 and "locked" in r.json()["detail"]
    r = w.client.post("/api/v1/users/dave/reset-password")
    otp = r.json()["one_time_password"]
    assert r.status_code == 200 and len(otp) >= 10
    tok = _login(w, "dave", otp).json()
    assert tok["must_change_password"] is True
    h = {"Authorization": f"Bearer {tok['access_token']}"}
    # until the password is changed only /auth/me and /auth/password work
    assert w.client.get("/api/v1/issues", headers=h).status_code == 403
    r = w.client.post(
        "/api/v1/auth/password", headers=h, json={"old_password": otp, "new_password": "weak"}
    )
    assert r.status_code == 422 and r.json()["field"] == "password"
    r = w.client.post(
        "/api/v1/auth/password",
        headers=h,
        json={"old_password": otp, "new_password": "N3w-Passw0rd!"},
    )
    assert r.status_code == 200
    assert w.client.get("/api/v1/issues", headers=h).status_code == 401  # revoked by the change
    assert _login(w, "dave", "N3w-Passw0rd!").json()["must_change_password"] is False


def test_expired_passwords_must_be_changed(w):
    _add(w, "erin")
    with w.store.session() as s:
        u = accounts.get_user(s, "erin")
        u.password_changed_at = datetime.now(UTC) - timedelta(days=91)
    assert _login(w, "erin").json()["must_change_password"] is True


def test_login_is_throttled_per_address(demo_sqlite_template, tmp_path):
    path, _ = demo_sqlite_template
    world = build_world(path, tmp_path, login_rate="3/60")
    try:
        codes = [_login(world, "nobody", "x").status_code for _ in range(5)]
        assert codes == [401, 401, 401, 429, 429]
        r = _login(world, "nobody", "x")
        assert int(r.headers["retry-after"]) >= 1
    finally:
        world.client.__exit__(None, None, None)


def test_token_bucket_refills():
    t = [0.0]
    rl = RateLimiter(2, 10.0, clock=lambda: t[0])
    assert [rl.allow("a"), rl.allow("a"), rl.allow("a"), rl.allow("b")] == [True, True, False, True]
    t[0] = 5.0  # half the period: one token back
    assert [rl.allow("a"), rl.allow("a")] == [True, False]


def test_login_page_sets_a_strict_cookie_and_pages_redirect(w):
    c = AuthClient(w.app)
    r = c.get("/map", anonymous=True, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/map"
    _add(w, "frank", "viewer")
    r = c.post(
        "/login",
        data={"username": "frank", "password": PW, "next": "//evil.example"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/"  # no open redirect
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    r = c.post(
        "/login",
        data={"username": "frank", "password": "bad", "next": "/map"},
        follow_redirects=False,
    )
    assert r.status_code == 401 and "账号或密码错误" in r.text


def test_openapi_shows_the_security_scheme(w):
    spec = w.client.get("/openapi.json").json()
    scheme = spec["components"]["securitySchemes"]["OAuth2PasswordBearer"]
    assert scheme["flows"]["password"]["tokenUrl"] == "/api/v1/auth/token"
    assert {"OAuth2PasswordBearer": []} in spec["paths"]["/api/v1/issues"]["get"]["security"]


def test_pages_send_a_must_change_user_to_the_password_page(w):
    """First login with a one-time password: the browser lands on 修改密码, then goes on."""
    with w.store.session() as s:
        accounts.create_user(s, ADMIN, "gina", PW, "viewer", must_change_password=True)
    c = AuthClient(w.app)
    r = c.post(
        "/login",
        data={"username": "gina", "password": PW, "next": "/map"},
        follow_redirects=False,
        anonymous=True,
    )
    assert r.status_code == 303 and r.headers["location"] == "/password?next=/map"
    # any page goes there too (not a JSON 403); the API keeps its 403 problem
    r = c.get("/map", follow_redirects=False, headers={"Authorization": ""})
    assert r.status_code == 303 and r.headers["location"] == "/password?next=/map"
    r = c.get("/api/v1/issues", headers={"Authorization": ""})
    assert r.status_code == 403 and r.json()["field"] == "password"
    page = c.get("/password?next=/map", headers={"Authorization": ""})
    assert page.status_code == 200 and "修改密码" in page.text and "gina" in page.text
    form = {"old_password": PW, "new_password": "Fresh-Passw0rd!", "next": "/map"}
    r = c.post(
        "/password", data={**form, "confirm": "Other-Passw0rd!"}, headers={"Authorization": ""}
    )
    assert r.status_code == 422 and "两次输入的新密码不一致" in r.text
    r = c.post(
        "/password",
        data={**form, "new_password": "weakweak", "confirm": "weakweak"},
        headers={"Authorization": ""},
    )
    assert r.status_code == 422 and "新密码不符合要求" in r.text and "长度不足" in r.text
    r = c.post(
        "/password",
        data={**form, "old_password": "nope", "confirm": "Fresh-Passw0rd!"},
        headers={"Authorization": ""},
    )
    assert r.status_code == 401 and "当前密码错误" in r.text
    r = c.post(
        "/password",
        data={**form, "confirm": "Fresh-Passw0rd!"},
        headers={"Authorization": ""},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/map"
    # the renewed cookie opens the page; the old password no longer logs in
    assert c.get("/map", headers={"Authorization": ""}).status_code == 200
    assert _login(w, "gina").status_code == 401
    assert _login(w, "gina", "Fresh-Passw0rd!").json()["must_change_password"] is False


def test_intake_reads_the_account_on_every_report(w):
    """Intake reads the account in the transaction of the report (issue 19), with every
    check of the other routes and in their order: a disabled account, a role change and
    a forced password change act on the very next report, before its body is looked at.
    """
    _add(w, "henry", role="grid_worker")
    h = {"Authorization": f"Bearer {_login(w, 'henry').json()['access_token']}"}
    body = {"category": "dumping", "source": "grid_worker", "lon": w.px[0], "lat": w.px[1]}
    assert w.client.post("/api/v1/issues", json=body, headers=h).status_code == 201
    assert w.client.post("/api/v1/issues", json={}, headers=h).status_code == 422
    with w.store.session() as s:  # a role without the permission to report
        accounts.get_user(s, "henry").role = "viewer"
    for sent in (body, {}):  # 403, not 422: the permission comes first
        assert w.client.post("/api/v1/issues", json=sent, headers=h).status_code == 403
    with w.store.session() as s:
        u = accounts.get_user(s, "henry")
        u.role, u.must_change_password = "grid_worker", True
    r = w.client.post("/api/v1/issues", json={}, headers=h)
    assert r.status_code == 403 and r.json()["field"] == "password"
    with w.store.session() as s:
        accounts.get_user(s, "henry").must_change_password = False
    assert w.client.post("/api/v1/issues", json=body, headers=h).status_code == 201
    assert w.client.post("/api/v1/users/henry/disable").status_code == 200
    for sent in (body, {}):  # 401, not 422
        assert w.client.post("/api/v1/issues", json=sent, headers=h).status_code == 401
    bad = {"Authorization": "Bearer not-a-token"}
    assert w.client.post("/api/v1/issues", json={}, headers=bad).status_code == 401


def test_a_verified_token_still_expires(w):
    """A token's signature is verified once per process; its expiry on every request."""
    from civgrid.api import deps

    _add(w, "iris")
    settings = w.app.state.settings
    life = timedelta(minutes=settings.access_token_minutes)
    tok, _ = issue_token(settings, "iris", 1, now=datetime.now(UTC) - life + timedelta(seconds=3))
    assert _me(w, tok).status_code == 200  # verified and kept
    assert any(raw == tok for _, raw in deps._CLAIMS)
    claims = decode_token(settings, tok)
    time.sleep(max(0.0, claims["exp"] - time.time()) + 0.05)  # three seconds at most
    r = _me(w, tok)
    assert r.status_code == 401 and r.json()["detail"] == "token expired"
