"""The issue↔visit link, owned by patrol: an issue reported during a planned visit.

Issues sit below patrol and know only the
:class:`~civgrid.grids.issues.links.VisitLinker` protocol; this module implements
it and registers itself when ``civgrid.grids.patrol`` is imported.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.grids.core.errors import InvalidInputError
from civgrid.grids.issues.links import register_visit_linker
from civgrid.grids.patrol.models import PatrolVisit, VisitIssue

__all__ = ["PatrolVisitLinker"]


class PatrolVisitLinker:
    """Checks, records and reads the visit an issue was reported during."""

    def check(self, session: Session, visit_id: int) -> None:
        """Refuse an unknown visit or one marked missed (``InvalidInputError`` on ``visit_id``)."""
        visit = session.get(PatrolVisit, visit_id)
        if visit is None:
            raise InvalidInputError(f"no patrol visit {visit_id}", field="visit_id", value=visit_id)
        if visit.status == "missed":
            raise InvalidInputError(
                f"patrol visit {visit_id} is marked missed: an issue cannot be reported during it",
                field="visit_id",
                value=visit_id,
            )

    def link(self, session: Session, visit_id: int, issue_id: int) -> None:
        """Record the link (one row per visit and issue)."""
        session.add(VisitIssue(visit_id=visit_id, issue_id=issue_id))

    def visit_of(self, session: Session, issue_id: int) -> int | None:
        """The first visit the issue is linked to, or None."""
        q = select(VisitIssue.visit_id).where(VisitIssue.issue_id == issue_id)
        return session.scalar(q.order_by(VisitIssue.id).limit(1))


register_visit_linker(PatrolVisitLinker())
