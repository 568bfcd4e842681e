"""Configuration of the issue workflow for one city, and the actor of every domain call.

:class:`IssueSettings` reads ``CIVGRID_*`` environment variables (pydantic-settings);
:class:`IssueConfig` is the plain object the domain functions take, built from
the settings (or directly in tests, with an injectable ``clock``).

Precedence of a value, first wins: an explicit argument (``IssueConfig(deadlines=…)``),
a ``CIVGRID_*`` setting (:meth:`IssueConfig.from_settings`), the current city's
profile (``city.deadlines`` and ``city.notice_prefix``, see
:mod:`civgrid.grids.core.city`), the code's default. ``CIVGRID_DEADLINES`` is laid
over the city's deadlines key by key (``default``, each priority, each category).
The time zone is the county's one zone (:func:`civgrid.grids.core.calendar.local_zone`:
the city profile's, or ``CIVGRID_TIME_ZONE``).

Examples
--------
>>> from datetime import datetime, UTC
>>> cfg = IssueConfig(clock=lambda: datetime(2025, 3, 3, 1, 0, tzinfo=UTC))
>>> cfg.now().isoformat()
'2025-03-03T01:00:00+00:00'
>>> cfg.duplicate_radius_for("street_vending")
30.0
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from civgrid.grids.core import labels as zh
from civgrid.grids.core.calendar import (
    DeadlinePolicy,
    DeadlineRule,
    WorkingCalendar,
    local_zone,
    parse_day_list,
)
from civgrid.grids.core.campaigns import Campaign
from civgrid.grids.core.city import current_city
from civgrid.grids.issues.workflow import Workflow

__all__ = [
    "IssueConfig",
    "IssueSettings",
    "Source",
    "configured_calendar",
]


class Source(enum.StrEnum):
    """Where an issue came from (问题来源)."""

    field_supervision = "field_supervision"  # 现场督查
    unannounced_visit = "unannounced_visit"  # 明察暗访
    referral = "referral"  # 上级交办
    media_exposure = "media_exposure"  # 媒体曝光
    citizen_complaint = "citizen_complaint"  # 市民投诉
    mystery_inspector = "mystery_inspector"  # 神秘人
    simulated_assessment = "simulated_assessment"  # 模拟测评
    grid_worker = "grid_worker"  # 网格员


#: Chinese labels of the sources (for lists and UI), from :mod:`civgrid.grids.core.labels`.
SOURCE_LABELS: dict[Source, str] = {s: zh.SOURCE_LABELS[s.value] for s in Source}


class IssueSettings(BaseSettings):
    """Issue-workflow settings of one city, from ``CIVGRID_*`` environment variables.

    Mappings are JSON in the environment, e.g.
    ``CIVGRID_STATE_LABELS='{"triage": "待分派"}'``,
    ``CIVGRID_DEADLINES='{"categories": {"illegal_structures": "10wd"}}'``.
    """

    model_config = SettingsConfigDict(env_prefix="CIVGRID_", env_file=None, extra="ignore")

    photo_dir: Path | None = Field(
        default=None, description="Where photos are stored; default <var_dir>/photos."
    )
    photo_max_bytes: int = Field(default=10 * 1024 * 1024, description="Largest photo accepted.")
    photo_max_count: int = Field(default=9, description="Most photos per event.")
    holidays: str = Field(
        default="",
        description="Extra public holidays: ISO dates or ranges a..b, comma separated "
        "(added to the city profile's).",
    )
    makeup_workdays: str = Field(
        default="", description="Extra make-up working days (调休), added to the profile's."
    )
    state_labels: dict[str, str] = Field(
        default_factory=dict, description="Per-city labels of workflow states."
    )
    deadlines: dict[str, Any] = Field(
        default_factory=dict,
        description="Deadline policy: default, priorities, categories (e.g. '24h', '3wd'), "
        "laid over the city profile's deadlines.",
    )
    require_photo_on_submit: bool = Field(default=True, description="A fix needs a photo.")
    triage_anonymous_citizen: bool = Field(
        default=True, description="Anonymous citizen reports wait in triage."
    )
    duplicate_radius_m: float = Field(default=30.0, description="Duplicate radius (metres).")
    duplicate_radius_by_category: dict[str, float] = Field(
        default_factory=dict, description="Per-category duplicate radius (metres)."
    )
    recurrence_days: int = Field(default=30, description="Recurrence window after closing.")
    recurrence_radius_m: float = Field(default=50.0, description="Recurrence distance (metres).")
    reopen_days: int = Field(default=30, description="A closed issue can be reopened this long.")
    notice_deadline: str | None = Field(
        default=None,
        description="Second deadline given by a 督办 notice ('2wd', '48h'); default: the "
        "city profile's (deadlines.notice), else 2wd.",
    )
    notice_prefix: str | None = Field(
        default=None, description="Prefix of 督办 notice numbers; default: the city profile's."
    )
    returns_before_notice: int = Field(
        default=2, description="Returns after which a 督办 notice is issued (0 = never)."
    )
    due_soon_hours: float = Field(default=24.0, description="'Due soon' window of the inbox.")


def city_calendar(
    holidays: list[date] | tuple[date, ...] = (),
    makeup_workdays: list[date] | tuple[date, ...] = (),
    *,
    tz: str | None = None,
) -> WorkingCalendar:
    """The national calendar plus the city profile's and these local days, in the county zone.

    The city's part is its override file (``city.calendar_file``) and its
    ``holidays`` / ``makeup_workdays`` (:meth:`City.working_calendar`).
    ``tz`` is for tests and tools only; the county's zone is :func:`local_zone`.
    """
    return current_city().working_calendar(holidays, makeup_workdays, tz=tz or local_zone())


def configured_calendar(settings: IssueSettings | None = None) -> WorkingCalendar:
    """The county's one working-day calendar as configured: the city's plus ``CIVGRID_HOLIDAYS``
    and ``CIVGRID_MAKEUP_WORKDAYS``. Deadlines, the patrol plan and cadences all use it.
    """
    s = settings or IssueSettings()
    return city_calendar(parse_day_list(s.holidays), parse_day_list(s.makeup_workdays))


def _city_notice_deadline() -> DeadlineRule:
    """The current city's 督办 notice deadline, else 2 working days."""
    return current_city().notice_deadline() or DeadlineRule.working_days(2)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class IssueConfig:
    """Everything the issue domain functions need to know about the city.

    Parameters
    ----------
    workflow : Workflow
    calendar : WorkingCalendar
    deadlines : DeadlinePolicy
        Default: the current city's (``city.deadlines``), else the code's.
    clock : callable
        Returns the current time (aware); injectable for tests and simulation.
    photo_dir : Path, optional
        Where photos are written (None: photos are refused).
    notice_deadline : DeadlineRule
        Default: the current city's (``city.deadlines.notice``), else 2 working days.
    campaigns : tuple of Campaign
        Default: the current city's (``city.campaigns``); issues reported inside one
        are tagged with it.
    (other fields as in :class:`IssueSettings`)

    An explicit argument wins over the current city's default.
    """

    workflow: Workflow = field(default_factory=Workflow)
    calendar: WorkingCalendar = field(default_factory=lambda: city_calendar())
    deadlines: DeadlinePolicy = field(default_factory=lambda: current_city().deadline_policy())
    clock: Callable[[], datetime] = _utcnow
    photo_dir: Path | None = None
    photo_max_bytes: int = 10 * 1024 * 1024
    photo_max_count: int = 9
    triage_anonymous_citizen: bool = True
    duplicate_radius_m: float = 30.0
    duplicate_radius_by_category: dict[str, float] = field(default_factory=dict)
    recurrence_days: int = 30
    recurrence_radius_m: float = 50.0
    reopen_days: int = 30
    notice_deadline: DeadlineRule = field(default_factory=lambda: _city_notice_deadline())
    notice_prefix: str = field(default_factory=lambda: current_city().notice_prefix)
    returns_before_notice: int = 2
    due_soon_hours: float = 24.0
    campaigns: tuple[Campaign, ...] = field(default_factory=lambda: current_city().campaigns)

    @classmethod
    def from_settings(
        cls,
        settings: IssueSettings | None = None,
        *,
        var_dir: Path | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> IssueConfig:
        """Build from :class:`IssueSettings` (read from the environment when omitted).

        A setting that is set wins over the current city's default (``CIVGRID_DEADLINES``
        key by key over ``city.deadlines``), which wins over the code's.

        Parameters
        ----------
        settings : IssueSettings, optional
        var_dir : Path, optional
            The app's data directory; photos go to ``var_dir/photos`` unless
            ``photo_dir`` is set.
        clock : callable, optional
        """
        s = settings or IssueSettings()
        photo_dir = s.photo_dir or (Path(var_dir) / "photos" if var_dir is not None else None)
        calendar = configured_calendar(s)
        return cls(
            workflow=Workflow.from_labels(
                s.state_labels, require_photo_on_submit=s.require_photo_on_submit
            ),
            calendar=calendar,
            deadlines=DeadlinePolicy.from_mapping(
                s.deadlines, base=current_city().deadline_policy()
            ),
            clock=clock or _utcnow,
            photo_dir=photo_dir,
            photo_max_bytes=s.photo_max_bytes,
            photo_max_count=s.photo_max_count,
            triage_anonymous_citizen=s.triage_anonymous_citizen,
            duplicate_radius_m=s.duplicate_radius_m,
            duplicate_radius_by_category=dict(s.duplicate_radius_by_category),
            recurrence_days=s.recurrence_days,
            recurrence_radius_m=s.recurrence_radius_m,
            reopen_days=s.reopen_days,
            notice_deadline=(
                DeadlineRule.parse(s.notice_deadline)
                if s.notice_deadline
                else _city_notice_deadline()
            ),
            notice_prefix=s.notice_prefix or current_city().notice_prefix,
            returns_before_notice=s.returns_before_notice,
            due_soon_hours=s.due_soon_hours,
        )

    def now(self) -> datetime:
        """The current time from :attr:`clock`, aware UTC."""
        t = self.clock()
        return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)

    def duplicate_radius_for(self, category: str) -> float:
        """Duplicate radius for ``category`` in metres."""
        return float(self.duplicate_radius_by_category.get(category, self.duplicate_radius_m))
