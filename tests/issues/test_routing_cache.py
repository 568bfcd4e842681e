"""The routing tables are cached per process and a changed assignment is seen at once.

Intake reads the routing rules, owner rules, categories and assignments from a
per-process copy (``Store.routing_tables``) keyed on the routing stamp, which
database triggers change with every write to those tables. A changed assignment
must route the very next report: in the process that changed it, and in another
process (a second server worker: another ``Store`` on the same database) that
only sees the stamp.
"""

from __future__ import annotations

from sqlalchemy import event, select, text

from civgrid.grids.boundaries.models import Assignment, Unit
from civgrid.grids.boundaries.store import Store
from civgrid.grids.core.actors import Actor
from civgrid.grids.core.db import make_engine
from civgrid.grids.issues import service as svc
from support.issue_helpers import COMPOUND, point_in

WORKER = Actor("worker-1", "grid_worker")


def _owner(store: Store, config, lon: float, lat: float) -> tuple[str, int]:
    """Report at (lon, lat); the owner's unit key and the assignment that made it owner."""
    with store.session() as s:
        issue = svc.report_issue(
            s,
            store,
            WORKER,
            svc.IssueReport(category="dumping", source="grid_worker", lon=lon, lat=lat),
            config=config,
        ).issue
        owner = issue.routing["owner"]
        assert owner is not None and issue.owner_unit.key == owner["key"]
        return owner["key"], owner["reason"]["assignment_id"]


def _other_unit(store: Store, key: str) -> tuple[int, str]:
    """Another unit of the same kind as ``key`` (so the same routing rule admits it)."""
    with store.session() as s:
        kind = s.scalar(select(Unit.kind).where(Unit.key == key))
        u = s.execute(
            select(Unit.id, Unit.key).where(Unit.kind == kind, Unit.key != key).order_by(Unit.key)
        ).first()
        assert u is not None
        return u.id, u.key


def test_a_changed_assignment_routes_the_next_report_in_the_same_process(store, config):
    lon, lat = point_in(store, COMPOUND)
    key, assignment_id = _owner(store, config, lon, lat)
    with store.session() as s:
        cached = store.routing_tables(s)
        assert store.routing_tables(s) is cached  # nothing changed: no reload
    unit_id, other = _other_unit(store, key)
    with store.session() as s:  # the ORM write path (API, CLI loaders)
        s.get(Assignment, assignment_id).unit_id = unit_id
    assert _owner(store, config, lon, lat) == (other, assignment_id)
    with store.session() as s:
        assert store.routing_tables(s) is not cached


def test_another_process_sees_a_changed_assignment_through_the_stamp(store, config):
    url = store.engine.url.render_as_string(hide_password=False)
    worker = Store(make_engine(url))  # a second worker: its own engine and cache
    worker.snap_index = store.snap_index
    try:
        lon, lat = point_in(store, COMPOUND)
        key, assignment_id = _owner(worker, config, lon, lat)  # its cache is warm now
        unit_id, other = _other_unit(store, key)
        with store.engine.begin() as c:  # plain SQL from elsewhere: the triggers still fire
            c.execute(
                text("UPDATE assignments SET unit_id = :u WHERE id = :a"),
                {"u": unit_id, "a": assignment_id},
            )
        assert _owner(worker, config, lon, lat) == (other, assignment_id)
        # a rolled-back write leaves the committed stamp: the cache is reused again
        with worker.session() as s:
            warm = worker.routing_tables(s)
        with store.engine.connect() as c:
            c.execute(text("UPDATE assignments SET unit_id = NULL WHERE id = :a"), {"a": 1})
            c.rollback()
        with worker.session() as s:
            assert worker.routing_tables(s) is warm
    finally:
        worker.engine.dispose()


