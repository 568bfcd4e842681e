"""Helpers of the document tests: printers (a fast fake, one Playwright page per PDF on a
shared Chromium), an issue with a 督办 notice, a case and a published bulletin."""

from __future__ import annotations

import hashlib
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from civgrid.grids.issues import service as svc
from civgrid.grids.issues.models import Issue, SupervisionNotice
from civgrid.grids.scoring.models import AccountabilityCase, Bulletin
from support.notify_helpers import dispatched_issue


class FakePrinter:
    """Not a PDF renderer: bytes that change with the HTML (for store tests, fast)."""

    def __init__(self) -> None:
        self.printed: list[str] = []

    def print_pdf(self, html: str) -> bytes:
        self.printed.append(html)
        return b"%PDF-fake\n" + hashlib.sha256(html.encode()).hexdigest().encode()


class PagePrinter:
    """Chromium's print-to-PDF through a long-lived Playwright browser (one per module)."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser

    def print_pdf(self, html: str) -> bytes:
        page = self.browser.new_page()
        try:
            page.set_content(html, wait_until="load")
            return page.pdf(prefer_css_page_size=True, print_background=True)
        finally:
            page.close()


def overdue_with_notice(store, config, clock, unit: str = "D03") -> tuple[int, int]:
    """An issue dispatched to ``unit`` and left overdue until its 督办 notice is issued:
    (issue id, notice id)."""
    with store.session() as s:
        issue_id = dispatched_issue(s, store, config, unit=unit)
    with store.session() as s:
        deadline = s.get(Issue, issue_id).deadline
    clock.set(deadline + timedelta(hours=1))
    with store.session() as s:
        svc.check_deadlines(s, config=config)
    with store.session() as s:
        notice_id = s.scalar(
            select(SupervisionNotice.id).where(SupervisionNotice.issue_id == issue_id)
        )
    assert notice_id is not None
    return issue_id, notice_id


def add_case(session, *, unit_name: str = "城关镇人民政府") -> AccountabilityCase:
    """An open accountability case (as a tripped trigger opens it)."""
    case = AccountabilityCase(
        profile="sheqi",
        rule_id="worst_twice",
        rule_label="《社旗县创建文明城市工作考核办法》第十二条",
        action="interview",
        level="township",
        unit_code="411327100000",
        unit_name=unit_name,
        leader_key=None,
        period="2025-02",
        facts=["2025年1月、2月连续两次排名末位", "逾期问题12件"],
        issue_ids=[3, 5],
        opened_at=datetime(2025, 3, 1, 2, 0, tzinfo=UTC),
        due_at=datetime(2025, 3, 15, 9, 0, tzinfo=UTC),
        citation="“连续两次排名末位的，约谈主要负责同志”",
    )
    session.add(case)
    session.flush()
    return case


def add_bulletin(session, number: str = "社创通〔2025〕第2号") -> Bulletin:
    """A published monthly bulletin (its frozen content, in the shape build_bulletin makes)."""
    content = {
        "kind": "monthly",
        "period": "2025-02",
        "period_label": "2025年2月",
        "title": "2025年2月创建文明城市工作月通报",
        "number": number,
        "summary": {"issues": 140, "closed": 120, "overdue": 6, "recurrences": 2, "cases": 1},
        "communities": [
            {"code": "C1", "name": "东关社区", "points": 96.5},
            {"code": "C2", "name": "西关社区", "points": 88.0},
        ],
        "townships": [{"code": "T1", "name": "城关镇", "points": 91.2}],
        "best": [{"level": "community", "code": "C1", "name": "东关社区", "points": 96.5}],
        "worst": [{"level": "community", "code": "C2", "name": "西关社区", "points": 88.0}],
        "cases": [{"unit_name": "西关社区", "rule_label": "连续两月末位"}],
    }
    b = Bulletin(
        kind="monthly",
        period="2025-02",
        number=number,
        profile="sheqi",
        rules_effective_from="2025-01-01",
        issued_at=datetime(2025, 3, 3, 1, 0, tzinfo=UTC),
        issued_by="指挥中心",
        content=content,
        xlsx=b"x",
        sha256="0" * 64,
    )
    session.add(b)
    session.flush()
    return b


def pdf_text(pdf: bytes, tmp: Path) -> str:
    """The text of a PDF (poppler's pdftotext, layout kept)."""
    path = tmp / "doc.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout


def pdf_page_sizes(pdf: bytes, tmp: Path) -> list[str]:
    """``pdfinfo``'s page size lines of every page (e.g. ``... (A4)``)."""
    path = tmp / "info.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdfinfo", "-f", "1", "-l", "99", str(path)], capture_output=True, check=True, text=True
    ).stdout
    return [
        ln.split(":", 1)[1].strip()
        for ln in out.splitlines()
        if ln.startswith("Page") and "size:" in ln
    ]


def pdf_to_png(pdf: bytes, out_stem: Path, dpi: int = 60) -> list[Path]:
    """Images of the PDF's pages (``pdftoppm``), ``<stem>-1.png`` …"""
    src = out_stem.with_suffix(".pdf")
    src.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(src), str(out_stem)], check=True)
    src.unlink()
    return sorted(out_stem.parent.glob(f"{out_stem.name}-*.png"))


def docx_text(data: bytes) -> str:
    """Every paragraph and table cell of a .docx, read back with python-docx."""
    import io

    from docx import Document

    d = Document(io.BytesIO(data))
    parts = [p.text for p in d.paragraphs]
    for t in d.tables:
        for row in t.rows:
            parts.extend(c.text for c in row.cells)
    return "\n".join(parts)
