"""Pooled PostgreSQL connections are pinged only after sitting idle
(``grids/core/db.py:_ping_when_idle``): a busy server sends no extra round trip per
checkout, and a connection cut while idle is replaced before a request sees it."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from civgrid.grids.core import db


@pytest.mark.postgis
def test_busy_connections_are_not_pinged_and_idle_dead_ones_are_replaced(
    postgresql, postgresql_url, monkeypatch
):
    pings: list[int] = []
    real_ping = db._ping

    def counted(engine, dbapi):
        pings.append(1)
        real_ping(engine, dbapi)

    monkeypatch.setattr(db, "_ping", counted)
    engine = db.make_engine(postgresql_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as c:
            pid = c.execute(text("SELECT pg_backend_pid()")).scalar()
        t0 = time.monotonic()
        for _ in range(20):  # back to back: the same connection, never pinged
            with engine.connect() as c:
                assert c.execute(text("SELECT pg_backend_pid()")).scalar() == pid
        assert time.monotonic() - t0 < db.PING_IDLE_S, "too slow to tell (machine busy)"
        assert pings == []
        # cut it while idle and wait past the limit: the checkout pings, finds it dead
        # and hands out a fresh connection; the caller never sees the dead one
        postgresql.execute("SELECT pg_terminate_backend(%s)", (pid,))
        time.sleep(db.PING_IDLE_S + 0.2)
        with engine.connect() as c:
            fresh = c.execute(text("SELECT pg_backend_pid()")).scalar()
        assert fresh != pid and len(pings) >= 1
        # a ping leaves no transaction open: the connection can switch to autocommit
        # (Store.read_session does, for one-query lookups)
        time.sleep(db.PING_IDLE_S + 0.2)
        with engine.connect() as c:
            c = c.execution_options(isolation_level="AUTOCOMMIT")
            assert c.execute(text("SELECT pg_backend_pid()")).scalar() == fresh
        assert len(pings) >= 2
    finally:
        engine.dispose()


@pytest.mark.postgis
def test_asking_for_pool_pre_ping_still_gets_it(postgresql_url, monkeypatch):
    """``pool_pre_ping=True`` (a caller's explicit choice) replaces the idle-only ping."""
    pings: list[int] = []
    monkeypatch.setattr(db, "_ping", lambda engine, dbapi: pings.append(1))
    engine = db.make_engine(postgresql_url, pool_pre_ping=True)
    try:
        for _ in range(3):
            with engine.connect() as c:
                c.execute(text("SELECT 1"))
        assert engine.pool._pre_ping and pings == []
    finally:
        engine.dispose()
