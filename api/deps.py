"""Annotated dependencies, so route signatures read like documentation."""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import bindparam, inspect, select
from sqlalchemy.orm import Session, make_transient_to_detached

from civgrid.api.security import (
    COOKIE_NAME,
    TokenError,
    decode_token,
    oauth2_scheme,
    signing_key,
)
from civgrid.api.settings import Settings
from civgrid.grids.accounts.models import User
from civgrid.grids.accounts.permissions import Perm, Role, Scope
from civgrid.grids.accounts.service import actor_of
from civgrid.grids.boundaries.routing import remember_routing_stamp, routing_stamp_column
from civgrid.grids.boundaries.store import Store
from civgrid.grids.core.actors import Actor, ActorRole
from civgrid.grids.core.db import execute_first
from civgrid.grids.core.errors import PermissionDeniedError
from civgrid.grids.scoring.rules import RuleRegistry


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return request.app.state.settings


async def get_store(request: Request) -> Store:
    """The store opened by the lifespan."""
    return request.app.state.store


def get_session(store: Annotated[Store, Depends(get_store)]) -> Iterator[Session]:
    """One database session per request, committed on success, rolled back on error."""
    with store.session() as session:
        yield session


class LoginRequiredError(Exception):
    """No valid credentials: API answers 401, HTML pages redirect to ``/login``."""

    def __init__(self, detail: str = "login required") -> None:
        super().__init__(detail)
        self.detail = detail


class PasswordChangeRequiredError(PermissionDeniedError):
    """The password expired or was reset: API answers 403, HTML pages go to ``/password``."""


#: The actor of a request without credentials (public intake, Open311).
PUBLIC_ACTOR = Actor("anonymous", ActorRole.citizen, None, account_role="public")
#: Paths a user whose password must change may still use.
_PASSWORD_CHANGE_PATHS = (
    "/api/v1/auth/me",
    "/api/v1/auth/password",
    "/login",
    "/logout",
    "/password",
)


#: Claims of tokens already verified, by (signing key, token): a token's signature is
#: checked once per process, its expiry on every use (local choice: 4096 tokens, some
#: hundreds of accounts each on a few devices).
_CLAIMS: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
_CLAIMS_MAX = 4096
_CLAIMS_LOCK = threading.Lock()


def _access_claims(settings: Settings, raw: str) -> dict[str, Any]:
    """The claims of a valid access token, verified once per process.

    The signature and claims of one token never change, so a verified token is kept;
    its ``exp`` is compared with the clock on every request (as ``jwt.decode`` does,
    no leeway). Revocation is not a property of the token: the account lookup that
    follows checks it on every request.

    Raises
    ------
    TokenError
    """
    key = (signing_key(settings), raw)
    with _CLAIMS_LOCK:
        claims = _CLAIMS.get(key)
        if claims is not None:
            _CLAIMS.move_to_end(key)
    if claims is None:
        claims = decode_token(settings, raw, "access")
        with _CLAIMS_LOCK:
            _CLAIMS[key] = claims
            while len(_CLAIMS) > _CLAIMS_MAX:
                _CLAIMS.popitem(last=False)
    elif claims["exp"] <= time.time():
        raise TokenError("token expired")
    return claims


def _load_user(
    store: Store, username: str, session: Session | None = None, *, routing_stamp: bool = False
) -> User | None:
    """The account ``username`` as a detached :class:`User`, read with one Core query.

    Read on every request (never cached): a disabled account, a revoked token (a new
    ``token_version``) or a changed role takes effect at once, in every worker. Core
    and no ORM load: the identity map and a session cost more than the lookup. In
    ``session`` when given (the request's own transaction: no connection of its own);
    else on a connection of its own, on PostgreSQL in autocommit (no ``BEGIN`` and
    ``COMMIT`` round trips). With ``routing_stamp`` (and a ``session``), the routing
    stamp is read with the account and kept for the routing that follows
    (:func:`civgrid.grids.boundaries.routing.remember_routing_stamp`).
    """
    if session is not None and routing_stamp:
        # the first statement of the intake's transaction: its BEGIN goes with it
        row = execute_first(session, _USER_AND_STAMP, {"username": username}).mappings().first()
        if row is not None:
            remember_routing_stamp(session, row["routing_stamp"])
    elif session is not None:
        row = session.execute(_USER_BY_NAME, {"username": username}).mappings().first()
    else:
        with store.engine.connect() as conn:
            if store.backend == "postgis":
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            row = conn.execute(_USER_BY_NAME, {"username": username}).mappings().first()
    if row is None:
        return None
    user = User(**{key: row[name] for key, name in _user_columns().items()})
    make_transient_to_detached(user)  # as if loaded and expunged: never inserted again
    return user


