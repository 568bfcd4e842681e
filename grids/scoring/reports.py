"""The monthly supervision report (督查报告) on a profile's report day.

Lüliang's supervision plan (source 001, 四 “评”): “每月25日总结本月督导情况，形成督查报告，
反馈至市创建省级文明城市指挥部”. A profile version with ``supervision_report: {day: 25}``
has a report of each month covering its days 1 to ``day`` (county time), available
from that day — separate from the month-end bulletin, which cannot be published before
the month ends. The report sums up what the inspections found (inspection sources:
现场督查, 明察暗访, 神秘人, 模拟测评, 上级交办, 媒体曝光), what was rectified, what is
still open and overdue, per responsible unit, and the patrol visits made.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

from civgrid.grids.core.calendar import local_zone
from civgrid.grids.core.errors import InvalidInputError
from civgrid.grids.patrol.models import PatrolVisit
from civgrid.grids.scoring.score import INSPECTION_SOURCES, Period
from civgrid.grids.scoring.service import ScoringContext

__all__ = ["report_window", "supervision_report"]


def _local_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=local_zone()).astimezone(UTC)


def report_window(month: Period, day: int) -> tuple[date, date]:
    """The local days a month's report covers: the 1st to ``day`` (end exclusive).

    Examples
    --------
    >>> report_window(Period.parse("2026-12"), 25)
    (datetime.date(2026, 12, 1), datetime.date(2026, 12, 26))
    """
    return month.start, month.start.replace(day=day) + timedelta(days=1)


def supervision_report(ctx: ScoringContext, month: Period) -> dict[str, Any]:
    """The supervision report of ``month`` under the context's profile, as of its now.

    Parameters
    ----------
    ctx : ScoringContext
    month : Period
        A month.

    Returns
    -------
    dict
        ``profile``, ``month``, ``report_day``, ``due`` and ``window`` (local dates),
        ``as_of`` (aware UTC, ISO), ``citation``, totals (``found``, ``rectified``,
        ``open``, ``overdue``, ``visits``) and ``units`` (per responsible unit).

    Raises
    ------
    InvalidInputError
        Not a month; the profile has no supervision report; the report day has not
        come (county time).
    """
    if month.kind != "month":
        raise InvalidInputError("a supervision report is monthly (YYYY-MM)", field="month")
    rules = ctx.rules(month)
    sr = rules.supervision_report
    if sr is None:
        raise InvalidInputError(
            f"profile {ctx.registry.profile(ctx.profile).profile} has no monthly supervision "
            "report (supervision_report: {day: …})",
            field="profile",
        )
    first, end = report_window(month, sr.day)
    due = end - timedelta(days=1)
    if ctx.as_of < _local_start(due):
        raise InvalidInputError(
            f"the supervision report of {month.key} is due on {due.isoformat()} (county "
            "time): it cannot be made before",
            field="month",
        )
    start, until = _local_start(first), min(ctx.as_of, _local_start(end))
    names = ctx.names("department")
    units: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"found": 0, "rectified": 0, "open": 0, "overdue": 0}
    )
    for r in ctx.records:
        if r.source not in INSPECTION_SOURCES or r.state in ("rejected", "merged"):
            continue
        if not (start <= r.reported_at < until):
            continue
        row = units[r.owner_unit_key or ""]
        row["found"] += 1
        if r.closed_at is not None and r.closed_at < until:
            row["rectified"] += 1
        else:
            row["open"] += 1
            if r.deadline is not None and r.deadline < until:
                row["overdue"] += 1
    last = min(due, until.astimezone(local_zone()).date())
    visits = ctx.session.scalar(
        select(func.count(PatrolVisit.id))
        .where(PatrolVisit.status == "done")
        .where(PatrolVisit.day >= first, PatrolVisit.day <= last)
    )
    rows = [
        {"unit_key": k, "unit_name": names.get(k, k) if k else "（未指定）", **v}
        for k, v in sorted(units.items(), key=lambda kv: (-kv[1]["open"], kv[0]))
    ]
    total = {x: sum(r[x] for r in rows) for x in ("found", "rectified", "open", "overdue")}
    return {
        "profile": ctx.registry.profile(ctx.profile).profile,
        "month": month.key,
        "report_day": sr.day,
        "due": due.isoformat(),
        "window": [first.isoformat(), due.isoformat()],
        "as_of": until.isoformat(),
        "citation": f"依据：{sr.citation.render()}",
        **total,
        "visits": int(visits or 0),
        "units": rows,
    }
