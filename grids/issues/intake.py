"""Intake by location (:func:`report_issue`): validate, convert and snap the point, route it
to the units and leaders who answer for the place, merge duplicates, mark recurrences, start
the clock or wait in triage; address matching.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import shapely
from sqlalchemy import Select, and_, bindparam, func, literal_column, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from civgrid.geo.crs import check_lonlat, normalize_crs, to_wgs84
from civgrid.geo.errors import GeoError
from civgrid.grids.boundaries.models import Category, Leader, Unit
from civgrid.grids.core.actors import Actor, ActorRole
from civgrid.grids.core.calendar import Priority
from civgrid.grids.core.errors import (
    ConflictError,
    InvalidInputError,
)
from civgrid.grids.core.retry import RaceLostError
from civgrid.grids.core.types import utc
from civgrid.grids.issues.campaigns import tag_issue
from civgrid.grids.issues.config import IssueConfig, Source
from civgrid.grids.issues.intake_write import (
    insert_issue_and_report,
    insert_new_issue,
    insert_report_event,
)
from civgrid.grids.issues.links import visit_linker
from civgrid.grids.issues.member_sets import point_at_parties, point_at_places
from civgrid.grids.issues.models import (
    Issue,
    PartySetMember,
    PlaceSetMember,
)
from civgrid.grids.issues.photos import PhotoInput, check_photos
from civgrid.grids.issues.records import (
    LEADER_ROLES,
    OPEN_STATES,
    attach_photos,
    distances_m,
    flush_issue,
    leaders_by_key,
    margin_deg,
    record_event,
    units_by_key,
)
from civgrid.grids.issues.workflow import State

#: Largest free-form ``attributes`` of a report, as UTF-8 JSON (local choice: Open311
#: attributes and import columns are a few hundred bytes; every read of an issue
#: carries them).
ATTRIBUTES_MAX_BYTES = 16 * 1024


class TriageReason:
    """Why an issue waits in triage (待分拣)."""

    outside_jurisdiction = "outside_jurisdiction"
    unroutable = "unroutable"
    anonymous_citizen = "anonymous_citizen"
    public_intake = "public_intake"  # a report without an account: always confirmed first
    address_unmatched = "address_unmatched"


@dataclass
class IssueReport:
    """What a reporter sends.

    Attributes
    ----------
    category : str
        Category code (``street_vending``…).
    source : Source or str
    lon, lat : float, optional
        The place in ``crs`` (degrees). Either a point or an ``address``.
    crs : str
        ``wgs84`` (default), ``gcj02``, ``bd09`` or ``cgcs2000``.
    address : str, optional
        Kept as text; used to find the place when there is no point.
    description : str, optional
    priority : Priority or str
    reported_at : datetime, optional
        When the problem was seen (default: now; not in the future).
    reporter_name, reporter_contact : str, optional
        A citizen who gives neither is anonymous.
    photos : sequence of PhotoInput
    attributes : dict, optional
        Free extra data (Open311 attributes, import columns).
    visit_id : int, optional
        The planned patrol visit (巡查走访) during which it was found; recorded as
        a visit–issue link (``patrol_visit_issues``).
    """

    category: str
    source: Source | str
    lon: float | None = None
    lat: float | None = None
    crs: str = "wgs84"
    address: str | None = None
    description: str | None = None
    priority: Priority | str = Priority.normal
    reported_at: datetime | None = None
    reporter_name: str | None = None
    reporter_contact: str | None = None
    photos: Sequence[PhotoInput] = ()
    attributes: dict[str, Any] | None = None
    visit_id: int | None = None

    def fingerprint(self) -> str:
        """Hash of the request (for idempotency: a reused key must mean the same request)."""
        data = {
            "category": self.category,
            "source": str(self.source),
            "lon": self.lon,
            "lat": self.lat,
            "crs": self.crs,
            "address": self.address,
            "description": self.description,
            "priority": str(self.priority),
            "reported_at": self.reported_at.isoformat() if self.reported_at else None,
            "photos": [hashlib.sha256(p.content).hexdigest() for p in self.photos],
        }
        if self.visit_id is not None:  # only when given: older fingerprints stay valid
            data["visit_id"] = self.visit_id
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


@dataclass
class ReportResult:
    """The outcome of :func:`report_issue`.

    Attributes
    ----------
    issue : Issue
    created : bool
        False when an earlier request with the same idempotency key is returned.
    """

    issue: Issue
    created: bool = True


def match_address(session: Session, store: Any, text: str) -> dict[str, Any] | None:
    """Find a named place in an address: road sections, unit grids (compounds), key sites.

    The longest local name contained in ``text`` (or containing it) wins.

    Returns
    -------
    dict or None
        ``{"layer", "code", "name", "lon", "lat"}`` with a point on the object
        (the middle of a road section, a point inside a compound, the site), or
        None when nothing matches.
    """
    text = (text or "").strip()
    if len(text) < 2:
        return None
    candidates: list[tuple[str, str, str, Any]] = []
    for r in store.road_sections(session=session):
        candidates.append(("road_section", r.code, r.name, r.geom))
    for a in store.areas(layer="unit_grid", session=session):
        candidates.append(("unit_grid", a.code, a.name, a.geom))
    for k in store.key_sites(session=session):
        candidates.append(("key_site", k.code, k.name, k.geom))
    best = None
    for layer, code, name, geom in candidates:
        if not name or len(name) < 2:
            continue
        if name in text or text in name:
            score = (len(name) if name in text else len(text), layer == "key_site")
            if best is None or score > best[0]:
                best = (score, layer, code, name, geom)
    if best is None:
        return None
    _, layer, code, name, geom = best
    if geom.geom_type in ("LineString", "MultiLineString"):
        pt = shapely.line_interpolate_point(geom, 0.5, normalized=True)
    elif geom.geom_type == "Point":
        pt = geom
    else:
        pt = geom.representative_point()
    return {"layer": layer, "code": code, "name": name, "lon": float(pt.x), "lat": float(pt.y)}


def _validate_report(
    session: Session, payload: IssueReport, now: datetime, store: Any = None
) -> dict[str, Any]:
    if store is not None:  # from the per-process copy while the routing stamp is unchanged
        cat = store.category(session, payload.category)
    else:
        cat = session.scalar(select(Category).where(Category.code == payload.category))
    if cat is None:
        raise InvalidInputError(
            f"unknown category {payload.category!r}", field="category", value=payload.category
        )
    try:
        source = Source(payload.source)
    except ValueError as exc:
        raise InvalidInputError(
            f"unknown source {payload.source!r}; sources are " + ", ".join(s.value for s in Source),
            field="source",
        ) from exc
    try:
        priority = Priority(payload.priority)
    except ValueError as exc:
        raise InvalidInputError(
            f"unknown priority {payload.priority!r}; priorities are "
            + ", ".join(p.value for p in Priority),
            field="priority",
        ) from exc
    reported_at = utc(payload.reported_at) or now
    if reported_at > now + timedelta(minutes=10):
        raise InvalidInputError("reported_at is in the future", field="reported_at")
    point = None
    if (payload.lon is None) != (payload.lat is None):
        missing = "lat" if payload.lat is None else "lon"
        raise InvalidInputError(f"{missing} is missing: give both lon and lat", field=missing)
    if payload.lon is not None:
        try:
            crs = normalize_crs(payload.crs or "wgs84")
        except GeoError as exc:
            raise InvalidInputError(str(exc), field="crs", value=payload.crs) from exc
        for name, v in (("lon", payload.lon), ("lat", payload.lat)):
            if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v):
                raise InvalidInputError(f"{name} must be a finite number", field=name)
        check_lonlat([payload.lon], [payload.lat])
        lon, lat = to_wgs84(float(payload.lon), float(payload.lat), crs)
        point = (float(lon), float(lat), crs)
    elif not (payload.address or "").strip():
        raise InvalidInputError(
            "a report needs a location: lon and lat, or an address", field="lon"
        )
    if payload.description is not None and len(payload.description) > 5000:
        raise InvalidInputError("description is longer than 5000 characters", field="description")
    if payload.attributes is not None:
        size = len(json.dumps(payload.attributes, ensure_ascii=False, default=str).encode())
        if size > ATTRIBUTES_MAX_BYTES:
            raise InvalidInputError(
                f"attributes are {size} bytes as JSON; at most {ATTRIBUTES_MAX_BYTES} are kept",
                field="attributes",
            )
    if payload.visit_id is not None:
        visit_linker().check(session, payload.visit_id)
    return {
        "category": cat,
        "source": source,
        "priority": priority,
        "reported_at": reported_at,
        "point": point,
    }


def compute_deadline(cfg: IssueConfig, issue: Issue, start: datetime) -> tuple[datetime, str]:
    cat_hours = issue.category.deadline_hours if issue.category is not None else None
    rule = cfg.deadlines.rule_for(issue.category_code, issue.priority, category_hours=cat_hours)
    return utc(cfg.calendar.deadline(start, rule)), str(rule)


def set_parties(
    session: Session,
    issue: Issue,
    owner: Unit | None,
    co_units: Sequence[Unit],
    leaders: Sequence[tuple[Leader, str]] | None = None,
) -> None:
    """Replace the unit parties (and the leaders when given): point ``issue`` at the
    party set of its new list (:mod:`civgrid.grids.issues.member_sets`)."""
    parties: list[PartySetMember] = []
    if owner is not None:
        parties.append(PartySetMember(role="owner", unit=owner, unit_id=owner.id))
    issue.owner_unit = owner
    issue.owner_unit_id = owner.id if owner is not None else None
    seen = {owner.key} if owner is not None else set()
    for u in co_units:
        if u.key in seen:
            continue
        seen.add(u.key)
        parties.append(PartySetMember(role="co_responsible", unit=u, unit_id=u.id))
    if leaders is None:  # keep the leaders it had
        parties += [
            PartySetMember(role=p.role, leader=p.leader, leader_id=p.leader_id)
            for p in issue.parties
            if p.unit_id is None
        ]
    else:
        parties += [
            PartySetMember(role=role, leader=leader, leader_id=leader.id)
            for leader, role in leaders
        ]
    point_at_parties(session, issue, parties)


def route_point(
    session: Session, store: Any, issue: Issue, lon: float, lat: float, now: datetime
) -> tuple[str | None, Unit | None, list[Unit]]:
    """Snap and route ``issue`` at (lon, lat); fill its place and parties.

    Returns (triage reason or None, owner, co-responsible units).
    """
    gen = store.snap_index.generation_id
    if gen is None:
        active = store.active_generation(session)
        gen = active.id if active is not None else None
    resp = store.responsible_for(
        lon, lat, issue.category_code, at=now, generation=gen, session=session
    )
    issue.generation_id = resp.generation_id
    issue.routing = resp.to_dict()
    issue.county_code = resp.county.code if resp.county else None
    issue.township_code = resp.township.code if resp.township else None
    issue.community_code = resp.community.code if resp.community else None
    issue.unit_grid_code = resp.unit_grid.code if resp.unit_grid else None
    issue.road_section_code = resp.road_section.code if resp.road_section else None
    places: list[tuple[str, str]] = []
    areas = (resp.county, resp.township, resp.community, resp.unit_grid, resp.central_city)
    for a in (*areas, *resp.supervision_areas):
        if a is not None:
            places.append((a.layer, a.code))
    if resp.road_section is not None:
        places.append(("road_section", resp.road_section.code))
    places += [("key_site", s.code) for s in resp.key_sites]
    if resp.shop is not None:  # the shop's history (门前五包) accumulates here
        places.append(("shop", resp.shop.code))
    if resp.assessment_point is not None:  # the point's record (测评点位)
        places.append(("assessment_point", resp.assessment_point.code))
    # the distances stay in the routing answer: the set is shared by every point on
    # the same objects
    point_at_places(session, issue, [PlaceSetMember(layer=lay, code=code) for lay, code in places])
    # The owner comes from the owner rules (routing.choose_owner); the other
    # responsible and lead units share the issue as co-responsible.
    sharing = resp.co_responsible()
    units = units_by_key(
        session, [p.key for p in sharing] + ([resp.owner.key] if resp.owner else [])
    )
    owner = units.get(resp.owner.key) if resp.owner is not None else None
    co = [units[p.key] for p in sharing if p.key in units]
    # Why each party answers is in the routing answer (issue.routing): a party set
    # holds no reasons, which differ from point to point (distances).
    leader_parties = [p for p in resp.leaders if p.role in LEADER_ROLES]
    leaders = leaders_by_key(session, [p.key for p in leader_parties])
    seen: set[tuple[str, str]] = set()
    leader_rows = []
    for p in leader_parties:
        if p.key in leaders and (p.key, p.role) not in seen:
            seen.add((p.key, p.role))
            leader_rows.append((leaders[p.key], p.role))
    set_parties(session, issue, owner, co, leader_rows)
    triage = None
    if resp.triage == "outside_jurisdiction":
        triage = TriageReason.outside_jurisdiction
    elif resp.triage is not None or owner is None:
        triage = TriageReason.unroutable
    return triage, owner, co


def _find_duplicate(
    session: Session,
    cfg: IssueConfig,
    category: str,
    lon: float,
    lat: float,
    exclude: set[int] | frozenset[int] = frozenset(),
    rows: Sequence[Any] | None = None,
) -> int | None:
    """The id of the nearest open issue of ``category`` within the duplicate radius.

    Reads three columns, not issues: the issue itself is loaded only once it is counted.
    ``rows``: the candidates already read (:func:`_nearby`), instead of a query.
    """
    radius = cfg.duplicate_radius_for(category)
    if radius <= 0:
        return None
    if rows is None:
        params: dict[str, Any] = {"category": category, **_box(lon, lat, radius)}
        if exclude:
            params["exclude"] = sorted(exclude)
        rows = session.execute(_duplicate_query(bool(exclude)), params).all()
    if not rows:
        return None
    ds = distances_m(lon, lat, [r.lon for r in rows], [r.lat for r in rows])
    best = min(
        ((d, r.id) for d, r in zip(ds, rows, strict=True) if d <= radius),
        default=None,
    )
    return best[1] if best else None


# The two lookups of every intake, built once (building a statement costs about what
# running it does); the variable parts are bound parameters.


@functools.cache
def _duplicate_query(exclude: bool) -> Select:
    """Open issues of a category in a lon/lat box (``exclude``: but not these ids)."""
    q = select(Issue.id, Issue.lon, Issue.lat).where(
        Issue.category_code == bindparam("category"),
        Issue.state.in_(OPEN_STATES),
        Issue.lon.between(bindparam("lon_lo"), bindparam("lon_hi")),
        Issue.lat.between(bindparam("lat_lo"), bindparam("lat_hi")),
    )
    if exclude:
        q = q.where(Issue.id.not_in(bindparam("exclude", expanding=True)))
    return q


@functools.cache
def _recurrence_query(near: bool, grid: bool, exclude: bool) -> Select:
    """Issues of a category closed in a window, in a lon/lat box (``near``) or in a unit
    grid (``grid``); columns, not issues: only the one chosen is loaded."""
    where = []
    if near:
        where.append(
            and_(
                Issue.lon.between(bindparam("lon_lo"), bindparam("lon_hi")),
                Issue.lat.between(bindparam("lat_lo"), bindparam("lat_hi")),
            )
        )
    if grid:
        where.append(Issue.unit_grid_code == bindparam("unit_grid"))
    q = select(Issue.id, Issue.lon, Issue.lat, Issue.unit_grid_code, Issue.closed_at).where(
        Issue.category_code == bindparam("category"),
        Issue.state == State.closed,
        Issue.closed_at >= bindparam("since", type_=Issue.closed_at.type),
        Issue.closed_at <= bindparam("until", type_=Issue.closed_at.type),
        or_(*where),
    )
    if exclude:
        q = q.where(Issue.id != bindparam("exclude_id"))
    return q


@functools.cache
def _box(lon: float, lat: float, radius_m: float, prefix: str = "") -> dict[str, float]:
    """The bind parameters of a box ``radius_m`` around a point (degrees, WGS84):
    ``{prefix}lon_lo`` … ``{prefix}lat_hi``, as the lookups' queries name them."""
    dlon, dlat = margin_deg(radius_m, lat)
    return {
        f"{prefix}lon_lo": lon - dlon,
        f"{prefix}lon_hi": lon + dlon,
        f"{prefix}lat_lo": lat - dlat,
        f"{prefix}lat_hi": lat + dlat,
    }


