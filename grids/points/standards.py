"""Point standards (测评标准) as data: point types and their checklists, versioned by date.

A city profile (``grids/profiles/<name>.yaml``) may hold a ``point_standards:`` section:
dated **versions**, each listing the point types (点位类型) with their checklist
(``checklist_item`` rows). An item has a ``code`` (unique in its version), its
``text``, its ``family`` (:data:`~civgrid.grids.core.labels.POINT_FAMILY_LABELS`:
公益广告 / 行业规范 / 公共秩序 / 环境与公共服务 / 设施与管理), whether it is
``must_pass`` (a failure makes the point non-compliant whatever the deductions) or
what it ``deducts``, whether a failure needs a ``photo`` (``photo_on_fail``), and the
issue ``category`` a failure becomes. A type has its ``threshold``: a point complies
(达标) when no must-pass item fails and its deductions stay below it
(shared/domain/ASSESSMENT.md, "How a point is scored"), and its ``weight`` in the
city's field score.

Why data: "Published local checklists group items in the same few families (wording
and counts vary by city and year, so a checklist is **data**, versioned like scoring
rules, never code)" (ASSESSMENT.md). An inspection uses the version in force on its
day; a version in force on or before today (or the last day of a published period)
cannot be changed or dropped, a new one must take effect after that day — the same
rule as the scoring versions (:mod:`civgrid.grids.scoring.rules`). A refused file
leaves the previous standards in force (:class:`StandardsRegistry`).

Errors say ``file:line: reason`` (:class:`StandardsError`, via
:mod:`civgrid.grids.core.profilefile`).

Examples
--------
>>> reg = StandardsRegistry.with_shipped()
>>> std = reg.standards("sheqi")
>>> std.versions[0].demo
True
>>> from datetime import date
>>> v = reg.version_on("sheqi", date(2026, 12, 1))
>>> v.point_type("market").label
'农贸市场'
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from civgrid.grids.core import labels as zh
from civgrid.grids.core.calendar import local_today
from civgrid.grids.core.city import current_city
from civgrid.grids.core.errors import NotFoundError
from civgrid.grids.core.profilefile import ProfileFileError, compose, line_for, validation_error

__all__ = [
    "FAMILIES",
    "SECTION",
    "ChecklistItem",
    "PointStandards",
    "PointType",
    "StandardVersion",
    "StandardsError",
    "StandardsRegistry",
    "known_categories",
    "load_standards_file",
    "load_standards_text",
]

#: The profile section holding the standards.
SECTION = "point_standards"
#: The item families (keys of ``POINT_FAMILY_LABELS``).
FAMILIES: tuple[str, ...] = tuple(zh.POINT_FAMILY_LABELS)


class StandardsError(ProfileFileError):
    """A standards file that cannot be used: ``file``, ``line`` (1-based) and ``reason``."""


@functools.cache
def known_categories() -> frozenset[str]:
    """The category codes of the seeded category tree (what a failed item may become)."""
    from civgrid.grids.boundaries.seed import load_category_tree

    out: set[str] = set()
    stack = list(load_category_tree())
    while stack:
        node = stack.pop()
        out.add(str(node["code"]))
        stack.extend(node.get("children") or [])
    return frozenset(out)


def _bad(field: str | int, message: str) -> PydanticCustomError:
    """A validation error located at ``field`` (a key or list index) below the model."""
    return PydanticCustomError("standards", message, {"field": field})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChecklistItem(_Strict):
    """One item of a point type's checklist (测评细则的一条)."""

    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
    text: str = Field(min_length=1)
    family: str
    must_pass: bool = False
    #: Points deducted when the item fails (ignored for the verdict of must-pass items).
    deduction: float = Field(1.0, ge=0)
    #: A failure must come with a photo (assessors photograph every failure).
    photo_on_fail: bool = True
    #: The issue category a failure becomes.
    category: str = Field(min_length=1)

    @field_validator("family")
    @classmethod
    def _family(cls, v: str) -> str:
        if v not in zh.POINT_FAMILY_LABELS:
            raise ValueError(f"unknown family {v!r}; known: {', '.join(FAMILIES)}")
        return v

    @field_validator("category")
    @classmethod
    def _category(cls, v: str, info: ValidationInfo) -> str:
        known = (info.context or {}).get("categories") or known_categories()
        if v not in known:
            raise ValueError(f"unknown category {v!r} (not in the category tree)")
        return v


