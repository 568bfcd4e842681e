"""Issue, re-issue and read numbered documents; the renderer is handed in.

:func:`issue` numbers a new document (the next ``seq`` of its series and year, or the
number it is given — the 督办 series takes the notice's), calls the renderer with the
heading, and stores version 1. :func:`reissue` renders the subject again under the
same number as version ``n + 1``; earlier versions stay as they were, byte for byte.
Documents are rendered by ``civgrid.maps.official_docs`` (above this layer); here they
are only numbered, hashed and stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from civgrid.grids.core.actors import Actor
from civgrid.grids.core.errors import ConflictError, InvalidInputError, NotFoundError
from civgrid.grids.documents.models import IssuedDocument
from civgrid.grids.documents.series import format_number, series_of

__all__ = [
    "Heading",
    "Numbered",
    "Rendered",
    "content_hash",
    "find_issued",
    "get_document",
    "issue",
    "list_documents",
    "reissue",
]


@dataclass(frozen=True)
class Heading:
    """What a renderer prints in a document's head: series, number, version, issue time."""

    series: str
    title: str
    number: str
    year: int
    seq: int
    version: int
    issued_at: datetime


@dataclass(frozen=True)
class Numbered:
    """A number given from outside (the 督办 series: the notice's year, seq and text)."""

    year: int
    seq: int
    number: str


@dataclass(frozen=True)
class Rendered:
    """A renderer's answer: the data printed (JSON-safe) and the two files."""

    content: dict[str, Any]
    docx: bytes
    pdf: bytes


Renderer = Callable[[Heading], Rendered]


def content_hash(content: dict[str, Any]) -> str:
    """SHA-256 of ``content`` as canonical JSON (sorted keys, no spaces).

    >>> content_hash({"b": 1, "a": "交"}) == content_hash({"a": "交", "b": 1})
    True
    """
    raw = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _store(session: Session, heading: Heading, rendered: Rendered, **row: Any) -> IssuedDocument:
    if not rendered.docx or not rendered.pdf:
        raise InvalidInputError(f"document {heading.number}: empty .docx or PDF", field="render")
    doc = IssuedDocument(
        series=heading.series,
        title=heading.title,
        year=heading.year,
        seq=heading.seq,
        version=heading.version,
        number=heading.number,
        issued_at=heading.issued_at,
        content=rendered.content,
        content_sha256=content_hash(rendered.content),
        docx=rendered.docx,
        docx_sha256=_sha(rendered.docx),
        pdf=rendered.pdf,
        pdf_sha256=_sha(rendered.pdf),
        **row,
    )
    session.add(doc)
    return doc


def find_issued(
    session: Session, series: str, subject_kind: str, subject_key: str, occasion: str
) -> IssuedDocument | None:
    """Version 1 of the document of ``series`` issued about the subject for ``occasion``."""
    return session.scalar(
        select(IssuedDocument)
        .where(
            IssuedDocument.series == series,
            IssuedDocument.subject_kind == subject_kind,
            IssuedDocument.subject_key == subject_key,
            IssuedDocument.occasion == occasion,
        )
        .order_by(IssuedDocument.version)
        .limit(1)
    )


