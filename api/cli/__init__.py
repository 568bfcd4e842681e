"""The ``civgrid`` command line (typer). Every command has ``--help``.

One module per feature (``grids``, ``issues``, ``maps``, ``patrol``, ``scoring``,
``users``); what they share — the database option, the store opener that checks
the migration revision, the error format — is in ``_common``.
"""

from __future__ import annotations

import typer

from civgrid.api.version import __version__

app = typer.Typer(
    help="civgrid 创文网格化管理 — grid management for civilized-city campaigns.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _city() -> None:
    """Select the city (``CIVGRID_CITY``) and its time zone once, before any command."""
    from civgrid.api.settings import Settings

    Settings().activate_city()


@app.command()
def version() -> None:
    """Print the civgrid version."""
    typer.echo(__version__)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8000, help="TCP port."),
    reload: bool = typer.Option(False, help="Reload on code changes (development)."),
) -> None:
    """Serve the command center (FastAPI under uvicorn)."""
    import uvicorn

    uvicorn.run("civgrid.api.asgi:app", host=host, port=port, reload=reload, factory=False)


@app.command()
def warmup() -> None:
    """Compile the snapping kernels into numba's on-disk cache (make demo runs it early)."""
    from civgrid.geo.snap import warm_up

    typer.echo(f"snap kernels ready in {warm_up():.1f} s")


def _register_subcommands() -> None:
    from civgrid.api.cli import calendar as cli_calendar
    from civgrid.api.cli import grids as cli_grids
    from civgrid.api.cli import issues as cli_issues
    from civgrid.api.cli import maps as cli_maps
    from civgrid.api.cli import patrol as cli_patrol
    from civgrid.api.cli import scoring as cli_scoring
    from civgrid.api.cli import users as cli_users

    cli_grids.import_app.command("issues")(cli_issues.import_issues)
    app.command("simulate")(cli_issues.simulate_command)
    app.add_typer(cli_issues.issues_app, name="issues")
    app.command("map")(cli_maps.map_command)
    app.add_typer(cli_grids.db_app, name="db")
    app.add_typer(cli_grids.import_app, name="import")
    app.add_typer(cli_grids.export_app, name="export")
    app.add_typer(cli_grids.demo_app, name="demo")
    app.add_typer(cli_patrol.patrol_app, name="patrol")
    app.add_typer(cli_scoring.score_app, name="score")
    app.add_typer(cli_scoring.report_app, name="report")
    app.add_typer(cli_users.user_app, name="user")
    app.add_typer(cli_calendar.calendar_app, name="calendar")


_register_subcommands()
