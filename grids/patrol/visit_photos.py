"""Photos of a planned patrol visit (走访照片), taken on the phone when the visit is done.

Stored like issue photos (content-addressed under the photo directory, checked by
:func:`civgrid.grids.issues.photos.check_photos`), one row per photo and visit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy import ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from civgrid.grids.core.actors import Actor
from civgrid.grids.core.db import Base
from civgrid.grids.core.errors import InvalidInputError, NotFoundError
from civgrid.grids.core.types import UTCDateTime
from civgrid.grids.issues.photos import PhotoInput, check_photos, store_photo
from civgrid.grids.patrol.models import PatrolVisit

__all__ = ["VisitPhoto", "add_visit_photos", "visit_photo_ids"]


class VisitPhoto(Base):
    """One photo of a planned visit."""

    __tablename__ = "patrol_visit_photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visit_id: Mapped[int] = mapped_column(
        ForeignKey("patrol_visits.id", ondelete="CASCADE"), nullable=False, index=True
    )
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    path: Mapped[str] = mapped_column(String(300), nullable=False)
    mime: Mapped[str] = mapped_column(String(64), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    taken_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


def add_visit_photos(
    session: Session,
    visit_id: int,
    photos: Sequence[PhotoInput],
    actor: Actor,
    *,
    photo_dir: Path | None,
    max_bytes: int,
    max_count: int,
    now: datetime,
) -> list[VisitPhoto]:
    """Check and store photos of visit ``visit_id`` (the caller commits).

    Raises
    ------
    NotFoundError
        Unknown visit.
    InvalidInputError
        No photo, a bad photo (names it), or no photo directory configured.
    """
    if session.get(PatrolVisit, visit_id) is None:
        raise NotFoundError(f"no patrol visit {visit_id}", kind="visit", key=visit_id)
    if not photos:
        raise InvalidInputError("send at least one photo", field="photos")
    checked = check_photos(photos, max_bytes=max_bytes, max_count=max_count)
    if photo_dir is None:
        raise InvalidInputError(
            "photos are not accepted: no photo directory is configured", field="photos"
        )
    rows = []
    for p in checked:
        row = VisitPhoto(
            visit_id=visit_id,
            sha256=p.sha256,
            path=store_photo(photo_dir, p),
            mime=p.mime,
            size=p.size,
            taken_by=actor.who,
            created_at=now,
        )
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def visit_photo_ids(session: Session, visit_id: int) -> list[int]:
    """Ids of the photos of a visit, oldest first."""
    q = select(VisitPhoto.id).where(VisitPhoto.visit_id == visit_id).order_by(VisitPhoto.id)
    return list(session.scalars(q))