def issue(
    session: Session,
    series: str,
    subject_key: Any,
    render: Renderer,
    *,
    at: datetime,
    year: int,
    actor: Actor,
    notice_prefix: str,
    numbered: Numbered | None = None,
    occasion: str | None = None,
) -> IssuedDocument:
    """Number, render and store version 1 of a document of ``series`` about ``subject_key``.

    Parameters
    ----------
    series : str
        A code of :data:`civgrid.grids.documents.series.SERIES`.
    subject_key : Any
        The issue id, case id, bulletin month (``YYYY-MM``) or ``<team>:<period>``.
    render : callable
        ``Heading → Rendered``; called once, inside the numbering attempt.
    at : datetime
        Issue time (aware, UTC stored); ``year`` is its local (county) year.
    notice_prefix : str
        The city's ``notice_prefix``, the stem of the number.
    numbered : Numbered, optional
        The number to use instead of the next one (the 督办 series: the notice's).
    occasion : str, optional
        Why it is issued (``dispatch:<event id>``); a document already issued for the
        same (series, subject, occasion) is returned as it is, not issued again.

    Returns
    -------
    IssuedDocument
        Flushed, in ``session``'s transaction.
    """
    s = series_of(series)
    key = str(subject_key)
    if occasion is not None:
        found = find_issued(session, series, s.subject_kind, key, occasion)
        if found is not None:
            return found
    if numbered is not None:
        same = session.scalar(
            select(func.count())
            .select_from(IssuedDocument)
            .where(
                IssuedDocument.series == series,
                IssuedDocument.year == numbered.year,
                IssuedDocument.seq == numbered.seq,
            )
        )
        if same:
            raise ConflictError(f"document {numbered.number} exists; re-issue it instead")
    for _ in range(5):
        if numbered is not None:
            y, seq, number = numbered.year, numbered.seq, numbered.number
        else:
            y = year
            seq = (
                session.scalar(
                    select(func.max(IssuedDocument.seq)).where(
                        IssuedDocument.series == series, IssuedDocument.year == y
                    )
                )
                or 0
            ) + 1
            number = format_number(notice_prefix, series, y, seq)
        heading = Heading(series, s.title, number, y, seq, 1, at)
        doc = _store(
            session,
            heading,
            render(heading),
            subject_kind=s.subject_kind,
            subject_key=key,
            occasion=occasion,
            issued_by=actor.who,
        )
        try:
            with session.begin_nested():
                session.flush()
            return doc
        except IntegrityError:
            if doc in session:
                session.expunge(doc)
            if numbered is not None:
                break
    raise ConflictError(f"could not number a {s.title}; try again")


def reissue(
    session: Session,
    document_id: int,
    render: Renderer,
    *,
    at: datetime,
    actor: Actor,
    reason: str | None = None,
) -> IssuedDocument:
    """Render the subject of document ``document_id`` again as the next version, same number.

    Every earlier version stays stored unchanged. A concurrent re-issue of the same
    number loses on the unique (series, year, seq, version) and gets
    :class:`ConflictError`.
    """
    base = get_document(session, document_id)
    last = session.scalar(
        select(func.max(IssuedDocument.version)).where(
            IssuedDocument.series == base.series,
            IssuedDocument.year == base.year,
            IssuedDocument.seq == base.seq,
        )
    )
    heading = Heading(
        base.series, base.title, base.number, base.year, base.seq, (last or 0) + 1, at
    )
    doc = _store(
        session,
        heading,
        render(heading),
        subject_kind=base.subject_kind,
        subject_key=base.subject_key,
        occasion=base.occasion,
        issued_by=actor.who,
        reason=reason,
    )
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        if doc in session:
            session.expunge(doc)
        raise ConflictError(f"{base.number} was re-issued meanwhile; try again") from None
    return doc


def get_document(session: Session, document_id: int) -> IssuedDocument:
    """The stored document ``document_id`` or :class:`NotFoundError`."""
    doc = session.get(IssuedDocument, document_id)
    if doc is None:
        raise NotFoundError(f"no document {document_id}", kind="document", key=document_id)
    return doc


def list_documents(session: Session, subject_kind: str, subject_key: Any) -> list[IssuedDocument]:
    """Every version of every document about a subject, by number then version."""
    return list(
        session.scalars(
            select(IssuedDocument)
            .where(
                IssuedDocument.subject_kind == subject_kind,
                IssuedDocument.subject_key == str(subject_key),
            )
            .order_by(
                IssuedDocument.series,
                IssuedDocument.year,
                IssuedDocument.seq,
                IssuedDocument.version,
            )
        )
    )
