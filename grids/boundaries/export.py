"""The responsibility list (责任清单) as an Excel workbook.

Who answers for which township, community, unit grid, road section and key
site on a given day, from the assignments and the current boundary generation.

Sheets: 责任清单 (every assignment, one row each, with the responsible person by
title), 乡镇联系领导, 社区分包联建, 路段路长, 重点点位, 部门职责 (category-wide duties),
责任空白 (places without a responsible unit or person title — the same report as
``civgrid check responsibility``, :mod:`civgrid.grids.boundaries.responsibility`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from civgrid.grids.boundaries.models import (
    LEVEL_TYPES,
    Area,
    Assignment,
    Category,
    KeySite,
    Layer,
    RoadSection,
    Role,
    Shop,
    SubjectKind,
)
from civgrid.grids.boundaries.responsibility import responsibility_gaps
from civgrid.grids.boundaries.store import GenerationRef, Store, valid_in
from civgrid.grids.core import labels as zh
from civgrid.grids.core.spreadsheet import values_only

__all__ = [
    "GAPS_SHEET",
    "LAYER_LABELS",
    "ROLE_LABELS",
    "ResponsibilityRow",
    "responsibility_rows",
    "write_responsibility_xlsx",
]

#: UI labels (Chinese) of roles and layers.
ROLE_LABELS: dict[Role, str] = {r: zh.ROLE_LABELS[r.value] for r in Role}
LAYER_LABELS: dict[Layer, str] = {la: zh.LAYER_LABELS[la.value] for la in Layer}
#: The sheet of places without a responsible unit or person title.
GAPS_SHEET = "责任空白"


@dataclass(frozen=True)
class ResponsibilityRow:
    """One line of the 责任清单."""

    assignment_id: int
    layer: str
    object_code: str
    object_name: str
    parent_name: str
    role: str
    subject_kind: str
    subject_key: str
    subject_label: str  # unit name or leader title
    unit_kind: str
    category_code: str
    category_name: str
    valid_from: date
    valid_to: date | None
    note: str
    in_generation: bool
    person_title: str = ""  # the responsible person, by title (物业经理, 路长 …)


def responsibility_rows(
    store: Store,
    *,
    at: date | None = None,
    generation: GenerationRef | None = None,
    session: Session | None = None,
) -> list[ResponsibilityRow]:
    """Every assignment valid on ``at`` (default today), with object names.

    Parameters
    ----------
    store : Store
    at : date, optional
    generation : int or Generation, optional
        Boundaries to name the objects (default: current).
    session : Session, optional

    Returns
    -------
    list of ResponsibilityRow
        Ordered by layer (county → key site), object code, role, subject key.
    """
    day = at or datetime.now(UTC).date()
    with store._use(session) as s:
        gen = (
            store.generation(generation, session=s)
            if generation is not None
            else (store.active_generation(s))
        )
        names: dict[tuple[Layer, str], tuple[str, str | None]] = {}
        area_names: dict[str, str] = {}
        if gen is not None:
            for a in s.execute(
                select(Area.code, Area.name, Area.type, Area.parent_code).where(
                    valid_in(Area, gen.id)
                )
            ):
                area_names[a.code] = a.name
                for lay, types in LEVEL_TYPES.items():
                    if a.type in types:
                        names[(lay, a.code)] = (a.name, a.parent_code)
            for r in s.execute(
                select(RoadSection.code, RoadSection.name).where(valid_in(RoadSection, gen.id))
            ):
                names[(Layer.road_section, r.code)] = (r.name, None)
            for k in s.execute(select(KeySite.code, KeySite.name).where(valid_in(KeySite, gen.id))):
                names[(Layer.key_site, k.code)] = (k.name, None)
            # the shop register (门前五包) is not versioned by generation: in force as it is
            for sh in s.execute(select(Shop.code, Shop.name)):
                names[(Layer.shop, sh.code)] = (sh.name, None)
        cats = {c.code: c.name for c in s.scalars(select(Category))}
        rows = s.scalars(
            select(Assignment)
            .options(selectinload(Assignment.unit), selectinload(Assignment.leader))
            .where(
                Assignment.in_force_on(day),
            )
        )
        out = []
        for a in rows:
            layer = Layer(a.object_layer)
            name, parent = names.get((layer, a.object_code), ("", None))
            if a.subject_kind == SubjectKind.unit and a.unit is not None:
                key, label, kind = a.unit.key, a.unit.name, str(a.unit.kind)
            elif a.leader is not None:
                key, label, kind = a.leader.key, a.leader.title, ""
            else:  # pragma: no cover - the check constraint forbids it
                continue
            out.append(
                ResponsibilityRow(
                    a.id,
                    layer.value,
                    a.object_code,
                    name,
                    area_names.get(parent or "", ""),
                    str(a.role),
                    str(a.subject_kind),
                    key,
                    label,
                    kind,
                    a.category_code or "",
                    cats.get(a.category_code or "", ""),
                    a.valid_from,
                    a.valid_to,
                    a.note or "",
                    (layer, a.object_code) in names,
                    a.person_title or "",
                )
            )
    order = {lay.value: i for i, lay in enumerate(Layer)}
    out.sort(key=lambda r: (order[r.layer], r.object_code, r.role, r.subject_key))
    return out


def write_responsibility_xlsx(
    store: Store,
    path: str | Path,
    *,
    at: date | None = None,
    generation: GenerationRef | None = None,
) -> Path:
    """Write the 责任清单 workbook.

    Parameters
    ----------
    store : Store
    path : str or Path
        The ``.xlsx`` file (overwritten; parent directories created).
    at : date, optional
        Assignments valid on that day (default today).
    generation : int or Generation, optional
        Boundaries (default: current).

    Returns
    -------
    Path
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    rows = responsibility_rows(store, at=at, generation=generation)
    day = at or datetime.now(UTC).date()
    wb = Workbook()
    ws = wb.active
    ws.title = zh.LIST_LABELS["responsibility_list"]
    _sheet(
        ws,
        [
            "图层",
            "编码",
            "名称",
            "上级区域",
            "职责",
            "主体类型",
            "主体编号",
            "单位名称/领导职务",
            "责任人（职务）",
            "单位类型",
            "问题类别",
            "起始日期",
            "终止日期",
            "备注",
            "在当前边界版本中",
        ],
        [
            [
                LAYER_LABELS[Layer(r.layer)],
                r.object_code,
                r.object_name,
                r.parent_name,
                ROLE_LABELS[Role(r.role)],
                "领导" if r.subject_kind == "leader" else "单位",
                r.subject_key,
                r.subject_label,
                r.person_title,
                r.unit_kind,
                r.category_name or r.category_code,
                r.valid_from,
                r.valid_to,
                r.note,
                "是" if r.in_generation else "否",
            ]
            for r in rows
        ],
    )

    def grouped(
        layer: Layer, roles: Sequence[Role]
    ) -> dict[tuple[str, str], dict[Role, list[str]]]:
        out: dict[tuple[str, str], dict[Role, list[str]]] = defaultdict(lambda: defaultdict(list))
        for r in rows:
            if r.layer == layer.value and Role(r.role) in roles and not r.category_code:
                out[(r.object_code, r.object_name)][Role(r.role)].append(
                    f"{r.subject_label}（{r.subject_key}）"
                )
        return out

    def pivot(title: str, layer: Layer, roles: Sequence[Role]) -> None:
        g = grouped(layer, roles)
        _sheet(
            wb.create_sheet(title),
            ["编码", "名称", *[ROLE_LABELS[r] for r in roles]],
            [
                [code, name, *["、".join(d.get(r, [])) for r in roles]]
                for (code, name), d in sorted(g.items())
            ],
        )

    pivot("乡镇联系领导", Layer.township, [Role.contact, Role.responsible])
    pivot("社区分包联建", Layer.community, [Role.contract, Role.pairing, Role.responsible])
    pivot("路段路长", Layer.road_section, [Role.road_chief, Role.responsible])
    pivot(LAYER_LABELS[Layer.key_site], Layer.key_site, [Role.lead, Role.responsible])
    _sheet(
        wb.create_sheet("部门职责"),
        ["问题类别", "职责", "单位", "范围", "备注"],
        [
            [
                r.category_name or r.category_code,
                ROLE_LABELS[Role(r.role)],
                r.subject_label,
                r.object_name or r.object_code,
                r.note,
            ]
            for r in rows
            if r.category_code
        ],
    )
    gaps = responsibility_gaps(store, at=day)
    _sheet(
        wb.create_sheet(GAPS_SHEET),
        [
            zh.LEVEL_LABELS["township"],
            "社区（村）",
            "图层",
            "编码",
            "名称",
            "空白类型",
            "现有责任单位",
        ],
        [
            [
                g.township_name,
                g.community_name,
                g.layer_label,
                g.code,
                g.name,
                g.kind_label,
                "、".join(g.units),
            ]
            for g in gaps.gaps
        ],
    )
    info = wb.create_sheet("说明")
    gen = store.active_generation() if generation is None else store.generation(generation)
    for line in (
        [zh.LIST_LABELS["responsibility_list"], f"{day.isoformat()} 有效的责任分工"],
        ["边界版本", f"{gen.id if gen else '-'} {gen.source or '' if gen else ''}"],
        ["生成时间", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")],
        [GAPS_SHEET, f"{len(gaps.gaps)} 处无责任单位或无责任人职务"],
    ):
        info.append(line)
    info["A1"].font = Font(bold=True)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    values_only(wb).save(path)  # names never run as formulas
    return path


def _sheet(ws: Any, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    from openpyxl.styles import Font

    ws.append(list(header))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rows:
        ws.append(list(r))
    ws.freeze_panes = "A2"
    for i, h in enumerate(header, start=1):
        width = max([len(str(h))] + [len(str(r[i - 1] or "")) for r in rows[:500]]) + 2
        ws.column_dimensions[ws.cell(1, i).column_letter].width = min(max(width * 1.6, 8), 50)
