"""The files holding secrets are created readable by their owner only (mode 600):
the SQLite database (password hashes, the audit log) with its WAL, and the signing key."""

from __future__ import annotations

import stat

from sqlalchemy import text

from civgrid.api.security import signing_key
from civgrid.api.settings import Settings
from civgrid.grids.core.db import make_engine


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


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
