"""Accounts: login (OAuth2 password flow), tokens, users, the audit log, the login page.

``POST /api/v1/auth/token``
    OAuth2 password form → access token (short-lived) and refresh token.
    Throttled per client IP (token bucket) and per account (lockout).
``POST /api/v1/auth/refresh``
    A refresh token → a new access token (refused for disabled users or
    after a password reset).
``GET /api/v1/auth/me`` / ``POST /api/v1/auth/password``
    The current account; change one's password.
``/api/v1/users…`` (admin)
    List, add, disable, enable, reset password (a one-time password, shown once).
``GET /api/v1/audit`` (admin)
    The append-only audit log, filtered.
``GET/POST /login``, ``POST /logout``
    The Chinese login page: stores the access token in an HttpOnly,
    SameSite=Strict cookie so the HTML map pages work behind login.
``GET/POST /password``
    修改密码: where a page visitor whose password expired or was reset is sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.security import OAuth2PasswordRequestForm

from civgrid.api.deps import ActorDep, CurrentUser, SessionDep, SettingsDep, require
from civgrid.api.ratelimit import client_ip, limiter
from civgrid.api.schemas import ERRORS_READ, ERRORS_WRITE, MAX_ID
from civgrid.api.schemas.auth import (
    AuditOut,
    AuditPage,
    OneTimePassword,
    PasswordIn,
    RefreshIn,
    TokenOut,
    UserIn,
    UserOut,
)
from civgrid.api.security import (
    COOKIE_NAME,
    TokenError,
    decode_token,
    issue_token,
)
from civgrid.api.settings import Settings
from civgrid.grids.accounts import service as accounts
from civgrid.grids.accounts.models import User
from civgrid.grids.accounts.permissions import ROLE_LABELS, Perm, Role, Scope
from civgrid.grids.core import audit
from civgrid.grids.core.errors import InvalidInputError, NotFoundError
from civgrid.maps.account_pages import login_page_html, password_page_html

router = APIRouter(prefix="/api/v1", tags=["auth"])
pages = APIRouter(include_in_schema=False)

AdminUsers = Annotated[Scope, require(Perm.user_manage)]
AdminAudit = Annotated[Scope, require(Perm.audit_read)]


def _user_out(u: User) -> UserOut:
    return UserOut(
        username=u.username,
        title=u.title,
        role=u.role,
        role_label=ROLE_LABELS.get(Role(u.role), u.role),
        unit_key=u.unit_key,
        leader_key=u.leader_key,
        disabled=u.disabled,
        must_change_password=u.must_change_password,
        locked_until=u.locked_until,
        last_login_at=u.last_login_at,
        password_changed_at=u.password_changed_at,
    )


# ----------------------------------------------------------------------------- helpers


def _policy(settings: Settings) -> accounts.PasswordPolicy:
    return accounts.PasswordPolicy(
        max_age_days=settings.password_max_age_days,
        lockout_threshold=settings.lockout_threshold,
        lockout_minutes=settings.lockout_minutes,
    )


def _too_many(retry: int) -> JSONResponse:
    return JSONResponse(
        {
            "type": "civgrid:TooManyRequests",
            "title": "Too Many Requests",
            "status": 429,
            "detail": "too many attempts; try again later",
        },
        status_code=429,
        headers={"Retry-After": str(retry)},
        media_type="application/problem+json",
    )


def _unauthorized(detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": "civgrid:LoginRequired", "title": "Unauthorized", "status": 401, "detail": detail},
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
        media_type="application/problem+json",
    )


def _login(
    request: Request, session: Any, settings: Settings, username: str, password: str
) -> tuple[User | None, JSONResponse | None]:
    ip = client_ip(request)
    for key in (f"ip:{ip}", f"user:{username}"):
        rl = limiter(request, "login", settings.login_rate)
        if not rl.allow(key):
            return None, _too_many(rl.retry_after(key))
    try:
        user = accounts.authenticate(session, username, password, policy=_policy(settings))
    except accounts.AuthError as exc:
        session.commit()  # keep the failure count and any lock
        return None, _unauthorized(str(exc))
    audit.record(session, accounts.actor_of(user), "auth.login", "user", user.username, client=ip)
    session.commit()
    return user, None


def _tokens(settings: Settings, user: User) -> TokenOut:
    access, life = issue_token(settings, user.username, user.token_version, "access")
    refresh, _ = issue_token(settings, user.username, user.token_version, "refresh")
    return TokenOut(
        access_token=access,
        expires_in=life,
        refresh_token=refresh,
        must_change_password=user.must_change_password,
    )


# ----------------------------------------------------------------------------- tokens


@router.post(
    "/auth/token",
    response_model=TokenOut,
    summary="Log in (OAuth2 password flow)",
    responses={
        **ERRORS_WRITE,
        401: {"description": "Wrong credentials"},
        429: {"description": "Throttled"},
    },
)
def login_for_token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
) -> Any:
    """Username and password (form fields) → a short-lived access token and a refresh token."""
    user, error = _login(request, session, settings, form.username, form.password)
    if error is not None:
        return error
    return _tokens(settings, user)


@router.post(
    "/auth/refresh",
    response_model=TokenOut,
    summary="A new access token from a refresh token",
    responses={**ERRORS_WRITE, 401: {"description": "Invalid, expired or revoked"}},
)
def refresh(body: RefreshIn, session: SessionDep, settings: SettingsDep) -> Any:
    """Refused at once for disabled users and tokens issued before a password reset."""
    try:
        claims = decode_token(settings, body.refresh_token, "refresh")
    except TokenError as exc:
        return _unauthorized(str(exc))
    user = session.query(User).filter(User.username == claims["sub"]).one_or_none()
    if user is None or user.disabled or user.token_version != claims["ver"]:
        return _unauthorized("the account is disabled or the token was revoked")
    access, life = issue_token(settings, user.username, user.token_version, "access")
    return TokenOut(
        access_token=access, expires_in=life, must_change_password=user.must_change_password
    )


@router.get(
    "/auth/me", response_model=UserOut, summary="The current account", responses=ERRORS_READ
)
def me(user: CurrentUser) -> UserOut:
    """Who is logged in, with role, unit or leader."""
    return _user_out(user)


@router.post(
    "/auth/password", response_model=UserOut, summary="Change my password", responses=ERRORS_WRITE
)
def change_my_password(
    body: PasswordIn, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> Any:
    """Needs the old password; earlier tokens stop working (log in again)."""
    if not accounts.verify_password(body.old_password, user.password_hash):
        return _unauthorized("wrong password")
    u = accounts.change_password(
        session,
        accounts.actor_of(user),
        user.username,
        body.new_password,
        policy=_policy(settings),
    )
    session.commit()
    return _user_out(u)


# ----------------------------------------------------------------------------- users (admin)


@router.get("/users", response_model=list[UserOut], summary="Accounts", responses=ERRORS_READ)
def list_users(_: AdminUsers, session: SessionDep) -> list[UserOut]:
    """Every account (admin)."""
    return [_user_out(u) for u in session.query(User).order_by(User.username)]


@router.post(
    "/users",
    response_model=OneTimePassword,
    status_code=201,
    summary="Add an account",
    responses=ERRORS_WRITE,
)
def add_user(
    body: UserIn, scope: AdminUsers, session: SessionDep, settings: SettingsDep
) -> OneTimePassword:
    """A new account; without ``password`` a one-time password is generated and shown once."""
    password = body.password or accounts.generate_password(username=body.username)
    accounts.create_user(
        session,
        scope.actor,
        body.username,
        password,
        body.role,
        unit_key=body.unit_key,
        leader_key=body.leader_key,
        title=body.title,
        must_change_password=body.password is None,
        policy=_policy(settings),
    )
    session.commit()
    shown = password if body.password is None else "（已设置）"
    return OneTimePassword(username=body.username, one_time_password=shown)


@router.post(
    "/users/{username}/disable",
    response_model=UserOut,
    summary="Disable an account (tokens refused at once)",
    responses=ERRORS_WRITE,
)
def disable_user(username: str, scope: AdminUsers, session: SessionDep) -> UserOut:
    """The account's tokens stop working immediately."""
    return _set_disabled(session, scope, username, True)


