"""``civgrid score`` and ``civgrid report``: scores, rankings, bulletins, accountability."""

from __future__ import annotations

import typer

score_app = typer.Typer(help="Scoring (考核): rule profiles, scores, cases.", no_args_is_help=True)
report_app = typer.Typer(help="Bulletins (通报): monthly, quarterly.", no_args_is_help=True)
