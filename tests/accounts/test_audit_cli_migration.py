"""The audit log (append-only, retention), the ``civgrid user`` CLI, the 0400 migration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from civgrid.api.cli import app as cli
from civgrid.grids.core import audit
from civgrid.grids.core.actors import Actor
from civgrid.grids.core.audit import AuditRecord
from civgrid.grids.core.errors import DomainError, InvalidInputError
from civgrid.grids.core.migrate import head_revision
from support.schema_diff import schema_diffs

OURS = {"users", "audit_log"}


def test_issue_events_are_audited_with_before_and_after(world):
    d = world.report(world.px)
    r = world.client.post(
        f"/api/v1/issues/{d['id']}/transitions",
        json={"action": "accept"},
        **world.roles["unit_handler"],
    )
    assert r.status_code == 200
    log = world.client.get(
        "/api/v1/audit", params={"object_kind": "issue", "object_key": str(d["id"])}
    ).json()
    assert [i["action"] for i in log["items"]] == ["issue.accept", "issue.report"]
    accept = log["items"][0]
    assert accept["who"] == "uh" and accept["role"] == "unit_handler"
    assert accept["unit"] == world.X["owner_unit"]["key"]
    assert accept["before"] == {"state": "assigned"} and accept["after"] == {"state": "rectifying"}
    # only the admin reads it
    assert world.client.get("/api/v1/audit", **world.roles["dispatcher"]).status_code == 403


def test_audit_records_are_append_only_and_kept_six_months(world):
    store = world.store
    old = datetime.now(UTC) - timedelta(days=200)
    with store.session() as s:
        audit.record(s, Actor("x"), "test.old", "thing", 1, at=old)
        audit.record(s, Actor("x"), "test.new", "thing", 2, before={"password": "secret"})
    with store.session() as s:
        rec = s.query(AuditRecord).filter_by(action="test.new").one()
        assert rec.before == {"password": "***"}  # secrets are masked
        rec.note = "changed"
        with pytest.raises(DomainError, match="append-only"):
            s.flush()
        s.rollback()
        with pytest.raises(DomainError, match="append-only"):
            s.delete(s.query(AuditRecord).filter_by(action="test.new").one())
            s.flush()
        s.rollback()
    with store.session() as s:
        with pytest.raises(InvalidInputError, match="at least 180 days"):
            audit.purge(s, 90)
        assert audit.purge(s, 180) >= 1
    with store.session() as s:
        assert s.query(AuditRecord).filter_by(action="test.old").count() == 0
        assert s.query(AuditRecord).filter_by(action="test.new").count() == 1


def test_cli_users(tmp_path, demo_sqlite_template):
    import shutil

    path, _ = demo_sqlite_template
    shutil.copyfile(path, tmp_path / "c.sqlite")
    db = ["--db", f"sqlite:///{tmp_path / 'c.sqlite'}"]
    run = CliRunner().invoke
    r = run(cli, ["user", "bootstrap-demo", *db])
    assert r.exit_code == 0, r.output
    lines = [ln.split() for ln in r.output.splitlines()[1:]]
    assert lines[0][:2] == ["admin", "admin"]
    assert {ln[1] for ln in lines} == {
        "admin",
        "dispatcher",
        "inspector",
        "unit_handler",
        "grid_worker",
        "leader",
        "viewer",
    }
    # printed once: a second run creates nothing and shows no password
    again = run(cli, ["user", "bootstrap-demo", *db])
    assert "nothing to do" in again.output and lines[0][2] not in again.output
    r = run(cli, ["user", "add", "zhou", "--role", "unit_handler", "--unit", "D04", *db])
    assert r.exit_code == 0 and "one-time password" in r.output, (r.output, r.exception)
    bad = run(cli, ["user", "add", "wu", "--role", "unit_handler", "--unit", "NOPE", *db])
    assert bad.exit_code == 1 and "unknown unit" in bad.output
    r = run(cli, ["user", "disable", "zhou", *db])
    assert r.exit_code == 0, (r.output, r.exception)
    listed = run(cli, ["user", "list", *db]).output
    assert "zhou\tunit_handler\tD04\tdisabled" in listed and "argon2" not in listed
    r = run(cli, ["user", "reset-password", "zhou", *db])
    assert r.exit_code == 0 and "one-time password for zhou" in r.output, (r.output, r.exception)
    log = run(cli, ["user", "audit", "--who", "cli:" + __import__("getpass").getuser(), *db])
    assert "user.disable" in log.output and "user.reset_password" in log.output
    assert run(cli, ["user", "audit-purge", "--older-than-days", "30", *db]).exit_code == 1


def test_migration_matches_models(world):
    store = world.store
    assert store.revision() == head_revision()
    with store.engine.connect() as conn:
        diffs = schema_diffs(conn, OURS)
    assert diffs == []


@pytest.mark.postgis
def test_migration_matches_models_postgis(pg_url):
    from civgrid.grids.boundaries.store import Store
    from civgrid.grids.core.db import make_engine

    store = Store(make_engine(pg_url))
    store.upgrade()
    with store.engine.connect() as conn:
        diffs = schema_diffs(conn, OURS)
    store.engine.dispose()
    assert diffs == []
