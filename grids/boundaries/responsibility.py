"""A responsible party for every place: the gap report (责任空白清单).

Sheqi's notice (``004``) asks that "确保网格内每条道路、每个楼院都有责任人" — every
road and every compound has its responsible person — and that county units
"在网格内按照路段划分继续实施路长制" (keep the road-chief system by road section).
Lüliang's (``001``) inspects "《市委常委包路段 责任单位包落实 推动文明城市创建的实施方案》
(吕创城办〔2021〕5号)落实情况" — city leaders hold road sections, responsible units
carry them out.

So every **place** — unit grid (单元网格), road section (路段) and key site (重点点位)
of the active boundary generation — must have, on the day asked:

1. a **responsible unit**: an assignment in force, held by a unit, in one of the
   roles of :data:`RESPONSIBLE_ROLES` for its layer, for every category
   (``category_code`` null — a category-wide department duty is not a place's
   responsible party);
2. a **responsible person** recorded **by title** on one of those assignments
   (``Assignment.person_title``: 物业经理, 网格长, 路长, 点位负责人 …; never a name,
   never a phone number — :func:`person_title_problem` refuses both).

:func:`responsibility_gaps` lists every place that lacks either, with its community
and township (road sections and key sites are placed by a point on them: the
middle of a section, the site's point or a point inside its polygon), and counts
per community and per township. The CLI (``civgrid check responsibility``), the
command-center page (``/responsibility/gaps``) and the 责任清单 workbook all show
this one report.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from civgrid.grids.boundaries.models import (
    Area,
    AreaType,
    Assignment,
    Layer,
    Role,
    SubjectKind,
)
from civgrid.grids.boundaries.store import Store
from civgrid.grids.core import labels as zh

__all__ = [
    "GAP_KIND_LABELS",
    "PERSON_TITLE_MAX",
    "PLACE_LAYERS",
    "RESPONSIBLE_ROLES",
    "GapCount",
    "GapReport",
    "PlaceGap",
    "person_title_problem",
    "responsibility_gaps",
]

#: The places that must each have a responsible unit and person, in report order.
PLACE_LAYERS: tuple[Layer, ...] = (Layer.unit_grid, Layer.road_section, Layer.key_site)

#: Roles of a unit that make it the place's responsible unit, per layer. A road
#: section's road-chief unit (路长制单位) answers for it as does its responsible
#: unit; a key site's lead unit (牵头单位) as does its responsible unit.
RESPONSIBLE_ROLES: dict[Layer, tuple[Role, ...]] = {
    Layer.unit_grid: (Role.responsible,),
    Layer.road_section: (Role.road_chief, Role.responsible),
    Layer.key_site: (Role.responsible, Role.lead),
}

#: Gap kinds → Chinese labels.
GAP_KIND_LABELS: dict[str, str] = {
    "no_unit": "无责任单位",
    "no_person": "有责任单位、无责任人职务",
}

#: Longest accepted person title, in characters (a title, not a sentence).
PERSON_TITLE_MAX = 20

_PHONE = re.compile(r"\d[\d\s\-－—()（）+]{5,}\d")
# Common single-character surnames (百家姓, the most frequent ones).
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜"
    "叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎"
    "贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
# Characters a post title ends with (…长, …员, …主任, …书记, …经理, …负责人, …干部).
_TITLE_ENDINGS = "长员任记理人部官师手工"
_NAME_ONLY = re.compile(rf"^[{_SURNAMES}][\u4e00-\u9fff]{{1,2}}$")
_NAME_AFTER_TITLE = re.compile(
    rf"(长|员|主任|书记|经理|负责人|干部)[：:\s]*[{_SURNAMES}][\u4e00-\u9fff]{{1,2}}$"
)


def person_title_problem(value: str) -> str | None:
    """Why ``value`` cannot be a responsible person's title, or None when it can.

    A title names a post (物业经理, 网格长, 路长 …). Refused: longer than
    :data:`PERSON_TITLE_MAX` characters, anything phone-like (seven or more digits,
    spaces and dashes allowed between them), and what looks like a personal name —
    two or three Han characters starting with a common surname that do not end
    like a post, or a post followed by such a name. Privacy rule of the house:
    people by title, never by name; no phone numbers.

    Examples
    --------
    >>> person_title_problem("物业经理") is None and person_title_problem("网格长") is None
    True
    >>> person_title_problem("王主任") is None
    True
    >>> person_title_problem("138 0000 0000")
    'looks like a phone number (phone numbers are never kept)'
    >>> person_title_problem("张三")
    'looks like a personal name (record the title, e.g. 网格长)'
    >>> person_title_problem("物业经理王建国")
    'looks like a personal name (record the title, e.g. 网格长)'
    >>> person_title_problem("很" * 21)
    'longer than 20 characters'
    """
    v = value.strip()
    if len(v) > PERSON_TITLE_MAX:
        return f"longer than {PERSON_TITLE_MAX} characters"
    if _PHONE.search(v) and sum(c.isdigit() for c in v) >= 7:
        return "looks like a phone number (phone numbers are never kept)"
    if (_NAME_ONLY.match(v) and v[-1] not in _TITLE_ENDINGS) or _NAME_AFTER_TITLE.search(v):
        return "looks like a personal name (record the title, e.g. 网格长)"
    return None


@dataclass(frozen=True)
class PlaceGap:
    """One place without a responsible unit, or with units but no person title."""

    layer: str
    layer_label: str
    code: str
    name: str
    kind: str  # no_unit | no_person
    kind_label: str
    units: list[str]  # names of the responsible units (empty for no_unit)
    community_code: str
    community_name: str
    township_code: str
    township_name: str


@dataclass(frozen=True)
class GapCount:
    """Gaps of one community or township."""

    code: str
    name: str
    gaps: int
    no_unit: int
    no_person: int


@dataclass
class GapReport:
    """The gap report of one day in one boundary generation."""

    day: date
    generation_id: int | None
    places: dict[str, int] = field(default_factory=dict)  # layer → places checked
    gaps: list[PlaceGap] = field(default_factory=list)
    by_community: list[GapCount] = field(default_factory=list)
    by_township: list[GapCount] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No place without a responsible unit and person."""
        return not self.gaps

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (dates as ISO strings)."""
        return {
            "day": self.day.isoformat(),
            "generation_id": self.generation_id,
            "ok": self.ok,
            "places": dict(self.places),
            "gap_count": len(self.gaps),
            "gaps": [asdict(g) for g in self.gaps],
            "by_community": [asdict(c) for c in self.by_community],
            "by_township": [asdict(c) for c in self.by_township],
        }

    def to_text(self) -> str:
        """The report for the CLI."""
        checked = ", ".join(f"{n} {lay}" for lay, n in self.places.items())
        head = f"responsibility on {self.day.isoformat()} (generation {self.generation_id}): "
        head += f"{checked} checked; {len(self.gaps)} gap(s)"
        if self.ok:
            return head + "\nResult: OK — every place has a responsible unit and person title."
        lines = [head]
        for g in self.gaps:
            where = "/".join(x for x in (g.township_name, g.community_name) if x) or "-"
            units = f" ({'、'.join(g.units)})" if g.units else ""
            lines.append(f"  {g.layer:12} {g.code:16} {g.name} [{where}]: {g.kind}{units}")
        lines.append("per township:")
        lines += [f"  {c.code or '-':14} {c.name or '-'}: {c.gaps}" for c in self.by_township]
        lines.append("per community:")
        lines += [f"  {c.code or '-':14} {c.name or '-'}: {c.gaps}" for c in self.by_community]
        lines.append("Result: GAPS — places above lack a responsible unit or person title.")
        return "\n".join(lines)


def _anchor(geom: Any) -> Any:
    """A point on the place: a line's middle, a point itself, a point inside a polygon."""
    if geom.geom_type in ("LineString", "MultiLineString"):
        return shapely.line_interpolate_point(geom, 0.5, normalized=True)
    if geom.geom_type == "Point":
        return geom
    return geom.representative_point()


