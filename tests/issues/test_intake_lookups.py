"""An intake reads its duplicate and its recurrence candidates with one query.

Both lookups are boxes around the report's point on the same table (open issues of
the category; issues of the category closed in the recurrence window, near or in the
unit grid): one round trip instead of two (issue 19). What they find is unchanged: a
closed issue there makes a recurrence, an open one a duplicate.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, text

from civgrid.grids.core.actors import Actor
from civgrid.grids.issues import service as svc
from support.issue_helpers import COMPOUND, point_in

WORKER = Actor("worker-1", "grid_worker")


def _report(store, config, lon, lat):
    with store.session() as s:
        return svc.report_issue(
            s,
            store,
            WORKER,
            svc.IssueReport(category="dumping", source="grid_worker", lon=lon, lat=lat),
            config=config,
        ).issue


def test_one_query_finds_a_recurrence_and_then_a_duplicate(store, config, clock):
    lon, lat = point_in(store, COMPOUND)
    first = _report(store, config, lon, lat)
    with store.engine.begin() as c:  # closed yesterday: the next report there recurs it
        c.execute(
            text("UPDATE issues SET state = 'closed', closed_at = :t WHERE id = :i"),
            {"t": clock() - timedelta(days=1), "i": first.id},
        )
    sent: list[str] = []

    def seen(_conn, _cursor, statement, *_):
        sent.append(" ".join(statement.split()))

    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        second = _report(store, config, lon, lat)
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
    assert second.recurrence_of_id == first.id and second.duplicate_of_id is None
    assert second.state == "assigned" and second.repeat_count == first.repeat_count + 1
    lookups = [q for q in sent if q.startswith("SELECT issues.id, issues.lon, issues.lat")]
    assert len(lookups) == 1, lookups

    third = _report(store, config, lon, lat)  # the second is open there: a duplicate
    assert third.duplicate_of_id == second.id and third.state == "merged"
    assert third.recurrence_of_id is None
