"""The issue page (问题详情): an issue, its history, its transfer requests (转办申请), and
the forms its viewer may use — a progress note (进展说明) and a transfer request for the
owner and co-responsible units, approve / refuse for the command center.

The page is ``maps/templates/issue.html``: description, address and places, a small map,
photos (thumbnails linking to the full size), the routing answer with its reasons, units
by name, leaders by title, the deadline with its countdown (:mod:`civgrid.maps.countdown`),
the history with people by role and unit name, notices, linked visits — and the action
forms (:mod:`civgrid.maps.issue_actions`, one partial per action, each carrying the
permission it needs as ``data-perm``). The forms post to the issue API
(``static/js/work-pages.js``); the API checks every action again.

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
from datetime import datetime
from typing import Any

from civgrid.grids.core import labels as zh
from civgrid.grids.core.calendar import WorkingCalendar
from civgrid.maps.countdown import countdown
from civgrid.maps.issue_actions import ActionContext, render_actions
from civgrid.maps.notify_page import deliveries_html
from civgrid.maps.render import Html, esc, render

__all__ = ["IssuePageForms", "PageClock", "issue_page_html"]

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

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")


#: Photo stages → Chinese captions (整改前 is the report's photo, 整改后 the fix's).
PHOTO_STAGE_LABELS: dict[str, str] = {
    "report": "整改前（上报）",
    "fix": "整改后",
    "reinspection": zh.ISSUE_ACTION_LABELS["reinspect"],
    "progress": zh.ISSUE_ACTION_LABELS["progress_note"],
}


@dataclass(frozen=True)
class PageClock:
    """The moment the page is drawn and the county calendar its countdown counts on."""

    now: datetime
    calendar: WorkingCalendar


def _summary(d: Mapping[str, Any], clock: PageClock | None) -> Html:
    owner = d.get("owner_unit") or {}
    co = "、".join(u["name"] for u in d.get("co_responsible_units") or []) or "—"
    leaders = "、".join(
        f"{ld.get('title')}（{zh.ROLE_LABELS.get(ld.get('role'), ld.get('role') or '')}）"
        for ld in d.get("leaders") or []
    )
    deadline = _when(d.get("deadline"))
    count = ""
    if clock is not None and d.get("deadline") and d.get("kind", "open") == "open":
        dl = d["deadline"]
        cd = countdown(
            datetime.fromisoformat(dl) if isinstance(dl, str) else dl, clock.now, clock.calendar
        )
        count = f' <span id="cg-countdown" class="{cd.css}">{esc(cd.text)}</span>'
    flags = "、".join(zh.FLAG_LABELS.get(f, f) for f in d.get("flags") or [])
    rows = [
        _row("状态", d.get("state_label") + (f"（{flags}）" if flags else "")),
        _row("问题类别", (d.get("category") or {}).get("name") or "—"),
        _row("来源", d.get("source_label") or d.get("source") or "—"),
        _row("上报时间", _when(d.get("reported_at"))),
        _row(zh.PARTY_ROLE_LABELS["owner"], owner.get("name") or "—"),
        _row(zh.PARTY_ROLE_LABELS["co_responsible"], co),
        _row("责任领导", leaders or "—"),
        f"<tr><th>整改时限</th><td>{esc(deadline)}{count}</td></tr>",
        _row("地址", d.get("address") or "—"),
        _row("问题描述", d.get("description") or "—"),
    ]
    if d.get("measures"):
        rows.append(_row("整改措施", d["measures"]))
    return Html(f'<table id="cg-issue-summary">{"".join(rows)}</table>')


def _places(d: Mapping[str, Any]) -> Html:
    road = d.get("road_section") or {}
    sites = "、".join(s["name"] for s in d.get("key_sites") or []) or "—"
    rows = [
        _row(zh.LEVEL_LABELS["township"], (d.get("township") or {}).get("name") or "—"),
        _row("社区（村）", (d.get("community") or {}).get("name") or "—"),
        _row("网格", (d.get("unit_grid") or {}).get("name") or "—"),
        _row(zh.LAYER_LABELS["road_section"], road.get("name") or "—"),
        _row("重点场所", sites),
    ]
    return Html(f'<table id="cg-issue-places">{"".join(rows)}</table>')


def _map(d: Mapping[str, Any]) -> Html:
    loc = d.get("location") or {}
    if loc.get("lon") is None:
        return Html('<p class="muted">无坐标。</p>')
    return Html(
        f'<div id="cg-issue-map" data-lon="{esc(loc["lon"])}" data-lat="{esc(loc["lat"])}" '
        f'aria-label="问题位置"></div>'
        f'<p class="muted">坐标（WGS84）：{float(loc["lon"]):.6f}, {float(loc["lat"]):.6f}</p>'
    )


def _photos(d: Mapping[str, Any]) -> Html:
    photos = list(d.get("photos") or [])
    if not photos:
        return Html('<p class="muted" id="cg-photos">无照片。</p>')
    figs = []
    for p in photos:
        url = f"{API}/photos/{int(p['id'])}"
        caption = PHOTO_STAGE_LABELS.get(p.get("stage") or "report", p.get("stage") or "")
        figs.append(
            f'<figure data-stage="{esc(p.get("stage") or "")}"><a href="{url}" target="_blank" '
            f'rel="noopener"><img src="{url}" alt="{esc(caption)}照片" loading="lazy"></a>'
            f"<figcaption>{esc(caption)}</figcaption></figure>"
        )
    return Html(f'<div class="cg-photos" id="cg-photos">{"".join(figs)}</div>')


#: How a part of the routing answer was found (``Reason.match``), in Chinese.
_MATCH_LABELS: dict[str, str] = {
    "covers": "位于",
    "near_line": "临近",
    "in_zone": "位于范围内",
    "assignment": "责任分工：",
}


def _names(routing: Mapping[str, Any]) -> dict[str, str]:
    """Object code → name, from the routing answer's places."""
    out: dict[str, str] = {}
    for key in ("county", "township", "community", "unit_grid", "road_section"):
        obj = routing.get(key) or {}
        if obj.get("code"):
            out[obj["code"]] = obj.get("name") or obj["code"]
    for obj in [*(routing.get("key_sites") or []), *(routing.get("supervision_areas") or [])]:
        if obj.get("code"):
            out[obj["code"]] = obj.get("name") or obj["code"]
    return out


