"""The link from an issue to the patrol visit it was reported during, inverted.

Patrol sits above issues in the dependency order and owns the issue↔visit link
(:mod:`civgrid.grids.patrol.visits`). Issues only know this protocol: patrol
registers its implementation when it is imported, and intake and
:func:`~civgrid.grids.issues.service.describe` ask through it. With no patrol
loaded a report that names a visit is refused (fail closed) and issues have no
visit.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.orm import Session

from civgrid.grids.core.errors import InvalidInputError

__all__ = ["VisitLinker", "register_visit_linker", "visit_linker"]


class VisitLinker(Protocol):
    """How issues reach patrol visits."""

    def check(self, session: Session, visit_id: int) -> None:
        """Raise ``InvalidInputError`` when an issue cannot be reported during the visit."""
        ...

    def link(self, session: Session, visit_id: int, issue_id: int) -> None:
        """Record that the issue was reported during the visit."""
        ...

    def visit_of(self, session: Session, issue_id: int) -> int | None:
        """The visit the issue was reported during (the first link), or None."""
        ...


_LINKER: list[Any] = []


def register_visit_linker(linker: VisitLinker) -> None:
    """Install patrol's linker (called once, when patrol is imported)."""
    _LINKER[:] = [linker]


def visit_linker(*, required: bool = True) -> VisitLinker | None:
    """The installed linker; without one, ``InvalidInputError`` (or None if not required)."""
    if _LINKER:
        return _LINKER[0]
    if required:
        raise InvalidInputError("patrol visits are not available here", field="visit_id")
    return None
