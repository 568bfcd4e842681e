"""Supervision teams (督查组 / 督导分队): import from a table, list, look up.

A team row (CSV, UTF-8) has the columns of ``data/boundaries/demo/teams.csv``:
``key, name, leader_key, members, area_codes, unit_keys, base_lon, base_lat,
capacity_per_day``, and optionally ``area_wkt`` or ``area_geojson``: the team's
own supervision area (督导范围) drawn as a polygon, WGS84 lon/lat (WKT, or a
GeoJSON Polygon/MultiPolygon geometry). ``members`` is ``role:count`` pairs
separated by ``;`` (people by role, never by name); ``area_codes`` and
``unit_keys`` are ``;``-separated (``；``, ``、`` and ``，`` too). A team needs area
codes, a polygon, or both. The base is WGS84 lon/lat degrees.

The headers of the notices are accepted as aliases: 编号 (key), 组别 (name),
组长 (leader_key), 成员 (members), 督导范围 (area_codes), 督导单位 (unit_keys),
驻地经度 / 驻地纬度 (base), 每日走访 (capacity_per_day), 督导范围图形 (area_wkt).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.geo.metric import Projector, metric_epsg_for
from civgrid.grids.boundaries.models import Area, Leader, Unit
from civgrid.grids.boundaries.store import Store
from civgrid.grids.core import audit
from civgrid.grids.core import labels as zh
from civgrid.grids.core.actors import SYSTEM_ACTOR, Actor
from civgrid.grids.core.errors import InvalidInputError, NotFoundError
from civgrid.grids.patrol.models import PatrolTeam

__all__ = [
    "HEADER_ALIASES",
    "TeamImportReport",
    "get_team",
    "import_teams",
    "list_teams",
    "team_area_geometry",
    "team_dict",
]

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
#: Optional columns: the team's own area as a polygon (WKT or GeoJSON, WGS84).
AREA_COLUMNS = ("area_wkt", "area_geojson")
#: Chinese headers of the notices → column names.
HEADER_ALIASES = {
    "编号": "key",
    "组号": "key",
    "组别": "name",
    "名称": "name",
    "组长": "leader_key",
    "成员": "members",
    zh.AREA_TYPE_LABELS["supervision_area"]: "area_codes",
    zh.PATROL_KIND_LABELS["supervised_unit"]: "unit_keys",
    "驻地经度": "base_lon",
    "驻地纬度": "base_lat",
    "每日走访": "capacity_per_day",
    "督导范围图形": "area_wkt",
}


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
    return [v.strip() for v in re.split(r"[;；、，]", value or "") if v.strip()]


def _members(value: str, row: int) -> list[dict[str, Any]]:
    out = []
    for part in _split(value):
        role, _, count = part.replace("：", ":").partition(":")
        try:
            n = int(count or "1")
        except ValueError:
            raise InvalidInputError(
                f"row {row}: members entry {part!r} is not role:count", row=row, field="members"
            ) from None
        out.append({"role": role.strip(), "count": n})
    return out


def _area_polygon(text: str, row: int, column: str) -> dict[str, Any] | None:
    """The team's polygon as a GeoJSON geometry (WGS84), validated; None when empty."""
    import shapely
    import shapely.geometry

    text = (text or "").strip()
    if not text:
        return None

    def bad(why: str) -> InvalidInputError:
        return InvalidInputError(f"row {row}: {column} {why}", row=row, field=column)

    try:
        if text.startswith("{"):
            obj = json.loads(text)
            if isinstance(obj, dict) and obj.get("type") == "Feature":
                obj = obj.get("geometry")
            geom = shapely.geometry.shape(obj)
        else:
            geom = shapely.from_wkt(text)
    except (ValueError, TypeError, KeyError, AttributeError, shapely.errors.ShapelyError):
        raise bad("is not a WKT or GeoJSON polygon") from None
    if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        kind = "empty" if geom is None or geom.is_empty else geom.geom_type
        raise bad(f"must be a Polygon or MultiPolygon, not {kind}")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise bad("is not in WGS84 lon/lat degrees")
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
        polys = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type.endswith("Polygon")]
        if not polys:
            raise bad("is not a valid polygon")
        geom = shapely.union_all(polys)
    return json.loads(json.dumps(shapely.geometry.mapping(geom)))  # lists, as stored


