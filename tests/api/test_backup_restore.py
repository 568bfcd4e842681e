"""``civgrid backup`` of a live instance under intake load, ``civgrid restore`` into an
empty place, on SQLite and PostGIS: every acknowledged issue, event and photo is there
and serves (the photo bytes are the ones sent), the old tokens still work (the secret key
came back), and a damaged backup is refused with the file named.

A thread keeps reporting issues (each with its own photo) through the API while the
backup runs; the issues acknowledged (201) before the backup started must all be in
the restored instance, and nothing else than acknowledged issues may be.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from civgrid.api.cli import app as cli
from support.demo_stores import BACKENDS, admin_connection, demo_store_copy
from support.issue_helpers import point_in
from support.mapdata import PNG
from support.pgcluster import PG_BIN

COMPOUND = "411327001001003"


def _photo(n: int) -> bytes:
    """A distinct PNG per report (the photo store is content addressed)."""
    return PNG + f"report-{n}-{uuid.uuid4().hex}".encode()


@pytest.fixture(params=BACKENDS)
def source(request, tmp_path, demo_sqlite_template):
    """A live instance (app + client) on a private demo county; yields a namespace."""
    from civgrid.api.app import create_app
    from civgrid.api.settings import Settings
    from civgrid.grids.issues.config import IssueConfig
    from support.authclient import AuthClient

    var = tmp_path / "src" / "var"
    if request.param == "sqlite":
        path, _ = demo_sqlite_template
        db = tmp_path / "src" / "civgrid.sqlite"
        db.parent.mkdir(parents=True)
        shutil.copyfile(path, db)
        url, stores = f"sqlite:///{db}", None
    else:
        stores = demo_store_copy("postgis", request, tmp_path)
        store = next(stores)
        url = store.engine.url.render_as_string(hide_password=False)
    app = create_app(
        Settings(
            database_url=url, var_dir=var, intake_rate="100000/60", build_index_on_startup=True
        )
    )
    # no merging of duplicates: every report is its own issue
    app.state.issue_config = IssueConfig(photo_dir=var / "photos", duplicate_radius_m=0)
    with AuthClient(app) as client:
        pg = request.getfixturevalue("pg_url") if request.param == "postgis" else None
        yield SimpleNamespace(
            url=url, var=var, app=app, client=client, backend=request.param, pg=pg
        )
    if stores is not None:
        next(stores, None)


class Reporter(threading.Thread):
    """Reports issues with a photo until stopped; records every acknowledged one."""

    def __init__(self, client, at) -> None:
        super().__init__(daemon=True)
        self.client, self.at = client, at
        self.acked: dict[int, bytes] = {}  # issue id → its photo's bytes
        self.failures: list[str] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            data = {
                "category": "dumping",
                "source": "field_supervision",
                "lon": self.at[0],
                "lat": self.at[1],
                "description": f"report {n}",
            }
            photo = _photo(n)
            r = self.client.post(
                "/api/v1/issues",
                data=data,
                files=[("photos", ("p.png", photo, "image/png"))],
                headers=self.client.as_user("dispatcher", "disp"),
            )
            if r.status_code == 201:
                with self.lock:
                    self.acked[r.json()["id"]] = photo
            else:
                self.failures.append(f"{r.status_code} {r.text[:200]}")

    def snapshot(self) -> dict[int, bytes]:
        with self.lock:
            return dict(self.acked)

    def wait_for(self, n: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while len(self.snapshot()) < n:
            assert time.monotonic() < deadline and not self.failures, self.failures
            time.sleep(0.05)


def _target(src, tmp_path: Path, request):
    """An empty place to restore into: a new SQLite path, or a new empty PostGIS database."""
    if src.backend == "sqlite":
        return f"sqlite:///{tmp_path / 'new' / 'civgrid.sqlite'}", None
    name = f"civgrid_restore_{uuid.uuid4().hex[:10]}"
    with admin_connection(src.pg) as c:
        c.execute(f"CREATE DATABASE {name}")

    def drop() -> None:
        with admin_connection(src.pg) as c:
            c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    request.addfinalizer(drop)
    return make_url(src.pg).set(database=name).render_as_string(hide_password=False), name


def _cli(*args: str, var: Path):
    env = {"CIVGRID_VAR_DIR": str(var), "CIVGRID_PG_BIN": str(PG_BIN)}
    return CliRunner().invoke(cli, list(args), env=env)


def test_backup_under_load_then_restore_into_an_empty_place(source, tmp_path, request):
    from civgrid.api.app import create_app
    from civgrid.api.settings import Settings
    from support.authclient import AuthClient

    at = point_in(source.app.state.store, COMPOUND)
    reporter = Reporter(source.client, at)
    reporter.start()
    try:
        reporter.wait_for(8)
        if source.backend == "sqlite":  # the acknowledged reports are (partly) in the WAL
            wal = Path(make_url(source.url).database + "-wal")
            assert wal.stat().st_size > 0
        before = reporter.snapshot()
        r = _cli("backup", str(tmp_path / "bk"), "--db", source.url, var=source.var)
        assert r.exit_code == 0, r.output
        reporter.wait_for(len(reporter.snapshot()) + 3)  # intake went on meanwhile
    finally:
        reporter.stop.set()
        reporter.join(timeout=60)
    assert reporter.failures == []
    acked = reporter.snapshot()
    manifest = json.loads((tmp_path / "bk" / "manifest.json").read_text())
    assert manifest["counts"]["issues"] >= len(before)
    assert {"photos/", "secret_key"} <= {
        k if k == "secret_key" else k[:7] for k in manifest["files"]
    }

    url, _ = _target(source, tmp_path, request)
    new_var = tmp_path / "new" / "var"
    r = _cli("restore", str(tmp_path / "bk"), "--db", url, var=new_var)
    assert r.exit_code == 0, r.output
    assert f"issues {manifest['counts']['issues']}" in r.output

    restored = create_app(Settings(database_url=url, var_dir=new_var, build_index_on_startup=False))
    with AuthClient(restored) as c:
        # a token of the old instance still works: the secret key was restored
        token = source.client.token("disp", "dispatcher", None, None)
        auth = {"Authorization": f"Bearer {token}"}
        page = c.get("/api/v1/issues", params={"limit": 1000}, headers=auth)
        assert page.status_code == 200, page.text
        ids = {i["id"] for i in page.json()["items"]}
        assert set(before) <= ids  # every report acknowledged before the backup
        assert ids <= set(acked)  # and nothing that was not acknowledged
        for issue_id in sorted(before):
            old = source.client.get(f"/api/v1/issues/{issue_id}", headers=auth).json()
            new = c.get(f"/api/v1/issues/{issue_id}", headers=auth)
            assert new.status_code == 200
            new = new.json()
            assert [e["id"] for e in new["history"]] == [e["id"] for e in old["history"]]
            assert (new["state"], new["version"]) == (old["state"], old["version"])
            assert len(new["photos"]) == 1
            photo = c.get(f"/api/v1/photos/{new['photos'][0]['id']}", headers=auth)
            assert photo.status_code == 200 and photo.content == before[issue_id]


def test_restore_refuses_a_damaged_backup_and_a_full_target(tmp_path, demo_sqlite_template):
    path, _ = demo_sqlite_template
    src = tmp_path / "src" / "civgrid.sqlite"
    src.parent.mkdir()
    shutil.copyfile(path, src)
    var = tmp_path / "src" / "var"
    photo = var / "photos" / "ab" / "cd" / ("ab" * 32 + ".png")
    photo.parent.mkdir(parents=True)
    photo.write_bytes(PNG)
    (var / "secret_key").write_text("k" * 64)
    r = _cli("backup", str(tmp_path / "bk"), "--db", f"sqlite:///{src}", var=var)
    assert r.exit_code == 0, r.output
    # the backup folder must be new or empty
    r = _cli("backup", str(tmp_path / "bk"), "--db", f"sqlite:///{src}", var=var)
    assert r.exit_code == 1 and "not empty" in r.output

    # a flipped byte in a photo: refused, the file named, nothing restored
    damaged = tmp_path / "bk" / "photos" / "ab" / "cd" / photo.name
    data = bytearray(damaged.read_bytes())
    data[-1] ^= 0xFF
    damaged.write_bytes(bytes(data))
    new_db, new_var = tmp_path / "new" / "civgrid.sqlite", tmp_path / "new" / "var"
    r = _cli("restore", str(tmp_path / "bk"), "--db", f"sqlite:///{new_db}", var=new_var)
    assert r.exit_code == 1
    assert f"photos/ab/cd/{photo.name} (checksum mismatch)" in r.output
    assert not new_db.exists() and not new_var.exists()
    damaged.write_bytes(PNG)  # repaired

    # the database file damaged: named too
    db_copy = tmp_path / "bk" / "database" / "civgrid.sqlite"
    good = db_copy.read_bytes()
    db_copy.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    r = _cli("restore", str(tmp_path / "bk"), "--db", f"sqlite:///{new_db}", var=new_var)
    assert r.exit_code == 1 and "database/civgrid.sqlite (checksum mismatch)" in r.output
    db_copy.write_bytes(good)

    # a restore into a place that holds data: refused without --force
    r = _cli("restore", str(tmp_path / "bk"), "--db", f"sqlite:///{src}", var=var)
    assert r.exit_code == 1 and "not empty" in r.output and "--force" in r.output
    extra = var / "photos" / "zz.png"
    extra.write_bytes(PNG)
    r = _cli("restore", str(tmp_path / "bk"), "--db", f"sqlite:///{src}", "--force", var=var)
    assert r.exit_code == 0, r.output
    assert not extra.exists() and photo.read_bytes() == PNG
    assert (var / "secret_key").read_text() == "k" * 64
    assert (var / "secret_key").stat().st_mode & 0o077 == 0
