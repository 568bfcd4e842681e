"""Documents are numbered, versioned snapshots (SQLite and PostGIS): a printed 督办通知单
stays byte for byte when its issue is reassigned; re-issuing makes version 2 under the
same number and version 1 is still served; a stored row refuses updates and deletes."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from civgrid.grids.core.errors import ConflictError, InvalidInputError
from civgrid.grids.core.migrate import head_revision
from civgrid.grids.documents import store as docstore
from civgrid.grids.documents.models import IssuedDocument
from civgrid.grids.issues import service as svc
from civgrid.grids.issues.models import SupervisionNotice
from civgrid.maps.doc_issue import issue_document, reissue_document
from support.doc_helpers import FakePrinter, overdue_with_notice
from support.notify_helpers import CC, dispatched_issue
from support.schema_diff import schema_diffs


def _bytes(store, doc_id):
    with store.session() as s:
        d = s.get(IssuedDocument, doc_id)
        return d.docx, d.pdf, d.docx_sha256, d.pdf_sha256, d.content


def test_migration_matches_models(any_store):
    assert any_store.revision() == head_revision()
    with any_store.engine.connect() as conn:
        assert schema_diffs(conn, {"documents"}) == []


def test_printed_notice_survives_reassignment_and_reissue_keeps_v1(any_store, config, clock):
    printer = FakePrinter()
    issue_id, notice_id = overdue_with_notice(any_store, config, clock, unit="D03")
    with any_store.session() as s:
        notice = s.get(SupervisionNotice, notice_id)
        number, unit_name = notice.number, notice.unit.name
        doc = issue_document(s, "duban", notice_id, config, printer, CC)
        v1 = doc.id
        assert (doc.series, doc.number, doc.version) == ("duban", number, 1)
        assert (doc.subject_kind, doc.subject_key) == ("issue", str(issue_id))
        assert (doc.year, doc.seq) == (notice.year, notice.seq)  # one numbering with the notice
    before = _bytes(any_store, v1)
    assert before[4]["addressee"] == unit_name

    clock.advance(hours=2)
    with any_store.session() as s:
        svc.reassign(s, CC, issue_id, unit="D04", note="改派", config=config)
    assert _bytes(any_store, v1) == before  # the issue changed, the stored document did not

    with any_store.session() as s:  # printing the same notice again returns the stored one
        assert issue_document(s, "duban", notice_id, config, printer, CC).id == v1

    clock.advance(hours=1)
    with any_store.session() as s:
        v2 = reissue_document(s, v1, config, printer, CC, reason="责任单位改派").id
    with any_store.session() as s:
        docs = docstore.list_documents(s, "issue", issue_id)
        assert [(d.id, d.number, d.version) for d in docs] == [(v1, number, 1), (v2, number, 2)]
        new = s.get(IssuedDocument, v2)
        assert new.reason == "责任单位改派" and new.content["version"] == 2
        assert new.content["addressee"] != unit_name  # v2 is addressed to the new unit
        assert new.pdf != before[1] and new.issued_at > docs[0].issued_at
    assert _bytes(any_store, v1) == before  # v1 is still served unchanged


def test_stored_documents_refuse_update_and_delete(any_store, config, clock):
    _, notice_id = overdue_with_notice(any_store, config, clock)
    with any_store.session() as s:
        doc_id = issue_document(s, "duban", notice_id, config, FakePrinter(), CC).id
    with pytest.raises(ConflictError, match="immutable"), any_store.session() as s:
        s.get(IssuedDocument, doc_id).pdf = b"%PDF-forged"
        s.flush()
    with pytest.raises(ConflictError, match="immutable"), any_store.session() as s:
        s.delete(s.get(IssuedDocument, doc_id))
        s.flush()
    with any_store.session() as s:
        assert s.get(IssuedDocument, doc_id).pdf.startswith(b"%PDF-fake")


def test_numbers_count_per_series_and_year(store, config, clock):
    printer = FakePrinter()
    with store.session() as s:
        a = dispatched_issue(s, store, config, unit="D03")
        b = dispatched_issue(s, store, config, unit="D04", n=1)
    with store.session() as s:
        da = issue_document(s, "jiaoban", a, config, printer, CC)
        db = issue_document(s, "jiaoban", b, config, printer, CC)
        again = issue_document(s, "jiaoban", a, config, printer, CC)  # same dispatch: same doc
        numbers = [da.number, db.number]
        assert again.id == da.id
    prefix = config.notice_prefix.removesuffix("督")
    assert numbers == [f"{prefix}交〔2025〕第001号", f"{prefix}交〔2025〕第002号"]
    with store.session() as s:  # the next year starts again at 1
        clock.set(clock().replace(year=2026))
        c = issue_document(s, "jiaoban", b, config, printer, CC, occasion="redispatch")
        assert c.number == f"{prefix}交〔2026〕第001号" and c.version == 1
        seqs = s.scalars(select(IssuedDocument.seq).order_by(IssuedDocument.id)).all()
    assert seqs == [1, 2, 1]


def test_a_receipt_needs_a_submitted_fix(store, config):
    with store.session() as s:
        a = dispatched_issue(s, store, config)
    with pytest.raises(InvalidInputError, match="no fix submitted"), store.session() as s:
        issue_document(s, "huizhi", a, config, FakePrinter(), CC)
    with pytest.raises(InvalidInputError, match="unknown document series"), store.session() as s:
        issue_document(s, "memo", a, config, FakePrinter(), CC)


def test_documents_fall_due_with_their_events_once(store, config, clock):
    """Dispatch, 督办 notice, fix, 约谈 case and bulletin each get their document; a second
    pass issues nothing (every document has its occasion)."""
    from datetime import timedelta

    import civgrid.grids.scoring.events  # noqa: F401  (a case entry publishes its event)
    from civgrid.grids.core.actors import Actor
    from civgrid.grids.core.outbox import publish
    from civgrid.grids.issues.photos import PhotoInput
    from civgrid.grids.scoring.models import CaseEvent
    from civgrid.maps.doc_issue import issue_due
    from support.doc_helpers import add_bulletin, add_case

    since = clock() - timedelta(minutes=1)
    issue_id, _ = overdue_with_notice(store, config, clock, unit="D03")
    png = PhotoInput(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "fix.png", "image/png")
    with store.session() as s:
        unit = Actor("责任人", "unit", "D03")
        svc.accept(s, unit, issue_id, config=config)
        svc.submit(s, unit, issue_id, photos=[png], note="已清理", config=config)
        case = add_case(s)
        s.add(
            CaseEvent(case=case, at=clock(), action="opened", actor_who="系统", actor_role="system")
        )
        b = add_bulletin(s)
        publish(s, "bulletin_published", "bulletin", b.id, clock(), {"number": b.number})
    printer = FakePrinter()
    with store.session() as s:
        first = issue_due(s, config, printer, CC, since=since)
    assert first.skipped == [] and first.existing == []
    titles = sorted(x.split(" ")[0] for x in first.issued)
    assert titles == sorted(["交办单", "整改回执", "督办通知单", "约谈通知书", "月通报"])
    with store.session() as s:
        second = issue_due(s, config, printer, CC, since=since)
        assert second.issued == [] and len(second.existing) == 5
        assert s.scalar(select(func.count()).select_from(IssuedDocument)) == 5


def test_a_supervision_report_is_issued_once_and_reissued_from_its_figures(store, config):
    from civgrid.maps.doc_issue import issue_supervision_report

    report = {
        "profile": "lvliang",
        "month": "2025-02",
        "window": ["2025-02-01", "2025-02-25"],
        "visits": 3,
        "found": 2,
        "rectified": 1,
        "open": 1,
        "overdue": 0,
        "units": [{"unit_name": "县城管局", "found": 2, "rectified": 1, "open": 1, "overdue": 0}],
    }
    printer = FakePrinter()
    with store.session() as s:
        v1 = issue_supervision_report(s, report, config, printer, CC)
        assert issue_supervision_report(s, report, config, printer, CC).id == v1.id
        v2 = reissue_document(s, v1.id, config, printer, CC, reason="更正版式")
        assert (v2.number, v2.version, v2.subject_kind) == (v1.number, 2, "report")
        assert v2.content["source"] == report and v1.content["source"] == report
        assert v1.number.endswith("查〔2025〕第001号")


def test_a_rolled_back_caller_leaves_no_document(any_store, config, clock):
    """Documents are issued in savepoints; the caller's rollback (a failed request, a
    dry run) undoes them on both backends — on SQLite too, where a savepoint sent first
    would begin its own transaction and commit on release (grids/core/db.py opens the
    transaction before any savepoint)."""
    _, notice_id = overdue_with_notice(any_store, config, clock)
    with any_store.session() as s:
        before = s.scalar(select(func.count()).select_from(IssuedDocument))

    class AbandonError(Exception):
        pass

    with pytest.raises(AbandonError), any_store.session() as s:
        doc = issue_document(s, "duban", notice_id, config, FakePrinter(), CC)
        assert doc.id is not None  # flushed in the caller's transaction
        raise AbandonError  # the session rolls back
    with any_store.session() as s:
        assert s.scalar(select(func.count()).select_from(IssuedDocument)) == before
        again = issue_document(s, "duban", notice_id, config, FakePrinter(), CC)
        assert again.version == 1  # the rolled-back one left no number or version behind
