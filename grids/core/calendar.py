"""Working-day calendar and deadlines (处置时限) for issues.

A :class:`WorkingCalendar` knows which days are working days in one city:
Monday–Friday, minus public holidays, plus the make-up working days (调休)
that the State Council's yearly holiday notice moves onto weekends. The
national arrangement comes from the ``chinesecalendar`` package
(:func:`national_arrangement`, released each year after the notice); a county
adds local days and the years the package lacks in its override file
(:mod:`civgrid.grids.core.calendarfile`). See ``docs/calendar.md``.

The calendar knows the years it covers. A day of a year it does not cover is
counted on weekends only — and the calendar says so: the year goes into
:attr:`WorkingCalendar.missing_seen`, a warning is logged once per year, and
:meth:`WorkingCalendar.status` names the missing years of the days in use
(``/healthz``, the page banner, ``civgrid calendar check``).

A deadline is a :class:`DeadlineRule`: a number of **hours** (elapsed clock
hours, for urgent items such as "2 小时内处置") or of **working days** ("3 个
工作日内整改", counted from the next working day and ending at the close of
the last one). :class:`DeadlinePolicy` chooses the rule for a category and a
response priority.

All datetimes are timezone-aware; the calendar works in the city's local
time zone (default ``Asia/Shanghai``) and returns aware datetimes in it.

Examples
--------
>>> from datetime import datetime
>>> cal = WorkingCalendar.china()
>>> start = datetime(2025, 9, 30, 10, 0, tzinfo=cal.tz)     # the day before 国庆
>>> cal.add_working_days(start, 1).isoformat()             # 1–8 Oct are holidays
'2025-10-09T18:00:00+08:00'
>>> cal.is_working_day(date(2025, 10, 11))                 # a Saturday make-up day
True
>>> cal.deadline(start, DeadlineRule.hours(24)).isoformat()
'2025-10-01T10:00:00+08:00'
>>> cal.covers(2025), cal.covers(1999)
(True, False)
"""

from __future__ import annotations

import calendar
import enum
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from civgrid.grids.core.errors import InvalidInputError

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_TZ",
    "CalendarStatus",
    "DeadlinePolicy",
    "DeadlineRule",
    "DeadlineUnit",
    "Priority",
    "WorkingCalendar",
    "national_arrangement",
    "parse_day_list",
]

#: The time zone of every Chinese city.
DEFAULT_TZ = "Asia/Shanghai"


def _span(first: str, last: str) -> list[date]:
    d, end = date.fromisoformat(first), date.fromisoformat(last)
    out = []
    while d <= end:
        out.append(d)
        d += timedelta(days=1)
    return out


def national_arrangement() -> tuple[frozenset[date], frozenset[date], frozenset[int]]:
    """Public holidays, make-up working days and covered years of ``chinesecalendar``.

    The package (pinned in ``pyproject.toml``) carries the State Council General
    Office's yearly notices (国务院办公厅关于部分节假日安排的通知) and is released
    after each one. Its years are those it answers for: from its first to its last
    year, as the package itself checks (found at run time, never written down here).

    Returns
    -------
    holidays, makeup_workdays : frozenset of date
    years : frozenset of int

    Examples
    --------
    >>> holidays, makeup, years = national_arrangement()
    >>> date(2025, 10, 1) in holidays, date(2025, 10, 11) in makeup, 2025 in years
    (True, True, True)
    """
    return _NATIONAL


def _load_national() -> tuple[frozenset[date], frozenset[date], frozenset[int]]:
    from chinese_calendar import constants

    holidays = frozenset(constants.holidays)
    makeup = frozenset(constants.workdays)
    first, last = min(holidays).year, max(holidays).year
    return holidays, makeup, frozenset(range(first, last + 1))


_NATIONAL = _load_national()


def parse_day_list(value: str | Iterable[str | date] | None) -> list[date]:
    """Parse days from ISO strings: a comma/space separated string or an iterable.

    Ranges ``2025-10-01..2025-10-08`` are expanded.

    Parameters
    ----------
    value : str or iterable of (str or date), optional

    Returns
    -------
    list of date

    Raises
    ------
    InvalidInputError
        A token is not an ISO date (``field`` names the offending token).

    Examples
    --------
    >>> parse_day_list("2025-10-01..2025-10-03, 2025-10-11")
    [datetime.date(2025, 10, 1), datetime.date(2025, 10, 2), datetime.date(2025, 10, 3), datetime.date(2025, 10, 11)]
    """  # noqa: E501
    if value is None:
        return []
    items = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    out: list[date] = []
    for item in items:
        if isinstance(item, date):
            out.append(item)
            continue
        try:
            if ".." in item:
                first, last = item.split("..", 1)
                out.extend(_span(first.strip(), last.strip()))
            else:
                out.append(date.fromisoformat(item.strip()))
        except ValueError as exc:
            raise InvalidInputError(
                f"not an ISO date or date range: {item!r}", field="holidays", value=item
            ) from exc
    return out