def _why(reason: Mapping[str, Any] | None, names: Mapping[str, str]) -> str:
    if not reason:
        return ""
    layer = zh.LAYER_LABELS.get(reason.get("layer"), reason.get("layer") or "")
    where = names.get(reason.get("code"), reason.get("code") or "")
    dist = reason.get("distance_m") or 0
    far = f"，距 {dist:.0f} 米" if dist and dist >= 1 else ""
    return f"{_MATCH_LABELS.get(reason.get('match'), '')}{layer}{where}{far}"


#: Why an issue waits in triage (``grids.issues.intake.TriageReason``), in Chinese.
TRIAGE_REASON_TEXT = {
    "outside_jurisdiction": "不在本县管辖范围",
    "unroutable": "未能自动确定责任单位",
    "anonymous_citizen": "匿名市民投诉，需核实后交办",
    "public_intake": "市民随手拍（未登录），需确认后交办",
    "address_unmatched": "地址未能匹配到位置",
}


def deadline_rule_text(rule: str) -> str:
    """The stored deadline rule (``48h``, ``5wd``, ``extended``) in Chinese.

    >>> [deadline_rule_text(r) for r in ("48h", "0.5h", "5wd", "extended", "?")]
    ['48 小时', '0.5 小时', '5 个工作日', '已批准延期', '?']
    """
    if rule == "extended":
        return "已批准延期"
    for suffix, unit in (("wd", " 个工作日"), ("h", " 小时")):
        amount = rule.removesuffix(suffix)
        if amount != rule and amount.replace(".", "", 1).isdigit():
            return amount + unit
    return rule


