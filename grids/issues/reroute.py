"""Re-routing open issues when the owner rule (or its data) changes.

``civgrid issues reroute`` asks the routing again for every open issue, at the
issue's own place, boundary generation and report day — so only a change of
the owner rules or assignments shows, not a later boundary import. An issue
whose owner would change is listed; with ``commit`` each is given to its new
owner through the workflow's ``reassign`` (改派: checked by the transition
table, one history event naming the rule and step, the deadline clock
restarted for the new owner), and one audit record sums the run. All or
nothing: one transaction.

Which issues move (a local choice): those waiting for the owner — 已交办,
整改中, 复查未通过 (the states ``reassign`` accepts). A fix already submitted
(待复查) stays with the unit that made it; closed issues keep their owner, and
issues in triage are dispatched by the command center as before.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.grids.core import audit
from civgrid.grids.core.actors import SYSTEM_ACTOR, Actor
from civgrid.grids.core.types import utc
from civgrid.grids.issues import actions
from civgrid.grids.issues.config import IssueConfig
from civgrid.grids.issues.models import Issue
from civgrid.grids.issues.workflow import State

__all__ = ["REROUTABLE", "RerouteChange", "RerouteReport", "reroute_issues"]

#: States whose owner may be changed by a re-route (those ``reassign`` accepts).
REROUTABLE = (State.assigned, State.rectifying, State.returned)


@dataclass(frozen=True)
class RerouteChange:
    """One issue whose owner changes.

    Attributes
    ----------
    issue_id : int
    state : str
    category : str
    old_owner, new_owner : str or None
        Unit keys.
    new_owner_name : str or None
    rule : str
        The owner rule and step, e.g. ``default #1 unit_grid/responsible``.
    co_units : list of str
        The co-responsible unit keys under the new answer.
    """

    issue_id: int
    state: str
    category: str
    old_owner: str | None
    new_owner: str | None
    new_owner_name: str | None
    rule: str
    co_units: list[str] = field(default_factory=list)


@dataclass
class RerouteReport:
    """What a re-route found (and did, when committed)."""

    examined: int = 0
    unchanged: int = 0
    no_owner: list[int] = field(default_factory=list)
    changes: list[RerouteChange] = field(default_factory=list)
    committed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return {
            "status": "committed" if self.committed else "dry_run",
            "examined": self.examined,
            "unchanged": self.unchanged,
            "no_owner": self.no_owner,
            "changes": [asdict(c) for c in self.changes],
        }

    def to_text(self) -> str:
        """The report the CLI prints."""
        head = "committed" if self.committed else "dry run (nothing written; --commit to write)"
        lines = [
            f"re-route: {head}",
            f"  open issues examined: {self.examined}; owner unchanged: {self.unchanged}; "
            f"owner changes: {len(self.changes)}; no owner under the rules: {len(self.no_owner)}",
        ]
        for c in self.changes:
            lines.append(
                f"  #{c.issue_id} [{c.state}] {c.category}: {c.old_owner or '-'} → "
                f"{c.new_owner} ({c.new_owner_name}) by {c.rule}"
            )
        if self.no_owner:
            lines.append(
                "  left as they are (no owner found): " + ", ".join(map(str, self.no_owner))
            )
        return "\n".join(lines)


def _rule_text(reason: Any) -> str:
    family = reason.rule_category or "default"
    return f"{family} #{reason.step} {reason.layer}/{reason.role}" + (
        " co-built→lead" if reason.co_built else ""
    )


def reroute_issues(
    session: Session,
    store: Any,
    *,
    since: date | None = None,
    commit: bool = False,
    actor: Actor = SYSTEM_ACTOR,
    config: IssueConfig | None = None,
) -> RerouteReport:
    """Find (and with ``commit`` apply) owner changes of open issues.

    Parameters
    ----------
    session : Session
        Committed on success when ``commit``; rolled back on any error (nothing
        half-written) and on a dry run.
    store : Store
        Answers the routing (``responsible_for``).
    since : date, optional
        Only issues reported on or after this day (local calendar day of the
        report time, UTC+8 by default).
    commit : bool
        Write the changes (default: dry run).
    actor : Actor
        Who re-routes (history and audit).
    config : IssueConfig, optional

    Returns
    -------
    RerouteReport
    """
    cfg = config or IssueConfig()
    report = RerouteReport()
    q = select(Issue).where(Issue.state.in_([s.value for s in REROUTABLE])).order_by(Issue.id)
    if since is not None:
        q = q.where(Issue.reported_at >= utc(datetime.combine(since, datetime.min.time())))
    try:
        for issue in session.scalars(q).all():
            report.examined += 1
            resp = store.responsible_for(
                issue.lon,
                issue.lat,
                issue.category_code,
                at=issue.reported_at,
                generation=issue.generation_id,
                session=session,
            )
            if resp.owner is None or resp.owner_reason is None:
                report.no_owner.append(issue.id)
                continue
            old = issue.owner_unit.key if issue.owner_unit is not None else None
            if old == resp.owner.key:
                report.unchanged += 1
                continue
            change = RerouteChange(
                issue_id=issue.id,
                state=str(issue.state),
                category=issue.category_code,
                old_owner=old,
                new_owner=resp.owner.key,
                new_owner_name=resp.owner.name,
                rule=_rule_text(resp.owner_reason),
                co_units=[p.key for p in resp.co_responsible()],
            )
            report.changes.append(change)
            if commit:
                actions.reassign(
                    session,
                    actor,
                    issue.id,
                    unit=change.new_owner,
                    co_units=change.co_units,
                    config=cfg,
                    note=f"按责任认定规则重新确定责任单位（{change.rule}）",
                )
                issue.routing = {
                    **(issue.routing or {}),
                    "owner": resp.owner.to_dict(),
                    "owner_reason": resp.owner_reason.to_dict(),
                }
        if not commit:
            session.rollback()
            return report
        audit.record(
            session,
            actor,
            "issues.reroute",
            "issues",
            None,
            after={
                "changed": [c.issue_id for c in report.changes],
                "examined": report.examined,
                "since": since.isoformat() if since else None,
            },
            at=cfg.now(),
        )
        session.commit()
        report.committed = True
        return report
    except BaseException:
        session.rollback()
        raise
