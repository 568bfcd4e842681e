"""An intake reads its duplicate and its recurrence candidates with one query.

Both lookups are boxes around the report's point on the same table (open issues of
the category; issues of the category closed in the recurrence window, near or in the
unit grid): one round trip instead of two (issue 19). What they find is unchanged: a
closed issue there makes a recurrence, an open one a duplicate.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta

import pytest
from sqlalchemy import event, text

from civgrid.grids.core.actors import Actor
from civgrid.grids.issues import service as svc
from civgrid.grids.issues.intake import _nearby_query
from support.issue_helpers import COMPOUND, point_in

WORKER = Actor("worker-1", "grid_worker")
#: round trips are PostgreSQL's (SQLite has none): these tests run on PostGIS alone
ONLY_POSTGIS = pytest.mark.parametrize(
    "store", [pytest.param("postgis", marks=pytest.mark.postgis)], indirect=True
)


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
    lookups = [q for q in sent if "FROM issues WHERE issues.category_code" in q]
    assert len(lookups) == 1, lookups

    third = _report(store, config, lon, lat)  # the second is open there: a duplicate
    assert third.duplicate_of_id == second.id and third.state == "merged"
    assert third.recurrence_of_id is None


def test_the_lookup_statement_is_built_once():
    assert _nearby_query(True) is _nearby_query(True)
    assert _nearby_query(False, True) is _nearby_query(False, True)


def _client_messages(engine, run):
    """``run()``, and the libpq protocol trace of every connection it checked out: the
    messages the client sent (name, the first line of their text: ``Parse``, ``Sync``,
    ``Query``…) and the whole trace."""
    with tempfile.TemporaryFile("w+") as f:

        def checkout(dbapi, _record, _proxy):
            dbapi.pgconn.trace(f.fileno())

        def checkin(dbapi, _record):
            dbapi.pgconn.untrace()

        event.listen(engine, "checkout", checkout)
        event.listen(engine, "checkin", checkin)
        try:
            run()
        finally:
            event.remove(engine, "checkout", checkout)
            event.remove(engine, "checkin", checkin)
        f.seek(0)
        raw = f.read()
    parts = [ln.split("\t") for ln in raw.splitlines()]
    sent = [(p[3], p[4] if len(p) > 4 else "") for p in parts if len(p) > 3 and p[1] == "F"]
    return sent, raw


@ONLY_POSTGIS
def test_an_intake_waits_for_the_database_four_times_on_postgis(client, store):
    """Issue 19: an intake on PostgreSQL is four round trips — the account with the
    routing stamp (its BEGIN with it), the nearby issues with the new issue's id, the
    issue with its event, audit record and domain event, the COMMIT. The assessment
    point comes from the register kept with the routing tables."""
    import dataclasses

    engine = client.app.state.store.engine
    app_state = client.app.state
    # no campaign open (tagging one is more statements, only while it runs)
    app_state.issue_config = dataclasses.replace(app_state.issue_config, campaigns=())
    lon, lat = point_in(store, COMPOUND)
    body = {"category": "dumping", "source": "grid_worker", "lon": lon, "lat": lat}
    warm = client.post("/api/v1/issues", json=body)  # caches, sets, the account's token
    assert warm.status_code == 201, warm.text
    with store.engine.begin() as c:  # closed: the next report there is a new issue
        c.execute(text("UPDATE issues SET state = 'closed', closed_at = now()"))
    answers = []
    sent, trace = _client_messages(
        engine, lambda: answers.append(client.post("/api/v1/issues", json=body))
    )
    assert answers[0].status_code == 201, answers[0].text
    waits = [(name, text) for name, text in sent if name in ("Sync", "Query")]
    parsed = [text for name, text in sent if name == "Parse"]
    assert len(waits) == 4, "\n".join(
        f"{n} {t[:80]}" for n, t in sent if n in ("Parse", "Sync", "Query")
    )
    assert waits[-1][1].strip(' "') == "COMMIT"
    assert "routing_stamps" in trace and "assessment_points" not in trace
    statements = [t.split('"')[3] for t in parsed]  # Parse <tab> "name" "text" …
    assert statements[:2] == ["BEGIN", statements[1]] and statements[1].startswith("SELECT users.")
    assert [t.split()[:2] for t in statements[2:]] == [
        ["WITH", "new_issue_id"],
        ["WITH", "issue_row"],
    ]
    assert "nextval" in trace and "INSERT INTO issue_events" in trace
    # what was written: the issue, its report event, its audit record, its domain event
    new_id = answers[0].json()["id"]
    counts = {
        "SELECT count(*) FROM issue_events WHERE issue_id = :i AND action = 'report'": new_id,
        "SELECT count(*) FROM audit_log WHERE object_key = :k AND action = 'issue.report'": None,
        "SELECT count(*) FROM domain_events WHERE subject_key = :k": None,
    }
    with store.session() as s:
        for query in counts:
            n = s.execute(text(query), {"i": new_id, "k": str(new_id)}).scalar()
            assert n == 1, query


@ONLY_POSTGIS
def test_a_new_place_and_party_list_are_one_statement_each_on_postgis(client, store):
    """A report whose place list and party list are new makes each set with its
    members in one statement (find, insert, members): six round trips in all, and the
    sets hold the members in order."""
    import dataclasses

    from sqlalchemy import select

    from civgrid.grids.issues.models import Issue, PartySetMember, PlaceSetMember

    app_state = client.app.state
    app_state.issue_config = dataclasses.replace(app_state.issue_config, campaigns=())
    lon, lat = point_in(store, COMPOUND)
    body = {"category": "dumping", "source": "grid_worker", "lon": lon, "lat": lat}
    assert client.post("/api/v1/issues", json=body).status_code == 201  # warm
    other = {**body, "category": "street_vending", "lon": lon + 0.01}  # new lists there
    answers = []
    sent, _trace = _client_messages(
        app_state.store.engine, lambda: answers.append(client.post("/api/v1/issues", json=other))
    )
    assert answers[0].status_code == 201, answers[0].text
    statements = [t.split('"')[3] for name, t in sent if name == "Parse"]
    made = [t for t in statements if t.startswith("WITH found AS")]
    assert len(made) == 2, statements
    assert not [t for t in statements if t.startswith(("SELECT place_sets", "SELECT party_sets"))]
    assert len([n for n, _ in sent if n in ("Sync", "Query")]) == 6
    out = answers[0].json()
    with store.session() as s:
        issue = s.get(Issue, out["id"])
        places = s.execute(
            select(PlaceSetMember.layer, PlaceSetMember.code)
            .where(PlaceSetMember.set_id == issue.place_set_id)
            .order_by(PlaceSetMember.id)
        ).all()
        parties = s.scalars(
            select(PartySetMember.role)
            .where(PartySetMember.set_id == issue.party_set_id)
            .order_by(PartySetMember.id)
        ).all()
    assert places and places[0][0] == "county"  # in the order routing gave them
    assert parties and parties[0] == "owner"
