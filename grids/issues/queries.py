"""Queries: the issue list with its filters and pages, a unit's inbox."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from civgrid.grids.boundaries.models import Category, Leader, Unit
from civgrid.grids.core.errors import (
    InvalidInputError,
)
from civgrid.grids.core.types import SRID, utc
from civgrid.grids.issues.config import IssueConfig
from civgrid.grids.issues.describe import PartyTuple, describe_item
from civgrid.grids.issues.member_sets import with_party, with_place
from civgrid.grids.issues.models import (
    Issue,
    IssueRouting,
    PartySetMember,
    PlaceSetMember,
)
from civgrid.grids.issues.records import category_codes_under, get_unit
from civgrid.grids.issues.workflow import ON_CLOCK, State, Workflow


@dataclass
class IssueQuery:
    """Filters of :func:`list_issues` (all optional, combined with AND).

    ``area`` matches an area code of any level (county, township, community,
    unit grid, supervision area); ``unit`` the owner or a co-responsible
    unit; ``leader`` a leader answering for the issue; ``category`` includes
    its sub-categories; ``bbox`` is ``(min_lon, min_lat, max_lon, max_lat)``
    in WGS84 degrees; ``zone`` is ``"central"`` (inside the central city, 中心城区)
    or ``"rural"`` (in the county, outside it) — the two add up to the county.
    """

    states: Sequence[str] | None = None
    kinds: Sequence[str] | None = None
    category: str | None = None
    sources: Sequence[str] | None = None
    area: str | None = None
    unit: str | None = None
    owner_only: bool = False
    leader: str | None = None
    road_section: str | None = None
    key_site: str | None = None
    reported_from: datetime | None = None
    reported_to: datetime | None = None
    overdue: bool | None = None
    escalated: bool | None = None
    recurrent: bool | None = None
    bbox: tuple[float, float, float, float] | None = None
    zone: str | None = None
    ids: Sequence[int] | None = None
    #: Search: an issue number (``123`` or ``#123``), else words of the address or description.
    text: str | None = None
    #: Deadline before this moment (due soon, with ``overdue=False``).
    deadline_before: datetime | None = None
    extension_pending: bool | None = None
    #: Has a 督办 notice (``notice_count > 0``).
    supervised: bool | None = None
    #: Has an owner unit (a triaged issue with a proposed owner, ready to dispatch).
    proposed: bool | None = None
    limit: int = 50
    offset: int = 0
    order: str = "-reported_at"
    #: A :class:`civgrid.grids.accounts.permissions.Scope`: only issues the actor may see.
    scope: Any = None
    #: Count at most this many issues past ``offset`` (None: count them all). A larger
    #: total is reported as ``offset + count_cap`` with :attr:`Page.total_capped`.
    count_cap: int | None = None


@dataclass
class Page:
    """One page of issues."""

    items: list[Issue]
    total: int
    limit: int
    offset: int
    #: ``total`` is a lower bound: more issues match (:attr:`IssueQuery.count_cap`).
    total_capped: bool = False


_ORDERS = {
    "reported_at": (Issue.reported_at, Issue.id),
    "-reported_at": (Issue.reported_at.desc(), Issue.id.desc()),
    "deadline": (Issue.deadline, Issue.id),
    "-deadline": (Issue.deadline.desc(), Issue.id.desc()),
    "id": (Issue.id,),
    "-id": (Issue.id.desc(),),
    "updated_at": (Issue.updated_at, Issue.id),
    "-updated_at": (Issue.updated_at.desc(), Issue.id.desc()),
}


#: Zones of :attr:`IssueQuery.zone`: central city (中心城区) or countryside (乡村).
ZONES = ("central", "rural")


def zone_condition(zone: str) -> Any:
    """SQL condition on ``issues``: in the central city, or in the county outside it.

    Central = the issue lay in a ``central_city`` area at report time (its
    place set); rural = it lay in the county (``county_code`` set) but not
    there (an issue with no place set is not central). So central + rural = the county's issues.

    Raises
    ------
    InvalidInputError
        ``zone`` is not ``"central"`` or ``"rural"``.
    """
    if zone not in ZONES:
        raise InvalidInputError(f"unknown zone {zone!r}; use central or rural", field="zone")
    central = with_place(PlaceSetMember.layer == "central_city")
    return (
        central
        if zone == "central"
        else and_(Issue.county_code.is_not(None), or_(Issue.place_set_id.is_(None), ~central))
    )


def zone_counts(session: Session, conditions: Sequence[Any] = ()) -> dict[str, int]:
    """Issues of the county split central city / countryside (中心城区 / 乡村).

    Parameters
    ----------
    session : Session
    conditions : sequence of SQL expressions
        Further restrictions on ``issues`` (a date range, the caller's scope).

    Returns
    -------
    dict
        ``county``, ``central``, ``rural`` (merged issues left out);
        ``central + rural == county`` by construction of :func:`zone_condition`.
    """
    base = [Issue.state != State.merged, Issue.county_code.is_not(None), *conditions]

    def count(*extra: Any) -> int:
        return int(session.scalar(select(func.count(Issue.id)).where(*base, *extra)) or 0)

    return {
        "county": count(),
        "central": count(zone_condition("central")),
        "rural": count(zone_condition("rural")),
    }


def issue_conditions(session: Session, q: IssueQuery) -> list[Any]:
    conds: list[Any] = []
    if q.states:
        bad = [s for s in q.states if s not in State.__members__]
        if bad:
            raise InvalidInputError(f"unknown state {bad[0]!r}", field="state")
        conds.append(Issue.state.in_([State(s) for s in q.states]))
    if q.kinds:
        try:
            states = Workflow.states_of_kind(*q.kinds)
        except ValueError as exc:
            raise InvalidInputError(f"unknown kind in {list(q.kinds)}", field="kind") from exc
        conds.append(Issue.state.in_(states))
    if q.category:
        conds.append(Issue.category_code.in_(category_codes_under(session, q.category)))
    if q.sources:
        conds.append(Issue.source.in_(list(q.sources)))
    if q.area:
        conds.append(
            with_place(
                PlaceSetMember.code == q.area,
                PlaceSetMember.layer.in_(
                    [
                        "county",
                        "township",
                        "community",
                        "unit_grid",
                        "supervision_area",
                        "central_city",
                    ]
                ),
            )
        )
    if q.road_section:
        conds.append(Issue.road_section_code == q.road_section)
    if q.key_site:
        conds.append(
            with_place(PlaceSetMember.layer == "key_site", PlaceSetMember.code == q.key_site)
        )
    if q.unit:
        roles = ["owner"] if q.owner_only else ["owner", "co_responsible"]
        conds.append(
            with_party(
                PartySetMember.role.in_(roles),
                PartySetMember.unit_id
                == select(Unit.id).where(Unit.key == q.unit).scalar_subquery(),
            )
        )
    if q.leader:
        conds.append(
            with_party(
                PartySetMember.leader_id
                == select(Leader.id).where(Leader.key == q.leader).scalar_subquery(),
            )
        )
    if q.reported_from is not None:
        conds.append(Issue.reported_at >= utc(q.reported_from))
    if q.reported_to is not None:
        conds.append(Issue.reported_at < utc(q.reported_to))
    if q.overdue is not None:
        conds.append(Issue.overdue.is_(q.overdue))
    if q.escalated is not None:
        conds.append(Issue.escalated.is_(q.escalated))
    if q.recurrent is not None:
        conds.append(
            Issue.recurrence_of_id.is_not(None) if q.recurrent else Issue.recurrence_of_id.is_(None)
        )
    if q.bbox is not None:
        minx, miny, maxx, maxy = q.bbox
        if not (minx <= maxx and miny <= maxy):
            raise InvalidInputError("bbox must be min_lon,min_lat,max_lon,max_lat", field="bbox")
        conds.append(in_box(session, minx, miny, maxx, maxy))
    if q.zone is not None:
        conds.append(zone_condition(q.zone))
    if q.ids is not None:
        conds.append(Issue.id.in_(list(q.ids)))
    conds.extend(_work_conditions(q))
    if q.scope is not None:
        conds.extend(q.scope.issue_conditions())
    return conds


def _work_conditions(q: IssueQuery) -> list[Any]:
    """The work queues' filters: text search, due before, extension pending, 督办, proposed."""
    conds: list[Any] = []
    text = (q.text or "").strip()
    if text:
        number = text.lstrip("#＃").strip()
        if number.isdigit() and len(number) <= 12:
            conds.append(Issue.id == int(number))
        else:
            for word in text.split()[:5]:
                like = f"%{word}%"
                conds.append(or_(Issue.description.ilike(like), Issue.address.ilike(like)))
    if q.deadline_before is not None:
        conds.append(Issue.deadline < utc(q.deadline_before))
    if q.extension_pending is not None:
        conds.append(Issue.extension_pending.is_(q.extension_pending))
    if q.supervised is not None:
        conds.append(Issue.notice_count > 0 if q.supervised else Issue.notice_count == 0)
    if q.proposed is not None:
        owned = with_party(PartySetMember.role == "owner")
        conds.append(owned if q.proposed else or_(Issue.party_set_id.is_(None), ~owned))
    return conds


def in_box(session: Session, minx: float, miny: float, maxx: float, maxy: float) -> Any:
    """SQL condition: the issue's point lies in the box (edges included), WGS84 degrees.

    On PostGIS the box is also an envelope tested with ``&&`` against the geometry, so
    the planner can use the spatial (GiST) index ``ix_issues_geom``; the index boxes are
    single precision, so the exact test stays on ``lon``/``lat``. On SQLite the range
    on ``lon`` uses the index ``ix_issues_lonlat``. Issues without a point never match.
    """
    exact = and_(Issue.lon.between(minx, maxx), Issue.lat.between(miny, maxy))
    if session.get_bind().dialect.name != "postgresql":
        return exact
    envelope = func.ST_MakeEnvelope(minx, miny, maxx, maxy, SRID)
    return and_(Issue.geom.op("&&")(envelope), exact)


def _checked(query: IssueQuery | None) -> IssueQuery:
    """The query, its paging and order checked (InvalidInputError)."""
    q = query or IssueQuery()
    if not (1 <= q.limit <= 10_000) or q.offset < 0:
        raise InvalidInputError("limit must be 1–10000 and offset >= 0", field="limit")
    if q.order not in _ORDERS:
        raise InvalidInputError(
            f"unknown order {q.order!r}; use one of {sorted(_ORDERS)}", field="order"
        )
    return q


def _page(session: Session, q: IssueQuery, conds: Sequence[Any], items: list[Any]) -> Page:
    """The page of ``items`` (the query's rows) with its total (bounded by ``count_cap``)."""
    if len(items) < q.limit and (items or q.offset == 0):  # the last page: nothing to count
        return Page(items, q.offset + len(items), q.limit, q.offset)
    if q.count_cap is None:
        total = session.scalar(select(func.count()).select_from(Issue).where(*conds)) or 0
        return Page(items, int(total), q.limit, q.offset)
    # a bounded count: at most offset + cap + 1 rows are looked at (a unit's queue of
    # 8·10³ open issues probes each for the unit otherwise, bench/scale.py)
    bound = q.offset + max(q.count_cap, q.limit)
    upto = select(Issue.id).where(*conds).limit(bound + 1).subquery()
    n = int(session.scalar(select(func.count()).select_from(upto)) or 0)
    return Page(items, min(n, bound), q.limit, q.offset, total_capped=n > bound)


def list_issues(session: Session, query: IssueQuery | None = None) -> Page:
    """Issues matching ``query``, one page, with the total count.

    Raises
    ------
    InvalidInputError
        Unknown state/kind/category, bad bbox, bad paging.
    """
    q = _checked(query)
    conds = issue_conditions(session, q)
    items = list(
        session.scalars(
            select(Issue)
            .where(*conds)
            .options(selectinload(Issue.parties))
            .order_by(*_ORDERS[q.order])
            .limit(q.limit)
            .offset(q.offset)
        )
    )
    return _page(session, q, conds, items)


#: The columns of ``issues`` an item of the list shows (:func:`describe_item`).
_ITEM_COLUMNS = (
    Issue.id,
    Issue.version,
    Issue.state,
    Issue.category_code,
    Issue.source,
    Issue.priority,
    Issue.description,
    Issue.address,
    Issue.lon,
    Issue.lat,
    Issue.input_crs,
    Issue.input_lon,
    Issue.input_lat,
    Issue.location_source,
    Issue.generation_id,
    Issue.triage_reason,
    Issue.reported_at,
    Issue.assigned_at,
    Issue.deadline,
    Issue.deadline_rule,
    Issue.submitted_at,
    Issue.closed_at,
    Issue.updated_at,
    Issue.overdue,
    Issue.escalated,
    Issue.extension_pending,
    Issue.overdue_at,
    Issue.escalated_at,
    Issue.return_count,
    Issue.extension_count,
    Issue.duplicate_count,
    Issue.notice_count,
    Issue.duplicate_of_id,
    Issue.recurrence_of_id,
    Issue.repeat_count,
    Issue.measures,
    Issue.reinspection_result,
    Issue.reporter_role,
)


def page_parties(
    session: Session, issue_ids: Sequence[int], *, party_sets: dict[int, int | None] | None = None
) -> dict[int, list[PartyTuple]]:
    """Every party of each issue of a page, as :func:`describe_item` takes them.

    The one place the list's item reads the parties (a change of where parties are
    stored changes this function only). ``party_sets`` (issue id → ``party_set_id``),
    when the caller read them with the page, saves a query.

    Returns
    -------
    dict
        Issue id → ``[(role, (unit key, name, kind) | None, (leader key, title) | None)]``
        in member order; an issue without parties is absent.
    """
    if not issue_ids:
        return {}
    # an issue's parties are the members of its party set (shared by many issues):
    # read each set of the page once, then hand it to every issue pointing at it
    if party_sets is not None:
        set_of = {i: party_sets[i] for i in issue_ids if party_sets.get(i) is not None}
    else:
        set_of = dict(
            session.execute(
                select(Issue.id, Issue.party_set_id).where(
                    Issue.id.in_(list(issue_ids)), Issue.party_set_id.is_not(None)
                )
            ).all()
        )
    if not set_of:
        return {}
    rows = session.execute(
        select(
            PartySetMember.set_id,
            PartySetMember.role,
            Unit.key.label("unit_key"),
            Unit.name,
            Unit.kind,
            Leader.key.label("leader_key"),
            Leader.title,
        )
        .outerjoin(Unit, Unit.id == PartySetMember.unit_id)
        .outerjoin(Leader, Leader.id == PartySetMember.leader_id)
        .where(PartySetMember.set_id.in_(sorted(set(set_of.values()))))
        .order_by(PartySetMember.id)
    )
    members: dict[int, list[PartyTuple]] = {}
    for set_id, role, ukey, uname, ukind, lkey, ltitle in rows:
        members.setdefault(set_id, []).append(
            (
                role,
                None if ukey is None else (ukey, uname, ukind),
                None if lkey is None else (lkey, ltitle),
            )
        )
    return {i: list(members[s]) for i, s in set_of.items() if s in members}


def list_issue_items(
    session: Session,
    query: IssueQuery | None = None,
    workflow: Workflow | None = None,
    *,
    routing: bool = True,
) -> Page:
    """:func:`list_issues` with each item described (:func:`describe_item`), read as columns.

    The same issues, order and total as :func:`list_issues` (the same conditions); each
    item is the dict :func:`~civgrid.grids.issues.describe.describe` gives (history
    left out), its float fields as floats (``floats=True``), without loading ORM objects:
    the list's columns, the category's and the owner's names, the routing answer, and
    the parties (:func:`page_parties`).

    Parameters
    ----------
    routing : bool
        Keep each item's full routing answer; False gives ``routing: None`` (the list's
        default; the places and the owner's basis are read from it either way).

    Raises
    ------
    InvalidInputError
        As :func:`list_issues`.
    """
    q = _checked(query)
    wf = workflow or Workflow()
    conds = issue_conditions(session, q)
    # aliases: the filters' subqueries on units and categories must not correlate to these
    owner, cat, shared = aliased(Unit), aliased(Category), aliased(IssueRouting)
    rows = session.execute(
        select(
            *_ITEM_COLUMNS,
            cat.name.label("category_name"),
            owner.key.label("owner_key"),
            owner.name.label("owner_name"),
            owner.kind.label("owner_kind"),
            Issue.own_routing,
            shared.answer.label("shared_routing"),
            Issue.party_set_id,
        )
        .outerjoin(cat, cat.code == Issue.category_code)
        .outerjoin(owner, owner.id == Issue.owner_unit_id)
        .outerjoin(shared, shared.id == Issue.routing_id)
        .where(*conds)
        .order_by(*_ORDERS[q.order])
        .limit(q.limit)
        .offset(q.offset)
    ).all()
    parties = page_parties(
        session, [r.id for r in rows], party_sets={r.id: r.party_set_id for r in rows}
    )
    items = []
    for r in rows:
        answer = r.own_routing if r.own_routing is not None else r.shared_routing
        item = describe_item(
            r,
            wf,
            category_name=r.category_name,
            owner=None if r.owner_key is None else (r.owner_key, r.owner_name, r.owner_kind),
            parties=parties.get(r.id, ()),
            routing=answer,
            floats=True,
        )
        if not routing:
            item["routing"] = None
        items.append(item)
    return _page(session, q, conds, items)


def unit_inbox(
    session: Session, unit_key: str, *, config: IssueConfig | None = None
) -> dict[str, list[Issue]]:
    """A unit's to-do list: ``assigned``, ``returned``, ``due_soon``, ``overdue``, ``watching``.

    ``watching`` are open issues where the unit is co-responsible.
    """
    cfg = config or IssueConfig()
    now = cfg.now()
    get_unit(session, unit_key)
    mine = list_issues(
        session,
        IssueQuery(unit=unit_key, owner_only=True, kinds=["open"], limit=10_000, order="deadline"),
    ).items
    soon = now + timedelta(hours=cfg.due_soon_hours)
    co = list_issues(
        session, IssueQuery(unit=unit_key, kinds=["open"], limit=10_000, order="deadline")
    ).items
    mine_ids = {i.id for i in mine}
    return {
        "assigned": [i for i in mine if i.state == State.assigned],
        "returned": [i for i in mine if i.state == State.returned],
        "due_soon": [
            i
            for i in mine
            if i.state in ON_CLOCK
            and not i.overdue
            and i.deadline is not None
            and now <= i.deadline <= soon
        ],
        "overdue": [i for i in mine if i.overdue],
        "watching": [i for i in co if i.id not in mine_ids],
    }
