"""Bulk writes keep every foreign key: the per-row checks (PostGIS triggers, SQLite's
``foreign_keys``) are replaced by one set-based check per key before the commit, which
refuses a dangling reference; SQLite's connection gets its checks back."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text

from civgrid.grids.core.errors import DomainError
from civgrid.grids.issues.bulk_insert import BulkInserter
from civgrid.grids.issues.models import IssueEvent

COLUMNS = ("issue_id", "at", "action", "actor_who", "actor_role")


def _foreign_keys(conn) -> int | None:
    if conn.dialect.name != "sqlite":
        return None
    return conn.connection.driver_connection.execute("PRAGMA foreign_keys").fetchone()[0]


def test_a_dangling_reference_is_refused_and_nothing_written(store):
    from sqlalchemy.orm import Session

    from civgrid.grids.issues.bulk_insert import foreign_keys_back

    sqlite = store.engine.dialect.name == "sqlite"
    conn = store.engine.connect()
    try:
        s = Session(bind=conn)
        out = BulkInserter(s, set_based_checks=True)
        # the test cluster connects as superuser; SQLite's connection was in no transaction
        assert out.set_based_checks
        assert _foreign_keys(conn) == (0 if sqlite else None)
        row = (987_654, out.ts(datetime(2024, 5, 1, tzinfo=UTC)), "import", "test", "system")
        out.insert(IssueEvent.__table__, COLUMNS, [row])  # no per-row check: accepted here…
        with pytest.raises(DomainError, match=r"issue_events\.issue_id = 987654"):
            out.check_references()  # …and refused before any commit
        out.close()
        s.rollback()
        s.close()
    finally:
        foreign_keys_back(conn)
        assert _foreign_keys(conn) == (1 if sqlite else None)
        conn.close()
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(IssueEvent)) == 0


def test_inside_a_transaction_sqlite_checks_each_row(store):
    postgres = store.engine.dialect.name == "postgresql"
    with store.session() as s:
        s.execute(text("DELETE FROM issue_events WHERE id < 0"))  # a transaction is open
        out = BulkInserter(s, set_based_checks=True)
        # SET LOCAL applies at any time; SQLite's foreign_keys cannot change now: left on
        assert out.set_based_checks is postgres
        row = (987_654, out.ts(datetime(2024, 5, 1, tzinfo=UTC)), "import", "test", "system")
        if postgres:
            out.insert(IssueEvent.__table__, COLUMNS, [row])
            with pytest.raises(DomainError, match=r"issue_events\.issue_id = 987654"):
                out.check_references()
        else:
            with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
                out.insert(IssueEvent.__table__, COLUMNS, [row])
        out.close()
        s.rollback()


@pytest.mark.parametrize("fail", [False, True])
def test_a_backfill_gives_its_connection_back_with_foreign_keys_on(store, fail):
    """Committed or failed mid-way, the pool's connections check foreign keys again."""
    from civgrid.grids.issues.backfill import backfill_issues, synthetic_history

    rows = synthetic_history(store, 30, seed=5)

    def progress(stage, done, total):
        if fail and stage == "write issues" and done == total:
            raise RuntimeError("stopped mid-way")

    if fail:
        with pytest.raises(RuntimeError, match="mid-way"):
            backfill_issues(store, rows, commit=True, progress=progress)
    else:
        assert backfill_issues(store, rows, commit=True, progress=progress).written == 30
    with store.engine.connect() as c:  # the pool hands out the same connection
        assert _foreign_keys(c) in (None, 1)
    with store.session() as s:
        from civgrid.grids.issues.models import Issue

        assert s.scalar(select(func.count()).select_from(Issue)) == (0 if fail else 30)


def _issue_indexes(store) -> list[tuple]:
    from sqlalchemy import inspect

    return sorted(
        (ix["name"], tuple(ix["column_names"]), bool(ix.get("unique")))
        for ix in inspect(store.engine).get_indexes("issues")
    )