class PointType(_Strict):
    """A point type (点位类型) and its checklist."""

    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$")
    label: str = Field(min_length=1)
    #: Deductions at or above this make the point non-compliant (不达标).
    threshold: float = Field(3.0, gt=0)
    #: Weight of the type's field score in the city's field score.
    weight: float = Field(1.0, gt=0)
    items: list[ChecklistItem] = Field(min_length=1)

    def item(self, code: str) -> ChecklistItem:
        """The item ``code`` of this checklist (NotFoundError if absent)."""
        for it in self.items:
            if it.code == code:
                return it
        raise NotFoundError(f"no item {code!r} in type {self.code}", kind="item", key=code)


class StandardVersion(_Strict):
    """One dated version of the standards: every point type and its checklist."""

    effective_from: date
    #: A demo standard built from the families of ASSESSMENT.md (not an official one).
    demo: bool = False
    label: str = ""
    types: list[PointType] = Field(min_length=1)

    @field_validator("types")
    @classmethod
    def _unique(cls, v: list[PointType]) -> list[PointType]:
        seen_types: set[str] = set()
        seen_items: dict[str, str] = {}
        for i, t in enumerate(v):
            if t.code in seen_types:
                raise _bad(i, f"duplicate point type {t.code!r}")
            seen_types.add(t.code)
            for it in t.items:
                if it.code in seen_items:
                    raise PydanticCustomError(
                        "standards",
                        f"duplicate item code {it.code!r} (also in type {seen_items[it.code]})",
                        {"field": i, "item": it.code},
                    )
                seen_items[it.code] = t.code
        return v

    def point_type(self, code: str) -> PointType:
        """The point type ``code`` (NotFoundError if this version has none)."""
        for t in self.types:
            if t.code == code:
                return t
        known = ", ".join(t.code for t in self.types)
        raise NotFoundError(
            f"no point type {code!r} in the standards of {self.effective_from} (known: {known})",
            kind="point_type",
            key=code,
        )

    def type_codes(self) -> list[str]:
        """Codes of the point types, in file order."""
        return [t.code for t in self.types]


class PointStandards(_Strict):
    """The ``point_standards`` section of a profile: its dated versions (sorted)."""

    profile: str = Field(min_length=1)
    versions: list[StandardVersion] = Field(min_length=1)

    @field_validator("versions")
    @classmethod
    def _dates(cls, v: list[StandardVersion]) -> list[StandardVersion]:
        dates = [x.effective_from for x in v]
        if len(set(dates)) != len(dates):
            raise ValueError("two versions share an effective_from date")
        return sorted(v, key=lambda x: x.effective_from)

    def version_on(self, day: date) -> StandardVersion:
        """The version in force on ``day`` (NotFoundError before the first)."""
        found = [x for x in self.versions if x.effective_from <= day]
        if not found:
            raise NotFoundError(
                f"no point standards of {self.profile} in force on {day.isoformat()}",
                kind="point_standards",
                key=self.profile,
            )
        return found[-1]


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class _Parsed:
    standards: PointStandards
    file: str
    version_lines: dict[date, int]
    section_line: int | None


def _duplicate_line(exc: ValidationError, data: dict, lines: dict) -> int | None:
    """The line of a duplicate item (the second one), when that is the error."""
    err = exc.errors()[0]
    ctx = err.get("ctx") or {}
    if "item" not in ctx:
        return None
    loc = tuple(err.get("loc", ()))  # ("versions", i, "types")
    vi = loc[1] if len(loc) > 1 else None
    ti = ctx.get("field")
    try:
        items = data["versions"][vi]["types"][ti]["items"]
    except (KeyError, IndexError, TypeError):
        return None
    code = ctx["item"]
    found = [
        k for k, raw in enumerate(items or []) if isinstance(raw, dict) and raw.get("code") == code
    ]
    if not found:
        return None
    return line_for(lines, (SECTION, "versions", vi, "types", ti, "items", found[-1], "code"))


