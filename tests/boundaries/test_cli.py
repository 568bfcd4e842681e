"""The grids commands: civgrid db / import / export / demo (on SQLite and PostGIS)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from civgrid.api.cli import app

runner = CliRunner()
DEMO_DIR = Path(__file__).resolve().parents[2] / "data" / "boundaries" / "demo"


def run(*args, url):
    result = runner.invoke(app, [*args, "--database-url", url])
    return result


def test_db_upgrade_and_status(db_url):
    r = run("db", "upgrade", url=db_url)
    assert r.exit_code == 0, r.output
    assert "database at revision" in r.output and "categories" in r.output
    r = run("db", "status", "--json", url=db_url)
    assert r.exit_code == 0, r.output
    info = json.loads(r.output)
    assert info["revision"] == info["head"] and info["generations"] == []


def test_import_boundaries_dry_run_then_commit(db_url, toy):
    assert run("db", "upgrade", url=db_url).exit_code == 0
    args = ["import", "boundaries", str(toy["county"]), "--layer", "county"]
    r = run(*args, url=db_url)
    assert r.exit_code == 0 and "dry run, nothing written" in r.output, r.output
    r = run("db", "status", "--json", url=db_url)
    assert json.loads(r.output)["generations"] == []
    r = run(*args, "--commit", "--note", "first", url=db_url)
    assert r.exit_code == 0 and "committed as generation 1" in r.output, r.output
    r = run(*args, "--commit", url=db_url)
    assert "unchanged" in r.output


def test_rejected_import_exits_1(db_url, toy):
    assert run("db", "upgrade", url=db_url).exit_code == 0
    r = run(
        "import",
        "boundaries",
        str(toy["county"]),
        "--layer",
        "county",
        "--name-field",
        "nmae",
        "--commit",
        url=db_url,
    )
    assert r.exit_code == 1 and "did you mean 'name'" in r.output


def test_demo_load_assignments_and_export(backend, db_url, tmp_path):
    if backend == "postgis":  # production databases are migrated explicitly
        r = run("demo", "load", url=db_url)
        assert r.exit_code == 2 and "civgrid db upgrade" in r.output
        assert run("db", "upgrade", url=db_url).exit_code == 0
    r = run("demo", "load", "--data-dir", str(DEMO_DIR), url=db_url)
    assert r.exit_code == 0 and "Demo county: dry_run." in r.output, r.output
    r = run("demo", "load", "--commit", url=db_url)
    assert r.exit_code == 0 and "Demo county: committed." in r.output, r.output
    r = run("demo", "load", "--commit", url=db_url)
    assert "Demo county: unchanged." in r.output
    table = tmp_path / "a.csv"
    table.write_text("subject,role,object\nL99,contact,饶良真\n", encoding="utf-8")
    r = run("import", "assignments", str(table), url=db_url)
    assert r.exit_code == 1 and "'L99'" in r.output and "'饶良真'" in r.output
    out = tmp_path / "list.xlsx"
    r = run("export", "responsibility", str(out), "--at", "2024-01-01", url=db_url)
    assert r.exit_code == 0 and out.exists(), r.output


def _stale(db_url: str) -> tuple[str | None, str | None]:
    """Migrate ``db_url`` to the revision before head, as a database not yet upgraded."""
    from civgrid.grids.core import migrate
    from civgrid.grids.core.db import make_engine

    head = migrate.head_revision()
    script = migrate.ScriptDirectory.from_config(migrate.alembic_config())
    previous = script.get_revision(head).down_revision
    engine = make_engine(db_url)
    try:
        assert migrate.upgrade(engine, previous) == previous
    finally:
        engine.dispose()
    return previous, head


def test_every_command_refuses_a_stale_database(db_url, tmp_path):
    previous, head = _stale(db_url)
    expected = f"database is at revision {previous}, not {head}: run `civgrid db upgrade` first"
    commands = [
        ["score", "compute", "--period", "2026-11", "--level", "community"],
        ["map", "--out", str(tmp_path / "county.html"), "--basemap", "none"],
        ["demo", "load"],
        ["issues", "check-deadlines"],
        ["patrol", "teams", "list"],
        ["user", "list"],
    ]
    for args in commands:
        r = run(*args, url=db_url)
        assert r.exit_code == 2, (args, r.output)
        assert r.output.strip() == expected, (args, r.output)
    assert not (tmp_path / "county.html").exists()
    # the database was left alone; `civgrid db upgrade` fixes it
    r = run("db", "status", "--json", url=db_url)
    assert json.loads(r.output)["revision"] == previous
    assert run("db", "upgrade", url=db_url).exit_code == 0
    r = run("score", "compute", "--period", "2026-11", "--level", "community", url=db_url)
    assert r.exit_code == 0, r.output


def test_a_new_embedded_database_is_created(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.sqlite'}"
    r = run("user", "list", url=url)
    assert r.exit_code == 0, r.output
    r = run("db", "status", "--json", url=url)
    info = json.loads(r.output)
    assert info["revision"] == info["head"]


def test_domain_errors_are_one_line_and_exit_1(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.sqlite'}"
    for args in (
        ["score", "compute", "--period", "2026-13", "--level", "community"],
        ["patrol", "route", "--team", "NOPE", "--date", "2026-12-02"],
        ["user", "disable", "nobody"],
    ):
        r = run(*args, url=url)
        assert r.exit_code == 1, (args, r.output)
        assert r.output.startswith("error: ") and r.output.count("\n") == 1, (args, r.output)
