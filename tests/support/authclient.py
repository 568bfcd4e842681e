"""Tests authenticate for real: a TestClient that logs in, and helpers for browsers.

The app trusts no header. Older tests describe the actor with the headers
``X-Actor`` / ``X-Actor-Role`` / ``X-Actor-Unit``; :class:`AuthClient` turns
them into an account of the matching role (created on the fly in the app's
database) and a signed access token, cached per app. Without those headers it
acts as an admin (``X-Actor-Role: system`` too). ``anonymous=True`` on a request
(or ``X-Actor-Role: citizen``) sends no token at all: the public.

    client = AuthClient(app)
    client.post("/api/v1/issues", json=..., anonymous=True)      # public intake
    client.get("/api/v1/issues", headers={"X-Actor-Role": "unit", "X-Actor-Unit": "D04"})
    client.get("/api/v1/issues", headers=client.as_user("leader", leader="L01"))

Account roles: ``admin dispatcher inspector unit_handler grid_worker leader viewer``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from fastapi.testclient import TestClient

#: X-Actor-Role (workflow role) → account role.
WORKFLOW_TO_ACCOUNT = {
    "system": "admin",
    "command_center": "dispatcher",
    "inspector": "inspector",
    "unit": "unit_handler",
    "grid_worker": "grid_worker",
}
TEST_PASSWORD = "Test-Passw0rd!"


@lru_cache(maxsize=1)
def _password_hash() -> str:
    from civgrid.grids.accounts.service import hash_password

    return hash_password(TEST_PASSWORD)


def ensure_user(
    store: Any,
    username: str,
    role: str,
    *,
    unit: str | None = None,
    leader: str | None = None,
) -> tuple[str, int]:
    """Create (or find) an account directly in the store; returns (username, token_version).

    An existing name with another role/unit/leader gets a suffixed name instead.
    """
    from datetime import UTC, datetime

    from sqlalchemy import select

    from civgrid.grids.accounts.models import User

    with store.session() as session:
        name, n = username, 1
        while True:
            user = session.scalar(select(User).where(User.username == name))
            if user is None:
                user = User(
                    username=name,
                    role=role,
                    unit_key=unit,
                    leader_key=leader,
                    password_hash=_password_hash(),
                    password_changed_at=datetime.now(UTC),
                    must_change_password=False,
                    disabled=False,
                    failed_logins=0,
                    token_version=1,
                    created_at=datetime.now(UTC),
                )
                session.add(user)
                session.flush()
                return user.username, user.token_version
            if (user.role, user.unit_key, user.leader_key) == (role, unit, leader):
                return user.username, user.token_version
            n += 1
            name = f"{username}~{n}"


def token_for(app: Any, username: str, role: str, *, unit=None, leader=None) -> str:
    """An access token of a (created if need be) account on ``app``'s database."""
    from civgrid.api.security import issue_token

    name, ver = ensure_user(app.state.store, username, role, unit=unit, leader=leader)
    return issue_token(app.state.settings, name, ver)[0]


class AuthClient(TestClient):
    """A TestClient that logs in as the actor its headers describe (see the module doc)."""

    def __init__(self, app: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(app, *args, **kwargs)
        self._tokens: dict[tuple, str] = {}

    @staticmethod
    def as_user(role: str, name: str | None = None, *, unit=None, leader=None) -> dict[str, str]:
        """Headers selecting an account by *account* role (leader, viewer… included)."""
        h = {"X-Test-Account-Role": role, "X-Actor": name or f"{role}-{unit or leader or 'x'}"}
        if unit:
            h["X-Actor-Unit"] = unit
        if leader:
            h["X-Test-Leader"] = leader
        return h

    def token(self, name: str, role: str, unit: str | None = None, leader=None) -> str:
        """A cached token for the account (name, account role, unit, leader)."""
        key = (name, role, unit, leader)
        if key not in self._tokens:
            self._tokens[key] = token_for(self.app, name, role, unit=unit, leader=leader)
        return self._tokens[key]

    def request(self, method: str, url: Any, *args: Any, **kwargs: Any):  # type: ignore[override]
        anonymous = kwargs.pop("anonymous", False)
        headers = dict(kwargs.pop("headers", None) or {})
        lower = {k.lower(): k for k in headers}

        def pop(name: str) -> str | None:
            k = lower.get(name.lower())
            return headers.pop(k) if k is not None else None

        anonymous = bool(pop("X-Test-Anonymous")) or anonymous
        who, wf_role, unit = pop("X-Actor"), pop("X-Actor-Role"), pop("X-Actor-Unit")
        account_role, leader = pop("X-Test-Account-Role"), pop("X-Test-Leader")
        if wf_role == "citizen":
            anonymous = True
        if not anonymous and "authorization" not in lower:
            role = account_role or WORKFLOW_TO_ACCOUNT.get(wf_role or "system", "admin")
            name = unquote(who) if who else ("admin" if role == "admin" else f"{role}-{unit}")
            headers["Authorization"] = f"Bearer {self.token(name, role, unit, leader)}"
        # a login cookie set by an earlier /login must not stand in for "no token"
        if anonymous:
            self.cookies.clear()
        return super().request(method, url, *args, headers=headers, **kwargs)


def browser_login(context: Any, app: Any, base_url: str, role: str = "admin", **kw: Any) -> None:
    """Log a Playwright browser context in: the session cookie of a token for ``role``."""
    from civgrid.api.security import COOKIE_NAME

    name = kw.pop("name", None) or ("admin" if role == "admin" else f"{role}-browser")
    tok = token_for(app, name, role, **kw)
    context.add_cookies([{"name": COOKIE_NAME, "value": tok, "url": base_url}])


def _with_anonymous(name: str):
    base = getattr(TestClient, name)

    def method(self, url: Any, *args: Any, anonymous: bool = False, **kwargs: Any):
        if anonymous:
            kwargs["headers"] = {**(kwargs.get("headers") or {}), "X-Test-Anonymous": "1"}
        return base(self, url, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"``TestClient.{name}``; ``anonymous=True`` sends no token."
    return method


for _name in ("get", "post", "put", "patch", "delete", "head", "options"):
    setattr(AuthClient, _name, _with_anonymous(_name))
