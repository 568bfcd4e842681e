"""Campaigns (专项行动) as data: when they run, what and where they target, their goals.

A city profile lists its campaigns under ``city.campaigns``; each is a
:class:`Campaign` with one or more :class:`CampaignWindow`. A window matches a
local moment when **all** its keys match (a key left out matches everything);
a campaign is active when **any** of its windows matches::

    campaigns:
      - key: disorder                    # 城市乱象治理行动
        name: 城市乱象治理行动
        clause: 每月1-5日开展城市乱象治理行动 …       # quoted from the notice
        windows: [{days: [1, 5]}]        # the 1st–5th of every month
        categories: [dumping, illegal_structures, street_vending]
        places: {key_site_kinds: [market], layers: [road_section]}
        goals: [全面消除各类市容乱象]
      - key: traffic
        windows: [{months: [4, 9]}]      # named months
      - key: cleanup
        windows: [{weekdays: [4], hours: ["14:00", "18:00"]}]   # Friday afternoons
      - key: dogs
        windows: [{quarter_month: 2, days: [10, 20]}]           # once a quarter

Window keys: ``months`` (1–12), ``days`` (a day-of-month range ``[first, last]``),
``weekdays`` (Monday = 0), ``hours`` (``["HH:MM", "HH:MM"]``, local, end
excluded), ``quarter_month`` (1–3: the month of each quarter), ``start`` /
``end`` (ISO dates bounding the window, e.g. one year's season).

Places: ``layers`` (an issue on any object of the layer), ``areas`` (codes of any
layer), ``key_site_kinds`` (key sites of the kind), ``area_types`` (e.g. village).
Empty places and categories mean everywhere and every category.

Examples
--------
>>> c = Campaign(key="d", name="乱象", windows=[{"days": [1, 5]}])
>>> from datetime import datetime
>>> c.active_at(datetime(2026, 3, 5, 23, 0)), c.active_at(datetime(2026, 3, 6, 0, 0))
(True, False)
>>> [(a.isoformat(), b.isoformat()) for a, b in c.occurrences(date(2026, 3, 1), date(2026, 3, 31))]
[('2026-03-01T00:00:00', '2026-03-06T00:00:00')]
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["Campaign", "CampaignPlaces", "CampaignWindow"]

Month = Annotated[int, Field(ge=1, le=12)]
Weekday = Annotated[int, Field(ge=0, le=6)]
DayOfMonth = Annotated[int, Field(ge=1, le=31)]


def _hhmm(v: Any) -> time:
    if isinstance(v, time):
        return v
    if isinstance(v, int):  # YAML reads 14:00 as sexagesimal 840
        return time(v // 60, v % 60)
    try:
        return time.fromisoformat(str(v))
    except ValueError:
        raise ValueError(f"not a time HH:MM: {v!r}") from None


class CampaignWindow(BaseModel):
    """When a campaign runs (all keys given must match; see the module)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    months: tuple[Month, ...] | None = None
    days: tuple[DayOfMonth, DayOfMonth] | None = None
    weekdays: tuple[Weekday, ...] | None = None
    hours: tuple[time, time] | None = None
    quarter_month: int | None = Field(default=None, ge=1, le=3)
    start: date | None = None
    end: date | None = None

    @field_validator("hours", mode="before")
    @classmethod
    def _hours(cls, v: Any) -> Any:
        if v is None:
            return v
        if isinstance(v, str) and "-" in v:
            v = v.split("-", 1)
        if not isinstance(v, list | tuple) or len(v) != 2:
            raise ValueError('hours: give ["HH:MM", "HH:MM"]')
        return tuple(_hhmm(x) for x in v)

    @model_validator(mode="after")
    def _check(self) -> CampaignWindow:
        if self.days is not None and self.days[0] > self.days[1]:
            raise ValueError(f"days: {self.days[0]} is after {self.days[1]}")
        if self.hours is not None and self.hours[0] >= self.hours[1]:
            raise ValueError("hours: the start must be before the end")
        if self.start and self.end and self.start > self.end:
            raise ValueError("start is after end")
        return self

    def matches_day(self, day: date) -> bool:
        """Whether the window is open at some time of ``day``."""
        if self.start is not None and day < self.start:
            return False
        if self.end is not None and day > self.end:
            return False
        if self.months is not None and day.month not in self.months:
            return False
        if self.quarter_month is not None and (day.month - 1) % 3 + 1 != self.quarter_month:
            return False
        if self.days is not None and not self.days[0] <= day.day <= self.days[1]:
            return False
        return not (self.weekdays is not None and day.weekday() not in self.weekdays)

    def span_on(self, day: date) -> tuple[datetime, datetime] | None:
        """The open interval of ``day`` (naive local times; end excluded), or None."""
        if not self.matches_day(day):
            return None
        if self.hours is None:
            return datetime.combine(day, time(0)), datetime.combine(
                day + timedelta(days=1), time(0)
            )
        return datetime.combine(day, self.hours[0]), datetime.combine(day, self.hours[1])

    def describe(self) -> str:
        """Chinese description, e.g. ``每月1–5日`` or ``每周五 14:00–18:00``."""
        parts = []
        if self.start or self.end:
            parts.append(f"{self.start or ''}至{self.end or ''}")
        if self.months:
            parts.append("每年" + "、".join(f"{m}月" for m in self.months))
        if self.quarter_month:
            parts.append(f"每季度第{self.quarter_month}个月")
        if self.days:
            parts.append(
                ("" if self.months or self.quarter_month else "每月")
                + f"{self.days[0]}–{self.days[1]}日"
            )
        if self.weekdays is not None:
            names = "一二三四五六日"
            parts.append("每周" + "、".join(names[d] for d in self.weekdays))
        if self.hours:
            parts.append(f"{self.hours[0]:%H:%M}–{self.hours[1]:%H:%M}")
        return " ".join(parts) or "全时段"


