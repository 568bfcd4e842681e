"""A back-fill killed mid-way (SIGKILL after every row was sent, before the commit)
leaves nothing written, on SQLite and on PostGIS; the same back-fill then runs."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

from sqlalchemy import func, select

from civgrid.grids.issues.backfill import backfill_issues, synthetic_history
from civgrid.grids.issues.models import (
    Issue,
    IssueEvent,
    IssueRouting,
    PartySet,
    PartySetMember,
    PlaceSet,
    PlaceSetMember,
)

#: Every table a back-fill writes.
WRITTEN = (Issue, IssueEvent, IssueRouting, PartySet, PartySetMember, PlaceSet, PlaceSetMember)

KILLER = """
import json, os, signal, sys
from civgrid.grids.boundaries.store import Store
from civgrid.grids.core.db import make_engine
from civgrid.grids.issues.backfill import backfill_issues

rows = json.load(open(sys.argv[2], encoding="utf-8"))
store = Store(make_engine(sys.argv[1]))

def progress(stage, done, total):
    if stage == "write" and done == total:  # every table written, nothing committed yet
        print("killing", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

backfill_issues(store, rows, commit=True, progress=progress)
print("committed", flush=True)
"""


def _counts(store) -> list[int]:
    with store.session() as s:
        return [s.scalar(select(func.count()).select_from(t)) for t in WRITTEN]


def test_a_backfill_killed_midway_leaves_nothing(store, config, tmp_path):
    rows = synthetic_history(store, 300, seed=5)
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    url = store.engine.url.render_as_string(hide_password=False)
    before = _counts(store)
    store.engine.dispose()  # the other process gets the database to itself
    got = subprocess.run(
        [sys.executable, "-c", KILLER, url, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert got.returncode == -signal.SIGKILL, got.stdout + got.stderr
    assert "killing" in got.stdout and "committed" not in got.stdout
    assert _counts(store) == before  # nothing of the 300 rows, in any table (nor answers)
    report = backfill_issues(store, rows, commit=True, config=config)
    assert report.written == 300
    after = _counts(store)
    assert after[0] == before[0] + 300 and after[1] == before[1] + 300
    assert after[2] > before[2] and after[3] > before[3] and after[4] > before[4]
