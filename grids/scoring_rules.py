"""Scoring rules as data: city profiles (YAML) with dated versions, validated with line numbers.

A profile file (``grids/profiles/<name>.yaml``) holds one city's rules — deductions,
bonuses, township weights, tier thresholds, ranking options, the composite indicator
and the accountability triggers — as a list of **versions**, each with an
``effective_from`` date. A score for a period uses the version in force on the
period's first day, so a rule change never rewrites past scores.

:func:`load_profile_file` parses and validates a file; a malformed file raises
:class:`RulesError` naming the file, the line and the reason. :class:`RuleRegistry`
holds the active profiles and replaces one atomically: when a new file is rejected,
the previous rules stay in force.

Examples
--------
>>> reg = RuleRegistry.with_shipped()
>>> sorted(reg.names())
['quzhou', 'shaoxing', 'sheqi']
>>> from datetime import date
>>> reg.rules("sheqi", date(2026, 12, 1)).tiers.good
90.0
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from civgrid.grids.errors import InvalidInputError, NotFoundError

__all__ = [
    "ACTION_LABELS",
    "DEFAULT_PROFILE",
    "Profile",
    "RuleRegistry",
    "RuleVersion",
    "RulesError",
    "Trigger",
    "load_profile_file",
    "load_profile_text",
    "shipped_profile_paths",
]

#: The profile used when none is named (the demo county is modelled on Sheqi).
DEFAULT_PROFILE = "sheqi"

#: Chinese labels of the consequences a trigger names and of the case actions.
ACTION_LABELS: dict[str, str] = {
    "interview": "约谈",
    "self_criticism": "书面检讨",
    "public_criticism": "通报批评",
    "referral": "问责",
    "bonus_stop": "停发奖金",
    "admonishment": "诫勉",
    "yellow_flag": "黄旗警示",
}


class RulesError(InvalidInputError):
    """A rules file that cannot be used: ``file``, ``line`` (1-based) and ``reason``."""

    def __init__(self, file: str, line: int | None, reason: str) -> None:
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {reason}", field="rules", file=file, line=line, row=line)
        self.file, self.line, self.reason = file, line, reason


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


class Bonuses(_Strict):
    """Points added: per issue closed on time, per media praise; capped by ``max_total``."""

    on_time_closure: float = Field(0.0, ge=0)
    media_praise: float = Field(0.0, ge=0)
    max_total: float = Field(5.0, ge=0)


class Weights(_Strict):
    """Township score from its communities: ``mean`` or weights per community code."""

    township: Literal["mean", "weighted"] = "mean"
    community_weights: dict[str, float] = Field(default_factory=dict)


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
        an issue from one of ``sources`` (media exposure, assessors above) in the period.
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
    level: Literal["community", "township", "department"] = "community"
    count: int = Field(1, ge=1)
    window: int = Field(12, ge=1)
    bottom: int = Field(1, ge=1)
    cadence: Literal["month", "quarter", "year"] | None = None
    days: int = Field(0, ge=0)
    sources: list[str] = Field(default_factory=list)
    quarters: int = Field(0, ge=0)


class RuleVersion(_Strict):
    """One dated version of a profile's rules."""

    effective_from: date
    base: float = Field(100.0, gt=0)
    deductions: Deductions = Field(default_factory=Deductions)
    bonuses: Bonuses = Field(default_factory=Bonuses)
    weights: Weights = Field(default_factory=Weights)
    tiers: Tiers = Field(default_factory=Tiers)
    ranking: Ranking = Field(default_factory=Ranking)
    composite: dict[
        Literal["closure_rate", "on_time_rate", "rework_rate", "extension_rate"], float
    ] = Field(default_factory=lambda: {"closure_rate": 0.4, "on_time_rate": 0.6})
    triggers: list[Trigger] = Field(default_factory=list)

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


def _line_map(node: yaml.Node, path: tuple = (), out: dict | None = None) -> dict[tuple, int]:
    """Path (keys and list indexes) → 1-based line of every node of a composed YAML tree."""
    out = {} if out is None else out
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = k.value
            out[(*path, key)] = k.start_mark.line + 1
            _line_map(v, (*path, key), out)
            out[(*path, key)] = k.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _line_map(v, (*path, i), out)
    return out


def _line_for(lines: Mapping[tuple, int], loc: Iterable[Any]) -> int | None:
    """The line of the deepest known prefix of a pydantic error location."""
    parts = tuple(str(x) if not isinstance(x, int) else x for x in loc)
    for n in range(len(parts), -1, -1):
        if parts[:n] in lines:
            return lines[parts[:n]]
    return None