def _parse(text: str, file: str, categories: Collection[str] | None = None) -> _Parsed:
    data, lines = compose(text, file, StandardsError)
    section = data.get(SECTION)
    if section is None:
        raise StandardsError(file, 1, f"no {SECTION}: section")
    if not isinstance(section, dict):
        raise StandardsError(file, lines.get((SECTION,)), f"{SECTION}: must be a mapping")
    name = str(data.get("profile") or Path(file).stem)
    body = {"profile": name, **section}
    context = {"categories": frozenset(categories)} if categories is not None else None
    try:
        standards = PointStandards.model_validate(body, context=context)
    except ValidationError as exc:
        err = validation_error(exc, file, lines, (SECTION,), StandardsError)
        dup = _duplicate_line(exc, section, lines)
        if dup is not None:
            raise StandardsError(file, dup, err.reason) from exc
        raise err from exc
    version_lines: dict[date, int] = {}
    for i, raw in enumerate(section.get("versions") or []):
        eff = date.fromisoformat(str(raw["effective_from"]))
        version_lines[eff] = line_for(lines, (SECTION, "versions", i, "effective_from")) or 0
    return _Parsed(standards, file, version_lines, lines.get((SECTION, "versions")))


def load_standards_text(
    text: str, file: str = "<standards>", *, categories: Collection[str] | None = None
) -> PointStandards:
    """Parse and validate the ``point_standards:`` section of a profile's YAML text.

    Parameters
    ----------
    text : str
        YAML (a whole profile or a file holding ``profile:`` and ``point_standards:``).
    file : str
        Name shown in errors.
    categories : collection of str, optional
        Issue categories an item may become (default: the seeded tree).

    Raises
    ------
    StandardsError
        ``file:line: reason`` — bad YAML, an unknown category or family, a duplicate
        item code, an item without a family, two versions on one date.
    """
    return _parse(text, file, categories).standards


