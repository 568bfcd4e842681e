"""On SQLite the history stays one table: revision 0600 changes nothing there, and
``civgrid db partitions`` says so and fails instead of pretending (issue 26)."""

from __future__ import annotations

import shutil

from sqlalchemy import inspect
from typer.testing import CliRunner

from civgrid.api.cli import app as cli
from civgrid.grids.core.db import make_engine
from civgrid.grids.core.history_partitions import partitioned_tables
from civgrid.grids.core.migrate import current_revision, head_revision


def test_sqlite_keeps_one_table_and_the_command_refuses(tmp_path, demo_sqlite_template) -> None:
    shutil.copyfile(demo_sqlite_template[0], tmp_path / "one.sqlite")
    url = f"sqlite:///{tmp_path / 'one.sqlite'}"
    engine = make_engine(url)
    assert current_revision(engine) == head_revision()
    with engine.connect() as c:
        assert partitioned_tables(c) == set()
        names = set(inspect(c).get_table_names())
    engine.dispose()
    assert {"issues", "issue_events"} <= names
    assert not {"issue_keys", "issue_event_keys", "issues_default"} & names
    done = CliRunner().invoke(cli, ["db", "partitions", "--db", url, "--commit"])
    assert done.exit_code == 1
    assert "the issue history is one table here" in done.output
