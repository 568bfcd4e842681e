"""Issue and re-issue official documents: build (:mod:`.doc_types`), print both files,
store a numbered snapshot (:mod:`civgrid.grids.documents.store`).

Each function takes the PDF printer (:class:`civgrid.maps.pdf.PdfPrinter`) so the web
app, the CLI and the tests choose how Chromium runs; everything else is fixed here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from civgrid.grids.core.actors import Actor
from civgrid.grids.core.city import current_city
from civgrid.grids.core.errors import DomainError, InvalidInputError, NotFoundError
from civgrid.grids.documents import store
from civgrid.grids.documents.due import due_documents
from civgrid.grids.documents.models import IssuedDocument
from civgrid.grids.documents.series import series_of
from civgrid.grids.documents.store import Heading, Numbered, Rendered
from civgrid.grids.issues.config import IssueConfig
from civgrid.grids.issues.models import Issue, SupervisionNotice
from civgrid.grids.scoring.models import AccountabilityCase, Bulletin
from civgrid.maps import doc_types
from civgrid.maps.official_docs import Doc, doc_content, to_docx, to_html
from civgrid.maps.pdf import PdfPrinter

__all__ = [
    "ISSUE_SERIES",
    "DueReport",
    "issue_document",
    "issue_due",
    "issue_supervision_report",
    "number_of_notice",
    "reissue_document",
]

#: Series whose subject is an issue and that are built from the issue alone.
ISSUE_SERIES = ("jiaoban", "huizhi")
#: Series whose subject is an accountability case.
CASE_SERIES = ("yuetan", "wenze")


def _renderer(build: Callable[[Heading], Doc], printer: PdfPrinter) -> store.Renderer:
    def render(h: Heading) -> Rendered:
        doc = build(h)
        return Rendered(
            doc_content(doc), to_docx(doc, h.issued_at), printer.print_pdf(to_html(doc))
        )

    return render


def number_of_notice(notice: SupervisionNotice) -> Numbered:
    """The 督办 series uses the notice's own number (one numbering for both)."""
    return Numbered(notice.year, notice.seq, notice.number)


def _bulletin_numbered(b: Bulletin) -> Numbered:
    """A bulletin keeps its published number; its seq is the number's digits."""
    digits = "".join(ch for ch in b.number.rsplit("第", 1)[-1] if ch.isdigit())
    year = int(b.period[:4])
    return Numbered(year, int(digits or 0), b.number)


def _builder(
    session: Session, series: str, subject_key: str, cfg: IssueConfig, link_base: str
) -> tuple[Callable[[Heading], Doc], Numbered | None]:
    office = current_city().office
    if series in ISSUE_SERIES:
        issue = session.get(Issue, int(subject_key))
        if issue is None:
            raise NotFoundError(f"no issue {subject_key}", kind="issue", key=subject_key)
        if series == "jiaoban":
            if issue.owner_unit_id is None:
                raise InvalidInputError(f"issue {issue.id} is not dispatched yet", field="issue")
            link = f"{link_base}/issues/{issue.id}"
            return (lambda h: doc_types.jiaoban_doc(issue, cfg, office, h, link)), None
        if issue.submitted_at is None:
            raise InvalidInputError(f"issue {issue.id} has no fix submitted", field="issue")
        return (lambda h: doc_types.huizhi_doc(issue, cfg, office, h)), None
    if series == "duban":
        notice = session.get(SupervisionNotice, int(subject_key))
        if notice is None:
            raise NotFoundError(f"no supervision notice {subject_key}", kind="notice")
        return (lambda h: doc_types.duban_doc(notice, cfg, office, h)), number_of_notice(notice)
    if series in CASE_SERIES:
        case = session.get(AccountabilityCase, int(subject_key))
        if case is None:
            raise NotFoundError(f"no accountability case {subject_key}", kind="case")
        return (lambda h: doc_types.case_doc(case, cfg, office, h)), None
    if series == "bulletin":
        b = session.get(Bulletin, int(subject_key))
        if b is None:
            raise NotFoundError(f"no bulletin {subject_key}", kind="bulletin")
        return (lambda h: doc_types.bulletin_doc(b, cfg, office, h)), _bulletin_numbered(b)
    raise InvalidInputError(f"documents of series {series!r} are not built yet", field="series")


def _stamp(at: datetime | None) -> str:
    return at.strftime("%Y%m%dT%H%M%S.%fZ") if at is not None else "-"


def _default_occasion(session: Session, series: str, key: str) -> str:
    """Why a document is due: the dispatch (交办单) or fix (整改回执) it records, by time;
    the notice (督办), the case (约谈, 问责) or the bulletin. Issuing for the same
    occasion twice returns the first document."""
    if series in ISSUE_SERIES:
        issue = session.get(Issue, int(key))
        if issue is None:
            raise NotFoundError(f"no issue {key}", kind="issue", key=key)
        if series == "jiaoban":
            return f"dispatch:{_stamp(issue.assigned_at)}"
        return f"submit:{_stamp(issue.submitted_at)}"
    return {"duban": "notice", "bulletin": "bulletin"}.get(series, "case") + f":{key}"


def _subject(session: Session, series: str, key: str) -> str:
    """The stored subject key: the issue of a 督办 notice, else ``key`` itself."""
    if series == "duban":
        notice = session.get(SupervisionNotice, int(key))
        return str(notice.issue_id) if notice is not None else key
    return key