def responsibility_gaps(
    store: Store, *, at: date | None = None, session: Session | None = None
) -> GapReport:
    """Every place of the active generation without a responsible unit or person title.

    Parameters
    ----------
    store : Store
    at : date, optional
        Assignments in force on that day (default: today, UTC date).
    session : Session, optional

    Returns
    -------
    GapReport
        Gaps ordered by township, community, layer (unit grid, road section, key
        site) and code; counts per community and per township (gaps only; a place
        outside every community counts under the empty code).
    """
    day = at or datetime.now(UTC).date()
    with store._use(session) as s:
        gen = store.active_generation(s)
        report = GapReport(day, gen.id if gen is not None else None)
        if gen is None:
            return report
        areas = store.areas(session=s)
        names = {a.code: a.name for a in areas}
        communities = [a for a in areas if a.type in (AreaType.community, AreaType.village)]
        townships = [a for a in areas if a.type in (AreaType.township, AreaType.street)]
        parents = {a.code: a.parent_code for a in areas}
        places: list[tuple[Layer, str, str, Any, str | None]] = []
        for a in areas:
            if a.type == AreaType.unit_grid:
                places.append((Layer.unit_grid, a.code, a.name, a.geom, a.parent_code))
        for r in store.road_sections(session=s):
            places.append((Layer.road_section, r.code, r.name, r.geom, None))
        for k in store.key_sites(session=s):
            places.append((Layer.key_site, k.code, k.name, k.geom, None))
        holders: dict[tuple[str, str], list[Assignment]] = {}
        for a in s.scalars(
            select(Assignment)
            .options(selectinload(Assignment.unit))
            .where(
                Assignment.in_force_on(day),
                Assignment.subject_kind == SubjectKind.unit,
                Assignment.category_code.is_(None),
                Assignment.object_layer.in_(PLACE_LAYERS),
            )
        ):
            layer = Layer(a.object_layer)
            if Role(a.role) in RESPONSIBLE_ROLES[layer]:
                holders.setdefault((layer.value, a.object_code), []).append(a)
        for layer, code, name, geom, parent in places:
            held = holders.get((layer.value, code), [])
            if held and any((a.person_title or "").strip() for a in held):
                continue
            kind = "no_person" if held else "no_unit"
            community = parent if parent in names else _containing(communities, geom)
            township = parents.get(community or "") or _containing(townships, geom)
            report.gaps.append(
                PlaceGap(
                    layer.value,
                    zh.LAYER_LABELS[layer.value],
                    code,
                    name,
                    kind,
                    GAP_KIND_LABELS[kind],
                    sorted({a.unit.name for a in held if a.unit is not None}),
                    community or "",
                    names.get(community or "", ""),
                    township or "",
                    names.get(township or "", ""),
                )
            )
        for layer, *_ in places:
            report.places[layer.value] = report.places.get(layer.value, 0) + 1
    order = {lay.value: i for i, lay in enumerate(PLACE_LAYERS)}
    report.gaps.sort(key=lambda g: (g.township_code, g.community_code, order[g.layer], g.code))
    report.by_community = _counts(report.gaps, "community")
    report.by_township = _counts(report.gaps, "township")
    return report


def _containing(areas: list[Area], geom: Any) -> str | None:
    p = _anchor(geom)
    for a in areas:
        if a.geom.covers(p):
            return a.code
    return None


def _counts(gaps: list[PlaceGap], level: str) -> list[GapCount]:
    total: Counter[tuple[str, str]] = Counter()
    kinds: Counter[tuple[str, str, str]] = Counter()
    for g in gaps:
        key = (getattr(g, f"{level}_code"), getattr(g, f"{level}_name"))
        total[key] += 1
        kinds[(*key, g.kind)] += 1
    return [
        GapCount(code, name, n, kinds[(code, name, "no_unit")], kinds[(code, name, "no_person")])
        for (code, name), n in sorted(total.items())
    ]