class CampaignPlaces(BaseModel):
    """Where a campaign looks (empty: everywhere)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    layers: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()
    key_site_kinds: tuple[str, ...] = ()
    area_types: tuple[str, ...] = ()

    @property
    def everywhere(self) -> bool:
        """No place restriction."""
        return not (self.layers or self.areas or self.key_site_kinds or self.area_types)

    def matches(
        self,
        places: Iterable[tuple[str, str]],
        *,
        key_site_kinds: Mapping[str, str] | None = None,
        area_types: Mapping[str, str] | None = None,
    ) -> bool:
        """Whether an issue at ``places`` ((layer, code) pairs) is in the campaign's places.

        ``key_site_kinds`` / ``area_types``: code → kind / type of the places.
        """
        if self.everywhere:
            return True
        kinds, types = key_site_kinds or {}, area_types or {}
        for layer, code in places:
            if layer in self.layers or code in self.areas:
                return True
            if layer == "key_site" and kinds.get(code) in self.key_site_kinds:
                return True
            if types.get(code) in self.area_types:
                return True
        return False


class Campaign(BaseModel):
    """One campaign (专项行动) of a city profile; see the module."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1, max_length=64)
    #: The notice's words this campaign is taken from (quoted), or "local choice".
    clause: str | None = None
    windows: tuple[CampaignWindow, ...] = Field(min_length=1)
    categories: tuple[str, ...] = ()
    places: CampaignPlaces = Field(default_factory=CampaignPlaces)
    goals: tuple[str, ...] = ()
    #: Added to the patrol priority of the campaign's places and categories.
    patrol_boost: float = Field(default=2.0, ge=0)
    #: Report intensity during the campaign (the demo season's multiplier).
    intensity: float = Field(default=1.3, ge=0)

    def active_at(self, local: datetime) -> bool:
        """Whether the campaign runs at ``local`` (a local wall-clock time; tz ignored)."""
        t = local.replace(tzinfo=None)
        for w in self.windows:
            span = w.span_on(t.date())
            if span is not None and span[0] <= t < span[1]:
                return True
        return False

    def active_on(self, day: date) -> bool:
        """Whether the campaign runs at some time of ``day``."""
        return any(w.matches_day(day) for w in self.windows)

    def covers_category(self, category: str | None) -> bool:
        """Whether ``category`` is one of the campaign's (no list: every category)."""
        return not self.categories or category in self.categories

    def occurrences(self, first: date, last: date) -> list[tuple[datetime, datetime]]:
        """Maximal runs of the campaign from ``first`` to ``last`` (naive local, end excluded).

        Adjacent days join up: ``days: [1, 5]`` is one run of five days a month.
        """
        spans: list[tuple[datetime, datetime]] = []
        for day in _days(first, last):
            for w in self.windows:
                s = w.span_on(day)
                if s is not None:
                    spans.append(s)
        spans.sort()
        out: list[tuple[datetime, datetime]] = []
        for a, b in spans:
            if out and a <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], b))
            else:
                out.append((a, b))
        return out

    def describe(self) -> str:
        """The windows in Chinese, joined by ``；``."""
        return "；".join(w.describe() for w in self.windows)


def _days(first: date, last: date) -> Iterator[date]:
    d = first
    while d <= last:
        yield d
        d += timedelta(days=1)
