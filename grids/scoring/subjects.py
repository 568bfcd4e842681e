"""Assessed subjects besides communities and townships, on the database (Sheqi 004 二、（三）2 三).

* **Civilized (pairing) units** (县直联建单位): a unit paired with a community by a
  ``pairing`` assignment (联建 / 结对共建) is scored as the community's score plus its
  联建 work points (:class:`~civgrid.grids.scoring.models.PairingWork`), recorded per
  unit and period by the command center as the community reports them
  (:func:`record_pairing_work`).
* **Key-task departments** and **other-task units**: the lists of the profile
  (``subjects.key_task_units`` / ``subjects.other_task_units``, names as the notice writes them),
  matched to the county's units by name (:func:`subject_units`).
* **Adjustments** of a period's result (:class:`~civgrid.grids.scoring.models.ScoreAdjustment`):
  provincial/city feedback, 领导批示, 县指挥部通报, media, complaints — each with its
  subject, points, reason and source (:func:`record_adjustment`); the annual result
  (年总评) of a year, the quarterly ranking of key-task departments and the half-year
  ranking of other-task units take those of their period.

Every record is audited (``score.pairing_work.record``, ``score.adjustment.record``)
in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.grids.boundaries.models import Assignment, Role, Unit
from civgrid.grids.core import audit
from civgrid.grids.core.actors import Actor
from civgrid.grids.core.errors import InvalidInputError, NotFoundError
from civgrid.grids.scoring.models import PairingWork, ScoreAdjustment
from civgrid.grids.scoring.score import ADJUSTMENT_KINDS, Adjustment, Period, UnitRef

__all__ = [
    "ADJUSTABLE_LEVELS",
    "ADJUSTABLE_PERIODS",
    "adjustment_dict",
    "adjustments_of",
    "list_adjustments",
    "list_pairing_work",
    "pairing_units",
    "pairings",
    "record_adjustment",
    "record_pairing_work",
    "subject_units",
    "work_dict",
    "work_points",
]

#: Levels whose results take adjustments (``department`` covers key-task departments
#: and other-task units; ``civilized_unit`` the pairing units).
ADJUSTABLE_LEVELS = ("community", "township", "department", "civilized_unit")
#: Periods that take adjustments: a quarter (key-task departments: “每季度综合…领导批示…”),
#: a half-year (other-task units: “每半年综合…”) and a year (年总评).
ADJUSTABLE_PERIODS = ("quarter", "half", "year")
#: Bounds of one record's points (a local sanity bound: the scale is 100 points).
MAX_POINTS = 100.0


def pairings(session: Session, day: date) -> dict[str, str]:
    """Unit key → the community it is paired with (``pairing`` assignments in force on
    ``day``; a unit with several pairings keeps the first community by code)."""
    q = (
        select(Unit.key, Assignment.object_code)
        .join(Unit, Assignment.unit_id == Unit.id)
        .where(Assignment.role == Role.pairing, Assignment.in_force_on(day))
        .order_by(Unit.key, Assignment.object_code)
    )
    out: dict[str, str] = {}
    for key, code in session.execute(q).all():
        out.setdefault(key, code)
    return out


def pairing_units(session: Session, day: date) -> list[UnitRef]:
    """The civilized (pairing) units in force on ``day``, by key."""
    keys = pairings(session, day)
    if not keys:
        return []
    rows = session.execute(
        select(Unit.key, Unit.name).where(Unit.key.in_(list(keys))).order_by(Unit.key)
    ).all()
    return [UnitRef(k, n) for k, n in rows]


def subject_units(session: Session, names: Sequence[str]) -> tuple[list[UnitRef], list[str]]:
    """The county's units named in a profile list, and the names not found.

    Names are matched exactly (the notice's spelling, e.g. 县市场监督管理局); a unit
    missing from the county is reported, not scored.
    """
    rows = session.execute(select(Unit.key, Unit.name).where(Unit.name.in_(list(names)))).all()
    by_name = {n: k for k, n in sorted(rows)}
    found = [UnitRef(by_name[n], n) for n in names if n in by_name]
    return found, [n for n in names if n not in by_name]


def work_points(session: Session, period: str) -> dict[str, float]:
    """Unit key → its recorded 联建 work points in ``period`` (a period key)."""
    rows = session.execute(
        select(PairingWork.unit_key, PairingWork.points).where(PairingWork.period == period)
    ).all()
    return {k: float(p) for k, p in rows}


def _check_points(points: float) -> float:
    if not -MAX_POINTS <= float(points) <= MAX_POINTS:
        raise InvalidInputError(
            f"points {points:g} out of range: between -{MAX_POINTS:g} and {MAX_POINTS:g}",
            field="points",
            value=points,
        )
    return round(float(points), 4)


def work_dict(w: PairingWork, names: dict[str, str] | None = None) -> dict[str, Any]:
    """JSON-ready dict of a 联建 work record."""
    return {
        "id": w.id,
        "unit_key": w.unit_key,
        "unit_name": (names or {}).get(w.unit_key, w.unit_key),
        "period": w.period,
        "points": w.points,
        "note": w.note,
        "recorded_at": w.recorded_at.isoformat(),
        "recorded_by": w.recorded_by,
    }


def record_pairing_work(
    session: Session,
    actor: Actor,
    unit_key: str,
    period: Period,
    points: float,
    note: str,
    *,
    now: datetime | None = None,
) -> PairingWork:
    """Record (or replace) the 联建 work points of a civilized unit in ``period``.

    Parameters
    ----------
    session : Session
    actor : Actor
        Who records it (audited as ``score.pairing_work.record`` with before/after).
    unit_key : str
        A unit paired with a community during the period.
    period : Period
        A quarter (the civilized units' assessment period) or a month.
    points : float
        Positive or negative, as the community reports the unit's 联建 work.
    note : str
        What the work was (non-empty).
    now : datetime, optional
        Aware UTC (default: the system clock).

    Raises
    ------
    NotFoundError
        No unit ``unit_key``.
    InvalidInputError
        The unit is not paired with a community in the period, the period is not a
        quarter or a month, the note is empty, or the points are out of range.
    """
    if period.kind not in ("quarter", "month"):
        raise InvalidInputError(
            f"联建 work is recorded per quarter (or month), not for {period.key}", field="period"
        )
    if not note.strip():
        raise InvalidInputError("a note on the 联建 work is required", field="note")
    pts = _check_points(points)
    unit = session.scalars(select(Unit).where(Unit.key == unit_key)).first()
    if unit is None:
        raise NotFoundError(f"no unit {unit_key!r}", kind="unit", key=unit_key)
    last = period.end.toordinal() - 1
    paired = any(unit_key in pairings(session, d) for d in (period.start, date.fromordinal(last)))
    if not paired:
        raise InvalidInputError(
            f"{unit.name} ({unit_key}) is not paired with a community (联建) in {period.key}",
            field="unit_key",
            value=unit_key,
        )
    now = now or datetime.now(UTC)
    row = session.scalars(
        select(PairingWork).where(
            PairingWork.unit_key == unit_key, PairingWork.period == period.key
        )
    ).first()
    before = None
    if row is None:
        row = PairingWork(unit_key=unit_key, period=period.key)
        session.add(row)
    else:
        before = {"points": row.points, "note": row.note}
    row.points, row.note, row.recorded_at, row.recorded_by = pts, note.strip(), now, actor.who
    session.flush()
    audit.record(
        session,
        actor,
        "score.pairing_work.record",
        "pairing_work",
        row.id,
        before=before,
        after={"unit": unit_key, "period": period.key, "points": pts, "note": row.note},
    )
    return row


def list_pairing_work(session: Session, period: str | None = None) -> list[PairingWork]:
    """Recorded 联建 work, by period then unit."""
    q = select(PairingWork).order_by(PairingWork.period, PairingWork.unit_key)
    if period:
        q = q.where(PairingWork.period == period)
    return list(session.scalars(q))


def adjustment_dict(a: ScoreAdjustment) -> dict[str, Any]:
    """JSON-ready dict of an adjustment (kind label in Chinese)."""
    return {
        "id": a.id,
        "period": a.period,
        "level": a.level,
        "code": a.code,
        "kind": a.kind,
        "kind_label": ADJUSTMENT_KINDS.get(a.kind, a.kind),
        "points": a.points,
        "reason": a.reason,
        "source": a.source,
        "recorded_at": a.recorded_at.isoformat(),
        "recorded_by": a.recorded_by,
    }


def _subject_exists(session: Session, store: Any, level: str, code: str) -> None:
    if level in ("department", "civilized_unit"):
        if session.scalars(select(Unit.id).where(Unit.key == code)).first() is None:
            raise NotFoundError(f"no unit {code!r}", kind="unit", key=code)
        return
    if store is not None:
        store.area(code, layer=level, session=session)  # NotFoundError when missing


def record_adjustment(
    session: Session,
    actor: Actor,
    period: Period,
    level: str,
    code: str,
    kind: str,
    points: float,
    reason: str,
    source: str,
    *,
    store: Any = None,
    now: datetime | None = None,
) -> ScoreAdjustment:
    """Record an adjustment of one unit's result of ``period`` (audited).

    Parameters
    ----------
    session : Session
    actor : Actor
    period : Period
        A year (年总评), a half-year or a quarter.
    level : str
        One of :data:`ADJUSTABLE_LEVELS`.
    code : str
        The unit's code (a community or township code, a unit key).
    kind : str
        One of :data:`~civgrid.grids.scoring.score.ADJUSTMENT_KINDS`.
    points : float
        Positive or negative.
    reason, source : str
        Why, and the document it comes from (non-empty; titles, never names).
    store : Store, optional
        Checks a community or township code exists (units are always checked).
    now : datetime, optional

    Raises
    ------
    InvalidInputError
        Unknown kind or level, a month or week, empty reason or source, points out
        of range.
    NotFoundError
        No such unit.
    """
    if kind not in ADJUSTMENT_KINDS:
        raise InvalidInputError(
            f"unknown adjustment kind {kind!r}; one of {', '.join(ADJUSTMENT_KINDS)}",
            field="kind",
        )
    if level not in ADJUSTABLE_LEVELS:
        raise InvalidInputError(
            f"level must be one of {', '.join(ADJUSTABLE_LEVELS)}", field="level", value=level
        )
    if period.kind not in ADJUSTABLE_PERIODS:
        raise InvalidInputError(
            f"adjustments are recorded for a year, a half-year or a quarter, not {period.key}",
            field="period",
        )
    for field, text in (("reason", reason), ("source", source)):
        if not text or not text.strip():
            raise InvalidInputError(f"{field} is required", field=field)
    pts = _check_points(points)
    _subject_exists(session, store, level, code)
    row = ScoreAdjustment(
        period=period.key,
        level=level,
        code=code,
        kind=kind,
        points=pts,
        reason=reason.strip(),
        source=source.strip(),
        recorded_at=now or datetime.now(UTC),
        recorded_by=actor.who,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "score.adjustment.record",
        "score_adjustment",
        row.id,
        after={
            "period": period.key,
            "level": level,
            "code": code,
            "kind": kind,
            "points": pts,
            "reason": row.reason,
            "source": row.source,
        },
    )
    return row


def list_adjustments(
    session: Session, period: str | None = None, level: str | None = None
) -> list[ScoreAdjustment]:
    """Recorded adjustments, by period, level, code and id."""
    q = select(ScoreAdjustment).order_by(
        ScoreAdjustment.period, ScoreAdjustment.level, ScoreAdjustment.code, ScoreAdjustment.id
    )
    if period:
        q = q.where(ScoreAdjustment.period == period)
    if level:
        q = q.where(ScoreAdjustment.level == level)
    return list(session.scalars(q))


def adjustments_of(session: Session, period: str, level: str) -> list[Adjustment]:
    """The adjustments of ``period`` at ``level`` as pure-core
    :class:`~civgrid.grids.scoring.score.Adjustment` records."""
    return [
        Adjustment(a.code, a.kind, float(a.points), f"{a.reason}（{a.source}）")
        for a in list_adjustments(session, period, level)
    ]
