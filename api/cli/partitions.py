"""``civgrid db partitions``: the monthly partitions of the issue history (PostgreSQL).

Creates this month's and the next ``--ahead`` months' partitions of ``issues`` and
``issue_events``, and one for every month whose rows wait in a default partition
(rows of a month without a partition land there: a back-fill of old records, or the
command not run for months); those rows move into their month's new partition. A
dry run prints the plan; ``--commit`` creates everything in one transaction. Run it
monthly (cron; ``docs/scaling.md``). On SQLite there is nothing to partition.

Registered in ``api/cli/__init__.py`` as ``db_app.command("partitions")``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from civgrid.api.cli._common import DatabaseUrl, fail, open_store


def partitions_command(
    database_url: DatabaseUrl = None,
    ahead: Annotated[
        int, typer.Option("--ahead", min=0, max=120, help="Months ahead of this one (default 3).")
    ] = 3,
    commit: Annotated[
        bool, typer.Option("--commit", help="Create them (default: dry run).")
    ] = False,
) -> None:
    """Create the next months' partitions of the issue history and split the default one."""
    from civgrid.grids.core.calendar import local_today, local_zone
    from civgrid.grids.core.errors import InvalidInputError
    from civgrid.grids.core.history_partitions import (
        apply_plan,
        partitioned_tables,
        plan_partitions,
    )

    with open_store(database_url) as store:
        with store.engine.begin() as conn:
            if not partitioned_tables(conn):
                fail(
                    InvalidInputError(
                        f"{store.backend}: the issue history is one table here "
                        "(PostgreSQL partitions it at revision 0600 when upgraded with "
                        "CIVGRID_PARTITION_HISTORY=1)",
                        field="database_url",
                    )
                )
            zone = local_zone()
            report = plan_partitions(conn, ahead=ahead, today=local_today(), zone=zone)
            if commit:
                apply_plan(conn, report, zone)
        for line in report.lines():
            typer.echo(line)
