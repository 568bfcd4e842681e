"""The city part of a profile: who the county is, where its map sits, its number prefixes.

One profile file (``grids/profiles/<name>.yaml``) describes one city. Its ``city:``
section is read here; its ``versions:`` (scoring rules) by
:mod:`civgrid.grids.scoring.rules`, which ignores ``city:``. A profile without a
``city:`` section (``quzhou``, ``shaoxing``: scoring rules only) cannot be selected
as the city — :func:`load_city` says so with the file name.

The app and the CLI select the city once (``CIVGRID_CITY``, see
``civgrid.api.settings``) with :func:`activate_city`; everything else reads
:func:`current_city` (which falls back to :data:`DEFAULT_CITY` when nothing was
activated, e.g. in a library call or a unit test).

Example section (the demo county's is in ``grids/profiles/sheqi.yaml``)::

    city:
      county_name: 示例县
      center: [110.5, 30.25]        # lon, lat (WGS84)
      zoom: 11
      time_zone: Asia/Shanghai
      notice_prefix: 示督            # 督办 notice numbers: 示督〔2025〕第012号
      bulletin_prefixes: {monthly: 示通, quarterly: 示考}
      holidays: []                   # extra public holidays (ISO dates or a..b ranges)
      makeup_workdays: []            # extra make-up working days (调休)
      calendar_file: calendar.yaml   # optional: the county's calendar override file
                                     # (relative to this file; see grids.core.calendarfile)
      scoring_profile: shiyi         # optional: the rules profile scored under by default
                                     # (default: this file's ``profile:`` name)
      deadlines:                     # optional: 整改时限 defaults (h = hours, wd = working days)
        default: 3wd
        priorities: {urgent: 24h, high: 2wd, low: 10wd}
        categories: {illegal_structures: 10wd, cigarette_butts: {urgent: 2h}}
        notice: 2wd                  # second deadline of a 督办 notice
      campaigns:                     # optional: 专项行动 (see grids.core.campaigns)
        - {key: disorder, name: 城市乱象治理行动, windows: [{days: [1, 5]}]}
      patrol:                        # optional: patrol cadences and capacity
        sample_share: 1/3
        leader_visits_per_month: 2
        key_site_visits_per_month: 2
        capacity_per_day: 6

The ``deadlines:`` and ``patrol:`` blocks give the city's *defaults*:
:class:`civgrid.grids.issues.config.IssueConfig` and
:class:`civgrid.grids.patrol.plan.PatrolSettings` take them when not given
explicitly (explicit arguments and ``CIVGRID_*`` settings still win; a key left
out keeps the code's default).

Examples
--------
>>> c = load_city_text('''
... profile: demo
... city:
...   county_name: 示例县
...   center: [110.5, 30.25]
...   notice_prefix: 示督
...   bulletin_prefixes: {monthly: 示通, quarterly: 示考}
... ''', "demo.yaml")
>>> c.key, c.county_name, c.latlon, c.zoom, c.time_zone
('demo', '示例县', (30.25, 110.5), 11, 'Asia/Shanghai')
>>> bad = '''profile: x
... city:
...   county_name: X
...   center: [200, 30]
... '''
>>> try:
...     load_city_text(bad, "x.yaml")
... except CityError as exc:
...     print(exc)
x.yaml:4: city.center.0: Input should be less than or equal to 180
"""

from __future__ import annotations

import functools
from datetime import date
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from civgrid.grids.core.calendar import (
    DEFAULT_TZ,
    DeadlinePolicy,
    DeadlineRule,
    Priority,
    WorkingCalendar,
    parse_day_list,
    set_time_zone,
)
from civgrid.grids.core.calendarfile import CalendarOverride, load_calendar_file
from civgrid.grids.core.campaigns import Campaign
from civgrid.grids.core.profilefile import ProfileFileError, compose, validation_error

__all__ = [
    "DEFAULT_CITY",
    "City",
    "CityError",
    "activate_city",
    "current_city",
    "load_city",
    "load_city_text",
    "profile_path",
    "set_city",
]

#: The city selected when none is named (the demo county).
DEFAULT_CITY = "sheqi"

