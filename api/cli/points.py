"""``civgrid points``: assessment points (测评点位) — standards, register, inspections.

* ``civgrid points standards check FILE [--today DATE]`` — validate the
  ``point_standards:`` section of a profile file and check it against the standards
  in force (a version in force on or before today, or a published period, cannot
  change); prints ``file:line: reason`` when refused (exit 1);
* ``civgrid points standards load FILE`` — the same, then install it into
  ``<var_dir>/point_standards`` (the previous standards stay when refused);
* ``civgrid points standards list`` — the profiles with standards and their versions.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import typer

from civgrid.api.cli._common import DatabaseUrl, fail, open_store

points_app = typer.Typer(help="Assessment points (测评点位).", no_args_is_help=True)
standards_app = typer.Typer(help="Point standards (测评标准).", no_args_is_help=True)
points_app.add_typer(standards_app, name="standards")


def standards_dir() -> Path:
    """Where installed standards files live: ``<var_dir>/point_standards``."""
    from civgrid.api.settings import Settings

    return Path(Settings().var_dir) / "point_standards"


def standards_registry() -> Any:
    """The shipped, city and installed point standards."""
    from civgrid.grids.points.standards import StandardsRegistry

    return StandardsRegistry.with_shipped(standards_dir())


def _published_through(database_url: str | None) -> Any:
    """``profile → last day of its last published bulletin`` (None without a database)."""
    from civgrid.grids.scoring.bulletins import published_through

    def through(name: str) -> date | None:
        with open_store(database_url) as store, store.session() as s:
            return published_through(s, name)

    return through


@standards_app.command("check")
def standards_check(
    file: Path = typer.Argument(..., help="A profile YAML file with point_standards:."),
    today: str | None = typer.Option(None, help="Check history as of this day (YYYY-MM-DD)."),
) -> None:
    """Validate a standards file and check it against the standards in force (no change)."""
    from civgrid.grids.points.standards import StandardsError

    reg = standards_registry()
    try:
        std = reg.check(
            file.read_text(encoding="utf-8") if file.is_file() else "",
            str(file),
            today=date.fromisoformat(today) if today else None,
        )
    except StandardsError as exc:
        fail(exc)
    versions = ", ".join(v.effective_from.isoformat() for v in std.versions)
    types = len(std.versions[-1].types)
    typer.echo(f"ok: {std.profile}; versions {versions}; {types} point types")


@standards_app.command("load")
def standards_load(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="A profile YAML file."),
    database_url: DatabaseUrl = None,
) -> None:
    """Validate, check and install a standards file; refused: the standards in force stay."""
    from civgrid.grids.points.standards import StandardsError

    reg = standards_registry()
    try:
        std = reg.install(file, standards_dir(), not_before=_published_through(database_url))
    except StandardsError as exc:
        fail(exc)
    typer.echo(
        f"loaded: {std.profile}; versions "
        + ", ".join(v.effective_from.isoformat() for v in std.versions)
    )


@standards_app.command("list")
def standards_list() -> None:
    """Profiles with point standards, their versions and types; skipped installed files."""
    reg = standards_registry()
    for name in reg.names():
        for v in reg.standards(name).versions:
            demo = "\t演示标准（非官方）" if v.demo else ""
            typer.echo(f"{name}\t{v.effective_from.isoformat()}\t{len(v.types)} 类{demo}")
    for exc in reg.problems:
        typer.echo(f"skipped (malformed, not in force): {exc}")
