"""Printable documents: the 督办通知单 (supervision notice, A4).

The HTML lives in ``maps/templates/notice.html``; every value is escaped by
:func:`civgrid.maps.render.render` (the table rows are built from escaped parts).
"""

from __future__ import annotations

from datetime import datetime

from civgrid.grids.core.labels import NOTICE_REASON_LABELS, ROLE_LABELS
from civgrid.grids.issues import service as svc
from civgrid.grids.issues.config import IssueConfig
from civgrid.grids.issues.models import SupervisionNotice
from civgrid.maps.render import Html, esc, render

__all__ = ["render_notice"]


def render_notice(notice: SupervisionNotice, cfg: IssueConfig, county: str) -> str:
    """HTML of a 督办通知单 (A4, print-friendly, Chinese)."""
    issue = notice.issue
    d = svc.describe(issue, cfg.workflow)
    local = cfg.calendar.local

    def t(x: datetime | None) -> str:
        return local(x).strftime("%Y年%m月%d日 %H:%M") if x else "—"

    place = " / ".join(p["name"] for p in (d["township"], d["community"], d["unit_grid"]) if p)
    road = d["road_section"]["name"] if d["road_section"] else "—"
    leaders = (
        "；".join(
            f"{x['title']}（{x['key']}，{ROLE_LABELS.get(x['role'], x['role'])}）"
            for x in d["leaders"]
        )
        or "—"
    )
    unit = notice.unit.name if notice.unit else "（待定）"
    reason = NOTICE_REASON_LABELS.get(notice.reason, notice.reason)
    rows = [
        ("问题编号", issue.id),
        ("问题类别", d["category"]["name"] or ""),
        ("问题来源", d["source_label"]),
        ("发现时间", t(issue.reported_at)),
        ("问题位置", place or issue.address or "—"),
        ("所在路段", road),
        ("问题描述", issue.description or "—"),
        ("原整改时限", t(issue.deadline)),
        ("当前状态", d["state_label"]),
        ("督办事由", reason),
        ("责任领导", leaders),
    ]
    return render(
        "notice.html",
        number=notice.number,
        unit=unit,
        reason=reason,
        deadline=t(notice.deadline),
        county=county,
        rows=Html("".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)),
        issued_at=t(notice.issued_at),
    )
