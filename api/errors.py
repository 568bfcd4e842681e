"""Domain exceptions → HTTP status and RFC 9457 problem details.

Domain code (geo, grids) raises its own exceptions and never imports FastAPI;
this module is the one table (:data:`STATUS_CODES`) that maps them to HTTP,
used by the one handler :func:`install` adds.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from civgrid.api.ratelimit import PayloadTooLargeError, TooManyRequestsError
from civgrid.geo.errors import GeoError
from civgrid.grids.core.errors import (
    ConflictError,
    DomainError,
    InvalidInputError,
    NotFoundError,
    OutsideResponsibilityError,
    PermissionDeniedError,
    UnavailableError,
)

#: Domain exception class → HTTP status. An exception takes the status of the
#: nearest class of its MRO in this table (InvalidTransitionError → ConflictError → 409).
STATUS_CODES: dict[type[BaseException], int] = {
    DomainError: 400,  # Bad Request
    PermissionDeniedError: 403,  # Forbidden
    NotFoundError: 404,  # Not Found
    ConflictError: 409,  # Conflict
    PayloadTooLargeError: 413,  # Content Too Large
    InvalidInputError: 422,  # Unprocessable Content
    OutsideResponsibilityError: 422,  # Unprocessable Content: a reason is missing
    GeoError: 422,  # Unprocessable Content
    TooManyRequestsError: 429,  # Too Many Requests
    UnavailableError: 503,  # Service Unavailable: e.g. no PDF printer on this machine
}


def status_for(exc: BaseException) -> int | None:
    """The status of ``exc`` in :data:`STATUS_CODES` (None when unmapped)."""
    return next((STATUS_CODES[c] for c in type(exc).__mro__ if c in STATUS_CODES), None)


def problem(
    status: int,
    detail: str,
    *,
    type_: str = "about:blank",
    headers: dict[str, str] | None = None,
    **extra,
) -> JSONResponse:
    """Build an ``application/problem+json`` response."""
    body = {"type": type_, "title": HTTPStatus(status).phrase, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers=headers
    )


log = logging.getLogger("civgrid.api")

#: Database errors that mean "not now" rather than "never": the server is gone or
#: restarting (PostgreSQL), the file is locked past the busy timeout (SQLite), the
#: pool has no connection to give. Answered 503 with ``Retry-After``.
DATABASE_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    PoolTimeoutError,
)
#: Seconds a client is asked to wait after a 503 (local choice: a PostgreSQL restart or
#: a long SQLite writer is usually over within seconds).
RETRY_AFTER_S = 5

_UNAVAILABLE_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>系统繁忙</title></head>
<body><h1>系统繁忙，请稍后再试</h1>
<p>数据库暂时无法访问（正在重启或繁忙）。请在 {seconds} 秒后刷新页面；</p>
<p>刚才提交的内容未被保存，请稍后重新提交。</p>
</body></html>
"""


_SECRET_KEY = re.compile(r"pass(word)?|secret|token|refresh|otp|api_?key", re.IGNORECASE)
REDACTED = "***"


def redact(value: Any, key: str = "") -> Any:
    """Replace every value whose key names a secret (password, token, …) by ``***``.

    Request bodies are echoed back in validation errors; a password must never be.
    """
    if _SECRET_KEY.search(key):
        return REDACTED
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v, key) for v in value]
    return value


def validation_problem(exc: RequestValidationError) -> JSONResponse:
    """422 naming each invalid field (FastAPI's ``detail`` list), with secrets redacted."""
    errors = []
    for err in exc.errors():
        loc = [p for p in err.get("loc", ())]
        item = {k: v for k, v in err.items() if k not in ("input", "ctx", "url")}
        item["loc"] = loc
        if "input" in err:
            # a missing field's "input" is the enclosing object, not the field's value
            key = str(loc[-1]) if loc and err.get("type") != "missing" else ""
            item["input"] = redact(err["input"], key)
        if "ctx" in err:
            item["ctx"] = {k: str(v) for k, v in err["ctx"].items()}
        errors.append(item)
    first = errors[0] if errors else {}
    loc = [str(p) for p in first.get("loc", ())]
    field = next((p for p in reversed(loc) if not p.isdigit()), None) if loc else None
    body = {
        "type": "civgrid:RequestValidationError",
        "title": HTTPStatus(422).phrase,
        "status": 422,
        "detail": "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e.get('msg', 'invalid')}" for e in errors
        )
        or "invalid request",
        "field": field,
        "errors": errors,
    }
    return JSONResponse(body, status_code=422, media_type="application/problem+json")


