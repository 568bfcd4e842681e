"""The issue state machine: every legal transition and every illegal one."""

from __future__ import annotations

import itertools

import pytest

from civgrid.grids.core.actors import ActorRole
from civgrid.grids.core.errors import (
    InvalidInputError,
    InvalidTransitionError,
    PermissionDeniedError,
)
from civgrid.grids.issues.workflow import (
    DEFAULT_LABELS,
    KIND,
    TRANSITIONS,
    Action,
    Kind,
    State,
    Workflow,
)

WF = Workflow()

#: The expected table, written out independently of workflow.py.
LEGAL = {
    (State.triage, Action.dispatch): State.assigned,
    (State.triage, Action.reject): State.rejected,
    (State.triage, Action.merge): State.merged,
    (State.assigned, Action.accept): State.rectifying,
    (State.assigned, Action.submit): State.submitted,
    (State.assigned, Action.reject): State.rejected,
    (State.assigned, Action.merge): State.merged,
    (State.assigned, Action.reassign): State.assigned,
    (State.rectifying, Action.submit): State.submitted,
    (State.rectifying, Action.reassign): State.assigned,
    (State.returned, Action.accept): State.rectifying,
    (State.returned, Action.submit): State.submitted,
    (State.returned, Action.reassign): State.assigned,
    (State.closed, Action.reopen): State.rectifying,
    (State.merged, Action.unmerge): State.triage,
}


@pytest.mark.parametrize(("state", "action"), sorted(LEGAL))
def test_legal_transition(state, action):
    assert WF.target(state, action) == LEGAL[(state, action)]


@pytest.mark.parametrize("passed", [True, False])
def test_reinspection_closes_or_returns(passed):
    t = WF.transition(State.submitted, Action.reinspect, outcome=passed)
    assert t.target == (State.closed if passed else State.returned)
    assert t.counts_return is (not passed)


def test_reinspection_needs_an_outcome():
    with pytest.raises(InvalidInputError, match="outcome"):
        WF.transition(State.submitted, Action.reinspect)


ILLEGAL = [
    (s, a)
    for s, a in itertools.product(State, Action)
    if (s, a) not in LEGAL and not (s is State.submitted and a is Action.reinspect)
]


@pytest.mark.parametrize(("state", "action"), ILLEGAL)
def test_illegal_transition(state, action):
    with pytest.raises(InvalidTransitionError) as info:
        WF.transition(state, action, outcome=True)
    msg = str(info.value)
    assert f"cannot {action.value}" in msg and state.value in msg and "allowed:" in msg


def test_table_has_nothing_else():
    rows = {(t.source, t.action) for t in TRANSITIONS}
    assert rows == set(LEGAL) | {(State.submitted, Action.reinspect)}


def test_final_states_say_so():
    with pytest.raises(InvalidTransitionError, match=r"none \(final state\)"):
        WF.transition(State.rejected, Action.dispatch)


def test_unknown_action():
    with pytest.raises(InvalidInputError, match="unknown action 'fly'"):
        WF.transition(State.assigned, "fly")


def test_only_reopen_and_failed_reinspection_count_as_returns():
    counting = {(t.source, t.action, t.outcome) for t in TRANSITIONS if t.counts_return}
    assert counting == {
        (State.submitted, Action.reinspect, False),
        (State.closed, Action.reopen, None),
    }


def test_kinds_are_fixed_and_labels_are_per_city():
    wf = Workflow.from_labels({"triage": "待分派", "closed": "办结"})
    assert wf.label(State.triage) == "待分派"
    assert wf.label("closed") == "办结"
    assert wf.label(State.assigned) == DEFAULT_LABELS[State.assigned]
    assert wf.kind(State.closed) is Kind.closed_fixed  # the relabelled state keeps its kind
    assert {s for s in State if KIND[s] is Kind.open} == {
        State.triage,
        State.assigned,
        State.rectifying,
        State.submitted,
        State.returned,
    }
    assert wf.states_of_kind("closed_not_fixed") == [State.rejected, State.merged]
    with pytest.raises(InvalidInputError, match="unknown state 'done'"):
        Workflow.from_labels({"done": "完成"})


def test_roles():
    # a unit may not close its own issue
    with pytest.raises(PermissionDeniedError, match="role unit may not reinspect"):
        WF.check(State.submitted, Action.reinspect, ActorRole.unit, outcome=True)
    WF.check(State.submitted, Action.reinspect, ActorRole.inspector, outcome=True)
    # the system actor may do everything
    WF.check(State.triage, Action.dispatch, ActorRole.system)
    # reopen: reporter or inspector
    with pytest.raises(PermissionDeniedError):
        WF.check(State.closed, Action.reopen, ActorRole.citizen, note="again")
    WF.check(State.closed, Action.reopen, ActorRole.citizen, note="again", is_reporter=True)
    assert WF.actions(State.assigned, ActorRole.unit) == [Action.accept, Action.submit]


def test_notes_and_photos():
    with pytest.raises(InvalidInputError, match="photo") as info:
        WF.check(State.rectifying, Action.submit, ActorRole.unit)
    assert info.value.context["field"] == "photos"
    WF.check(State.rectifying, Action.submit, ActorRole.unit, photo_count=1)
    Workflow(require_photo_on_submit=False).check(State.rectifying, Action.submit, "unit")
    with pytest.raises(InvalidInputError, match="note"):
        WF.check(State.submitted, Action.reinspect, "inspector", outcome=False, note="  ")
    with pytest.raises(InvalidInputError, match="unknown role"):
        WF.check(State.triage, Action.dispatch, "mayor")
