"""Printable documents: the 督办通知单 (supervision notice, A4) as an HTML page.

The page is the same document as the stored .docx/PDF (:mod:`civgrid.maps.doc_types`,
:mod:`civgrid.maps.official_docs`), built from the notice as it is now; the numbered,
immutable snapshot is issued through :mod:`civgrid.maps.doc_issue` (docs/documents.md).
"""

from __future__ import annotations

from civgrid.grids.core.city import current_city
from civgrid.grids.documents.series import SERIES
from civgrid.grids.documents.store import Heading
from civgrid.grids.issues.config import IssueConfig
from civgrid.grids.issues.models import SupervisionNotice
from civgrid.maps.doc_types import duban_doc
from civgrid.maps.official_docs import to_html

__all__ = ["render_notice"]


def render_notice(notice: SupervisionNotice, cfg: IssueConfig, county: str) -> str:
    """HTML of a 督办通知单 (A4, print-friendly, Chinese); ``county`` is kept for callers,
    the issuing office is the city profile's (``city.office``)."""
    heading = Heading(
        "duban",
        SERIES["duban"].title,
        notice.number,
        notice.year,
        notice.seq,
        1,
        notice.issued_at,
    )
    return to_html(duban_doc(notice, cfg, current_city().office, heading))
