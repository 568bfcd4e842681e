"""The county's calendar override file: years ``chinesecalendar`` lacks and local days.

A city profile names it with ``city.calendar_file`` (a path relative to the profile
file). It is a small YAML file::

    # 示例县 working-day calendar additions
    years: [2027]                    # years this file gives in full (national notice
                                     # published, chinesecalendar not yet updated)
    holidays:                        # days off: ISO dates or ranges a..b
      - 2027-01-01
      - 2027-02-06..2027-02-12
    makeup_workdays: [2027-02-14]    # weekend days worked (调休上班)

``holidays`` and ``makeup_workdays`` apply in every year (a county's local holiday,
a local arrangement); ``years`` tells the calendar that the national arrangement
of those years is complete here, so they are no longer reported missing. A bad
value is refused as ``file:line: reason``.

Examples
--------
>>> o = load_calendar_text('''
... years: [2031]
... holidays: [2031-01-01, 2031-01-29..2031-01-31]
... makeup_workdays: [2031-01-26]
... ''', "cal.yaml")
>>> o.years, len(o.holidays), o.makeup_workdays
((2031,), 4, (datetime.date(2031, 1, 26),))
>>> try:
...     load_calendar_text("holidays: [2031-02-30]\\n", "cal.yaml")
... except CalendarFileError as exc:
...     print(exc)
cal.yaml:1: holidays[0]: not an ISO date or date range: '2031-02-30'
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from civgrid.grids.core.calendar import parse_day_list
from civgrid.grids.core.errors import InvalidInputError
from civgrid.grids.core.profilefile import ProfileFileError, compose, line_for

__all__ = ["CalendarFileError", "CalendarOverride", "load_calendar_file", "load_calendar_text"]


class CalendarFileError(ProfileFileError):
    """A calendar override file that cannot be used: ``file:line: reason``."""


@dataclass(frozen=True)
class CalendarOverride:
    """What an override file adds to the national calendar."""

    years: tuple[int, ...] = ()
    holidays: tuple[date, ...] = ()
    makeup_workdays: tuple[date, ...] = ()
    file: str | None = None


_KEYS = ("years", "holidays", "makeup_workdays")


class _Loader(yaml.SafeLoader):
    """Safe YAML with dates left as text, so a bad date is ours to report with its line."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _compose(text: str, file: str) -> tuple[dict[str, Any], dict[tuple, int]]:
    return compose(text, file, CalendarFileError, loader_class=_Loader, allow_empty=True)


def _days(value: Any, key: str, file: str, lines: dict[tuple, int]) -> list[date]:
    if value is None:
        return []
    if isinstance(value, str | date):
        value = [value]
    if not isinstance(value, list):
        raise CalendarFileError(file, lines.get((key,)), f"{key}: must be a list of dates")
    out: list[date] = []
    for i, item in enumerate(value):
        try:
            out.extend(parse_day_list([item if isinstance(item, date) else str(item)]))
        except InvalidInputError as exc:
            raise CalendarFileError(
                file, line_for(lines, (key, i)), f"{key}[{i}]: {exc.args[0]}"
            ) from None
    return out


def load_calendar_text(text: str, file: str = "<calendar>") -> CalendarOverride:
    """The :class:`CalendarOverride` of an override file's YAML text.

    Raises
    ------
    CalendarFileError
        ``file:line: reason`` — bad YAML, an unknown key, a bad date or year, a day
        that is both a holiday and a make-up working day.
    """
    data, lines = _compose(text, file)
    for key in data:
        if key not in _KEYS:
            raise CalendarFileError(
                file, lines.get((key,)), f"unknown key {key!r} (use {', '.join(_KEYS)})"
            )
    raw_years = data.get("years") or []
    if not isinstance(raw_years, list):
        raw_years = [raw_years]
    years: list[int] = []
    for i, y in enumerate(raw_years):
        if isinstance(y, bool) or not isinstance(y, int) or not 1900 <= y <= 2200:
            raise CalendarFileError(
                file, line_for(lines, ("years", i)), f"years[{i}]: {y!r} is not a year"
            )
        years.append(y)
    holidays = _days(data.get("holidays"), "holidays", file, lines)
    makeup = _days(data.get("makeup_workdays"), "makeup_workdays", file, lines)
    both = set(holidays) & set(makeup)
    if both:
        day = min(both)
        raise CalendarFileError(
            file,
            lines.get(("makeup_workdays",)),
            f"{day.isoformat()} is both a holiday and a make-up working day",
        )
    return CalendarOverride(tuple(years), tuple(holidays), tuple(makeup), file)


@functools.lru_cache(maxsize=16)
def _cached(path: str, mtime_ns: int) -> CalendarOverride:
    text = Path(path).read_text(encoding="utf-8")
    return load_calendar_text(text, path)


def load_calendar_file(path: str | Path) -> CalendarOverride:
    """Read an override file (cached until the file changes).

    Raises
    ------
    CalendarFileError
        The file cannot be read, or a bad value (``file:line``).
    """
    p = Path(path)
    try:
        mtime = p.stat().st_mtime_ns
    except OSError as exc:
        raise CalendarFileError(str(p), None, f"cannot read the calendar file: {exc}") from exc
    return _cached(str(p), mtime)
