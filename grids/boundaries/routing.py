"""Who answers for an issue: routing rules × assignments × what lies at the point.

Routing is data (after FixMyStreet): :class:`~civgrid.grids.boundaries.models.RoutingRule`
rows say which role on which layer answers for a category; the holders come
from :class:`~civgrid.grids.boundaries.models.Assignment` rows on the objects found at the
point. There is no per-county or per-category code path.

Every part of the answer carries a :class:`Reason`: the layer and code of the
object that put it there, the distance in metres, the routing rule and the
assignment — structured data, not prose.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.grids.boundaries.assessment_points import PointIndex, point_at
from civgrid.grids.boundaries.index import Hit, ObjectInfo
from civgrid.grids.boundaries.models import (
    Assignment,
    Category,
    Layer,
    Leader,
    OwnerCondition,
    OwnerRule,
    Role,
    RoutingRule,
    RoutingStamp,
    SubjectKind,
    Unit,
)
from civgrid.grids.boundaries.shops import DEFAULT_SNAP_M, nearest_shop
from civgrid.grids.core import labels as zh
from civgrid.grids.core.errors import NotFoundError

__all__ = [
    "DEFAULT_ON_SITE_M",
    "AreaRef",
    "OwnerReason",
    "Party",
    "PointRef",
    "Reason",
    "Responsibility",
    "RoadRef",
    "RoutingTables",
    "ShopRef",
    "SiteRef",
    "category_chain",
    "choose_owner",
    "effective_owner_rules",
    "effective_rules",
    "remember_routing_stamp",
    "resolve",
    "routing_stamp",
    "routing_stamp_column",
]

#: Layers that name the place, from the smallest up (the most specific comes first).
_SPECIFICITY = {
    Layer.shop: 0,
    Layer.assessment_point: 0,
    Layer.unit_grid: 0,
    Layer.key_site: 1,
    Layer.road_section: 2,
    Layer.community: 3,
    Layer.township: 4,
    Layer.supervision_area: 5,
    Layer.central_city: 5,
    Layer.county: 6,
}


@dataclass(frozen=True)
class Reason:
    """Why a part of the answer is there.

    Attributes
    ----------
    match : str
        ``"covers"`` (the area covers the point), ``"near_line"`` (a road
        section within tolerance), ``"in_zone"`` (inside a key site's zone) or
        ``"assignment"`` (a routing rule matched an assignment on such an object).
    layer : str
        Layer of the object.
    code : str
        Code of the object (area, road section or key site).
    distance_m : float
        Metres from the point to the object (0 inside).
    rule_id : int or None
        The routing rule (for assignment matches).
    assignment_id : int or None
        The assignment (for assignment matches).
    generation_id : int or None
        The boundary generation the object belongs to.
    """

    match: str
    layer: str
    code: str
    distance_m: float
    rule_id: int | None = None
    assignment_id: int | None = None
    generation_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (distance rounded to 0.1 m)."""
        return {
            "match": self.match,
            "layer": self.layer,
            "code": self.code,
            "distance_m": round(self.distance_m, 1),
            "rule_id": self.rule_id,
            "assignment_id": self.assignment_id,
            "generation_id": self.generation_id,
        }


def _flat(obj: Any, skip: str | None = None) -> dict[str, Any]:
    """The fields of a flat dataclass as a dict (``dataclasses.asdict`` without its
    deep copy, which is slow and not needed for str/number/bool fields)."""
    names = _FIELD_NAMES.get(obj.__class__)
    if names is None:  # dataclasses.fields builds its tuple on every call: once per class
        names = _FIELD_NAMES[obj.__class__] = tuple(f.name for f in fields(obj))
    return {name: getattr(obj, name) for name in names if name != skip}


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


#: Roles whose units share an issue with its owner.
_SHARING_ROLES = frozenset({Role.responsible.value, Role.lead.value})

#: Metres from a point key site that still count as "on" the site when an owner
#: step gives no ``on_site_m`` (a local choice: a school gate, a toilet's surround).
DEFAULT_ON_SITE_M = 50.0


@dataclass(frozen=True)
class OwnerReason:
    """Why the owner owns: the owner rule and the step of its precedence list.

    Attributes
    ----------
    rule_category : str or None
        The category whose precedence list applied (None: the default list).
    step : int
        The step (1-based rank) that found the owner.
    steps : int
        How many steps the list has.
    layer, role, condition : str
        What the step asked for.
    code : str
        The object (area, road section, key site) the owner holds.
    co_built : bool
        Several responsible units hold the place and the lead unit owns
        (notice 001: "几个单位共同建设的，反馈给牵头单位").
    department_owned : bool
        The family is department-owned ((类别)由部门主办: the step is on the
        county layer, a county department's duty).
    note : str or None
        The step's note from the owner rules.
    """

    rule_category: str | None
    step: int
    steps: int
    layer: str
    role: str
    condition: str
    code: str
    co_built: bool = False
    department_owned: bool = False
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return _flat(self)


@dataclass(frozen=True)
class AreaRef:
    """An area at the point."""

    layer: str
    type: str
    code: str
    name: str
    reason: Reason

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return {
            **_flat(self, skip="reason"),
            "reason": self.reason.to_dict(),
        }


@dataclass(frozen=True)
class Party:
    """A unit or leader in the answer.

    Attributes
    ----------
    subject_kind : str
        ``"unit"`` or ``"leader"``.
    key : str
        Unit or leader key (``D03``, ``L01``).
    name : str
        Unit name, or the leader's title (names of leaders are not exposed here).
    unit_kind : str or None
        Kind of unit.
    role : str
        The assignment role (``responsible``, ``lead``, ``contract``…).
    category_code : str or None
        The category the duty is limited to, if any.
    reason : Reason
    """

    subject_kind: str
    key: str
    name: str
    unit_kind: str | None
    role: str
    category_code: str | None
    reason: Reason

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return {
            **_flat(self, skip="reason"),
            "reason": self.reason.to_dict(),
        }


@dataclass(frozen=True)
class RoadRef:
    """The road section at the point (nearest within tolerance) and its road chiefs."""

    code: str
    name: str
    extent: str | None
    distance_m: float
    road_chiefs: tuple[Party, ...]
    reason: Reason

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return {
            "code": self.code,
            "name": self.name,
            "extent": self.extent,
            "distance_m": round(self.distance_m, 1),
            "road_chiefs": [p.to_dict() for p in self.road_chiefs],
            "reason": self.reason.to_dict(),
        }


@dataclass(frozen=True)
class SiteRef:
    """A key site whose zone contains the point."""

    code: str
    kind: str
    name: str
    zone_radius_m: float
    distance_m: float
    reason: Reason

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return {
            "code": self.code,
            "kind": self.kind,
            "name": self.name,
            "zone_radius_m": self.zone_radius_m,
            "distance_m": round(self.distance_m, 1),
            "reason": self.reason.to_dict(),
        }


@dataclass(frozen=True)
class ShopRef:
    """The shop whose frontage a 门前五包 report snapped to (the responsible party).

    ``role`` is ``"shop"`` (label :data:`~civgrid.grids.core.labels.PARTY_ROLE_LABELS`);
    ``distance_m`` is metres from the point to the frontage line or polygon.
    """

    code: str
    name: str
    street: str | None
    distance_m: float
    enforcement_grid_unit_key: str
    enforcement_grid_unit_name: str
    responsibility_letter: str | None
    frontage_duties: tuple[str, ...]
    role: str = "shop"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return {
            "code": self.code,
            "name": self.name,
            "street": self.street,
            "distance_m": round(self.distance_m, 1),
            "enforcement_grid_unit_key": self.enforcement_grid_unit_key,
            "enforcement_grid_unit_name": self.enforcement_grid_unit_name,
            "responsibility_letter": self.responsibility_letter,
            "frontage_duties": list(self.frontage_duties),
            "role": self.role,
            "role_label": zh.PARTY_ROLE_LABELS[self.role],
        }


@dataclass(frozen=True)
class PointRef:
    """The assessment point (测评点位) a report lies at: inside its polygon (0 m) or
    within a point site's radius; its responsible unit (包保单位) by key."""

    code: str
    name: str
    point_type: str
    distance_m: float
    must_check: bool
    responsible_unit_key: str
    responsible_unit_name: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return {
            "code": self.code,
            "name": self.name,
            "point_type": self.point_type,
            "distance_m": round(self.distance_m, 1),
            "must_check": self.must_check,
            "responsible_unit_key": self.responsible_unit_key,
            "responsible_unit_name": self.responsible_unit_name,
        }


@dataclass(frozen=True)
class Responsibility:
    """The answer of :meth:`civgrid.grids.boundaries.store.Store.responsible_for`.

    Attributes
    ----------
    lon, lat : float
        The point, WGS84 degrees.
    category_code, category_name : str
    deadline_hours : int or None
        The category's default time to fix.
    day : date
        Assignments valid on this day were used.
    generation_id : int or None
        The boundary generation used.
    county, township, community, unit_grid : AreaRef or None
        The areas covering the point (township may be a street, community a village).
    supervision_areas : tuple of AreaRef
    road_section : RoadRef or None
    key_sites : tuple of SiteRef
        Key sites whose zone contains the point, nearest first.
    responsible_units : tuple of Party
        Units that answer for it, in rule-priority order.
    lead_unit : Party or None
        The coordinating unit (牵头单位), if a lead rule matched.
    owner : Party or None
        The unit that owns the issue (must fix it), chosen by the owner rules
        (:func:`choose_owner`); every other unit in ``responsible_units`` and
        ``lead_unit`` is co-responsible.
    owner_reason : OwnerReason or None
        The owner rule and precedence step that chose ``owner``.
    leaders : tuple of Party
        Leaders answering for the place (contact, contract, road chief).
    pairing_units, supervision_teams : tuple of Party
    triage : str or None
        Why the command center must sort it by hand (待分拣):
        ``"outside_jurisdiction"`` or ``"no_responsible_unit"``; None otherwise.
    central_city : AreaRef or None
        The central city (中心城区) if it covers the point; None = rural (乡村).
    shop : ShopRef or None
        The shop whose frontage the point snapped to (门前五包 categories only):
        the shop answers for its frontage; its 城管 grid unit owns the issue.
    assessment_point : PointRef or None
        The assessment point the report lies at (any category); its responsible
        unit owns by the ``assessment_point`` owner step.
    """

    lon: float
    lat: float
    category_code: str
    category_name: str
    deadline_hours: int | None
    day: date
    generation_id: int | None
    county: AreaRef | None = None
    township: AreaRef | None = None
    community: AreaRef | None = None
    unit_grid: AreaRef | None = None
    supervision_areas: tuple[AreaRef, ...] = ()
    road_section: RoadRef | None = None
    key_sites: tuple[SiteRef, ...] = ()
    responsible_units: tuple[Party, ...] = ()
    lead_unit: Party | None = None
    leaders: tuple[Party, ...] = ()
    pairing_units: tuple[Party, ...] = ()
    supervision_teams: tuple[Party, ...] = ()
    owner: Party | None = None
    owner_reason: OwnerReason | None = None
    triage: str | None = None
    parties: tuple[Party, ...] = field(default=(), repr=False)
    central_city: AreaRef | None = None
    shop: ShopRef | None = None
    assessment_point: PointRef | None = None

    def co_responsible(self) -> tuple[Party, ...]:
        """The units that answer for the issue besides the owner (协同责任单位).

        Every responsible and lead unit in the answer except the owner, once
        each, in answer order: they see the issue, are told, and it counts in
        their statistics (a key site's units in its 400 m zone among them).
        """
        seen = {self.owner.key} if self.owner is not None else set()
        out = []
        for p in self.parties:
            unit = p.subject_kind == SubjectKind.unit.value
            if unit and p.role in _SHARING_ROLES and p.key not in seen:
                seen.add(p.key)
                out.append(p)
        return tuple(out)

    def reasons(self) -> list[Reason]:
        """Every reason in the answer (one per element)."""
        out: list[Reason] = []
        for a in (self.county, self.township, self.community, self.unit_grid):
            if a is not None:
                out.append(a.reason)
        out += [a.reason for a in self.supervision_areas]
        if self.road_section is not None:
            out.append(self.road_section.reason)
            out += [p.reason for p in self.road_section.road_chiefs]
        out += [s.reason for s in self.key_sites]
        for group in (
            self.responsible_units,
            self.leaders,
            self.pairing_units,
            self.supervision_teams,
        ):
            out += [p.reason for p in group]
        if self.lead_unit is not None:
            out.append(self.lead_unit.reason)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""

        def opt(x: Any) -> Any:
            return None if x is None else x.to_dict()

        return {
            "lon": self.lon,
            "lat": self.lat,
            "category": {
                "code": self.category_code,
                "name": self.category_name,
                "deadline_hours": self.deadline_hours,
            },
            "day": self.day.isoformat(),
            "generation_id": self.generation_id,
            "county": opt(self.county),
            "township": opt(self.township),
            "community": opt(self.community),
            "unit_grid": opt(self.unit_grid),
            "supervision_areas": [a.to_dict() for a in self.supervision_areas],
            "road_section": opt(self.road_section),
            "key_sites": [s.to_dict() for s in self.key_sites],
            "responsible_units": [p.to_dict() for p in self.responsible_units],
            "lead_unit": opt(self.lead_unit),
            "leaders": [p.to_dict() for p in self.leaders],
            "pairing_units": [p.to_dict() for p in self.pairing_units],
            "supervision_teams": [p.to_dict() for p in self.supervision_teams],
            "owner": opt(self.owner),
            "owner_reason": opt(self.owner_reason),
            "triage": self.triage,
            "central_city": opt(self.central_city),
            "shop": opt(self.shop),
            "assessment_point": opt(self.assessment_point),
        }


# =========================================================================== tables


@dataclass(frozen=True)
class _CategoryRow:
    id: int
    code: str
    name: str
    parent_id: int | None
    deadline_hours: int | None


@dataclass(frozen=True)
class _RuleRow:
    """A routing rule, detached from the session (the fields routing reads)."""

    id: int
    category_code: str | None
    layer: Layer
    role: Role
    subject_kind: SubjectKind
    unit_kind: str | None
    priority: int


@dataclass(frozen=True)
class _OwnerStep:
    """An owner rule step, detached from the session."""

    id: int
    category_code: str | None
    rank: int
    layer: Layer
    role: Role
    condition: OwnerCondition
    on_site_m: float | None
    note: str | None


@dataclass(frozen=True)
class _AssignmentRow:
    """An assignment with its holder's key, name (units) or title (leaders) and kind."""

    id: int
    role: Role
    subject_kind: SubjectKind
    category_code: str | None
    valid_from: date
    valid_to: date | None
    key: str | None
    name: str | None
    unit_kind: str | None

    def valid_on(self, day: date) -> bool:
        """In force on ``day`` (the condition of :meth:`Assignment.in_force_on`)."""
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)


