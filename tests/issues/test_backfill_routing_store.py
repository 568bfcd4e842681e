"""Back-fill stores each routing answer once (``issue_routings``); every issue reads
back, through ``Issue.routing``, the answer a live report at its group's point gets."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from civgrid.grids.issues.backfill import backfill_issues, synthetic_history
from civgrid.grids.issues.describe import describe
from civgrid.grids.issues.models import Issue, IssueRouting
from civgrid.grids.issues.routing_store import answer_hash


def _plain(d):
    return json.loads(json.dumps(d, ensure_ascii=False))


def test_routing_stored_once_reads_back_the_live_answer(store, config):
    rows = synthetic_history(store, 400, seed=11)
    report = backfill_issues(store, rows, commit=True, config=config)
    assert report.written == 400
    with store.session() as s:
        stored = s.scalar(select(func.count()).select_from(IssueRouting))
        assert 0 < stored <= report.routed_groups < 400
        issues = s.scalars(select(Issue).order_by(Issue.id)).all()
        assert all(i.own_routing is None and i.routing_id is not None for i in issues)
        by_answer: dict[int, list[Issue]] = {}
        for i in issues:
            by_answer.setdefault(i.routing_id, []).append(i)
        assert len(by_answer) == stored
        for rid, group in by_answer.items():
            first = group[0]  # the group's point: the earliest issue (ids follow report time)
            live = store.responsible_for(
                first.lon, first.lat, first.category_code, at=first.reported_at, session=s
            )
            assert first.routing == _plain(live.to_dict())
            assert answer_hash(first.routing) == s.get(IssueRouting, rid).hash
            for i in group:
                assert i.routing == first.routing
                assert i.owner_unit_id is None or i.routing["owner"]["key"] == i.owner_unit.key
                assert describe(i)["routing"] == first.routing
    # the same rows again under other ids (another office's copy): the same groups and
    # the same points, so the same answers — more issues, no more answers
    copy = [{**r, "问题编号": f"copy-{k}"} for k, r in enumerate(rows)]
    assert backfill_issues(store, copy, commit=True, config=config).written == 400
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(IssueRouting)) == stored
        assert s.scalar(select(func.count()).select_from(Issue)) == 800


def test_an_issue_rerouted_gets_its_own_copy(store, config):
    backfill_issues(store, synthetic_history(store, 20, seed=12), commit=True, config=config)
    with store.session() as s:
        issue = s.scalars(select(Issue).order_by(Issue.id)).first()
        shared_id = issue.routing_id
        shared = s.get(IssueRouting, shared_id).answer
        issue.routing = {**issue.routing, "owner": {"key": "X"}}
        s.commit()
        assert issue.routing_id is None and issue.routing["owner"] == {"key": "X"}
        assert s.get(IssueRouting, shared_id).answer == shared  # the shared answer is unchanged