def test_a_changed_category_shows_in_the_next_report_of_any_process(store, config):
    """The category of a report comes from a per-process copy kept with the routing
    tables (issue 19), as are its units and leaders: a write to them by another process
    is seen at once, and each report gets its own objects, in its own session."""
    import dataclasses

    from civgrid.grids.boundaries.models import Category

    config = dataclasses.replace(config, duplicate_radius_m=0)  # two new issues, not one
    url = store.engine.url.render_as_string(hide_password=False)
    worker = Store(make_engine(url))
    worker.snap_index = store.snap_index
    lon, lat = point_in(store, COMPOUND)
    report = svc.IssueReport(category="dumping", source="grid_worker", lon=lon, lat=lat)
    seen, names = [], []
    owner = leader = None
    try:
        for name, hours in ((None, None), ("乱堆乱放（新）", 2)):
            if name is not None:
                with store.engine.begin() as c:  # plain SQL from elsewhere
                    c.execute(
                        text(
                            "UPDATE categories SET name = :n, deadline_hours = :h "
                            "WHERE code = 'dumping'"
                        ),
                        {"n": name, "h": hours},
                    )
                    for table, key in (("units", owner), ("leaders", leader)):
                        c.execute(
                            text(f"UPDATE {table} SET name = :n WHERE key = :k"),
                            {"n": f"{key}（改名）", "k": key},
                        )
            with worker.session() as s:
                issue = svc.report_issue(s, worker, WORKER, report, config=config).issue
                assert issue.category in s and issue.category.code == "dumping"
                assert s.scalar(select(Category).where(Category.code == "dumping")) is (
                    issue.category
                )
                assert issue.state == "assigned", (issue.state, issue.triage_reason)
                seen.append((issue.category, issue.deadline - issue.assigned_at))
                owner = issue.owner_unit.key
                leaders = {p.leader.key: p.leader.name for p in issue.parties if p.leader}
                assert all(p.unit in s for p in issue.parties if p.unit)
                leader = min(leaders)
                names.append((issue.owner_unit.name, leaders[leader]))
    finally:
        worker.engine.dispose()
    (first, _), (second, allowed) = seen
    assert second is not first and second.name == "乱堆乱放（新）" != first.name
    assert allowed.total_seconds() <= 2 * 3600 + 60  # the new deadline hours
    # the owner unit's and a leader's new names (units and leaders are under the stamp)
    assert names[1] == (f"{owner}（改名）", f"{leader}（改名）") != names[0]


def test_a_stamp_read_with_the_account_is_used_once_and_only_in_its_transaction(store):
    """An intake reads the routing stamp with the account (one round trip fewer): the
    next routing in that transaction uses it, no later one, and never after a commit."""
    from civgrid.grids.boundaries.routing import (
        remember_routing_stamp,
        routing_stamp,
        routing_stamp_column,
    )

    with store.session() as s:
        current = s.execute(select(routing_stamp_column())).scalar()
        assert current is not None and current == routing_stamp(s)
        remember_routing_stamp(s, current + 1)  # a value the database does not hold
        assert routing_stamp(s) == current + 1  # used by the next call…
        assert routing_stamp(s) == current  # …once
        remember_routing_stamp(s, current + 1)
        s.commit()  # a new transaction: the remembered stamp is stale
        assert routing_stamp(s) == current


def test_an_api_intake_routes_by_the_stamp_read_with_the_account(store, config):
    """The account query of an API intake carries the stamp; a routing change committed
    before the report is seen by it (the stamp is read in the report's transaction)."""
    from civgrid.api.deps import Credentials
    from support.authclient import ensure_user

    name, ver = ensure_user(store, "stamp-worker", "grid_worker")
    lon, lat = point_in(store, COMPOUND)
    key, assignment_id = _owner(store, config, lon, lat)  # the cache is warm
    unit_id, other = _other_unit(store, key)
    with store.engine.begin() as c:  # plain SQL from elsewhere: the stamp changes
        c.execute(
            text("UPDATE assignments SET unit_id = :u WHERE id = :a"),
            {"u": unit_id, "a": assignment_id},
        )
    creds = Credentials({"sub": name, "ver": ver}, "/api/v1/issues")
    sent: list[str] = []

    def seen(_conn, _cursor, statement, *_):
        sent.append(" ".join(statement.split()))

    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        with store.session() as s:
            scope = creds.scope(store, s, routing_stamp=True)
            issue = svc.report_issue(
                s,
                store,
                scope.actor,
                svc.IssueReport(category="dumping", source="grid_worker", lon=lon, lat=lat),
                config=config,
            ).issue
            assert issue.routing["owner"]["key"] == other
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
    assert "routing_stamps" in sent[0]  # with the account
    assert not [q for q in sent[1:] if q.startswith("SELECT routing_stamps.stamp")]