@router.post(
    "/users/{username}/enable",
    response_model=UserOut,
    summary="Enable an account",
    responses=ERRORS_WRITE,
)
def enable_user(username: str, scope: AdminUsers, session: SessionDep) -> UserOut:
    """Re-enable a disabled account."""
    return _set_disabled(session, scope, username, False)


def _set_disabled(session: Any, scope: Scope, username: str, disabled: bool) -> UserOut:
    u = accounts.set_disabled(session, scope.actor, username, disabled)
    session.commit()
    return _user_out(u)


@router.post(
    "/users/{username}/reset-password",
    response_model=OneTimePassword,
    summary="Reset a password (one-time password, shown once)",
    responses=ERRORS_WRITE,
)
def reset_password(
    username: str, scope: AdminUsers, session: SessionDep, settings: SettingsDep
) -> OneTimePassword:
    """A generated one-time password; the user must change it at the next login."""
    pw = accounts.generate_password(username=username)
    accounts.change_password(
        session, scope.actor, username, pw, must_change=True, policy=_policy(settings)
    )
    session.commit()
    return OneTimePassword(username=username, one_time_password=pw)


# ----------------------------------------------------------------------------- audit (admin)


@router.get("/audit", response_model=AuditPage, summary="The audit log", responses=ERRORS_READ)
def audit_log(
    _: AdminAudit,
    session: SessionDep,
    who: Annotated[str | None, Query()] = None,
    action: Annotated[str | None, Query(description="Prefix, e.g. issue. or user.")] = None,
    object_kind: Annotated[str | None, Query()] = None,
    object_key: Annotated[str | None, Query()] = None,
    since: Annotated[datetime | None, Query()] = None,
    until: Annotated[datetime | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> AuditPage:
    """Who did what when (with before/after), newest first (admin)."""
    rows, total = audit.query(
        session,
        audit.AuditQuery(who, action, object_kind, object_key, since, until, limit, offset),
    )
    return AuditPage(items=[AuditOut(**audit.to_dict(r)) for r in rows], total=total)


# ----------------------------------------------------------------------------- login page


def _safe_next(target: str | None) -> str:
    """Only local paths (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@pages.get("/login", response_class=HTMLResponse)
def login_page(settings: SettingsDep, next: str | None = None) -> HTMLResponse:
    """登录页."""
    return HTMLResponse(login_page_html(settings.county_name, _safe_next(next)))


@pages.post("/login", response_class=HTMLResponse)
def login_form(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    next: Annotated[str, Form()] = "/",
) -> Any:
    """Check the form; set the session cookie; go to ``next``."""
    target = _safe_next(next)
    user, error = _login(request, session, settings, username, password)
    if error is not None:
        msg = (
            "尝试次数过多，请稍后再试"
            if error.status_code == 429
            else "账号或密码错误，或账号已锁定"
        )
        return HTMLResponse(
            login_page_html(settings.county_name, target, msg), status_code=error.status_code
        )
    if user.must_change_password:
        target = f"/password?next={quote(target)}"
    return with_session_cookie(RedirectResponse(target, status_code=303), settings, user)


def with_session_cookie(resp: Any, settings: Settings, user: User) -> Any:
    """Set the HttpOnly session cookie holding a fresh access token for ``user``."""
    token, life = issue_token(settings, user.username, user.token_version, "access")
    resp.set_cookie(
        COOKIE_NAME,
        token,
        max_age=life,
        httponly=True,
        samesite="strict",
        secure=settings.cookie_secure,
        path="/",
    )
    return resp


_ZH_PROBLEMS = (
    ("characters", "长度不足"),
    ("three of", "须含大写、小写、数字、符号中的至少三类"),
    ("username", "不得包含账号名"),
    ("differ from the old", "新密码不能与当前密码相同"),
)


def _zh_problem(message: str) -> str:
    """The password policy's complaint in Chinese, for the page."""
    found = [zh for key, zh in _ZH_PROBLEMS if key in message]
    return "新密码不符合要求：" + "；".join(found) if found else message


@pages.get("/password", response_class=HTMLResponse)
def password_page(user: CurrentUser, settings: SettingsDep, next: str | None = None) -> Any:
    """修改密码页."""
    return HTMLResponse(password_page_html(settings.county_name, user.username, _safe_next(next)))


@pages.post("/password", response_class=HTMLResponse)
def password_form(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    old_password: Annotated[str, Form(max_length=256)],
    new_password: Annotated[str, Form(max_length=256)],
    confirm: Annotated[str, Form(max_length=256)],
    next: Annotated[str, Form()] = "/",
) -> Any:
    """Change the password, renew the session cookie (old tokens are revoked), go on."""
    target = _safe_next(next)

    def again(problems: list[str], status: int) -> HTMLResponse:
        html = password_page_html(settings.county_name, user.username, target, problems)
        return HTMLResponse(html, status_code=status)

    if not accounts.verify_password(old_password, user.password_hash):
        return again(["当前密码错误"], 401)
    if new_password != confirm:
        return again(["两次输入的新密码不一致"], 422)
    try:
        u = accounts.change_password(
            session,
            accounts.actor_of(user),
            user.username,
            new_password,
            policy=_policy(settings),
        )
    except InvalidInputError as exc:
        return again([_zh_problem(str(exc))], 422)
    session.commit()
    return with_session_cookie(RedirectResponse(target, status_code=303), settings, u)


@pages.post("/logout")
def logout(actor: ActorDep) -> RedirectResponse:
    """Forget the session cookie."""
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE_NAME, path="/")
    return resp


def login_redirect(path: str) -> RedirectResponse:
    """Where an anonymous visitor of an HTML page is sent."""
    return RedirectResponse(f"/login?next={quote(path)}", status_code=303)


__all__ = ["client_ip", "limiter", "login_redirect", "pages", "router"]
_ = NotFoundError
