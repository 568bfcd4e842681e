"""The calendar banner of the command-center pages: a year the calendar lacks, said aloud.

When the working-day calendar lacks a year in use (see
:meth:`civgrid.grids.core.calendar.WorkingCalendar.status`), deadlines, plans and
scores in that year count weekends only; every command-center page says so at
the top. Nothing is shown when every year in use is covered.

Examples
--------
>>> from civgrid.grids.core.calendar import CalendarStatus
>>> banner_html(CalendarStatus(2004, 2026, (2027,)))[:40]
'<div class="cg-calendar-banner" role="al'
>>> banner_html(CalendarStatus(2004, 2026, ()))
''
"""

from __future__ import annotations

from civgrid.grids.core.calendar import CalendarStatus
from civgrid.maps.render import esc

__all__ = ["banner_html", "calendar_banner"]

_STYLE = (
    "background:#fff3cd;color:#7a4b00;border:1px solid #e0b100;padding:.4rem .8rem;"
    "margin:0 0 .6rem;font-size:14px"
)
#: On the map pages (fixed header, full-screen map): a note floating under the header
#: that lets clicks through to the map.
_FLOATING = (
    "position:fixed;top:calc(var(--cg-header-h,52px) + 6px);left:50%;"
    "transform:translateX(-50%);z-index:1250;max-width:60vw;pointer-events:none;"
    "border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.2)"
)


def banner_html(status: CalendarStatus, *, floating: bool = False) -> str:
    """The banner for ``status`` (empty when nothing is missing).

    ``floating``: for the map pages, a note fixed under their header.
    """
    if status.ok:
        return ""
    years = "、".join(f"{y}年" for y in status.missing_years)
    style = _STYLE + (";" + _FLOATING if floating else "")
    return (
        f'<div class="cg-calendar-banner" role="alert" style="{style}">'
        f"工作日历缺少{esc(years)}的法定节假日安排：该年的处置时限、巡查计划和超期天数暂按"
        "“周一至周五”计算。请升级 chinesecalendar 或在县级日历文件中补充该年安排。</div>"
    )


def calendar_banner(*, floating: bool = False) -> str:
    """The banner of the county's configured calendar today (empty when all is covered)."""
    from civgrid.grids.issues.config import configured_calendar

    return banner_html(configured_calendar().status(), floating=floating)