def _check_account(user: User | None, claims: dict[str, Any], path: str) -> User:
    """``user`` when the token's account may act on ``path``.

    Raises
    ------
    LoginRequiredError
        No such account, a disabled one, or a token issued before a password reset or
        a logout everywhere (``ver`` claim).
    PasswordChangeRequiredError
        The password must be changed first (except on the paths that change it).
    """
    if user is None or user.disabled or user.token_version != claims["ver"]:
        raise LoginRequiredError("the account is disabled or the token was revoked")
    if user.must_change_password and not path.startswith(_PASSWORD_CHANGE_PATHS):
        raise PasswordChangeRequiredError(
            "the password has expired or was reset: change it first (POST /api/v1/auth/password)",
            field="password",
        )
    return user


_USER_BY_NAME = select(User.__table__).where(User.__table__.c.username == bindparam("username"))
_USER_AND_STAMP = _USER_BY_NAME.add_columns(routing_stamp_column())


@functools.cache
def _user_columns() -> dict[str, str]:
    """Attribute key → column name of :class:`User`."""
    return {a.key: a.columns[0].name for a in inspect(User).column_attrs}


def get_current_user(
    request: Request,
    token: Annotated[str | None, Depends(oauth2_scheme)] = None,
) -> User | None:
    """The logged-in user (Bearer token, else the session cookie), or None when anonymous.

    Raises
    ------
    LoginRequiredError
        A token that is invalid or expired, a disabled user, a token issued
        before a password reset (``ver`` claim) — refused at once.
    """
    if hasattr(request.state, "current_user"):
        return request.state.current_user
    creds = _credentials(request, token)
    user = None
    if creds.claims is not None:
        user = creds.user(request.app.state.store)
    request.state.current_user = user
    return user


@dataclass(frozen=True)
class Credentials:
    """A request's token, its signature and expiry checked; its account not read yet.

    For a route that reads the account in the thread that does its work
    (:meth:`user`, then :meth:`scope`) instead of in a thread of its own before it:
    one worker-thread hop and one connection fewer per request (issue 19: intake).
    Every check of :func:`get_current_user` still runs, in the same order before the
    work; a route must call :meth:`scope` before anything else it does.

    Attributes
    ----------
    claims : dict or None
        None: anonymous (no token, no cookie).
    path : str
        The request's path (a password change is allowed with an expired password).
    """

    claims: dict[str, Any] | None
    path: str

    @property
    def anonymous(self) -> bool:
        """No credentials: the public."""
        return self.claims is None

    def user(
        self, store: Store, session: Session | None = None, *, routing_stamp: bool = False
    ) -> User | None:
        """The account, read now (in ``session`` when given); None when anonymous.

        ``routing_stamp``: read the routing stamp with it, for routing next in
        ``session`` (see :func:`_load_user`).

        Raises
        ------
        LoginRequiredError, PasswordChangeRequiredError
            As :func:`get_current_user`.
        """
        if self.claims is None:
            return None
        user = _load_user(store, self.claims["sub"], session, routing_stamp=routing_stamp)
        return _check_account(user, self.claims, self.path)

    def scope(self, store: Store, session: Session, *, routing_stamp: bool = False) -> Scope:
        """The scope of the account (or of the public), read in ``session``.

        ``routing_stamp``: as :meth:`user`, for work that routes next without writing
        the routing tables first (an intake).
        """
        user = self.user(store, session, routing_stamp=routing_stamp)
        actor = PUBLIC_ACTOR if user is None else actor_of(user)
        return Scope.for_actor(session, actor)


def _credentials(request: Request, token: str | None) -> Credentials:
    raw = token or request.cookies.get(COOKIE_NAME)
    if not raw:
        return Credentials(None, request.url.path)
    try:
        claims = _access_claims(request.app.state.settings, raw)
    except TokenError as exc:
        raise LoginRequiredError(str(exc)) from exc
    return Credentials(claims, request.url.path)


async def get_credentials(
    request: Request,
    token: Annotated[str | None, Depends(oauth2_scheme)] = None,
) -> Credentials:
    """The request's checked token (:class:`Credentials`); an invalid one is refused here.

    Raises
    ------
    LoginRequiredError
        A token that is invalid or expired.
    """
    return _credentials(request, token)


