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
import itertools
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.geo import convert
from civgrid.grids.core import labels as zh
from civgrid.grids.core.errors import InvalidInputError
from civgrid.grids.core.spreadsheet import csv_cell
from civgrid.grids.issues.config import IssueConfig
from civgrid.grids.issues.models import Issue, PartySetMember
from civgrid.grids.issues.queries import IssueQuery, issue_conditions, list_issues
from civgrid.grids.issues.workflow import KIND, Kind, State, Workflow, open_states

__all__ = [
    "ISSUE_LIST_COLUMNS",
    "LIST_NAMES",
    "RECTIFICATION_LIST_COLUMNS",
    "RESPONSIBILITY_LIST_COLUMNS",
    "ListStream",
    "ListTable",
    "build_list",
    "issues_geojson",
    "iter_csv",
    "list_csv",
    "list_geojson",
    "stream_list",
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


@dataclass
class ListStream:
    """One list whose rows are produced while they are written (:func:`stream_list`).

    The rows are an iterator: a page of issues is read, turned into rows and let go
    before the next page, so an export of any size holds one page in memory.
    """

    name: str
    title: str
    columns: list[tuple[str, str]]
    rows: Iterable[dict[str, Any]]

    @property
    def headers(self) -> list[str]:
        """The Chinese column headers."""
        return [h for _, h in self.columns]


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
    # open issues per party set (the scope's conditions are on issues), then the sets'
    # members: a few thousand sets, not a row per issue and party
    per_set = (
        select(Issue.party_set_id.label("set_id"), func.count().label("n"))
        .where(Issue.state.in_(open_states()), *issue_conditions)
        .group_by(Issue.party_set_id)
        .subquery()
    )
    for p, n in session.execute(
        select(PartySetMember, per_set.c.n)
        .join(per_set, per_set.c.set_id == PartySetMember.set_id)
        .where(PartySetMember.role.in_(["owner", "contract", "contact", "road_chief"]))
    ):
        counts[("unit" if p.unit_id else "leader", p.key)] += n
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


_COLUMNS = {
    "issue_list": ISSUE_LIST_COLUMNS,
    "responsibility_list": RESPONSIBILITY_LIST_COLUMNS,
    "rectification_list": RECTIFICATION_LIST_COLUMNS,
}


def stream_list(
    name: str,
    session: Session,
    store: Any,
    *,
    query: IssueQuery | None = None,
    config: IssueConfig | None = None,
    at: date | None = None,
    page_size: int = 1000,
) -> ListStream:
    """One of the three lists with its rows produced page by page (for exports).

    The same rows as :func:`build_list` (numbered across pages). The filters are
    checked here, before any row is read, so a bad filter fails before an export
    starts. The issues of each page are detached from ``session`` once their rows
    are made (do not share the session with objects still in use).

    Raises
    ------
    InvalidInputError
        Unknown list name or a bad filter.
    """
    cfg = config or IssueConfig()
    if name not in LIST_NAMES:
        raise InvalidInputError(
            f"unknown list {name!r}; lists are {', '.join(LIST_NAMES)}", field="list"
        )
    if name == "responsibility_list":
        table = build_list(name, session, store, query=query, config=cfg, at=at)
        return ListStream(name, table.title, table.columns, table.rows)
    if query is not None:
        issue_conditions(session, query)  # raises on a bad filter, before streaming
    to_rows = issue_list_rows if name == "issue_list" else rectification_list_rows

    def rows() -> Iterator[dict[str, Any]]:
        seq = itertools.count(1)
        for issues in _issue_pages(session, query, page_size):
            for row in to_rows(issues, cfg):
                row["seq"] = next(seq)
                yield row
            session.expunge_all()  # this page's issues are written: let them go

    return ListStream(name, LIST_NAMES[name], _COLUMNS[name], rows())


def _issue_pages(
    session: Session, query: IssueQuery | None, page_size: int
) -> Iterator[list[Issue]]:
    """Every issue matching ``query``, a page at a time, oldest first unless ordered."""
    q = (
        replace(query, offset=0, limit=page_size)
        if query is not None
        else IssueQuery(order="id", limit=page_size)
    )
    while True:
        page = list_issues(session, q)
        if page.items:
            yield page.items
        if len(page.items) < q.limit:
            return
        q = replace(q, offset=q.offset + q.limit)


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
    tables: Sequence[ListTable | ListStream],
    *,
    county: str = "",
) -> None:
    """Write lists as sheets of one workbook (header in row 1, frozen, filterable).

    The workbook is written in openpyxl's write-only mode: each row goes to the
    sheet as it comes (a :class:`ListStream` is never held whole), the column
    widths are taken from the first 200 rows. Every cell is a value: a text that
    openpyxl would store as a formula (it starts with ``=``) is stored as text,
    unchanged (reporters' text never runs, see :mod:`civgrid.grids.core.spreadsheet`).

    Parameters
    ----------
    target : path or binary file
    tables : sequence of ListTable or ListStream
    county : str
        Shown in the document properties.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="F2DCDB")
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for t in tables:
        ws = wb.create_sheet(t.title)
        rows = iter(t.rows)
        first = list(itertools.islice(rows, 200))
        for idx, (key, header) in enumerate(t.columns, 1):
            width = max(
                [len(header) * 2 + 2] + [min(len(str(r.get(key) or "")), 40) * 1.6 for r in first]
            )
            ws.column_dimensions[get_column_letter(idx)].width = min(max(width, 6), 60)
        ws.freeze_panes = "A2"
        head = []
        for header in t.headers:
            cell = WriteOnlyCell(ws, value=header)
            cell.font, cell.fill, cell.alignment = bold, fill, centre
            head.append(cell)
        ws.append(head)
        keys = [k for k, _ in t.columns]
        n = 0
        for row in itertools.chain(first, rows):
            ws.append([_xlsx_cell(ws, WriteOnlyCell, row.get(k)) for k in keys])
            n += 1
        if n:
            ws.auto_filter.ref = f"A1:{get_column_letter(len(keys))}{n + 1}"
    wb.properties.title = "、".join(t.title for t in tables)
    wb.properties.creator = f"civgrid {county}".strip()
    if isinstance(target, str | Path):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    wb.save(target)


def _xlsx_cell(ws: Any, cell_type: Any, value: Any) -> Any:
    """A value for a write-only sheet; a text openpyxl would take as a formula stays text."""
    if isinstance(value, str) and value.startswith("="):
        cell = cell_type(ws, value=value)
        cell.data_type = "s"
        return cell
    return value


def list_csv(table: ListTable) -> str:
    """The list as CSV text with Chinese headers, starting with a BOM (Excel-friendly)."""
    buf = io.StringIO()
    buf.write("\ufeff")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(table.headers)
    for row in table.values():
        w.writerow(["" if v is None else csv_cell(v) for v in row])
    return buf.getvalue()


def iter_csv(table: ListTable | ListStream, rows_per_chunk: int = 500) -> Iterator[bytes]:
    """The list as CSV (as :func:`list_csv`), UTF-8 bytes a few hundred rows at a time."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    buf.write("\ufeff")
    w.writerow(table.headers)
    keys = [k for k, _ in table.columns]
    for n, row in enumerate(table.rows, 1):
        w.writerow(["" if (v := row.get(k)) is None else csv_cell(v) for k in keys])
        if n % rows_per_chunk == 0:
            yield buf.getvalue().encode("utf-8")
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode("utf-8")


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