def test_a_first_backfill_builds_the_issue_indexes_after_the_rows(store, config, caplog):
    import logging

    from civgrid.grids.issues.backfill import backfill_issues, synthetic_history
    from civgrid.grids.issues.models import Issue

    before = _issue_indexes(store)
    assert len(before) >= 13  # 0620 left 13 on SQLite (14 with the key on PostGIS)
    with store.session() as s:
        out = BulkInserter(s)
        assert out.drop_indexes(Issue.__table__, 0) == []  # nothing to write: kept
        dropped = out.drop_indexes(Issue.__table__, 10)  # more than the table holds
        # PostgreSQL: the unique idempotency key too (no foreign key references it), made
        # again as a constraint after the rows; SQLite cannot drop a table's constraint
        postgres = store.engine.dialect.name == "postgresql"
        assert {name for name, _ in dropped} == {
            name for name, _, unique in before if postgres or not unique
        }
        out.close()
        s.rollback()  # the drop is undone with the transaction
    assert _issue_indexes(store) == before
    with caplog.at_level(logging.DEBUG, logger="civgrid.grids.issues.bulk_insert"):
        report = backfill_issues(store, synthetic_history(store, 40, seed=3), commit=True)
    assert report.written == 40
    assert _issue_indexes(store) == before
    # each build's time logged (bench/backfill.py --verbose prints them)
    built = {r.args[0] for r in caplog.records if r.msg.startswith("index %s built")}
    events = {"ix_issue_events_issue"} if postgres else set()  # SQLite's kept
    assert built >= {name for name, _ in dropped} | events
    with store.session() as s:
        out = BulkInserter(s)
        assert out.drop_indexes(Issue.__table__, 40) == []  # as many there: kept
        out.close()
        s.rollback()


@pytest.mark.parametrize("postgres", [False, True])
def test_points_are_the_wkb_of_the_geometry_conversion(postgres):
    import numpy as np
    import shapely

    from civgrid.geo.convert import to_wkb_array
    from civgrid.grids.core.types import SRID

    out = BulkInserter.__new__(BulkInserter)  # the values only: no connection needed
    out.postgres = postgres
    lon = np.array([117.123456789, -0.0, 180.0, 116.4])
    lat = np.array([31.987654321, 0.0, -90.0, 39.9])
    want = to_wkb_array(shapely.points(lon, lat), SRID if postgres else None, hex=postgres)
    assert out.points(lon, lat) == list(want)
    assert out.points(np.array([]), np.array([])) == []


@pytest.mark.parametrize("binary", [True, False])
def test_backfilled_fields_come_back_as_written(store, monkeypatch, binary):
    """Text with backslashes, tabs and line ends, exact coordinates, times, JSON: on
    PostGIS they go as COPY binary fields encoded by the back-fill itself — or, when a
    column's type is not the one those bytes are for, as COPY text lines."""
    from civgrid.grids.issues.backfill import backfill_issues, synthetic_history
    from civgrid.grids.issues.models import Issue

    if not binary:
        # types the binary fields are not for: the back-fill sends text lines (SQLite has
        # one path, which both parameters then check: no test skips in CI)
        monkeypatch.setattr(
            BulkInserter, "column_types", lambda self, table, cols: dict.fromkeys(cols, "text")
        )
    rows = synthetic_history(store, 3, seed=9)
    odd = 'a\\b\tc\nd\re "引号" \\N'
    rows[0].update({"问题编号": "K\\1\t", "问题描述": odd, "地址": "路\\口"})
    rows[1]["办理状态"] = "待整改"  # open: no closing time
    report = backfill_issues(store, rows, commit=True)
    assert report.written == 3
    with store.session() as s:
        got = {i.idempotency_key: i for i in s.scalars(select(Issue))}
        first = got["import:K\\1"]  # the cell is stripped
        assert first.description == odd
        assert first.address == "路\\口"
        assert first.attributes == {"import": {"file": "rows", "row": 2}}
        assert (first.lon, first.lat) == (rows[0]["经度"], rows[0]["纬度"])
        assert first.reported_at == datetime.strptime(
            rows[0]["发现时间"] + " +0800", "%Y-%m-%d %H:%M %z"
        )
        second = got["import:" + rows[1]["问题编号"]]
        assert second.closed_at is None and second.state == "assigned"
        assert second.reinspection_result is None
        assert first.reinspection_result == "passed"
        events = s.scalars(select(IssueEvent).where(IssueEvent.issue_id == first.id)).all()
        assert [(e.action, e.to_state, e.data) for e in events] == [
            ("import", "closed", {"file": "rows", "row": 2})
        ]


