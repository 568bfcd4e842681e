"""Safe dispatch and bulk reassignment (issue 21), on SQLite and on PostGIS.

The suggestion and the place's units come from the routing answer stored on the issue;
a unit outside them needs a reason; a batch skips issues the target already owns and
is undone as one batch.
"""

from __future__ import annotations

import pytest

from civgrid.grids.core.actors import Actor
from civgrid.grids.core.errors import (
    InvalidTransitionError,
    NotFoundError,
    OutsideResponsibilityError,
)
from civgrid.grids.issues import service as svc
from civgrid.grids.issues.bulk import bulk_reassign, undo_batch
from civgrid.grids.issues.dispatching import dispatch_options, place_unit_roles
from civgrid.grids.issues.intake import IssueReport
from civgrid.grids.issues.workflow import State
from support.issue_helpers import COMPOUND, OUTSIDE, point_in

GW = Actor("网格员甲", "grid_worker")
CC = Actor("指挥中心", "command_center")
#: A county department that answers for no unit grid of the demo county's compound.
STRANGER = "D22"


def _report(s, store, config, category):
    lon, lat = point_in(store, COMPOUND)
    rep = IssueReport(category, "grid_worker", lon, lat)
    return svc.report_issue(s, store, GW, rep, None, config=config).issue


def _snapshot(issue):
    return (
        str(issue.state),
        issue.owner_unit.key,
        issue.deadline,
        issue.assigned_at,
        sorted(u.key for u in svc.issue_units(issue, "co_responsible")),
    )


def test_options_and_the_reason_outside_the_place(store, config):
    with store.session() as s:
        issue = _report(s, store, config, "dumping")
        owner = issue.owner_unit.key
        opts = dispatch_options(s, issue)
        assert opts.suggested == issue.routing["owner"]["key"] == owner
        assert opts.suggested_reason and "责任认定第" in opts.suggested_reason
        roles = place_unit_roles(issue.routing)
        assert [c.key for c in opts.responsible] == [k for k in roles if k != "" and k]
        assert STRANGER not in roles
        listed = {c.key: c for c in opts.units}
        assert STRANGER in listed and listed[STRANGER].role is None
        assert listed[owner].role == "owner"
        # outside the place's units: kept with a reason, marked in the history
        svc.reassign(s, CC, issue.id, unit=STRANGER, note="经核实属该局职责", config=config)
        s.flush()
        ev = issue.events[-1]
        assert ev.data["outside_responsibility"] is True and ev.note == "经核实属该局职责"
        # one of the place's units needs no reason beyond the reassignment's own note
        back = next(k for k in roles if k != STRANGER)
        svc.reassign(s, CC, issue.id, unit=back, note="退回网格", config=config)
        s.flush()
        assert "outside_responsibility" not in issue.events[-1].data


def test_dispatch_outside_the_place_needs_a_reason(store, config):
    with store.session() as s:
        rep = IssueReport("dumping", "grid_worker", *OUTSIDE)
        issue = svc.report_issue(s, store, GW, rep, None, config=config).issue
        assert issue.state == State.triage and dispatch_options(s, issue).suggested is None
        with pytest.raises(OutsideResponsibilityError, match="give the reason") as err:
            svc.dispatch(s, CC, issue.id, unit="D03", config=config)
        assert err.value.context == {"field": "note", "unit": "D03"}
        assert issue.state == State.triage
        svc.dispatch(s, CC, issue.id, unit="D03", note="邻县交界，由本县先处置", config=config)
        s.flush()
        ev = issue.events[-1]
        assert ev.action == "dispatch" and ev.note == "邻县交界，由本县先处置"
        assert ev.data["outside_responsibility"] is True


def test_reassign_to_the_current_owner_changes_nothing(store, config):
    with store.session() as s:
        issue = _report(s, store, config, "dumping")
        unit = Actor("责任人", "unit", issue.owner_unit.key)
        svc.accept(s, unit, issue.id, config=config)
        before, version = _snapshot(issue), issue.version
        with pytest.raises(InvalidTransitionError, match="already owned"):
            svc.reassign(s, CC, issue.id, unit=issue.owner_unit.key, note="再派", config=config)
        assert _snapshot(issue) == before and issue.state == State.rectifying
        assert issue.version == version


