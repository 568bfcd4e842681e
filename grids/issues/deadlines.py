"""Deadlines: overdue flags, numbered 督办 notices with a second deadline, escalation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from civgrid.grids.core.actors import SYSTEM_ACTOR, Actor
from civgrid.grids.core.errors import (
    ConflictError,
)
from civgrid.grids.core.outbox import publish
from civgrid.grids.core.types import utc
from civgrid.grids.issues.config import IssueConfig
from civgrid.grids.issues.events import issue_payload
from civgrid.grids.issues.models import (
    Issue,
    SupervisionNotice,
)
from civgrid.grids.issues.records import flush_issue, record_event, stale_is_conflict
from civgrid.grids.issues.workflow import ON_CLOCK


@dataclass
class DeadlineReport:
    """What :func:`check_deadlines` did."""

    overdue: list[int] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    due_soon: list[int] = field(default_factory=list)


#: How far ahead a deadline is announced (a local choice: one day).
DUE_SOON = timedelta(hours=24)


def _announce_due_soon(session: Session, now: datetime, report: DeadlineReport) -> None:
    """Publish one ``issue_due_soon`` event per (issue, deadline) due within :data:`DUE_SOON`."""
    soon = session.scalars(
        select(Issue)
        .where(
            Issue.state.in_(ON_CLOCK),
            Issue.deadline >= now,
            Issue.deadline < now + DUE_SOON,
            Issue.overdue.is_(False),
        )
        .order_by(Issue.deadline, Issue.id)
    ).all()
    for issue in soon:
        dedupe = f"issue_due_soon:{issue.id}:{issue.deadline.isoformat()}"
        if publish(
            session, "issue_due_soon", "issue", issue.id, now, issue_payload(issue), dedupe=dedupe
        ):
            report.due_soon.append(issue.id)


def _next_notice_number(session: Session, cfg: IssueConfig, year: int) -> tuple[int, str]:
    seq = (
        session.scalar(
            select(func.max(SupervisionNotice.seq)).where(SupervisionNotice.year == year)
        )
        or 0
    ) + 1
    return seq, f"{cfg.notice_prefix}〔{year}〕第{seq:03d}号"


def issue_notice(
    session: Session, issue: Issue, cfg: IssueConfig, now: datetime, actor: Actor, reason: str
) -> SupervisionNotice:
    year = cfg.calendar.local(now).year
    leaders = [p.leader.key for p in issue.parties if p.leader is not None]
    for _ in range(5):
        seq, number = _next_notice_number(session, cfg, year)
        notice = SupervisionNotice(
            number=number,
            year=year,
            seq=seq,
            issue=issue,
            unit_id=issue.owner_unit_id,
            leader_keys=leaders,
            reason=reason,
            issued_at=now,
            deadline=utc(cfg.calendar.deadline(now, cfg.notice_deadline)),
            issued_by=actor.who,
        )
        session.add(notice)
        try:
            with session.begin_nested():
                session.flush()
            break
        except IntegrityError:
            session.expunge(notice) if notice in session else None
            continue
    else:  # pragma: no cover - five concurrent numberings in a row
        raise ConflictError("could not number the supervision notice; try again")
    issue.notice_count += 1
    issue.updated_at = now
    record_event(
        session,
        issue,
        actor,
        "supervise",
        now,
        from_state=issue.state,
        to_state=issue.state,
        data={
            "notice": notice.number,
            "reason": reason,
            "deadline": notice.deadline.isoformat(),
            "unit": issue.owner_unit.key if issue.owner_unit else None,
            "leaders": leaders,
        },
    )
    return notice


@stale_is_conflict
def check_deadlines(
    session: Session,
    *,
    config: IssueConfig | None = None,
    actor: Actor = SYSTEM_ACTOR,
) -> DeadlineReport:
    """Flag overdue issues, issue 督办 notices, escalate after the notice deadline.

    Run it periodically (the clock comes from ``config``). An issue on the
    clock (assigned, rectifying, returned) past its deadline is flagged
    ``overdue`` and gets a numbered supervision notice addressed to its owner
    unit and leaders, with a second deadline (``notice_deadline``). If it is
    still on the clock after that, it is flagged ``escalated``.

    Returns
    -------
    DeadlineReport
    """
    cfg = config or IssueConfig()
    now = cfg.now()
    report = DeadlineReport()
    _announce_due_soon(session, now, report)
    late = session.scalars(
        select(Issue)
        .where(
            Issue.state.in_(ON_CLOCK),
            Issue.deadline < now,
            Issue.overdue.is_(False),
            Issue.extension_pending.is_(False),
        )
        .order_by(Issue.deadline, Issue.id)
    ).all()
    for issue in late:
        issue.overdue = True
        issue.overdue_at = issue.overdue_at or now
        issue.updated_at = now
        record_event(
            session,
            issue,
            actor,
            "overdue",
            now,
            from_state=issue.state,
            to_state=issue.state,
            data={"deadline": issue.deadline.isoformat()},
        )
        report.overdue.append(issue.id)
        if not any(n.resolved_at is None for n in issue.notices):
            report.notices.append(issue_notice(session, issue, cfg, now, actor, "overdue").number)
    flush_issue(session)
    due = session.scalars(
        select(SupervisionNotice)
        .join(Issue, SupervisionNotice.issue_id == Issue.id)
        .where(
            SupervisionNotice.deadline < now,
            SupervisionNotice.escalated_at.is_(None),
            SupervisionNotice.resolved_at.is_(None),
            Issue.state.in_(ON_CLOCK),
        )
        .order_by(SupervisionNotice.id)
    ).all()
    for notice in due:
        issue = notice.issue
        notice.escalated_at = now
        if not issue.escalated:
            issue.escalated = True
            issue.escalated_at = now
            issue.updated_at = now
            record_event(
                session,
                issue,
                actor,
                "escalate",
                now,
                from_state=issue.state,
                to_state=issue.state,
                data={"notice": notice.number, "leaders": notice.leader_keys or []},
            )
            report.escalated.append(issue.id)
    flush_issue(session)
    return report
