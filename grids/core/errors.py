"""Domain errors of civgrid.grids; the API maps them to HTTP in ``api/errors.py``.

Each carries enough structure (object kind, key, field, row) for a clear message.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base class of every grids error."""

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.context = {k: v for k, v in context.items() if v is not None}

    def to_dict(self) -> dict[str, Any]:
        """Structured details for problem+json bodies and CLI reports."""
        return dict(self.context)


class NotFoundError(DomainError):
    """The object does not exist (or is outside the caller's scope)."""


class ConflictError(DomainError):
    """The request conflicts with stored state (duplicate code, stale version…)."""


class InvalidInputError(DomainError):
    """Input that names a row/feature/field that is wrong."""


class InvalidTransitionError(ConflictError):
    """A workflow transition not allowed from the current state."""


class PermissionDeniedError(DomainError):
    """The actor may not do this."""


class OutsideResponsibilityError(InvalidInputError):
    """A unit chosen by hand is not among the place's responsible units and no reason
    was given (交办/改派 outside the responsibility table needs one, for the history).
    """


class UnavailableError(DomainError):
    """A service the request needs is not available now (e.g. the PDF printer); retry later."""