Lon = Annotated[float, Field(ge=-180, le=180)]
Lat = Annotated[float, Field(ge=-90, le=90)]


class CityError(ProfileFileError):
    """A city profile that cannot be used: ``file:line: reason``."""


class BulletinPrefixes(BaseModel):
    """Document series (文号) of the bulletins: ``<monthly>〔2026〕第3号``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    monthly: str = Field(min_length=1, max_length=16)
    quarterly: str = Field(min_length=1, max_length=16)
    #: Half-year and annual assessments (default: the quarterly prefix + 半年 / 年).
    half_yearly: str | None = Field(None, min_length=1, max_length=16)
    annual: str | None = Field(None, min_length=1, max_length=16)


def _rule(v: Any) -> str | float:
    """A deadline rule as written (``24h``, ``3wd``, a number), checked by parsing it."""
    try:
        DeadlineRule.parse(v)
    except Exception:  # ValueError, KeyError, InvalidInputError: one message with the line
        raise ValueError(f"bad deadline {v!r} (use e.g. 24h or 3wd)") from None
    return v if isinstance(v, str) else float(v)


class CityDeadlines(BaseModel):
    """Deadline defaults of a city (``city.deadlines``); see :class:`DeadlinePolicy`.

    Every key is optional: what is left out keeps the code's default.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: str | float | None = None
    priorities: dict[Priority, str | float] = Field(default_factory=dict)
    #: ``category: rule`` or ``category: {priority or '*': rule}``.
    categories: dict[str, str | float | dict[str, str | float]] = Field(default_factory=dict)
    #: The second deadline of a 督办 notice.
    notice: str | float | None = None

    @field_validator("default", "notice")
    @classmethod
    def _one(cls, v: Any) -> Any:
        return None if v is None else _rule(v)

    @field_validator("priorities")
    @classmethod
    def _prios(cls, v: dict[Priority, Any]) -> dict[Priority, Any]:
        return {k: _rule(r) for k, r in v.items()}

    @field_validator("categories")
    @classmethod
    def _cats(cls, v: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for cat, spec in v.items():
            if isinstance(spec, dict):
                for prio in spec:
                    if prio not in ("*", "any", "default") and prio not in Priority.__members__:
                        raise ValueError(f"{cat}: unknown priority {prio!r}")
                out[cat] = {p: _rule(r) for p, r in spec.items()}
            else:
                out[cat] = _rule(spec)
        return out

    def mapping(self) -> dict[str, Any]:
        """The form :meth:`DeadlinePolicy.from_mapping` takes (without ``notice``)."""
        out: dict[str, Any] = {}
        if self.default is not None:
            out["default"] = self.default
        if self.priorities:
            out["priorities"] = {p.value: r for p, r in self.priorities.items()}
        if self.categories:
            out["categories"] = dict(self.categories)
        return out


class CityPatrol(BaseModel):
    """Patrol cadences and capacity of a city (``city.patrol``); see ``PatrolSettings``.

    Every key is optional: what is left out keeps the code's default.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Share of communities sampled per month: a number in (0, 1] or a fraction ``1/3``.
    sample_share: float | None = Field(default=None, gt=0, le=1)
    quarter_coverage: bool | None = None
    key_site_visits_per_month: int | None = Field(default=None, ge=0, le=31)
    leader_visits_per_month: int | None = Field(default=None, ge=0, le=31)
    unit_visits_per_month: int | None = Field(default=None, ge=0, le=31)
    capacity_per_day: int | None = Field(default=None, ge=1)
    working_weekdays: tuple[Annotated[int, Field(ge=0, le=6)], ...] | None = None
    hotspot_min_recurrences: int | None = Field(default=None, ge=0)
    max_hotspots: int | None = Field(default=None, ge=0)
    poor_score: float | None = None

    @field_validator("sample_share", mode="before")
    @classmethod
    def _fraction(cls, v: Any) -> Any:
        if isinstance(v, str) and "/" in v:
            try:
                return float(Fraction(v.replace(" ", "")))
            except (ValueError, ZeroDivisionError):
                raise ValueError(f"bad fraction {v!r}") from None
        return v

    def values(self) -> dict[str, Any]:
        """The keys set in the profile."""
        return self.model_dump(exclude_none=True)


class City(BaseModel):
    """One city: name, map view, time zone, calendar additions and number prefixes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: The profile name (``profile:`` of the file, else the file stem).
    key: str = Field(min_length=1)
    county_name: str = Field(min_length=1, max_length=32)
    #: Map centre, ``[lon, lat]`` in WGS84.
    center: tuple[Lon, Lat]
    zoom: float = Field(default=11, ge=1, le=20)
    time_zone: str = DEFAULT_TZ
    notice_prefix: str = Field(min_length=1, max_length=16)
    bulletin_prefixes: BulletinPrefixes
    holidays: list[date] = Field(default_factory=list)
    makeup_workdays: list[date] = Field(default_factory=list)
    #: The county's calendar override file, relative to the profile file (optional).
    calendar_file: str | None = Field(default=None, min_length=1)
    #: The rules profile scored under by default (None: :attr:`key`).
    scoring_profile: str | None = Field(default=None, min_length=1)
    deadlines: CityDeadlines | None = None
    patrol: CityPatrol | None = None
    #: Campaigns (专项行动), see :mod:`civgrid.grids.core.campaigns`.
    campaigns: tuple[Campaign, ...] = ()
    #: The office that issues bulletins and notices (印发单位; None: :attr:`office`'s default).
    issuing_office: str | None = Field(default=None, min_length=1, max_length=64)
    #: The file the city was read from (set by the loader, not in the YAML).
    source_file: str | None = Field(default=None, exclude=True)

    @property
    def office(self) -> str:
        """The issuing office named at the end of a bulletin (月通报).

        Notice 003: "将创城督查发现问题通过县创文办和县委、县政府督查室开展跟踪督查，并定期
        通报" — the county's 创文办 issues the bulletins; its full name without a profile's
        ``issuing_office`` is a local choice.

        >>> City(key="x", county_name="社旗县", center=(112.9, 33.0), notice_prefix="社",
        ...      bulletin_prefixes={"monthly": "通", "quarterly": "考"}).office
        '社旗县创建文明城市工作办公室'
        """
        return self.issuing_office or f"{self.county_name}创建文明城市工作办公室"

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ValueError, KeyError, OSError):
            raise ValueError(f"unknown time zone {v!r} (use an IANA name)") from None
        return v

    @field_validator("holidays", "makeup_workdays", mode="before")
    @classmethod
    def _days(cls, v: Any) -> list[date]:
        if v is None:
            return []
        try:
            return parse_day_list(v if isinstance(v, str) else [str(x) for x in v])
        except Exception as exc:  # InvalidInputError → a pydantic error with the line
            raise ValueError(str(exc)) from None

    @field_validator("campaigns")
    @classmethod
    def _unique_campaigns(cls, v: tuple[Campaign, ...]) -> tuple[Campaign, ...]:
        seen: set[str] = set()
        for c in v:
            if c.key in seen:
                raise ValueError(f"campaign key {c.key!r} is used twice")
            seen.add(c.key)
        return v

    def campaign(self, key: str) -> Campaign | None:
        """The campaign ``key`` (None: no such campaign)."""
        return next((c for c in self.campaigns if c.key == key), None)

    @property
    def latlon(self) -> tuple[float, float]:
        """The centre as ``(lat, lon)``, the order Leaflet and folium take."""
        return self.center[1], self.center[0]

    def zone(self) -> ZoneInfo:
        """The city's time zone."""
        return ZoneInfo(self.time_zone)

    @property
    def scoring_profile_name(self) -> str:
        """The rules profile this city scores under by default."""
        return self.scoring_profile or self.key

    def calendar_path(self) -> Path | None:
        """The override file's path (relative names are taken from the profile's folder)."""
        if not self.calendar_file:
            return None
        p = Path(self.calendar_file).expanduser()
        if not p.is_absolute() and self.source_file:
            p = Path(self.source_file).parent / p
        return p

    def calendar_override(self) -> CalendarOverride:
        """The override file's days and years (empty without a file).

        Raises
        ------
        CalendarFileError
            The file is missing or bad (``file:line``).
        """
        path = self.calendar_path()
        return load_calendar_file(path) if path is not None else CalendarOverride()

    def working_calendar(
        self,
        holidays: Any = (),
        makeup_workdays: Any = (),
        *,
        tz: Any = None,
    ) -> WorkingCalendar:
        """The county's one working-day calendar: national + override file + profile days.

        ``holidays`` / ``makeup_workdays`` are further local days (``CIVGRID_HOLIDAYS``).
        """
        o = self.calendar_override()
        return WorkingCalendar.china(
            [*o.holidays, *self.holidays, *holidays],
            [*o.makeup_workdays, *self.makeup_workdays, *makeup_workdays],
            extra_years=o.years,
            tz=tz,
        )

    def deadline_policy(self) -> DeadlinePolicy:
        """The city's deadline defaults over the code's (:class:`DeadlinePolicy`)."""
        return DeadlinePolicy.from_mapping(self.deadlines.mapping() if self.deadlines else None)

    def notice_deadline(self) -> DeadlineRule | None:
        """The city's second deadline of a 督办 notice (None: not set)."""
        rule = self.deadlines.notice if self.deadlines else None
        return None if rule is None else DeadlineRule.parse(rule)

    def patrol_defaults(self) -> dict[str, Any]:
        """The patrol settings the city sets (``PatrolSettings`` field → value)."""
        return self.patrol.values() if self.patrol else {}


