"""Scoring rules as data: city profiles (YAML) with dated versions, validated with line numbers.

A profile file (``grids/profiles/<name>.yaml``) holds one city's rules — deductions,
bonuses, township weights, tier thresholds, ranking options, the composite indicator
and the accountability triggers — as a list of **versions**, each with an
``effective_from`` date. A score for a period uses the version in force on the
period's first day, so a rule change never rewrites past scores.

:func:`load_profile_file` parses and validates a file; a malformed file raises
:class:`RulesError` naming the file, the line and the reason — also for rules that
parse but cannot work (a ``source`` trigger without sources, a field that does
nothing for its trigger kind, ``weighted`` townships without weights, an unknown
category, source or priority code). :class:`RuleRegistry` holds the active profiles
and replaces one atomically: when a new file is rejected, the previous rules stay in
force. Past rules are never rewritten: a new file for a loaded profile must keep
every version in force on or before today (or the last day of the last published
bulletin) unchanged, and may only add versions dated after that day.

Examples
--------
>>> reg = RuleRegistry.with_shipped()
>>> sorted(reg.names())
['lvliang', 'quzhou', 'shaoxing', 'sheqi']
>>> from datetime import date
>>> reg.rules("sheqi", date(2026, 12, 1)).tiers.good
90.0
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from civgrid.grids.core.actors import SYSTEM_ACTOR, Actor
from civgrid.grids.core.calendar import Priority, local_today
from civgrid.grids.core.city import current_city
from civgrid.grids.core.errors import NotFoundError
from civgrid.grids.core.labels import CONSEQUENCE_LABELS
from civgrid.grids.core.profilefile import (
    ProfileFileError,
    compose,
    line_for,
    line_map,
    validation_error,
)
from civgrid.grids.issues.config import Source

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

__all__ = [
    "ACTION_LABELS",
    "DAY_COUNT_RULES",
    "DEFAULT_PROFILE",
    "SOURCE_NOTICES",
    "TRIGGER_FIELDS",
    "CaseType",
    "Citation",
    "DayCount",
    "PointsRule",
    "Profile",
    "RuleRegistry",
    "RuleVersion",
    "RulesError",
    "SubjectList",
    "Subjects",
    "SupervisionReport",
    "Trigger",
    "default_profile",
    "known_categories",
    "load_profile_file",
    "load_profile_text",
    "shipped_profile_paths",
]

#: The demo county's profile (Sheqi). The profile used when none is named is the
#: current city's (:func:`default_profile`), this one for the default city.
DEFAULT_PROFILE = "sheqi"


def default_profile() -> str:
    """The profile scored under when none is named: the current city's.

    ``city.scoring_profile`` of the selected profile file, else its ``profile:``
    name (see :mod:`civgrid.grids.core.city`; ``CIVGRID_CITY`` selects the city).
    """
    return current_city().scoring_profile_name


#: Chinese labels of the consequences a trigger names and of the case actions.
#: (Their home is ``grids/core/labels.py``.)
ACTION_LABELS: dict[str, str] = CONSEQUENCE_LABELS


#: Trigger fields that mean something for each kind (besides id, kind, label, action,
#: level and quarters); setting any other field is refused.
TRIGGER_FIELDS: dict[str, frozenset[str]] = {
    "named_worst": frozenset({"count", "window", "consecutive"}),
    "poor_tier_consecutive": frozenset({"count", "cadence"}),
    "bottom_consecutive": frozenset({"count", "bottom", "cadence"}),
    "recurrence": frozenset({"count"}),
    "overdue_days": frozenset({"days"}),
    "returned": frozenset({"count"}),
    "source": frozenset({"sources", "poor_rectification"}),
    "below_score": frozenset({"score", "cadence"}),
}
_TRIGGER_COMMON = frozenset(
    {"id", "kind", "label", "action", "level", "quarters", "citation", "local", "local_reason"}
)
#: The notices the shipped profiles cite (``grids/profiles/*.yaml``), by source file.
SOURCE_NOTICES: dict[str, str] = {
    "000_937da53cf39d0f0c.txt": "绍兴市《全国文明城市创建工作责任追究情形》（附件1）",
    "001_909151c7946e1cf7.txt": "《2022年吕梁市创建省级文明城市督导方案》",
    "002_5a21e84742e88bdd.txt": "衢州市“这7种情况将被追责”",
    "003_fc888b809f91fb3b.txt": "民权县文明办提案答复",
    "004_78eab5dd939a4315.txt": "社旗县《关于建立完善文明城市常态化创建工作机制的意见》",
}
_SOURCES = frozenset(s.value for s in Source)
_PRIORITIES = frozenset(p.value for p in Priority)


@functools.cache
def known_categories() -> frozenset[str]:
    """The category codes of the seeded category tree (``grids/seed/categories.yaml``).

    Profiles are checked against these unless a caller passes the county's own list
    (``categories=``), e.g. the categories table of the database.
    """
    from civgrid.grids.boundaries.seed import load_category_tree

    out: set[str] = set()
    stack = list(load_category_tree())
    while stack:
        node = stack.pop()
        out.add(str(node["code"]))
        stack.extend(node.get("children") or [])
    return frozenset(out)


def _bad(field: str, message: str, **ctx: Any) -> PydanticCustomError:
    """A validation error located at ``field`` below the current model (see ``_loc``)."""
    return PydanticCustomError("rules", message, {"field": field, **ctx})


def _check_codes(v: Mapping[str, Any] | Collection[str], known: Collection[str], what: str) -> None:
    for code in v:
        if code not in known:
            raise _bad(
                str(code), f"unknown {what} code {code!r}; known: {', '.join(sorted(known))}"
            )


class RulesError(ProfileFileError):
    """A rules file that cannot be used: ``file``, ``line`` (1-based) and ``reason``."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Deductions(_Strict):
    """Points deducted (per issue of the unit in the period)."""

    per_issue: float = Field(1.0, ge=0)
    by_category: dict[str, float] = Field(default_factory=dict)
    by_source: dict[str, float] = Field(default_factory=dict)
    by_priority: dict[str, float] = Field(default_factory=dict)
    per_overdue_day: float = Field(0.0, ge=0)
    max_overdue_days: int = Field(30, ge=0)
    per_recurrence: float = Field(0.0, ge=0)
    per_return: float = Field(0.0, ge=0)
    per_extension: float = Field(0.0, ge=0)

    @field_validator("by_category")
    @classmethod
    def _categories(cls, v: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        known = (info.context or {}).get("categories") or known_categories()
        _check_codes(v, known, "category")
        return v

    @field_validator("by_source")
    @classmethod
    def _sources(cls, v: dict[str, float]) -> dict[str, float]:
        _check_codes(v, _SOURCES, "source")
        return v

    @field_validator("by_priority")
    @classmethod
    def _priorities(cls, v: dict[str, float]) -> dict[str, float]:
        _check_codes(v, _PRIORITIES, "priority")
        return v


class Bonuses(_Strict):
    """Points added: per issue closed on time, per media praise; capped by ``max_total``."""

    on_time_closure: float = Field(0.0, ge=0)
    media_praise: float = Field(0.0, ge=0)
    max_total: float = Field(5.0, ge=0)


class Weights(_Strict):
    """Township score from its communities: ``mean`` or a weighted mean.

    ``weighted`` takes ``community_weights`` (code: weight) first, else, with
    ``weight_by: unit_grids``, the community's number of unit grids, else 1.
    """

    township: Literal["mean", "weighted"] = "mean"
    community_weights: dict[str, Annotated[float, Field(gt=0)]] = Field(default_factory=dict)
    weight_by: Literal["unit_grids"] | None = None

    @model_validator(mode="after")
    def _weights_used(self) -> Weights:
        if self.township == "weighted" and not (self.community_weights or self.weight_by):
            raise _bad(
                "township",
                "weighted townships need community_weights (code: weight) or weight_by",
            )
        if self.weight_by and self.township != "weighted":
            raise _bad("weight_by", "weight_by does nothing with township: mean")
        if self.township == "mean" and self.community_weights:
            raise _bad(
                "community_weights",
                "community_weights do nothing with township: mean (use township: weighted)",
            )
        return self


class Tiers(_Strict):
    """Tier thresholds (100-point scale): ``>= good`` → 好, ``>= fair`` → 中, else 差."""

    good: float = 90.0
    fair: float = 75.0

    @field_validator("fair")
    @classmethod
    def _ordered(cls, v: float, info: Any) -> float:
        good = info.data.get("good", 90.0)
        if v > good:
            raise ValueError(f"fair ({v}) must not exceed good ({good})")
        return v


class Ranking(_Strict):
    """Ranking options: minimum sample for rate rankings, how many best/worst are named."""

    min_sample: int = Field(5, ge=1)
    best_named: int = Field(3, ge=0)
    worst_named: int = Field(3, ge=0)


class Citation(_Strict):
    """Where a rule comes from: the notice ``file`` (under ``domain/sources``), its
    ``clause`` and the ``text`` quoted exactly as the file has it (002 in traditional
    characters)."""

    file: str = Field(min_length=1)
    clause: str = Field(min_length=1)
    text: str = Field(min_length=1)

    def render(self) -> str:
        """Chinese citation line: notice, clause and the quoted text.

        Examples
        --------
        >>> Citation(file="x.txt", clause="一", text="甲").render()
        'x.txt 一：“甲”'
        """
        return f"{SOURCE_NOTICES.get(self.file, self.file)} {self.clause}：“{self.text}”"


class Trigger(_Strict):
    """An accountability rule (问责情形).

    Kinds
    -----
    ``named_worst``
        named among the worst in ``count`` monthly bulletins within ``window`` months.
    ``poor_tier_consecutive``
        tier 差 ``count`` periods in a row (``cadence`` quarter by default, or year).
    ``bottom_consecutive``
        among the bottom ``bottom`` ranks ``count`` periods (``cadence``, default
        month) in a row.
    ``recurrence``
        the same category recurring at the same unit grid ``count`` times in the period.
    ``overdue_days``
        an issue overdue by more than ``days`` days.
    ``returned``
        a fix returned ``count`` times.
    ``source``
        an issue from one of ``sources`` (media exposure, assessors above) in the
        period; with ``poor_rectification``, only when its rectification was also
        poor (a fix returned, or the deadline passed before it was closed).
    ``below_score``
        a score below ``score`` (the passing score) in a period (``cadence``, default
        quarter).

    ``named_worst`` with ``consecutive`` counts namings in consecutive published
    monthly bulletins (a month without a bulletin neither counts nor breaks the
    run); without it, namings within ``window`` months.

    Every trigger carries its ``citation`` (notice file, clause, quoted text) and/or
    ``local: true`` with ``local_reason`` naming the number the notice lacks.
    """

    id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    kind: Literal[
        "named_worst",
        "poor_tier_consecutive",
        "bottom_consecutive",
        "recurrence",
        "overdue_days",
        "returned",
        "source",
        "below_score",
    ]
    label: str = Field(min_length=1)
    action: Literal[
        "interview",
        "self_criticism",
        "public_criticism",
        "referral",
        "bonus_stop",
        "admonishment",
        "yellow_flag",
    ]
    level: Literal["community", "township", "department", "civilized_unit"] = "community"
    count: int = Field(1, ge=1)
    window: int = Field(12, ge=1)
    bottom: int = Field(1, ge=1)
    cadence: Literal["month", "quarter", "year"] | None = None
    days: int = Field(0, ge=0)
    sources: list[str] = Field(default_factory=list)
    quarters: int = Field(0, ge=0)
    consecutive: bool = False
    poor_rectification: bool = False
    score: float = Field(60.0, ge=0)
    citation: Citation | None = None
    local: bool = False
    local_reason: str = ""

    @property
    def citation_text(self) -> str:
        """The citation in Chinese: the quoted clause, and the local choice if any."""
        parts = [f"依据：{self.citation.render()}"] if self.citation else []
        if self.local:
            parts.append(f"本地规定：{self.local_reason}")
        return "；".join(parts)

    @model_validator(mode="after")
    def _works(self) -> Trigger:
        allowed = _TRIGGER_COMMON | TRIGGER_FIELDS[self.kind]
        for name in sorted(self.model_fields_set - allowed):
            hint = (
                "named_worst counts monthly bulletins"
                if (self.kind, name) == ("named_worst", "cadence")
                else f"it applies to {', '.join(k for k, f in TRIGGER_FIELDS.items() if name in f)}"
            )
            raise _bad(name, f"{name} does nothing for a {self.kind} trigger ({hint})")
        if self.kind == "source":
            if not self.sources:
                raise _bad("sources", "a source trigger needs sources (e.g. [media_exposure])")
            if unknown := [x for x in self.sources if x not in _SOURCES]:
                raise _bad(
                    "sources",
                    f"unknown source code {unknown[0]!r}; known: " + ", ".join(sorted(_SOURCES)),
                )
        if self.kind == "named_worst":
            if self.level not in ("community", "township"):
                raise _bad("level", "bulletins name communities and townships only")
            if self.window < self.count:
                raise _bad(
                    "window",
                    f"window ({self.window}) shorter than count ({self.count}): "
                    "the trigger could never fire",
                )
        if self.local and not self.local_reason:
            raise _bad("local_reason", "local: true needs local_reason (what the notice lacks)")
        if self.local_reason and not self.local:
            raise _bad("local_reason", "local_reason needs local: true")
        if self.level == "civilized_unit" and self.kind not in (
            "poor_tier_consecutive",
            "below_score",
            "bottom_consecutive",
        ):
            raise _bad(
                "level",
                "civilized (pairing) units have scores only: a score trigger "
                "(poor_tier_consecutive, below_score, bottom_consecutive)",
            )
        if self.quarters and self.action != "bonus_stop":
            raise _bad("quarters", "quarters (of bonus stopped) needs action: bonus_stop")
        return self


class CaseType(_Strict):
    """A manual case type (问责情形 the data cannot show): obstruction, fraud, 推诿扯皮….

    The command center opens such a case with evidence and a subject (a unit, a
    township or community, or a leader by key); it has the same actions and audit
    as a triggered case.
    """

    id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    label: str = Field(min_length=1)
    action: Literal[
        "interview",
        "self_criticism",
        "public_criticism",
        "referral",
        "bonus_stop",
        "admonishment",
        "yellow_flag",
    ] = "referral"
    citation: Citation

    @property
    def citation_text(self) -> str:
        """The citation in Chinese."""
        return f"依据：{self.citation.render()}"


#: The rules that count days, by key of ``day_counts`` (see :class:`DayCount`).
DAY_COUNT_RULES: dict[str, str] = {
    "overdue_deduction": "per_overdue_day / max_overdue_days (超期扣分)",
    "overdue_trigger": "overdue_days triggers (超期问责情形)",
    "negative_list": "overdue entries of the negative list (负面清单超期)",
}


class DayCount(_Strict):
    """How one rule counts days: ``working`` (工作日: the county calendar,
    ``grids/core/calendar.py`` from chinesecalendar plus the override file) or
    ``calendar`` (自然日). Either the notice says it (``citation`` quoting “工作日”)
    or it is a local choice (``local: true`` with ``local_reason``)."""

    count: Literal["working", "calendar"] = "calendar"
    citation: Citation | None = None
    local: bool = False
    local_reason: str = ""

    @model_validator(mode="after")
    def _grounded(self) -> DayCount:
        if self.citation is None and not self.local:
            raise _bad("local", "a day count cites the notice (工作日) or is local: true")
        if self.local and not self.local_reason:
            raise _bad("local_reason", "local: true needs local_reason")
        if (
            self.citation is not None
            and "工作日" not in self.citation.text
            and (self.count == "working")
        ):
            raise _bad("citation", "a cited working-day count must quote the notice's 工作日")
        return self


class SubjectList(_Strict):
    """Units the notice names as one group of assessed subjects, and their period.

    ``units`` are the names as the notice writes them (matched to the county's units
    by name); ``period`` is ``quarter`` (key-task departments, “每季度”) or ``half``
    (other-task units, “每半年”); the group is ranked only over that period (or the
    year, for the annual result).
    """

    label: str = Field(min_length=1)
    period: Literal["quarter", "half"]
    units: list[str] = Field(min_length=1)
    citation: Citation

    @field_validator("units")
    @classmethod
    def _distinct(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("a unit is listed twice")
        return v


class PairingSubjects(_Strict):
    """Civilized (pairing, 联建) units: scored ``period``-ly as their paired
    community's score plus their recorded 联建 work."""

    label: str = Field(min_length=1)
    period: Literal["quarter"] = "quarter"
    citation: Citation


class Subjects(_Strict):
    """The assessed subjects besides communities and townships (Sheqi 004 二、（三）2 三)."""

    civilized_units: PairingSubjects | None = None
    key_task_units: SubjectList | None = None
    other_task_units: SubjectList | None = None

    @model_validator(mode="after")
    def _disjoint(self) -> Subjects:
        if self.key_task_units and self.other_task_units:
            both = set(self.key_task_units.units) & set(self.other_task_units.units)
            if both:
                raise _bad("other_task_units", f"{sorted(both)[0]} is in both lists")
        return self


class SupervisionReport(_Strict):
    """A monthly supervision report (督查报告) due on ``day`` of each month, separate
    from the month-end bulletin (Lüliang: “每月25日总结本月督导情况，形成督查报告”)."""

    day: int = Field(ge=1, le=28)
    citation: Citation


class PointsRule(_Strict):
    """How the field points (实地考察点位) inspected in a month count in its scores.

    Each point inspected in the month (its last inspection there) costs the unit
    answering for it ``per_point × (100 − point score) / 100`` points at each of
    ``levels`` — the point's community, the township it lies in (for a township
    scored from its own points: one without community grids) or its responsible
    unit (``department``). The point score (0–100) is
    :func:`civgrid.grids.points.mock.point_score` of the inspection against its
    type's checklist: 0 when a must-pass item failed. With ``samples``, a point
    inspection in the month also samples the point's community and township (it
    is scored that month). The failed items are issues too and count as issues.

    The weight is never in a notice: ``local: true`` with ``local_reason`` is
    required, and a ``citation`` says which clause points are scored under.

    Examples
    --------
    >>> PointsRule(per_point=2, local=True, local_reason="x").deduction(75.0)
    0.5
    """

    per_point: float = Field(gt=0, le=100)
    levels: list[Literal["community", "township", "department"]] = Field(
        default_factory=lambda: ["community", "township"], min_length=1
    )
    samples: bool = True
    citation: Citation | None = None
    local: bool = False
    local_reason: str = ""

    def deduction(self, score: float) -> float:
        """Points a point scoring ``score`` (0–100) costs its unit (positive)."""
        return round(self.per_point * max(0.0, 100.0 - score) / 100.0, 4)

    @model_validator(mode="after")
    def _grounded(self) -> PointsRule:
        if not self.local or not self.local_reason:
            raise _bad(
                "local",
                "the weight of points is a local choice (no notice gives one): "
                "local: true with local_reason",
            )
        return self


_Rate = Literal["closure_rate", "on_time_rate", "rework_rate", "extension_rate"]


class RuleVersion(_Strict):
    """One dated version of a profile's rules.

    ``sampling`` says which units a monthly score covers when the caller does not
    choose: ``all`` (every unit, the default), ``patrol`` (communities and points
    visited by patrols marked done in the month), ``issues`` (where an inspection
    found something) or ``visited`` (both: visited by a patrol, or an inspection
    found something there).

    ``rectify_days`` (Shaoxing): a case opens as 限期整改 with that many days and is
    referred only when the window passes unrectified. ``case_types`` are the manual
    case types the command center may open, each with its clause.

    ``composite`` weighs the rates of the composite indicator; ``composite_by`` may
    give other weights per grouping (a region level, ``department`` or ``post``).

    ``points`` (:class:`PointsRule`) says how the field points inspected in a month
    weigh in its scores (None: they do not).
    """

    def composite_for(self, by: str) -> dict[str, float]:
        """The composite weights of grouping ``by`` (its own, else ``composite``)."""
        own = self.composite_by.get(by)
        return dict(own if own is not None else self.composite)

    effective_from: date
    base: float = Field(100.0, gt=0)
    deductions: Deductions = Field(default_factory=Deductions)
    bonuses: Bonuses = Field(default_factory=Bonuses)
    weights: Weights = Field(default_factory=Weights)
    tiers: Tiers = Field(default_factory=Tiers)
    ranking: Ranking = Field(default_factory=Ranking)
    composite: dict[_Rate, float] = Field(
        default_factory=lambda: {"closure_rate": 0.4, "on_time_rate": 0.6}
    )
    composite_by: dict[
        Literal["community", "township", "unit_grid", "road_section", "department", "post"],
        dict[_Rate, float],
    ] = Field(default_factory=dict)
    triggers: list[Trigger] = Field(default_factory=list)
    sampling: Literal["all", "patrol", "issues", "visited"] = "all"
    #: Days of 限期整改 a case gets before it is referred (None: act at once).
    rectify_days: int | None = Field(None, ge=1)
    #: The monthly supervision report's day (None: the profile has none).
    supervision_report: SupervisionReport | None = None
    case_types: list[CaseType] = Field(default_factory=list)
    #: Assessed subjects besides communities and townships, with their periods.
    subjects: Subjects = Field(default_factory=Subjects)
    #: How each day-counting rule counts (key of :data:`DAY_COUNT_RULES` → DayCount);
    #: a rule not listed counts calendar days.
    day_counts: dict[Literal["overdue_deduction", "overdue_trigger", "negative_list"], DayCount] = (
        Field(default_factory=dict)
    )
    #: How the field points inspected in a month count (None: they do not).
    points: PointsRule | None = None

    def counts_working(self, rule: str) -> bool:
        """Whether ``rule`` (a key of :data:`DAY_COUNT_RULES`) counts working days."""
        got = self.day_counts.get(rule)  # type: ignore[call-overload]
        return got is not None and got.count == "working"

    def case_type(self, type_id: str) -> CaseType:
        """The manual case type ``type_id``.

        Raises
        ------
        NotFoundError
            No such case type in these rules.
        """
        for c in self.case_types:
            if c.id == type_id:
                return c
        known = ", ".join(c.id for c in self.case_types) or "none"
        raise NotFoundError(
            f"no manual case type {type_id!r} (known: {known})", kind="case_type", key=type_id
        )

    @field_validator("triggers")
    @classmethod
    def _unique_ids(cls, v: list[Trigger]) -> list[Trigger]:
        seen: set[str] = set()
        for t in v:
            if t.id in seen:
                raise ValueError(f"duplicate trigger id {t.id!r}")
            seen.add(t.id)
        return v


class Profile(_Strict):
    """A city profile: name, label, the source notice, and its dated versions."""

    profile: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1)
    source: str = ""
    versions: list[RuleVersion] = Field(min_length=1)

    @field_validator("versions")
    @classmethod
    def _dates_distinct(cls, v: list[RuleVersion]) -> list[RuleVersion]:
        dates = [x.effective_from for x in v]
        if len(set(dates)) != len(dates):
            raise ValueError("two versions share an effective_from date")
        return sorted(v, key=lambda x: x.effective_from)

    def version_on(self, day: date) -> RuleVersion:
        """The version in force on ``day`` (the latest with ``effective_from <= day``).

        Raises
        ------
        NotFoundError
            When ``day`` is before the first version.
        """
        found = [x for x in self.versions if x.effective_from <= day]
        if not found:
            raise NotFoundError(
                f"profile {self.profile} has no rules in force on {day.isoformat()}",
                kind="rules",
                key=self.profile,
            )
        return found[-1]


# --------------------------------------------------------------------------- loading


_line_map = line_map
_line_for = line_for


@dataclass(frozen=True)
class _Parsed:
    """A validated profile with the lines of its versions (for history checks)."""

    profile: Profile
    file: str
    version_lines: dict[date, int]
    versions_line: int | None


def _parse(text: str, file: str, categories: Collection[str] | None = None) -> _Parsed:
    data, lines = compose(text, file, RulesError)
    # the city: section belongs to civgrid.grids.core.city, point_standards: to
    # civgrid.grids.points.standards (each validated there)
    data = {k: v for k, v in data.items() if k not in ("city", "point_standards")}
    context = {"categories": frozenset(categories)} if categories is not None else None
    try:
        profile = Profile.model_validate(data, context=context)
    except ValidationError as exc:
        raise validation_error(exc, file, lines, (), RulesError) from exc
    version_lines: dict[date, int] = {}
    for i, raw in enumerate(data.get("versions") or []):
        eff = RuleVersion.model_validate(raw, context=context).effective_from
        version_lines[eff] = _line_for(lines, ("versions", i, "effective_from")) or 0
    return _Parsed(profile, file, version_lines, lines.get(("versions",)))


def load_profile_text(
    text: str, file: str = "<rules>", *, categories: Collection[str] | None = None
) -> Profile:
    """Parse and validate the YAML text of a profile.

    Parameters
    ----------
    text : str
        YAML.
    file : str
        Name shown in errors.
    categories : collection of str, optional
        The category codes in use (default: :func:`known_categories`); a
        ``by_category`` key outside them is refused.

    Returns
    -------
    Profile

    Raises
    ------
    RulesError
        With the file, line and reason, for bad YAML, rules that fail validation
        and rules that cannot work (unknown codes, a trigger field that does nothing).
    """
    return _parse(text, file, categories).profile


def _read(path: str | Path) -> str:
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(str(p), None, f"cannot read: {exc}") from exc


def load_profile_file(path: str | Path, *, categories: Collection[str] | None = None) -> Profile:
    """Read and validate a profile file (see :func:`load_profile_text`)."""
    return load_profile_text(_read(path), str(Path(path)), categories=categories)


def shipped_profile_paths() -> list[Path]:
    """The profile files shipped in ``civgrid/grids/profiles/``."""
    root = resources.files("civgrid.grids") / "profiles"
    return sorted(Path(str(p)) for p in root.iterdir() if str(p).endswith(".yaml"))


def _city_rules_file() -> Path | None:
    """The current city's profile file when it is not shipped and holds ``versions:``."""
    file = current_city().source_file
    if not file or not (path := Path(file)).is_file():
        return None
    if path.resolve() in {p.resolve() for p in shipped_profile_paths()}:
        return None
    data, _ = compose(_read(path), str(path), RulesError)
    return path if data.get("versions") else None


def _today() -> date:
    """Today in the county's time zone."""
    return local_today()


def _differs(old: RuleVersion, new: RuleVersion) -> list[str]:
    a, b = old.model_dump(mode="json"), new.model_dump(mode="json")
    return [k for k in a if a[k] != b.get(k)]


def _check_history(old: Profile, new: _Parsed, frozen_through: date) -> None:
    """Refuse ``new`` unless it keeps ``old``'s versions in force by ``frozen_through``.

    Parameters
    ----------
    old : Profile
        The profile in force.
    new : _Parsed
        The parsed replacement (with the lines of its versions).
    frozen_through : date
        The last day whose rules may not change (today, or the last day of the
        last published bulletin's period if later).

    Raises
    ------
    RulesError
        A version in force on or before ``frozen_through`` is missing or changed,
        or a new version takes effect on or before it.
    """
    by_date = {v.effective_from: v for v in new.profile.versions}
    day = frozen_through.isoformat()
    past = {v.effective_from for v in old.versions if v.effective_from <= frozen_through}
    for ov in old.versions:
        if ov.effective_from not in past:
            continue
        eff = ov.effective_from.isoformat()
        nv = by_date.get(ov.effective_from)
        if nv is None:
            raise RulesError(
                new.file,
                new.versions_line,
                f"the version effective {eff} was in force on or before {day} and must be "
                "kept unchanged (past scores and bulletins rest on it); add a new version "
                f"dated after {day} instead",
            )
        if changed := _differs(ov, nv):
            raise RulesError(
                new.file,
                new.version_lines.get(ov.effective_from),
                f"the version effective {eff} was in force on or before {day} and cannot be "
                f"changed ({', '.join(changed)} differ); add a new version dated after {day}",
            )
    for nv in new.profile.versions:
        if nv.effective_from <= frozen_through and nv.effective_from not in past:
            raise RulesError(
                new.file,
                new.version_lines.get(nv.effective_from),
                f"a new version must take effect after {day} (today or the last published "
                f"bulletin's period); effective_from {nv.effective_from.isoformat()} is not",
            )


@dataclass
class _Entry:
    profile: Profile
    origin: str


class RuleRegistry:
    """The active profiles, replaced atomically; past versions never rewritten.

    A profile is loaded completely and validated before it replaces the active
    one; a rejected file leaves the previous rules in force. When the profile is
    already loaded, the new file must keep every version in force on or before
    today (``clock``, or the ``today`` argument) unchanged and date new versions
    after it (see :func:`_check_history`).

    Parameters
    ----------
    clock : callable, optional
        Returns today's date (default: today in the county's time zone).
    categories : collection of str, optional
        Category codes profiles are checked against (default: the seeded tree).
    """

    def __init__(
        self,
        clock: Callable[[], date] | None = None,
        categories: Collection[str] | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._profiles: dict[str, _Entry] = {}
        self.clock = clock or _today
        self.categories = frozenset(categories) if categories is not None else None
        #: Files of the local profile directory that were skipped (malformed).
        self.problems: list[RulesError] = []
        #: The local profile directory watched for changes (set by :meth:`with_shipped`).
        self.local_dir: Path | None = None
        self._signature: tuple | None = None

    def _stat(self) -> tuple:
        """A cheap signature of the local directory: (name, mtime, size) of each file."""
        if self.local_dir is None:
            return ()
        out = []
        try:
            for p in sorted(self.local_dir.glob("*.yaml")):
                st = p.stat()
                out.append((p.name, st.st_mtime_ns, st.st_size))
        except OSError:
            pass
        return tuple(out)

    def refresh(self) -> bool:
        """Reload the shipped and local profiles when the local directory changed.

        Another process (``civgrid score rules load``) may install a file while this
        registry serves requests; every read compares the directory's signature
        (names, modification times, sizes) with the one loaded and reloads on a
        change, as at start-up (installed files are trusted, malformed ones
        skipped and reported in :attr:`problems`). Profiles loaded only in memory
        (:meth:`load`, :meth:`load_text`) give way to the files on a reload.

        Returns
        -------
        bool
            Whether the profiles were reloaded.
        """
        if self.local_dir is None:
            return False
        sig = self._stat()
        if sig == self._signature:
            return False
        with self._lock:
            fresh = type(self).with_shipped(self.local_dir, self.clock, self.categories)
            self._profiles, self.problems = fresh._profiles, fresh.problems
            self._signature = fresh._signature
        return True

    @classmethod
    def with_shipped(
        cls,
        local_dir: str | Path | None = None,
        clock: Callable[[], date] | None = None,
        categories: Collection[str] | None = None,
    ) -> RuleRegistry:
        """A registry holding the shipped profiles, then the valid ones of ``local_dir``.

        The current city's profile file, when it is not a shipped one and has
        ``versions:``, is loaded after the shipped ones (a bad one raises).

        Files in ``local_dir`` (put there by :meth:`install`, which checked their
        history) replace the shipped profile of the same name. A malformed one is
        skipped — the shipped rules stay — and reported: a warning is logged and
        the error (file, line, reason) is kept in :attr:`problems`. The directory
        is watched: a file installed or changed there later (by another process) is
        picked up on the next read (:meth:`refresh`).
        """
        reg = cls(clock, categories)
        if local_dir is not None:
            reg.local_dir = Path(local_dir)
            reg._signature = reg._stat()  # before reading: a later change reloads again
        for p in shipped_profile_paths():
            reg._activate(reg._parse_file(p))
        if (city_file := _city_rules_file()) is not None:
            reg._activate(reg._parse_file(city_file))
        if local_dir is not None and Path(local_dir).is_dir():
            for p in sorted(Path(local_dir).glob("*.yaml")):
                try:
                    reg._activate(reg._parse_file(p))
                except RulesError as exc:
                    log.warning("rule profile skipped: %s", exc)
                    reg.problems.append(exc)
        return reg

    def _parse_file(self, path: str | Path) -> _Parsed:
        return _parse(_read(path), str(Path(path)), self.categories)

    def _cats(self, categories: Collection[str] | None) -> Collection[str] | None:
        return categories if categories is not None else self.categories

    def _activate(self, parsed: _Parsed, origin: str | None = None) -> Profile:
        with self._lock:
            entry = _Entry(parsed.profile, origin or parsed.file)
            self._profiles = {**self._profiles, parsed.profile.profile: entry}
        return parsed.profile

    def _check(self, parsed: _Parsed, today: date | None, not_before: _NotBefore) -> None:
        """History check of ``parsed`` against the loaded profile of that name."""
        self.refresh()
        entry = self._profiles.get(parsed.profile.profile)
        if entry is None:
            return
        frozen = today or self.clock()
        extra = not_before(parsed.profile.profile) if callable(not_before) else not_before
        if extra is not None and extra > frozen:
            frozen = extra
        _check_history(entry.profile, parsed, frozen)

    def _audit_install(
        self, session: Session, actor: Actor | None, parsed: _Parsed, text: str
    ) -> None:
        """Append ``score.rules.install`` (versions before and after) to the caller's session."""
        from civgrid.grids.core import audit  # here: the registry itself needs no database

        name = parsed.profile.profile
        old = self._profiles.get(name)
        before = None
        if old is not None:
            before = {
                "versions": [v.effective_from.isoformat() for v in old.profile.versions],
                "origin": old.origin,
            }
        after = {
            "versions": [v.effective_from.isoformat() for v in parsed.profile.versions],
            "file": parsed.file,
            "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        }
        audit.record(
            session,
            actor or SYSTEM_ACTOR,
            "score.rules.install",
            "rules_profile",
            name,
            before=before,
            after=after,
        )
        session.flush()  # a database error stops the install before the file changes

    def _install(
        self,
        parsed: _Parsed,
        text: str,
        local_dir: str | Path,
        today: date | None,
        not_before: _NotBefore,
        session: Session | None = None,
        actor: Actor | None = None,
    ) -> Profile:
        with self._lock:
            self._check(parsed, today, not_before)
            if session is not None:
                self._audit_install(session, actor, parsed, text)
            target_dir = Path(local_dir)
            target_dir.mkdir(parents=True, exist_ok=True)
            target = target_dir / f"{parsed.profile.profile}.yaml"
            tmp = target.with_suffix(".yaml.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, target)
            return self._activate(parsed, str(target))

    def install_text(
        self,
        text: str,
        file: str,
        local_dir: str | Path,
        *,
        today: date | None = None,
        not_before: _NotBefore = None,
        categories: Collection[str] | None = None,
        session: Session | None = None,
        actor: Actor | None = None,
    ) -> Profile:
        """Like :meth:`install` from YAML text (``file`` names it in errors)."""
        parsed = _parse(text, file, self._cats(categories))
        return self._install(parsed, text, local_dir, today, not_before, session, actor)

    def install(
        self,
        path: str | Path,
        local_dir: str | Path,
        *,
        today: date | None = None,
        not_before: _NotBefore = None,
        categories: Collection[str] | None = None,
        session: Session | None = None,
        actor: Actor | None = None,
    ) -> Profile:
        """Validate ``path``, copy it to ``local_dir/<profile>.yaml`` atomically, activate it.

        Parameters
        ----------
        path : str or Path
        local_dir : str or Path
        today : date, optional
            Default: the registry's clock.
        not_before : date or callable, optional
            A later day whose rules are frozen too (the last day of the last
            published bulletin), or ``profile name → date or None``.
        categories : collection of str, optional
            Category codes in use (default: the registry's).
        session : Session, optional
            With it, the install is audited in the caller's transaction
            (``score.rules.install``: the versions before and after, the file and
            its SHA-256), flushed before the file is written; a refused file
            records nothing.
        actor : Actor, optional
            Who installs (default: the system).

        Raises
        ------
        RulesError
            The file is malformed or rewrites past versions; neither the directory
            nor the registry changes.
        """
        text = _read(path)
        parsed = _parse(text, str(Path(path)), self._cats(categories))
        return self._install(parsed, text, local_dir, today, not_before, session, actor)

    def names(self) -> list[str]:
        """Names of the loaded profiles."""
        self.refresh()
        return sorted(self._profiles)

    def load(
        self,
        path: str | Path,
        *,
        today: date | None = None,
        not_before: _NotBefore = None,
        categories: Collection[str] | None = None,
    ) -> Profile:
        """Validate the file at ``path`` and make it the active version of its profile.

        Parameters
        ----------
        path : str or Path
        today : date, optional
            Versions in force on or before this day must stay unchanged (default:
            the registry's clock).
        not_before : date or callable, optional
            See :meth:`install`.
        categories : collection of str, optional
            See :meth:`install`.

        Raises
        ------
        RulesError
            The file is malformed or rewrites past versions; nothing changes.
        """
        parsed = _parse(_read(path), str(Path(path)), self._cats(categories))
        with self._lock:
            self._check(parsed, today, not_before)
            return self._activate(parsed)

    def load_text(
        self,
        text: str,
        file: str = "<upload>",
        *,
        today: date | None = None,
        not_before: _NotBefore = None,
        categories: Collection[str] | None = None,
    ) -> Profile:
        """Like :meth:`load` from YAML text."""
        parsed = _parse(text, file, self._cats(categories))
        with self._lock:
            self._check(parsed, today, not_before)
            return self._activate(parsed)

    def profile(self, name: str | None = None) -> Profile:
        """The active profile ``name`` (default: the current city's, :func:`default_profile`)."""
        self.refresh()
        key = name or default_profile()
        entry = self._profiles.get(key)
        if entry is None:
            raise NotFoundError(f"no rules profile {key!r}", kind="profile", key=key)
        return entry.profile

    def origin(self, name: str) -> str:
        """Where the active profile ``name`` was loaded from."""
        self.refresh()
        return self._profiles[name].origin if name in self._profiles else ""

    def rules(self, name: str | None, day: date) -> RuleVersion:
        """The rules of profile ``name`` in force on ``day``."""
        return self.profile(name).version_on(day)


_NotBefore = date | Callable[[str], date | None] | None
