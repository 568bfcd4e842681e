"""Progress notes (进展说明): what a responsible unit has done so far, with photos.

A note changes no state and stops no clock; it is one history event
(``progress_note``) with its photos stored under the stage ``progress``. The
owner unit and the co-responsible units may write one on an open issue, and so
may the command center: cooperation on a place is expected of every unit
answering for it (notice 004, Sheqi: "确保网格内每条道路、每个楼院都有责任人").
Who may write one is a local choice (:data:`NOTE_ROLES`, :data:`NOTE_PARTIES`).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from civgrid.grids.core.actors import Actor, ActorRole, Guard
from civgrid.grids.core.errors import (
    ConflictError,
    InvalidInputError,
    InvalidTransitionError,
    PermissionDeniedError,
)
from civgrid.grids.issues.config import IssueConfig
from civgrid.grids.issues.models import Issue, IssueEvent
from civgrid.grids.issues.photos import PhotoInput, check_photos
from civgrid.grids.issues.records import (
    attach_photos,
    check_scope,
    flush_issue,
    get_issue,
    record_event,
    stale_is_conflict,
)

__all__ = ["NOTE_PARTIES", "NOTE_ROLES", "PROGRESS_STAGE", "add_progress_note", "unit_roles_on"]

#: The photo stage of a progress note's photos (beside ``report``, ``fix``, ``reinspection``).
PROGRESS_STAGE = "progress"
#: Workflow roles that may write a progress note (the system always may).
NOTE_ROLES = frozenset({ActorRole.unit, ActorRole.command_center, ActorRole.system})
#: The party roles a unit must hold on the issue to write one.
NOTE_PARTIES = frozenset({"owner", "co_responsible"})


def unit_roles_on(issue: Issue, unit_key: str | None) -> set[str]:
    """The party roles (``owner``, ``co_responsible``) of unit ``unit_key`` on ``issue``.

    The owner is read from the issue's column (the parties mirror it).
    """
    if not unit_key:
        return set()
    roles = {
        p.role
        for p in issue.parties
        if p.unit is not None and p.unit.key == unit_key and p.role != "owner"
    }
    if issue.owner_unit is not None and issue.owner_unit.key == unit_key:
        roles.add("owner")
    return roles


@stale_is_conflict
def add_progress_note(
    session: Session,
    actor: Actor,
    issue_id: int,
    *,
    note: str,
    photos: Sequence[PhotoInput] = (),
    expected_version: int | None = None,
    config: IssueConfig | None = None,
    guard: Guard | None = None,
) -> IssueEvent:
    """Record a progress note (进展说明) on an open issue; the state does not change.

    Parameters
    ----------
    note : str
        What was done (required, not blank).
    photos : sequence of PhotoInput
        Optional photos (stage ``progress``).
    expected_version : int, optional
        The version the caller saw; another one is a conflict.

    Returns
    -------
    IssueEvent
        The history event (``progress_note``).

    Raises
    ------
    NotFoundError
        The issue is unknown or outside the caller's scope.
    PermissionDeniedError
        A role other than a unit or the command center, or a unit neither owner
        nor co-responsible.
    InvalidTransitionError
        The issue is closed.
    InvalidInputError
        A blank note, bad photos, or no photo directory configured.
    ConflictError
        A stale ``expected_version``.
    """
    cfg = config or IssueConfig()
    now = cfg.now()
    issue = get_issue(session, issue_id)
    check_scope(session, actor, issue, "progress_note", guard)
    if expected_version is not None and expected_version != issue.version:
        raise ConflictError(
            f"issue {issue.id} is at version {issue.version}, not {expected_version}",
            kind="issue",
            key=issue.id,
        )
    if actor.role not in NOTE_ROLES:
        raise PermissionDeniedError(
            f"role {actor.role.value} may not write a progress note", role=actor.role.value
        )
    held = unit_roles_on(issue, actor.unit)
    if actor.role is ActorRole.unit and not held & NOTE_PARTIES:
        raise PermissionDeniedError(
            f"unit {actor.unit} answers neither as owner nor as co-responsible for "
            f"issue {issue.id}",
            unit=actor.unit,
        )
    if not cfg.workflow.is_open(issue.state):
        raise InvalidTransitionError(
            f"issue {issue.id} is {issue.state} ({cfg.workflow.label(issue.state)}); "
            "progress notes go on open issues only",
            kind="issue",
            key=issue.id,
        )
    if not (note or "").strip():
        raise InvalidInputError("a progress note needs its text", field="note")
    checked = check_photos(photos, max_bytes=cfg.photo_max_bytes, max_count=cfg.photo_max_count)
    if checked and cfg.photo_dir is None:
        raise InvalidInputError(
            "photos are not accepted: no photo directory is configured", field="photos"
        )
    issue.updated_at = now
    flag_modified(issue, "updated_at")
    party = "owner" if "owner" in held else ("co_responsible" if held else None)
    ev = record_event(
        session,
        issue,
        actor,
        "progress_note",
        now,
        from_state=issue.state,
        to_state=issue.state,
        note=note.strip(),
        data={"party": party, "photos": len(checked)},
    )
    flush_issue(session, issue)
    attach_photos(session, issue, ev, checked, cfg, PROGRESS_STAGE, now)
    flush_issue(session, issue)
    return ev
