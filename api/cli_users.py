"""``civgrid user``: accounts (add, disable, reset-password, list) and the audit log."""

from __future__ import annotations

import typer

user_app = typer.Typer(help="Accounts (账号): users and roles.", no_args_is_help=True)
