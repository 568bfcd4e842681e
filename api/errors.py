"""Domain exceptions → HTTP status and RFC 9457 problem details.

Domain code (geo, grids) raises its own exceptions and never imports FastAPI;
this module is the one table (:data:`STATUS_CODES`) that maps them to HTTP,
used by the one handler :func:`install` adds.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from civgrid.api.ratelimit import PayloadTooLargeError, TooManyRequestsError
from civgrid.geo.errors import GeoError
from civgrid.grids.core.errors import (
    ConflictError,
    DomainError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
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
    GeoError: 422,  # Unprocessable Content
    TooManyRequestsError: 429,  # Too Many Requests
}


def status_for(exc: BaseException) -> int | None:
    """The status of ``exc`` in :data:`STATUS_CODES` (None when unmapped)."""
    return next((STATUS_CODES[c] for c in type(exc).__mro__ if c in STATUS_CODES), None)


def problem(status: int, detail: str, *, type_: str = "about:blank", **extra) -> JSONResponse:
    """Build an ``application/problem+json`` response."""
    body = {"type": type_, "title": HTTPStatus(status).phrase, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


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
    return JSONResponse({"detail": errors}, status_code=422)


def install(app: FastAPI) -> None:
    """Install one handler that turns every mapped domain exception into problem details."""

    async def _handle(request: Request, exc: Exception) -> JSONResponse:
        status = status_for(exc) or 500
        extra = exc.to_dict() if hasattr(exc, "to_dict") else {}
        extra.pop("detail", None)
        return problem(status, str(exc), type_=f"civgrid:{type(exc).__name__}", **extra)

    async def _invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return validation_problem(exc)

    for exc_type in STATUS_CODES:
        app.add_exception_handler(exc_type, _handle)
    app.add_exception_handler(RequestValidationError, _invalid)
