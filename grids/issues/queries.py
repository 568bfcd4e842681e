"""Queries: the issue list with its filters and pages, a unit's inbox."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from civgrid.grids.boundaries.models import Leader, Unit
from civgrid.grids.core.errors import (
    InvalidInputError,
)
from civgrid.grids.core.types import SRID, utc
from civgrid.grids.issues.config import IssueConfig
from civgrid.grids.issues.member_sets import with_party, with_place
from civgrid.grids.issues.models import (
    Issue,
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


def list_issues(session: Session, query: IssueQuery | None = None) -> Page:
    """Issues matching ``query``, one page, with the total count.

    Raises
    ------
    InvalidInputError
        Unknown state/kind/category, bad bbox, bad paging.
    """
    q = query or IssueQuery()
    if not (1 <= q.limit <= 10_000) or q.offset < 0:
        raise InvalidInputError("limit must be 1–10000 and offset >= 0", field="limit")
    if q.order not in _ORDERS:
        raise InvalidInputError(
            f"unknown order {q.order!r}; use one of {sorted(_ORDERS)}", field="order"
        )
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
