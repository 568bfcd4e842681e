"""What the issue modules share: the history event writer, photo attachment, flushing with
optimistic-concurrency conflicts, unit lookups, the category tree, the object-level check
through the caller's guard, and the states lists.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from civgrid.geo.metric import Projector, metric_epsg_for
from civgrid.grids.boundaries.models import Category, Leader, Unit
from civgrid.grids.boundaries.store import cached_object, routing_pinned
from civgrid.grids.core.actors import Actor, Guard
from civgrid.grids.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from civgrid.grids.issues.config import IssueConfig
from civgrid.grids.issues.events import publish_for_history
from civgrid.grids.issues.models import (
    Issue,
    IssueEvent,
    Photo,
)
from civgrid.grids.issues.photos import CheckedPhoto, store_photo
from civgrid.grids.issues.workflow import KIND, Kind, State

OPEN_STATES = [s for s in State if KIND[s] is Kind.open]


LEADER_ROLES = ("contract", "contact", "road_chief")


T = TypeVar("T")


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


def margin_deg(metres: float, lat: float) -> tuple[float, float]:
    """A lon/lat box half-size surely containing ``metres`` (prefilter only)."""
    dlat = metres / 110_000.0 * 1.2 + 1e-7
    dlon = metres / (111_320.0 * max(math.cos(math.radians(min(abs(lat), 85.0))), 0.05)) * 1.2
    return dlon + 1e-7, dlat


def record_event(
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
    publish_for_history(session, issue, str(action), now, ev.to_state, data)
    return ev


def attach_photos(
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


def flush_issue(session: Session, issue: Issue | None = None) -> None:
    """Flush; a concurrent update of ``issue`` (its version moved) is a :class:`ConflictError`.

    The id is read before the flush: after a failed flush the session must be rolled
    back before anything is read from it (reading would raise ``PendingRollbackError``).
    """
    key = None if issue is None else issue.__dict__.get("id")
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConflictError(
            "the issue was changed by someone else; reload it and try again",
            kind="issue",
            key=key,
        ) from exc


def stale_is_conflict(fn: Callable[..., T]) -> Callable[..., T]:
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


def units_by_key(session: Session, keys: Iterable[str]) -> dict[str, Unit]:
    """The units of ``keys`` (unknown keys left out), persistent in ``session``.

    Without a query when ``session`` has the routing tables pinned (an intake): from
    the copy kept with them (every write to ``units`` changes the routing stamp).
    """
    keys = list(dict.fromkeys(k for k in keys if k))
    if not keys:
        return {}
    if routing_pinned(session):
        found = {k: cached_object(session, Unit, "key", k) for k in keys}
        return {k: u for k, u in found.items() if u is not None}
    return {u.key: u for u in session.scalars(select(Unit).where(Unit.key.in_(keys)))}


def leaders_by_key(session: Session, keys: Iterable[str]) -> dict[str, Leader]:
    """The leaders of ``keys`` (unknown keys left out), persistent in ``session``; as
    :func:`units_by_key`, without a query when the routing tables are pinned.
    """
    keys = list(dict.fromkeys(k for k in keys if k))
    if not keys:
        return {}
    if routing_pinned(session):
        found = {k: cached_object(session, Leader, "key", k) for k in keys}
        return {k: lead for k, lead in found.items() if lead is not None}
    return {lead.key: lead for lead in session.scalars(select(Leader).where(Leader.key.in_(keys)))}


def get_unit(session: Session, key: str, field_name: str = "unit") -> Unit:
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