def test_copy_text_fields():
    out = BulkInserter.__new__(BulkInserter)  # the values only: no connection needed
    out.postgres = True
    out._json = json.dumps
    assert out.copy_text(None) == "\\N"
    assert (out.copy_text(True), out.copy_text(False), out.copy_text(7)) == ("t", "f", "7")
    assert out.copy_text(0.1 + 0.2) == "0.30000000000000004"  # exact, not rounded
    assert out.copy_text("a\\b\tc\nd\re") == "a\\\\b\\tc\\nd\\re"
    assert out.copy_text("\\N") == "\\\\N"  # text, not a NULL
    assert out.copy_text(datetime(2024, 5, 1, 8, tzinfo=UTC)) == "2024-05-01T08:00:00+00:00"
    assert out.copy_text({"a": "\t"}) == '{"a": "\\\\t"}'  # JSON, then escaped
    assert out.copy_column(["a", "b"]) == ["a", "b"]
    assert out.copy_column(["a", None]) == ["a", "\\N"]
    assert out.copy_column(["a\tb", None]) == ["a\\tb", "\\N"]


def test_binary_fields():
    import struct

    out = BulkInserter.__new__(BulkInserter)  # the values only: no connection needed
    out.postgres = True
    out._json = json.dumps
    f = out.binary_field
    assert f(None, "integer") == b"\xff\xff\xff\xff"
    assert f(7, "integer") == b"\x00\x00\x00\x04\x00\x00\x00\x07"
    assert f(0.1, "double precision") == b"\x00\x00\x00\x08" + struct.pack(">d", 0.1)
    assert f(True, "boolean") == b"\x00\x00\x00\x01\x01"
    # microseconds since 2000-01-01 UTC, whatever the zone of the value
    t = datetime(2000, 1, 1, 8, 0, 0, 5, tzinfo=timezone(timedelta(hours=8)))
    assert f(t, "timestamp with time zone") == b"\x00\x00\x00\x08" + struct.pack(">q", 5)
    assert f("引号", "character varying") == b"\x00\x00\x00\x06" + "引号".encode()
    assert f({"a": 1}, "json") == b"\x00\x00\x00\x08" + b'{"a": 1}'


def test_a_first_backfill_with_a_key_twice_writes_nothing(store):
    """The idempotency key's uniqueness holds when its index is made after the rows
    (PostGIS, a county's first back-fill): the duplicate fails the whole transaction."""
    from civgrid.grids.issues.backfill import backfill_issues, synthetic_history
    from civgrid.grids.issues.models import Issue

    rows = synthetic_history(store, 20, seed=4)
    rows[7]["问题编号"] = rows[3]["问题编号"]  # one external id twice
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        backfill_issues(store, rows, commit=True)
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Issue)) == 0
        assert s.scalar(select(func.count()).select_from(IssueEvent)) == 0


@pytest.mark.parametrize("failure", ["server", "client"])
def test_a_binary_copy_failing_midway_writes_nothing(store, failure):
    """Blocks are encoded while earlier ones are still being sent (a writer thread): a
    row the server refuses, or a value the client cannot encode, many blocks in, ends the
    COPY with that error, and the transaction writes nothing (SQLite has no binary COPY)."""
    import numpy as np

    from civgrid.grids.issues.copy_binary import Fixed, Text

    n, bad = 30_000, 21_234
    actions = ["import"] * n
    null = np.zeros(n, dtype=bool)
    if failure == "server":
        null[bad] = True  # issue_id is NOT NULL
    else:
        actions[bad] = "\ud800"  # a lone surrogate: no UTF-8 for it
    fields = [Fixed(np.full(n, 987_654), ">i4", null), Text(actions)]
    constants = {"at": datetime(2024, 5, 1, tzinfo=UTC), "actor_who": "t", "actor_role": "system"}
    with store.session() as s:
        out = BulkInserter(s, set_based_checks=True)
        if not out.postgres:
            with pytest.raises(TypeError, match="PostgreSQL"):
                out.insert_binary(IssueEvent.__table__, ["issue_id", "action"], fields, n)
            out.close()
            return
        sent = []
        want = r"(?i)null value" if failure == "server" else "surrogate"
        with pytest.raises(Exception, match=want):
            out.insert_binary(
                IssueEvent.__table__,
                ["issue_id", "action"],
                fields,
                n,
                constants,
                block=1_000,
                progress=sent.append,
            )
        if failure == "client":  # stopped there (the server reports its own at the end)
            assert sent[-1] == bad // 1_000 * 1_000
        s.rollback()
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(IssueEvent)) == 0