@functools.cache  # built once, as the two lookups it joins (it had lost its cache)
def _nearby_query(grid: bool, reserve: bool = False) -> Select:
    """:func:`_duplicate_query` and :func:`_recurrence_query` (near, and in the unit grid
    when ``grid``) as one query: the rows of either, with their state. The recurrence
    box's parameters are prefixed ``r_``.

    ``reserve`` (PostgreSQL): the next id of the issue sequence comes with them
    (``new_id`` on every row; a single row of NULLs when nothing is near), so the new
    issue and its event are written with one statement after (issue 19). A CTE holding
    a volatile function is evaluated once."""
    if reserve:
        seq = func.pg_get_serial_sequence(literal_column("'issues'"), literal_column("'id'"))
        new_id = select(func.nextval(seq).label("new_id")).cte("new_issue_id")
        near = _nearby_query(grid).subquery("near")
        return select(new_id.c.new_id, *near.c).select_from(new_id.outerjoin(near, true()))
    near = and_(
        Issue.lon.between(bindparam("r_lon_lo"), bindparam("r_lon_hi")),
        Issue.lat.between(bindparam("r_lat_lo"), bindparam("r_lat_hi")),
    )
    where = [near, Issue.unit_grid_code == bindparam("unit_grid")] if grid else [near]
    return select(
        Issue.id, Issue.lon, Issue.lat, Issue.unit_grid_code, Issue.closed_at, Issue.state
    ).where(
        Issue.category_code == bindparam("category"),
        or_(
            and_(
                Issue.state.in_(OPEN_STATES),
                Issue.lon.between(bindparam("lon_lo"), bindparam("lon_hi")),
                Issue.lat.between(bindparam("lat_lo"), bindparam("lat_hi")),
            ),
            and_(
                Issue.state == State.closed,
                Issue.closed_at >= bindparam("since", type_=Issue.closed_at.type),
                Issue.closed_at <= bindparam("until", type_=Issue.closed_at.type),
                or_(*where),
            ),
        ),
    )