@dataclass(frozen=True)
class CalendarStatus:
    """Which years a calendar covers and which of the years in use it lacks.

    ``missing_years`` are years some day in use falls in (the window around today
    and any day already asked about) that neither ``chinesecalendar`` nor the
    county's override file covers: their days are counted on weekends only.
    """

    first_year: int | None
    last_year: int | None
    missing_years: tuple[int, ...]

    @property
    def ok(self) -> bool:
        """No year in use is missing."""
        return not self.missing_years


#: Days around today whose years a running deployment needs (a local choice): the
#: previous month (scores, bulletins) through two months ahead (deadlines with
#: extensions and 督办 second deadlines, next month's patrol plan).
STATUS_BEFORE_DAYS = 31
STATUS_AHEAD_DAYS = 62


class WorkingCalendar:
    """Working days of one city: weekdays minus holidays plus make-up days (调休).

    Parameters
    ----------
    holidays : iterable of date
        Public holidays (never working days, even on a weekday).
    makeup_workdays : iterable of date
        Weekend days declared working days (调休上班).
    tz : str or tzinfo, optional
        Local time zone (default: the county's, :func:`local_zone`).
    weekend : iterable of int
        ``date.weekday()`` numbers of the normal rest days (default Saturday, Sunday).
    day_end : datetime.time
        Local time at which a working day closes: a deadline in working days
        falls at this time of its last day (default 18:00).
    covered_years : iterable of int, optional
        Years whose holiday arrangement the calendar has. ``None`` (a hand-built
        calendar): every year counts as covered. A day of another year is counted
        on weekends only and its year is recorded in :attr:`missing_seen`.
    """

    def __init__(
        self,
        holidays: Iterable[date] = (),
        makeup_workdays: Iterable[date] = (),
        *,
        tz: str | tzinfo | None = None,
        weekend: Iterable[int] = (5, 6),
        day_end: time = time(18, 0),
        covered_years: Iterable[int] | None = None,
    ) -> None:
        self.holidays = frozenset(holidays)
        self.makeup_workdays = frozenset(makeup_workdays)
        both = self.holidays & self.makeup_workdays
        if both:
            first = min(both).isoformat()
            raise InvalidInputError(
                f"{first} is both a holiday and a make-up working day", field="holidays"
            )
        if tz is None:
            tz = local_zone()
        self.tz: tzinfo = ZoneInfo(tz) if isinstance(tz, str) else tz
        self.weekend = frozenset(weekend)
        self.day_end = day_end
        self.covered_years: frozenset[int] | None = (
            None if covered_years is None else frozenset(covered_years)
        )
        #: Uncovered years a day was asked about (counted on weekends only).
        self.missing_seen: set[int] = set()

    @classmethod
    def china(
        cls,
        extra_holidays: Iterable[date] = (),
        extra_makeup_workdays: Iterable[date] = (),
        *,
        extra_years: Iterable[int] = (),
        **kwargs: Any,
    ) -> WorkingCalendar:
        """The national calendar (:func:`national_arrangement`) plus local additions.

        Parameters
        ----------
        extra_holidays, extra_makeup_workdays : iterable of date
            Added to the national lists (a year the package lacks, a local holiday);
            a local day wins over the national one.
        extra_years : iterable of int
            Years the local lists cover in full (an override file's ``years:``).
        **kwargs
            ``tz``, ``weekend``, ``day_end`` as for the constructor.

        Returns
        -------
        WorkingCalendar
        """
        national_h, national_m, years = national_arrangement()
        extra_h, extra_m = set(extra_holidays), set(extra_makeup_workdays)
        holidays = (national_h - extra_m) | extra_h
        makeup = (national_m - extra_h) | extra_m
        return cls(holidays, makeup, covered_years=years | set(extra_years), **kwargs)

    def replace(
        self,
        *,
        extra_holidays: Iterable[date] = (),
        extra_makeup_workdays: Iterable[date] = (),
        weekend: Iterable[int] | None = None,
    ) -> WorkingCalendar:
        """A copy with more local days or another weekend (same years, zone, close).

        Examples
        --------
        >>> cal = WorkingCalendar.china().replace(extra_holidays=[date(2025, 3, 7)])
        >>> cal.is_working_day(date(2025, 3, 7)), cal.covers(2025)
        (False, True)
        """
        extra_h, extra_m = set(extra_holidays), set(extra_makeup_workdays)
        out = WorkingCalendar(
            (self.holidays - extra_m) | extra_h,
            (self.makeup_workdays - extra_h) | extra_m,
            tz=self.tz,
            weekend=self.weekend if weekend is None else weekend,
            day_end=self.day_end,
            covered_years=self.covered_years,
        )
        out.missing_seen = self.missing_seen  # one record of what was asked
        return out

    def __repr__(self) -> str:
        return (
            f"<WorkingCalendar {len(self.holidays)} holidays, "
            f"{len(self.makeup_workdays)} make-up days, {self.tz}>"
        )

    # ------------------------------------------------------------------ years
    def covers(self, year: int) -> bool:
        """Whether the holiday arrangement of ``year`` is known."""
        return self.covered_years is None or year in self.covered_years

    def missing_years(self, first: date | int, last: date | int) -> list[int]:
        """Years from ``first`` to ``last`` (dates or years) that are not covered."""
        y0 = first if isinstance(first, int) else first.year
        y1 = last if isinstance(last, int) else last.year
        return [y for y in range(y0, y1 + 1) if not self.covers(y)]

    def status(self, today: date | None = None) -> CalendarStatus:
        """Covered range and the missing years in use around ``today``.

        The years in use are those of :data:`STATUS_BEFORE_DAYS` before ``today``
        through :data:`STATUS_AHEAD_DAYS` after it, plus any uncovered year a day
        was already asked about (:attr:`missing_seen`).

        Examples
        --------
        >>> _, _, years = national_arrangement()
        >>> nxt = max(years) + 1
        >>> WorkingCalendar.china().status(date(nxt - 1, 12, 7)).missing_years == (nxt,)
        True
        >>> WorkingCalendar.china(extra_years=[nxt]).status(date(nxt - 1, 12, 7)).ok
        True
        """
        today = today or local_today()
        window = self.missing_years(
            today - timedelta(days=STATUS_BEFORE_DAYS), today + timedelta(days=STATUS_AHEAD_DAYS)
        )
        missing = sorted(set(window) | {y for y in self.missing_seen if not self.covers(y)})
        years = self.covered_years
        return CalendarStatus(
            min(years) if years else None, max(years) if years else None, tuple(missing)
        )

    # ------------------------------------------------------------------ days
    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is a working day (make-up days are, holidays are not).

        A day of an uncovered year (:meth:`covers`) is a working day unless it is a
        weekend day or a local holiday; its year is recorded and logged once.
        """
        if day in self.makeup_workdays:
            return True
        if day in self.holidays:
            return False
        if not self.covers(day.year) and day.year not in self.missing_seen:
            self.missing_seen.add(day.year)
            log.warning(
                "working-day calendar: no holiday arrangement for %d; counting weekends only "
                "(install a newer chinesecalendar or add the year to the county override file)",
                day.year,
            )
        return day.weekday() not in self.weekend

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        d = day + timedelta(days=1)
        for _ in range(400):
            if self.is_working_day(d):
                return d
            d += timedelta(days=1)
        raise InvalidInputError("no working day within 400 days", field="calendar")

    def working_days_between(self, start: date, end: date) -> int:
        """Number of working days ``d`` with ``start < d <= end`` (0 when ``end <= start``)."""
        n, d = 0, start + timedelta(days=1)
        while d <= end:
            n += self.is_working_day(d)
            d += timedelta(days=1)
        return n

    def local(self, moment: datetime) -> datetime:
        """``moment`` in the calendar's time zone (naive values are taken as UTC)."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(self.tz)

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """Close of the ``n``-th working day after ``start``'s local day.

        The day of ``start`` itself is not counted ("3 个工作日内" counts
        from the next working day). ``n = 0`` means the close of ``start``'s
        day if it is a working day and ``start`` is before the close, else
        the close of the next working day.

        Parameters
        ----------
        start : datetime
            Aware (naive = UTC).
        n : int
            Working days, ``>= 0``.

        Returns
        -------
        datetime
            Aware, in the calendar's time zone, at :attr:`day_end`.
        """
        if n < 0:
            raise InvalidInputError("working days must be >= 0", field="working_days", value=n)
        local = self.local(start)
        day = local.date()
        if n == 0:
            if self.is_working_day(day) and local.time() < self.day_end:
                return self._close(day)
            return self._close(self.next_working_day(day))
        for _ in range(n):
            day = self.next_working_day(day)
        return self._close(day)

    def _close(self, day: date) -> datetime:
        return datetime.combine(day, self.day_end, tzinfo=self.tz)

    def deadline(self, start: datetime, rule: DeadlineRule) -> datetime:
        """The deadline of ``rule`` counted from ``start`` (aware, local time zone)."""
        if rule.unit is DeadlineUnit.hours:
            return self.local(start) + timedelta(hours=rule.amount)
        return self.add_working_days(start, int(rule.amount))