def _routing(d: Mapping[str, Any]) -> Html:
    """The routing answer with its reasons: the owner's rule, each responsible unit and
    leader with the place that made it one, the road section and key sites."""
    rows = []
    if d.get("owner_basis"):
        rows.append(_row("主办单位依据", d["owner_basis"]))
    if d.get("triage_reason"):
        reason = d["triage_reason"]
        rows.append(_row("待分拣原因", TRIAGE_REASON_TEXT.get(reason, reason)))
    if d.get("deadline_rule"):
        rows.append(_row("时限规则", deadline_rule_text(d["deadline_rule"])))
    routing = d.get("routing") or {}
    names = _names(routing)
    for key, label in (
        ("responsible_units", zh.ROLE_LABELS["responsible"]),
        ("leaders", "责任领导"),
    ):
        for p in routing.get(key) or []:
            role = zh.ROLE_LABELS.get(p.get("role"), p.get("role") or "")
            who = p.get("name") if key == "responsible_units" else p.get("title", p.get("name"))
            rows.append(_row(f"{label}（{role}）", f"{who} — {_why(p.get('reason'), names)}"))
    road = routing.get("road_section")
    if road:
        rows.append(
            _row(
                zh.LAYER_LABELS["road_section"],
                f"{road.get('name')} — {_why(road.get('reason'), names)}",
            )
        )
    for site in routing.get("key_sites") or []:
        rows.append(
            _row(
                zh.LAYER_LABELS["key_site"],
                f"{site.get('name')} — {_why(site.get('reason'), names)}",
            )
        )
    if not rows:
        return Html('<p class="muted" id="cg-routing">无。</p>')
    return Html(f'<div class="cg-table-wrap"><table id="cg-routing">{"".join(rows)}</table></div>')


def _person(actor: Mapping[str, Any], unit_names: Mapping[str, str]) -> str:
    """A person by role (title) and unit name, never by login."""
    role = actor.get("role") or ""
    label = zh.ACCOUNT_ROLE_LABELS.get(role) or _WORKFLOW_ROLE_LABELS.get(role) or "系统"
    unit = actor.get("unit")
    return label + (f"（{unit_names.get(unit, unit)}）" if unit else "")


#: Workflow roles of history events → Chinese (accounts are named by their role label).
_WORKFLOW_ROLE_LABELS: dict[str, str] = {
    "command_center": "指挥中心",
    "unit": zh.ROLE_LABELS["responsible"],
    "inspector": zh.ACCOUNT_ROLE_LABELS["inspector"],
    "grid_worker": zh.ACCOUNT_ROLE_LABELS["grid_worker"],
    "reporter": "上报人",
    "citizen": zh.ACCOUNT_ROLE_LABELS["public"],
    "system": "系统",
}


def _history(d: Mapping[str, Any], unit_names: Mapping[str, str] | None = None) -> Html:
    names = unit_names or {}
    items = []
    for e in d.get("history") or []:
        actor = e.get("actor") or {}
        data = e.get("data") or {}
        who = esc(_person(actor, names))
        to = data.get("to_unit")
        move = f" → {esc(names.get(to, to))}" if to else ""
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


def _notices(notices: Sequence[Mapping[str, Any]]) -> Html:
    if not notices:
        return Html('<p class="muted" id="cg-notices">无。</p>')
    items = "".join(
        f'<li><a href="{API}/notices/{int(n["id"])}" target="_blank" rel="noopener">'
        f"{esc(n['number'])}</a> {esc(_when(n.get('issued_at')))}，"
        f"限 {esc(_when(n.get('deadline')))}</li>"
        for n in notices
    )
    return Html(f'<ul id="cg-notices">{items}</ul>')


def _documents(documents: Sequence[Mapping[str, Any]]) -> Html:
    """The issue's official documents, every version, each as .docx and PDF."""
    if not documents:
        return Html('<p class="muted" id="cg-documents">无。</p>')
    items = "".join(
        f'<li data-doc="{int(d["id"])}">{esc(d["title"])} {esc(d["number"])}'
        + (f"（第{int(d['version'])}版）" if int(d["version"]) > 1 else "")
        + f" {esc(_when(d.get('issued_at')))} "
        f'<a href="{API}/documents/{int(d["id"])}/file/pdf">PDF</a> '
        f'<a href="{API}/documents/{int(d["id"])}/file/docx">Word</a></li>'
        for d in documents
    )
    return Html(f'<ul id="cg-documents">{items}</ul>')