def _nearby(
    session: Session,
    cfg: IssueConfig,
    category: str,
    lon: float,
    lat: float,
    unit_grid: str | None,
    reported_at: datetime,
    reserve: bool = False,
) -> tuple[list[Any], list[Any], int | None] | None:
    """The duplicate candidates and the recurrence candidates of a report at a point,
    read with one query: one round trip instead of two (issue 19).

    Returns
    -------
    (list, list, int or None) or None
        The rows :func:`_find_duplicate` and :func:`_find_recurrence` would read (open
        issues in the duplicate box; issues closed in the recurrence window, near or in
        ``unit_grid``), and with ``reserve`` (PostgreSQL) the id the new issue is to
        have (:func:`_nearby_query`); None when either lookup is switched off (each
        then runs alone).
    """
    radius = cfg.duplicate_radius_for(category)
    if radius <= 0 or cfg.recurrence_days <= 0:
        return None
    params: dict[str, Any] = {
        "category": category,
        **_box(lon, lat, radius),
        **_box(lon, lat, cfg.recurrence_radius_m, "r_"),
        "since": reported_at - timedelta(days=cfg.recurrence_days),
        "until": reported_at,
        "unit_grid": unit_grid,
    }
    rows = session.execute(_nearby_query(bool(unit_grid), reserve), params).all()
    new_id = rows[0].new_id if reserve else None
    if reserve:  # the row of NULLs when nothing is near
        rows = [r for r in rows if r.id is not None]
    # a row is in the answer for one reason: open (a duplicate) or closed (a recurrence)
    duplicates = [r for r in rows if r.state != State.closed]
    return duplicates, [r for r in rows if r.state == State.closed], new_id


