"""Official documents (公文) as one structure, printed two ways: .docx and HTML → PDF.

A :class:`Doc` is the whole text of a document as blocks (paragraphs, sub-headings,
key–value forms, tables); :func:`to_docx` writes it with python-docx and
:func:`to_html` fills ``templates/official_doc.html``, which
:mod:`civgrid.maps.pdf` prints to PDF with headless Chromium. Both read the same
blocks, so the two files of a document say the same thing. :func:`doc_content` is the
JSON snapshot stored (and hashed) with the files.

Layout (A4, 公文 style, a local approximation of GB/T 9704): forms (交办单, 督办通知单,
整改回执) have a red centred title and the number under it; letters (月通报, 约谈通知书,
问责建议书, 督查报告) have the red 版头 (the issuing body), the number, a red rule and
the title. Every document ends with the issuing office and the date. The font is
"Noto Serif CJK SC" (Debian fonts-noto-cjk) with SimSun / serif as fallback.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

from civgrid.maps.render import Html, esc, render

__all__ = ["FONT", "Block", "Doc", "cn_date", "doc_content", "to_docx", "to_html"]

#: The CJK serif font (fonts-noto-cjk), then the fallbacks.
FONT = "Noto Serif CJK SC"
FONT_STACK = f'"{FONT}", "SimSun", "Songti SC", serif'
RED = RGBColor(0xCC, 0x00, 0x00)


def cn_date(value: date) -> str:
    """A date the way documents print it: ``2026年12月7日``.

    >>> cn_date(datetime(2026, 12, 7, 9, 30))
    '2026年12月7日'
    """
    return f"{value.year}年{value.month}月{value.day}日"


@dataclass(frozen=True)
class Block:
    """One block of a document's body.

    ``kind``: ``para`` (``text``), ``heading`` (``text``), ``form`` (``rows`` of
    [label, value]) or ``table`` (``header`` and ``rows``).
    """

    kind: str
    text: str = ""
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


@dataclass(frozen=True)
class Doc:
    """A whole document: heading fields, addressee, body blocks, issuer and date."""

    title: str
    number: str
    version: int
    issuer: str
    date: str
    addressee: str | None
    blocks: list[Block]
    letter: bool = False  # red 版头 (issuing body) instead of a red form title
    attachments: list[str] = field(default_factory=list)


def doc_content(doc: Doc) -> dict[str, Any]:
    """The JSON snapshot of ``doc`` (stored and hashed with its files)."""
    return asdict(doc)


def para(text: str) -> Block:
    """A body paragraph."""
    return Block("para", text=text)


def heading(text: str) -> Block:
    """A sub-heading (一、…)."""
    return Block("heading", text=text)


def form(rows: list[tuple[str, str]]) -> Block:
    """A two-column form (label, value)."""
    return Block("form", rows=[[k, v] for k, v in rows])


def table(header: list[str], rows: list[list[Any]]) -> Block:
    """A table with a header row (cells as text)."""
    return Block("table", header=header, rows=[[str(c) for c in r] for r in rows])


# --- HTML (printed to PDF) ----------------------------------------------------------


def _block_html(b: Block) -> str:
    if b.kind == "para":
        return f'<p class="body">{esc(b.text)}</p>'
    if b.kind == "heading":
        return f"<h2>{esc(b.text)}</h2>"
    if b.kind == "form":
        return (
            '<table class="form">'
            + "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in b.rows)
            + "</table>"
        )
    head = "".join(f"<th>{esc(h)}</th>" for h in b.header)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in b.rows)
    return f'<table class="grid"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def to_html(doc: Doc) -> str:
    """The document as an A4 HTML page (``templates/official_doc.html``)."""
    if doc.letter:
        head = (
            f'<div class="banner">{esc(doc.issuer)}</div>'
            f'<p class="no">{esc(doc.number)}</p><hr class="red">'
            f'<h1 class="letter">{esc(doc.title)}</h1>'
        )
    else:
        head = f'<h1>{esc(doc.title)}</h1><p class="no">{esc(doc.number)}</p>'
    addressee = f'<p class="to">{esc(doc.addressee)}：</p>' if doc.addressee else ""
    attach = "".join(f'<p class="attach">附件：{esc(a)}</p>' for a in doc.attachments)
    return render(
        "official_doc.html",
        title=f"{doc.title} {doc.number}",
        font=Html(FONT_STACK),
        head=Html(head),
        addressee=Html(addressee),
        body=Html("".join(_block_html(b) for b in doc.blocks)),
        attachments=Html(attach),
        issuer=doc.issuer,
        date=doc.date,
        version="" if doc.version == 1 else f"（第{doc.version}版）",
    )


# --- .docx -----------------------------------------------------------------------------


def _font(run: Any, size: float, *, bold: bool = False, red: bool = False) -> None:
    run.font.name = FONT
    run.font.size = Pt(size)
    run.font.bold = bold
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    if red:
        run.font.color.rgb = RED


def _p(
    d: Any,
    text: str,
    size: float = 12,
    *,
    align: Any = None,
    bold: bool = False,
    red: bool = False,
    indent: bool = False,
) -> Any:
    p = d.add_paragraph()
    if align is not None:
        p.alignment = align
    if indent:
        p.paragraph_format.first_line_indent = Pt(size * 2)
    _font(p.add_run(text), size, bold=bold, red=red)
    return p


def _cell(cell: Any, text: str, *, bold: bool = False) -> None:
    cell.text = ""
    _font(cell.paragraphs[0].add_run(text), 11, bold=bold)


def to_docx(doc: Doc, issued_at: datetime) -> bytes:
    """The document as .docx bytes (A4, margins 25 mm × 20 mm, the CJK serif font).

    ``issued_at`` is written as the file's created/modified time.
    """
    d = Document()
    sec = d.sections[0]
    sec.orientation = WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    sec.top_margin = sec.bottom_margin = Mm(25)
    sec.left_margin = sec.right_margin = Mm(20)
    normal = d.styles["Normal"]
    normal.font.name = FONT
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    center, right = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.RIGHT
    if doc.letter:
        _p(d, doc.issuer, 22, align=center, bold=True, red=True)
        _p(d, doc.number, 12, align=center)
        _p(d, "━" * 24, 12, align=center, red=True)
        _p(d, doc.title, 18, align=center, bold=True)
    else:
        _p(d, doc.title, 20, align=center, bold=True, red=True)
        _p(d, doc.number, 12, align=center)
    if doc.addressee:
        _p(d, f"{doc.addressee}：", 12, bold=True)
    for b in doc.blocks:
        if b.kind == "para":
            _p(d, b.text, 12, indent=True)
        elif b.kind == "heading":
            _p(d, b.text, 13, bold=True)
        elif b.kind == "form":
            t = d.add_table(rows=0, cols=2)
            t.style = "Table Grid"
            for k, v in b.rows:
                cells = t.add_row().cells
                _cell(cells[0], k, bold=True)
                _cell(cells[1], v)
        else:
            t = d.add_table(rows=1, cols=len(b.header))
            t.style = "Table Grid"
            for c, h in zip(t.rows[0].cells, b.header, strict=True):
                _cell(c, h, bold=True)
            for r in b.rows:
                for c, v in zip(t.add_row().cells, r, strict=True):
                    _cell(c, v)
    for a in doc.attachments:
        _p(d, f"附件：{a}", 12)
    _p(d, "", 12)
    _p(d, doc.issuer, 12, align=right)
    _p(d, doc.date, 12, align=right)
    if doc.version > 1:
        _p(d, f"（第{doc.version}版）", 10, align=right)
    props = d.core_properties
    props.title = f"{doc.title} {doc.number}"
    props.author = doc.issuer
    props.created = props.modified = issued_at.replace(tzinfo=None)
    props.last_modified_by = doc.issuer
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()