def load_city_text(text: str, file: str = "<profile>", *, key: str | None = None) -> City:
    """The :class:`City` of a profile's YAML text (its ``city:`` section).

    Raises
    ------
    CityError
        ``file:line: reason`` — bad YAML, no ``city:`` section, a bad value.
    """
    data, lines = compose(text, file, CityError)
    section = data.get("city")
    if section is None:
        raise CityError(file, 1, "no city: section (a scoring-only profile cannot be the city)")
    if not isinstance(section, dict):
        raise CityError(file, lines.get(("city",)), "city: must be a mapping")
    name = key or str(data.get("profile") or Path(file).stem)
    if "source_file" in section:
        raise CityError(file, lines.get(("city", "source_file")), "city.source_file: not allowed")
    try:
        city = City.model_validate({"key": name, **section, "source_file": file})
    except ValidationError as exc:
        raise validation_error(exc, file, lines, ("city",), CityError) from exc
    path = city.calendar_path()
    if path is not None and not path.is_file():
        raise CityError(
            file,
            lines.get(("city", "calendar_file")),
            f"city.calendar_file: no such file {str(path)!r}",
        )
    return city


def profile_path(ref: str | Path) -> Path:
    """The file of ``ref``: a path (``…/x.yaml``) or a shipped profile name (``sheqi``)."""
    s = str(ref)
    if s.endswith((".yaml", ".yml")) or "/" in s or "\\" in s:
        return Path(s).expanduser()
    return Path(str(resources.files("civgrid.grids") / "profiles" / f"{s}.yaml"))


