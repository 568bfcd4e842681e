"""Point inspections (实地检查): every checklist item marked, failures become issues.

An inspection of a point records **every** item of its type's checklist in the
standards version in force on the inspection's day: pass/fail, a note, photos (a
failure of an item with ``photo_on_fail`` needs at least one), the inspector, the
time and the GPS fix. It is refused — :class:`~civgrid.grids.core.errors.InvalidInputError`
naming the item, and nothing stored — when an item is missing, unknown or given twice,
or a required photo is absent.

Each failed item becomes an issue at the point (category from the item, source
``field_supervision``, owner the point's responsible unit, the normal deadline): the
issue is placed at the point (a point site's coordinates, a polygon's representative
point), so it snaps to the point like any report there. An item that failed before and
still has an open issue keeps that issue (no second issue). A checklist failure is
never merged into another open issue as a duplicate (each item is its own problem: a
local choice, the duplicate radius is 0 for these reports). Re-inspection runs the
issue's own re-inspection step: when the unit has submitted its fix (待复查), a pass
closes the issue and a fail returns it (退回); a pass before the fix was submitted
leaves the issue open and is said so in the result.

The verdict (ASSESSMENT.md, "How a point is scored"): a point complies (达标) when no
must-pass item fails and its deductions stay below the type's ``threshold``.

An inspection is idempotent by its ``Idempotency-Key`` (a phone may resend): the
second request returns the first inspection and stores nothing
(:mod:`civgrid.grids.core.idempotency`).

An inspection that fails (不达标) publishes the domain event ``point_inspection_failed``
in the same transaction (:func:`civgrid.grids.core.outbox.publish`): the point's
responsible unit hears it through ``notify``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.grids.boundaries.models import AssessmentPoint
from civgrid.grids.core import idempotency
from civgrid.grids.core.actors import SYSTEM_ACTOR, Actor
from civgrid.grids.core.calendar import local_zone
from civgrid.grids.core.errors import InvalidInputError, NotFoundError
from civgrid.grids.core.outbox import publish
from civgrid.grids.issues import actions
from civgrid.grids.issues.config import IssueConfig, Source
from civgrid.grids.issues.intake import IssueReport, report_issue
from civgrid.grids.issues.models import Issue
from civgrid.grids.issues.photos import PhotoInput, check_photos
from civgrid.grids.issues.records import OPEN_STATES
from civgrid.grids.issues.workflow import State
from civgrid.grids.points.models import PointInspection, PointInspectionItem
from civgrid.grids.points.standards import PointType, StandardVersion

__all__ = [
    "InspectionInput",
    "InspectionResult",
    "ItemMark",
    "record_inspection",
    "verdict",
]


@dataclass(frozen=True)
class ItemMark:
    """The mark of one checklist item: ``code``, ``passed``, ``note``, ``photos``."""

    code: str
    passed: bool
    note: str | None = None
    photos: Sequence[PhotoInput] = ()


@dataclass(frozen=True)
class InspectionInput:
    """What an inspector sends: the point, every item, when and where (WGS84 degrees).

    ``accuracy_m`` is the GPS fix's accuracy in metres.
    """

    point_code: str
    items: Sequence[ItemMark]
    inspected_at: datetime | None = None
    lon: float | None = None
    lat: float | None = None
    accuracy_m: float | None = None

    def fingerprint(self) -> str:
        """Hash of the request (photos by size) for the idempotency check."""
        return idempotency.fingerprint(
            {
                "point": self.point_code,
                "items": [
                    [m.code, m.passed, m.note, [len(p.content) for p in m.photos]]
                    for m in self.items
                ],
                "at": self.inspected_at.isoformat() if self.inspected_at else None,
                "gps": [self.lon, self.lat, self.accuracy_m],
            }
        )


@dataclass
class InspectionResult:
    """The stored inspection, the issues it opened, closed, returned or left open."""

    inspection: PointInspection
    created: bool = True
    opened: list[int] = field(default_factory=list)
    kept_open: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    returned: list[int] = field(default_factory=list)
    awaiting_fix: list[int] = field(default_factory=list)


def verdict(ptype: PointType, failed: Sequence[str]) -> tuple[bool, float]:
    """(compliant, deductions) of a point whose items ``failed`` (codes) failed.

    Examples
    --------
    >>> from civgrid.grids.points.standards import ChecklistItem
    >>> t = PointType(code="t", label="T", threshold=2, items=[
    ...     ChecklistItem(code="a", text="A", family="public_ads", category="dumping"),
    ...     ChecklistItem(code="b", text="B", family="public_order", category="dumping",
    ...                   must_pass=True)])
    >>> verdict(t, []), verdict(t, ["a"]), verdict(t, ["b"])
    ((True, 0.0), (True, 1.0), (False, 0.0))
    """
    items = {it.code: it for it in ptype.items}
    bad = [items[c] for c in failed]
    deductions = float(sum(it.deduction for it in bad if not it.must_pass))
    ok = not any(it.must_pass for it in bad) and deductions < ptype.threshold
    return ok, deductions


def _validate(ptype: PointType, data: InspectionInput) -> None:
    """Every item once, no unknown item, a photo where a failure needs one."""
    known = {it.code: it for it in ptype.items}
    seen: set[str] = set()
    for i, m in enumerate(data.items):
        if m.code not in known:
            raise InvalidInputError(
                f"item {m.code!r} is not on the checklist of {ptype.label} ({ptype.code})",
                field=f"items[{i}].code",
            )
        if m.code in seen:
            raise InvalidInputError(f"item {m.code} is marked twice", field=f"items[{i}].code")
        seen.add(m.code)
        if not m.passed and known[m.code].photo_on_fail and not m.photos:
            raise InvalidInputError(
                f"item {m.code} failed: a photo is required ({known[m.code].text})",
                field=f"items[{i}].photos",
            )
    missing = [c for c in known if c not in seen]
    if missing:
        raise InvalidInputError(
            f"every checklist item must be marked; missing: {', '.join(missing)}",
            field="items",
        )


def _site(point: AssessmentPoint) -> tuple[float, float]:
    """Where the issues of a point are placed (WGS84): the site, or inside the polygon."""
    g = point.geom if point.geom.geom_type == "Point" else point.geom.representative_point()
    return float(g.x), float(g.y)


def _open_issue_of(session: Session, point_id: int, code: str) -> Issue | None:
    """The open issue a previous failure of item ``code`` at the point left."""
    row = session.scalar(
        select(Issue)
        .join(PointInspectionItem, PointInspectionItem.issue_id == Issue.id)
        .join(PointInspection, PointInspection.id == PointInspectionItem.inspection_id)
        .where(
            PointInspection.point_id == point_id,
            PointInspectionItem.item_code == code,
            Issue.state.in_(OPEN_STATES),
        )
        .order_by(PointInspection.inspected_at.desc(), Issue.id.desc())
        .limit(1)
    )
    return row


def record_inspection(
    session: Session,
    store: Any,
    actor: Actor,
    standards: StandardVersion | Any,
    data: InspectionInput,
    *,
    idempotency_key: str | None = None,
    config: IssueConfig | None = None,
    guard: Any = None,
) -> InspectionResult:
    """Record an inspection of a point; open, keep, close or return the items' issues.

    Parameters
    ----------
    session : Session
        The caller's transaction (flushed, not committed).
    store : Store
        Snaps and routes the issues.
    actor : Actor
        The inspector (``inspector`` or ``command_center``; recorded by ``who``).
    standards : StandardVersion or StandardsRegistry
        The standards version, or a registry whose version in force on the
        inspection's day (the current city's profile) is used.
    data : InspectionInput
    idempotency_key : str, optional
        A resend with the same key returns the first inspection (``created=False``).
    config : IssueConfig, optional
    guard : Guard, optional
        The caller's permission check for the re-inspection steps (the API's scope).

    Raises
    ------
    NotFoundError
        No point with this code.
    InvalidInputError
        An item missing, unknown or twice, a required photo absent, a bad photo;
        nothing is stored.
    ConflictError
        The key was used for a different request.
    """
    cfg = config or IssueConfig()
    now = cfg.now()
    key = None
    if idempotency_key is not None:
        key = f"point_inspection:{actor.who}:{idempotency.clean_key(idempotency_key)}"
        replay = idempotency.claim(session, key, data.fingerprint(), now)
        if replay is not None:
            found = session.get(PointInspection, replay["response"]["inspection_id"])
            if found is None:  # the point was deleted since
                raise NotFoundError("the inspection of this key is gone", kind="inspection")
            return InspectionResult(found, created=False)
    point = session.scalar(select(AssessmentPoint).where(AssessmentPoint.code == data.point_code))
    if point is None:
        raise NotFoundError(
            f"no assessment point {data.point_code!r}", kind="point", key=data.point_code
        )
    at = data.inspected_at or now
    if at.tzinfo is None:  # a naive time is the county's local time
        at = at.replace(tzinfo=local_zone())
    at = at.astimezone(UTC)
    if at > now:
        raise InvalidInputError("the inspection time is in the future", field="inspected_at")
    version = standards if isinstance(standards, StandardVersion) else None
    if version is None:
        version = standards.version_on(None, at.astimezone(local_zone()).date())
    ptype = version.point_type(point.point_type)
    _validate(ptype, data)
    for i, m in enumerate(data.items):  # every photo is checked before anything is stored
        try:
            check_photos(m.photos, max_bytes=cfg.photo_max_bytes, max_count=cfg.photo_max_count)
        except InvalidInputError as exc:
            raise InvalidInputError(str(exc), field=f"items[{i}].photos") from exc
    failed = [m.code for m in data.items if not m.passed]
    compliant, deductions = verdict(ptype, failed)
    insp = PointInspection(
        point_id=point.id,
        standard_from=version.effective_from,
        point_type=ptype.code,
        inspector=actor.who,
        inspected_at=at,
        lon=data.lon,
        lat=data.lat,
        accuracy_m=data.accuracy_m,
        compliant=compliant,
        deductions=deductions,
        idempotency_key=key,
    )
    session.add(insp)
    session.flush()
    result = InspectionResult(insp)
    no_merge = dataclasses.replace(cfg, duplicate_radius_m=0.0, duplicate_radius_by_category={})
    lon, lat = _site(point)
    order = {it.code: n for n, it in enumerate(ptype.items)}
    for m in sorted(data.items, key=lambda m: order[m.code]):
        item = ptype.item(m.code)
        previous = _open_issue_of(session, point.id, m.code)
        issue_id: int | None = None
        if not m.passed:
            if previous is not None and previous.state == State.submitted:
                actions.reinspect(
                    session,
                    actor,
                    previous.id,
                    False,
                    note=_fail_note(item, m),
                    config=cfg,
                    guard=guard,
                )
                result.returned.append(previous.id)
                issue_id = previous.id
            elif previous is not None:
                result.kept_open.append(previous.id)
                issue_id = previous.id
            else:
                issue = _open_issue(session, store, actor, point, item, m, lon, lat, no_merge)
                result.opened.append(issue.id)
                issue_id = issue.id
        elif previous is not None:
            if previous.state == State.submitted:
                actions.reinspect(
                    session, actor, previous.id, True, note=f"点位复查合格：{item.code}"
                )
                result.closed.append(previous.id)
            else:
                result.awaiting_fix.append(previous.id)
            issue_id = previous.id
        insp.items.append(
            PointInspectionItem(
                item_code=m.code,
                passed=m.passed,
                note=m.note,
                photos=[{"name": p.filename, "size": len(p.content)} for p in m.photos],
                issue_id=issue_id,
            )
        )
    session.flush()
    if not compliant:
        _publish_failure(session, point, ptype, insp, result, now)
    if key is not None:
        idempotency.complete(session, key, {"inspection_id": insp.id})
    return result


def _publish_failure(
    session: Session,
    point: AssessmentPoint,
    ptype: PointType,
    insp: PointInspection,
    result: InspectionResult,
    now: datetime,
) -> None:
    """The domain event of a failed inspection (不达标), in the inspection's transaction:
    the point's responsible unit (包保单位) hears it (``notify``)."""
    codes = {m.item_code for m in insp.items if not m.passed}
    failed = [it for it in ptype.items if it.code in codes]
    publish(
        session,
        "point_inspection_failed",
        "point",
        point.code,
        now,
        {
            "unit": point.responsible_unit.key,
            "point": point.code,
            "point_name": point.name,
            "inspection": insp.id,
            "inspected_at": insp.inspected_at.isoformat(),
            "failed": [it.code for it in failed],
            "failed_text": "；".join(f"{it.code} {it.text}" for it in failed),
            "issues": sorted({*result.opened, *result.kept_open, *result.returned}),
        },
        dedupe=f"point_inspection_failed:{insp.id}",
    )


