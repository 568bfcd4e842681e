"""Re-routing open issues under the owner rule: dry run, atomic commit, closed issues kept."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from civgrid.api.cli import app
from civgrid.grids.core.actors import Actor
from civgrid.grids.core.audit import AuditRecord
from civgrid.grids.issues import reroute as reroute_mod
from civgrid.grids.issues import service as svc
from civgrid.grids.issues.models import Issue, IssueEvent
from civgrid.grids.issues.photos import PhotoInput
from civgrid.grids.issues.reroute import reroute_issues
from civgrid.grids.issues.service import IssueReport
from civgrid.grids.issues.workflow import State
from support.issue_helpers import COMPOUND, point_in

GW = Actor("网格员甲", "grid_worker")
CC = Actor("指挥中心", "command_center")
INSPECTOR = Actor("督查组一", "inspector")
PNG = PhotoInput(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "fix.png", "image/png")
OLD_OWNER = "D03"  # 县城管局: the owner the old "lead unit first" rule gave almost everywhere
OTHER_COMPOUND = "411327001001001"


def _report(s, store, config, code, category):
    lon, lat = point_in(store, code)
    return svc.report_issue(
        s, store, GW, IssueReport(category, "grid_worker", lon, lat), config=config
    ).issue


@pytest.fixture
def world(store, config):
    """Three open issues and a closed one, all given to the old owner by hand."""
    with store.session() as s:
        open_ids, expected = [], {}
        for code, cat in [
            (COMPOUND, "dumping"),
            (COMPOUND, "graffiti"),
            (OTHER_COMPOUND, "stairwell_clutter"),
        ]:
            issue = _report(s, store, config, code, cat)
            expected[issue.id] = issue.owner_unit.key  # what the owner rule gives
            svc.reassign(s, CC, issue.id, unit=OLD_OWNER, note="旧规则", config=config)
            open_ids.append(issue.id)
        closed = _report(s, store, config, OTHER_COMPOUND, "graffiti")
        svc.reassign(s, CC, closed.id, unit=OLD_OWNER, note="旧规则", config=config)
        unit = Actor("城管", "unit", OLD_OWNER)
        svc.accept(s, unit, closed.id, config=config)
        svc.submit(s, unit, closed.id, photos=[PNG], note="已清理", config=config)
        svc.reinspect(s, INSPECTOR, closed.id, passed=True, config=config)
        s.commit()
    assert all(v != OLD_OWNER for v in expected.values())
    return open_ids, closed.id, expected


def _snapshot(store):
    with store.session() as s:
        owners = {
            i.id: (i.owner_unit.key, str(i.state), i.version) for i in s.scalars(select(Issue))
        }
        events = s.scalar(select(func.count()).select_from(IssueEvent))
        audits = s.scalar(select(func.count()).select_from(AuditRecord))
    return owners, events, audits


def test_dry_run_lists_changes_and_writes_nothing(store, config, world):
    open_ids, closed_id, expected = world
    before = _snapshot(store)
    with store.session() as s:
        rep = reroute_issues(s, store, config=config)
    assert not rep.committed and rep.examined == 3
    assert {c.issue_id: c.new_owner for c in rep.changes} == expected
    assert all(c.old_owner == OLD_OWNER for c in rep.changes)
    assert closed_id not in {c.issue_id for c in rep.changes}
    assert "dry run" in rep.to_text() and f"#{open_ids[0]}" in rep.to_text()
    assert _snapshot(store) == before


def test_commit_changes_owners_with_history_and_audit(store, config, world):
    open_ids, closed_id, expected = world
    _, events_before, _ = _snapshot(store)
    with store.session() as s:
        rep = reroute_issues(s, store, config=config, commit=True)
    assert rep.committed and len(rep.changes) == 3
    with store.session() as s:
        for iid in open_ids:
            issue = s.get(Issue, iid)
            assert issue.owner_unit.key == expected[iid]
            assert issue.state == State.assigned
            last = issue.events[-1]
            assert last.action == "reassign" and "责任认定规则" in last.note
            assert last.data["from_unit"] == OLD_OWNER and last.data["to_unit"] == expected[iid]
            assert issue.routing["owner"]["key"] == expected[iid]
            assert issue.routing["owner_reason"]["step"] >= 1
            assert issue.owner_unit.key != OLD_OWNER
        assert s.get(Issue, closed_id).owner_unit.key == OLD_OWNER  # closed keeps its owner
        n_events = s.scalar(select(func.count()).select_from(IssueEvent))
        assert n_events == events_before + 3  # one history event per issue
        run = s.scalars(select(AuditRecord).where(AuditRecord.action == "issues.reroute")).one()
        assert sorted(run.after["changed"]) == sorted(open_ids)
    # a second run finds nothing to change
    with store.session() as s:
        again = reroute_issues(s, store, config=config, commit=True)
    assert again.changes == [] and again.unchanged == 3


def test_a_failure_mid_commit_leaves_everything_unchanged(store, config, world, monkeypatch):
    before = _snapshot(store)
    real = reroute_mod.actions.reassign
    calls = []

    def failing(*a, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("injected failure")
        return real(*a, **kw)

    monkeypatch.setattr(reroute_mod.actions, "reassign", failing)
    with store.session() as s, pytest.raises(RuntimeError, match="injected"):
        reroute_issues(s, store, config=config, commit=True)
    assert len(calls) == 2
    assert _snapshot(store) == before


def test_cli_dry_run_then_commit(store, world):
    open_ids, _closed, expected = world
    url = store.engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    r = runner.invoke(app, ["issues", "reroute", "--json", "--database-url", url])
    assert r.exit_code == 0, r.output
    got = json.loads(r.output)
    assert got["status"] == "dry_run"
    assert {c["issue_id"]: c["new_owner"] for c in got["changes"]} == expected
    r = runner.invoke(app, ["issues", "reroute", "--since", "bad", "--database-url", url])
    assert r.exit_code == 1 and "--since" in r.output
    r = runner.invoke(app, ["issues", "reroute", "--commit", "--database-url", url])
    assert r.exit_code == 0 and "committed" in r.output, r.output
    with store.session() as s:
        assert {i: s.get(Issue, i).owner_unit.key for i in open_ids} == expected
