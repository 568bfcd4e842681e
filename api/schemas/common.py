"""What every feature's API models share: problem details, declared errors, ids."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict

__all__ = [
    "ERRORS_READ",
    "ERRORS_WRITE",
    "MAX_ID",
    "Number",
    "ObjectId",
    "Problem",
    "ValidationProblem",
]


class Problem(BaseModel):
    """RFC 9457 problem details (every 4xx/5xx body)."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    field: str | None = None


class ValidationProblem(Problem):
    """A request-validation error as problem details: ``detail`` says what is wrong in
    one line, ``field`` names the first bad field, ``errors`` lists each (``loc`` names
    the place: ``["body", "lon"]``, ``["query", "offset"]``)."""

    errors: list[dict[str, Any]] = []


#: Error responses declared on the routes (documentation and the OpenAPI contract).
ERRORS_READ: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "No such object"},
    422: {"model": ValidationProblem, "description": "Invalid parameters"},
}
ERRORS_WRITE: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "Domain rule violated"},
    403: {"model": Problem, "description": "The actor's role may not do this"},
    404: {"model": Problem, "description": "No such object"},
    409: {"model": Problem, "description": "Illegal transition or stale version"},
    422: {"model": Problem, "description": "Invalid input; the body names the field"},
}


#: Largest object id (a 32-bit integer key on PostgreSQL): larger ones are a 422, not a 500.
MAX_ID = 2**31 - 1
#: An object id in a path.
ObjectId = Annotated[int, Path(ge=1, le=MAX_ID, description="Object id.")]


#: A number as the domain computed it: an ``int`` stays an ``int`` (``100``, not ``100.0``).
Number = int | float
