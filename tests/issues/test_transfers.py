"""Progress notes and transfer requests (转办申请) in the domain.

A co-responsible unit writes a note and asks for a transfer, cannot submit the fix;
the command center approves (the owner changes by a reassign, with history and audit,
the old owner stays co-responsible) or refuses (nothing changes); a second decision
is a conflict, a retry of the same decision is not; the per-unit counts match a count
made by hand.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from civgrid.grids.boundaries.models import Unit
from civgrid.grids.core.actors import Actor
from civgrid.grids.core.audit import AuditRecord
from civgrid.grids.core.errors import (
    ConflictError,
    InvalidInputError,
    InvalidTransitionError,
    PermissionDeniedError,
)
from civgrid.grids.issues import service as svc
from civgrid.grids.issues.intake import IssueReport
from civgrid.grids.issues.notes import add_progress_note
from civgrid.grids.issues.photos import PhotoInput
from civgrid.grids.issues.transfers import (
    decide_transfer,
    list_transfers,
    request_transfer,
    transfer_counts,
)
from support.demo_stores import demo_store_copy
from support.issue_helpers import COMPOUND, point_in
from support.mapdata import PNG

GW = Actor("网格员甲", "grid_worker")
CC = Actor("指挥中心", "command_center")


@pytest.fixture
def sqlite_store(request, tmp_path):
    """The demo county on SQLite (fresh copy per test)."""
    yield from demo_store_copy("sqlite", request, tmp_path)


def _issue_with_co(store, config, s, category="dumping"):
    """An assigned issue at the compound with one extra co-responsible unit.

    Returns (issue, owner key, co-responsible key, an unrelated unit key).
    """
    lon, lat = point_in(store, COMPOUND)
    issue = svc.report_issue(
        s, store, GW, IssueReport(category, "grid_worker", lon, lat), config=config
    ).issue
    owner = issue.owner_unit.key
    parties = {p.unit.key for p in issue.parties if p.unit is not None}
    others = [u.key for u in s.scalars(select(Unit).order_by(Unit.key)) if u.key not in parties]
    co, stranger = others[0], others[1]
    svc.reassign(s, CC, issue.id, unit=owner, co_units=[co], note="加上协办单位", config=config)
    assert {p.unit.key for p in issue.parties if p.role == "co_responsible"} == {co}
    return issue, owner, co, stranger


def unit(key):
    return Actor(f"{key}经办人", "unit", key)


def test_co_responsible_unit_notes_and_asks_but_cannot_submit(sqlite_store, config):
    store = sqlite_store
    with store.session() as s:
        issue, owner, co, stranger = _issue_with_co(store, config, s)
        photo = PhotoInput(PNG, "a.png")
        ev = add_progress_note(
            s, unit(co), issue.id, note="已清理楼道一半", photos=[photo], config=config
        )
        assert ev.action == "progress_note" and ev.data["party"] == "co_responsible"
        assert [p.stage for p in ev.photos] == ["progress"]
        assert issue.state == "assigned"  # a note moves nothing
        req = request_transfer(
            s, unit(co), issue.id, reason="不属于本单位职责", proposed_unit=stranger, config=config
        )
        assert (req.state, req.requesting_role, req.proposed_unit.key) == (
            "pending",
            "co_responsible",
            stranger,
        )
        with pytest.raises(PermissionDeniedError, match="owner"):
            svc.submit(s, unit(co), issue.id, photos=[PhotoInput(PNG, "f.png")], config=config)
        with pytest.raises(PermissionDeniedError):
            add_progress_note(s, unit(stranger), issue.id, note="路过", config=config)
        with pytest.raises(PermissionDeniedError):
            request_transfer(s, unit(stranger), issue.id, reason="x", config=config)
        # one pending request per issue and unit
        with pytest.raises(ConflictError, match="pending"):
            request_transfer(s, unit(co), issue.id, reason="再申请", config=config)
        with pytest.raises(InvalidInputError, match="reason"):
            request_transfer(s, unit(owner), issue.id, reason="  ", config=config)
        # the owner may ask too, and still submits the fix
        mine = request_transfer(s, unit(owner), issue.id, reason="应由物业处理", config=config)
        assert mine.requesting_role == "owner"
        svc.submit(s, unit(owner), issue.id, photos=[PhotoInput(PNG, "f.png")], config=config)
        assert issue.state == "submitted"
        with pytest.raises(InvalidTransitionError, match="cannot reassign"):
            decide_transfer(s, CC, req.id, approve=True, config=config)
        assert issue.owner_unit.key == owner


def test_approve_changes_the_owner_with_history_and_audit(store, config):
    """On both backends: the owner changes by a reassign; the old owner stays co-responsible."""
    with store.session() as s:
        issue, owner, co, stranger = _issue_with_co(store, config, s)
        config.clock.advance(days=3)
        req = request_transfer(
            s, unit(co), issue.id, reason="该点位属交警职责", proposed_unit=stranger, config=config
        )
        before = len(issue.events)
        decide_transfer(s, CC, req.id, approve=True, note="同意", config=config, store=store)
        s.commit()
        assert req.state == "approved" and req.new_owner_unit.key == stranger
        assert issue.owner_unit.key == stranger
        roles = {p.unit.key: p.role for p in issue.parties if p.unit is not None}
        assert roles[owner] == "co_responsible" and roles[co] == "co_responsible"
        assert roles[stranger] == "owner"
        assert issue.state == "assigned"
        assert issue.assigned_at == config.clock()
        new = [(e.action, (e.data or {}).get("to_unit")) for e in issue.events[before:]]
        assert new == [("reassign", stranger), ("transfer_decision", stranger)]
        audit = s.scalars(
            select(AuditRecord).where(AuditRecord.object_kind == "transfer_request")
        ).all()
        assert [(a.action, a.object_key, a.after["state"]) for a in audit] == [
            ("transfer.approve", str(req.id), "approved")
        ]
        # a retry of the same decision is answered with the request, unchanged
        again = decide_transfer(s, CC, req.id, approve=True, note="同意", config=config)
        assert again is req and len(issue.events) == before + 2
        # another decision is a conflict
        with pytest.raises(InvalidTransitionError, match="approved already"):
            decide_transfer(s, CC, req.id, approve=False, note="不同意", config=config)
        with pytest.raises(InvalidTransitionError):
            decide_transfer(s, CC, req.id, approve=True, unit=owner, config=config)


def test_refuse_leaves_the_owner(sqlite_store, config):
    store = sqlite_store
    with store.session() as s:
        issue, owner, co, _ = _issue_with_co(store, config, s)
        req = request_transfer(s, unit(co), issue.id, reason="不归我管", config=config)
        deadline, version = issue.deadline, issue.version
        with pytest.raises(InvalidInputError, match="reason"):
            decide_transfer(s, CC, req.id, approve=False, config=config)
        with pytest.raises(InvalidInputError, match="proposes no unit"):
            decide_transfer(s, CC, req.id, approve=True, config=config)
        with pytest.raises(PermissionDeniedError):
            decide_transfer(s, unit(owner), req.id, approve=False, note="x", config=config)
        decide_transfer(s, CC, req.id, approve=False, note="属协办职责，应配合", config=config)
        assert req.state == "refused" and req.decision_note == "属协办职责，应配合"
        assert issue.owner_unit.key == owner and issue.deadline == deadline
        assert issue.events[-1].action == "transfer_decision"
        assert issue.version == version + 1  # the history moved, the assignment did not
        with pytest.raises(InvalidTransitionError):
            decide_transfer(s, CC, req.id, approve=True, unit=co, config=config)
        # asking again after a refusal is allowed, and is a repeat
        again = request_transfer(s, unit(co), issue.id, reason="仍不归我管", config=config)
        assert issue.events[-1].data["repeat"] is True
        assert [r.id for r in list_transfers(s, state="pending")] == [again.id]


def test_a_pending_request_lapses_when_the_issue_closes(sqlite_store, config):
    store = sqlite_store
    with store.session() as s:
        issue, _, co, _ = _issue_with_co(store, config, s)
        req = request_transfer(s, unit(co), issue.id, reason="不归我管", config=config)
        svc.reject(s, CC, issue.id, note="不是问题", config=config)
        assert req.state == "lapsed" and req.decided_by == "system"
        with pytest.raises(InvalidTransitionError):
            decide_transfer(s, CC, req.id, approve=False, note="x", config=config)


def test_counts_per_unit_match_a_hand_count(sqlite_store, config):
    """Two issues; unit A asks, is refused and asks again on issue 1 (a repeat), asks once
    on issue 2 and is approved; unit B asks on issue 1 and waits.

    By hand: A requested 3, approved 1, refused 1, repeated 1, pending 1;
    B requested 1, pending 1, nothing else.
    """
    store = sqlite_store
    with store.session() as s:
        one, owner1, a, b = _issue_with_co(store, config, s)
        svc.reassign(s, CC, one.id, unit=owner1, co_units=[a, b], note="两个协办", config=config)
        two, owner2, _, _ = _issue_with_co(store, config, s, category="illegal_flyers")
        svc.reassign(s, CC, two.id, unit=owner2, co_units=[a], note="协办", config=config)
        r1 = request_transfer(s, unit(a), one.id, reason="一", config=config)
        decide_transfer(s, CC, r1.id, approve=False, note="应配合", config=config)
        request_transfer(s, unit(a), one.id, reason="二", config=config)
        r3 = request_transfer(s, unit(a), two.id, reason="三", proposed_unit=b, config=config)
        decide_transfer(s, CC, r3.id, approve=True, config=config)
        request_transfer(s, unit(b), one.id, reason="四", config=config)
        got = {c.unit_key: c.to_dict() for c in transfer_counts(s)}
    assert set(got) == {a, b}
    strip = {k: v for k, v in got[a].items() if k not in ("unit_key", "unit_name")}
    assert strip == {"requested": 3, "approved": 1, "refused": 1, "repeated": 1, "pending": 1}
    strip = {k: v for k, v in got[b].items() if k not in ("unit_key", "unit_name")}
    assert strip == {"requested": 1, "approved": 0, "refused": 0, "repeated": 0, "pending": 1}
    assert next(iter(got)) == a  # the worst first