def _read(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise StandardsError(str(path), None, f"cannot read: {exc}") from exc


def load_standards_file(
    path: str | Path, *, categories: Collection[str] | None = None
) -> PointStandards:
    """Read and validate a standards file (see :func:`load_standards_text`)."""
    return load_standards_text(_read(path), str(Path(path)), categories=categories)


def _shipped_paths() -> list[Path]:
    root = resources.files("civgrid.grids") / "profiles"
    return sorted(Path(str(p)) for p in root.iterdir() if str(p).endswith(".yaml"))


def _has_section(path: Path) -> bool:
    data, _ = compose(_read(path), str(path), StandardsError)
    return SECTION in data


def _check_history(old: PointStandards, new: _Parsed, frozen_through: date) -> None:
    """Refuse ``new`` unless it keeps every version of ``old`` in force by ``frozen_through``.

    Raises
    ------
    StandardsError
        A version in force on or before ``frozen_through`` is dropped or changed, or a
        new version takes effect on or before it — with the line of that version.
    """
    by_date = {v.effective_from: v for v in new.standards.versions}
    day = frozen_through.isoformat()
    past = {v.effective_from for v in old.versions if v.effective_from <= frozen_through}
    for ov in old.versions:
        if ov.effective_from not in past:
            continue
        eff = ov.effective_from.isoformat()
        nv = by_date.get(ov.effective_from)
        if nv is None:
            raise StandardsError(
                new.file,
                new.section_line,
                f"the standards version effective {eff} was in force on or before {day} and "
                f"must be kept unchanged (inspections rest on it); add a version dated after {day}",
            )
        a, b = ov.model_dump(mode="json"), nv.model_dump(mode="json")
        if changed := [k for k in a if a[k] != b.get(k)]:
            raise StandardsError(
                new.file,
                new.version_lines.get(ov.effective_from),
                f"the standards version effective {eff} was in force on or before {day} and "
                f"cannot be changed ({', '.join(changed)} differ); add a version dated after {day}",
            )
    for nv in new.standards.versions:
        if nv.effective_from <= frozen_through and nv.effective_from not in past:
            raise StandardsError(
                new.file,
                new.version_lines.get(nv.effective_from),
                f"a new standards version must take effect after {day} (today or the last "
                f"published period); effective_from {nv.effective_from.isoformat()} is not",
            )


NotBefore = date | Callable[[str], date | None] | None


class StandardsRegistry:
    """The point standards in force per profile, replaced atomically.

    Shipped profiles come first, then the current city's file (when not shipped),
    then the installed files of ``local_dir`` (``<var_dir>/point_standards``). A
    file is parsed and validated completely, and checked against the standards in
    force (:func:`_check_history`), before it replaces them; a refused one leaves
    them in force.

    Parameters
    ----------
    clock : callable, optional
        Today (default: today in the county's time zone).
    categories : collection of str, optional
        Issue categories items may become (default: the seeded tree).
    """

    def __init__(
        self,
        clock: Callable[[], date] | None = None,
        categories: Collection[str] | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._by_name: dict[str, PointStandards] = {}
        self.clock = clock or local_today
        self.categories = frozenset(categories) if categories is not None else None
        #: Installed files skipped as malformed.
        self.problems: list[StandardsError] = []

    @classmethod
    def with_shipped(
        cls,
        local_dir: str | Path | None = None,
        clock: Callable[[], date] | None = None,
        categories: Collection[str] | None = None,
    ) -> StandardsRegistry:
        """Shipped standards, the current city's, then the valid installed ones."""
        reg = cls(clock, categories)
        paths = [p for p in _shipped_paths() if _has_section(p)]
        city_file = current_city().source_file
        if city_file and Path(city_file).is_file():
            cf = Path(city_file)
            if cf.resolve() not in {p.resolve() for p in paths} and _has_section(cf):
                paths.append(cf)
        for p in paths:
            reg._activate(_parse(_read(p), str(p), reg.categories))
        if local_dir is not None and Path(local_dir).is_dir():
            for p in sorted(Path(local_dir).glob("*.yaml")):
                try:
                    reg._activate(_parse(_read(p), str(p), reg.categories))
                except StandardsError as exc:
                    reg.problems.append(exc)
        return reg

    def _activate(self, parsed: _Parsed) -> PointStandards:
        with self._lock:
            self._by_name = {**self._by_name, parsed.standards.profile: parsed.standards}
        return parsed.standards

    def names(self) -> list[str]:
        """Profiles with standards."""
        return sorted(self._by_name)

    def standards(self, name: str | None = None) -> PointStandards:
        """The standards of profile ``name`` (default: the current city's)."""
        key = name or current_city().key
        got = self._by_name.get(key)
        if got is None:
            raise NotFoundError(f"no point standards for {key!r}", kind="point_standards", key=key)
        return got

    def version_on(self, name: str | None, day: date) -> StandardVersion:
        """The version of profile ``name`` in force on ``day``."""
        return self.standards(name).version_on(day)

    def check(
        self,
        text: str,
        file: str,
        *,
        today: date | None = None,
        not_before: NotBefore = None,
        categories: Collection[str] | None = None,
    ) -> PointStandards:
        """Validate ``text`` and check it against the standards in force; change nothing.

        ``not_before`` is a later frozen day (the last day of the last published
        period) or ``profile name → date or None``.
        """
        return self._checked(text, file, today, not_before, categories).standards

    def _checked(
        self,
        text: str,
        file: str,
        today: date | None,
        not_before: NotBefore,
        categories: Collection[str] | None,
    ) -> _Parsed:
        parsed = _parse(text, file, categories if categories is not None else self.categories)
        old = self._by_name.get(parsed.standards.profile)
        if old is not None:
            frozen = today or self.clock()
            extra = not_before(parsed.standards.profile) if callable(not_before) else not_before
            if extra is not None and extra > frozen:
                frozen = extra
            _check_history(old, parsed, frozen)
        return parsed

    def load_text(
        self,
        text: str,
        file: str = "<upload>",
        *,
        today: date | None = None,
        not_before: NotBefore = None,
        categories: Collection[str] | None = None,
    ) -> PointStandards:
        """Validate, check and activate ``text`` in memory (a refusal changes nothing)."""
        with self._lock:
            return self._activate(self._checked(text, file, today, not_before, categories))

    def install(
        self,
        path: str | Path,
        local_dir: str | Path,
        *,
        today: date | None = None,
        not_before: NotBefore = None,
        categories: Collection[str] | None = None,
    ) -> PointStandards:
        """Validate and check ``path``, copy it to ``local_dir/<profile>.yaml``, activate it.

        Raises
        ------
        StandardsError
            Malformed, or rewrites a version in force; nothing changes.
        """
        text = _read(path)
        with self._lock:
            parsed = self._checked(text, str(Path(path)), today, not_before, categories)
            target_dir = Path(local_dir)
            target_dir.mkdir(parents=True, exist_ok=True)
            target = target_dir / f"{parsed.standards.profile}.yaml"
            tmp = target.with_suffix(".yaml.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, target)
            return self._activate(parsed)


def item_codes(version: StandardVersion) -> Iterable[str]:
    """Every item code of a version, type by type."""
    for t in version.types:
        for it in t.items:
            yield it.code


def describe(version: StandardVersion) -> dict[str, Any]:
    """A JSON-friendly summary: types with their item counts."""
    return {
        "effective_from": version.effective_from.isoformat(),
        "demo": version.demo,
        "types": {t.code: len(t.items) for t in version.types},
    }