async def get_actor(user: Annotated[User | None, Depends(get_current_user)]) -> Actor:
    """The actor of the request: the logged-in user, else the anonymous public."""
    if user is None:
        return PUBLIC_ACTOR
    return actor_of(user)


async def get_scope(request: Request, actor: Annotated[Actor, Depends(get_actor)]) -> Scope:
    """What the actor may see and do (:class:`civgrid.grids.accounts.permissions.Scope`).

    Async: most roles' scope needs no query, and a worker thread (a hop each way, a
    wait for a core on a busy machine) would cost more than building it. A leader's
    or unit handler's (their assignments, their unit's id) is read in a thread.
    """
    if not Scope.needs_query(actor):
        return Scope.for_actor(None, actor)
    store: Store = request.app.state.store

    def load() -> Scope:
        with store.session() as session:
            return Scope.for_actor(session, actor)

    return await run_in_threadpool(load)


def require(perm: Perm | str):
    """A dependency: the request's :class:`Scope`, after checking ``perm``.

    Anonymous callers lacking the permission get 401 (log in); others 403.
    """

    async def dep(scope: Annotated[Scope, Depends(get_scope)]) -> Scope:
        if not scope.has(perm) and scope.role is Role.public:
            raise LoginRequiredError()
        scope.require(perm)
        return scope

    dep.__name__ = f"require_{str(perm).replace('.', '_')}"
    return Depends(dep)


async def require_user(user: Annotated[User | None, Depends(get_current_user)]) -> User:
    """The logged-in user; 401 when anonymous."""
    if user is None:
        raise LoginRequiredError()
    return user


def score_registry(request: Request) -> RuleRegistry:
    """The app's rule registry: shipped profiles, the city's and those installed in
    ``<var_dir>/profiles`` (created on first use, shared by the scoring and patrol routes).
    """
    reg = getattr(request.app.state, "score_registry", None)
    if reg is None:
        settings = getattr(request.app.state, "settings", None)
        local = Path(settings.var_dir) / "profiles" if settings is not None else None
        reg = RuleRegistry.with_shipped(local)
        request.app.state.score_registry = reg
    return reg


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
SessionDep = Annotated[Session, Depends(get_session)]
ActorDep = Annotated[Actor, Depends(get_actor)]
ScopeDep = Annotated[Scope, Depends(get_scope)]
CurrentUser = Annotated[User, Depends(require_user)]
CredentialsDep = Annotated[Credentials, Depends(get_credentials)]


def method_permission(area: str):
    """A router-wide dependency: ``<area>.read`` for GET/HEAD, ``<area>.write`` otherwise."""

    async def dep(request: Request, scope: Annotated[Scope, Depends(get_scope)]) -> Scope:
        kind = "read" if request.method in ("GET", "HEAD", "OPTIONS") else "write"
        perm = Perm(f"{area}.{kind}")
        if not scope.has(perm) and scope.role is Role.public:
            raise LoginRequiredError()
        scope.require(perm)
        return scope

    dep.__name__ = f"{area}_permission"
    return Depends(dep)


def wants_html(request: Request) -> bool:
    """A browser page (not the API): redirect to the login page instead of a 401."""
    path = request.url.path
    if path.startswith(("/api/", "/open311/")):
        return False
    return "text/html" in request.headers.get("accept", "") or request.method == "GET"


def install_login_handler(app) -> None:
    """401 problem details for the API (``WWW-Authenticate: Bearer``); pages go to /login."""
    from fastapi.responses import JSONResponse, RedirectResponse

    async def _handle(request: Request, exc: LoginRequiredError):
        if wants_html(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            from urllib.parse import quote

            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        body = {
            "type": "civgrid:LoginRequired",
            "title": "Unauthorized",
            "status": 401,
            "detail": exc.detail,
        }
        return JSONResponse(
            body,
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
            media_type="application/problem+json",
        )

    async def _change_password(request: Request, exc: PasswordChangeRequiredError):
        if wants_html(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            from urllib.parse import quote

            return RedirectResponse(f"/password?next={quote(target)}", status_code=303)
        body = {
            "type": "civgrid:PermissionDeniedError",
            "title": "Forbidden",
            "status": 403,
            "detail": str(exc),
            "field": "password",
        }
        return JSONResponse(body, status_code=403, media_type="application/problem+json")

    app.add_exception_handler(LoginRequiredError, _handle)
    app.add_exception_handler(PasswordChangeRequiredError, _change_password)
