"""``execute_first``: a transaction's first statement carries its ``BEGIN`` on
PostgreSQL (one round trip instead of two, issue 19), with the same results and
errors as ``Session.execute``; on SQLite it is ``Session.execute``."""

from __future__ import annotations

import os
import tempfile

import pytest
from sqlalchemy import exc, text
from sqlalchemy.orm import Session

from civgrid.grids.core.db import execute_first, make_engine

QUERY = text("SELECT CAST(:x AS INTEGER) + 1 AS y")


def _round_trips(session: Session, run) -> tuple[object, int]:
    """(``run()``'s value, how many times the client waited for the server): the
    libpq protocol trace's ``Sync`` and ``Query`` messages from the client (``F``)."""
    raw = session.connection().connection.driver_connection
    with tempfile.TemporaryFile("w+") as f:
        raw.pgconn.trace(f.fileno())
        try:
            value = run()
        finally:
            raw.pgconn.untrace()
        f.seek(0)
        lines = [ln.split("\t") for ln in f.read().splitlines()]
    sent = [p for p in lines if (len(p) > 2 and p[1] == "F") or (p and p[0] == "F")]
    names = [p[p.index("F") + 2] if "F" in p else "" for p in sent]
    return value, sum(1 for n in names if n in ("Sync", "Query"))


@pytest.mark.postgis
def test_the_begin_travels_with_the_first_statement(postgresql_url):
    engine = make_engine(postgresql_url, pool_size=1, max_overflow=0)
    try:
        with Session(engine) as s:
            s.connection()  # checked out; no transaction on the server yet
            y, plain = _round_trips(s, lambda: s.execute(QUERY, {"x": 1}).scalar_one())
            assert y == 2
            s.rollback()
            s.connection()
            y, first = _round_trips(s, lambda: execute_first(s, QUERY, {"x": 41}).scalar_one())
            assert y == 42
            assert (plain, first) == (2, 1)
            # the transaction is open and goes on as usual, outside pipeline mode
            assert s.execute(text("SELECT txid_current_if_assigned() IS NULL")).scalar()
            raw = s.connection().connection.driver_connection
            assert raw.info.transaction_status == 2  # INTRANS
            assert raw._pipeline is None
            s.execute(text("CREATE TEMP TABLE t (x int)"))
            s.commit()
            # in a transaction already: a plain execute (nothing to carry)
            s.execute(text("SELECT 1"))
            y, inside = _round_trips(s, lambda: execute_first(s, QUERY, {"x": 0}).scalar_one())
            assert (y, inside) == (1, 1)
            s.rollback()
            # an error comes back as from execute, and the session recovers
            with pytest.raises(exc.ProgrammingError):
                execute_first(s, text("SELECT * FROM no_such_table"), {})
            s.rollback()
            assert execute_first(s, QUERY, {"x": 1}).scalar_one() == 2
            s.rollback()
    finally:
        engine.dispose()


def test_sqlite_is_a_plain_execute(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    try:
        with Session(engine) as s:
            assert execute_first(s, QUERY, {"x": 1}).scalar_one() == 2
    finally:
        engine.dispose()
    assert os.path.exists(tmp_path / "x.sqlite")