class DeadlineUnit(enum.StrEnum):
    """How a deadline is counted."""

    hours = "hours"  # elapsed clock hours
    working_days = "working_days"  # working days on the calendar


@dataclass(frozen=True)
class DeadlineRule:
    """A time allowed to fix (处置时限): ``amount`` hours or working days."""

    amount: float
    unit: DeadlineUnit = DeadlineUnit.working_days

    def __post_init__(self) -> None:
        if self.amount < 0:
            raise InvalidInputError("a deadline must not be negative", field="deadline")
        if self.unit is DeadlineUnit.working_days and int(self.amount) != self.amount:
            raise InvalidInputError("working days must be a whole number", field="deadline")

    @classmethod
    def hours(cls, n: float) -> DeadlineRule:
        """``n`` elapsed hours."""
        return cls(n, DeadlineUnit.hours)

    @classmethod
    def working_days(cls, n: int) -> DeadlineRule:
        """``n`` working days."""
        return cls(n, DeadlineUnit.working_days)

    @classmethod
    def parse(cls, text: str | int | float | Mapping[str, Any] | DeadlineRule) -> DeadlineRule:
        """Parse ``"24h"``, ``"3wd"`` / ``"3d"`` (working days), a number (working days)
        or ``{"amount": 24, "unit": "hours"}``.

        Examples
        --------
        >>> DeadlineRule.parse("24h")
        DeadlineRule(amount=24.0, unit=<DeadlineUnit.hours: 'hours'>)
        >>> DeadlineRule.parse("3wd").unit.value
        'working_days'
        """
        if isinstance(text, DeadlineRule):
            return text
        if isinstance(text, Mapping):
            return cls(float(text["amount"]), DeadlineUnit(text.get("unit", "working_days")))
        if isinstance(text, int | float):
            return cls.working_days(int(text))
        s = str(text).strip().lower()
        try:
            if s.endswith("h"):
                return cls.hours(float(s[:-1]))
            if s.endswith("wd"):
                return cls.working_days(int(s[:-2]))
            if s.endswith("d"):
                return cls.working_days(int(s[:-1]))
            return cls.working_days(int(s))
        except ValueError as exc:
            raise InvalidInputError(
                f"not a deadline: {text!r} (use e.g. '24h' or '3wd')", field="deadline"
            ) from exc

    def __str__(self) -> str:
        if self.unit is DeadlineUnit.hours:
            return f"{self.amount:g}h"
        return f"{int(self.amount)}wd"


