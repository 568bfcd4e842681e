"""Domain exceptions → HTTP status and RFC 9457 problem details.

Domain code (geo, grids) raises its own exceptions and never imports FastAPI;
this module is the one table that maps them to HTTP.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from civgrid.geo.errors import GeoError
from civgrid.grids.core.errors import (
    ConflictError,
    DomainError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)

# (exception class, HTTP status); the first matching entry (most specific first) wins.
_STATUS_TABLE: list[tuple[type[BaseException], int]] = [
    (NotFoundError, 404),
    (PermissionDeniedError, 403),
    (ConflictError, 409),
    (InvalidInputError, 422),
    (GeoError, 422),
    (DomainError, 400),
]


def register(exc_type: type[BaseException], status: int) -> None:
    """Map a domain exception class to an HTTP status (more specific first)."""
    _STATUS_TABLE.insert(0, (exc_type, status))


def status_for(exc: BaseException) -> int | None:
    for exc_type, status in _STATUS_TABLE:
        if isinstance(exc, exc_type):
            return status
    return None


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

    for exc_type, _ in list(_STATUS_TABLE):
        app.add_exception_handler(exc_type, _handle)
    app.add_exception_handler(RequestValidationError, _invalid)
