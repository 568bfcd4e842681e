"""``civgrid notify``: contacts are dry runs unless --commit; ``run --once`` delivers;
the serve task keeps running after a failed pass."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from civgrid.api.cli import app
from civgrid.api.notifications import notify_loop
from civgrid.grids.notify.models import Contact, OutboxMessage
from civgrid.grids.notify.worker import WorkerReport
from support.notify_helpers import add_user, dispatched_issue


def test_contact_dry_run_commit_and_run_once(store, config):
    url = store.engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    args = ["notify", "contact", "unit:D03", "dingtalk", "https://robot.invalid/send?x=1"]
    r = runner.invoke(app, [*args, "--secret", "S", "--database-url", url])
    assert r.exit_code == 0 and "dry run" in r.output, r.output
    with store.session() as s:
        assert s.scalars(select(Contact)).all() == []
    r = runner.invoke(app, ["notify", "contact", "unit:D99X", "email", "a@b", "--db", url])
    assert r.exit_code == 1 and "D99X" in r.output
    r = runner.invoke(app, ["notify", "contact", "unit:D03", "dingtalk", "not-a-url", "--db", url])
    assert r.exit_code == 1 and "webhook" in r.output
    r = runner.invoke(app, [*args, "--secret", "S", "--commit", "--database-url", url])
    assert r.exit_code == 0, r.output
    with store.session() as s:
        (c,) = s.scalars(select(Contact)).all()
        assert (c.owner, c.channel, c.secret) == ("unit:D03", "dingtalk", "S")
        s.delete(c)
        add_user(s, "unit_d03", "unit_handler", unit="D03")
        dispatched_issue(s, store, config)
    r = runner.invoke(app, ["notify", "run", "--once", "--database-url", url])
    assert r.exit_code == 0 and "expanded 1, sent 1" in r.output, r.output
    with store.session() as s:
        (row,) = s.scalars(select(OutboxMessage)).all()
        assert (row.recipient, row.channel, row.status) == ("account:unit_d03", "in_app", "sent")
    r = runner.invoke(app, ["notify", "status", "--database-url", url])
    assert r.output.split() == ["in_app", "sent", "1"]


def test_serve_task_survives_a_failed_pass():
    class Flaky:
        passes = 0

        def run_until_idle(self):
            self.passes += 1
            if self.passes == 1:
                raise RuntimeError("database hiccup")
            if self.passes == 3:
                raise asyncio.CancelledError
            return WorkerReport(sent=1)

    w = Flaky()
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(notify_loop(w, 0.001))
    assert w.passes == 3
