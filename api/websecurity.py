"""Browser security: CSRF refusal and the security headers of every response.

One pure ASGI middleware, :class:`BrowserSecurity`, installed by
:func:`civgrid.api.app.create_app`.

CSRF — a strict ``Sec-Fetch-Site`` / ``Origin`` check (a local choice, see
``docs/operations.md`` "Browser security")
    A state-changing request (any method but GET, HEAD, OPTIONS, TRACE) that a
    browser could send with ambient authority — one carrying the session cookie
    (:data:`civgrid.api.security.COOKIE_NAME`) and no ``Authorization`` header,
    or any POST to ``/login`` (login CSRF) — must come from the app's own origin:

    * when the browser sends ``Sec-Fetch-Site``, it must be ``same-origin`` (or
      ``none``: typed by the user);
    * otherwise, when it sends ``Origin``, its host (and port) must be the
      request's ``Host``; ``Origin: null`` is refused;
    * a request with neither header is not from a current browser (curl, a
      script holding the cookie) and is let through.

    A cross-site *or same-site* (another port on the host) request is answered
    403: problem+json ``civgrid:CrossSiteRequest`` for API clients, a Chinese
    page for a browser. Bearer-token clients (``Authorization`` set) are never
    checked — a browser does not add that header by itself.

Headers on every response
    ``Content-Security-Policy`` (no ``unsafe-eval``; scripts only from the app or
    with the response's nonce, no ``unsafe-inline`` for scripts;
    ``frame-ancestors 'none'``), ``X-Frame-Options: DENY``,
    ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin`` and
    ``Cross-Origin-Opener-Policy: same-origin``. The nonce is fresh per request
    and handed to the page builders through
    :data:`civgrid.maps.render.script_nonce` (they mark their own inline scripts).

>>> csrf_refused("POST", {"sec-fetch-site": "same-site"}, "/api/v1/issues", True)
True
>>> csrf_refused("POST", {"sec-fetch-site": "same-origin"}, "/api/v1/issues", True)
False
>>> csrf_refused("POST", {"origin": "http://evil.test", "host": "grid.test"}, "/login", False)
True
>>> csrf_refused("POST", {"origin": "http://grid.test", "host": "grid.test"}, "/login", False)
False
>>> csrf_refused("POST", {"sec-fetch-site": "cross-site", "authorization": "Bearer x"}, "/x", True)
False
>>> csrf_refused("GET", {"sec-fetch-site": "cross-site"}, "/", True)
False
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from civgrid.api.security import COOKIE_NAME
from civgrid.maps.basemaps import tile_hosts
from civgrid.maps.render import script_nonce

__all__ = ["BrowserSecurity", "content_security_policy", "csrf_refused"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Methods that change nothing (RFC 9110 §9.2.1 "safe methods").
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
#: ``Sec-Fetch-Site`` values accepted for a state-changing cookie request.
SAME_ORIGIN_SITES = frozenset({"same-origin", "none"})
#: Paths whose POST is checked even without a session cookie (login CSRF).
LOGIN_PATHS = frozenset({"/login"})

#: The fixed headers of every response.
STATIC_HEADERS: tuple[tuple[str, str], ...] = (
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("cross-origin-opener-policy", "same-origin"),
)

_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _host_port(netloc: str, scheme: str = "") -> str:
    """``host:port`` of a netloc, lower case, with the scheme's default port made explicit.

    >>> _host_port("Grid.Test", "https"), _host_port("grid.test:8000")
    ('grid.test:443', 'grid.test:8000')
    """
    netloc = netloc.strip().lower()
    if ":" in netloc.rsplit("]", 1)[-1]:
        return netloc
    port = _DEFAULT_PORTS.get(scheme, "")
    return f"{netloc}:{port}" if port else netloc


def _same_host(origin: str, host: str) -> bool:
    """Whether an ``Origin`` header names the host (and port) the request was sent to."""
    parts = urlsplit(origin)
    if parts.scheme not in _DEFAULT_PORTS or not parts.netloc or not host:
        return False
    if _host_port(parts.netloc, parts.scheme) == _host_port(host, parts.scheme):
        return True
    # TLS ended at a proxy: the app sees plain http but the Host is the same
    return parts.netloc.lower() == host.strip().lower()


def csrf_refused(method: str, headers: Mapping[str, str], path: str, has_cookie: bool) -> bool:
    """Whether a request must be refused as cross-site (see the module docstring).

    Parameters
    ----------
    method : str
        The HTTP method, upper case.
    headers : Mapping[str, str]
        Request headers, names in lower case.
    path : str
        The request path.
    has_cookie : bool
        Whether the session cookie came with the request.
    """
    if method in SAFE_METHODS or headers.get("authorization"):
        return False
    if not has_cookie and path not in LOGIN_PATHS:
        return False
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site.strip().lower() not in SAME_ORIGIN_SITES
    origin = headers.get("origin")
    if origin is not None:
        return not _same_host(origin, headers.get("host", ""))
    return False


def content_security_policy(nonce: str, extra_img_hosts: tuple[str, ...] = ()) -> str:
    """The ``Content-Security-Policy`` of a response with script nonce ``nonce``.

    Styles keep ``'unsafe-inline'`` (Leaflet positions every tile and marker with
    inline ``style`` attributes; a local choice — styles cannot run code); images
    may also come from the configured basemap's tile hosts.

    >>> p = content_security_policy("abc", ("https://t0.tianditu.gov.cn",))
    >>> "script-src 'self' 'nonce-abc'" in p and "unsafe-eval" not in p
    True
    >>> "frame-ancestors 'none'" in p and "https://t0.tianditu.gov.cn" in p
    True
    """
    img = " ".join(("'self'", "data:", "blob:", *extra_img_hosts))
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "script-src-attr 'none'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src {img}",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


_REFUSED_PAGE = (
    '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>请求被拒绝</title>'
    "</head><body><h1>请求被拒绝</h1><p>该操作必须从本系统的页面发起（跨站请求已拦截）。"
    '请返回<a href="/">首页</a>后重试。</p></body></html>'
)


class BrowserSecurity:
    """ASGI middleware: refuse cross-site state changes; add the security headers.

    Parameters
    ----------
    app : ASGI application
    settings : Settings, optional
        The configured basemap's tile hosts are allowed for images.
    """

    def __init__(self, app: ASGIApp, settings: Any = None) -> None:
        self.app = app
        self.img_hosts = tile_hosts(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        nonce = secrets.token_urlsafe(16)
        extra = [
            (b"content-security-policy", content_security_policy(nonce, self.img_hosts).encode()),
            *((k.encode(), v.encode()) for k, v in STATIC_HEADERS),
        ]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        if csrf_refused(scope["method"], headers, scope["path"], _has_cookie(headers)):
            await _refuse(headers, send_with_headers)
            return
        token = script_nonce.set(nonce)
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            script_nonce.reset(token)


def _has_cookie(headers: Mapping[str, str]) -> bool:
    cookie = headers.get("cookie", "")
    return any(part.strip().startswith(COOKIE_NAME + "=") for part in cookie.split(";"))


async def _refuse(headers: Mapping[str, str], send: Send) -> None:
    """403: a Chinese page for a browser navigation, problem+json otherwise."""
    if "text/html" in headers.get("accept", ""):
        body, ctype = _REFUSED_PAGE.encode(), b"text/html; charset=utf-8"
    else:
        problem = {
            "type": "civgrid:CrossSiteRequest",
            "title": "Forbidden",
            "status": 403,
            "detail": "cross-site request refused: send it from the app's own pages "
            "or with an Authorization header",
        }
        body, ctype = json.dumps(problem).encode(), b"application/problem+json"
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