def _visits(visits: Sequence[Mapping[str, Any]]) -> Html:
    if not visits:
        return Html('<p class="muted" id="cg-visits">无。</p>')
    items = "".join(
        f"<li>{esc(v.get('day'))} 巡查任务 #{esc(v.get('id'))}（{esc(v.get('team') or '')}）</li>"
        for v in visits
    )
    return Html(f'<ul id="cg-visits">{items}</ul>')


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
        f'<form class="cg-form" id="cg-approve-{r["id"]}" data-cg-api="{esc(url)}" '
        'data-perm="transfer.decide">'
        '<input type="hidden" name="decision" value="approve">'
        f'<label>转给<select name="unit" required><option value="">请选择…</option>'
        f"{_unit_options(units, proposed)}</select></label>"
        '<label>审批意见<input type="text" name="note"></label>'
        '<button type="submit" data-perm="transfer.decide">同意转办</button></form>'
        f'<form class="cg-form" id="cg-refuse-{r["id"]}" data-cg-api="{esc(url)}" '
        'data-perm="transfer.decide">'
        '<input type="hidden" name="decision" value="refuse">'
        '<label>驳回理由（必填）<input type="text" name="note" required></label>'
        '<button type="submit" data-perm="transfer.decide">驳回</button></form>'
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
            f'data-cg-api="{API}/issues/{issue_id}/notes" data-cg-kind="multipart" '
            'data-perm="issue.note" enctype="multipart/form-data">'
            '<label>已做工作（必填）<textarea name="note" rows="3" required></textarea></label>'
            '<label>照片<input type="file" name="photos" accept="image/*" multiple></label>'
            '<button type="submit" data-perm="issue.note">提交进展说明</button></form>'
        )
    if forms.transfer:
        parts.append(
            f"<h2>{esc(zh.ISSUE_ACTION_LABELS['transfer_request'])}</h2>"
            f'<form class="cg-form" id="cg-transfer-form" '
            f'data-cg-api="{API}/issues/{issue_id}/transfer-requests" data-perm="transfer.request">'
            '<label>申请理由（必填）<textarea name="reason" rows="3" required></textarea></label>'
            '<label>建议转给（可不选）<select name="proposed_unit"><option value="">不指定</option>'
            f"{_unit_options(units)}</select></label>"
            '<button type="submit" data-perm="transfer.request">提交转办申请</button></form>'
        )
    return Html("".join(parts))


def issue_page_html(
    detail: Mapping[str, Any],
    transfers: Sequence[Mapping[str, Any]],
    units: Sequence[Mapping[str, str]],
    forms: IssuePageForms,
    *,
    actions: ActionContext | None = None,
    nav: Html | str = "",
    clock: PageClock | None = None,
    notices: Sequence[Mapping[str, Any]] = (),
    visits: Sequence[Mapping[str, Any]] = (),
    deliveries: Sequence[Mapping[str, Any]] = (),
    documents: Sequence[Mapping[str, Any]] = (),
) -> str:
    """The issue page (Chinese).

    Parameters
    ----------
    detail : mapping
        :func:`civgrid.grids.issues.describe.describe` with history.
    transfers : sequence of mapping
        The issue's transfer requests (the API's ``TransferRequestOut`` as dicts).
    units : sequence of {key, name}
        Units offered as the new owner (and used to name units in the history).
    forms : IssuePageForms
        The progress-note and transfer forms to show.
    actions : ActionContext, optional
        The viewer, for the action forms (:func:`civgrid.maps.issue_actions.render_actions`).
    nav : Html
        The navigation bar (:func:`civgrid.maps.nav.nav_html`).
    clock : PageClock, optional
        Now and the county calendar, for the deadline countdown.
    notices : sequence of mapping
        Supervision notices ``{id, number, issued_at, deadline}``.
    visits : sequence of mapping
        Linked patrol visits ``{id, day, team}``.
    deliveries : sequence of mapping
        Notifications about the issue ``{recipient, channel, status, attempts}``
        (:func:`civgrid.maps.notify_page.deliveries_html`).
    documents : sequence of mapping
        Official documents ``{id, title, number, version, issued_at}`` (every version).
    """
    title = f"问题 #{detail['id']} {(detail.get('category') or {}).get('name') or ''}".strip()
    names = {u["key"]: u["name"] for u in units}
    return render(
        "issue.html",
        title=title,
        nav=Html(nav),
        summary=_summary(detail, clock),
        places=_places(detail),
        map=_map(detail),
        photos=_photos(detail),
        routing=_routing(detail),
        actions=render_actions(actions) if actions is not None else Html(""),
        history_title="处理记录",
        history=_history(detail, names),
        notices=_notices(notices),
        documents=_documents(documents),
        visits=_visits(visits),
        deliveries_title=zh.NOTIFY_LABELS["deliveries"],
        deliveries=deliveries_html(deliveries),
        transfers_title=zh.ISSUE_ACTION_LABELS["transfer_request"],
        transfers=_transfers(transfers, units, forms.decide),
        forms=_forms(int(detail["id"]), units, forms),
    )
