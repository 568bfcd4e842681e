"""The three lists every office keeps: 问题清单, 责任清单, 整改清单.

* **问题清单** (``issue_list``): every issue — when, where, what, source, who owns it,
  state, deadline, overdue, recurrence.
* **责任清单** (``responsibility_list``): who answers for which area, road section
  and key site (the assignments of the grids model, via
  :func:`civgrid.grids.boundaries.export.responsibility_rows`), with the number of open
  issues each holder answers for now.
* **整改清单** (``rectification_list``): every dispatched issue — owner unit,
  leaders, deadline, measures (整改措施), state, re-inspection result, returns,
  extensions, 督办 notices.

Each list is available as rows (Chinese headers), as an ``.xlsx`` sheet
(openpyxl), as CSV (UTF-8 with BOM so Excel opens it correctly) and as GeoJSON
(WGS84). Times are in the city's local time zone.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.geo import convert
from civgrid.grids.core import labels as zh
from civgrid.grids.core.errors import InvalidInputError
from civgrid.grids.core.spreadsheet import csv_cell, values_only
from civgrid.grids.issues.config import IssueConfig
from civgrid.grids.issues.models import Issue, IssueParty
from civgrid.grids.issues.queries import IssueQuery, list_issues
from civgrid.grids.issues.workflow import KIND, Kind, State, Workflow, open_states

__all__ = [
    "ISSUE_LIST_COLUMNS",
    "LIST_NAMES",
    "RECTIFICATION_LIST_COLUMNS",
    "RESPONSIBILITY_LIST_COLUMNS",
    "ListTable",
    "build_list",
    "issues_geojson",
    "list_csv",
    "list_geojson",
    "write_lists_xlsx",
]

#: The three lists: code name → Chinese title.
LIST_NAMES = zh.LIST_LABELS

ISSUE_LIST_COLUMNS: list[tuple[str, str]] = [
    ("seq", "序号"),
    ("id", "问题编号"),
    ("reported_at", "发现时间"),
    ("source", "问题来源"),
    ("category", "问题类别"),
    ("description", "问题描述"),
    ("township", zh.LAYER_LABELS["township"]),
    ("community", "社区(村)"),
    ("unit_grid", zh.LAYER_LABELS["unit_grid"]),
    ("road_section", zh.LAYER_LABELS["road_section"]),
    ("key_sites", zh.LAYER_LABELS["key_site"]),
    ("address", "详细地址"),
    ("lon", "经度"),
    ("lat", "纬度"),
    ("owner_unit", zh.PARTY_ROLE_LABELS["owner"]),
    ("co_units", zh.PARTY_ROLE_LABELS["co_responsible"]),
    ("leaders", "责任领导"),
    ("state", "办理状态"),
    ("deadline", "整改时限"),
    ("overdue", "是否超期"),
    ("recurrence", "是否反弹回潮"),
    ("repeat_count", "反弹次数"),
    ("duplicate_count", "重复上报"),
]

RECTIFICATION_LIST_COLUMNS: list[tuple[str, str]] = [
    ("seq", "序号"),
    ("id", "问题编号"),
    ("category", "问题类别"),
    ("place", "问题位置"),
    ("owner_unit", zh.PARTY_ROLE_LABELS["owner"]),
    ("leaders", "责任领导"),
    ("assigned_at", "交办时间"),
    ("deadline", "整改时限"),
    ("measures", "整改措施"),
    ("state", "整改状态"),
    ("submitted_at", "整改上报时间"),
    ("reinspection", "复查结果"),
    ("reinspection_note", "复查意见"),
    ("return_count", "退回(返工)次数"),
    ("extension_count", "延期次数"),
    ("notice_count", "督办次数"),
    ("overdue", "是否超期"),
    ("escalated", "是否升级督办"),
    ("closed_at", "结案时间"),
    ("on_time", zh.SCORE_LINE_LABELS["on_time_closure"]),
]

RESPONSIBILITY_LIST_COLUMNS: list[tuple[str, str]] = [
    ("seq", "序号"),
    ("layer", "图层"),
    ("object_code", "编码"),
    ("object_name", "名称"),
    ("parent_name", "上级区域"),
    ("role", "职责"),
    ("subject_kind", "主体类型"),
    ("subject_key", "主体编号"),
    ("subject_label", "单位名称/领导职务"),
    ("person_title", "责任人（职务）"),
    ("category", "问题类别"),
    ("valid_from", "起始日期"),
    ("open_issues", "在办问题数"),
]

_YES_NO = {True: "是", False: "否"}


@dataclass
class ListTable:
    """One list: its name, title, columns (key, Chinese header), rows (dicts) and geometries."""

    name: str
    title: str
    columns: list[tuple[str, str]]
    rows: list[dict[str, Any]]
    geometries: list[Any]

    @property
    def headers(self) -> list[str]:
        """The Chinese column headers."""
        return [h for _, h in self.columns]

    def values(self) -> list[list[Any]]:
        """Rows as lists in column order."""
        return [[r.get(k) for k, _ in self.columns] for r in self.rows]


def _fmt(cfg: IssueConfig, t: datetime | None) -> str | None:
    return cfg.calendar.local(t).strftime("%Y-%m-%d %H:%M") if t else None


def _area(issue: Issue, name: str) -> str | None:
    a = (issue.routing or {}).get(name)
    return a["name"] if a else None


def _leaders(issue: Issue) -> str:
    return "；".join(
        f"{p.leader.title}({p.leader.key}·{zh.ROLE_LABELS.get(p.role, p.role)})"
        for p in issue.parties
        if p.leader is not None
    )


def _source(code: str) -> str:
    return zh.SOURCE_LABELS.get(code, code)


def _point(issue: Issue) -> Any:
    import shapely

    return shapely.Point(issue.lon, issue.lat) if issue.lon is not None else None


def issue_list_rows(issues: Sequence[Issue], cfg: IssueConfig) -> list[dict[str, Any]]:
    """Rows of the 问题清单."""
    wf = cfg.workflow
    out = []
    for n, i in enumerate(issues, 1):
        road = (i.routing or {}).get("road_section")
        sites = (i.routing or {}).get("key_sites") or []
        out.append(
            {
                "seq": n,
                "id": i.id,
                "reported_at": _fmt(cfg, i.reported_at),
                "source": _source(i.source),
                "category": i.category.name if i.category is not None else i.category_code,
                "description": i.description,
                "township": _area(i, "township"),
                "community": _area(i, "community"),
                "unit_grid": _area(i, "unit_grid"),
                "road_section": road["name"] if road else None,
                "key_sites": "、".join(s["name"] for s in sites) or None,
                "address": i.address,
                "lon": round(i.lon, 7) if i.lon is not None else None,
                "lat": round(i.lat, 7) if i.lat is not None else None,
                "owner_unit": i.owner_unit.name if i.owner_unit is not None else None,
                "co_units": "、".join(
                    p.unit.name for p in i.parties if p.role == "co_responsible" and p.unit
                )
                or None,
                "leaders": _leaders(i) or None,
                "state": wf.label(i.state),
                "deadline": _fmt(cfg, i.deadline),
                "overdue": _YES_NO[bool(i.overdue_at)],
                "recurrence": _YES_NO[i.recurrence_of_id is not None],
                "repeat_count": i.repeat_count,
                "duplicate_count": i.duplicate_count,
            }
        )
    return out


def rectification_list_rows(issues: Sequence[Issue], cfg: IssueConfig) -> list[dict[str, Any]]:
    """Rows of the 整改清单 (dispatched issues only)."""
    wf = cfg.workflow
    out = []
    dispatched = [i for i in issues if i.assigned_at is not None and i.state != State.merged]
    for n, i in enumerate(dispatched, 1):
        place = (
            " / ".join(
                x for x in (_area(i, "township"), _area(i, "community"), _area(i, "unit_grid")) if x
            )
            or i.address
        )
        closed_fixed = KIND[str(i.state)] is Kind.closed_fixed
        out.append(
            {
                "seq": n,
                "id": i.id,
                "category": i.category.name if i.category is not None else i.category_code,
                "place": place,
                "owner_unit": i.owner_unit.name if i.owner_unit else None,
                "leaders": _leaders(i) or None,
                "assigned_at": _fmt(cfg, i.assigned_at),
                "deadline": _fmt(cfg, i.deadline),
                "measures": i.measures,
                "state": wf.label(i.state),
                "submitted_at": _fmt(cfg, i.submitted_at),
                "reinspection": {"passed": "通过", "failed": "未通过"}.get(
                    i.reinspection_result or "",
                    wf.label(State.submitted) if i.state == State.submitted else None,
                ),
                "reinspection_note": i.reinspection_note,
                "return_count": i.return_count,
                "extension_count": i.extension_count,
                "notice_count": i.notice_count,
                "overdue": _YES_NO[bool(i.overdue_at)],
                "escalated": _YES_NO[bool(i.escalated_at)],
                "closed_at": _fmt(cfg, i.closed_at),
                "on_time": (
                    _YES_NO[i.deadline is None or i.closed_at <= i.deadline]
                    if closed_fixed and i.closed_at
                    else None
                ),
            }
        )
    return out


def responsibility_list_rows(
    session: Session,
    store: Any,
    cfg: IssueConfig,
    at: date | None = None,
    issue_conditions: Sequence[Any] = (),
) -> tuple[list[dict[str, Any]], list[Any]]:
    """Rows of the 责任清单 and the geometry of each row's object (current generation).

    ``issue_conditions`` (the caller's scope, SQL) restrict the open-issue counts: the
    assignments are the published responsibility list, the counts are issues.
    """
    from civgrid.grids.boundaries.export import responsibility_rows

    day = at or cfg.calendar.local(cfg.now()).date()
    rows = responsibility_rows(store, at=day, session=session)
    counts: Counter[tuple[str, str]] = Counter()
    # the scope's conditions are on issues (they correlate issue parties themselves)
    open_ids = select(Issue.id).where(Issue.state.in_(open_states()), *issue_conditions)
    for p in session.scalars(
        select(IssueParty).where(
            IssueParty.issue_id.in_(open_ids),
            IssueParty.role.in_(["owner", "contract", "contact", "road_chief"]),
        )
    ):
        counts[("unit" if p.unit_id else "leader", p.key)] += 1
    geoms: dict[tuple[str, str], Any] = {}
    for a in store.areas(session=session):
        geoms.setdefault((a.layer.value, a.code), a.geom)
    for r in store.road_sections(session=session):
        geoms[("road_section", r.code)] = r.geom
    for k in store.key_sites(session=session):
        geoms[("key_site", k.code)] = k.geom
    out, gs = [], []
    for n, r in enumerate(rows, 1):
        out.append(
            {
                "seq": n,
                "layer": zh.LAYER_LABELS[str(r.layer)],
                "object_code": r.object_code,
                "object_name": r.object_name,
                "parent_name": r.parent_name,
                "role": zh.ROLE_LABELS[str(r.role)],
                "subject_kind": "领导" if r.subject_kind == "leader" else "单位",
                "subject_key": r.subject_key,
                "subject_label": r.subject_label,
                "person_title": r.person_title,
                "category": r.category_name or r.category_code or "全部",
                "valid_from": r.valid_from.isoformat(),
                "open_issues": counts.get((r.subject_kind, r.subject_key), 0),
            }
        )
        gs.append(geoms.get((r.layer, r.object_code)))
    return out, gs


def build_list(
    name: str,
    session: Session,
    store: Any,
    *,
    query: IssueQuery | None = None,
    config: IssueConfig | None = None,
    at: date | None = None,
) -> ListTable:
    """One of the three lists.

    Parameters
    ----------
    name : str
        ``issue_list``, ``responsibility_list`` or ``rectification_list``.
    session : Session
    store : Store
    query : IssueQuery, optional
        Which issues (default: all, oldest first); ``limit`` is raised to cover them.
    config : IssueConfig, optional
    at : date, optional
        Responsibility list: assignments valid on that day.

    Raises
    ------
    InvalidInputError
        Unknown list name.
    """
    cfg = config or IssueConfig()
    if name not in LIST_NAMES:
        raise InvalidInputError(
            f"unknown list {name!r}; lists are {', '.join(LIST_NAMES)}", field="list"
        )
    if name == "responsibility_list":
        scope = query.scope if query is not None else None
        conditions = scope.issue_conditions() if scope is not None else ()
        rows, geoms = responsibility_list_rows(session, store, cfg, at, conditions)
        return ListTable(name, LIST_NAMES[name], RESPONSIBILITY_LIST_COLUMNS, rows, geoms)
    issues = _all_issues(session, query)
    if name == "issue_list":
        return ListTable(
            name,
            LIST_NAMES[name],
            ISSUE_LIST_COLUMNS,
            issue_list_rows(issues, cfg),
            [_point(i) for i in issues],
        )
    rows = rectification_list_rows(issues, cfg)
    by_id = {i.id: i for i in issues}
    return ListTable(
        name,
        LIST_NAMES[name],
        RECTIFICATION_LIST_COLUMNS,
        rows,
        [_point(by_id[r["id"]]) for r in rows],
    )


def _all_issues(session: Session, query: IssueQuery | None) -> list[Issue]:
    """Every issue matching ``query`` (all pages), oldest first unless ordered."""
    q = (
        replace(query, offset=0, limit=1000)
        if query is not None
        else IssueQuery(order="id", limit=1000)
    )
    out: list[Issue] = []
    while True:
        page = list_issues(session, q)
        out += page.items
        if len(page.items) < q.limit:
            return out
        q = replace(q, offset=q.offset + q.limit)


# ----------------------------------------------------------------------------- writers


def write_lists_xlsx(
    target: str | Path | IO[bytes],
    tables: Sequence[ListTable],
    *,
    county: str = "",
) -> None:
    """Write lists as sheets of one workbook (header in row 1, frozen, filterable).

    Parameters
    ----------
    target : path or binary file
    tables : sequence of ListTable
    county : str
        Shown in the document properties.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    for t in tables:
        ws = wb.create_sheet(t.title)
        ws.append(t.headers)
        for row in t.values():
            ws.append(row)
        bold, fill = Font(bold=True), PatternFill("solid", fgColor="F2DCDB")
        for cell in ws[1]:
            cell.font, cell.fill = bold, fill
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.freeze_panes = "A2"
        if t.rows:
            ws.auto_filter.ref = ws.dimensions
        for idx, (key, header) in enumerate(t.columns, 1):
            width = max(
                [len(header) * 2 + 2]
                + [min(len(str(r.get(key) or "")), 40) * 1.6 for r in t.rows[:200]]
            )
            ws.column_dimensions[get_column_letter(idx)].width = min(max(width, 6), 60)
    wb.properties.title = "、".join(t.title for t in tables)
    wb.properties.creator = f"civgrid {county}".strip()
    if isinstance(target, str | Path):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    values_only(wb).save(target)  # reporters' text never runs as a formula


def list_csv(table: ListTable) -> str:
    """The list as CSV text with Chinese headers, starting with a BOM (Excel-friendly)."""
    buf = io.StringIO()
    buf.write("\ufeff")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(table.headers)
    for row in table.values():
        w.writerow(["" if v is None else csv_cell(v) for v in row])
    return buf.getvalue()


def list_geojson(table: ListTable) -> dict[str, Any]:
    """The list as a GeoJSON FeatureCollection (properties keyed by the Chinese headers)."""
    feats = []
    for row, geom in zip(table.rows, table.geometries, strict=True):
        props = {h: row.get(k) for k, h in table.columns}
        feats.append(convert.feature(geom, props, id=row.get("id") or row.get("seq")))
    return convert.feature_collection(feats, name=table.title)


def issues_geojson(issues: Sequence[Issue], workflow: Workflow | None = None) -> dict[str, Any]:
    """Issues as a GeoJSON FeatureCollection of points (WGS84) with code-named properties."""
    wf = workflow or Workflow()
    feats = []
    for i in issues:
        props = {
            "id": i.id,
            "state": str(i.state),
            "state_label": wf.label(i.state),
            "kind": wf.kind(i.state).value,
            "category": i.category_code,
            "category_name": i.category.name if i.category is not None else None,
            "source": i.source,
            "reported_at": i.reported_at.isoformat(),
            "deadline": i.deadline.isoformat() if i.deadline else None,
            "owner_unit": i.owner_unit.key if i.owner_unit is not None else None,
            "township": i.township_code,
            "community": i.community_code,
            "unit_grid": i.unit_grid_code,
            "overdue": i.overdue,
            "escalated": i.escalated,
            "recurrence_of": i.recurrence_of_id,
            "repeat_count": i.repeat_count,
        }
        feats.append(convert.feature(_point(i), props, id=i.id))
    return convert.feature_collection(feats)
