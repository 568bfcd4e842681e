"""The issue workflow as an explicit state machine (a table, not if-chains).

States (:class:`State`)::

    triage ──dispatch──▶ assigned ──accept──▶ rectifying ──submit──▶ submitted
      │  ╲                 │  ╲                                  │        │
      │   reject/merge     │   submit ─────────────────────────▶ │   reinspect
      ▼                    ▼                                     │    passed │ failed
    rejected/merged      rejected/merged                         ▼           ▼
                                                               closed     returned
                                                                 │           │
                                                      reopen ◀───┘  accept / submit
                                                   (→ rectifying, a return)

- **triage** (待分拣): outside the jurisdiction, unroutable, or an anonymous
  citizen report; a dispatcher confirms or corrects the proposed assignment.
- **assigned** (已交办): dispatched to the owning unit with a deadline.
- **rectifying** (整改中): the unit has accepted it (签收) and is fixing.
- **submitted** (待复查): the unit reported the fix, with photos.
- **closed** (已结案): re-inspection passed.
- **returned** (已退回): re-inspection failed; the unit must fix again (返工).
- **rejected** (不予受理): not a problem (or not ours).
- **merged** (已合并): a duplicate of another open issue.

Re-inspection is one event on a submitted issue with an outcome
(:data:`Action.reinspect`): passed → closed, failed → returned. Reopening a
closed issue moves it back to rectifying and counts as a return.

Each state has a fixed :class:`Kind` (open / closed_fixed / closed_not_fixed)
that statistics use; the *labels* shown to people are per-city configuration
(:class:`Workflow`), so relabelling never changes a statistic.

Overdue, escalated and extension-pending are :class:`Flag` values on an open
issue, not states.

Examples
--------
>>> wf = Workflow()
>>> wf.target(State.submitted, Action.reinspect, passed=False)
<State.returned: 'returned'>
>>> wf.label(State.rectifying)
'整改中'
>>> wf.kind(State.rejected).value
'closed_not_fixed'
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from civgrid.grids.core.actors import ActorRole
from civgrid.grids.core.errors import (
    InvalidInputError,
    InvalidTransitionError,
    PermissionDeniedError,
)
from civgrid.grids.core.labels import ISSUE_ACTION_LABELS

__all__ = [
    "DEFAULT_LABELS",
    "KIND",
    "STATE_COLORS",
    "STATE_TABLE",
    "TRANSFER_TRANSITIONS",
    "TRANSITIONS",
    "Action",
    "ActorRole",
    "Flag",
    "Kind",
    "State",
    "StateRow",
    "TransferDecision",
    "TransferState",
    "Transition",
    "Workflow",
    "legend_states",
    "open_states",
    "states",
]


class State(enum.StrEnum):
    """Workflow states of an issue."""

    triage = "triage"
    assigned = "assigned"
    rectifying = "rectifying"
    submitted = "submitted"
    closed = "closed"
    returned = "returned"
    rejected = "rejected"
    merged = "merged"


class Kind(enum.StrEnum):
    """What a state means for statistics; fixed per state, whatever its label."""

    open = "open"
    closed_fixed = "closed_fixed"
    closed_not_fixed = "closed_not_fixed"


@dataclass(frozen=True)
class StateRow:
    """One row of the state table: the fixed kind, the default label, the map colour."""

    kind: Kind
    label: str
    color: str


#: The state table: the one home of the states, their kinds, default (Chinese)
#: labels and marker colours. Adding a row here adds a state everywhere (maps,
#: legends, lists); a city overrides labels via :class:`Workflow`.
STATE_TABLE: dict[str, StateRow] = {
    State.triage: StateRow(Kind.open, "待分拣", "#7b1fa2"),
    State.assigned: StateRow(Kind.open, "已交办", "#1565c0"),
    State.rectifying: StateRow(Kind.open, "整改中", "#ef6c00"),
    State.submitted: StateRow(Kind.open, "待复查", "#00897b"),
    State.returned: StateRow(Kind.open, "已退回", "#c62828"),
    State.closed: StateRow(Kind.closed_fixed, "已结案", "#2e7d32"),
    State.rejected: StateRow(Kind.closed_not_fixed, ISSUE_ACTION_LABELS["reject"], "#9e9e9e"),
    State.merged: StateRow(Kind.closed_not_fixed, "已合并", "#bdbdbd"),
}


class _Column(Mapping[str, Any]):
    """A live read-only view of one column of :data:`STATE_TABLE` (``state -> value``)."""

    def __init__(self, attr: str) -> None:
        self._attr = attr

    def __getitem__(self, state: str) -> Any:
        return getattr(STATE_TABLE[state], self._attr)

    def __iter__(self) -> Iterator[str]:
        return iter(STATE_TABLE)

    def __len__(self) -> int:
        return len(STATE_TABLE)

    def __repr__(self) -> str:
        return repr(dict(self))


#: The fixed kind of every state (a view of :data:`STATE_TABLE`).
KIND: Mapping[str, Kind] = _Column("kind")
#: Default (Chinese) labels; a city overrides any of them (a view of :data:`STATE_TABLE`).
DEFAULT_LABELS: Mapping[str, str] = _Column("label")
#: Marker colours by state (a view of :data:`STATE_TABLE`).
STATE_COLORS: Mapping[str, str] = _Column("color")


def states() -> list[str]:
    """Every state code, in table order."""
    return [str(s) for s in STATE_TABLE]


def open_states() -> list[str]:
    """The codes of the states of kind open."""
    return [str(s) for s, r in STATE_TABLE.items() if r.kind is Kind.open]


def legend_states() -> list[str]:
    """The states a map legend lists: the open ones and those closed as fixed."""
    return [str(s) for s, r in STATE_TABLE.items() if r.kind is not Kind.closed_not_fixed]


class Flag(enum.StrEnum):
    """Conditions on an open issue (not states)."""

    overdue = "overdue"  # 超期
    escalated = "escalated"  # 已升级 (after the 督办 deadline)
    extension_pending = "extension_pending"  # 延期申请待批


class Action(enum.StrEnum):
    """Events that move an issue between states."""

    dispatch = "dispatch"  # 交办: confirm (or correct) the assignment of a triaged issue
    accept = "accept"  # 签收: the unit starts rectifying
    submit = "submit"  # 上报整改: fix reported, with photos
    reinspect = "reinspect"  # 复查: passed → closed, failed → returned
    reopen = "reopen"  # 重新打开: a closed issue back to rectifying (a return)
    reject = "reject"  # 不予受理
    merge = "merge"  # 合并为重复
    unmerge = "unmerge"  # 撤销合并
    reassign = "reassign"  # 改派: another unit/area; back to assigned


_CC = frozenset({ActorRole.command_center})
_INSPECT = frozenset({ActorRole.command_center, ActorRole.inspector})
_UNIT = frozenset({ActorRole.unit, ActorRole.command_center})
_REOPEN = frozenset({ActorRole.reporter, ActorRole.inspector, ActorRole.command_center})


@dataclass(frozen=True)
class Transition:
    """One row of the transition table.

    Attributes
    ----------
    action : Action
    source : State
    target : State
    roles : frozenset of ActorRole
        Who may do it (``system`` always may).
    outcome : bool or None
        For :data:`Action.reinspect`: the result this row handles.
    counts_return : bool
        The unit's rework count goes up (failed re-inspection, reopen).
    needs_photo : bool
        At least one photo must come with the event (subject to
        :attr:`Workflow.require_photo_on_submit`).
    needs_note : bool
        A note (reason) is required.
    """

    action: Action
    source: State
    target: State
    roles: frozenset[ActorRole]
    outcome: bool | None = None
    counts_return: bool = False
    needs_photo: bool = False
    needs_note: bool = False


def _t(action: Action, sources: Iterable[State], target: State, roles, **kw) -> list[Transition]:
    return [Transition(action, s, target, frozenset(roles), **kw) for s in sources]


S = State
A = Action
#: Every legal transition. Anything not here is illegal.
TRANSITIONS: tuple[Transition, ...] = (
    *_t(A.dispatch, [S.triage], S.assigned, _CC),
    *_t(A.accept, [S.assigned, S.returned], S.rectifying, _UNIT),
    *_t(A.submit, [S.assigned, S.rectifying, S.returned], S.submitted, _UNIT, needs_photo=True),
    *_t(A.reinspect, [S.submitted], S.closed, _INSPECT, outcome=True),
    *_t(
        A.reinspect,
        [S.submitted],
        S.returned,
        _INSPECT,
        outcome=False,
        counts_return=True,
        needs_note=True,
    ),
    *_t(A.reopen, [S.closed], S.rectifying, _REOPEN, counts_return=True, needs_note=True),
    *_t(A.reject, [S.triage, S.assigned], S.rejected, _CC, needs_note=True),
    *_t(A.merge, [S.triage, S.assigned], S.merged, _CC),
    *_t(A.unmerge, [S.merged], S.triage, _CC),
    *_t(A.reassign, [S.assigned, S.rectifying, S.returned], S.assigned, _CC, needs_note=True),
)
del S, A


@dataclass
class Workflow:
    """The state machine of one city: the fixed table plus per-city labels and options.

    Parameters
    ----------
    labels : mapping, optional
        ``state -> label`` overriding :data:`DEFAULT_LABELS` (any subset).
    require_photo_on_submit : bool
        Whether reporting a fix needs at least one photo (default True).
    transitions : iterable of Transition
        The table (default :data:`TRANSITIONS`).
    """

    labels: dict[State, str] = field(default_factory=dict)
    require_photo_on_submit: bool = True
    transitions: tuple[Transition, ...] = TRANSITIONS

    def __post_init__(self) -> None:
        merged = dict(DEFAULT_LABELS)
        for key, label in (self.labels or {}).items():
            if str(key) not in STATE_TABLE:
                raise InvalidInputError(
                    f"unknown state {key!r} in the state labels; states are " + ", ".join(states()),
                    field="state_labels",
                )
            state = str(key)
            if not str(label).strip():
                raise InvalidInputError(f"empty label for state {key!r}", field="state_labels")
            merged[state] = str(label)
        self.labels = merged
        self._table: dict[tuple[State, Action], list[Transition]] = {}
        for t in self.transitions:
            self._table.setdefault((t.source, t.action), []).append(t)

    @classmethod
    def from_labels(cls, labels: Mapping[str, str] | None, **kwargs) -> Workflow:
        """Build from a plain ``{"triage": "待分派", …}`` mapping."""
        return cls(labels=dict(labels or {}), **kwargs)

    # ---------------------------------------------------------------- queries
    def label(self, state: State | str) -> str:
        """The city's label of ``state``."""
        if str(state) not in STATE_TABLE:
            raise ValueError(f"{state!r} is not a valid State")
        return self.labels[str(state)]

    @staticmethod
    def kind(state: State | str) -> Kind:
        """The fixed kind of ``state``."""
        if str(state) not in STATE_TABLE:
            raise ValueError(f"{state!r} is not a valid State")
        return KIND[str(state)]

    @staticmethod
    def is_open(state: State | str) -> bool:
        """Whether issues in ``state`` are still open."""
        if str(state) not in STATE_TABLE:
            raise ValueError(f"{state!r} is not a valid State")
        return KIND[str(state)] is Kind.open

    @staticmethod
    def states_of_kind(*kinds: Kind | str) -> list[State]:
        """States whose kind is one of ``kinds``."""
        wanted = {Kind(k) for k in kinds}
        return [s for s in State if KIND[s] in wanted]

    def actions(self, state: State | str, role: ActorRole | str | None = None) -> list[Action]:
        """Actions possible from ``state`` (for ``role`` when given), in table order."""
        state = State(state)
        out: list[Action] = []
        for (source, action), rows in self._table.items():
            if (
                source is state
                and action not in out
                and (role is None or any(self._role_ok(t, ActorRole(role)) for t in rows))
            ):
                out.append(action)
        return out

    @staticmethod
    def _role_ok(t: Transition, role: ActorRole, *, is_reporter: bool = False) -> bool:
        if role is ActorRole.system or role in t.roles:
            return True
        return is_reporter and ActorRole.reporter in t.roles

    def transition(
        self,
        state: State | str,
        action: Action | str,
        *,
        outcome: bool | None = None,
    ) -> Transition:
        """The table row for ``action`` from ``state``.

        Parameters
        ----------
        state : State
        action : Action
        outcome : bool, optional
            Required for :data:`Action.reinspect` (True = passed).

        Returns
        -------
        Transition

        Raises
        ------
        InvalidInputError
            Unknown action, or a re-inspection without an outcome.
        InvalidTransitionError
            The action is not allowed from ``state``; the message lists what is.
        """
        state = State(state)
        try:
            action = Action(action)
        except ValueError as exc:
            raise InvalidInputError(
                f"unknown action {action!r}; actions are " + ", ".join(a.value for a in Action),
                field="action",
            ) from exc
        rows = self._table.get((state, action))
        if not rows:
            allowed = ", ".join(a.value for a in self.actions(state)) or "none (final state)"
            raise InvalidTransitionError(
                f"cannot {action.value} an issue in state {state.value} "
                f"({self.label(state)}); allowed: {allowed}",
                state=state.value,
                action=action.value,
            )
        if len(rows) == 1 and rows[0].outcome is None:
            return rows[0]
        if outcome is None:
            raise InvalidInputError(
                f"{action.value} needs an outcome (passed: true or false)", field="passed"
            )
        for t in rows:
            if t.outcome is outcome:
                return t
        raise InvalidTransitionError(  # pragma: no cover - the table has both outcomes
            f"no {action.value} with outcome {outcome} from {state.value}"
        )

    def target(self, state: State | str, action: Action | str, *, outcome=None, passed=None):
        """The state after ``action`` from ``state`` (``passed`` is an alias of ``outcome``)."""
        return self.transition(state, action, outcome=outcome if passed is None else passed).target

    def check(
        self,
        state: State | str,
        action: Action | str,
        role: ActorRole | str,
        *,
        outcome: bool | None = None,
        is_reporter: bool = False,
        note: str | None = None,
        photo_count: int = 0,
    ) -> Transition:
        """Validate an event fully: legal transition, permitted role, note and photos.

        Parameters
        ----------
        state, action, outcome
            As for :meth:`transition`.
        role : ActorRole
            The actor's role.
        is_reporter : bool
            Whether the actor reported the issue (rows allowing ``reporter``).
        note : str, optional
        photo_count : int

        Returns
        -------
        Transition

        Raises
        ------
        InvalidTransitionError, PermissionDeniedError, InvalidInputError
        """
        t = self.transition(state, action, outcome=outcome)
        try:
            role = ActorRole(role)
        except ValueError as exc:
            raise InvalidInputError(f"unknown role {role!r}", field="role") from exc
        if not self._role_ok(t, role, is_reporter=is_reporter):
            who = ", ".join(sorted(r.value for r in t.roles))
            raise PermissionDeniedError(
                f"role {role.value} may not {t.action.value} (allowed: {who})",
                role=role.value,
                action=t.action.value,
            )
        if t.needs_note and not (note or "").strip():
            raise InvalidInputError(
                f"{t.action.value} needs a note giving the reason", field="note"
            )
        if t.needs_photo and self.require_photo_on_submit and photo_count < 1:
            raise InvalidInputError(
                f"{t.action.value} needs at least one photo of the fix", field="photos"
            )
        return t


#: States in which the owner unit is on the clock (deadlines, overdue, extensions, scoring).
ON_CLOCK: tuple[State, ...] = (State.assigned, State.rectifying, State.returned)


class TransferState(enum.StrEnum):
    """States of a transfer request (转办申请, :mod:`civgrid.grids.issues.transfers`)."""

    pending = "pending"  # 待审批
    approved = "approved"  # 已同意: the issue went to another unit
    refused = "refused"  # 不同意: the owner stays
    lapsed = "lapsed"  # 已失效: the issue stopped being open before a decision


class TransferDecision(enum.StrEnum):
    """What moves a transfer request out of ``pending``."""

    approve = "approve"  # the command center
    refuse = "refuse"  # the command center, with a reason
    lapse = "lapse"  # the system, when the issue is closed, rejected or merged


#: Every legal move of a transfer request; anything else is illegal (a second decision: 409).
TRANSFER_TRANSITIONS: dict[tuple[TransferState, TransferDecision], TransferState] = {
    (TransferState.pending, TransferDecision.approve): TransferState.approved,
    (TransferState.pending, TransferDecision.refuse): TransferState.refused,
    (TransferState.pending, TransferDecision.lapse): TransferState.lapsed,
}
