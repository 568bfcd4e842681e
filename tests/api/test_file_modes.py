"""The database and the secret key are created readable by their owner only (0600)."""

from __future__ import annotations

import os
import stat

from civgrid.api.app import create_app
from civgrid.api.security import signing_key
from civgrid.api.settings import Settings
from support.authclient import AuthClient


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_database_and_secret_key_files_are_0600(tmp_path):
    old = os.umask(0o022)  # the usual umask: files would be world-readable by default
    try:
        db = tmp_path / "var" / "civgrid.sqlite"
        settings = Settings(
            database_url=f"sqlite:///{db}", var_dir=tmp_path / "var", build_index_on_startup=False
        )
        app = create_app(settings)
        with AuthClient(app) as client:
            assert client.get("/api/v1/issues").status_code == 200  # an account was written
            assert _mode(db) == 0o600
            wal = db.with_name(db.name + "-wal")
            assert wal.exists() and _mode(wal) == 0o600
        key = signing_key(settings)
        assert len(key) >= 32 and _mode(tmp_path / "var" / "secret_key") == 0o600
        assert signing_key(settings) == key  # kept, not regenerated
    finally:
        os.umask(old)
