"""Safe dispatch (交办/改派): what the routing suggests, which units answer for the place,
and the check that a unit chosen outside them comes with a reason.

The place's responsible units are read from the routing answer stored on the issue
(:attr:`Issue.routing <civgrid.grids.issues.models.Issue.routing>`): its owner, its
responsible units and its lead unit (牵头单位). Sending an issue elsewhere is allowed —
the command center knows things the tables do not — but it must say why, and the reason
is kept in the history (a local choice, asked for in issue 21: "a warning when the
chosen unit is not among the place's responsible units (it asks for a reason, which
goes in the history)").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.grids.boundaries.models import Unit, UnitKind
from civgrid.grids.core import labels as zh
from civgrid.grids.core.errors import OutsideResponsibilityError
from civgrid.grids.issues.models import Issue

__all__ = [
    "DispatchOptions",
    "UnitChoice",
    "check_responsible",
    "dispatch_options",
    "place_unit_roles",
    "suggestion_reason",
]

#: Unit kinds an issue is never (re)assigned to: they command or supervise, they do not fix.
NOT_ASSIGNABLE = frozenset({UnitKind.command_group, UnitKind.supervision_team})

#: How a unit answers for the place, in Chinese (the routing role of the answer).
ROLE_LABELS: dict[str, str] = {
    "owner": "责任认定的主办单位",
    "responsible": zh.ROLE_LABELS["responsible"],
    "lead": zh.ROLE_LABELS["lead"],
}


def place_unit_roles(routing: dict[str, Any] | None) -> dict[str, str]:
    """The units answering for the place of a routing answer: ``key -> role``.

    Parameters
    ----------
    routing : dict or None
        :meth:`Responsibility.to_dict
        <civgrid.grids.boundaries.routing.Responsibility.to_dict>` as stored on the issue.

    Returns
    -------
    dict
        ``owner`` first, then ``responsible`` units and the ``lead`` unit, each key once.

    Examples
    --------
    >>> place_unit_roles({"owner": {"key": "C01"}, "responsible_units": [{"key": "C01"},
    ...                   {"key": "D04"}], "lead_unit": {"key": "S01"}})
    {'C01': 'owner', 'D04': 'responsible', 'S01': 'lead'}
    >>> place_unit_roles(None)
    {}
    """
    routing = routing or {}
    out: dict[str, str] = {}
    owner = routing.get("owner") or {}
    if owner.get("key"):
        out[owner["key"]] = "owner"
    for p in routing.get("responsible_units") or []:
        out.setdefault(p["key"], "responsible")
    lead = routing.get("lead_unit") or {}
    if lead.get("key"):
        out.setdefault(lead["key"], "lead")
    return out


def suggestion_reason(routing: dict[str, Any] | None) -> str | None:
    """Why the routing suggests its owner, in Chinese (None when it suggests none).

    Examples
    --------
    >>> reason = {"step": 1, "steps": 4, "co_built": False, "note": "单元网格责任单位 — 004"}
    >>> suggestion_reason({"owner": {"key": "C01"}, "owner_reason": reason})
    '单元网格责任单位（责任认定第1步，共4步）'
    >>> suggestion_reason({"owner": {"key": "C01"}}) is None
    True
    """
    routing = routing or {}
    reason = routing.get("owner_reason")
    if not (routing.get("owner") or {}).get("key") or not reason:
        return None
    what = (reason.get("note") or "").split(" — ")[0] or "责任认定规则"
    extra = "；共建点位，由牵头单位负责" if reason.get("co_built") else ""
    return f"{what}（责任认定第{reason['step']}步，共{reason['steps']}步{extra}）"


def check_responsible(issue: Issue, unit: Unit, note: str | None) -> bool:
    """Whether ``unit`` is outside the place's responsible units; refuse it without a reason.

    A unit that already owns the issue is never questioned again (it was checked when it
    was given the issue).

    Returns
    -------
    bool
        True when the unit is outside (the caller records it in the history).

    Raises
    ------
    OutsideResponsibilityError
        Outside, and ``note`` (the reason) is empty (``field="note"``).
    """
    if issue.owner_unit is not None and issue.owner_unit.key == unit.key:
        return False
    if unit.key in place_unit_roles(issue.routing):
        return False
    if not (note or "").strip():
        raise OutsideResponsibilityError(
            f"unit {unit.key} ({unit.name}) is not among the responsible units of the place "
            f"of issue {issue.id}; give the reason (note) to send it there anyway",
            field="note",
            unit=unit.key,
        )
    return True


@dataclass(frozen=True)
class UnitChoice:
    """One unit offered by the dispatch form."""

    key: str
    name: str
    kind: str
    #: How it answers for the place (``owner``/``responsible``/``lead``), None: it does not.
    role: str | None = None
    role_label: str | None = None


@dataclass(frozen=True)
class DispatchOptions:
    """What the 交办/改派 form offers for one issue."""

    issue_id: int
    state: str
    current_owner: str | None
    suggested: str | None
    suggested_reason: str | None
    responsible: list[UnitChoice] = field(default_factory=list)
    units: list[UnitChoice] = field(default_factory=list)


def dispatch_options(session: Session, issue: Issue) -> DispatchOptions:
    """The dispatch choices for ``issue``: the suggestion, the place's units, every unit.

    The suggestion is the routing answer's owner (the current owner when the routing
    suggests none); every assignable unit is listed (name order) for the search.
    """
    roles = place_unit_roles(issue.routing)
    units = [
        u
        for u in session.scalars(select(Unit).order_by(Unit.name, Unit.key))
        if u.kind not in NOT_ASSIGNABLE
    ]
    by_key = {u.key: u for u in units}

    def choice(u: Unit) -> UnitChoice:
        role = roles.get(u.key)
        return UnitChoice(u.key, u.name, str(u.kind), role, ROLE_LABELS.get(role or ""))

    suggested = (issue.routing or {}).get("owner") or {}
    key = suggested.get("key") if suggested.get("key") in by_key else None
    reason = suggestion_reason(issue.routing) if key else None
    current = issue.owner_unit.key if issue.owner_unit is not None else None
    if key is None and current is not None:
        key, reason = current, "当前主办单位"
    return DispatchOptions(
        issue_id=issue.id,
        state=str(issue.state),
        current_owner=current,
        suggested=key,
        suggested_reason=reason,
        responsible=[choice(by_key[k]) for k in roles if k in by_key],
        units=[choice(u) for u in units],
    )
