"""The ``civgrid`` command line (typer). Every command has ``--help``.

One module per feature (``grids``, ``issues``, ``maps``, ``patrol``, ``scoring``,
``users``, ``backup``); what they share — the database option, the store opener that checks
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
    workers: int = typer.Option(
        1, min=1, help="Worker processes (share the database; 2 per core is plenty)."
    ),
    graceful_s: int = typer.Option(
        10, "--graceful-seconds", min=1, help="On SIGTERM, finish requests for this long."
    ),
) -> None:
    """Serve the command center (FastAPI under uvicorn).

    Workers share rate limits and the current boundary generation through the
    database. Client addresses come from the socket; ``X-Forwarded-For`` is
    read by the app, and only from ``CIVGRID_TRUSTED_PROXIES`` (uvicorn's own
    proxy-header handling is off, since it trusts loopback by default).
    """
    import uvicorn

    uvicorn.run(
        "civgrid.api.asgi:app",
        host=host,
        port=port,
        reload=reload,
        workers=None if reload else workers,
        factory=False,
        proxy_headers=False,
        timeout_graceful_shutdown=graceful_s,
        # a worker imports the whole app before it answers the supervisor's ping;
        # on a busy 2-core machine that takes longer than uvicorn's default 5 s
        timeout_worker_healthcheck=60,
    )


@app.command()
def warmup() -> None:
    """Compile the snapping kernels into numba's on-disk cache (make demo runs it early)."""
    from civgrid.geo.snap import warm_up

    typer.echo(f"snap kernels ready in {warm_up():.1f} s")


def _register_subcommands() -> None:
    from civgrid.api.cli import backup as cli_backup
    from civgrid.api.cli import calendar as cli_calendar
    from civgrid.api.cli import check as cli_check
    from civgrid.api.cli import documents as cli_documents
    from civgrid.api.cli import grids as cli_grids
    from civgrid.api.cli import issues as cli_issues
    from civgrid.api.cli import maps as cli_maps
    from civgrid.api.cli import notify as cli_notify
    from civgrid.api.cli import partitions as cli_partitions
    from civgrid.api.cli import patrol as cli_patrol
    from civgrid.api.cli import points as cli_points
    from civgrid.api.cli import scoring as cli_scoring
    from civgrid.api.cli import users as cli_users

    cli_grids.import_app.command("issues")(cli_issues.import_issues)
    app.command("simulate")(cli_issues.simulate_command)
    app.add_typer(cli_issues.issues_app, name="issues")
    app.command("map")(cli_maps.map_command)
    cli_grids.db_app.command("partitions")(cli_partitions.partitions_command)
    app.add_typer(cli_grids.db_app, name="db")
    app.add_typer(cli_grids.import_app, name="import")
    app.add_typer(cli_grids.export_app, name="export")
    app.add_typer(cli_grids.demo_app, name="demo")
    app.add_typer(cli_patrol.patrol_app, name="patrol")
    app.add_typer(cli_points.points_app, name="points")
    app.add_typer(cli_scoring.score_app, name="score")
    app.add_typer(cli_scoring.report_app, name="report")
    app.add_typer(cli_users.user_app, name="user")
    app.add_typer(cli_check.check_app, name="check")
    app.command("backup")(cli_backup.backup_command)
    app.command("restore")(cli_backup.restore_command)
    app.add_typer(cli_calendar.calendar_app, name="calendar")
    app.add_typer(cli_notify.notify_app, name="notify")
    app.add_typer(cli_documents.documents_app, name="documents")


_register_subcommands()