def routing_stamp(session: Session) -> int | None:
    """The routing stamp: changed by every write to the tables routing reads.

    Database triggers (migration ``0535``) set ``routing_stamps.stamp`` to a new
    random value in the same transaction as any insert, update or delete of
    categories, routing rules, owner rules, assignments, units or leaders, so a
    process compares one small row with the stamp of its cached tables
    (:class:`RoutingTables`). A random value, not a counter: a write that is rolled
    back can never leave a stamp that a later committed write reuses.

    The stamp read with an earlier statement of the same transaction
    (:func:`remember_routing_stamp`) is used instead, once: no round trip of its own.

    Returns
    -------
    int or None
        None when the database has no stamp row.
    """
    remembered = session.info.pop(_REMEMBERED, None)
    if remembered is not None and remembered[0] is session.get_transaction():
        return remembered[1]
    return session.execute(_STAMP_QUERY).scalar()


#: ``RoutingTables.rows`` key of the assessment-point register (:meth:`~RoutingTables.point_index`).
_POINTS_KEY = "assessment_points"
#: Read on every intake: built once.
_STAMP_QUERY = select(RoutingStamp.stamp).where(RoutingStamp.id == 1)
#: ``Session.info`` key of a stamp read with another statement: (transaction, stamp).
_REMEMBERED = "civgrid.remembered_routing_stamp"


