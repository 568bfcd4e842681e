"""``civgrid points``: assessment points (测评点位) — standards, register, inspections.

* ``civgrid points standards check FILE [--today DATE]`` — validate the
  ``point_standards:`` section of a profile file and check it against the standards
  in force (a version in force on or before today, or a published period, cannot
  change); prints ``file:line: reason`` when refused (exit 1);
* ``civgrid points standards load FILE`` — the same, then install it into
  ``<var_dir>/point_standards`` (the previous standards stay when refused);
* ``civgrid points standards list`` — the profiles with standards and their versions.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import typer

from civgrid.api.cli._common import DatabaseUrl, fail, open_store

points_app = typer.Typer(help="Assessment points (测评点位).", no_args_is_help=True)
standards_app = typer.Typer(help="Point standards (测评标准).", no_args_is_help=True)
points_app.add_typer(standards_app, name="standards")


def issue_config(settings: Any) -> Any:
    """The city's issue configuration (photo directory under the var dir)."""
    from civgrid.grids.issues.config import IssueConfig, IssueSettings

    return IssueConfig.from_settings(IssueSettings(), var_dir=settings.var_dir)


def standards_dir() -> Path:
    """Where installed standards files live: ``<var_dir>/point_standards``."""
    from civgrid.api.settings import Settings

    return Path(Settings().var_dir) / "point_standards"


def standards_registry() -> Any:
    """The shipped, city and installed point standards."""
    from civgrid.grids.points.standards import StandardsRegistry

    return StandardsRegistry.with_shipped(standards_dir())


def _published_through(database_url: str | None) -> Any:
    """``profile → last day of its last published bulletin`` (None without a database)."""
    from civgrid.grids.scoring.bulletins import published_through

    def through(name: str) -> date | None:
        with open_store(database_url) as store, store.session() as s:
            return published_through(s, name)

    return through


@standards_app.command("check")
def standards_check(
    file: Path = typer.Argument(..., help="A profile YAML file with point_standards:."),
    today: str | None = typer.Option(None, help="Check history as of this day (YYYY-MM-DD)."),
) -> None:
    """Validate a standards file and check it against the standards in force (no change)."""
    from civgrid.grids.points.standards import StandardsError

    reg = standards_registry()
    try:
        std = reg.check(
            file.read_text(encoding="utf-8") if file.is_file() else "",
            str(file),
            today=date.fromisoformat(today) if today else None,
        )
    except StandardsError as exc:
        fail(exc)
    versions = ", ".join(v.effective_from.isoformat() for v in std.versions)
    types = len(std.versions[-1].types)
    typer.echo(f"ok: {std.profile}; versions {versions}; {types} point types")


@standards_app.command("load")
def standards_load(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="A profile YAML file."),
    database_url: DatabaseUrl = None,
) -> None:
    """Validate, check and install a standards file; refused: the standards in force stay."""
    from civgrid.grids.points.standards import StandardsError

    reg = standards_registry()
    try:
        std = reg.install(file, standards_dir(), not_before=_published_through(database_url))
    except StandardsError as exc:
        fail(exc)
    typer.echo(
        f"loaded: {std.profile}; versions "
        + ", ".join(v.effective_from.isoformat() for v in std.versions)
    )


@standards_app.command("list")
def standards_list() -> None:
    """Profiles with point standards, their versions and types; skipped installed files."""
    reg = standards_registry()
    for name in reg.names():
        for v in reg.standards(name).versions:
            demo = "\t演示标准（非官方）" if v.demo else ""
            typer.echo(f"{name}\t{v.effective_from.isoformat()}\t{len(v.types)} 类{demo}")
    for exc in reg.problems:
        typer.echo(f"skipped (malformed, not in force): {exc}")


