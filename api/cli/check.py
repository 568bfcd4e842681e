"""``civgrid check`` — consistency checks of the published data.

``civgrid check responsibility [--at DATE] [--format text|json]``: every unit grid,
road section and key site of the active boundary generation without a responsible
unit, or with a unit but no responsible person title, per community and township
(:func:`civgrid.grids.boundaries.responsibility.responsibility_gaps`). Exit status 0
when there is no gap, :data:`EXIT_GAPS` when there are gaps (the list is printed).

Registered in ``api/cli/__init__.py`` as ``app.add_typer(check_app, name="check")``.
"""

from __future__ import annotations

import json
from datetime import date
from enum import StrEnum

import typer

from civgrid.api.cli._common import DatabaseUrl, domain_errors, open_store

__all__ = ["EXIT_GAPS", "check_app"]

#: Exit status when a check finds gaps.
EXIT_GAPS = 3

check_app = typer.Typer(help="Consistency checks (responsibility gaps…).", no_args_is_help=True)


class OutputFormat(StrEnum):
    """How a check report is printed."""

    text = "text"
    json = "json"


@check_app.command("responsibility")
@domain_errors
def check_responsibility(
    at: str | None = typer.Option(None, help="Assignments in force on this date (YYYY-MM-DD)."),
    fmt: OutputFormat = typer.Option(OutputFormat.text, "--format", help="text or json."),
    database_url: DatabaseUrl = None,
) -> None:
    """Places (unit grids, road sections, key sites) without a responsible unit or person."""
    from civgrid.grids.boundaries.responsibility import responsibility_gaps
    from civgrid.grids.core.errors import InvalidInputError

    try:
        day = date.fromisoformat(at) if at else None
    except ValueError as exc:
        raise InvalidInputError(f"--at {at!r} is not a date", hint="use YYYY-MM-DD") from exc
    with open_store(database_url) as store:
        report = responsibility_gaps(store, at=day)
    if fmt == OutputFormat.json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(report.to_text())
    if not report.ok:
        raise typer.Exit(EXIT_GAPS)