def test_shared_columns_are_joined_to_their_rows(store):
    """``insert(…, shared=…)``: each row names its shared row by index (SQLite: a join to
    a temporary table; PostGIS: expanded); many rows per statement, the last block
    shorter; a row naming no shared row, or of the wrong length, is refused."""
    cols = ("issue_id", "at", "action")
    shared_cols, shared = ("actor_who", "actor_role"), [("a", "system"), ("b", "leader")]
    at = datetime(2024, 5, 1, tzinfo=UTC)
    from sqlalchemy.orm import Session

    from civgrid.grids.issues.bulk_insert import foreign_keys_back

    conn = store.engine.connect()  # no issue to refer to: the per-row checks off
    try:
        s = Session(bind=conn)
        out = BulkInserter(s, set_based_checks=True)
        n = 2_500  # more rows than one statement binds (32,766 parameters / 4)
        rows = [(-(k + 1), out.ts(at + timedelta(seconds=k)), "import", k % 2) for k in range(n)]
        assert (
            out.insert(IssueEvent.__table__, cols, rows, {"note": "x"}, (shared_cols, shared)) == n
        )
        got = s.execute(
            text(
                "SELECT issue_id, action, actor_who, actor_role, note FROM issue_events "
                "WHERE issue_id < 0 ORDER BY issue_id DESC"
            )
        ).all()
        assert [tuple(r) for r in got] == [
            (-(k + 1), "import", *shared[k % 2], "x") for k in range(n)
        ]
        if store.engine.dialect.name == "sqlite":
            with pytest.raises(ValueError, match="name no shared row"):
                out.insert(
                    IssueEvent.__table__,
                    cols,
                    [(-9_999, rows[0][1], "x", 2)],
                    None,
                    (shared_cols, shared),
                )
            with pytest.raises(ValueError, match="values for 4"):
                out.insert(
                    IssueEvent.__table__, cols, [(-9_998, "x", 0)], None, (shared_cols, shared)
                )
            # the temporary table is gone after either
            tmp = "SELECT count(*) FROM sqlite_temp_master WHERE name LIKE 'bulk_shared%'"
            assert s.execute(text(tmp)).scalar() == 0
        out.close()
        s.rollback()
        s.close()
    finally:
        foreign_keys_back(conn)
        conn.close()


@pytest.mark.parametrize("binary", [True, False])
def test_backfilled_events_take_ids_the_sequence_skips_after(store, monkeypatch, binary):
    """PostGIS: the events' ids are reserved as one range and written with the rows
    (binary fields or text lines); the sequence is past them, so an event written later
    the ordinary way gets a new id. A first back-fill drops the events' secondary index
    and makes it again after the rows (PostGIS; SQLite keeps it)."""
    from sqlalchemy import inspect

    from civgrid.grids.issues.backfill import backfill_issues, synthetic_history
    from civgrid.grids.issues.models import Issue

    if not binary:  # as in test_backfilled_fields_come_back_as_written: the text lines
        monkeypatch.setattr(
            BulkInserter, "column_types", lambda self, table, cols: dict.fromkeys(cols, "text")
        )

    def indexes() -> list:
        got = inspect(store.engine).get_indexes("issue_events")
        return sorted((ix["name"], tuple(ix["column_names"])) for ix in got)

    before = indexes()
    assert ("ix_issue_events_issue", ("issue_id", "id")) in before
    assert backfill_issues(store, synthetic_history(store, 30, seed=5), commit=True).written == 30
    assert indexes() == before
    with store.session() as s:
        pairs = s.execute(select(IssueEvent.id, IssueEvent.issue_id).order_by(IssueEvent.id)).all()
        ids = [p[0] for p in pairs]
        assert len(set(ids)) == 30 and ids[-1] - ids[0] == 29  # one range
        # in the issues' order: event k is issue k's
        issue_ids = [p[1] for p in pairs]
        assert issue_ids == sorted(issue_ids) and len(set(issue_ids)) == 30
        s.add(
            IssueEvent(
                issue_id=issue_ids[0],
                at=datetime(2024, 5, 1, tzinfo=UTC),
                action="note",
                actor_who="t",
                actor_role="system",
            )
        )
        s.flush()
        later = s.scalar(select(func.max(IssueEvent.id)))
        assert later > ids[-1]
        s.commit()
    # a second back-fill (not a first one: indexes kept) after it
    assert backfill_issues(store, synthetic_history(store, 10, seed=6), commit=True).written == 10
    with store.session() as s:
        assert s.scalar(select(func.count(func.distinct(IssueEvent.id)))) == 41
        assert s.scalar(select(func.min(IssueEvent.id)).where(IssueEvent.id > later)) > later
        assert s.scalar(select(func.count()).select_from(Issue)) == 40
    assert indexes() == before