def load_profile_text(text: str, file: str = "<rules>") -> Profile:
    """Parse and validate the YAML text of a profile.

    Parameters
    ----------
    text : str
        YAML.
    file : str
        Name shown in errors.

    Returns
    -------
    Profile

    Raises
    ------
    RulesError
        With the file, line and reason, for bad YAML or rules that fail validation.
    """
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                raise RulesError(file, 1, "empty rules file")
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise RulesError(file, line, f"YAML: {exc.problem or exc.context}") from exc
    if not isinstance(data, dict):
        raise RulesError(file, node.start_mark.line + 1, "a profile must be a mapping")
    lines = _line_map(node)
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = err.get("loc", ())
        where = ".".join(str(x) for x in loc)
        raise RulesError(file, _line_for(lines, loc), f"{where}: {err.get('msg')}") from exc


def load_profile_file(path: str | Path) -> Profile:
    """Read and validate a profile file (see :func:`load_profile_text`)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(str(p), None, f"cannot read: {exc}") from exc
    return load_profile_text(text, str(p))


def shipped_profile_paths() -> list[Path]:
    """The profile files shipped in ``civgrid/grids/profiles/``."""
    root = resources.files("civgrid.grids") / "profiles"
    return sorted(Path(str(p)) for p in root.iterdir() if str(p).endswith(".yaml"))


@dataclass
class _Entry:
    profile: Profile
    origin: str


class RuleRegistry:
    """The active profiles, replaced atomically.

    A profile is loaded completely and validated before it replaces the active
    one; a rejected file leaves the previous rules in force.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._profiles: dict[str, _Entry] = {}

    @classmethod
    def with_shipped(cls, local_dir: str | Path | None = None) -> RuleRegistry:
        """A registry holding the shipped profiles, then the valid ones of ``local_dir``.

        Files in ``local_dir`` (put there by :meth:`install`) replace the shipped
        profile of the same name; an invalid one is skipped (the shipped rules stay).
        """
        reg = cls()
        for p in shipped_profile_paths():
            reg.load(p)
        if local_dir is not None and Path(local_dir).is_dir():
            for p in sorted(Path(local_dir).glob("*.yaml")):
                try:
                    reg.load(p)
                except RulesError:
                    continue
        return reg

    def install_text(self, text: str, file: str, local_dir: str | Path) -> Profile:
        """Like :meth:`install` from YAML text (``file`` names it in errors)."""
        profile = load_profile_text(text, file)
        target_dir = Path(local_dir)
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / f"{profile.profile}.yaml"
        tmp = target.with_suffix(".yaml.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
        return self.load(target)

    def install(self, path: str | Path, local_dir: str | Path) -> Profile:
        """Validate ``path``, copy it to ``local_dir/<profile>.yaml`` atomically, activate it.

        Raises
        ------
        RulesError
            The file is malformed; neither the directory nor the registry changes.
        """
        profile = load_profile_file(path)
        target_dir = Path(local_dir)
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / f"{profile.profile}.yaml"
        tmp = target.with_suffix(".yaml.tmp")
        tmp.write_text(Path(path).read_text(encoding="utf-8"), encoding="utf-8")
        os.replace(tmp, target)
        return self.load(target)

    def names(self) -> list[str]:
        """Names of the loaded profiles."""
        return sorted(self._profiles)

    def load(self, path: str | Path) -> Profile:
        """Validate the file at ``path`` and make it the active version of its profile.

        Raises
        ------
        RulesError
            The file is malformed; nothing changes.
        """
        profile = load_profile_file(path)
        with self._lock:
            self._profiles = {**self._profiles, profile.profile: _Entry(profile, str(path))}
        return profile

    def load_text(self, text: str, file: str = "<upload>") -> Profile:
        """Like :meth:`load` from YAML text."""
        profile = load_profile_text(text, file)
        with self._lock:
            self._profiles = {**self._profiles, profile.profile: _Entry(profile, file)}
        return profile

    def profile(self, name: str | None = None) -> Profile:
        """The active profile ``name`` (default :data:`DEFAULT_PROFILE`)."""
        entry = self._profiles.get(name or DEFAULT_PROFILE)
        if entry is None:
            raise NotFoundError(f"no rules profile {name!r}", kind="profile", key=name)
        return entry.profile

    def origin(self, name: str) -> str:
        """Where the active profile ``name`` was loaded from."""
        return self._profiles[name].origin if name in self._profiles else ""

    def rules(self, name: str | None, day: date) -> RuleVersion:
        """The rules of profile ``name`` in force on ``day``."""
        return self.profile(name).version_on(day)
