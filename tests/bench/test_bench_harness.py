"""The benchmarks can fail: a missed target or a peer that cannot run makes
``bench/run.py`` (``make bench``) exit non-zero; nothing is dropped silently.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import harness
import pytest
from backfill import StageClock

from support.pgcluster import free_port

RUN = Path(__file__).resolve().parents[2] / "bench" / "run.py"


def _run(*args: str, targets: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, harness.ENV: targets}
    return subprocess.run(
        [sys.executable, str(RUN), "--only", "backfill.py", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def _dead_postgis() -> str:
    """A PostgreSQL URL nobody listens on (the PostGIS peer cannot run)."""
    return f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/civgrid_bench"


def test_an_impossible_target_makes_make_bench_fail():
    """30 rows really are written (that target is met) but 10¹² rows/s is not: exit 1."""
    got = _run(
        "--pg-url",
        _dead_postgis(),
        "--backend",
        "sqlite",
        "--rows",
        "30",
        targets="backfill_sqlite_rows_s=1e12",
    )
    assert got.returncode == 1, got.stdout + got.stderr
    assert "30 of 30 issues written (met)" in got.stdout
    assert "target ≥ 1,000,000,000,000: MISSED" in got.stdout
    assert "targets: MISSED sqlite: rows/s" in got.stdout
    # the stages are booked one by one, the snap on its own line
    stages = [line.split()[1] for line in got.stdout.splitlines() if "stage " in line]
    assert {"validate", "snap", "route", "write"} <= set(stages), got.stdout


def test_a_postgis_peer_that_cannot_run_makes_make_bench_fail():
    got = _run("--pg-url", _dead_postgis(), "--backend", "postgis", "--rows", "30")
    assert got.returncode == 1, got.stdout + got.stderr
    assert "postgis: FAILED" in got.stdout
    assert "FAILED postgis back-fill" in got.stdout


def test_the_postgis_target_is_not_dropped_without_a_database(capsys):
    """``bench/backfill.py`` alone, without ``--pg-url``: the PostGIS run is a failure."""
    import backfill

    assert backfill.main(["--backend", "postgis", "--rows", "10"]) == 1
    assert "not run: no --pg-url" in capsys.readouterr().out


def test_outcome_and_overrides(monkeypatch, capsys):
    monkeypatch.setenv(harness.ENV, "x=3, y=0.5")
    assert harness.target("x", 1.0) == 3.0 and harness.target("z", 7.0) == 7.0
    ok = harness.Outcome()
    assert ok.check("a", True) == "met" and ok.exit_status() == 0
    missed = harness.Outcome()
    assert missed.check("a", False) == "MISSED" and missed.exit_status() == 1
    failed = harness.Outcome()
    failed.peer_failed("PostGIS peer", "connection refused")
    assert failed.exit_status() == 1
    assert "FAILED PostGIS peer (connection refused)" in capsys.readouterr().out
    monkeypatch.setenv(harness.ENV, "nonsense")
    with pytest.raises(SystemExit):
        harness.target("x", 1.0)


def test_stage_clock_books_time_to_the_stage_reported(monkeypatch):
    """A stage's end report carries the time since the previous report (the snap is
    not hidden in the stage before it)."""
    clock = iter([0.0, 1.0, 1.5, 4.5, 5.0])
    cpu = iter([0.0, 0.5, 1.0, 2.0, 4.0])
    monkeypatch.setattr("backfill.time.perf_counter", lambda: next(clock))
    monkeypatch.setattr("backfill.time.process_time", lambda: next(cpu))
    c = StageClock()
    c("validate", 10, 10)
    c("snap", 10, 10)
    c("route", 5, 10)
    c("route", 10, 10)
    assert c.stages == {"validate": 1.0, "snap": 0.5, "route": 3.5}
    assert c.cpu == {"validate": 0.5, "snap": 0.5, "route": 3.0}  # the process's own


def test_the_benches_say_whether_commits_wait_for_the_disk(pg_url):
    """The suite's cluster skips the disk (a throwaway), and the benchmark says so; the
    cluster ``make bench`` starts (``durable=True``) keeps PostgreSQL's defaults."""
    assert harness.durability(pg_url).startswith(
        "fsync=off synchronous_commit=off full_page_writes=off (NOT durable"
    )
    from support.pgcluster import Cluster

    cluster = Cluster(free_port(), durable=True)
    cluster.start()
    try:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}/postgres"
        said = harness.durability(url)
        assert said.startswith(
            "fsync=on synchronous_commit=on full_page_writes=on "
            "(commits wait for the disk, as in production); disk: fdatasync of 8 kB median "
        ), said
        # the disk's sync time, measured in the cluster's data directory (nothing left)
        assert float(said.split("median ")[1].split(" ms")[0]) > 0
        assert not list(cluster.data.glob("disk-sync-*"))
    finally:
        cluster.stop()