class Priority(enum.StrEnum):
    """Response priority of an issue (响应级别)."""

    urgent = "urgent"  # 紧急: hours
    high = "high"  # 重要
    normal = "normal"  # 一般
    low = "low"  # 缓办 candidates


@dataclass
class DeadlinePolicy:
    """Which :class:`DeadlineRule` applies to a category and a priority.

    Lookup order, first match wins:

    1. ``rules[(category, priority)]``
    2. ``priority_rules[priority]`` for a priority other than ``normal``
       (an urgent issue is urgent whatever its category)
    3. ``rules[(category, None)]``
    4. the category's own ``deadline_hours`` passed by the caller
    5. ``default``

    Parameters
    ----------
    rules : mapping
        ``(category_code, priority or None) -> DeadlineRule``.
    priority_rules : mapping
        ``priority -> DeadlineRule``.
    default : DeadlineRule
        Fallback (3 working days).
    """

    rules: dict[tuple[str, Priority | None], DeadlineRule] = field(default_factory=dict)
    priority_rules: dict[Priority, DeadlineRule] = field(
        default_factory=lambda: {
            Priority.urgent: DeadlineRule.hours(24),
            Priority.high: DeadlineRule.working_days(2),
            Priority.low: DeadlineRule.working_days(10),
        }
    )
    default: DeadlineRule = field(default_factory=lambda: DeadlineRule.working_days(3))

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any] | None, *, base: DeadlinePolicy | None = None
    ) -> DeadlinePolicy:
        """Build from configuration, over ``base`` (default: the code's defaults).

        ``{"default": "3wd", "priorities": {"urgent": "2h"},
        "categories": {"cigarette_butts": "24h", "illegal_structure": {"normal": "10wd"}}}``

        A key of ``data`` replaces the same key of ``base``; the others are kept
        (``base`` itself is not changed).
        """
        policy = (
            cls()
            if base is None
            else cls(dict(base.rules), dict(base.priority_rules), base.default)
        )
        if not data:
            return policy
        if "default" in data:
            policy.default = DeadlineRule.parse(data["default"])
        for prio, rule in (data.get("priorities") or {}).items():
            policy.priority_rules[Priority(prio)] = DeadlineRule.parse(rule)
        for cat, spec in (data.get("categories") or {}).items():
            if isinstance(spec, Mapping) and "amount" not in spec:
                for prio, rule in spec.items():
                    key = None if prio in ("*", "any", "default") else Priority(prio)
                    policy.rules[(cat, key)] = DeadlineRule.parse(rule)
            else:
                policy.rules[(cat, None)] = DeadlineRule.parse(spec)
        return policy

    def rule_for(
        self,
        category: str | None,
        priority: Priority | str = Priority.normal,
        *,
        category_hours: int | None = None,
    ) -> DeadlineRule:
        """The rule for ``category`` at ``priority``.

        Parameters
        ----------
        category : str, optional
            Category code.
        priority : Priority or str
        category_hours : int, optional
            The category's ``deadline_hours`` from the grids model (clock hours).

        Returns
        -------
        DeadlineRule
        """
        prio = Priority(priority)
        if category is not None and (category, prio) in self.rules:
            return self.rules[(category, prio)]
        if prio is not Priority.normal and prio in self.priority_rules:
            return self.priority_rules[prio]
        if category is not None and (category, None) in self.rules:
            return self.rules[(category, None)]
        if category_hours:
            return DeadlineRule.hours(category_hours)
        return self.default


