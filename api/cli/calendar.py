"""``civgrid calendar``: the working-day calendar and the years it lacks.

``civgrid calendar check`` prints the years the calendar covers (``chinesecalendar``
plus the county's override file) and exits non-zero, naming them, when a year in
use around today (or ``--today``) is missing — its days would count on weekends
only. ``civgrid calendar days 2026-02`` lists a month's working days.
"""

from __future__ import annotations

from datetime import date, timedelta

import typer

from civgrid.api.cli._common import EXIT_ERROR, domain_errors, fail

calendar_app = typer.Typer(help="Working-day calendar (holidays, 调休).", no_args_is_help=True)


def _today(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        fail(ValueError(f"--today {value!r} is not a date YYYY-MM-DD"))
        raise AssertionError from exc  # fail() exits


@calendar_app.command("check")
@domain_errors
def check(
    today: str | None = typer.Option(None, help="Check around this day (default: today)."),
) -> None:
    """Exit non-zero, naming the years, when the calendar lacks a year in use."""
    from civgrid.grids.core.city import current_city
    from civgrid.grids.issues.config import configured_calendar

    cal = configured_calendar()
    status = cal.status(_today(today))
    city = current_city()
    source = f"chinesecalendar {status.first_year}–{status.last_year}"
    if city.calendar_file:
        source += f" + {city.calendar_path()}"
    typer.echo(f"{city.county_name}: {source}")
    if status.missing_years:
        years = ", ".join(str(y) for y in status.missing_years)
        typer.echo(
            f"missing years: {years} — their days count on weekends only; install a newer "
            "chinesecalendar or add them to the county calendar file (docs/calendar.md)",
            err=True,
        )
        raise typer.Exit(EXIT_ERROR)
    typer.echo("ok: every year in use is covered")


@calendar_app.command("days")
@domain_errors
def days(month: str = typer.Argument(..., help="YYYY-MM")) -> None:
    """Print the working days of a month, one per line (make-up days marked 调休)."""
    from civgrid.grids.core.calendar import parse_month
    from civgrid.grids.issues.config import configured_calendar

    cal = configured_calendar()
    first, last = parse_month(month)
    d = first
    while d <= last:
        if cal.is_working_day(d):
            mark = " 调休" if d in cal.makeup_workdays else ""
            typer.echo(f"{d.isoformat()}{mark}")
        d += timedelta(days=1)
    if missing := cal.missing_years(first, last):
        typer.echo(f"missing year {missing[0]}: weekends only", err=True)
