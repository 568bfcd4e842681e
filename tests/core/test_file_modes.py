"""The files holding secrets are created readable by their owner only (mode 600):
the SQLite database (password hashes, the audit log) with its WAL, and the signing key."""

from __future__ import annotations

import multiprocessing
import os
import stat

import pytest
from sqlalchemy import text

from civgrid.api.security import signing_key
from civgrid.api.settings import Settings
from civgrid.grids.core.db import make_engine


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask():
    """The usual umask (022): files would be world-readable unless created private."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_new_sqlite_database_and_its_wal_are_owner_only(tmp_path):
    db = tmp_path / "var" / "civgrid.sqlite"
    engine = make_engine(f"sqlite:///{db}")
    with engine.begin() as c:
        c.execute(text("CREATE TABLE t (x INTEGER)"))
        c.execute(text("INSERT INTO t VALUES (1)"))
    with engine.connect() as c:  # the WAL exists while a connection is open
        assert c.execute(text("SELECT x FROM t")).scalar() == 1
        wal = tmp_path / "var" / "civgrid.sqlite-wal"
        assert wal.exists() and _mode(wal) & 0o077 == 0
    engine.dispose()
    assert _mode(db) == 0o600


def test_generated_signing_key_is_owner_only(tmp_path):
    key = signing_key(Settings(var_dir=tmp_path / "var"))
    path = tmp_path / "var" / "secret_key"
    assert path.read_text().strip() == key and len(key) >= 48
    assert _mode(path) == 0o600
    assert signing_key(Settings(var_dir=tmp_path / "var")) == key  # kept, not regenerated


def _key_of(var_dir: str, out) -> None:
    out.put(signing_key(Settings(var_dir=var_dir)))


def test_workers_starting_together_share_one_key(tmp_path):
    """Four processes create the key at once (``civgrid serve --workers``): one key wins,
    every process reads it, and no temporary file is left behind."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_key_of, args=(str(tmp_path / "var"), out)) for _ in range(4)]
    for p in procs:
        p.start()
    keys = {out.get(timeout=120) for _ in procs}
    for p in procs:
        p.join(timeout=60)
    assert len(keys) == 1
    assert sorted(p.name for p in (tmp_path / "var").iterdir()) == ["secret_key"]
    assert _mode(tmp_path / "var" / "secret_key") == 0o600
