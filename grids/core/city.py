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
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from civgrid.grids.core.calendar import DEFAULT_TZ, parse_day_list, set_time_zone
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

    @property
    def latlon(self) -> tuple[float, float]:
        """The centre as ``(lat, lon)``, the order Leaflet and folium take."""
        return self.center[1], self.center[0]

    def zone(self) -> ZoneInfo:
        """The city's time zone."""
        return ZoneInfo(self.time_zone)


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
    try:
        return City.model_validate({"key": name, **section})
    except ValidationError as exc:
        raise validation_error(exc, file, lines, ("city",), CityError) from exc


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
