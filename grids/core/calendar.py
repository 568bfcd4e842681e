"""Working-day calendar and deadlines (处置时限) for issues.

A :class:`WorkingCalendar` knows which days are working days in one city:
Monday–Friday, minus public holidays, plus the make-up working days (调休)
that the State Council's yearly holiday notice moves onto weekends. Holidays
and make-up days are configuration (:data:`CN_STATUTORY` is a starting
point that a deployment checks against each year's notice and extends).

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
"""

from __future__ import annotations

import calendar
import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from civgrid.grids.core.errors import InvalidInputError

__all__ = [
    "CN_STATUTORY",
    "DEFAULT_TZ",
    "DeadlinePolicy",
    "DeadlineRule",
    "DeadlineUnit",
    "Priority",
    "WorkingCalendar",
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


def _days(*isos: str) -> list[date]:
    return [date.fromisoformat(s) for s in isos]


#: Public holidays and make-up working days (调休) from the State Council
#: General Office's yearly notices (国务院办公厅关于部分节假日安排的通知),
#: 2022–2025. A starting point: check it against each year's notice and
#: extend it through configuration (``holidays`` / ``makeup_workdays``).
CN_STATUTORY: dict[int, dict[str, list[date]]] = {
    2022: {
        "holidays": [
            *_span("2022-01-01", "2022-01-03"),  # 元旦
            *_span("2022-01-31", "2022-02-06"),  # 春节
            *_span("2022-04-03", "2022-04-05"),  # 清明节
            *_span("2022-04-30", "2022-05-04"),  # 劳动节
            *_span("2022-06-03", "2022-06-05"),  # 端午节
            *_span("2022-09-10", "2022-09-12"),  # 中秋节
            *_span("2022-10-01", "2022-10-07"),  # 国庆节
        ],
        "makeup_workdays": _days(
            "2022-01-29",
            "2022-01-30",
            "2022-04-02",
            "2022-04-24",
            "2022-05-07",
            "2022-10-08",
            "2022-10-09",
        ),
    },
    2023: {
        "holidays": [
            *_span("2022-12-31", "2023-01-02"),  # 元旦
            *_span("2023-01-21", "2023-01-27"),  # 春节
            *_span("2023-04-05", "2023-04-05"),  # 清明节
            *_span("2023-04-29", "2023-05-03"),  # 劳动节
            *_span("2023-06-22", "2023-06-24"),  # 端午节
            *_span("2023-09-29", "2023-10-06"),  # 中秋节、国庆节
        ],
        "makeup_workdays": _days(
            "2023-01-28",
            "2023-01-29",
            "2023-04-23",
            "2023-05-06",
            "2023-06-25",
            "2023-10-07",
            "2023-10-08",
        ),
    },
    2024: {
        "holidays": [
            *_span("2024-01-01", "2024-01-01"),  # 元旦
            *_span("2024-02-10", "2024-02-17"),  # 春节
            *_span("2024-04-04", "2024-04-06"),  # 清明节
            *_span("2024-05-01", "2024-05-05"),  # 劳动节
            *_span("2024-06-10", "2024-06-10"),  # 端午节
            *_span("2024-09-15", "2024-09-17"),  # 中秋节
            *_span("2024-10-01", "2024-10-07"),  # 国庆节
        ],
        "makeup_workdays": _days(
            "2024-02-04",
            "2024-02-18",
            "2024-04-07",
            "2024-04-28",
            "2024-05-11",
            "2024-09-14",
            "2024-09-29",
            "2024-10-12",
        ),
    },
    2025: {
        "holidays": [
            *_span("2025-01-01", "2025-01-01"),  # 元旦
            *_span("2025-01-28", "2025-02-04"),  # 春节
            *_span("2025-04-04", "2025-04-06"),  # 清明节
            *_span("2025-05-01", "2025-05-05"),  # 劳动节
            *_span("2025-05-31", "2025-06-02"),  # 端午节
            *_span("2025-10-01", "2025-10-08"),  # 国庆节、中秋节
        ],
        "makeup_workdays": _days(
            "2025-01-26",
            "2025-02-08",
            "2025-04-27",
            "2025-09-28",
            "2025-10-11",
        ),
    },
}


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
    """

    def __init__(
        self,
        holidays: Iterable[date] = (),
        makeup_workdays: Iterable[date] = (),
        *,
        tz: str | tzinfo | None = None,
        weekend: Iterable[int] = (5, 6),
        day_end: time = time(18, 0),
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

    @classmethod
    def china(
        cls,
        extra_holidays: Iterable[date] = (),
        extra_makeup_workdays: Iterable[date] = (),
        **kwargs: Any,
    ) -> WorkingCalendar:
        """The national calendar (:data:`CN_STATUTORY`) plus local additions.

        Parameters
        ----------
        extra_holidays, extra_makeup_workdays : iterable of date
            Added to the national lists (a later year's notice, a local holiday).
        **kwargs
            ``tz``, ``weekend``, ``day_end`` as for the constructor.

        Returns
        -------
        WorkingCalendar
        """
        holidays = {d for y in CN_STATUTORY.values() for d in y["holidays"]}
        makeup = {d for y in CN_STATUTORY.values() for d in y["makeup_workdays"]}
        extra_h, extra_m = set(extra_holidays), set(extra_makeup_workdays)
        # a local addition wins over the national table
        holidays = (holidays - extra_m) | extra_h
        makeup = (makeup - extra_h) | extra_m
        return cls(holidays, makeup, **kwargs)

    def __repr__(self) -> str:
        return (
            f"<WorkingCalendar {len(self.holidays)} holidays, "
            f"{len(self.makeup_workdays)} make-up days, {self.tz}>"
        )

    # ------------------------------------------------------------------ days
    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is a working day (make-up days are, holidays are not)."""
        if day in self.makeup_workdays:
            return True
        if day in self.holidays:
            return False
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
