"""Simulated leader visits for the demo season (so the leader pages show 领导走访记录).

Each leader with a contracted community (分包) holds office hours there in the first
ten days of most months (Sheqi) and inspects it on site (看) about twice a month
(Lüliang). A separate seeded RNG: the issue simulation is unchanged.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.grids.boundaries.models import Assignment, Leader, Role
from civgrid.grids.patrol.models import LeaderVisit

__all__ = ["simulate_leader_visits"]

FINDINGS = (
    "背街小巷垃圾清运不及时",
    "占道经营反弹",
    "公益广告破损",
    "非机动车乱停放",
    "小区楼道杂物堆放",
    None,
)


def simulate_leader_visits(session: Session, start: date, end: date, *, seed: int = 8) -> int:
    """Add leaders' office hours and site inspections between ``start`` and ``end``.

    Parameters
    ----------
    session : Session
        The caller commits.
    start, end : date
        The season (local dates, inclusive).
    seed : int
        Random seed.

    Returns
    -------
    int
        Visits added.
    """
    rng = np.random.default_rng(seed)
    contracts = session.execute(
        select(Leader.key, Assignment.object_code)
        .join(Leader, Leader.id == Assignment.leader_id)
        .where(Assignment.role == Role.contract, Assignment.object_layer == "community")
        .order_by(Leader.key, Assignment.object_code)
    ).all()
    from civgrid.grids.issues.config import configured_calendar

    cal = configured_calendar()  # leaders visit on working days (调休 included)
    n = 0
    month = date(start.year, start.month, 1)
    while month <= end:
        nxt = (month + timedelta(days=32)).replace(day=1)
        days = [
            month + timedelta(days=i)
            for i in range((nxt - month).days)
            if start <= month + timedelta(days=i) <= end
            and cal.is_working_day(month + timedelta(days=i))
        ]
        early = [d for d in days if d.day <= 10]
        for leader, community in contracts:
            plan: list[tuple[str, date]] = []
            if early and rng.random() < 0.85:
                plan.append(("office_hours", early[int(rng.integers(len(early)))]))
            for _ in range(2):
                if days and rng.random() < 0.8:
                    plan.append(("site_inspection", days[int(rng.integers(len(days)))]))
            for kind, day in plan:
                finding = FINDINGS[int(rng.integers(len(FINDINGS)))]
                session.add(
                    LeaderVisit(
                        leader_key=leader,
                        kind=kind,
                        day=day,
                        area_code=community,
                        note="现场办公" if kind == "office_hours" else "实地察看",
                        findings=finding,
                        recorded_by="simulation",
                    )
                )
                n += 1
        month = nxt
    session.flush()
    return n