def _link_duplicate(
    session: Session,
    cfg: IssueConfig,
    category: str,
    lon: float,
    lat: float,
    now: datetime,
    candidates: Sequence[Any] | None = None,
) -> Issue | None:
    """Find the open issue a new report duplicates and count the report on it, atomically.

    The count is one ``UPDATE … SET duplicate_count = duplicate_count + 1 … WHERE state
    is open`` (no read-modify-write): parallel duplicates of one issue all merge into it
    (PostgreSQL queues them on the row lock; SQLite has one writer). When the issue was
    closed between finding it and counting (a lost merge race), the next duplicate is
    looked for; with none left the report becomes a new issue. The version is bumped, as
    for any change to the issue (its ETag).

    ``candidates``: the open issues near, already read (:func:`_nearby`), for the first
    look.

    Returns
    -------
    Issue or None
        The open issue, its ``duplicate_count``, ``version`` and ``updated_at`` as stored.
    """
    skip: set[int] = set()
    for _ in range(3):
        rows, candidates = candidates, None  # a second look reads again
        dup_id = _find_duplicate(session, cfg, category, lon, lat, exclude=skip, rows=rows)
        if dup_id is None:
            return None
        row = session.execute(
            update(Issue)
            .where(Issue.id == dup_id, Issue.state.in_(OPEN_STATES))
            .values(
                duplicate_count=Issue.duplicate_count + 1,
                updated_at=now,
                version=Issue.version + 1,
            )
            .returning(Issue.duplicate_count, Issue.version)
            .execution_options(synchronize_session=False)
        ).one_or_none()
        if row is not None:
            dup = session.get(Issue, dup_id)
            assert dup is not None  # counted just now, in this transaction
            set_committed_value(dup, "duplicate_count", row[0])
            set_committed_value(dup, "version", row[1])
            set_committed_value(dup, "updated_at", now)
            return dup
        skip.add(dup_id)
    return None