def install(app: FastAPI) -> None:
    """Install one handler that turns every mapped domain exception into problem details."""

    async def _handle(request: Request, exc: Exception) -> Any:
        status = status_for(exc) or 500
        if _wants_page(request):
            return _error_page(status)
        extra = exc.to_dict() if hasattr(exc, "to_dict") else {}
        extra.pop("detail", None)
        return problem(status, str(exc), type_=f"civgrid:{type(exc).__name__}", **extra)

    async def _invalid(request: Request, exc: Exception) -> Any:
        assert isinstance(exc, RequestValidationError)
        if _wants_page(request):
            return _error_page(422)
        return validation_problem(exc)

    async def _collision(request: Request, exc: Exception) -> JSONResponse:
        # a unique key taken or a version moved by a concurrent request: never a 500,
        # and no SQL in the answer
        log.info("conflict on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return problem(
            409,
            "the request conflicts with a concurrent change or an existing record; "
            "reload and try again",
            type_="civgrid:ConflictError",
        )

    async def _unavailable(request: Request, exc: Exception) -> Any:
        # one line, no traceback: the cause is outside the request
        log.warning(
            "database unavailable on %s %s: %s",
            request.method,
            request.url.path,
            str(exc).splitlines()[0][:200],
        )
        headers = {"Retry-After": str(RETRY_AFTER_S)}
        if _wants_html(request):
            return HTMLResponse(
                _UNAVAILABLE_PAGE.format(seconds=RETRY_AFTER_S), status_code=503, headers=headers
            )
        return problem(
            503,
            "the database is unavailable or busy; try again shortly",
            type_="civgrid:DatabaseUnavailable",
            headers=headers,
        )

    async def _http(request: Request, exc: Exception) -> Any:
        # Starlette's own errors (unknown path, wrong method, a body that is not JSON)
        assert isinstance(exc, StarletteHTTPException)
        if _wants_page(request) and exc.status_code >= 400:
            return _error_page(exc.status_code, dict(exc.headers) if exc.headers else None)
        if _wants_html(request):
            return await http_exception_handler(request, exc)
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return problem(
            exc.status_code,
            detail,
            type_="civgrid:HTTPError",
            headers=dict(exc.headers) if exc.headers else None,
        )

    app.add_exception_handler(StarletteHTTPException, _http)
    for exc_type in STATUS_CODES:
        app.add_exception_handler(exc_type, _handle)
    app.add_exception_handler(RequestValidationError, _invalid)

    async def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
        # a number the database cannot hold (PostgreSQL int4, SQLite int64) or a value
        # of the wrong form that got past validation: bad input, not a server fault
        log.info("out of range on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return problem(
            422,
            "a value in the request is out of range or malformed",
            type_="civgrid:InvalidInputError",
        )

    for exc_type in (IntegrityError, StaleDataError):
        app.add_exception_handler(exc_type, _collision)
    for exc_type in (DataError, OverflowError):
        app.add_exception_handler(exc_type, _out_of_range)
    for exc_type in DATABASE_UNAVAILABLE:
        app.add_exception_handler(exc_type, _unavailable)
    declare_problem_media_type(app)


def declare_problem_media_type(app: FastAPI) -> None:
    """Make the OpenAPI say what the handlers send: errors as ``application/problem+json``.

    FastAPI declares every response ``application/json``; the error responses (≥ 400) of
    the civgrid API are problem details (RFC 9457) and are declared so, with request
    validation errors as :class:`~civgrid.api.schemas.ValidationProblem`. Open311 keeps
    its own error format (GeoReport v2); its ``.xml`` answers are declared ``text/xml``.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        comps = schema.setdefault("components", {}).setdefault("schemas", {})
        if "HTTPValidationError" in comps and "ValidationProblem" in comps:
            comps["HTTPValidationError"] = comps["ValidationProblem"]
        problem_ref = {"$ref": "#/components/schemas/Problem"}
        validation_ref = {"$ref": "#/components/schemas/ValidationProblem"}
        for path, item in schema.get("paths", {}).items():
            open311 = path.startswith("/open311/")
            for op in item.values():
                if not isinstance(op, dict):
                    continue
                for code, resp in op.get("responses", {}).items():
                    content = resp.get("content")
                    if open311:  # GeoReport v2 answers .json or .xml, errors included
                        if content is not None:
                            content.setdefault("text/xml", {"schema": {"type": "string"}})
                        if str(code)[0] in "45":  # a bad path or query: problem details
                            ref = validation_ref if str(code) == "422" else problem_ref
                            resp.setdefault("content", {})["application/problem+json"] = {
                                "schema": ref
                            }
                        continue
                    if str(code)[0] not in "45" or content is None:
                        continue
                    # the route's media type (GeoJSON, HTML) is not what an error sends
                    found = next((c for c in content.values() if c.get("schema")), {})
                    resp["content"] = {
                        "application/problem+json": {"schema": found.get("schema", problem_ref)}
                    }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _error_page(status: int, headers: dict[str, str] | None = None) -> HTMLResponse:
    """A page route's error as a Chinese page (:mod:`civgrid.maps.error_pages`)."""
    from civgrid.maps.error_pages import error_page_html

    return HTMLResponse(error_page_html(status), status_code=status, headers=headers)


def _wants_page(request: Request) -> bool:
    """A browser asking for a page (not the API): its errors are Chinese pages."""
    path = request.url.path
    if path.startswith(("/api/", "/open311/")):
        return False
    return "text/html" in request.headers.get("accept", "")


def _wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/open311/")):
        return False
    return "text/html" in request.headers.get("accept", "") or request.method == "GET"
