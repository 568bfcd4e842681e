"""The issue page (问题详情): an issue, its history, its transfer requests (转办申请), and
the forms its viewer may use — a progress note (进展说明) and a transfer request for the
owner and co-responsible units, approve / refuse for the command center.

The page is ``maps/templates/issue.html``; the forms post JSON (a note: multipart, with
photos) to the issue API and reload. Which forms appear is decided by the caller
(:class:`IssuePageForms`); the API checks every action again.

>>> html = issue_page_html(
...     {"id": 7, "category": {"name": "<乱堆>"}, "state_label": "s", "history": [],
...      "owner_unit": None, "co_responsible_units": []},
...     [], [], IssuePageForms())
>>> "问题 #7 &lt;乱堆&gt;" in html and "cg-note-form" not in html
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from civgrid.grids.core import labels as zh
from civgrid.maps.render import Html, esc, render

__all__ = ["IssuePageForms", "issue_page_html"]

API = "/api/v1"


@dataclass(frozen=True)
class IssuePageForms:
    """Which forms the viewer gets: a progress note, a transfer request, the decision."""

    note: bool = False
    transfer: bool = False
    decide: bool = False


def _row(label: str, value: Any) -> str:
    return f"<tr><th>{esc(label)}</th><td>{esc(value)}</td></tr>"


def _when(value: Any) -> str:
    if value is None:
        return "—"
    from civgrid.grids.core.calendar import local_zone

    return value.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")


def _summary(d: Mapping[str, Any]) -> Html:
    owner = d.get("owner_unit") or {}
    co = "、".join(u["name"] for u in d.get("co_responsible_units") or []) or "—"
    rows = [
        _row("状态", d.get("state_label")),
        _row(zh.PARTY_ROLE_LABELS["owner"], owner.get("name") or "—"),
        _row(zh.PARTY_ROLE_LABELS["co_responsible"], co),
        _row("整改时限", _when(d.get("deadline"))),
        _row("地址", d.get("address") or "—"),
        _row("问题描述", d.get("description") or "—"),
    ]
    return Html(f'<table id="cg-issue-summary">{"".join(rows)}</table>')


def _history(d: Mapping[str, Any]) -> Html:
    items = []
    for e in d.get("history") or []:
        actor = e.get("actor") or {}
        data = e.get("data") or {}
        who = esc(actor.get("who")) + (f"（{esc(actor['unit'])}）" if actor.get("unit") else "")
        move = f" → {esc(data['to_unit'])}" if data.get("to_unit") else ""
        photos = len(e.get("photos") or [])
        items.append(
            f'<li class="cg-event-{esc(e.get("action"))}">{esc(_when(e.get("at")))} '
            f"<b>{esc(zh.ISSUE_ACTION_LABELS.get(e.get('action'), e.get('action')))}</b>{move} "
            f'<span class="muted">{who}</span>'
            + (f"<div>{esc(e['note'])}</div>" if e.get("note") else "")
            + (f'<div class="muted">照片 {photos} 张</div>' if photos else "")
            + "</li>"
        )
    return Html(f'<ol id="cg-history">{"".join(items)}</ol>' if items else "<p>无。</p>")


def _unit_options(units: Sequence[Mapping[str, str]], chosen: str | None = None) -> str:
    return "".join(
        f'<option value="{esc(u["key"])}"{" selected" if u["key"] == chosen else ""}>'
        f"{esc(u['name'])}（{esc(u['key'])}）</option>"
        for u in units
    )


def _decision_forms(r: Mapping[str, Any], units: Sequence[Mapping[str, str]]) -> str:
    proposed = (r.get("proposed_unit") or {}).get("key")
    url = f"{API}/transfer-requests/{r['id']}/decision"
    return (
        f'<form class="cg-form" id="cg-approve-{r["id"]}" data-cg-api="{esc(url)}">'
        '<input type="hidden" name="decision" value="approve">'
        f'<label>转给<select name="unit" required><option value="">请选择…</option>'
        f"{_unit_options(units, proposed)}</select></label>"
        '<label>审批意见<input type="text" name="note"></label>'
        '<button type="submit">同意转办</button></form>'
        f'<form class="cg-form" id="cg-refuse-{r["id"]}" data-cg-api="{esc(url)}">'
        '<input type="hidden" name="decision" value="refuse">'
        '<label>驳回理由（必填）<input type="text" name="note" required></label>'
        '<button type="submit">驳回</button></form>'
    )


def _transfers(
    requests: Sequence[Mapping[str, Any]], units: Sequence[Mapping[str, str]], decide: bool
) -> Html:
    if not requests:
        return Html('<p id="cg-transfers">无。</p>')
    head = (
        "<tr><th>申请单位</th><th>身份</th><th>建议转给</th><th>理由</th><th>状态</th>"
        "<th>审批</th></tr>"
    )
    rows = []
    for r in requests:
        pending = r["state"] == "pending"
        decision = (
            _decision_forms(r, units)
            if pending and decide
            else esc(
                " ".join(
                    x
                    for x in (
                        (r.get("new_owner_unit") or {}).get("name"),
                        r.get("decision_note"),
                        _when(r.get("decided_at")) if r.get("decided_at") else None,
                    )
                    if x
                )
                or "—"
            )
        )
        rows.append(
            f'<tr id="cg-transfer-{r["id"]}" class="{"cg-pending" if pending else ""}">'
            f"<td>{esc(r['requesting_unit']['name'])}</td>"
            f"<td>{esc(zh.PARTY_ROLE_LABELS.get(r['requesting_role'], r['requesting_role']))}</td>"
            f"<td>{esc((r.get('proposed_unit') or {}).get('name') or '—')}</td>"
            f"<td>{esc(r['reason'])}</td><td>{esc(r['state_label'])}</td><td>{decision}</td></tr>"
        )
    return Html(f'<table id="cg-transfers">{head}{"".join(rows)}</table>')


def _forms(issue_id: int, units: Sequence[Mapping[str, str]], forms: IssuePageForms) -> Html:
    parts = []
    if forms.note:
        parts.append(
            f"<h2>{esc(zh.ISSUE_ACTION_LABELS['progress_note'])}</h2>"
            f'<form class="cg-form" id="cg-note-form" data-cg-kind="note" '
            f'data-cg-api="{API}/issues/{issue_id}/notes" enctype="multipart/form-data">'
            '<label>已做工作（必填）<textarea name="note" rows="3" required></textarea></label>'
            '<label>照片<input type="file" name="photos" accept="image/*" multiple></label>'
            '<button type="submit">提交进展说明</button></form>'
        )
    if forms.transfer:
        parts.append(
            f"<h2>{esc(zh.ISSUE_ACTION_LABELS['transfer_request'])}</h2>"
            f'<form class="cg-form" id="cg-transfer-form" '
            f'data-cg-api="{API}/issues/{issue_id}/transfer-requests">'
            '<label>申请理由（必填）<textarea name="reason" rows="3" required></textarea></label>'
            '<label>建议转给（可不选）<select name="proposed_unit"><option value="">不指定</option>'
            f"{_unit_options(units)}</select></label>"
            '<button type="submit">提交转办申请</button></form>'
        )
    return Html("".join(parts))


def issue_page_html(
    detail: Mapping[str, Any],
    transfers: Sequence[Mapping[str, Any]],
    units: Sequence[Mapping[str, str]],
    forms: IssuePageForms,
) -> str:
    """The issue page (Chinese).

    Parameters
    ----------
    detail : mapping
        :func:`civgrid.grids.issues.describe.describe` with history.
    transfers : sequence of mapping
        The issue's transfer requests (the API's ``TransferRequestOut`` as dicts).
    units : sequence of {key, name}
        Units offered as the new owner.
    forms : IssuePageForms
        The forms to show.
    """
    title = f"问题 #{detail['id']} {(detail.get('category') or {}).get('name') or ''}".strip()
    return render(
        "issue.html",
        title=title,
        summary=_summary(detail),
        history_title="处理记录",
        history=_history(detail),
        transfers_title=zh.ISSUE_ACTION_LABELS["transfer_request"],
        transfers=_transfers(transfers, units, forms.decide),
        forms=_forms(int(detail["id"]), units, forms),
    )