def _find_recurrence(
    session: Session,
    cfg: IssueConfig,
    category: str,
    lon: float | None,
    lat: float | None,
    unit_grid: str | None,
    reported_at: datetime,
    exclude_id: int | None = None,
    rows: Sequence[Any] | None = None,
) -> Issue | None:
    """The closed issue a report recurs (the latest closed in the window, near or in the
    unit grid); ``rows``: the candidates already read (:func:`_nearby`), not queried."""
    if cfg.recurrence_days <= 0:
        return None
    since = reported_at - timedelta(days=cfg.recurrence_days)
    near = lon is not None and lat is not None
    if not near and not unit_grid:
        return None
    params: dict[str, Any] = {
        "category": category,
        "since": since,
        "until": reported_at,
        "unit_grid": unit_grid,
        "exclude_id": exclude_id,
    }
    if near:
        params.update(_box(lon, lat, cfg.recurrence_radius_m))
    if rows is None:
        q = _recurrence_query(near, bool(unit_grid), exclude_id is not None)
        rows = session.execute(q, params).all()
    matches = []
    for r in rows:
        same_grid = bool(unit_grid) and r.unit_grid_code == unit_grid
        close = False
        if lon is not None and r.lon is not None:
            close = distances_m(lon, lat, [r.lon], [r.lat])[0] <= cfg.recurrence_radius_m
        if same_grid or close:
            matches.append(r)
    if not matches:
        return None
    return session.get(Issue, max(matches, key=lambda r: (r.closed_at, r.id)).id)