def _canonical(fieldnames: list[str] | None) -> dict[str, str]:
    """Header as written → column name (aliases resolved); a column given twice is an error."""
    out: dict[str, str] = {}
    seen: dict[str, str] = {}
    for raw in fieldnames or []:
        name = (raw or "").strip()
        col = HEADER_ALIASES.get(name, name)
        if col in seen:
            raise InvalidInputError(
                f"team table has column {col} twice ({seen[col]!r} and {name!r})", field=col
            )
        seen[col] = name
        out[raw] = col
    return out


def _parse_rows(text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    names = _canonical(reader.fieldnames)
    present = set(names.values())
    missing = [c for c in COLUMNS if c not in present]
    if missing:
        raise InvalidInputError(f"team table lacks columns: {', '.join(missing)}", field=missing[0])
    rows: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []  # every row's every error, reported together

    def bad(i: int, field: str, reason: str) -> None:
        problems.append({"row": i, "field": field, "reason": reason})

    for i, raw in enumerate(reader, start=2):  # row 1 is the header
        r = {names[k]: v for k, v in raw.items() if k in names}
        n_before = len(problems)
        key = (r["key"] or "").strip()
        if not key:
            bad(i, "key", "empty team key")
        lon = lat = math.nan
        try:
            lon, lat = float(r["base_lon"]), float(r["base_lat"])
        except (TypeError, ValueError):
            bad(i, "base_lon", "base lon/lat is not a number")
        else:
            finite = math.isfinite(lon) and math.isfinite(lat)
            if not (finite and -180 <= lon <= 180 and -90 <= lat <= 90):
                bad(i, "base_lon", f"base ({lon}, {lat}) is not a WGS84 lon/lat")
        try:
            cap = int(r["capacity_per_day"])
        except (TypeError, ValueError):
            cap = 0
        if cap < 1:
            bad(i, "capacity_per_day", "capacity_per_day must be a positive integer")
        areas = _split(r["area_codes"])
        polygon = None
        for col in AREA_COLUMNS:
            try:
                polygon = polygon or _area_polygon(r.get(col) or "", i, col)
            except InvalidInputError as exc:
                bad(i, exc.context.get("field", col), _reason(exc, i))
        if (
            not areas
            and polygon is None
            and not any(p["row"] == i and p["field"] in AREA_COLUMNS for p in problems)
        ):
            bad(i, "area_codes", "no area codes and no area polygon")
        members: Any = None
        try:
            members = _members(r["members"], i)
        except InvalidInputError as exc:
            bad(i, exc.context.get("field", "members"), _reason(exc, i))
        if len(problems) > n_before:
            continue
        rows.append(
            {
                "row": i,
                "key": key,
                "name": (r["name"] or key).strip(),
                "leader_key": (r["leader_key"] or "").strip() or None,
                "members": members,
                "area_codes": areas,
                "area_geojson": polygon,
                "unit_keys": _split(r["unit_keys"]),
                "base_lon": lon,
                "base_lat": lat,
                "capacity_per_day": cap,
            }
        )
    if problems:
        first = problems[0]
        listing = "; ".join(f"row {p['row']}: {p['reason']} ({p['field']})" for p in problems)
        raise InvalidInputError(
            f"team table: {len(problems)} error(s): {listing}",
            row=first["row"],
            field=first["field"],
            errors=problems,
        )
    return rows


def _reason(exc: InvalidInputError, row: int) -> str:
    """An error's message without its "row N: " prefix (the listing names the row)."""
    text = str(exc)
    prefix = f"row {row}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


def _audit_values(values: dict[str, Any]) -> dict[str, Any]:
    """The audited form of a team's columns: the polygon as a short hash, not the geometry."""
    out = {k: v for k, v in values.items() if k != "area_geojson"}
    if "area_geojson" in values:
        area = values["area_geojson"]
        text = json.dumps(area, sort_keys=True).encode()
        out["area_sha256"] = hashlib.sha256(text).hexdigest()[:16] if area else None
    return out


def import_teams(
    session: Session,
    source: Path | str | bytes,
    *,
    commit: bool = False,
    actor: Actor = SYSTEM_ACTOR,
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
    actor : Actor
        Who imports (default: the system, for the demo loader). With ``commit``
        each added or changed team is audited (``patrol.team.upsert``: the changed
        columns before and after; a polygon as a short hash).

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
            if commit:
                audit.record(
                    session,
                    actor,
                    "patrol.team.upsert",
                    "patrol_team",
                    r["key"],
                    after=_audit_values(values),
                )
        elif changed := [k for k, v in values.items() if getattr(team, k) != v]:
            old = {k: getattr(team, k) for k in changed}
            for k, v in values.items():
                setattr(team, k, v)
            report.updated.append(r["key"])
            if commit:
                new = {k: values[k] for k in changed}
                audit.record(
                    session,
                    actor,
                    "patrol.team.upsert",
                    "patrol_team",
                    r["key"],
                    before=_audit_values(old),
                    after=_audit_values(new),
                )
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


def team_area_geometry(team: PatrolTeam) -> Any | None:
    """The team's own polygon as a shapely geometry (WGS84 lon/lat), or None."""
    if not team.area_geojson:
        return None
    import shapely.geometry

    return shapely.geometry.shape(team.area_geojson)


def team_dict(team: PatrolTeam) -> dict[str, Any]:
    """JSON form of a team (base as WGS84 lon/lat; ``area`` a GeoJSON geometry or None)."""
    return {
        "key": team.key,
        "name": team.name,
        "leader_key": team.leader_key,
        "members": team.members or [],
        "area_codes": team.area_codes,
        "area": team.area_geojson,
        "unit_keys": team.unit_keys or [],
        "base": [team.base_lon, team.base_lat],
        "capacity_per_day": team.capacity_per_day,
    }


class TeamFinder:
    """Which team's area holds a point (else the nearest area, in metres).

    A team's own polygon (``area_geojson``) is tried before the area codes of every
    team, so a team drawn around a site (e.g. 机场周边) takes the stops inside it.
    """

    def __init__(self, store: Store, session: Session, teams: list[PatrolTeam]) -> None:
        import shapely

        from civgrid.grids.patrol.teams import team_area_geometry

        self.teams = teams
        self.areas: list[tuple[str, Any]] = []
        for t in teams:
            poly = team_area_geometry(t)
            if poly is not None:
                self.areas.append((t.key, poly))
        for t in teams:
            for code in t.area_codes or []:
                try:
                    a = store.area(code, session=session)
                except NotFoundError:
                    continue
                self.areas.append((t.key, a.geom))
        if not self.areas:
            raise InvalidInputError("no supervision team has an area in the current boundaries")
        lons = [g.centroid.x for _, g in self.areas]
        self.proj = Projector(metric_epsg_for(sum(lons) / len(lons)))
        self._metric = [
            (k, shapely.transform(g, lambda c: _to_metric(self.proj, c))) for k, g in self.areas
        ]

    def team_of(self, lon: float, lat: float) -> tuple[str, str | None]:
        import shapely

        for key, g in self.areas:
            if g.contains(shapely.Point(lon, lat)):
                return key, None
        x, y = self.proj.forward(lon, lat)
        p = shapely.Point(float(x), float(y))
        key, g = min(self._metric, key=lambda kg: (kg[1].distance(p), kg[0]))
        return key, f"outside every supervision area: nearest team {key} ({g.distance(p):.0f} m)"


def _to_metric(proj: Projector, c: Any) -> Any:
    import numpy as np

    x, y = proj.forward(c[:, 0], c[:, 1])
    return np.column_stack([np.asarray(x, float).ravel(), np.asarray(y, float).ravel()])
