"""Domain events commit with the change; the worker expands, claims, retries, backs off."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from civgrid.grids.core.outbox import DomainEvent
from civgrid.grids.issues import service as svc
from civgrid.grids.issues.models import Issue
from civgrid.grids.notify.audience import QuietHours
from civgrid.grids.notify.models import Contact, DeliveryAttempt, OutboxMessage, Subscription
from civgrid.grids.notify.worker import NotifyConfig, Worker
from support.notify_helpers import CC, Recorder, add_user, dispatched_issue


def _events(store, kind=None):
    with store.session() as s:
        q = select(DomainEvent).order_by(DomainEvent.id)
        if kind:
            q = q.where(DomainEvent.kind == kind)
        return list(s.scalars(q))


def test_dispatch_event_commits_with_the_dispatch_and_rolls_back_with_it(store, config):
    class BoomError(Exception):
        pass

    with pytest.raises(BoomError), store.session() as s:
        dispatched_issue(s, store, config)
        assert s.scalar(select(func.count()).select_from(DomainEvent)) == 1  # same transaction
        raise BoomError
    assert _events(store) == []
    with store.session() as s:
        issue_id = dispatched_issue(s, store, config, unit="D03")
    (ev,) = _events(store)
    assert (ev.kind, ev.subject_key) == ("issue_dispatched", str(issue_id))
    assert ev.payload["unit"] == "D03"
    assert ev.payload["deadline"] is not None and ev.expanded_at is None


def test_overdue_notice_escalation_and_transfer_publish_events(store, config, clock):
    with store.session() as s:
        issue_id = dispatched_issue(s, store, config)
    with store.session() as s:
        deadline = s.get(Issue, issue_id).deadline
    clock.set(deadline - timedelta(hours=3))
    with store.session() as s:
        assert svc.check_deadlines(s, config=config).due_soon == [issue_id]
    with store.session() as s:  # the same deadline is announced once
        assert svc.check_deadlines(s, config=config).due_soon == []
    clock.set(deadline + timedelta(hours=1))
    with store.session() as s:
        svc.check_deadlines(s, config=config)
    clock.advance(days=30)
    with store.session() as s:
        svc.check_deadlines(s, config=config)
    with store.session() as s:
        svc.reassign(s, CC, issue_id, unit="D04", note="改派", config=config)
    kinds = [e.kind for e in _events(store)]
    assert kinds == [
        "issue_dispatched",
        "issue_due_soon",
        "issue_overdue",
        "issue_notice",
        "issue_escalated",
        "issue_transferred",
    ]
    notice = _events(store, "issue_notice")[0].payload
    assert notice["notice"].startswith(config.notice_prefix) and notice["unit"] == "D03"
    assert _events(store, "issue_transferred")[0].payload["unit"] == "D04"


def _worker(store, clock, channels=None, **kw):
    cfg = NotifyConfig(clock=clock, **kw)
    return Worker(store.engine, channels or {}, cfg)


def _outbox(store):
    with store.session() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_expansion_one_row_per_recipient_and_channel_with_preferences(store, config, clock):
    with store.session() as s:
        add_user(s, "unit_d03", "unit_handler", unit="D03")
        add_user(s, "unit_d04", "unit_handler", unit="D04")
        add_user(s, "dispatcher", "dispatcher")
        s.add_all(
            [
                Contact(owner="unit:D03", channel="email", address="d03@example.org"),
                Contact(owner="unit:D03", channel="sms", address="10000000000"),
                Subscription(subscriber="unit:D03", event_kind="*", channel="sms", enabled=False),
            ]
        )
        dispatched_issue(s, store, config, unit="D03")
    w = _worker(store, clock, {"email": Recorder()})
    assert w.expand() == 2
    assert w.expand() == 0  # an event is expanded once
    rows = {(r.recipient, r.channel) for r in _outbox(store)}
    # the unit's own account in-app, its e-mail; not its SMS (muted); not D04, not the CC
    assert rows == {("account:unit_d03", "in_app"), ("unit:D03", "email")}
    assert len({r.key for r in _outbox(store)}) == 2
    body = _outbox(store)[0].body
    assert "2025-03" in body and "D03" not in body  # the unit by name, the local deadline


def test_receiver_failing_twice_gets_exactly_one_message_after_backoff(store, config, clock):
    with store.session() as s:
        s.add(Contact(owner="unit:D03", channel="email", address="d03@example.org"))
        dispatched_issue(s, store, config)
    rec = Recorder(fail=2)
    w = _worker(store, clock, {"email": rec}, backoff_s=60)
    r1 = w.run_once()
    assert (r1.sent, r1.failed) == (0, 1)  # the e-mail failed (no account: no in-app)
    (row,) = [r for r in _outbox(store) if r.channel == "email"]
    assert row.status == "pending" and row.next_attempt_at == clock() + timedelta(seconds=60)
    assert w.run_once().failed == 0  # not due yet
    clock.advance(seconds=61)
    assert w.run_once().failed == 1
    (row,) = [r for r in _outbox(store) if r.channel == "email"]
    assert row.next_attempt_at == clock() + timedelta(seconds=120)
    clock.advance(seconds=121)
    assert w.run_once().sent == 1
    clock.advance(days=1)
    w.run_until_idle()
    assert len(rec.sent) == 1 and rec.sent[0].message_id == row.message_id
    with store.session() as s:
        oks = list(s.scalars(select(DeliveryAttempt.ok).where(DeliveryAttempt.outbox_id == row.id)))
    assert oks == [False, False, True]


def test_given_up_delivery_tells_the_command_center(store, config, clock):
    with store.session() as s:
        add_user(s, "dispatcher", "dispatcher")
        s.add(Contact(owner="unit:D03", channel="email", address="d03@example.org"))
        dispatched_issue(s, store, config)
    w = _worker(store, clock, {"email": Recorder(fail=99)}, max_attempts=2, backoff_s=1)
    w.run_once()
    clock.advance(seconds=5)
    assert w.run_once().dead == 1
    w.run_until_idle()
    failed = [r for r in _outbox(store) if r.event_kind == "delivery_failed"]
    assert [(r.recipient, r.channel, r.status) for r in failed] == [
        ("account:dispatcher", "in_app", "sent")
    ]


class Killed(BaseException):
    """The worker process dies."""


def test_kill_between_send_and_bookkeeping_gives_at_most_one_duplicate(store, config, clock):
    with store.session() as s:
        s.add(Contact(owner="unit:D03", channel="email", address="d03@example.org"))
        dispatched_issue(s, store, config)
    rec = Recorder()
    w1 = _worker(store, clock, {"email": rec}, lease_s=60)

    def die(*a, **k):
        raise Killed

    w1._bookkeep = die  # sent, then killed before recording it
    with pytest.raises(Killed):
        w1.run_once()
    assert len(rec.sent) == 1
    w2 = _worker(store, clock, {"email": rec}, lease_s=60)
    w2.run_until_idle()
    assert len(rec.sent) == 1  # the lease still holds
    clock.advance(seconds=61)
    w2.run_until_idle()
    clock.advance(days=1)
    w2.run_until_idle()
    assert len(rec.sent) == 2 and rec.sent[0].message_id == rec.sent[1].message_id
    assert {r.status for r in _outbox(store)} == {"sent"}


def test_two_workers_at_once_never_send_a_message_twice(any_store, config, clock):
    store = any_store
    with store.session() as s:
        for i in range(12):
            s.add(Contact(owner="unit:D03", channel="email", address=f"d03-{i}@example.org"))
        for n in range(4):
            dispatched_issue(s, store, config, n=n)
    rec = Recorder()
    workers = [_worker(store, clock, {"email": rec}, batch=5) for _ in range(2)]
    workers[0].expand()
    barrier = threading.Barrier(2)
    errors = []

    def run(w):
        try:
            barrier.wait()
            w.run_until_idle()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    ids = [m.message_id for m in rec.sent]
    assert len(ids) == 48 and len(set(ids)) == 48
    assert {r.status for r in _outbox(store)} == {"sent"}


def test_quiet_hours_hold_an_sms_reminder_but_not_an_escalation(store, config, clock):
    with store.session() as s:
        s.add(Contact(owner="unit:D03", channel="sms", address="10000000000"))
        issue_id = dispatched_issue(s, store, config)
        deadline = s.get(Issue, issue_id).deadline
    sms = Recorder()
    w = _worker(store, clock, {"sms": sms}, quiet=QuietHours())
    w.run_until_idle()  # the dispatch SMS, by day
    sms.sent.clear()
    night = datetime(2025, 3, 10, 15, 30, tzinfo=UTC)  # 23:30 Beijing
    clock.set(min(night, deadline - timedelta(hours=2)).replace(hour=15, minute=30))
    while clock() > deadline - timedelta(hours=1):
        clock.advance(days=-1)
    assert clock() < deadline < clock() + timedelta(hours=24)
    with store.session() as s:
        assert svc.check_deadlines(s, config=config).due_soon == [issue_id]
    assert w.run_until_idle().held == 1 and sms.sent == []
    (held,) = [r for r in _outbox(store) if r.event_kind == "issue_due_soon"]
    assert held.status == "pending" and held.next_attempt_at == clock().replace(
        hour=23, minute=0
    )  # 07:00 Beijing
    clock.set(deadline + timedelta(days=20))
    clock.set(clock().replace(hour=16, minute=0))  # 00:00 Beijing: quiet
    with store.session() as s:
        svc.check_deadlines(s, config=config)  # overdue + notice now
    clock.advance(days=20)
    clock.set(clock().replace(hour=16))
    with store.session() as s:
        svc.check_deadlines(s, config=config)  # escalation
    w.run_until_idle()
    assert [m.kind for m in sms.sent] == ["issue_escalated"]
    clock.set(clock().replace(hour=23, minute=1))  # 07:01 Beijing
    w.run_until_idle()
    assert sorted(m.kind for m in sms.sent) == [
        "issue_due_soon",
        "issue_escalated",
        "issue_notice",
        "issue_overdue",
    ]


def test_a_published_bulletin_reaches_every_leader_and_the_command_center(store, clock):
    from civgrid.grids.core.outbox import publish

    with store.session() as s:
        add_user(s, "leader_l01", "leader", leader="L01")
        add_user(s, "leader_l04", "leader", leader="L04")
        add_user(s, "dispatcher", "dispatcher")
        add_user(s, "unit_d03", "unit_handler", unit="D03")
        publish(
            s,
            "bulletin_published",
            "bulletin",
            1,
            clock(),
            {"number": "社创文通〔2025〕1号", "period": "2025-02"},
        )
    _worker(store, clock).run_until_idle()
    rows = _outbox(store)
    assert sorted(r.recipient for r in rows) == [
        "account:dispatcher",
        "account:leader_l01",
        "account:leader_l04",
    ]
    assert rows[0].body == "社创文通〔2025〕1号（2025-02）已发布。"


def test_an_intake_writes_its_event_audit_and_domain_event_in_its_transaction(any_store, config):
    """A routed report (assigned at once) writes its history event, audit record and
    ``issue_dispatched`` event with the issue (on PostGIS as one statement): all or none."""
    from civgrid.grids.core.audit import AuditRecord
    from civgrid.grids.issues.models import IssueEvent
    from support.issue_helpers import COMPOUND, point_in

    class BoomError(Exception):
        pass

    store = any_store
    lon, lat = point_in(store, COMPOUND)
    payload = svc.IssueReport(category="dumping", source="grid_worker", lon=lon, lat=lat)

    def rows(s, issue_id):
        return [
            list(s.scalars(select(m).where(col == value)))
            for m, col, value in (
                (IssueEvent, IssueEvent.issue_id, issue_id),
                (AuditRecord, AuditRecord.object_key, str(issue_id)),
                (DomainEvent, DomainEvent.subject_key, str(issue_id)),
            )
        ]

    with pytest.raises(BoomError), store.session() as s:
        lost = svc.report_issue(s, store, CC, payload, config=config).issue.id
        assert [len(r) for r in rows(s, lost)] == [1, 1, 1]
        raise BoomError
    with store.session() as s:
        assert rows(s, lost) == [[], [], []] and s.get(Issue, lost) is None
        issue = svc.report_issue(s, store, CC, payload, config=config).issue
    assert issue.state == "assigned"
    with store.session() as s:
        (ev,), (audit,), (domain,) = rows(s, issue.id)
    assert (ev.action, ev.to_state, ev.actor_who) == ("report", "assigned", CC.who)
    assert (audit.action, audit.object_kind, audit.after["state"]) == (
        "issue.report",
        "issue",
        "assigned",
    )
    assert (domain.kind, domain.payload["unit"]) == ("issue_dispatched", issue.owner_unit.key)