def _fail_note(item: Any, mark: ItemMark) -> str:
    return f"测评点位检查不合格：{item.code} {item.text}" + (
        f"（{mark.note}）" if mark.note else ""
    )


def _open_issue(
    session: Session,
    store: Any,
    actor: Actor,
    point: AssessmentPoint,
    item: Any,
    mark: ItemMark,
    lon: float,
    lat: float,
    cfg: IssueConfig,
) -> Issue:
    """A failed item's issue at the point, owned by the point's responsible unit."""
    report = IssueReport(
        category=item.category,
        source=Source.field_supervision,
        lon=lon,
        lat=lat,
        description=_fail_note(item, mark),
        photos=tuple(mark.photos),
        attributes={"assessment_point": point.code, "checklist_item": item.code},
    )
    issue = report_issue(session, store, actor, report, config=cfg).issue
    unit = point.responsible_unit
    if issue.owner_unit_id != unit.id:  # a department-owned family or a triage: the point's unit
        why = f"测评点位{point.code}的包保单位负责整改"
        if issue.state == State.triage:
            actions.dispatch(
                session, SYSTEM_ACTOR, issue.id, unit=unit.key, store=store, note=why, config=cfg
            )
        else:
            actions.reassign(
                session, SYSTEM_ACTOR, issue.id, unit=unit.key, store=store, note=why, config=cfg
            )
    return issue
