"""``civgrid db|import|export|demo`` — the grids commands (typer sub-apps).

``api/cli/__init__.py`` registers :data:`db_app`, :data:`import_app`, :data:`export_app`
and :data:`demo_app`. Every import is a dry run that prints a report unless
``--commit`` is given; a rejected import exits with status 1.

The database and its revision check are those of every command (``_common``):
a new embedded SQLite database is created; any other must be at the newest
revision (``civgrid db upgrade``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import typer

from civgrid.api.cli._common import DatabaseUrl, open_store
from civgrid.grids.boundaries.models import Layer

__all__ = ["db_app", "demo_app", "export_app", "import_app"]

db_app = typer.Typer(help="Database: migrations, status, generations.", no_args_is_help=True)
import_app = typer.Typer(
    help="Import boundaries and tables (dry run unless --commit).", no_args_is_help=True
)
export_app = typer.Typer(help="Export lists (责任清单…).", no_args_is_help=True)
demo_app = typer.Typer(help="The demo county (data/boundaries/demo/).", no_args_is_help=True)

JsonOption = typer.Option(False, "--json", help="Print the report as JSON.")

_LAYER_CHOICES = [lay.value for lay in Layer]


def _emit(report: Any, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        typer.echo(report.to_text())


def _progress(total_hint: int) -> tuple[Callable[[int, int], None], Callable[[], None]]:
    """A progress callback drawing a bar on stderr for long imports."""
    state: dict[str, Any] = {"bar": None, "done": 0}

    def update(done: int, total: int) -> None:
        if total < 2000:
            return
        if state["bar"] is None:
            state["bar"] = typer.progressbar(length=total, label="writing", file=sys.stderr)
            state["bar"].__enter__()
        state["bar"].update(done - state["done"])
        state["done"] = done

    def close() -> None:
        if state["bar"] is not None:
            state["bar"].__exit__(None, None, None)

    return update, close


# =========================================================================== db


@db_app.command("upgrade")
def db_upgrade(
    database_url: DatabaseUrl = None,
    revision: str = typer.Option("head", help="Target revision."),
    seed: bool = typer.Option(True, help="Add missing categories and default routing rules."),
) -> None:
    """Run the migrations (both backends) and seed the reference data."""
    from civgrid.grids.boundaries.seed import seed_reference_data

    with open_store(database_url, check=False) as store:
        rev = store.upgrade(revision)
        typer.echo(f"{store.backend}: database at revision {rev}")
        if seed and revision == "head":
            with store.session() as s:
                typer.echo(seed_reference_data(s).to_text())


@db_app.command("status")
def db_status(database_url: DatabaseUrl = None, as_json: bool = JsonOption) -> None:
    """Backend, revision, generations and what the current generation holds."""
    from civgrid.grids.core.db import postgis_version
    from civgrid.grids.core.migrate import head_revision

    with open_store(database_url, check=False) as store:
        rev = store.revision()
        info: dict[str, Any] = {
            "backend": store.backend,
            "postgis_version": postgis_version(store.engine),
            "revision": rev,
            "head": head_revision(),
        }
        if rev is not None:
            index = store.rebuild_index()
            info["generations"] = [
                {
                    "id": g.id,
                    "active": g.active,
                    "source": g.source,
                    "note": g.note,
                    "created": g.created,
                    "activated": g.activated,
                }
                for g in store.generations()
            ]
            info["current_generation"] = index.generation_id
            info["objects"] = index.counts()
    if as_json:
        typer.echo(json.dumps(info, ensure_ascii=False, indent=2, default=str))
        return
    typer.echo(
        f"backend: {info['backend']}"
        + (f" (PostGIS {info['postgis_version']})" if info["postgis_version"] else "")
    )
    typer.echo(f"revision: {info['revision']} (head {info['head']})")
    for g in info.get("generations", []):
        mark = "*" if g["id"] == info.get("current_generation") else " "
        typer.echo(
            f" {mark} generation {g['id']}: {'active' if g['active'] else 'inactive'}, "
            f"{g['source'] or ''} {g['note'] or ''}".rstrip()
        )
    for layer, n in info.get("objects", {}).items():
        typer.echo(f"   {layer}: {n}")


@db_app.command("activate")
def db_activate(
    generation: int = typer.Argument(..., help="Generation id."),
    database_url: DatabaseUrl = None,
    deactivate: bool = typer.Option(False, "--deactivate", help="Deactivate it instead."),
) -> None:
    """(De)activate a generation; deactivating the newest makes the previous one current."""
    with open_store(database_url) as store:
        store.set_generation_active(generation, not deactivate)
        gen = store.active_generation()
        typer.echo(f"current generation: {gen.id if gen else 'none'}")


# =========================================================================== import


@import_app.command("boundaries")
def import_boundaries_cmd(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="GeoJSON/GPKG/SHP/CSV."),
    layer: str = typer.Option(..., "--layer", help=f"Target layer: {', '.join(_LAYER_CHOICES)}."),
    name_field: str = typer.Option("name", help="Attribute with the name."),
    code_field: str | None = typer.Option(
        "code", help="Attribute with the code (unit grids: omit with --code-field '' to generate)."
    ),
    parent_field: str | None = typer.Option(
        None, help="Attribute with the parent's code (default: parents by containment)."
    ),
    type_field: str | None = typer.Option(
        None, help="Attribute with the area type (street/township, community/village)."
    ),
    crs: str | None = typer.Option(
        None, help="What the coordinates are: gcj02 (Amap/DataV), bd09, wgs84, cgcs2000."
    ),
    encoding: str | None = typer.Option(None, help="Attribute encoding, e.g. gbk."),
    file_layer: str | None = typer.Option(None, help="Layer inside a multi-layer file."),
    tiling: bool | None = typer.Option(
        None, "--tiling/--no-tiling", help="Areas tile their parent (default per layer)."
    ),
    commit: bool = typer.Option(False, "--commit", help="Write a new generation."),
    note: str | None = typer.Option(None, help="Note recorded on the generation."),
    database_url: DatabaseUrl = None,
    as_json: bool = JsonOption,
) -> None:
    """Import one boundary layer; prints counts, checks, parents and changes."""
    from civgrid.grids.boundaries.imports import LayerSource, commit_plan, plan_boundaries

    if layer not in _LAYER_CHOICES:
        raise typer.BadParameter(f"choose one of {', '.join(_LAYER_CHOICES)}", param_hint="--layer")
    src = LayerSource(
        Layer(layer),
        file,
        name_field=name_field,
        code_field=code_field or None,
        parent_field=parent_field,
        type_field=type_field,
        crs=crs,
        encoding=encoding,
        file_layer=file_layer,
        tiling=tiling,
    )
    with open_store(database_url) as store:
        plan = plan_boundaries(store, [src])
        committed = None
        if commit and plan.ok and plan.has_changes:
            update, close = _progress(len(plan.layers[0].records))
            try:
                committed = commit_plan(
                    store, plan, source=str(file), note=note, progress=update
                ).generation_id
            finally:
                close()
        if as_json:
            _emit(plan, True)
        else:
            typer.echo(plan.to_text(committed=committed, dry_run=not commit))
    if not plan.ok:
        raise typer.Exit(1)


def _table_import(kind: str) -> Callable[..., None]:
    def run(
        file: Path = typer.Argument(..., exists=True, dir_okay=False, help=".csv or .xlsx"),
        commit: bool = typer.Option(False, "--commit", help="Write."),
        encoding: str | None = typer.Option(None, help="CSV encoding, e.g. gbk."),
        sheet: str | None = typer.Option(None, help="XLSX sheet (default: the first)."),
        database_url: DatabaseUrl = None,
        as_json: bool = JsonOption,
    ) -> None:
        from civgrid.grids.boundaries import assignments as tables

        fn = {"units": tables.import_units, "leaders": tables.import_leaders}[kind]
        with open_store(database_url) as store:
            report = fn(store, file, commit=commit, encoding=encoding, sheet=sheet)
        _emit(report, as_json)
        if not report.ok:
            raise typer.Exit(1)

    run.__doc__ = {
        "units": "Import units (key, kind, name[, area_code, parent_key]); upsert by key.",
        "leaders": "Import leaders (key, title[, rank, name]); phone columns are never stored.",
    }[kind]
    return run


import_app.command("units")(_table_import("units"))
import_app.command("leaders")(_table_import("leaders"))


@import_app.command("assignments")
def import_assignments_cmd(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help=".csv or .xlsx"),
    commit: bool = typer.Option(False, "--commit", help="Write."),
    replace: bool = typer.Option(
        False, help="Close other subjects' current assignments of the same object and role."
    ),
    valid_from: str | None = typer.Option(None, help="Default start date (YYYY-MM-DD)."),
    role: str | None = typer.Option(
        None, help="Role for rows without one: contact, contract, road_chief, pairing…"
    ),
    encoding: str | None = typer.Option(None, help="CSV encoding, e.g. gbk."),
    sheet: str | None = typer.Option(None, help="XLSX sheet (default: the first)."),
    database_url: DatabaseUrl = None,
    as_json: bool = JsonOption,
) -> None:
    """Import assignments (leader/unit → township, community, road section, key site).

    Names and codes are matched against the current generation; every one that
    matches nothing is reported with its row.
    """
    from civgrid.grids.boundaries.assignments import import_assignments

    start = date.fromisoformat(valid_from) if valid_from else None
    with open_store(database_url) as store:
        report = import_assignments(
            store,
            file,
            commit=commit,
            replace=replace,
            encoding=encoding,
            sheet=sheet,
            default_valid_from=start,
            default_role=role,
        )
    _emit(report, as_json)
    if not report.ok:
        raise typer.Exit(1)


@import_app.command("shops")
def import_shops_cmd(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help=".csv, .xlsx or .geojson"),
    commit: bool = typer.Option(False, "--commit", help="Write."),
    crs: str = typer.Option("wgs84", help="CRS of the coordinates: wgs84, cgcs2000, gcj02, bd09."),
    encoding: str | None = typer.Option(None, help="CSV encoding, e.g. gbk."),
    sheet: str | None = typer.Option(None, help="XLSX sheet (default: the first)."),
    database_url: DatabaseUrl = None,
    as_json: bool = JsonOption,
) -> None:
    """Import the shop register (门前五包): code, name, frontage, 城管 grid unit, letter date.

    Upsert by code; a broken row is reported with its row and field and nothing is
    written; ``--commit`` writes every row in one transaction.
    """
    from civgrid.grids.boundaries.shop_imports import import_shops

    with open_store(database_url) as store:
        report = import_shops(store, file, commit=commit, crs=crs, encoding=encoding, sheet=sheet)
    _emit(report, as_json)
    if not report.ok:
        raise typer.Exit(1)


# =========================================================================== export


@export_app.command("responsibility")
def export_responsibility(
    out: Path | None = typer.Argument(None, help="Output .xlsx (default var/责任清单-DATE.xlsx)."),
    at: str | None = typer.Option(None, help="Assignments valid on this date (YYYY-MM-DD)."),
    generation: int | None = typer.Option(None, help="Boundary generation (default current)."),
    database_url: DatabaseUrl = None,
) -> None:
    """Write the responsibility list (责任清单) as an Excel workbook."""
    from civgrid.grids.boundaries.export import write_responsibility_xlsx

    day = date.fromisoformat(at) if at else datetime.now(UTC).date()
    if out is None:
        from civgrid.api.settings import Settings

        out = Settings().var_dir / f"责任清单-{day.isoformat()}.xlsx"
    with open_store(database_url) as store:
        path = write_responsibility_xlsx(store, out, at=day, generation=generation)
    typer.echo(f"wrote {path}")


# =========================================================================== demo


@demo_app.command("load")
def demo_load(
    data_dir: Path | None = typer.Option(
        None, "--data-dir", exists=True, file_okay=False, help="Default data/boundaries/demo."
    ),
    commit: bool = typer.Option(False, "--commit/--dry-run", help="Write, or only report."),
    database_url: DatabaseUrl = None,
    as_json: bool = JsonOption,
) -> None:
    """Load the demo county through the ordinary importers (idempotent)."""
    from civgrid.grids.demo.load import load_demo

    with open_store(database_url) as store:
        report = load_demo(store, data_dir, commit=commit)
    _emit(report, as_json)
    if report.status == "rejected":
        raise typer.Exit(1)
