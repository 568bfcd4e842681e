"""``civgrid notify``: the delivery worker, contacts and subscriptions, the outbox status.

``civgrid notify run`` delivers until stopped (``--once``: until nothing is due, then
exit); several may run at once. ``contact`` and ``subscribe`` are dry runs unless
``--commit``.
"""

from __future__ import annotations

import time

import typer

from civgrid.api.cli._common import DatabaseUrl, domain_errors, open_store

notify_app = typer.Typer(help="Notifications: worker, contacts, status.", no_args_is_help=True)


@notify_app.command("run")
@domain_errors
def run(
    database_url: DatabaseUrl = None,
    once: bool = typer.Option(False, help="Deliver what is due, then exit."),
    interval: float = typer.Option(15.0, min=0.1, help="Seconds between passes."),
) -> None:
    """Expand domain events and deliver the outbox (e-mail, robots, SMS, in-app)."""
    from civgrid.api.notifications import channels_from_settings
    from civgrid.api.settings import Settings
    from civgrid.grids.notify.worker import Worker

    with open_store(database_url) as store:
        worker = Worker(store.engine, channels_from_settings(Settings()))
        while True:
            report = worker.run_until_idle()
            typer.echo(f"{worker.name}: {report.to_text()}")
            if once:
                return
            time.sleep(interval)


@notify_app.command("contact")
@domain_errors
def contact(
    owner: str = typer.Argument(..., help="unit:<key> or account:<username>"),
    channel: str = typer.Argument(..., help="email, dingtalk, wecom or sms"),
    address: str = typer.Argument(..., help="e-mail address, robot webhook URL or number"),
    secret: str | None = typer.Option(None, help="DingTalk signing secret (加签)."),
    database_url: DatabaseUrl = None,
    commit: bool = typer.Option(False, help="Store it (default: dry run)."),
) -> None:
    """Add a contact of a unit or account (a dry run unless --commit)."""
    from civgrid.grids.notify.contacts import add_contact

    with open_store(database_url) as store, store.session() as s:
        c = add_contact(s, owner, channel, address, secret)
        typer.echo(f"{c.owner} {c.channel}: {'signed ' if c.secret else ''}contact")
        if not commit:
            s.rollback()
            typer.echo("dry run: nothing stored (add --commit)")


@notify_app.command("subscribe")
@domain_errors
def subscribe(
    subscriber: str = typer.Argument(..., help="unit:<key>, account:<username> or role:<role>"),
    event_kind: str = typer.Argument(..., help="an event kind or *"),
    channel: str = typer.Argument(..., help="a channel or *"),
    off: bool = typer.Option(False, "--off", help="Turn it off (default: on)."),
    database_url: DatabaseUrl = None,
    commit: bool = typer.Option(False, help="Store it (default: dry run)."),
) -> None:
    """Turn an event kind on or off for a subscriber on a channel."""
    from civgrid.grids.notify.contacts import subscribe as do_subscribe

    with open_store(database_url) as store, store.session() as s:
        sub = do_subscribe(s, subscriber, event_kind, channel, not off)
        state = "on" if sub.enabled else "off"
        typer.echo(f"{sub.subscriber} {sub.event_kind} {sub.channel}: {state}")
        if not commit:
            s.rollback()
            typer.echo("dry run: nothing stored (add --commit)")


@notify_app.command("status")
@domain_errors
def status(database_url: DatabaseUrl = None) -> None:
    """Count the outbox by channel and status."""
    from civgrid.grids.notify.inbox import outbox_counts

    with open_store(database_url) as store, store.session() as s:
        for (channel, state), n in sorted(outbox_counts(s).items()):
            typer.echo(f"{channel}\t{state}\t{n}")
