"""The issue service: intake by location, automatic assignment, the rectification
workflow, 督办 notices, extensions, queries.

Every function takes the caller's :class:`~sqlalchemy.orm.Session` (it flushes,
never commits: the caller owns the transaction) and an
:class:`~civgrid.grids.issues.config.Actor`; behaviour that differs per city
(calendar, deadlines, radii, labels, the clock) comes from an
:class:`~civgrid.grids.issues.config.IssueConfig`.

Intake (:func:`report_issue`)
    The point (any of wgs84 / gcj02 / bd09 / cgcs2000) is converted to WGS84,
    snapped and routed by :meth:`Store.responsible_for
    <civgrid.grids.boundaries.store.Store.responsible_for>`. The owner is the lead unit
    of the routing answer (else the first responsible unit); the other
    responsible units are co-responsible. A report outside the jurisdiction,
    one no rule routes, an address that matches no named place and (by
    setting) an anonymous citizen report wait in **triage**; everything else
    is dispatched at once with a deadline on the working-day calendar.
    A report of the same category within the category's duplicate radius of
    an open issue is **merged** into it; one within ``recurrence_days`` after
    an earlier one closed, within ``recurrence_radius_m`` or in the same unit
    grid, is a **recurrence** of it. Distances are metres in the CGCS2000
    Gauss-Krüger zone of the point (never degrees).

Workflow
    :func:`apply` runs one event of the state machine
    (:mod:`civgrid.grids.issues.workflow`) with its permission, note and photo
    checks and writes the append-only history. A stale ``expected_version``
    (or a concurrent update) raises :class:`ConflictError`.

Deadlines
    :func:`check_deadlines` flags overdue issues, issues numbered 督办 notices
    with a second deadline and escalates when that passes.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar

import shapely
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from civgrid.geo.crs import check_lonlat, normalize_crs, to_wgs84
from civgrid.geo.errors import GeoError
from civgrid.geo.metric import Projector, metric_epsg_for
from civgrid.grids.boundaries.models import Category, Leader, Unit
from civgrid.grids.core.actors import SYSTEM_ACTOR, Actor, ActorRole, Guard
from civgrid.grids.core.calendar import DeadlineRule, Priority
from civgrid.grids.core.errors import (
    ConflictError,
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
)
from civgrid.grids.core.types import utc
from civgrid.grids.issues.config import SOURCE_LABELS, IssueConfig, Source
from civgrid.grids.issues.links import visit_linker
from civgrid.grids.issues.models import (
    ExtensionRequest,
    Issue,
    IssueEvent,
    IssueParty,
    IssuePlace,
    Photo,
    SupervisionNotice,
)
from civgrid.grids.issues.photos import CheckedPhoto, PhotoInput, check_photos, store_photo
from civgrid.grids.issues.workflow import KIND, Action, Kind, State, Workflow

__all__ = [
    "SYSTEM_ACTOR",
    "Actor",
    "DeadlineReport",
    "IssueQuery",
    "IssueReport",
    "Page",
    "ReportResult",
    "TriageReason",
    "accept",
    "apply",
    "category_codes_under",
    "check_deadlines",
    "check_scope",
    "decide_extension",
    "describe",
    "dispatch",
    "get_issue",
    "list_issues",
    "match_address",
    "merge",
    "reassign",
    "reinspect",
    "reject",
    "reopen",
    "report_issue",
    "request_extension",
    "submit",
    "unit_inbox",
    "unmerge",
]

OPEN_STATES = [s for s in State if KIND[s] is Kind.open]
#: States in which the owner unit is on the clock.
ON_CLOCK = [State.assigned, State.rectifying, State.returned]
LEADER_ROLES = ("contract", "contact", "road_chief")
T = TypeVar("T")


class TriageReason:
    """Why an issue waits in triage (待分拣)."""

    outside_jurisdiction = "outside_jurisdiction"
    unroutable = "unroutable"
    anonymous_citizen = "anonymous_citizen"
    public_intake = "public_intake"  # a report without an account: always confirmed first
    address_unmatched = "address_unmatched"


# ============================================================================ inputs


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


# ============================================================================ helpers


@lru_cache(maxsize=8)
def _projector(epsg: int) -> Projector:
    return Projector(epsg)


def distances_m(
    lon: float, lat: float, lons: Sequence[float], lats: Sequence[float]
) -> list[float]:
    """Metres from (lon, lat) to each point, in the point's Gauss-Krüger zone (never degrees)."""
    if not lons:
        return []
    proj = _projector(metric_epsg_for(lon))
    x0, y0 = proj.forward([lon], [lat])
    xs, ys = proj.forward(list(lons), list(lats))
    return [
        math.hypot(float(x) - float(x0[0]), float(y) - float(y0[0]))
        for x, y in zip(xs, ys, strict=True)
    ]


def _margin_deg(metres: float, lat: float) -> tuple[float, float]:
    """A lon/lat box half-size surely containing ``metres`` (prefilter only)."""
    dlat = metres / 110_000.0 * 1.2 + 1e-7
    dlon = metres / (111_320.0 * max(math.cos(math.radians(min(abs(lat), 85.0))), 0.05)) * 1.2
    return dlon + 1e-7, dlat