#: The county's time zone: one setting (``CIVGRID_TIME_ZONE`` or the city profile),
#: installed by :func:`set_time_zone` when the app or a command starts.
_ZONE: list[ZoneInfo] = [ZoneInfo(DEFAULT_TZ)]


def set_time_zone(name: str | tzinfo) -> ZoneInfo:
    """Make ``name`` (an IANA zone such as ``Asia/Shanghai``) the county's time zone.

    Raises
    ------
    InvalidInputError
        Not a known time zone.
    """
    if isinstance(name, ZoneInfo):
        zone = name
    else:
        try:
            zone = ZoneInfo(str(name))
        except (ValueError, KeyError, OSError) as exc:
            raise InvalidInputError(f"unknown time zone {name!r}", field="time_zone") from exc
    _ZONE[0] = zone
    return zone


def local_zone() -> ZoneInfo:
    """The county's time zone (default ``Asia/Shanghai``)."""
    return _ZONE[0]


def local_today() -> date:
    """Today's date in the county's time zone: the default clock of day-based checks."""
    return datetime.now(local_zone()).date()


def parse_month(month: str) -> tuple[date, date]:
    """First and last day of ``YYYY-MM`` (strict: four-digit year, zero-padded month).

    Raises
    ------
    InvalidInputError
        Not a ``YYYY-MM`` month (``2027-1`` is refused: one spelling per month, so
        a month never gets two plans).
    """
    text = month if isinstance(month, str) else ""
    if not _MONTH_RE.fullmatch(text):
        raise InvalidInputError(
            f"month {month!r} is not YYYY-MM (zero-padded, e.g. 2027-01)"
            "（月份格式应为 YYYY-MM，如 2027-01）",
            field="month",
        )
    y, m = int(text[:4]), int(text[5:])
    try:
        first = date(y, m, 1)
    except ValueError:
        raise InvalidInputError(
            f"month {month!r} is not YYYY-MM: no month {m}（月份无效）", field="month"
        ) from None
    return first, date(y, m, calendar.monthrange(y, m)[1])


#: A month as written everywhere (plans, API, CLI): ``YYYY-MM``, zero-padded.
_MONTH_RE = re.compile(r"\d{4}-\d{2}")
