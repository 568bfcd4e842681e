"""The deadline countdown of the work pages (剩余时限), in working days and hours.

Counted on the county's working-day calendar (:class:`civgrid.grids.core.calendar.
WorkingCalendar`): the working days strictly after today up to the deadline's day, and
the hours left when the deadline is within one day. A local choice of wording: "剩 2 个
工作日" / "剩 5 小时" / "已超期 3 小时" / "已超期 2 个工作日".

>>> from datetime import UTC, datetime, timedelta
>>> from civgrid.grids.core.calendar import WorkingCalendar
>>> cal = WorkingCalendar()
>>> now = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)   # Monday 10:00 Beijing
>>> countdown(now + timedelta(hours=5), now, cal).text
'剩 5 小时'
>>> countdown(datetime(2026, 12, 9, 10, 0, tzinfo=UTC), now, cal).text
'剩 2 个工作日'
>>> countdown(now - timedelta(hours=3), now, cal).text
'已超期 3 小时'
>>> countdown(None, now, cal).text
'—'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from civgrid.grids.core.calendar import WorkingCalendar

__all__ = ["Countdown", "countdown"]

#: Hours under which a deadline is "due soon" (临期) on the queues: a local choice.
DUE_SOON_HOURS = 24


@dataclass(frozen=True)
class Countdown:
    """A deadline seen from ``now``.

    Attributes
    ----------
    text : str
        The Chinese phrase.
    hours : float or None
        Hours left (negative: overdue); None without a deadline.
    css : str
        ``cg-ok``, ``cg-soon`` (under :data:`DUE_SOON_HOURS`), ``cg-late`` or ``cg-none``.
    """

    text: str
    hours: float | None
    css: str


def countdown(deadline: datetime | None, now: datetime, calendar: WorkingCalendar) -> Countdown:
    """The countdown to ``deadline`` (aware) from ``now`` on ``calendar``."""
    if deadline is None:
        return Countdown("—", None, "cg-none")
    hours = (deadline - now).total_seconds() / 3600
    today = calendar.local(now).date()
    day = calendar.local(deadline).date()
    if hours >= 0:
        days = calendar.working_days_between(today, day)
        if hours < 24 or days == 0:
            return Countdown(f"剩 {max(int(hours), 0)} 小时", hours, "cg-soon")
        css = "cg-soon" if hours < DUE_SOON_HOURS else "cg-ok"
        return Countdown(f"剩 {days} 个工作日", hours, css)
    late_days = calendar.working_days_between(day, today)
    if -hours < 24 or late_days == 0:
        return Countdown(f"已超期 {int(-hours)} 小时", hours, "cg-late")
    return Countdown(f"已超期 {late_days} 个工作日", hours, "cg-late")