def routing_stamp_column() -> Any:
    """The routing stamp as a column ``routing_stamp`` to add to another query.

    A unit of work that reads something else first and routes next (an intake reads
    the account) reads the stamp with it and hands it on with
    :func:`remember_routing_stamp`: one round trip fewer.
    """
    return _STAMP_QUERY.scalar_subquery().label("routing_stamp")


def remember_routing_stamp(session: Session, stamp: int | None) -> None:
    """Have the next :func:`routing_stamp` in ``session`` answer ``stamp``, read just now
    in its transaction (:func:`routing_stamp_column`).

    Only for work that does not write the routing tables before it routes (those
    writes change the stamp); used once, and only in the same transaction.
    """
    session.info[_REMEMBERED] = (session.get_transaction(), stamp)


@dataclass(frozen=True)
class RoutingTables:
    """Everything routing reads from the database, read once and shared read-only.

    Categories, routing rules, owner rules and every assignment (with its unit's
    key, name and kind or its leader's key and title), keyed by the object they are
    on. :meth:`civgrid.grids.boundaries.store.Store.routing_tables` keeps one per
    process and reloads it when :func:`routing_stamp` changed; :func:`resolve`
    then answers without a query.

    Attributes
    ----------
    stamp : int or None
        The :func:`routing_stamp` read before the tables (None: never reused).
    """

    stamp: int | None
    categories: Mapping[str, _CategoryRow]
    categories_by_id: Mapping[int, _CategoryRow]
    rules: tuple[_RuleRow, ...]
    owner_rules: tuple[_OwnerStep, ...]
    assignments: Mapping[tuple[str, str], tuple[_AssignmentRow, ...]]
    #: Whole rows of the stamped tables read on demand while these tables are current
    #: (categories, units, leaders by key): see ``Store.cached_rows``.
    rows: dict[str, dict[Any, dict[str, Any]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def point_index(self, session: Session) -> PointIndex:
        """The assessment-point register, read in ``session`` the first time it is
        asked for while these tables are current, then kept with them: the stamp also
        changes with every write to ``assessment_points`` (migration 0630), so an
        intake finds its point without a query (issue 19)."""
        index = self.rows.get(_POINTS_KEY)
        if index is None:
            index = self.rows[_POINTS_KEY] = PointIndex.snapshot(session)  # type: ignore[assignment]
        return index  # type: ignore[return-value]

    @classmethod
    def load(cls, session: Session, stamp: int | None = None) -> RoutingTables:
        """Read the tables in ``session`` (read the stamp first, then call this)."""
        cats = [
            _CategoryRow(c.id, c.code, c.name, c.parent_id, c.deadline_hours)
            for c in session.execute(
                select(
                    Category.id,
                    Category.code,
                    Category.name,
                    Category.parent_id,
                    Category.deadline_hours,
                )
            )
        ]
        rules = tuple(
            _RuleRow(
                r.id,
                r.category_code,
                Layer(r.layer),
                Role(r.role),
                SubjectKind(r.subject_kind),
                None if r.unit_kind is None else str(r.unit_kind),
                r.priority,
            )
            for r in session.scalars(select(RoutingRule).order_by(RoutingRule.id))
        )
        steps = tuple(
            _OwnerStep(
                r.id,
                r.category_code,
                r.rank,
                Layer(r.layer),
                Role(r.role),
                OwnerCondition(r.condition),
                r.on_site_m,
                r.note,
            )
            for r in session.scalars(select(OwnerRule).order_by(OwnerRule.id))
        )
        rows = session.execute(
            select(
                Assignment.id,
                Assignment.role,
                Assignment.subject_kind,
                Assignment.object_layer,
                Assignment.object_code,
                Assignment.category_code,
                Assignment.valid_from,
                Assignment.valid_to,
                Unit.key.label("unit_key"),
                Unit.name.label("unit_name"),
                Unit.kind.label("unit_kind"),
                Leader.key.label("leader_key"),
                Leader.title.label("leader_title"),
            )
            .outerjoin(Unit, Unit.id == Assignment.unit_id)
            .outerjoin(Leader, Leader.id == Assignment.leader_id)
            .order_by(Assignment.id)
        )
        by_object: dict[tuple[str, str], list[_AssignmentRow]] = {}
        for a in rows:
            unit = a.subject_kind == SubjectKind.unit
            by_object.setdefault((str(a.object_layer), a.object_code), []).append(
                _AssignmentRow(
                    a.id,
                    Role(a.role),
                    SubjectKind(a.subject_kind),
                    a.category_code,
                    a.valid_from,
                    a.valid_to,
                    a.unit_key if unit else a.leader_key,
                    a.unit_name if unit else a.leader_title,
                    None if not unit or a.unit_kind is None else str(a.unit_kind),
                )
            )
        return cls(
            stamp,
            {c.code: c for c in cats},
            {c.id: c for c in cats},
            rules,
            steps,
            {k: tuple(v) for k, v in by_object.items()},
        )

    def chain(self, code: str) -> list[_CategoryRow]:
        """The category and its ancestors, the category first (as :func:`category_chain`).

        Raises
        ------
        NotFoundError
            Unknown category code.
        """
        cat = self.categories.get(code)
        if cat is None:
            raise NotFoundError(
                f"unknown category {code!r}",
                kind="category",
                key=code,
                hint="see `civgrid` categories or grids/seed/categories.yaml",
            )
        chain = [cat]
        seen = {cat.id}
        while chain[-1].parent_id is not None and chain[-1].parent_id not in seen:
            parent = self.categories_by_id[chain[-1].parent_id]
            seen.add(parent.id)
            chain.append(parent)
        return chain

    def assignments_on(
        self, objects: Mapping[str, list[Hit]], day: date, chain_codes: Sequence[str]
    ) -> dict[tuple[str, str], list[_AssignmentRow]]:
        """Assignments in force on ``day`` on the given objects, for the category chain."""
        wanted = set(chain_codes)
        out: dict[tuple[str, str], list[_AssignmentRow]] = {}
        for layer, layer_hits in objects.items():
            for h in layer_hits:
                key = (layer, h.info.code)
                found = [
                    a
                    for a in self.assignments.get(key, ())
                    if a.valid_on(day) and (a.category_code is None or a.category_code in wanted)
                ]
                if found:
                    out[key] = found
        return out


# =========================================================================== rules


def category_chain(session: Session, code: str) -> list[Category]:
    """The category and its ancestors, the category first.

    Raises
    ------
    NotFoundError
        Unknown category code.
    """
    cats = {c.id: c for c in session.scalars(select(Category))}
    return _chain_of(cats, code)


def _chain_of(cats: Mapping[int, Category], code: str) -> list[Category]:
    by_code = {c.code: c for c in cats.values()}
    cat = by_code.get(code)
    if cat is None:
        raise NotFoundError(
            f"unknown category {code!r}",
            kind="category",
            key=code,
            hint="see `civgrid` categories or grids/seed/categories.yaml",
        )
    chain = [cat]
    seen = {cat.id}
    while chain[-1].parent_id is not None and chain[-1].parent_id not in seen:
        parent = cats[chain[-1].parent_id]
        seen.add(parent.id)
        chain.append(parent)
    return chain


def effective_rules(rules: Sequence[RoutingRule], chain_codes: Sequence[str]) -> list[RoutingRule]:
    """The rules that apply to a category, given its chain of codes (itself first).

    For each (layer, role, subject_kind) only the rules of the most specific
    category in the chain are kept (a rule without a category is the least
    specific). The result is ordered by priority, then id.
    """
    rank = {c: i for i, c in enumerate(chain_codes)}
    general = len(chain_codes)
    applicable = [r for r in rules if r.category_code is None or r.category_code in rank]
    best: dict[tuple[str, str, str], int] = {}
    for r in applicable:
        key = (str(r.layer), str(r.role), str(r.subject_kind))
        k = rank.get(r.category_code, general) if r.category_code else general
        best[key] = min(best.get(key, general + 1), k)
    chosen = [
        r
        for r in applicable
        if (rank.get(r.category_code, general) if r.category_code else general)
        == best[(str(r.layer), str(r.role), str(r.subject_kind))]
    ]
    return sorted(chosen, key=lambda r: (r.priority, r.id))


def effective_owner_rules(
    rules: Sequence[OwnerRule], chain_codes: Sequence[str]
) -> list[OwnerRule]:
    """The owner precedence list for a category, given its chain (itself first).

    The steps of the most specific category in the chain that has any replace
    the default list (rules without a category) as a whole; ordered by rank.
    """
    by_family: dict[str | None, list[OwnerRule]] = {}
    for r in rules:
        by_family.setdefault(r.category_code, []).append(r)
    for code in [*chain_codes, None]:
        if code in by_family:
            return sorted(by_family[code], key=lambda r: (r.rank, r.id))
    return []


def _on_site(hit: Hit, step: OwnerRule) -> bool:
    """Whether the point is on the site itself, not only in its 400 m zone."""
    if step.condition != OwnerCondition.on_site:
        return True
    if hit.info.layer == Layer.shop.value:  # within on_site_m of the frontage
        limit = step.on_site_m if step.on_site_m is not None else DEFAULT_SNAP_M
        return hit.distance_m <= limit
    if hit.info.extra.get("point"):
        limit = step.on_site_m if step.on_site_m is not None else DEFAULT_ON_SITE_M
        return hit.distance_m <= limit
    return hit.distance_m <= 0.01  # inside the polygon (distances are rounded floats)


def choose_owner(
    steps: Sequence[OwnerRule],
    matches: Sequence[Party],
    objects: Mapping[str, Sequence[Hit]],
) -> tuple[Party | None, OwnerReason | None]:
    """Walk the precedence list; the first step that finds a unit gives the owner.

    Parameters
    ----------
    steps : sequence of OwnerRule
        From :func:`effective_owner_rules`.
    matches : sequence of Party
        Every unit party routing matched, before de-duplication, in answer order;
        each names its object in ``reason.layer``/``reason.code``.
    objects : mapping
        Layer → the hits routing used (nearest road section and key site only).

    Returns
    -------
    (Party or None, OwnerReason or None)
    """
    for step in steps:
        for hit in objects.get(str(step.layer), []):
            if not _on_site(hit, step):
                continue
            here = [
                p
                for p in matches
                if p.subject_kind == SubjectKind.unit.value
                and p.reason.layer == str(step.layer)
                and p.reason.code == hit.info.code
            ]
            holders = [p for p in here if p.role == str(step.role)]
            if not holders:
                continue
            leads = [p for p in here if p.role == Role.lead.value]
            co_built = step.role == Role.responsible and len(holders) > 1 and bool(leads)
            owner = leads[0] if co_built else holders[0]
            return owner, OwnerReason(
                rule_category=step.category_code,
                step=step.rank,
                steps=len(steps),
                layer=str(step.layer),
                role=str(step.role),
                condition=str(step.condition),
                code=hit.info.code,
                co_built=co_built,
                department_owned=step.layer == Layer.county,
                note=step.note,
            )
    return None, None


# =========================================================================== resolve


def _area_ref(hit: Hit, gen_id: int | None) -> AreaRef:
    info = hit.info
    return AreaRef(
        info.layer,
        info.type,
        info.code,
        info.name,
        Reason("covers", info.layer, info.code, 0.0, generation_id=gen_id),
    )


def resolve(
    session: Session,
    *,
    lon: float,
    lat: float,
    category: str,
    day: date,
    generation_id: int | None,
    hits: Mapping[str, list[Hit]],
    tables: RoutingTables | None = None,
    points: PointIndex | None = None,
) -> Responsibility:
    """Apply the routing rules to what lies at a point.

    Parameters
    ----------
    session : Session
    lon, lat : float
        WGS84 degrees.
    category : str
        Category code.
    day : date
        Assignments valid on this day.
    generation_id : int or None
        The generation the hits come from.
    hits : mapping
        Layer → hits, as from :meth:`civgrid.grids.boundaries.store.Store.hits_at`.
    tables : RoutingTables, optional
        The rules, categories and assignments (a cached copy,
        :meth:`civgrid.grids.boundaries.store.Store.routing_tables`); read from
        ``session`` when not given.
    points : PointIndex, optional
        The assessment-point register read once (bulk routing); when not given, the
        one kept with ``tables`` (:meth:`RoutingTables.point_index`). The answer is
        the same either way.

    Returns
    -------
    Responsibility
    """
    if tables is None:
        tables = RoutingTables.load(session)
    if points is None:
        points = tables.point_index(session)
    chain = tables.chain(category)
    chain_codes = [c.code for c in chain]
    deadline = next((c.deadline_hours for c in chain if c.deadline_hours is not None), None)

    # The objects a rule can land on: the polygons covering the point, the nearest road
    # section within tolerance and the nearest key site whose zone contains the point
    # (the other zones are listed in the answer, but one site answers for the spot).
    objects: dict[str, list[Hit]] = {}
    for layer_name, layer_hits in hits.items():
        if layer_name in (Layer.road_section.value, Layer.key_site.value):
            objects[layer_name] = layer_hits[:1]
        else:
            objects[layer_name] = list(layer_hits)

    def first(layer: Layer) -> AreaRef | None:
        h = objects.get(layer.value)
        return _area_ref(h[0], generation_id) if h else None

    owner_steps = effective_owner_rules(tables.owner_rules, chain_codes)
    shop = _shop_at(session, lon, lat, owner_steps)
    if shop is not None:
        objects[Layer.shop.value] = [shop]
    point = _point_at(session, lon, lat, points)
    if point is not None:
        objects[Layer.assessment_point.value] = [point[0]]
    rules = effective_rules(tables.rules, chain_codes)
    assignments = tables.assignments_on(objects, day, chain_codes)

    parties: list[tuple[tuple[Any, ...], Party]] = []
    matches: list[tuple[tuple[Any, ...], Party]] = []  # before de-duplication, for the owner
    seen: set[tuple[str, str, str]] = set()
    for rule in rules:
        for hit in objects.get(str(rule.layer), []):
            for a in assignments.get((str(rule.layer), hit.info.code), []):
                if a.role != rule.role or a.subject_kind != rule.subject_kind:
                    continue
                if a.key is None or a.name is None:
                    continue  # no unit (leader) behind the assignment
                if rule.subject_kind == SubjectKind.unit:
                    if rule.unit_kind and a.unit_kind != rule.unit_kind:
                        continue
                    key, name, kind = a.key, a.name, a.unit_kind
                else:
                    key, name, kind = a.key, a.name, None
                reason = Reason(
                    "assignment",
                    str(rule.layer),
                    hit.info.code,
                    hit.distance_m,
                    rule.id,
                    a.id,
                    generation_id,
                )
                party = Party(
                    str(a.subject_kind), key, name, kind, str(a.role), a.category_code, reason
                )
                order = (rule.priority, _SPECIFICITY[Layer(rule.layer)], hit.distance_m, key)
                matches.append((order, party))
                dedupe = (str(a.subject_kind), key, str(a.role))
                if dedupe in seen:
                    continue
                seen.add(dedupe)
                parties.append((order, party))
    parties.sort(key=lambda item: item[0])
    matches.sort(key=lambda item: item[0])
    owner, owner_reason = choose_owner(owner_steps, [p for _, p in matches], objects)
    ordered = [p for _, p in parties]

    def pick(roles: set[str], kind: str | None = None) -> tuple[Party, ...]:
        return tuple(
            p for p in ordered if p.role in roles and (kind is None or p.subject_kind == kind)
        )

    responsible = pick({Role.responsible.value}, "unit")
    leads = pick({Role.lead.value}, "unit")
    road = None
    road_hits = objects.get(Layer.road_section.value)
    if road_hits:
        h = road_hits[0]
        chiefs = tuple(p for p in pick({Role.road_chief.value}) if p.reason.code == h.info.code)
        road = RoadRef(
            h.info.code,
            h.info.name,
            h.info.extra.get("extent"),
            h.distance_m,
            chiefs,
            Reason(
                "near_line",
                Layer.road_section.value,
                h.info.code,
                h.distance_m,
                generation_id=generation_id,
            ),
        )
    sites = tuple(
        SiteRef(
            h.info.code,
            h.info.type,
            h.info.name,
            float(h.info.extra.get("zone_radius_m", 0.0)),
            h.distance_m,
            Reason(
                "in_zone",
                Layer.key_site.value,
                h.info.code,
                h.distance_m,
                generation_id=generation_id,
            ),
        )
        for h in hits.get(Layer.key_site.value, [])
    )
    county = first(Layer.county)
    township = first(Layer.township)
    triage = None
    if county is None and township is None:
        triage = "outside_jurisdiction"
    elif owner is None:
        triage = "no_responsible_unit"
    return Responsibility(
        lon=lon,
        lat=lat,
        category_code=chain[0].code,
        category_name=chain[0].name,
        deadline_hours=deadline,
        day=day,
        generation_id=generation_id,
        county=county,
        township=township,
        community=first(Layer.community),
        unit_grid=first(Layer.unit_grid),
        supervision_areas=tuple(
            _area_ref(h, generation_id) for h in objects.get(Layer.supervision_area.value, [])
        ),
        road_section=road,
        key_sites=sites,
        responsible_units=responsible,
        lead_unit=leads[0] if leads else None,
        leaders=pick({Role.contact.value, Role.contract.value, Role.road_chief.value}, "leader"),
        pairing_units=pick({Role.pairing.value}, "unit"),
        supervision_teams=pick({Role.supervision.value}, "unit"),
        owner=owner,
        owner_reason=owner_reason,
        triage=triage,
        parties=tuple(ordered),
        central_city=first(Layer.central_city),
        shop=_shop_ref(shop, assignments) if shop is not None else None,
        assessment_point=point[1] if point is not None else None,
    )


def _point_at(
    session: Session, lon: float, lat: float, points: PointIndex | None = None
) -> tuple[Hit, PointRef] | None:
    """The assessment point at the report, as a routing hit and a reference."""
    found = points.at(lon, lat) if points is not None else point_at(session, lon, lat)
    if found is None:
        return None
    p = found.point
    info = ObjectInfo(
        p.id, Layer.assessment_point.value, p.code, p.name, p.point_type, {"point": True}
    )
    unit = p.responsible_unit
    ref = PointRef(
        p.code, p.name, p.point_type, found.distance_m, p.must_check, unit.key, unit.name
    )
    return Hit(info, found.distance_m), ref


def _shop_at(session: Session, lon: float, lat: float, steps: Sequence[_OwnerStep]) -> Hit | None:
    """The shop frontage at the point, when the category's owner steps name shops.

    Only categories whose owner precedence list has a ``shop`` step (the 门前五包
    family in the seed) look for a shop, within that step's ``on_site_m`` metres.
    """
    limits = [
        s.on_site_m if s.on_site_m is not None else DEFAULT_SNAP_M
        for s in steps
        if s.layer == Layer.shop
    ]
    if not limits:
        return None
    found = nearest_shop(session, lon, lat, max(limits))
    if found is None:
        return None
    shop = found.shop
    extra = {
        "street": shop.street,
        "responsibility_letter": shop.responsibility_letter.isoformat()
        if shop.responsibility_letter
        else None,
        "frontage_duties": tuple(shop.frontage_duties or ()),
    }
    info = ObjectInfo(shop.id, Layer.shop.value, shop.code, shop.name, Layer.shop.value, extra)
    return Hit(info, found.distance_m)


def _shop_ref(hit: Hit, assignments: Mapping[tuple[str, str], Sequence[_AssignmentRow]]) -> ShopRef:
    """The shop as the responsible party, with the grid unit that holds its frontage."""
    unit = next(
        (
            a
            for a in assignments.get((Layer.shop.value, hit.info.code), ())
            if a.role == Role.responsible and a.subject_kind == SubjectKind.unit and a.key
        ),
        None,
    )
    x = hit.info.extra
    return ShopRef(
        code=hit.info.code,
        name=hit.info.name,
        street=x.get("street"),
        distance_m=hit.distance_m,
        enforcement_grid_unit_key=(unit.key or "") if unit else "",
        enforcement_grid_unit_name=(unit.name or "") if unit else "",
        responsibility_letter=x.get("responsibility_letter"),
        frontage_duties=tuple(x.get("frontage_duties") or ()),
    )