def load_city(ref: str | Path = DEFAULT_CITY) -> City:
    """Read the city of a profile: a shipped name (``sheqi``) or a YAML file path.

    Raises
    ------
    CityError
        The file is missing or its ``city:`` section is bad (``file:line``).
    """
    path = profile_path(ref)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CityError(str(path), None, f"cannot read the city profile {ref!r}: {exc}") from exc
    return load_city_text(text, str(path))


@functools.cache
def _default_city() -> City:
    return load_city(DEFAULT_CITY)


_CITY: list[City | None] = [None]


def current_city() -> City:
    """The selected city (:data:`DEFAULT_CITY` until :func:`activate_city` is called)."""
    return _CITY[0] or _default_city()


def set_city(city: City | None, *, time_zone: str | None = None) -> City:
    """Make ``city`` the current one (``None``: back to the default) and set its zone.

    ``time_zone`` overrides the profile's (``CIVGRID_TIME_ZONE``).
    """
    _CITY[0] = city
    chosen = current_city()
    set_time_zone(time_zone or chosen.time_zone)
    return chosen


def activate_city(ref: str | Path | None = None, *, time_zone: str | None = None) -> City:
    """Load the city ``ref`` (name or path; default :data:`DEFAULT_CITY`) and select it."""
    city = load_city(ref or DEFAULT_CITY)
    return set_city(city, time_zone=time_zone)
