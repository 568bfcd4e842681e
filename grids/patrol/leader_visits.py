"""Leaders' own visits: 现场办公 (office hours) and 看 (site inspections), and their cadence.

Two cadences from the notices: Sheqi — office hours on site every month within the
first ten days; Lüliang — at least two site inspections a month. Leaders are
referred to by key and title, never by name.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.grids.boundaries.models import Area, Leader
from civgrid.grids.core import audit
from civgrid.grids.core.actors import Actor
from civgrid.grids.core.calendar import parse_month
from civgrid.grids.core.errors import InvalidInputError, NotFoundError
from civgrid.grids.patrol.models import LeaderVisit

__all__ = [
    "LEADER_VISIT_KINDS",
    "leader_cadence",
    "leader_visit_dict",
    "leader_visit_rows",
    "list_leader_visits",
    "record_leader_visit",
]

#: Kinds of a leader's own visit and their Chinese labels.
LEADER_VISIT_KINDS = {"office_hours": "现场办公", "site_inspection": "看（实地察看）"}


def _leader(session: Session, key: str) -> Leader:
    leader = session.scalars(select(Leader).where(Leader.key == key)).first()
    if leader is None:
        raise NotFoundError(f"no leader {key}", kind="leader", key=key)
    return leader


def record_leader_visit(
    session: Session,
    actor: Actor,
    leader_key: str,
    *,
    kind: str,
    day: date | str,
    area_code: str | None = None,
    note: str | None = None,
    findings: str | None = None,
    today: date | None = None,
) -> LeaderVisit:
    """Record a leader's visit (idempotent: the same leader, kind, day and area once).

    Recording the same visit again stores nothing and returns the stored one, with
    the attribute ``duplicate`` set to True (False for a new record).

    Parameters
    ----------
    session : Session
        The caller commits.
    actor : Actor
        Who records it (kept as ``recorded_by``; audited as ``leader_visit.record``
        with the leader, kind, day, area and the planned visit marked done).
    leader_key : str
    kind : {"office_hours", "site_inspection"}
    day : date or ISO str
    area_code : str, optional
        The area visited (any layer's code). A site inspection of a contracted
        community marks the leader's planned visit nearest that day (same month) done.
    note, findings : str, optional
    today : date, optional
        Today's local date (default: the clock); a later day is refused.

    Raises
    ------
    NotFoundError
        Unknown leader or area.
    InvalidInputError
        Unknown kind, bad date, or a day after today.
    """
    from civgrid.grids.core.calendar import local_today

    _leader(session, leader_key)
    if kind not in LEADER_VISIT_KINDS:
        raise InvalidInputError(
            f"unknown leader visit kind {kind!r}; one of: {', '.join(LEADER_VISIT_KINDS)}",
            field="kind",
        )
    if isinstance(day, str):
        try:
            day = date.fromisoformat(day)
        except ValueError:
            raise InvalidInputError(f"day {day!r} is not YYYY-MM-DD", field="day") from None
    today = today or local_today()
    if day > today:
        raise InvalidInputError(
            f"day {day.isoformat()} is after today ({today.isoformat()}): a visit is recorded "
            "once it happened（走访日期晚于今天）",
            field="day",
        )
    if area_code and session.scalars(select(Area.id).where(Area.code == area_code)).first() is None:
        raise NotFoundError(f"no area {area_code}", kind="area", key=area_code)
    same = session.scalars(
        select(LeaderVisit).where(
            LeaderVisit.leader_key == leader_key,
            LeaderVisit.kind == kind,
            LeaderVisit.day == day,
            LeaderVisit.area_code.is_(None)
            if area_code is None
            else LeaderVisit.area_code == area_code,
        )
    ).first()
    if same is not None:
        same.duplicate = True  # type: ignore[attr-defined]
        return same
    visit = LeaderVisit(
        leader_key=leader_key,
        kind=kind,
        day=day,
        area_code=area_code,
        note=note,
        findings=findings,
        recorded_by=actor.who,
    )
    visit.duplicate = False  # type: ignore[attr-defined]
    session.add(visit)
    planned = None
    if kind == "site_inspection" and area_code:
        planned = _complete_planned(session, leader_key, area_code, day)
    session.flush()
    audit.record(
        session,
        actor,
        "leader_visit.record",
        "leader_visit",
        visit.id,
        after={
            "leader": leader_key,
            "kind": kind,
            "day": day.isoformat(),
            "area_code": area_code,
            "planned_visit_done": planned,
        },
    )
    return visit


def _complete_planned(session: Session, leader_key: str, area_code: str, day: date) -> int | None:
    """Mark the leader's planned visit of ``area_code`` nearest ``day`` (same month) done.

    Returns
    -------
    int or None
        The id of the visit marked done, if any.
    """
    from civgrid.grids.patrol.models import PatrolVisit

    first, last = parse_month(day.strftime("%Y-%m"))
    planned = session.scalars(
        select(PatrolVisit).where(
            PatrolVisit.kind == "leader_inspection",
            PatrolVisit.leader_key == leader_key,
            PatrolVisit.target_code == area_code,
            PatrolVisit.status == "planned",
            PatrolVisit.day >= first,
            PatrolVisit.day <= last,
        )
    ).all()
    if not planned:
        return None
    visit = min(planned, key=lambda v: (abs((v.day - day).days), v.day))
    visit.status = "done"
    return visit.id


def list_leader_visits(
    session: Session, leader_key: str, *, month: str | None = None
) -> list[LeaderVisit]:
    """A leader's visits, newest first (optionally of one ``YYYY-MM`` month)."""
    _leader(session, leader_key)
    q = select(LeaderVisit).where(LeaderVisit.leader_key == leader_key)
    if month:
        first, last = parse_month(month)
        q = q.where(LeaderVisit.day >= first, LeaderVisit.day <= last)
    return list(session.scalars(q.order_by(LeaderVisit.day.desc(), LeaderVisit.id.desc())))


def leader_cadence(session: Session, leader_key: str, month: str) -> dict[str, Any]:
    """Whether a leader kept the cadences in ``month``.

    Returns
    -------
    dict
        ``office_hours`` (count), ``office_hours_first_ten_days`` (bool: at least
        one office-hours visit on days 1–10), ``site_inspections`` (count) and
        ``site_inspections_ok`` (at least two).
    """
    visits = list_leader_visits(session, leader_key, month=month)
    n = Counter(v.kind for v in visits)
    early = any(v.kind == "office_hours" and v.day.day <= 10 for v in visits)
    return {
        "month": month,
        "office_hours": n["office_hours"],
        "office_hours_first_ten_days": early,
        "site_inspections": n["site_inspection"],
        "site_inspections_ok": n["site_inspection"] >= 2,
    }


def leader_visit_dict(v: LeaderVisit) -> dict[str, Any]:
    """JSON form of a leader visit."""
    return {
        "id": v.id,
        "leader_key": v.leader_key,
        "kind": v.kind,
        "kind_label": LEADER_VISIT_KINDS.get(v.kind, v.kind),
        "day": v.day.isoformat(),
        "area_code": v.area_code,
        "note": v.note,
        "findings": v.findings,
        "duplicate": bool(getattr(v, "duplicate", False)),
    }


def leader_visit_rows(session: Session, leader_key: str, month: str) -> list[dict[str, Any]]:
    """Rows for the leader page's 领导走访记录 section (date, kind label, place, findings).

    Unknown leaders give no rows (the page handles them).
    """
    try:
        visits = list_leader_visits(session, leader_key, month=month)
    except NotFoundError:
        return []
    codes = {v.area_code for v in visits if v.area_code}
    names = (
        dict(session.execute(select(Area.code, Area.name).where(Area.code.in_(codes))).all())
        if codes
        else {}
    )
    return [
        {
            "date": v.day.isoformat(),
            "kind_label": LEADER_VISIT_KINDS.get(v.kind, v.kind),
            "place": names.get(v.area_code, v.area_code or ""),
            "findings": v.findings,
        }
        for v in sorted(visits, key=lambda v: (v.day, v.id))
    ]
