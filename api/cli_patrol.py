"""``civgrid patrol``: teams, monthly plans, daily routes, leader visits, GPS track coverage."""

from __future__ import annotations

import typer

patrol_app = typer.Typer(
    help="Patrol (巡查): teams, plans, routes, visits, coverage.", no_args_is_help=True
)