def _event(
    session: Session,
    issue: Issue,
    actor: Actor,
    action: str,
    now: datetime,
    *,
    from_state: str | None = None,
    to_state: str | None = None,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> IssueEvent:
    ev = IssueEvent(
        issue=issue,
        at=now,
        action=str(action),
        from_state=None if from_state is None else str(from_state),
        to_state=None if to_state is None else str(to_state),
        actor_who=actor.who,
        actor_role=actor.role.value,
        actor_unit_key=actor.unit,
        note=note,
        data=data or None,
    )
    session.add(ev)
    from civgrid.grids.core import audit

    audit.record(
        session,
        actor,
        f"issue.{action}",
        "issue",
        issue.id,
        before=None if from_state is None else {"state": str(from_state)},
        after={"state": None if to_state is None else str(to_state), **(data or {})},
        at=now,
    )
    return ev


def _attach_photos(
    session: Session,
    issue: Issue,
    event: IssueEvent,
    photos: Sequence[CheckedPhoto],
    cfg: IssueConfig,
    stage: str,
    now: datetime,
) -> list[Photo]:
    if not photos:
        return []
    if cfg.photo_dir is None:
        raise InvalidInputError(
            "photos are not accepted: no photo directory is configured", field="photos"
        )
    out = []
    for p in photos:
        rel = store_photo(cfg.photo_dir, p)
        row = Photo(
            issue=issue,
            event=event,
            sha256=p.sha256,
            path=rel,
            mime=p.mime,
            size=p.size,
            filename=p.filename,
            stage=stage,
            created_at=now,
        )
        session.add(row)
        out.append(row)
    return out


def _flush(session: Session, issue: Issue | None = None) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConflictError(
            "the issue was changed by someone else; reload it and try again",
            kind="issue",
            key=None if issue is None else issue.id,
        ) from exc


def _stale_is_conflict(fn: Callable[..., T]) -> Callable[..., T]:
    """Turn a concurrent update detected at any (auto)flush into a :class:`ConflictError`."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except StaleDataError as exc:
            raise ConflictError(
                "the issue was changed by someone else; reload it and try again", kind="issue"
            ) from exc

    return wrapper


def _units_by_key(session: Session, keys: Iterable[str]) -> dict[str, Unit]:
    keys = list(dict.fromkeys(k for k in keys if k))
    if not keys:
        return {}
    return {u.key: u for u in session.scalars(select(Unit).where(Unit.key.in_(keys)))}


def _unit(session: Session, key: str, field_name: str = "unit") -> Unit:
    unit = session.scalar(select(Unit).where(Unit.key == key))
    if unit is None:
        raise InvalidInputError(f"unknown unit {key!r}", field=field_name, value=key)
    return unit


def category_codes_under(session: Session, code: str) -> list[str]:
    """``code`` and every descendant category code.

    Raises
    ------
    InvalidInputError
        Unknown category (``field="category"``).
    """
    cats = list(session.execute(select(Category.id, Category.code, Category.parent_id)))
    by_code = {c.code: c for c in cats}
    if code not in by_code:
        raise InvalidInputError(f"unknown category {code!r}", field="category", value=code)
    children: dict[int | None, list[Any]] = {}
    for c in cats:
        children.setdefault(c.parent_id, []).append(c)
    out, todo = [], [by_code[code]]
    while todo:
        c = todo.pop()
        out.append(c.code)
        todo.extend(children.get(c.id, []))
    return out


def check_scope(
    session: Session, actor: Actor, issue: Issue, action: str, guard: Guard | None = None
) -> None:
    """Object-level permission of a logged-in actor (``account_role`` set) on ``issue``.

    The caller passes its per-request ``guard`` (the API: its
    :class:`civgrid.grids.accounts.permissions.Scope`); actors built without an
    account (CLI jobs, the system) are checked by the workflow table only.

    Raises
    ------
    NotFoundError
        Outside the actor's scope (no existence leak).
    PermissionDeniedError
        Visible but not the actor's to act on, or a logged-in actor without a guard
        (fail closed: a caller that forgot the scope must not act unchecked).
    """
    if guard is not None:
        guard.check_issue_action(session, issue, action)
        return
    if actor.account_role:
        raise PermissionDeniedError(
            "a logged-in actor acts only through its scope (guard)", field="actor"
        )


def get_issue(session: Session, issue_id: int, *, for_update: bool = False) -> Issue:
    """One issue by id.

    Raises
    ------
    NotFoundError
    """
    issue = session.get(Issue, issue_id, with_for_update=for_update or None)
    if issue is None:
        raise NotFoundError(f"no issue {issue_id}", kind="issue", key=issue_id)
    return issue


# ============================================================================ address


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


# ============================================================================ intake


def _validate_report(session: Session, payload: IssueReport, now: datetime) -> dict[str, Any]:
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
    if payload.visit_id is not None:
        visit_linker().check(session, payload.visit_id)
    return {
        "category": cat,
        "source": source,
        "priority": priority,
        "reported_at": reported_at,
        "point": point,
    }


def _compute_deadline(cfg: IssueConfig, issue: Issue, start: datetime) -> tuple[datetime, str]:
    cat_hours = issue.category.deadline_hours if issue.category is not None else None
    rule = cfg.deadlines.rule_for(issue.category_code, issue.priority, category_hours=cat_hours)
    return utc(cfg.calendar.deadline(start, rule)), str(rule)


def _set_parties(
    session: Session,
    issue: Issue,
    owner: Unit | None,
    co_units: Sequence[Unit],
    leaders: Sequence[tuple[Leader, str, dict | None]] | None = None,
    reasons: dict[str, dict] | None = None,
) -> None:
    """Replace the unit parties (and the leaders when given)."""
    reasons = reasons or {}
    keep = [p for p in issue.parties if p.unit_id is None and leaders is None]
    issue.parties[:] = keep
    if owner is not None:
        issue.parties.append(
            IssueParty(role="owner", unit=owner, unit_id=owner.id, reason=reasons.get(owner.key))
        )
    issue.owner_unit = owner
    issue.owner_unit_id = owner.id if owner is not None else None
    seen = {owner.key} if owner is not None else set()
    for u in co_units:
        if u.key in seen:
            continue
        seen.add(u.key)
        issue.parties.append(
            IssueParty(role="co_responsible", unit=u, unit_id=u.id, reason=reasons.get(u.key))
        )
    for leader, role, reason in leaders or []:
        issue.parties.append(
            IssueParty(role=role, leader=leader, leader_id=leader.id, reason=reason)
        )


def _route(
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
    places: list[tuple[str, str, float]] = []
    for a in (resp.county, resp.township, resp.community, resp.unit_grid, *resp.supervision_areas):
        if a is not None:
            places.append((a.layer, a.code, 0.0))
    if resp.road_section is not None:
        places.append(("road_section", resp.road_section.code, resp.road_section.distance_m))
    places += [("key_site", s.code, s.distance_m) for s in resp.key_sites]
    wanted = {(layer, code): round(d, 1) for layer, code, d in places}
    for place in list(issue.places):  # update in place: a delete+insert would hit the unique key
        key = (place.layer, place.code)
        if key in wanted:
            place.distance_m = wanted.pop(key)
        else:
            issue.places.remove(place)
    issue.places.extend(
        IssuePlace(layer=lay, code=code, distance_m=d) for (lay, code), d in wanted.items()
    )
    units = _units_by_key(
        session,
        [p.key for p in resp.responsible_units] + ([resp.lead_unit.key] if resp.lead_unit else []),
    )
    owner_party = resp.lead_unit or (resp.responsible_units[0] if resp.responsible_units else None)
    owner = units.get(owner_party.key) if owner_party is not None else None
    co = [units[p.key] for p in resp.responsible_units if p.key in units]
    reasons = {p.key: p.reason.to_dict() for p in resp.responsible_units}
    if resp.lead_unit is not None:
        reasons[resp.lead_unit.key] = resp.lead_unit.reason.to_dict()
    leader_parties = [p for p in resp.leaders if p.role in LEADER_ROLES]
    leaders = {
        lead.key: lead
        for lead in session.scalars(
            select(Leader).where(Leader.key.in_([p.key for p in leader_parties] or [""]))
        )
    }
    seen: set[tuple[str, str]] = set()
    leader_rows = []
    for p in leader_parties:
        if p.key in leaders and (p.key, p.role) not in seen:
            seen.add((p.key, p.role))
            leader_rows.append((leaders[p.key], p.role, p.reason.to_dict()))
    _set_parties(session, issue, owner, co, leader_rows, reasons)
    triage = None
    if resp.triage == "outside_jurisdiction":
        triage = TriageReason.outside_jurisdiction
    elif resp.triage is not None or owner is None:
        triage = TriageReason.unroutable
    return triage, owner, co


def _find_duplicate(
    session: Session, cfg: IssueConfig, category: str, lon: float, lat: float
) -> Issue | None:
    radius = cfg.duplicate_radius_for(category)
    if radius <= 0:
        return None
    dlon, dlat = _margin_deg(radius, lat)
    rows = list(
        session.scalars(
            select(Issue).where(
                Issue.category_code == category,
                Issue.state.in_(OPEN_STATES),
                Issue.lon.between(lon - dlon, lon + dlon),
                Issue.lat.between(lat - dlat, lat + dlat),
            )
        )
    )
    if not rows:
        return None
    ds = distances_m(lon, lat, [r.lon for r in rows], [r.lat for r in rows])
    best = min(
        ((d, r.id, r) for d, r in zip(ds, rows, strict=True) if d <= radius),
        default=None,
        key=lambda t: (t[0], t[1]),
    )
    return best[2] if best else None


def _find_recurrence(
    session: Session,
    cfg: IssueConfig,
    category: str,
    lon: float | None,
    lat: float | None,
    unit_grid: str | None,
    reported_at: datetime,
    exclude_id: int | None = None,
) -> Issue | None:
    if cfg.recurrence_days <= 0:
        return None
    since = reported_at - timedelta(days=cfg.recurrence_days)
    near = []
    if lon is not None and lat is not None:
        dlon, dlat = _margin_deg(cfg.recurrence_radius_m, lat)
        near.append(
            and_(
                Issue.lon.between(lon - dlon, lon + dlon), Issue.lat.between(lat - dlat, lat + dlat)
            )
        )
    if unit_grid:
        near.append(Issue.unit_grid_code == unit_grid)
    if not near:
        return None
    q = select(Issue).where(
        Issue.category_code == category,
        Issue.state == State.closed,
        Issue.closed_at >= since,
        Issue.closed_at <= reported_at,
        or_(*near),
    )
    if exclude_id is not None:
        q = q.where(Issue.id != exclude_id)
    rows = list(session.scalars(q))
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
    return max(matches, key=lambda r: (r.closed_at, r.id))


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
    """
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
    v = _validate_report(session, payload, now)
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
        route_triage, _owner, _co = _route(session, store, issue, lon, lat, now)
        triage = triage or route_triage
    is_citizen = actor.role is ActorRole.citizen or (
        actor.role is ActorRole.system and v["source"] is Source.citizen_complaint
    )
    if triage is None and is_citizen and anonymous and cfg.triage_anonymous_citizen:
        triage = TriageReason.anonymous_citizen
    if triage is None and public:
        triage = TriageReason.public_intake
    issue.triage_reason = triage

    duplicate = (
        _find_duplicate(session, cfg, issue.category_code, lon, lat) if lon is not None else None
    )
    data: dict[str, Any] = {}
    if duplicate is not None:
        issue.state = State.merged
        issue.duplicate_of = duplicate
        issue.closed_at = now
        data["duplicate_of"] = duplicate.id
    else:
        previous = _find_recurrence(
            session, cfg, issue.category_code, lon, lat, issue.unit_grid_code, issue.reported_at
        )
        if previous is not None:
            issue.recurrence_of = previous
            issue.repeat_count = previous.repeat_count + 1
            data["recurrence_of"] = previous.id
            data["repeat_count"] = issue.repeat_count
        if triage is None:
            issue.state = State.assigned
            issue.assigned_at = now
            issue.deadline, issue.deadline_rule = _compute_deadline(cfg, issue, now)
    if triage:
        data["triage_reason"] = triage

    session.add(issue)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        if idempotency_key is None:
            raise
        found = _by_idempotency_key(session, idempotency_key, fingerprint)
        if found is None:
            raise
        return ReportResult(found, created=False)
    ev = _event(
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
        duplicate.duplicate_count += 1
        duplicate.updated_at = now
        _event(
            session,
            duplicate,
            actor,
            "duplicate_linked",
            now,
            from_state=duplicate.state,
            to_state=duplicate.state,
            data={"duplicate": issue.id},
        )
    _flush(session, duplicate)
    _attach_photos(session, issue, ev, photos, cfg, "report", now)
    if payload.visit_id is not None:
        visit_linker().link(session, payload.visit_id, issue.id)
    session.flush()
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


# ============================================================================ workflow


def _is_reporter(issue: Issue, actor: Actor) -> bool:
    return (
        actor.role is not ActorRole.system
        and issue.reporter_who == actor.who
        and issue.reporter_role == actor.role.value
    )


def _leave_open(session: Session, issue: Issue, now: datetime, why: str) -> None:
    """Clear the flags of an issue that stops being open; settle pending requests."""
    issue.overdue = issue.escalated = issue.extension_pending = False
    for req in issue.extensions:
        if req.status == "pending":
            req.status = "refused"
            req.decided_at = now
            req.decided_by = "system"
            req.decision_note = f"issue {why}"
    for n in issue.notices:
        if n.resolved_at is None:
            n.resolved_at = now


@_stale_is_conflict
def apply(
    session: Session,
    actor: Actor,
    issue_id: int,
    action: Action | str,
    *,
    expected_version: int | None = None,
    note: str | None = None,
    photos: Sequence[PhotoInput] = (),
    passed: bool | None = None,
    measures: str | None = None,
    config: IssueConfig | None = None,
    store: Any = None,
    unit: str | None = None,
    co_units: Sequence[str] | None = None,
    into: int | None = None,
    lon: float | None = None,
    lat: float | None = None,
    crs: str = "wgs84",
    guard: Guard | None = None,
) -> Issue:
    """Run one workflow event on an issue and record it in the history.

    Parameters
    ----------
    session : Session
    actor : Actor
    issue_id : int
    action : Action or str
        ``dispatch``, ``accept``, ``submit``, ``reinspect``, ``reopen``,
        ``reject``, ``merge``, ``unmerge``, ``reassign``.
    expected_version : int, optional
        The version the caller saw; a different current version is a conflict.
    note : str, optional
        Reason / remarks (required for reject, reassign, failed reinspection, reopen).
    photos : sequence of PhotoInput
        Required for ``submit`` (the fix).
    passed : bool, optional
        The re-inspection result (``reinspect`` only).
    measures : str, optional
        Rectification measures (整改措施) for ``submit``; default: the note.
    config : IssueConfig, optional
    store : Store, optional
        Needed when ``dispatch``/``reassign`` move the issue to a new point.
    unit : str, optional
        ``dispatch``/``reassign``: the owner unit key (default: the routing answer).
    co_units : sequence of str, optional
        ``dispatch``/``reassign``: co-responsible unit keys (replace the current ones).
    into : int, optional
        ``merge``: the issue this one duplicates.
    lon, lat, crs : optional
        ``dispatch``/``reassign``: a corrected location (re-snapped and re-routed).

    Returns
    -------
    Issue

    Raises
    ------
    InvalidTransitionError
        Not allowed from the current state (HTTP 409).
    PermissionDeniedError
        The actor's role may not do it.
    InvalidInputError
        Missing note/photos/outcome, unknown unit…
    ConflictError
        Stale ``expected_version`` or a concurrent update.
    """
    cfg = config or IssueConfig()
    wf: Workflow = cfg.workflow
    now = cfg.now()
    issue = get_issue(session, issue_id)
    check_scope(session, actor, issue, str(action), guard)
    if expected_version is not None and expected_version != issue.version:
        raise ConflictError(
            f"issue {issue.id} is at version {issue.version}, not {expected_version}; "
            "reload it and try again",
            kind="issue",
            key=issue.id,
            current_version=issue.version,
        )
    checked = check_photos(photos, max_bytes=cfg.photo_max_bytes, max_count=cfg.photo_max_count)
    t = wf.check(
        issue.state,
        action,
        actor.role,
        outcome=passed,
        is_reporter=_is_reporter(issue, actor),
        note=note,
        photo_count=len(checked),
    )
    if actor.role is ActorRole.unit and t.action in (Action.accept, Action.submit):
        owner_key = issue.owner_unit.key if issue.owner_unit is not None else None
        if actor.unit != owner_key:
            raise PermissionDeniedError(
                f"only the owner unit ({owner_key}) may {t.action.value} issue {issue.id}",
                role=actor.role.value,
                unit=actor.unit,
            )
    if checked and cfg.photo_dir is None:
        raise InvalidInputError(
            "photos are not accepted: no photo directory is configured", field="photos"
        )
    source_state = State(issue.state)
    data: dict[str, Any] = {}
    companion: list[tuple[Issue, str, dict[str, Any]]] = []

    if t.action in (Action.dispatch, Action.reassign):
        data.update(
            _relocate_and_assign(
                session,
                store,
                cfg,
                issue,
                now,
                unit=unit,
                co_units=co_units,
                lon=lon,
                lat=lat,
                crs=crs,
            )
        )
        if t.action is Action.reassign:
            issue.overdue = issue.escalated = False
            for n in issue.notices:
                if n.resolved_at is None:
                    n.resolved_at = now
    elif t.action is Action.submit:
        issue.submitted_at = now
        issue.measures = measures or note
    elif t.action is Action.reinspect:
        issue.reinspection_result = "passed" if passed else "failed"
        issue.reinspection_note = note
        data["passed"] = bool(passed)
        if passed:
            issue.closed_at = now
            _leave_open(session, issue, now, "closed")
    elif t.action is Action.reopen:
        closed_at = issue.closed_at
        if closed_at is not None and now > closed_at + timedelta(days=cfg.reopen_days):
            raise InvalidTransitionError(
                f"issue {issue.id} closed on {closed_at:%Y-%m-%d}; it can be reopened only "
                f"within {cfg.reopen_days} days",
                kind="issue",
                key=issue.id,
            )
        issue.closed_at = None
        issue.reinspection_result = None
        issue.deadline, issue.deadline_rule = _compute_deadline(cfg, issue, now)
        data["deadline"] = issue.deadline.isoformat()
    elif t.action is Action.reject:
        issue.closed_at = now
        _leave_open(session, issue, now, "rejected")
    elif t.action is Action.merge:
        if into is None:
            raise InvalidInputError("merge needs the id of the original issue", field="into")
        original = get_issue(session, into)
        root = original
        if root.id == issue.id:
            raise InvalidInputError("an issue cannot duplicate itself", field="into")
        if not wf.is_open(root.state):
            raise InvalidTransitionError(
                f"issue {root.id} is {root.state}; merge only into an open issue",
                kind="issue",
                key=root.id,
            )
        issue.duplicate_of = root
        issue.closed_at = now
        _leave_open(session, issue, now, "merged")
        root.duplicate_count += 1
        data["duplicate_of"] = root.id
        companion.append((root, "duplicate_linked", {"duplicate": issue.id}))
    elif t.action is Action.unmerge:
        original = issue.duplicate_of
        if original is not None:
            original.duplicate_count = max(0, original.duplicate_count - 1)
            companion.append((original, "duplicate_unlinked", {"duplicate": issue.id}))
            data["duplicate_of"] = original.id
        issue.duplicate_of = None
        issue.duplicate_of_id = None
        issue.closed_at = None
        issue.triage_reason = "unmerged"

    if t.counts_return:
        issue.return_count += 1
        data["return_count"] = issue.return_count
    issue.state = t.target
    issue.updated_at = now
    flag_modified(issue, "updated_at")  # every event bumps the version, even a no-op reassign
    ev = _event(
        session,
        issue,
        actor,
        t.action.value,
        now,
        from_state=source_state,
        to_state=t.target,
        note=note,
        data=data,
    )
    for other, what, other_data in companion:
        other.updated_at = now
        _event(
            session,
            other,
            actor,
            what,
            now,
            from_state=other.state,
            to_state=other.state,
            data=other_data,
        )
    _flush(session, issue)
    stage = {Action.submit: "fix", Action.reinspect: "reinspection"}.get(t.action, "other")
    _attach_photos(session, issue, ev, checked, cfg, stage, now)
    if (
        t.action is Action.reinspect
        and not passed
        and cfg.returns_before_notice
        and issue.return_count >= cfg.returns_before_notice
        and not any(n.resolved_at is None for n in issue.notices)
    ):
        _issue_notice(session, issue, cfg, now, SYSTEM_ACTOR, "repeated_return")
    _flush(session, issue)
    return issue


def _relocate_and_assign(
    session: Session,
    store: Any,
    cfg: IssueConfig,
    issue: Issue,
    now: datetime,
    *,
    unit: str | None,
    co_units: Sequence[str] | None,
    lon: float | None,
    lat: float | None,
    crs: str,
) -> dict[str, Any]:
    """Dispatch/reassign: optionally re-snap at a corrected point, set owner, restart the clock."""
    data: dict[str, Any] = {
        "from_unit": issue.owner_unit.key if issue.owner_unit is not None else None
    }
    if (lon is None) != (lat is None):
        raise InvalidInputError("give both lon and lat", field="lon" if lon is None else "lat")
    if lon is not None:
        if store is None:
            raise InvalidInputError("a new location needs the store", field="lon")
        check_lonlat([lon], [lat])
        wlon, wlat = to_wgs84(float(lon), float(lat), normalize_crs(crs))
        data["from_location"] = [issue.lon, issue.lat]
        issue.lon, issue.lat = float(wlon), float(wlat)
        issue.geom = shapely.Point(issue.lon, issue.lat)
        issue.input_crs, issue.input_lon, issue.input_lat = normalize_crs(crs), lon, lat
        _route(session, store, issue, issue.lon, issue.lat, now)
        data["to_location"] = [issue.lon, issue.lat]
    if unit is not None:
        owner = _unit(session, unit, "unit")
        co = (
            issue_units(issue, "co_responsible")
            if co_units is None
            else [_unit(session, k, "co_units") for k in co_units]
        )
        if issue.owner_unit is not None and issue.owner_unit.key != owner.key and co_units is None:
            co = [u for u in co if u.key != owner.key]
        leaders = None
        _set_parties(session, issue, owner, co, leaders)
    elif co_units is not None:
        _set_parties(
            session, issue, issue.owner_unit, [_unit(session, k, "co_units") for k in co_units]
        )
    if issue.owner_unit is None:
        raise InvalidInputError(
            "no owner unit: the routing found none; name one (unit)", field="unit"
        )
    issue.assigned_at = now
    issue.deadline, issue.deadline_rule = _compute_deadline(cfg, issue, now)
    data["to_unit"] = issue.owner_unit.key
    data["co_units"] = [u.key for u in issue_units(issue, "co_responsible")]
    data["deadline"] = issue.deadline.isoformat()
    return data


def issue_units(issue: Issue, role: str) -> list[Unit]:
    """Units of an issue with ``role`` (``owner`` or ``co_responsible``)."""
    return [p.unit for p in issue.parties if p.role == role and p.unit is not None]


def dispatch(session: Session, actor: Actor, issue_id: int, **kw: Any) -> Issue:
    """Confirm (or correct: ``unit``, ``co_units``, ``lon``/``lat``) a triaged issue."""
    return apply(session, actor, issue_id, Action.dispatch, **kw)


def accept(session: Session, actor: Actor, issue_id: int, **kw: Any) -> Issue:
    """The owner unit accepts the issue (签收) and starts rectifying."""
    return apply(session, actor, issue_id, Action.accept, **kw)


def submit(session: Session, actor: Actor, issue_id: int, **kw: Any) -> Issue:
    """The owner unit reports the fix, with photos and measures."""
    return apply(session, actor, issue_id, Action.submit, **kw)


def reinspect(session: Session, actor: Actor, issue_id: int, passed: bool, **kw: Any) -> Issue:
    """Re-inspection (复查): passed closes, failed returns (a return for the unit)."""
    return apply(session, actor, issue_id, Action.reinspect, passed=passed, **kw)


def reopen(session: Session, actor: Actor, issue_id: int, **kw: Any) -> Issue:
    """Reopen a closed issue (back to rectifying; counts as a return)."""
    return apply(session, actor, issue_id, Action.reopen, **kw)


def reject(session: Session, actor: Actor, issue_id: int, **kw: Any) -> Issue:
    """Not a problem (不予受理)."""
    return apply(session, actor, issue_id, Action.reject, **kw)


def merge(session: Session, actor: Actor, issue_id: int, into: int, **kw: Any) -> Issue:
    """Mark an issue as a duplicate of ``into``."""
    return apply(session, actor, issue_id, Action.merge, into=into, **kw)


def unmerge(session: Session, actor: Actor, issue_id: int, **kw: Any) -> Issue:
    """Undo a duplicate link; the issue goes back to triage."""
    return apply(session, actor, issue_id, Action.unmerge, **kw)


def reassign(session: Session, actor: Actor, issue_id: int, **kw: Any) -> Issue:
    """Give the issue to another unit (or place) — the history keeps the old one."""
    return apply(session, actor, issue_id, Action.reassign, **kw)


# ============================================================================ extensions


@_stale_is_conflict
def request_extension(
    session: Session,
    actor: Actor,
    issue_id: int,
    *,
    reason: str,
    until: datetime | None = None,
    working_days: int | None = None,
    kind: str = "extension",
    expected_version: int | None = None,
    config: IssueConfig | None = None,
    guard: Guard | None = None,
) -> ExtensionRequest:
    """A unit asks for more time (延期) or a postponement (缓办).

    Give ``until`` (a new deadline) or ``working_days`` (added to the current deadline).

    Raises
    ------
    InvalidTransitionError
        The issue is not on the clock (assigned, rectifying, returned).
    ConflictError
        A request is already pending, or the version is stale.
    PermissionDeniedError
        A unit that does not own the issue.
    """
    cfg = config or IssueConfig()
    now = cfg.now()
    issue = get_issue(session, issue_id)
    check_scope(session, actor, issue, "extension_request", guard)
    if expected_version is not None and expected_version != issue.version:
        raise ConflictError(
            f"issue {issue.id} is at version {issue.version}, not {expected_version}",
            kind="issue",
            key=issue.id,
        )
    if kind not in ("extension", "postponement"):
        raise InvalidInputError("kind must be extension or postponement", field="kind")
    if actor.role not in (ActorRole.unit, ActorRole.command_center, ActorRole.system):
        raise PermissionDeniedError(f"role {actor.role.value} may not request an extension")
    if actor.role is ActorRole.unit and (
        issue.owner_unit is None or actor.unit != issue.owner_unit.key
    ):
        raise PermissionDeniedError("only the owner unit may request an extension", unit=actor.unit)
    if issue.state not in ON_CLOCK:
        raise InvalidTransitionError(
            f"cannot request an extension for an issue in state {issue.state} "
            f"({cfg.workflow.label(issue.state)})",
            kind="issue",
            key=issue.id,
        )
    if not (reason or "").strip():
        raise InvalidInputError("an extension request needs a reason", field="reason")
    if any(r.status == "pending" for r in issue.extensions):
        raise ConflictError(
            f"issue {issue.id} already has a pending extension request", kind="issue", key=issue.id
        )
    base = issue.deadline or now
    if until is not None:
        requested = utc(until)
    elif working_days is not None and working_days > 0:
        requested = utc(cfg.calendar.deadline(base, DeadlineRule.working_days(working_days)))
    else:
        raise InvalidInputError("give the new deadline (until) or working_days > 0", field="until")
    if requested <= base:
        raise InvalidInputError(
            "the requested deadline must be later than the current one", field="until"
        )
    req = ExtensionRequest(
        issue=issue,
        kind=kind,
        status="pending",
        reason=reason,
        old_deadline=issue.deadline,
        requested_deadline=requested,
        requested_at=now,
        requested_by=actor.who,
        requested_unit_key=actor.unit,
    )
    session.add(req)
    issue.extension_pending = True
    issue.updated_at = now
    _event(
        session,
        issue,
        actor,
        "extension_request",
        now,
        from_state=issue.state,
        to_state=issue.state,
        note=reason,
        data={"kind": kind, "requested_deadline": requested.isoformat()},
    )
    _flush(session, issue)
    return req


@_stale_is_conflict
def decide_extension(
    session: Session,
    actor: Actor,
    issue_id: int,
    request_id: int,
    *,
    approve: bool,
    note: str | None = None,
    deadline: datetime | None = None,
    config: IssueConfig | None = None,
    guard: Guard | None = None,
) -> ExtensionRequest:
    """The command center approves (optionally with another deadline) or refuses a request."""
    cfg = config or IssueConfig()
    now = cfg.now()
    issue = get_issue(session, issue_id)
    check_scope(session, actor, issue, "extension_decision", guard)
    if actor.role not in (ActorRole.command_center, ActorRole.system):
        raise PermissionDeniedError(
            f"role {actor.role.value} may not decide extensions", role=actor.role.value
        )
    req = session.get(ExtensionRequest, request_id)
    if req is None or req.issue_id != issue.id:
        raise NotFoundError(
            f"no extension request {request_id} on issue {issue.id}",
            kind="extension_request",
            key=request_id,
        )
    if req.status != "pending":
        raise ConflictError(
            f"extension request {request_id} was already {req.status}",
            kind="extension_request",
            key=request_id,
        )
    req.decided_at, req.decided_by, req.decision_note = now, actor.who, note
    data: dict[str, Any] = {"request": req.id, "approved": approve}
    if approve:
        granted = utc(deadline) if deadline is not None else req.requested_deadline
        req.status, req.granted_deadline = "approved", granted
        issue.deadline = granted
        issue.deadline_rule = "extended"
        issue.extension_count += 1
        if granted > now:
            issue.overdue = issue.escalated = False
            for n in issue.notices:
                if n.resolved_at is None:
                    n.resolved_at = now
        data["deadline"] = granted.isoformat()
    else:
        req.status = "refused"
    issue.extension_pending = False
    issue.updated_at = now
    _event(
        session,
        issue,
        actor,
        "extension_decision",
        now,
        from_state=issue.state,
        to_state=issue.state,
        note=note,
        data=data,
    )
    _flush(session, issue)
    return req


# ============================================================================ deadlines


@dataclass
class DeadlineReport:
    """What :func:`check_deadlines` did."""

    overdue: list[int] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)


def _next_notice_number(session: Session, cfg: IssueConfig, year: int) -> tuple[int, str]:
    seq = (
        session.scalar(
            select(func.max(SupervisionNotice.seq)).where(SupervisionNotice.year == year)
        )
        or 0
    ) + 1
    return seq, f"{cfg.notice_prefix}〔{year}〕第{seq:03d}号"


def _issue_notice(
    session: Session, issue: Issue, cfg: IssueConfig, now: datetime, actor: Actor, reason: str
) -> SupervisionNotice:
    year = cfg.calendar.local(now).year
    leaders = [p.leader.key for p in issue.parties if p.leader is not None]
    for _ in range(5):
        seq, number = _next_notice_number(session, cfg, year)
        notice = SupervisionNotice(
            number=number,
            year=year,
            seq=seq,
            issue=issue,
            unit_id=issue.owner_unit_id,
            leader_keys=leaders,
            reason=reason,
            issued_at=now,
            deadline=utc(cfg.calendar.deadline(now, cfg.notice_deadline)),
            issued_by=actor.who,
        )
        session.add(notice)
        try:
            with session.begin_nested():
                session.flush()
            break
        except IntegrityError:
            session.expunge(notice) if notice in session else None
            continue
    else:  # pragma: no cover - five concurrent numberings in a row
        raise ConflictError("could not number the supervision notice; try again")
    issue.notice_count += 1
    issue.updated_at = now
    _event(
        session,
        issue,
        actor,
        "supervise",
        now,
        from_state=issue.state,
        to_state=issue.state,
        data={
            "notice": notice.number,
            "reason": reason,
            "deadline": notice.deadline.isoformat(),
            "unit": issue.owner_unit.key if issue.owner_unit else None,
            "leaders": leaders,
        },
    )
    return notice


@_stale_is_conflict
def check_deadlines(
    session: Session,
    *,
    config: IssueConfig | None = None,
    actor: Actor = SYSTEM_ACTOR,
) -> DeadlineReport:
    """Flag overdue issues, issue 督办 notices, escalate after the notice deadline.

    Run it periodically (the clock comes from ``config``). An issue on the
    clock (assigned, rectifying, returned) past its deadline is flagged
    ``overdue`` and gets a numbered supervision notice addressed to its owner
    unit and leaders, with a second deadline (``notice_deadline``). If it is
    still on the clock after that, it is flagged ``escalated``.

    Returns
    -------
    DeadlineReport
    """
    cfg = config or IssueConfig()
    now = cfg.now()
    report = DeadlineReport()
    late = session.scalars(
        select(Issue)
        .where(
            Issue.state.in_(ON_CLOCK),
            Issue.deadline < now,
            Issue.overdue.is_(False),
            Issue.extension_pending.is_(False),
        )
        .order_by(Issue.deadline, Issue.id)
    ).all()
    for issue in late:
        issue.overdue = True
        issue.overdue_at = issue.overdue_at or now
        issue.updated_at = now
        _event(
            session,
            issue,
            actor,
            "overdue",
            now,
            from_state=issue.state,
            to_state=issue.state,
            data={"deadline": issue.deadline.isoformat()},
        )
        report.overdue.append(issue.id)
        if not any(n.resolved_at is None for n in issue.notices):
            report.notices.append(_issue_notice(session, issue, cfg, now, actor, "overdue").number)
    _flush(session)
    due = session.scalars(
        select(SupervisionNotice)
        .join(Issue, SupervisionNotice.issue_id == Issue.id)
        .where(
            SupervisionNotice.deadline < now,
            SupervisionNotice.escalated_at.is_(None),
            SupervisionNotice.resolved_at.is_(None),
            Issue.state.in_(ON_CLOCK),
        )
        .order_by(SupervisionNotice.id)
    ).all()
    for notice in due:
        issue = notice.issue
        notice.escalated_at = now
        if not issue.escalated:
            issue.escalated = True
            issue.escalated_at = now
            issue.updated_at = now
            _event(
                session,
                issue,
                actor,
                "escalate",
                now,
                from_state=issue.state,
                to_state=issue.state,
                data={"notice": notice.number, "leaders": notice.leader_keys or []},
            )
            report.escalated.append(issue.id)
    _flush(session)
    return report


# ============================================================================ queries


@dataclass
class IssueQuery:
    """Filters of :func:`list_issues` (all optional, combined with AND).

    ``area`` matches an area code of any level (county, township, community,
    unit grid, supervision area); ``unit`` the owner or a co-responsible
    unit; ``leader`` a leader answering for the issue; ``category`` includes
    its sub-categories; ``bbox`` is ``(min_lon, min_lat, max_lon, max_lat)``
    in WGS84 degrees.
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
    ids: Sequence[int] | None = None
    limit: int = 50
    offset: int = 0
    order: str = "-reported_at"
    #: A :class:`civgrid.grids.accounts.permissions.Scope`: only issues the actor may see.
    scope: Any = None


@dataclass
class Page:
    """One page of issues."""

    items: list[Issue]
    total: int
    limit: int
    offset: int


_ORDERS = {
    "reported_at": (Issue.reported_at, Issue.id),
    "-reported_at": (Issue.reported_at.desc(), Issue.id.desc()),
    "deadline": (Issue.deadline, Issue.id),
    "id": (Issue.id,),
    "-id": (Issue.id.desc(),),
    "updated_at": (Issue.updated_at, Issue.id),
    "-updated_at": (Issue.updated_at.desc(), Issue.id.desc()),
}


def _conditions(session: Session, q: IssueQuery) -> list[Any]:
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
            exists().where(
                IssuePlace.issue_id == Issue.id,
                IssuePlace.code == q.area,
                IssuePlace.layer.in_(
                    ["county", "township", "community", "unit_grid", "supervision_area"]
                ),
            )
        )
    if q.road_section:
        conds.append(Issue.road_section_code == q.road_section)
    if q.key_site:
        conds.append(
            exists().where(
                IssuePlace.issue_id == Issue.id,
                IssuePlace.layer == "key_site",
                IssuePlace.code == q.key_site,
            )
        )
    if q.unit:
        roles = ["owner"] if q.owner_only else ["owner", "co_responsible"]
        conds.append(
            exists().where(
                IssueParty.issue_id == Issue.id,
                IssueParty.role.in_(roles),
                IssueParty.unit_id == select(Unit.id).where(Unit.key == q.unit).scalar_subquery(),
            )
        )
    if q.leader:
        conds.append(
            exists().where(
                IssueParty.issue_id == Issue.id,
                IssueParty.leader_id
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
        conds.append(and_(Issue.lon.between(minx, maxx), Issue.lat.between(miny, maxy)))
    if q.ids is not None:
        conds.append(Issue.id.in_(list(q.ids)))
    if q.scope is not None:
        conds.extend(q.scope.issue_conditions())
    return conds


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
    conds = _conditions(session, q)
    total = session.scalar(select(func.count()).select_from(Issue).where(*conds)) or 0
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
    return Page(items, int(total), q.limit, q.offset)


def unit_inbox(
    session: Session, unit_key: str, *, config: IssueConfig | None = None
) -> dict[str, list[Issue]]:
    """A unit's to-do list: ``assigned``, ``returned``, ``due_soon``, ``overdue``, ``watching``.

    ``watching`` are open issues where the unit is co-responsible.
    """
    cfg = config or IssueConfig()
    now = cfg.now()
    _unit(session, unit_key)
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


# ============================================================================ describe


def flags_of(issue: Issue) -> list[str]:
    """The flags set on an issue."""
    return [name for name in ("overdue", "escalated", "extension_pending") if getattr(issue, name)]


def _visit_of(issue: Issue) -> int | None:
    """The patrol visit the issue was reported during (the first link), or None."""
    from sqlalchemy.orm import object_session

    session = object_session(issue)
    linker = visit_linker(required=False)
    if session is None or issue.id is None or linker is None:
        return None
    return linker.visit_of(session, issue.id)


def describe(issue: Issue, workflow: Workflow | None = None, *, history: bool = False) -> dict:
    """A JSON-friendly description of an issue: state with label and kind, place,
    assignment and why, deadline, flags, counters, links (and history).
    """
    wf = workflow or Workflow()
    routing = issue.routing or {}

    def area(name: str) -> dict | None:
        a = routing.get(name)
        return {"code": a["code"], "name": a["name"], "type": a.get("type")} if a else None

    road = routing.get("road_section")
    owner = issue.owner_unit
    out: dict[str, Any] = {
        "id": issue.id,
        "version": issue.version,
        "state": str(issue.state),
        "state_label": wf.label(issue.state),
        "kind": wf.kind(issue.state).value,
        "flags": flags_of(issue),
        "category": {
            "code": issue.category_code,
            "name": issue.category.name if issue.category is not None else None,
        },
        "source": issue.source,
        "source_label": SOURCE_LABELS.get(Source(issue.source), issue.source)
        if issue.source in Source.__members__
        else issue.source,
        "priority": issue.priority,
        "description": issue.description,
        "address": issue.address,
        "location": None
        if issue.lon is None
        else {
            "lon": issue.lon,
            "lat": issue.lat,
            "crs": "wgs84",
            "input": {"lon": issue.input_lon, "lat": issue.input_lat, "crs": issue.input_crs}
            if issue.input_crs
            else None,
            "source": issue.location_source,
        },
        "generation_id": issue.generation_id,
        "county": area("county"),
        "township": area("township"),
        "community": area("community"),
        "unit_grid": area("unit_grid"),
        "road_section": None
        if not road
        else {
            "code": road["code"],
            "name": road["name"],
            "distance_m": road.get("distance_m"),
            "road_chiefs": [
                {"key": p["key"], "name": p["name"], "subject_kind": p["subject_kind"]}
                for p in road.get("road_chiefs", [])
            ],
        },
        "key_sites": [
            {
                "code": s["code"],
                "name": s["name"],
                "kind": s["kind"],
                "distance_m": s["distance_m"],
                "zone_radius_m": s["zone_radius_m"],
            }
            for s in routing.get("key_sites", [])
        ],
        "owner_unit": None
        if owner is None
        else {"key": owner.key, "name": owner.name, "kind": str(owner.kind)},
        "co_responsible_units": [
            {"key": p.unit.key, "name": p.unit.name, "kind": str(p.unit.kind)}
            for p in issue.parties
            if p.role == "co_responsible" and p.unit is not None
        ],
        "leaders": [
            {"key": p.leader.key, "title": p.leader.title, "role": p.role}
            for p in issue.parties
            if p.leader is not None
        ],
        "triage_reason": issue.triage_reason,
        "reported_at": issue.reported_at,
        "assigned_at": issue.assigned_at,
        "deadline": issue.deadline,
        "deadline_rule": issue.deadline_rule,
        "submitted_at": issue.submitted_at,
        "closed_at": issue.closed_at,
        "updated_at": issue.updated_at,
        "overdue_at": issue.overdue_at,
        "escalated_at": issue.escalated_at,
        "return_count": issue.return_count,
        "extension_count": issue.extension_count,
        "duplicate_count": issue.duplicate_count,
        "notice_count": issue.notice_count,
        "duplicate_of": issue.duplicate_of_id,
        "recurrence_of": issue.recurrence_of_id,
        "repeat_count": issue.repeat_count,
        "measures": issue.measures,
        "reinspection_result": issue.reinspection_result,
        "reporter_role": issue.reporter_role,
        "routing": routing or None,
    }
    if history:
        out["visit_id"] = _visit_of(issue)
        out["history"] = [
            {
                "id": e.id,
                "at": e.at,
                "action": e.action,
                "from_state": e.from_state,
                "to_state": e.to_state,
                "actor": {"who": e.actor_who, "role": e.actor_role, "unit": e.actor_unit_key},
                "note": e.note,
                "data": e.data,
                "photos": [
                    {"id": p.id, "sha256": p.sha256, "mime": p.mime, "size": p.size}
                    for p in e.photos
                ],
            }
            for e in issue.events
        ]
        out["notices"] = [
            {
                "number": n.number,
                "reason": n.reason,
                "issued_at": n.issued_at,
                "deadline": n.deadline,
                "escalated_at": n.escalated_at,
                "resolved_at": n.resolved_at,
                "unit": n.unit.key if n.unit else None,
                "leaders": n.leader_keys or [],
            }
            for n in issue.notices
        ]
        out["extensions"] = [
            {
                "id": r.id,
                "kind": r.kind,
                "status": r.status,
                "reason": r.reason,
                "requested_deadline": r.requested_deadline,
                "granted_deadline": r.granted_deadline,
                "requested_at": r.requested_at,
                "decided_at": r.decided_at,
                "decision_note": r.decision_note,
            }
            for r in issue.extensions
        ]
        out["photos"] = [
            {"id": p.id, "sha256": p.sha256, "mime": p.mime, "size": p.size, "stage": p.stage}
            for p in issue.photos
        ]
    return out
