"""Every document type printed for a demo case, read back: the .docx with python-docx and
the PDF with poppler (pdftotext, pdfinfo) — number, dates, unit names, deadline, A4 —
and images of the PDF pages (pdftoppm) written where ``make screenshots`` keeps them.

One headless Chromium per module prints every PDF (Playwright's ``page.pdf``, the same
``Page.printToPDF`` as the production printer); one test runs the production printer
(the chromium executable, ``--print-to-pdf``) itself.
"""

from __future__ import annotations

import re

import pytest
from browser.browserkit import (
    CHROMIUM,
    CHROMIUM_ARGS,
    require_chromium,
    require_playwright,
    screenshot_dir,
)

from civgrid.grids.core.actors import Actor
from civgrid.grids.core.city import current_city
from civgrid.grids.documents.models import IssuedDocument
from civgrid.grids.issues import service as svc
from civgrid.grids.issues.models import Issue, SupervisionNotice
from civgrid.grids.issues.photos import PhotoInput
from civgrid.maps.doc_issue import issue_document, issue_supervision_report
from support.doc_helpers import (
    PagePrinter,
    add_bulletin,
    add_case,
    docx_text,
    overdue_with_notice,
    pdf_page_sizes,
    pdf_text,
    pdf_to_png,
)
from support.notify_helpers import CC

PNG = PhotoInput(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "fix.png", "image/png")


@pytest.fixture(scope="module")
def printer():
    executable = require_chromium(CHROMIUM)
    sync_playwright = require_playwright()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield PagePrinter(b)
        b.close()


@pytest.fixture(scope="module")
def img(tmp_path_factory):
    return screenshot_dir(tmp_path_factory)


def _flat(text: str) -> str:
    """Text without the spaces and line breaks layout puts between CJK characters."""
    return "".join(text.split())


def _check(doc: IssuedDocument, tmp_path, *must: str) -> tuple[str, str]:
    """Both files carry ``must`` (and the number and the issuing office); the PDF is A4."""
    word = _flat(docx_text(doc.docx))
    pdf = _flat(pdf_text(doc.pdf, tmp_path))
    for s in (doc.number, current_city().office, *must):
        assert _flat(s) in word, f"{doc.series}: {s!r} missing from the .docx"
        assert _flat(s) in pdf, f"{doc.series}: {s!r} missing from the PDF"
    sizes = pdf_page_sizes(doc.pdf, tmp_path)
    assert sizes and all(sz.endswith("(A4)") for sz in sizes), sizes
    return word, pdf


