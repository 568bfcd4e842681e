"""A savepoint stays inside its transaction on SQLite: the caller's rollback undoes it.

Python's sqlite3 driver begins a transaction only before a write, so a savepoint sent
first used to begin it, and its RELEASE committed — a dry run or a failed request kept
the work done inside (a numbered notice, a stored document).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from civgrid.grids.core.db import make_engine


def _count(engine) -> int:
    with engine.connect() as c:
        return c.exec_driver_sql("SELECT count(*) FROM t").scalar()


def test_rollback_undoes_a_savepoint_that_opened_the_transaction(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'sp.sqlite'}")
    with engine.begin() as c:
        c.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    with Session(engine) as s:
        assert s.execute(text("SELECT count(*) FROM t")).scalar() == 0  # a read first
        with s.begin_nested():
            s.execute(text("INSERT INTO t VALUES (1)"))
        with s.begin_nested():  # a second one: both inside the one transaction
            s.execute(text("INSERT INTO t VALUES (2)"))
        s.rollback()
    assert _count(engine) == 0
    with Session(engine) as s:  # and a commit keeps both
        with s.begin_nested():
            s.execute(text("INSERT INTO t VALUES (1)"))
        s.execute(text("INSERT INTO t VALUES (2)"))
        s.commit()
    assert _count(engine) == 2
    engine.dispose()
