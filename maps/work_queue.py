"""The to-do queues (待办, ``/queue``): one table of views, one page.

Each :class:`QueueView` names its issues by the issue API's list parameters
(``GET /api/v1/issues``), so the page's query and the export of the current view
(``/api/v1/lists/issue_list.xlsx`` with the same parameters) always agree. The views a
role gets are the rows listing it; the caller's scope applies on top.

>>> env = QueueEnv(now=datetime(2026, 12, 7, 2, 0, tzinfo=UTC), unit="D04")
>>> [v.key for v in views_for("unit_handler")][:3]
['to_accept', 'rectifying', 'returned']
>>> VIEW_BY_KEY["to_accept"].params(env)
{'state': ['assigned'], 'unit': 'D04', 'owner_only': True}
>>> VIEW_BY_KEY["due_soon"].params(env)["deadline_before"]
'2026-12-08T02:00:00+00:00'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from civgrid.grids.core import labels as zh
from civgrid.grids.core.calendar import WorkingCalendar
from civgrid.grids.core.labels import SOURCE_LABELS
from civgrid.grids.issues.workflow import DEFAULT_LABELS
from civgrid.maps.countdown import DUE_SOON_HOURS, countdown
from civgrid.maps.render import Html, esc, render

__all__ = [
    "PAGE_SIZE",
    "QUEUE_VIEWS",
    "VIEW_BY_KEY",
    "QueueEnv",
    "QueuePage",
    "QueueView",
    "queue_page_html",
    "views_for",
]

PAGE_SIZE = 20
CURRENT = ' class="cg-current"'
_CC = frozenset({"admin", "dispatcher"})
_ALL = frozenset(
    {"admin", "dispatcher", "inspector", "unit_handler", "grid_worker", "leader", "viewer"}
)
_ON_CLOCK = ["assigned", "rectifying", "returned"]


@dataclass(frozen=True)
class QueueEnv:
    """What a view's parameters depend on: now (aware) and the caller's unit."""

    now: datetime
    unit: str | None = None


@dataclass(frozen=True)
class QueueView:
    """One queue: key, Chinese label, the roles that get it, its list parameters."""

    key: str
    label: str
    roles: frozenset[str]
    params: Callable[[QueueEnv], dict[str, Any]]


def _mine(state: str) -> Callable[[QueueEnv], dict[str, Any]]:
    return lambda e: {"state": [state], "unit": e.unit, "owner_only": True}


def _due_soon(e: QueueEnv) -> dict[str, Any]:
    until = (e.now + timedelta(hours=DUE_SOON_HOURS)).astimezone(UTC).isoformat()
    out: dict[str, Any] = {"state": list(_ON_CLOCK), "overdue": False, "deadline_before": until}
    if e.unit:
        out.update(unit=e.unit, owner_only=True)
    return out


def _with_unit(base: dict[str, Any]) -> Callable[[QueueEnv], dict[str, Any]]:
    return lambda e: {**base, **({"unit": e.unit, "owner_only": True} if e.unit else {})}


#: Column headers of the queue table that are labels: the owner unit (主办单位) and the
#: time of the report event (上报).
_OWNER = zh.PARTY_ROLE_LABELS["owner"]
_REPORTED = zh.ISSUE_ACTION_LABELS["report"]

#: The queues, in tab order.
QUEUE_VIEWS: tuple[QueueView, ...] = (
    QueueView("to_accept", "待签收", frozenset({"unit_handler"}), _mine("assigned")),
    QueueView(
        "rectifying", DEFAULT_LABELS["rectifying"], frozenset({"unit_handler"}), _mine("rectifying")
    ),
    QueueView(
        "returned", DEFAULT_LABELS["returned"], frozenset({"unit_handler"}), _mine("returned")
    ),
    QueueView("triage", DEFAULT_LABELS["triage"], _CC, lambda e: {"state": ["triage"]}),
    QueueView("to_dispatch", "待交办", _CC, lambda e: {"state": ["triage"], "proposed": True}),
    QueueView("due_soon", "临期", _CC | {"unit_handler"}, _due_soon),
    QueueView(
        "overdue",
        zh.ISSUE_ACTION_LABELS["overdue"],
        _ALL,
        _with_unit({"kind": ["open"], "overdue": True}),
    ),
    QueueView(
        "supervised",
        zh.ISSUE_ACTION_LABELS["supervise"],
        _ALL,
        _with_unit({"kind": ["open"], "supervised": True}),
    ),
    QueueView(
        "submitted",
        DEFAULT_LABELS["submitted"],
        _CC | {"inspector"},
        lambda e: {"state": ["submitted"]},
    ),
    QueueView(
        "extensions",
        zh.ISSUE_ACTION_LABELS["extension_request"],
        _CC,
        lambda e: {"extension_pending": True},
    ),
    QueueView("open", "全部在办", _ALL, lambda e: {"kind": ["open"]}),
    QueueView("all", "全部", _ALL, lambda e: {}),
)
VIEW_BY_KEY: dict[str, QueueView] = {v.key: v for v in QUEUE_VIEWS}


def views_for(role: str) -> list[QueueView]:
    """The queues ``role`` gets, in tab order (its first is its default)."""
    return [v for v in QUEUE_VIEWS if role in v.roles]


#: Sortable columns: column → (ascending order, descending order) of the list API.
SORTS: dict[str, tuple[str, str]] = {
    "id": ("id", "-id"),
    "reported_at": ("reported_at", "-reported_at"),
    "deadline": ("deadline", "-deadline"),
    "updated_at": ("updated_at", "-updated_at"),
}
#: The filters of the form (query names of the page, passed on to the list API).
FILTERS = ("state", "category", "source", "area", "unit", "reported_from", "reported_to", "q")


@dataclass(frozen=True)
class QueuePage:
    """One page of a queue, ready to draw.

    Attributes
    ----------
    view : QueueView
    views : sequence of (QueueView, count)
        The role's tabs with their totals.
    items : sequence of mapping
        Issues as :func:`civgrid.grids.issues.describe.describe` gives them.
    total : int
    offset : int
    order : str
    filters : mapping
        The filter values as the user gave them (strings).
    api_params : mapping
        The list API's parameters of the current view and filters (for the export).
    options : mapping
        ``state``, ``category``, ``source``, ``area``, ``unit`` → [(value, label)].
    unit_fixed : bool
        The unit filter is the caller's own (a unit handler).
    """

    view: QueueView
    views: Sequence[tuple[QueueView, int]]
    items: Sequence[Mapping[str, Any]]
    total: int
    offset: int
    order: str
    filters: Mapping[str, str]
    api_params: Mapping[str, Any]
    options: Mapping[str, Sequence[tuple[str, str]]]
    unit_fixed: bool = False


def _qs(params: Mapping[str, Any]) -> str:
    def text(v: Any) -> Any:
        if isinstance(v, bool):
            return "true" if v else "false"
        return [text(x) for x in v] if isinstance(v, list) else v

    return urlencode(
        [(k, text(v)) for k, v in params.items() if v is not None and v != "" and v != []],
        doseq=True,
    )


def _link(p: QueuePage, **change: Any) -> str:
    base = {"view": p.view.key, **p.filters, "order": p.order, "offset": p.offset}
    base.update(change)
    return "/queue?" + _qs({k: v for k, v in base.items() if v not in (None, "", 0)})


def _select(name: str, label: str, options: Sequence[tuple[str, str]], chosen: str) -> str:
    opts = "".join(
        f'<option value="{esc(v)}"{" selected" if v == chosen else ""}>{esc(t)}</option>'
        for v, t in options
    )
    return (
        f'<label>{esc(label)}<select name="{name}" id="cg-f-{name}">'
        f'<option value="">全部</option>{opts}</select></label>'
    )


def _filters_form(p: QueuePage) -> Html:
    f = p.filters
    parts = [
        f'<input type="hidden" name="view" value="{esc(p.view.key)}">',
        f'<input type="hidden" name="order" value="{esc(p.order)}">',
        f'<label>搜索<input type="search" name="q" id="cg-f-q" value="{esc(f.get("q", ""))}" '
        'placeholder="问题编号、地址或描述"></label>',
        _select("state", "状态", p.options.get("state", ()), f.get("state", "")),
        _select("category", "类别", p.options.get("category", ()), f.get("category", "")),
        _select("source", "来源", p.options.get("source", ()), f.get("source", "")),
        _select("area", "区域", p.options.get("area", ()), f.get("area", "")),
    ]
    if not p.unit_fixed:
        parts.append(
            _select(
                "unit", zh.ROLE_LABELS["responsible"], p.options.get("unit", ()), f.get("unit", "")
            )
        )
    parts += [
        f'<label>上报日期自<input type="date" name="reported_from" '
        f'value="{esc(f.get("reported_from", ""))}"></label>',
        f'<label>至<input type="date" name="reported_to" '
        f'value="{esc(f.get("reported_to", ""))}"></label>',
        '<button type="submit" id="cg-filter" data-perm="issue.read">筛选</button>',
    ]
    return Html(
        f'<form method="get" action="/queue" class="cg-filters" id="cg-queue-filters" '
        f'data-perm="issue.read">{"".join(parts)}</form>'
    )


def _sort_head(p: QueuePage, column: str, label: str) -> str:
    asc, desc = SORTS[column]
    if p.order == asc:
        nxt, mark = desc, " ▲"
    elif p.order == desc:
        nxt, mark = asc, " ▼"
    else:
        nxt, mark = asc, ""
    href = esc(_link(p, order=nxt, offset=0))
    return f'<th><a href="{href}" data-sort="{column}">{esc(label)}{mark}</a></th>'


def _when(value: Any, cal: WorkingCalendar) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return cal.local(value).strftime("%m-%d %H:%M")


def _rows(p: QueuePage, now: datetime, cal: WorkingCalendar) -> str:
    rows = []
    for d in p.items:
        dl = d.get("deadline")
        if isinstance(dl, str):
            dl = datetime.fromisoformat(dl)
        cd = countdown(dl if d.get("kind", "open") == "open" else None, now, cal)
        text = " ".join(x for x in (d.get("address"), d.get("description")) if x) or "—"
        rows.append(
            f'<tr id="cg-row-{int(d["id"])}">'
            f'<td data-label="编号"><a href="/issues/{int(d["id"])}">#{int(d["id"])}</a></td>'
            f'<td data-label="类别">{esc((d.get("category") or {}).get("name"))}</td>'
            f'<td data-label="状态">{esc(d.get("state_label"))}</td>'
            f'<td data-label="地址与描述">{esc(text[:80])}</td>'
            f'<td data-label="{_OWNER}">{esc((d.get("owner_unit") or {}).get("name") or "—")}</td>'
            f'<td data-label="{_REPORTED}">{esc(_when(d.get("reported_at"), cal))}</td>'
            f'<td data-label="时限">{esc(_when(dl, cal))}</td>'
            f'<td data-label="剩余"><span class="{cd.css}">{esc(cd.text)}</span></td></tr>'
        )
    return "".join(rows)


def queue_page_html(
    p: QueuePage, *, nav: Html | str, now: datetime, calendar: WorkingCalendar
) -> str:
    """The queue page (Chinese): tabs with counts, filters, the sortable table, paging,
    the export of the current view."""
    tabs = "".join(
        f'<a href="/queue?view={esc(v.key)}" id="cg-tab-{esc(v.key)}"'
        f"{CURRENT if v.key == p.view.key else ''}>"
        f"{esc(v.label)} <b>{n}</b></a>"
        for v, n in p.views
    )
    head = (
        "<tr>"
        + _sort_head(p, "id", "编号")
        + f"<th>类别</th><th>状态</th><th>地址与描述</th><th>{_OWNER}</th>"
        + _sort_head(p, "reported_at", _REPORTED)
        + _sort_head(p, "deadline", "时限")
        + "<th>剩余</th></tr>"
    )
    body = _rows(p, now, calendar)
    table = (
        f'<div class="cg-table-wrap"><table class="cg-queue" id="cg-queue"><thead>{head}</thead>'
        f"<tbody>{body}</tbody></table></div>"
        if body
        else '<p id="cg-queue-empty" class="muted">没有符合条件的问题。</p>'
    )
    last = p.offset + len(p.items)
    pager = [
        f'<span id="cg-count">共 {p.total} 条，第 {p.offset + 1 if p.total else 0}–{last} 条</span>'
    ]
    if p.offset > 0:
        prev = _link(p, offset=max(p.offset - PAGE_SIZE, 0))
        pager.append(f'<a href="{esc(prev)}" id="cg-prev">上一页</a>')
    if last < p.total:
        pager.append(f'<a href="{esc(_link(p, offset=last))}" id="cg-next">下一页</a>')
    export = "/api/v1/lists/issue_list.xlsx?" + _qs(p.api_params)
    pager.append(
        f'<a href="{esc(export)}" id="cg-export" data-perm="lists.export">导出当前视图（Excel）</a>'
    )
    return render(
        "queue.html",
        title=f"待办 · {p.view.label}",
        nav=Html(nav),
        tabs=Html(tabs),
        filters=_filters_form(p),
        table=Html(table),
        pager=Html(" ".join(pager)),
    )


def source_options() -> list[tuple[str, str]]:
    """The sources as (code, Chinese label)."""
    return list(SOURCE_LABELS.items())
