"""``civgrid user``: accounts (add, disable, enable, reset-password, list), the demo
accounts and the audit log (``audit``, ``audit-purge``).

Passwords are never taken on the command line (they would land in the shell
history): ``add`` generates a one-time password (printed once; the user must
change it at first login) or reads one from standard input with
``--password-stdin``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from civgrid.api.cli._common import DatabaseUrl, cli_actor, fail, open_store

user_app = typer.Typer(help="Accounts (账号): users and roles.", no_args_is_help=True)


@contextmanager
def _session(url: str | None) -> Iterator[Any]:
    """A session on the checked store (``_common.open_store``), committed at the end."""
    with open_store(url) as store, store.session() as session:
        yield session


def _policy() -> Any:
    from civgrid.api.settings import Settings
    from civgrid.grids.accounts.service import PasswordPolicy

    s = Settings()
    return PasswordPolicy(
        max_age_days=s.password_max_age_days,
        lockout_threshold=s.lockout_threshold,
        lockout_minutes=s.lockout_minutes,
    )


@user_app.command("add")
def add(
    username: str,
    role: Annotated[
        str,
        typer.Option(
            help="admin, dispatcher, inspector, unit_handler, grid_worker, leader, viewer"
        ),
    ],
    unit: Annotated[str | None, typer.Option(help="Unit key (unit handler, inspector).")] = None,
    leader: Annotated[str | None, typer.Option(help="Leader key (leader accounts).")] = None,
    title: Annotated[str | None, typer.Option(help="Title, e.g. 督查员 (no names).")] = None,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Add an account; prints a one-time password unless --password-stdin."""
    from civgrid.grids.accounts import service as accounts
    from civgrid.grids.core.errors import DomainError

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    shown = password or accounts.generate_password(username=username)
    with _session(database_url) as session:
        try:
            accounts.create_user(
                session,
                cli_actor(),
                username,
                shown,
                role,
                unit_key=unit,
                leader_key=leader,
                title=title,
                must_change_password=password is None,
                policy=_policy(),
            )
        except DomainError as exc:
            fail(exc)
    typer.echo(f"user {username} ({role}) added")
    if password is None:
        typer.echo(f"one-time password (shown once, change at first login): {shown}")


def _set_disabled(username: str, disabled: bool, database_url: str | None) -> None:
    from civgrid.grids.accounts import service as accounts
    from civgrid.grids.core.errors import DomainError

    with _session(database_url) as session:
        try:
            accounts.set_disabled(session, cli_actor(), username, disabled)
        except DomainError as exc:
            fail(exc)
    typer.echo(f"user {username} {'disabled' if disabled else 'enabled'}")


@user_app.command("disable")
def disable(username: str, database_url: DatabaseUrl = None) -> None:
    """Disable an account: its tokens are refused at once."""
    _set_disabled(username, True, database_url)


@user_app.command("enable")
def enable(username: str, database_url: DatabaseUrl = None) -> None:
    """Enable a disabled account."""
    _set_disabled(username, False, database_url)


@user_app.command("reset-password")
def reset_password(username: str, database_url: DatabaseUrl = None) -> None:
    """A new one-time password (printed once); earlier tokens stop working."""
    from civgrid.grids.accounts import service as accounts
    from civgrid.grids.core.errors import DomainError

    pw = accounts.generate_password(username=username)
    with _session(database_url) as session:
        try:
            accounts.change_password(
                session, cli_actor(), username, pw, must_change=True, policy=_policy()
            )
        except DomainError as exc:
            fail(exc)
    typer.echo(f"one-time password for {username} (shown once, change at first login): {pw}")


@user_app.command("list")
def list_users(database_url: DatabaseUrl = None) -> None:
    """Accounts with role, unit/leader and state (never passwords)."""
    from sqlalchemy import select

    from civgrid.grids.accounts.models import User

    with _session(database_url) as session:
        for u in session.scalars(select(User).order_by(User.username)):
            link = u.unit_key or u.leader_key or "-"
            state = "disabled" if u.disabled else "active"
            typer.echo(f"{u.username}\t{u.role}\t{link}\t{state}")


@user_app.command("bootstrap-demo")
def bootstrap_demo(database_url: DatabaseUrl = None) -> None:
    """The first admin and one demo account per role, each with a one-time password
    printed once. Does nothing when an admin exists.
    """
    from civgrid.grids.demo.accounts import bootstrap_demo_accounts

    with _session(database_url) as session:
        shown = bootstrap_demo_accounts(session, cli_actor(), _policy())
    if shown is None:
        typer.echo("accounts exist already (civgrid user list); nothing to do")
        return
    typer.echo("demo accounts — one-time passwords, shown once; change at first login:")
    for name, role, pw in shown:
        typer.echo(f"  {name:<12} {role:<13} {pw}")


@user_app.command("audit")
def audit_log(
    who: Annotated[str | None, typer.Option()] = None,
    action: Annotated[str | None, typer.Option(help="Prefix, e.g. user.")] = None,
    limit: Annotated[int, typer.Option()] = 50,
    database_url: DatabaseUrl = None,
) -> None:
    """The newest audit records (who, role, when, what, object)."""
    from civgrid.grids.core import audit

    with _session(database_url) as session:
        rows, total = audit.query(session, audit.AuditQuery(who=who, action=action, limit=limit))
        for r in rows:
            typer.echo(
                f"{r.at:%Y-%m-%d %H:%M:%S}\t{r.actor_who}\t{r.actor_role}\t{r.action}\t"
                f"{r.object_kind}:{r.object_key or ''}"
            )
    typer.echo(f"({len(rows)} of {total})")


@user_app.command("audit-purge")
def audit_purge(
    older_than_days: Annotated[int, typer.Option(help="Retention (≥ 180 days).")],
    database_url: DatabaseUrl = None,
) -> None:
    """Delete audit records older than the retention; refuses less than 180 days."""
    from civgrid.grids.core import audit
    from civgrid.grids.core.errors import DomainError

    with _session(database_url) as session:
        try:
            n = audit.purge(session, older_than_days)
        except DomainError as exc:
            fail(exc)
    typer.echo(f"{n} audit records older than {older_than_days} days deleted")