def report_issue(
    session: Session,
    store: Any,
    actor: Actor,
    payload: IssueReport,
    idempotency_key: str | None = None,
    *,
    config: IssueConfig | None = None,
) -> ReportResult:
    """Take in a report: validate, snap, route, triage, link duplicates and recurrences.

    Parameters
    ----------
    session : Session
        Flushed, not committed.
    store : Store
        Its snap index answers the lookups.
    actor : Actor
        The reporter (role ``citizen``, ``grid_worker``, ``inspector``,
        ``command_center``… or the system actor). The public (account role
        ``public``: no account) always reports as ``citizen_complaint`` with the
        default priority, and the report waits in triage for a dispatcher.
    payload : IssueReport
    idempotency_key : str, optional
        A retry with the same key returns the first issue (``created=False``);
        the same key with a different request is a conflict.
    config : IssueConfig, optional

    Returns
    -------
    ReportResult

    Raises
    ------
    InvalidInputError, GeoError
        Bad input, naming the field; nothing is stored.
    ConflictError
        The idempotency key was used for a different request.
    RaceLostError
        A concurrent request with the same idempotency key stored its issue first. The
        session must be rolled back; run the call again in a new transaction (it then
        returns that issue, ``created=False``): :func:`civgrid.grids.core.retry.run_retrying`.
    """
    # the routing stamp is read once: the category, then the routing, answer from the
    # tables cached while it is unchanged (an intake writes none of them)
    with store.pinned_routing_tables(session):
        return _report_issue(session, store, actor, payload, idempotency_key, config=config)


