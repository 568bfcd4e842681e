"""Official documents (公文): list, issue, download a version, re-issue.

Who reads a document is who reads its subject: the issue (``can_see_issue``), the
accountability case (``sees_case``) or, for bulletins, anyone who reads scores; a
document outside the caller's scope answers 404 like a missing one. Issuing and
re-issuing are the command center's (``issue.dispatch`` for issue documents,
``score.write`` for cases and bulletins). PDFs are printed by
``app.state.pdf_printer`` (default: the chromium executable, docs/documents.md).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from civgrid.api.deps import ActorDep, ScopeDep, SessionDep, require_user
from civgrid.api.routers.issues import IssueConfigDep
from civgrid.api.schemas.common import ERRORS_READ, ERRORS_WRITE, ObjectId
from civgrid.api.schemas.documents import DocumentIn, DocumentOut, ReissueIn
from civgrid.grids.accounts.permissions import Perm, Scope
from civgrid.grids.core.errors import DomainError, NotFoundError
from civgrid.grids.documents import store as docstore
from civgrid.grids.documents.models import IssuedDocument
from civgrid.grids.documents.series import series_of
from civgrid.grids.issues.models import Issue
from civgrid.grids.scoring.models import AccountabilityCase
from civgrid.grids.scoring.score import Period
from civgrid.maps.doc_issue import issue_document, reissue_document
from civgrid.maps.pdf import ChromiumPrinter, PdfPrinter

__all__ = ["PrinterDep", "document_out", "get_printer", "router"]

#: Staff only: the public gets 401 before any object is looked at.
router = APIRouter(prefix="/api/v1", tags=["documents"], dependencies=[Depends(require_user)])

MIME = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}


def get_printer(request: Request) -> PdfPrinter:
    """The app's PDF printer (``app.state.pdf_printer``; default :class:`ChromiumPrinter`)."""
    printer = getattr(request.app.state, "pdf_printer", None)
    if printer is None:
        printer = request.app.state.pdf_printer = ChromiumPrinter()
    return printer


PrinterDep = Annotated[PdfPrinter, Depends(get_printer)]


def document_out(d: IssuedDocument) -> DocumentOut:
    """The response model of a stored document version."""
    base = f"/api/v1/documents/{d.id}/file"
    return DocumentOut(
        id=d.id,
        series=d.series,
        title=d.title,
        number=d.number,
        version=d.version,
        subject_kind=d.subject_kind,
        subject_key=d.subject_key,
        issued_at=d.issued_at,
        issued_by=d.issued_by,
        reason=d.reason,
        docx_sha256=d.docx_sha256,
        pdf_sha256=d.pdf_sha256,
        content_sha256=d.content_sha256,
        docx_url=f"{base}/docx",
        pdf_url=f"{base}/pdf",
    )


def _case_visible(scope: Scope, case: AccountabilityCase | None) -> bool:
    """The case's own rule (``sees_case`` over the local days of its period)."""
    if case is None:
        return False
    try:
        p = Period.parse(case.period)
        days = (p.start, p.end)
    except DomainError:  # an odd stored period only loses the period check
        days = None
    return scope.sees_case(case.level, case.unit_code, case.leader_key, days)


def _visible(session, scope: Scope, d: IssuedDocument) -> bool:
    """May ``scope`` read document ``d`` (the rule of its subject)?"""
    if d.subject_kind == "issue":
        issue = session.get(Issue, int(d.subject_key))
        return issue is not None and scope.can_see_issue(issue)
    if d.subject_kind == "case":
        return _case_visible(scope, session.get(AccountabilityCase, int(d.subject_key)))
    return scope.has(Perm.score_read)


def _readable(session, scope: Scope, document_id: int) -> IssuedDocument:
    d = session.get(IssuedDocument, document_id)
    if d is None or not _visible(session, scope, d):
        raise NotFoundError(f"no document {document_id}", kind="document", key=document_id)
    return d


def _require_issuer(scope: Scope, series: str) -> None:
    scope.require(
        Perm.issue_dispatch if series_of(series).subject_kind == "issue" else Perm.score_write
    )