def test_bulk_reassign_skips_the_targets_own_and_undoes_as_one_batch(store, config, clock):
    with store.session() as s:
        a = _report(s, store, config, "dumping")
        b = _report(s, store, config, "graffiti")
        c = _report(s, store, config, "street_vending")
        svc.accept(s, Actor("责任人", "unit", a.owner_unit.key), a.id, config=config)
        # c already belongs to the target, and is being fixed there
        svc.reassign(s, CC, c.id, unit=STRANGER, note="原属该局", config=config)
        svc.accept(s, Actor("该局", "unit", STRANGER), c.id, config=config)
        s.commit()
        clock.advance(hours=30)
        before = {i.id: _snapshot(i) for i in (a, b, c)}
        c_events = len(c.events)

        rep = bulk_reassign(s, CC, [a.id, b.id, c.id], STRANGER, "统一交该局处理", config=config)
        s.commit()
        assert {i.issue_id: i.outcome for i in rep.items} == {
            a.id: "reassigned",
            b.id: "reassigned",
            c.id: "skipped",
        }
        # the skipped one keeps its state, deadline and history
        assert _snapshot(c) == before[c.id] and len(c.events) == c_events
        assert c.state == State.rectifying
        for i in (a, b):
            assert i.owner_unit.key == STRANGER and i.state == State.assigned
            assert i.deadline != before[i.id][2]
            assert i.events[-1].data["batch"] == rep.batch

        clock.advance(hours=1)
        undo = undo_batch(s, CC, rep.batch, config=config)
        s.commit()
        assert sorted(i.issue_id for i in undo.items if i.outcome == "restored") == [a.id, b.id]
        for i in (a, b, c):
            assert _snapshot(i) == before[i.id]
        assert a.state == State.rectifying and a.events[-1].action == "undo_batch"
        # a second undo finds every issue changed since (by the undo itself)
        again = undo_batch(s, CC, rep.batch, config=config)
        assert {i.outcome for i in again.items} == {"refused"}
        assert all("撤销批量改派" in (i.detail or "") for i in again.items)
        with pytest.raises(NotFoundError):
            undo_batch(s, CC, "nope", config=config)


def test_undo_refuses_an_issue_changed_since_and_restores_the_rest(store, config):
    with store.session() as s:
        a = _report(s, store, config, "dumping")
        b = _report(s, store, config, "graffiti")
        rep = bulk_reassign(s, CC, [a.id, b.id], STRANGER, "统一交该局处理", config=config)
        s.commit()
        svc.accept(s, Actor("该局", "unit", STRANGER), a.id, config=config)
        s.commit()
        undo = undo_batch(s, CC, rep.batch, config=config)
        outcome = {i.issue_id: i for i in undo.items}
        assert outcome[a.id].outcome == "refused" and "签收" in outcome[a.id].detail
        assert outcome[b.id].outcome == "restored"
        assert a.owner_unit.key == STRANGER and b.owner_unit.key != STRANGER


HCC = {"X-Actor": "%E6%8C%87%E6%8C%A5%E4%B8%AD%E5%BF%83", "X-Actor-Role": "command_center"}


def _post(client, lon, lat, category="dumping"):
    body = {"category": category, "source": "grid_worker", "lon": lon, "lat": lat}
    r = client.post("/api/v1/issues", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_options_reason_and_batch_through_the_api(client, store):
    lon, lat = point_in(store, COMPOUND)
    a = _post(client, lon, lat, "dumping")
    b = _post(client, lon, lat, "graffiti")
    opts = client.get(f"/api/v1/issues/{a['id']}/dispatch-options", headers=HCC).json()
    assert opts["suggested"] == a["owner_unit"]["key"] and opts["suggested_reason"]
    place = {u["key"] for u in opts["responsible"]}
    other = next(u["key"] for u in opts["units"] if u["key"] not in place)
    # a triaged issue dispatched outside the place without a reason: a domain 422
    t = _post(client, *OUTSIDE)
    r = client.post(f"/api/v1/issues/{t['id']}/dispatch", json={"unit": other}, headers=HCC)
    assert r.status_code == 422, r.text
    assert r.json()["type"] == "civgrid:OutsideResponsibilityError" and r.json()["field"] == "note"
    # b goes to `other` first; the batch then skips it and takes a
    r = client.post(
        f"/api/v1/issues/{b['id']}/reassign", json={"unit": other, "note": "职责调整"}, headers=HCC
    )
    b_deadline = r.json()["deadline"]
    a_before = client.get(f"/api/v1/issues/{a['id']}", headers=HCC).json()
    body = {"issue_ids": [a["id"], b["id"]], "unit": other, "note": "统一处理"}
    batch = client.post("/api/v1/issues/bulk-reassign", json=body, headers=HCC).json()
    assert batch["counts"] == {"reassigned": 1, "skipped": 1}
    after_b = client.get(f"/api/v1/issues/{b['id']}", headers=HCC).json()
    assert after_b["deadline"] == b_deadline and after_b["history"][-1]["action"] == "reassign"
    undo = client.post(f"/api/v1/issue-batches/{batch['batch']}/undo", headers=HCC).json()
    assert undo["counts"] == {"restored": 1}
    back = client.get(f"/api/v1/issues/{a['id']}", headers=HCC).json()
    for key in ("owner_unit", "state", "deadline", "co_responsible_units"):
        assert back.get(key) == a_before.get(key), key
    assert back["history"][-1]["action"] == "undo_batch"
