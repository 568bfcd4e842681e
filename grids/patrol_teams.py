"""Supervision teams (督查组 / 督导分队): import from a table, list, look up.

A team row (CSV, UTF-8) has the columns of ``data/boundaries/demo/teams.csv``:
``key, name, leader_key, members, area_codes, unit_keys, base_lon, base_lat,
capacity_per_day``. ``members`` is ``role:count`` pairs separated by ``;`` (people
by role, never by name); ``area_codes`` and ``unit_keys`` are ``;``-separated.
The base is WGS84 lon/lat degrees.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.grids.errors import InvalidInputError, NotFoundError
from civgrid.grids.models import Area, Leader, Unit
from civgrid.grids.patrol_models import PatrolTeam

__all__ = ["TeamImportReport", "get_team", "import_teams", "list_teams", "team_dict"]

COLUMNS = (
    "key",
    "name",
    "leader_key",
    "members",
    "area_codes",
    "unit_keys",
    "base_lon",
    "base_lat",
    "capacity_per_day",
)


@dataclass
class TeamImportReport:
    """Outcome of a team import (dry run unless committed)."""

    rows: int = 0
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    committed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "rows": self.rows,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "committed": self.committed,
        }

    def to_text(self) -> str:
        """A short report for the CLI (Chinese labels, keys as given)."""
        state = "已写入" if self.committed else "试运行（未写入，加 --commit 写入）"
        return (
            f"督查组导入：{self.rows} 行；新增 {len(self.added)}，更新 {len(self.updated)}，"
            f"未变 {len(self.unchanged)}。{state}"
        )


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(";") if v.strip()]


def _members(value: str, row: int) -> list[dict[str, Any]]:
    out = []
    for part in _split(value):
        role, _, count = part.partition(":")
        try:
            n = int(count or "1")
        except ValueError:
            raise InvalidInputError(
                f"row {row}: members entry {part!r} is not role:count", row=row, field="members"
            ) from None
        out.append({"role": role.strip(), "count": n})
    return out


def _parse_rows(text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInputError(f"team table lacks columns: {', '.join(missing)}", field=missing[0])
    rows = []
    for i, r in enumerate(reader, start=2):  # row 1 is the header
        key = (r["key"] or "").strip()
        if not key:
            raise InvalidInputError(f"row {i}: empty team key", row=i, field="key")
        try:
            lon, lat = float(r["base_lon"]), float(r["base_lat"])
        except (TypeError, ValueError):
            raise InvalidInputError(
                f"row {i}: base lon/lat is not a number", row=i, field="base_lon"
            ) from None
        finite = math.isfinite(lon) and math.isfinite(lat)
        if not (finite and -180 <= lon <= 180 and -90 <= lat <= 90):
            raise InvalidInputError(
                f"row {i}: base ({lon}, {lat}) is not a WGS84 lon/lat", row=i, field="base_lon"
            )
        try:
            cap = int(r["capacity_per_day"])
        except (TypeError, ValueError):
            cap = 0
        if cap < 1:
            raise InvalidInputError(
                f"row {i}: capacity_per_day must be a positive integer",
                row=i,
                field="capacity_per_day",
            )
        areas = _split(r["area_codes"])
        if not areas:
            raise InvalidInputError(f"row {i}: no area codes", row=i, field="area_codes")
        rows.append(
            {
                "row": i,
                "key": key,
                "name": (r["name"] or key).strip(),
                "leader_key": (r["leader_key"] or "").strip() or None,
                "members": _members(r["members"], i),
                "area_codes": areas,
                "unit_keys": _split(r["unit_keys"]),
                "base_lon": lon,
                "base_lat": lat,
                "capacity_per_day": cap,
            }
        )
    return rows


def import_teams(
    session: Session, source: Path | str | bytes, *, commit: bool = False
) -> TeamImportReport:
    """Import supervision teams from a CSV table (upsert by team key).

    Parameters
    ----------
    session : Session
        Committed by the caller when ``commit`` is true; rolled back otherwise.
    source : Path, str or bytes
        A path, or the CSV text/bytes (UTF-8, optional BOM).
    commit : bool
        False (default) validates and reports only (changes are rolled back).

    Returns
    -------
    TeamImportReport

    Raises
    ------
    InvalidInputError
        A row is malformed or refers to an unknown area, leader or unit (the
        row number, counting the header as row 1, and the field are named).
        Nothing is written.
    """
    if isinstance(source, Path):
        text = source.read_text(encoding="utf-8-sig")
    elif isinstance(source, bytes):
        text = source.decode("utf-8-sig")
    else:
        text = source
    rows = _parse_rows(text)
    area_codes = set(session.scalars(select(Area.code)))
    leaders = set(session.scalars(select(Leader.key)))
    units = set(session.scalars(select(Unit.key)))
    for r in rows:
        for code in r["area_codes"]:
            if code not in area_codes:
                raise InvalidInputError(
                    f"row {r['row']}: unknown area {code}", row=r["row"], field="area_codes"
                )
        if r["leader_key"] and r["leader_key"] not in leaders:
            raise InvalidInputError(
                f"row {r['row']}: unknown leader {r['leader_key']}",
                row=r["row"],
                field="leader_key",
            )
        for key in r["unit_keys"]:
            if key not in units:
                raise InvalidInputError(
                    f"row {r['row']}: unknown unit {key}", row=r["row"], field="unit_keys"
                )
    report = TeamImportReport(rows=len(rows))
    existing = {t.key: t for t in session.scalars(select(PatrolTeam))}
    for r in rows:
        values = {k: v for k, v in r.items() if k != "row"}
        team = existing.get(r["key"])
        if team is None:
            session.add(PatrolTeam(**values))
            report.added.append(r["key"])
        elif any(getattr(team, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(team, k, v)
            report.updated.append(r["key"])
        else:
            report.unchanged.append(r["key"])
    session.flush()
    if commit:
        report.committed = True
    else:
        session.rollback()
    return report


def list_teams(session: Session) -> list[PatrolTeam]:
    """All supervision teams, by key."""
    return list(session.scalars(select(PatrolTeam).order_by(PatrolTeam.key)))


def get_team(session: Session, key: str) -> PatrolTeam:
    """The team with ``key``.

    Raises
    ------
    NotFoundError
        No such team.
    """
    team = session.scalars(select(PatrolTeam).where(PatrolTeam.key == key)).first()
    if team is None:
        raise NotFoundError(f"no supervision team {key}", kind="team", key=key)
    return team


def team_dict(team: PatrolTeam) -> dict[str, Any]:
    """JSON form of a team (base as WGS84 lon/lat)."""
    return {
        "key": team.key,
        "name": team.name,
        "leader_key": team.leader_key,
        "members": team.members or [],
        "area_codes": team.area_codes,
        "unit_keys": team.unit_keys or [],
        "base": [team.base_lon, team.base_lat],
        "capacity_per_day": team.capacity_per_day,
    }