def test_every_document_type_reads_back(store, config, clock, printer, img, tmp_path):
    issue_id, notice_id = overdue_with_notice(store, config, clock, unit="D03")
    with store.session() as s:
        issue = s.get(Issue, issue_id)
        owner = issue.owner_unit
        unit_name, unit_key = owner.name, owner.key
        local = config.calendar.local
        deadline = local(issue.deadline).strftime("%Y年%m月%d日 %H:%M")
        notice = s.get(SupervisionNotice, notice_id)
        notice_deadline = local(notice.deadline).strftime("%Y年%m月%d日 %H:%M")
        jiaoban = issue_document(
            s, "jiaoban", issue_id, config, printer, CC, link_base="https://cg.example"
        )
        duban = issue_document(s, "duban", notice_id, config, printer, CC)
    clock.advance(hours=2)
    with store.session() as s:
        actor = Actor("责任人", "unit", unit_key)
        svc.accept(s, actor, issue_id, config=config)
        svc.submit(
            s, actor, issue_id, photos=[PNG], note="已清理占道摊点并设置提示牌", config=config
        )
    with store.session() as s:
        huizhi = issue_document(s, "huizhi", issue_id, config, printer, CC)
        case = add_case(s, unit_name="城关镇人民政府")
        yuetan = issue_document(s, "yuetan", case.id, config, printer, CC)
        wenze = issue_document(s, "wenze", case.id, config, printer, CC)
        bulletin = add_bulletin(s, number="社创通〔2025〕第2号")
        tongbao = issue_document(s, "bulletin", bulletin.id, config, printer, CC)
        report = {
            "profile": "lvliang",
            "month": "2025-02",
            "window": ["2025-02-01", "2025-02-25"],
            "citation": "依据：“每月25日总结本月督导情况，形成督查报告”",
            "visits": 31,
            "found": 12,
            "rectified": 9,
            "open": 3,
            "overdue": 1,
            "units": [
                {"unit_name": unit_name, "found": 12, "rectified": 9, "open": 3, "overdue": 1}
            ],
        }
        ducha = issue_supervision_report(s, report, config, printer, CC)
        docs = [jiaoban, duban, huizhi, yuetan, wenze, tongbao, ducha]
        today = f"{local(clock()).year}年{local(clock()).month}月{local(clock()).day}日"

        word, pdf = _check(jiaoban, tmp_path, "交办单", unit_name, deadline, f"/issues/{issue_id}")
        assert "整改时限" in word and "交办时间" in pdf
        _check(duban, tmp_path, "督办通知单", unit_name, notice_deadline, "督办事由")
        assert duban.number == notice.number
        _check(huizhi, tmp_path, "整改回执", unit_name, "已清理占道摊点并设置提示牌", "1张", today)
        _check(
            yuetan, tmp_path, "约谈通知书", "城关镇人民政府", "连续两次排名末位", "2025年03月15日"
        )
        _check(wenze, tmp_path, "问责建议书", "城关镇人民政府", "约谈")
        word, pdf = _check(
            tongbao,
            tmp_path,
            "2025年2月创建文明城市工作月通报",
            "社创通〔2025〕第2号",
            "东关社区",
            "96.5",
        )
        _check(
            ducha,
            tmp_path,
            "2025年2月创建文明城市督查报告",
            unit_name,
            "走访31次",
            "2025年2月1日至2025年2月25日",
        )
        assert ducha.subject_key == "lvliang:2025-02"
        assert pdf.index(_flat(current_city().office)) < pdf.index("东关社区")  # red 版头 first
        assert pdf.rstrip().endswith(_flat(today))  # ends with the issuing office and the date
        for d in docs:  # never a leader code (L13) in a document
            text = docx_text(d.docx) + pdf_text(d.pdf, tmp_path)
            assert not re.search(r"\bL\d{2}\b", text), d.series
            assert d.pdf.startswith(b"%PDF-") and d.docx.startswith(b"PK")
            assert pdf_to_png(d.pdf, img / f"document-{d.series}")


def test_the_cli_issues_what_is_due_with_the_production_printer(store, config, clock, tmp_path):
    """``civgrid documents due`` prints with the chromium executable (--print-to-pdf, what
    the server runs): a dry run keeps nothing, --commit stores the 交办单 (A4), and a
    second run issues nothing again."""
    from sqlalchemy import select
    from typer.testing import CliRunner

    from civgrid.api.cli import app
    from support.notify_helpers import dispatched_issue

    with store.session() as s:
        dispatched_issue(s, store, config, unit="D03")
    url = store.engine.url.render_as_string(hide_password=False)
    args = ["documents", "due", "--since-hours", "200000", "--db", url]
    runner = CliRunner()
    r = runner.invoke(app, args)
    assert r.exit_code == 0 and "dry run" in r.output and "1 issued" in r.output, r.output
    with store.session() as s:
        assert s.scalars(select(IssuedDocument)).all() == []
    r = runner.invoke(app, [*args, "--commit"])
    assert r.exit_code == 0 and "1 issued" in r.output, r.output
    r = runner.invoke(app, [*args, "--commit"])
    assert "0 issued, 1 already stored" in r.output, r.output
    with store.session() as s:
        (doc,) = s.scalars(select(IssuedDocument)).all()
        _check(doc, tmp_path, "交办单")