def _report_issue(
    session: Session,
    store: Any,
    actor: Actor,
    payload: IssueReport,
    idempotency_key: str | None = None,
    *,
    config: IssueConfig | None = None,
) -> ReportResult:
    """:func:`report_issue` inside its pinned routing tables."""
    cfg = config or IssueConfig()
    now = cfg.now()
    public = actor.account_role == "public"
    if public:
        # the public reports as a citizen; the command center sets source and priority
        payload = dataclasses.replace(
            payload, source=Source.citizen_complaint.value, priority=Priority.normal
        )
    fingerprint = payload.fingerprint()
    if idempotency_key is not None:
        idempotency_key = idempotency_key.strip()
        if not idempotency_key or len(idempotency_key) > 200:
            raise InvalidInputError(
                "Idempotency-Key must be 1–200 characters", field="Idempotency-Key"
            )
        found = _by_idempotency_key(session, idempotency_key, fingerprint)
        if found is not None:
            return ReportResult(found, created=False)
    v = _validate_report(session, payload, now, store)
    photos = check_photos(
        payload.photos, max_bytes=cfg.photo_max_bytes, max_count=cfg.photo_max_count
    )
    if photos and cfg.photo_dir is None:
        raise InvalidInputError(
            "photos are not accepted: no photo directory is configured", field="photos"
        )
    anonymous = not (
        (payload.reporter_name or "").strip() or (payload.reporter_contact or "").strip()
    )
    issue = Issue(
        idempotency_key=idempotency_key,
        request_hash=fingerprint,
        state=State.triage,
        category_code=v["category"].code,
        source=v["source"].value,
        priority=v["priority"].value,
        description=payload.description,
        address=(payload.address or "").strip() or None,
        reporter_who=actor.who,
        reporter_role=actor.role.value,
        reporter_unit_key=actor.unit,
        reporter_name=payload.reporter_name,
        reporter_contact=payload.reporter_contact,
        anonymous=anonymous,
        reported_at=v["reported_at"],
        created_at=now,
        updated_at=now,
        attributes=payload.attributes,
    )
    issue.category = v["category"]
    triage: str | None = None
    point = v["point"]
    if point is not None:
        lon, lat, crs = point
        issue.input_crs, issue.input_lon, issue.input_lat = crs, payload.lon, payload.lat
        issue.location_source = "point"
    else:
        match = match_address(session, store, issue.address or "")
        if match is None:
            lon = lat = None
            triage = TriageReason.address_unmatched
            issue.location_source = "address"
        else:
            lon, lat = match["lon"], match["lat"]
            issue.location_source = "address"
            issue.attributes = {**(issue.attributes or {}), "address_match": match}
    if lon is not None:
        issue.lon, issue.lat = lon, lat
        issue.geom = shapely.Point(lon, lat)
        route_triage, _owner, _co = route_point(session, store, issue, lon, lat, now)
        triage = triage or route_triage
    is_citizen = actor.role is ActorRole.citizen or (
        actor.role is ActorRole.system and v["source"] is Source.citizen_complaint
    )
    if triage is None and is_citizen and anonymous and cfg.triage_anonymous_citizen:
        triage = TriageReason.anonymous_citizen
    if triage is None and public:
        triage = TriageReason.public_intake
    issue.triage_reason = triage

    # the duplicate and the recurrence candidates, read at once
    # on PostgreSQL with the new issue's id: it and its event are then one statement
    postgres = session.get_bind().dialect.name == "postgresql"
    nearby = (
        _nearby(
            session,
            cfg,
            issue.category_code,
            lon,
            lat,
            issue.unit_grid_code,
            issue.reported_at,
            reserve=postgres,
        )
        if lon is not None
        else None
    )
    new_id = nearby[2] if nearby is not None else None
    duplicate = (
        _link_duplicate(
            session, cfg, issue.category_code, lon, lat, now, None if nearby is None else nearby[0]
        )
        if lon is not None
        else None
    )
    data: dict[str, Any] = {}
    # ids and committed values, not relationship assignments: the draft must stay out of
    # the session (a many-to-one set to a stored issue would cascade it in)
    if duplicate is not None:
        issue.state = State.merged
        issue.duplicate_of_id = duplicate.id
        set_committed_value(issue, "duplicate_of", duplicate)
        issue.closed_at = now
        data["duplicate_of"] = duplicate.id
    else:
        previous = _find_recurrence(
            session,
            cfg,
            issue.category_code,
            lon,
            lat,
            issue.unit_grid_code,
            issue.reported_at,
            rows=None if nearby is None else nearby[1],
        )
        if previous is not None:
            issue.recurrence_of_id = previous.id
            set_committed_value(issue, "recurrence_of", previous)
            issue.repeat_count = previous.repeat_count + 1
            data["recurrence_of"] = previous.id
            data["repeat_count"] = issue.repeat_count
        if triage is None:
            issue.state = State.assigned
            issue.assigned_at = now
            issue.deadline, issue.deadline_rule = compute_deadline(cfg, issue, now)
    if triage:
        data["triage_reason"] = triage

    draft = issue
    ev = None
    try:
        if new_id is not None:
            issue, ev = insert_issue_and_report(
                session, draft, new_id, actor, now, note=payload.description, data=data
            )
        else:
            issue = insert_new_issue(session, draft)
    except IntegrityError as exc:
        if idempotency_key is None:
            raise
        # a concurrent request with the same key was first; this session is unusable
        # until rolled back, so the caller runs it again (grids.core.retry) and the
        # check above then answers the replay
        raise RaceLostError(
            "a concurrent request with the same Idempotency-Key was first",
            field="Idempotency-Key",
        ) from exc
    if ev is None:
        ev = insert_report_event(
            session,
            issue,
            actor,
            "report",
            now,
            to_state=issue.state,
            note=payload.description,
            data=data,
        )
    if duplicate is not None:
        record_event(
            session,
            duplicate,
            actor,
            "duplicate_linked",
            now,
            from_state=duplicate.state,
            to_state=duplicate.state,
            data={"duplicate": issue.id},
        )
    flush_issue(session, duplicate)
    tag_issue(session, issue, cfg.campaigns, cfg.calendar)  # 专项行动 open at report time
    photo_rows = attach_photos(session, issue, ev, photos, cfg, "report", now)
    if payload.visit_id is not None:
        visit_linker().link(session, payload.visit_id, issue.id)
    session.flush()
    # A new issue's history is known: this event, its photos, no notices or extensions.
    # Said here, the answer (the issue's detail) needs no query to find it out.
    for name, value in (
        ("events", [ev]),
        ("photos", list(photo_rows)),
        ("notices", []),
        ("extensions", []),
    ):
        set_committed_value(issue, name, value)
    set_committed_value(ev, "photos", list(photo_rows))
    issue._reported_visit = payload.visit_id  # read by describe: no query for it
    return ReportResult(issue, created=True)


def _by_idempotency_key(session: Session, key: str, fingerprint: str) -> Issue | None:
    found = session.scalar(select(Issue).where(Issue.idempotency_key == key))
    if found is None:
        return None
    if found.request_hash and found.request_hash != fingerprint:
        # no issue id: whoever reuses a key must not learn what it was used for
        raise ConflictError(
            "this Idempotency-Key was already used for a different request",
            field="Idempotency-Key",
        )
    return found