def issue_document(
    session: Session,
    series: str,
    key: int | str,
    cfg: IssueConfig,
    printer: PdfPrinter,
    actor: Actor,
    *,
    at: datetime | None = None,
    occasion: str | None = None,
    link_base: str = "",
) -> IssuedDocument:
    """Issue version 1 of a document of ``series`` about ``key``.

    ``key`` is an issue id (交办单, 整改回执), a notice id (督办通知单, stored under its
    issue), a case id (约谈通知书, 问责建议书) or a bulletin id (月通报, stored under
    its month). ``occasion`` (e.g. ``notice:<id>``) makes issuing twice return the first.
    """
    series_of(series)
    at = at or cfg.clock()
    build, numbered = _builder(session, series, str(key), cfg, link_base)
    subject = _subject(session, series, str(key))
    if occasion is None or series in ("duban", "bulletin"):  # these name their source
        occasion = _default_occasion(session, series, str(key))
    if series == "bulletin":
        subject = session.get(Bulletin, int(key)).period  # type: ignore[union-attr]
    return store.issue(
        session,
        series,
        subject,
        _renderer(build, printer),
        at=at,
        year=cfg.calendar.local(at).year,
        actor=actor,
        notice_prefix=cfg.notice_prefix,
        numbered=numbered,
        occasion=occasion,
    )


def _source_key(doc: IssuedDocument) -> str:
    """What a stored document was built from (the notice or bulletin id, else its subject)."""
    if doc.occasion and doc.series in ("duban", "bulletin"):
        return doc.occasion.split(":", 1)[1]
    return doc.subject_key


def reissue_document(
    session: Session,
    document_id: int,
    cfg: IssueConfig,
    printer: PdfPrinter,
    actor: Actor,
    *,
    reason: str | None = None,
    at: datetime | None = None,
    link_base: str = "",
) -> IssuedDocument:
    """Build the document's subject again as it is now and store it as the next version."""
    base = store.get_document(session, document_id)
    if base.series == "ducha_report":  # a report as of its day: the stored figures again
        report = dict(base.content["source"])
        office = current_city().office
        return store.reissue(
            session,
            document_id,
            _report_renderer(report, cfg, office, printer),
            at=at or cfg.clock(),
            actor=actor,
            reason=reason,
        )
    build, _ = _builder(session, base.series, _source_key(base), cfg, link_base)
    return store.reissue(
        session,
        document_id,
        _renderer(build, printer),
        at=at or cfg.clock(),
        actor=actor,
        reason=reason,
    )


@dataclass
class DueReport:
    """What :func:`issue_due` did: issued (number, version), already stored, skipped (why)."""

    issued: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def to_text(self) -> str:
        """One line per document, then the counts."""
        lines = [f"issued   {x}" for x in self.issued]
        lines += [f"skipped  {x}" for x in self.skipped]
        lines.append(
            f"{len(self.issued)} issued, {len(self.existing)} already stored, "
            f"{len(self.skipped)} skipped"
        )
        return "\n".join(lines)


def issue_due(
    session: Session,
    cfg: IssueConfig,
    printer: PdfPrinter,
    actor: Actor,
    *,
    since: datetime,
    link_base: str = "",
) -> DueReport:
    """Issue every document due for what happened since ``since`` (idempotent).

    A document whose occasion has one already is counted as stored; one that cannot be
    built (an issue returned before its receipt, a deleted case) is skipped with the
    reason. Each document is issued in a savepoint, so a failure leaves the others.
    """
    report = DueReport()
    for due in due_documents(session, since):
        label = f"{due.series} {due.key}"
        try:
            occasion = (
                _default_occasion(session, due.series, str(due.key))
                if due.series in ("jiaoban", "huizhi", "duban", "bulletin")
                else f"case:{due.key}"
            )
            subject = _subject(session, due.series, str(due.key))
            if due.series == "bulletin":
                b = session.get(Bulletin, due.key)
                subject = b.period if b is not None else subject
            kind = series_of(due.series).subject_kind
            if store.find_issued(session, due.series, kind, subject, occasion) is not None:
                report.existing.append(label)
                continue
            with session.begin_nested():
                doc = issue_document(
                    session, due.series, due.key, cfg, printer, actor, link_base=link_base
                )
            report.issued.append(f"{doc.title} {doc.number}")
        except DomainError as exc:
            report.skipped.append(f"{label}: {exc}")
    return report


def _report_renderer(
    report: dict, cfg: IssueConfig, office: str, printer: PdfPrinter
) -> store.Renderer:
    def render(h: Heading) -> Rendered:
        doc = doc_types.ducha_report_doc(report, cfg, office, h)
        content = {**doc_content(doc), "source": report}
        return Rendered(content, to_docx(doc, h.issued_at), printer.print_pdf(to_html(doc)))

    return render


def issue_supervision_report(
    session: Session,
    report: dict,
    cfg: IssueConfig,
    printer: PdfPrinter,
    actor: Actor,
    *,
    at: datetime | None = None,
) -> IssuedDocument:
    """Issue the 督查报告 of a month (``report``: what
    :func:`civgrid.grids.scoring.reports.supervision_report` returns), once per
    (profile, month); the figures are stored with it (``content["source"]``)."""
    at = at or cfg.clock()
    key = f"{report['profile']}:{report['month']}"
    return store.issue(
        session,
        "ducha_report",
        key,
        _report_renderer(report, cfg, current_city().office, printer),
        at=at,
        year=cfg.calendar.local(at).year,
        actor=actor,
        notice_prefix=cfg.notice_prefix,
        occasion=f"report:{key}",
    )