@router.get(
    "/issues/{issue_id}/documents",
    response_model=list[DocumentOut],
    responses=ERRORS_READ,
    summary="Documents of an issue (every version)",
)
def issue_documents(issue_id: ObjectId, session: SessionDep, scope: ScopeDep) -> list[DocumentOut]:
    """交办单, 整改回执 and 督办通知单 of the issue, by number and version."""
    issue = session.get(Issue, issue_id)
    if issue is None or not scope.can_see_issue(issue):
        raise NotFoundError(f"no issue {issue_id}", kind="issue", key=issue_id)
    return [document_out(d) for d in docstore.list_documents(session, "issue", issue_id)]


@router.get(
    "/accountability/cases/{case_id}/documents",
    response_model=list[DocumentOut],
    responses=ERRORS_READ,
    summary="Documents of an accountability case (every version)",
)
def case_documents(case_id: ObjectId, session: SessionDep, scope: ScopeDep) -> list[DocumentOut]:
    """约谈通知书 and 问责建议书 of the case."""
    scope.require(Perm.score_read)
    if not _case_visible(scope, session.get(AccountabilityCase, case_id)):
        raise NotFoundError(f"no accountability case {case_id}", kind="case", key=case_id)
    return [document_out(d) for d in docstore.list_documents(session, "case", case_id)]


@router.get(
    "/documents/{document_id}",
    response_model=DocumentOut,
    responses=ERRORS_READ,
    summary="One stored document version",
)
def document_get(document_id: ObjectId, session: SessionDep, scope: ScopeDep) -> DocumentOut:
    """The version's number, subject, issue time, hashes and file links."""
    return document_out(_readable(session, scope, document_id))


@router.get(
    "/documents/{document_id}/file/{fmt}",
    response_class=Response,
    responses={
        200: {"content": {MIME["docx"]: {}, MIME["pdf"]: {}}, "description": "The file as issued"},
        **ERRORS_READ,
    },
    summary="Download a stored document version (.docx or PDF)",
)
def document_file(
    document_id: ObjectId,
    fmt: Annotated[Literal["docx", "pdf"], Path(description="docx or pdf")],
    session: SessionDep,
    scope: ScopeDep,
) -> Response:
    """The bytes stored when the version was issued, unchanged; ``ETag`` is their SHA-256."""
    d = _readable(session, scope, document_id)
    data, sha = (d.docx, d.docx_sha256) if fmt == "docx" else (d.pdf, d.pdf_sha256)
    name = f"document-{d.id}-v{d.version}.{fmt}"
    return Response(
        data,
        media_type=MIME[fmt],
        headers={
            "ETag": f'"{sha}"',
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, max-age=31536000, immutable",
        },
    )


@router.post(
    "/documents",
    response_model=DocumentOut,
    responses=ERRORS_WRITE,
    summary="Issue a document (numbered, stored as issued)",
)
def document_issue(
    body: DocumentIn,
    session: SessionDep,
    scope: ScopeDep,
    actor: ActorDep,
    cfg: IssueConfigDep,
    printer: PrinterDep,
) -> DocumentOut:
    """Issue version 1 (or return the one already issued for the same occasion)."""
    _require_issuer(scope, body.series)
    if body.series in ("jiaoban", "huizhi"):
        issue = session.get(Issue, body.key)
        if issue is None or not scope.can_see_issue(issue):
            raise NotFoundError(f"no issue {body.key}", kind="issue", key=body.key)
    d = issue_document(session, body.series, body.key, cfg, printer, actor)
    return document_out(d)


@router.post(
    "/documents/{document_id}/reissue",
    response_model=DocumentOut,
    responses=ERRORS_WRITE,
    summary="Re-issue a document as its next version (earlier versions stay)",
)
def document_reissue(
    document_id: ObjectId,
    body: ReissueIn,
    session: SessionDep,
    scope: ScopeDep,
    actor: ActorDep,
    cfg: IssueConfigDep,
    printer: PrinterDep,
) -> DocumentOut:
    """Render the subject as it is now under the same number, as version ``n + 1``."""
    d = _readable(session, scope, document_id)
    _require_issuer(scope, d.series)
    return document_out(reissue_document(session, d.id, cfg, printer, actor, reason=body.reason))