@points_app.command("import")
def points_import(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help=".csv, .xlsx or .geojson"),
    commit: bool = typer.Option(False, "--commit", help="Write."),
    crs: str = typer.Option("wgs84", help="CRS of the coordinates: wgs84, cgcs2000, gcj02, bd09."),
    encoding: str | None = typer.Option(None, help="CSV encoding, e.g. gbk."),
    sheet: str | None = typer.Option(None, help="XLSX sheet (default: the first)."),
    database_url: DatabaseUrl = None,
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Import the point register (测评点位): code, name, type, 包保单位, geometry, ….

    Upsert by code; a dry run unless ``--commit``; a broken row is reported with its
    row and field and nothing is written; ``--commit`` writes in one transaction.
    """
    import json

    from civgrid.grids.core.calendar import local_today
    from civgrid.grids.points.imports import import_points

    std = standards_registry().version_on(None, local_today())
    with open_store(database_url) as store:
        report = import_points(
            store, file, std, commit=commit, crs=crs, encoding=encoding, sheet=sheet
        )
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(report.to_text())
    if not report.ok:
        raise typer.Exit(1)


@points_app.command("inspect")
def points_inspect(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The inspection (JSON)."),
    inspector: str = typer.Option(..., help="Who inspected: an account login or a title."),
    key: str | None = typer.Option(None, "--idempotency-key", help="A resend returns the first."),
    database_url: DatabaseUrl = None,
) -> None:
    """Record an inspection of a point (实地检查) from a JSON file.

    ``{"point": "PT001", "inspected_at": "2026-12-01T09:30:00+08:00", "lon": …, "lat": …,
    "accuracy_m": 8, "items": [{"code": "SC-01", "passed": false, "note": "…",
    "photos": ["a.jpg"]}, …]}`` — every checklist item of the point's type; photo paths
    are relative to the file. A missing item or a failed item without its required
    photo is refused and nothing is stored. Failed items open issues at the point.
    """
    import json
    from datetime import datetime

    from civgrid.api.cli.issues import open_indexed
    from civgrid.grids.core import labels as zh
    from civgrid.grids.core.actors import Actor
    from civgrid.grids.core.errors import DomainError
    from civgrid.grids.issues.photos import PhotoInput
    from civgrid.grids.points.inspections import InspectionInput, ItemMark, record_inspection

    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
        items = []
        for m in raw.get("items") or []:
            photos = []
            for p in m.get("photos") or []:
                path = (file.parent / p).resolve()
                photos.append(PhotoInput(path.read_bytes(), path.name))
            items.append(ItemMark(str(m["code"]), bool(m["passed"]), m.get("note"), photos))
        at = raw.get("inspected_at")
        data = InspectionInput(
            str(raw["point"]),
            items,
            datetime.fromisoformat(at) if at else None,
            raw.get("lon"),
            raw.get("lat"),
            raw.get("accuracy_m"),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        fail(ValueError(f"{file}: not an inspection: {exc}"))
    actor = Actor(inspector, "inspector")
    try:
        with open_indexed(database_url) as (store, settings), store.session() as s:
            r = record_inspection(
                s,
                store,
                actor,
                standards_registry(),
                data,
                idempotency_key=key,
                config=issue_config(settings),
            )
            s.commit()
            insp = r.inspection
            verdict = zh.POINT_COMPLIANCE_LABELS["compliant" if insp.compliant else "non_compliant"]
            typer.echo(
                f"inspection {insp.id} of {data.point_code}: {verdict} (扣分 {insp.deductions:g})"
                + ("" if r.created else " — already recorded (same key)")
            )
            for label, ids in (
                ("opened", r.opened),
                ("closed", r.closed),
                ("returned", r.returned),
                ("still open", r.kept_open + r.awaiting_fix),
            ):
                if ids:
                    typer.echo(f"  issues {label}: {', '.join(map(str, ids))}")
    except DomainError as exc:
        fail(exc)


@points_app.command("mock")
def points_mock(
    seed: int = typer.Option(..., help="Seed of the draw (the same seed, the same sample)."),
    share: float = typer.Option(1 / 3, min=0.0, max=1.0, help="Share of the other points."),
    rounds: int = typer.Option(400, min=10, help="Resampling rounds for the band."),
    save: bool = typer.Option(True, "--save/--no-save", help="Keep the result (JSON)."),
    database_url: DatabaseUrl = None,
) -> None:
    """Mock assessment (模拟测评): draw points as assessors do, predict the field score.

    Every must-check point and about a third of the others per type, scored from their
    latest inspections; a band from resampling; the items and points that cost most.
    The result is saved under ``<var_dir>/mock_assessments/`` to compare later.
    """
    import json
    from datetime import UTC, datetime

    from civgrid.api.settings import Settings
    from civgrid.grids.core.calendar import local_today
    from civgrid.grids.points.compliance import latest_results
    from civgrid.grids.points.mock import run

    version = standards_registry().version_on(None, local_today())
    weights = {t.code: t.weight for t in version.types}
    with open_store(database_url) as store, store.session() as s:
        results = latest_results(s, version)
    if not results:
        fail(ValueError("no inspected points: record inspections first"))
    r = run(results, weights, seed=seed, share=share, rounds=rounds)
    d = r.to_dict()
    typer.echo(
        f"模拟测评 (seed {seed}): {len(r.sample)} points drawn of {len(results)} inspected; "
        f"predicted field score {d['predicted']:.2f} "
        f"({int(r.level * 100)}% band {d['band'][0]:.2f}–{d['band'][1]:.2f})"
    )
    for t, v in d["by_type"].items():
        typer.echo(f"  {t}\t{v:.2f}")
    for c, g in d["costly_items"]:
        typer.echo(f"  fix item {c}: +{g:.2f}")
    for c, g in d["costly_points"]:
        typer.echo(f"  fix point {c}: +{g:.2f}")
    if save:
        out = Path(Settings().var_dir) / "mock_assessments"
        out.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = out / f"mock-{stamp}-seed{seed}.json"
        body = {**d, "standards": version.effective_from.isoformat(), "at": stamp}
        path.write_text(json.dumps(body, ensure_ascii=False, indent=2), encoding="utf-8")
        typer.echo(f"saved {path}")


@points_app.command("export")
def points_export(
    out: Path = typer.Argument(..., help="Output .xlsx or .geojson."),
    point_type: str | None = typer.Option(None, "--type", help="Point type code."),
    community: str | None = typer.Option(None, help="Community code."),
    unit: str | None = typer.Option(None, help="Responsible unit key."),
    compliance: str | None = typer.Option(
        None, help="compliant (达标), non_compliant (不达标) or uninspected (未检)."
    ),
    database_url: DatabaseUrl = None,
) -> None:
    """Export the points with their status (达标/不达标/未检) as xlsx or GeoJSON."""
    import json

    from civgrid.grids.core.calendar import local_today
    from civgrid.grids.points.register import point_features, point_rows, write_points_xlsx

    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".geojson", ".json"):
        fail(ValueError(f"{out}: the output is .xlsx or .geojson"))
    version = standards_registry().version_on(None, local_today())
    with open_store(database_url) as store, store.session() as s:
        rows = point_rows(
            s,
            version,
            point_type=point_type,
            community=community,
            unit=unit,
            compliance=compliance,
            with_geometry=suffix != ".xlsx",
        )
    if suffix == ".xlsx":
        write_points_xlsx(rows, out)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(
            json.dumps(point_features(rows), ensure_ascii=False, default=str), encoding="utf-8"
        )
    typer.echo(f"wrote {out} ({len(rows)} points)")


@points_app.command("demo")
def points_demo(
    commit: bool = typer.Option(False, "--commit", help="Write (default: a dry run)."),
    if_empty: bool = typer.Option(False, "--if-empty", help="Only when the register is empty."),
    season: bool = typer.Option(True, "--season/--no-season", help="Inspect the points too."),
    days: int = typer.Option(90, min=1, help="Days of the season of inspections."),
    database_url: DatabaseUrl = None,
) -> None:
    """The demo county's points (~120 of 15 types, Sheqi's demo standard — not official)
    through the register import, then a seeded season of inspections (``make demo``)."""
    from civgrid.api.cli.issues import open_indexed
    from civgrid.grids.core.calendar import local_today
    from civgrid.grids.demo.points import has_points, inspect_season, load_demo_points

    version = standards_registry().version_on(None, local_today())
    with open_indexed(database_url) as (store, settings):
        if if_empty and has_points(store):
            typer.echo("demo points: the register is not empty; nothing done")
            return
        report = load_demo_points(store, version, commit=commit)
        typer.echo(report.to_text())
        if not report.ok:
            raise typer.Exit(1)
        if commit and season:
            counts = inspect_season(store, version, issue_config(settings), days=days)
            typer.echo(f"season: {counts['inspections']} inspections, {counts['issues']} issues")
