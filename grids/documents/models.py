"""The table of issued documents (公文存档): one row per (series, year, seq, version).

A row is written once and never changed: :func:`civgrid.grids.documents.store.issue`
inserts it with the .docx and PDF bytes as rendered, their SHA-256 and the SHA-256 of
the data they were rendered from; an ORM update or delete of a stored document raises
:class:`~civgrid.grids.core.errors.ConflictError`. Re-issuing inserts version ``n + 1``
under the same number.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, LargeBinary, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from civgrid.grids.core.db import Base
from civgrid.grids.core.errors import ConflictError
from civgrid.grids.core.types import UTCDateTime

__all__ = ["IssuedDocument"]


class IssuedDocument(Base):
    """One issued version of a numbered document.

    ``subject_kind``/``subject_key`` name what it is about (``issue``/issue id,
    ``case``/case id, ``bulletin``/``YYYY-MM``, ``report``/``<profile>:<YYYY-MM>``);
    ``occasion`` names why it was issued (e.g. ``dispatch:<event id>``) so issuing for
    the same occasion twice returns the first. ``content`` is the snapshot of the data
    printed (JSON); ``content_sha256`` its hash.
    """

    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("series", "year", "seq", "version"),
        Index("ix_documents_subject", "subject_kind", "subject_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series: Mapped[str] = mapped_column(String(24), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    number: Mapped[str] = mapped_column(String(64), nullable=False)
    title: Mapped[str] = mapped_column(String(100), nullable=False)
    subject_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    subject_key: Mapped[str] = mapped_column(String(64), nullable=False)
    occasion: Mapped[str | None] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    issued_by: Mapped[str] = mapped_column(String(200), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(500))
    content: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    content_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    docx: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, deferred=True)
    docx_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    pdf: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, deferred=True)
    pdf_sha256: Mapped[str] = mapped_column(String(64), nullable=False)


@event.listens_for(IssuedDocument, "before_update")
def _refuse_update(mapper: Any, connection: Any, target: IssuedDocument) -> None:
    raise ConflictError(f"document {target.number} v{target.version} is immutable; re-issue it")


@event.listens_for(IssuedDocument, "before_delete")
def _refuse_delete(mapper: Any, connection: Any, target: IssuedDocument) -> None:
    raise ConflictError(f"document {target.number} v{target.version} is immutable")
