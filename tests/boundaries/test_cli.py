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
