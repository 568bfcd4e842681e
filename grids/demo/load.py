"""Load the demo county (``data/boundaries/demo/``) through the ordinary importers.

Everything — reference data, boundary generation, units, leaders, assignments —
is written in **one transaction**. A dry run does the same work and rolls it
back, so its report is exactly what a commit would do. Loading is idempotent:
when the files match the current generation and tables, the report says
``unchanged`` and nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from civgrid.grids.boundaries.assignments import (
    TableReport,
    import_assignments,
    import_leaders,
    import_units,
)
from civgrid.grids.boundaries.imports import (
    BoundaryPlan,
    CommitResult,
    LayerSource,
    commit_plan,
    plan_boundaries,
)
from civgrid.grids.boundaries.models import Layer
from civgrid.grids.boundaries.seed import SEED_DIR, SeedReport, seed_reference_data
from civgrid.grids.boundaries.shop_imports import import_shops
from civgrid.grids.boundaries.store import Store
from civgrid.grids.core.city import current_city

__all__ = ["DEMO_DUTIES_FILE", "DEMO_LAYERS", "DemoReport", "default_demo_dir", "load_demo"]

#: Demo files → (layer, tiling). Communities cover only the central city, not whole
#: townships, so they are not checked as a tiling of their townships.
DEMO_LAYERS: tuple[tuple[str, Layer, bool | None], ...] = (
    ("county.geojson", Layer.county, None),
    ("townships.geojson", Layer.township, True),
    ("central_city.geojson", Layer.central_city, False),
    ("communities.geojson", Layer.community, False),
    ("unit_grids.geojson", Layer.unit_grid, False),
    ("supervision_areas.geojson", Layer.supervision_area, False),
    ("road_sections.geojson", Layer.road_section, None),
    ("key_sites.geojson", Layer.key_site, None),
)
#: County-wide department duties per category, from the Sheqi notice's four actions
#: (牵头单位/责任单位 of 文明交通, 市容环境 and 农贸市场提升行动).
DEMO_DUTIES_FILE = SEED_DIR / "demo_duties.csv"


def default_demo_dir() -> Path:
    """``data/boundaries/demo`` of the source checkout."""
    return Path(__file__).resolve().parents[2] / "data" / "boundaries" / "demo"


@dataclass
class DemoReport:
    """What :func:`load_demo` did (or would do).

    Attributes
    ----------
    status : str
        ``"committed"``, ``"unchanged"`` (nothing written), ``"dry_run"`` or
        ``"rejected"`` (errors; nothing written).
    plan : BoundaryPlan
    boundaries : CommitResult or None
    seed : SeedReport or None
    tables : list of TableReport
        Units, leaders, assignments, department duties and shops.
    """

    status: str
    plan: BoundaryPlan
    boundaries: CommitResult | None = None
    seed: SeedReport | None = None
    tables: list[TableReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No error anywhere."""
        return self.plan.ok and all(t.ok for t in self.tables)

    @property
    def generation_id(self) -> int | None:
        """The generation written (or the unchanged current one)."""
        return self.boundaries.generation_id if self.boundaries else self.plan.base_generation_id

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary."""
        return {
            "status": self.status,
            "generation_id": self.generation_id,
            "boundaries": self.plan.to_dict(),
            "tables": [t.to_dict() for t in self.tables],
        }

    def to_text(self) -> str:
        """The report for the CLI."""
        parts = [
            self.plan.to_text(
                committed=self.generation_id
                if self.status == "committed"
                and self.boundaries
                and self.boundaries.status == "committed"
                else None,
                dry_run=self.status == "dry_run",
            )
        ]
        if self.seed is not None:
            parts.append(self.seed.to_text())
        parts += [t.to_text() for t in self.tables]
        parts.append(f"Demo county: {self.status}.")
        return "\n".join(parts)


def load_demo(store: Store, data_dir: Path | None = None, *, commit: bool = True) -> DemoReport:
    """Load the demo county.

    Parameters
    ----------
    store : Store
        Migrated (``store.upgrade()``).
    data_dir : Path, optional
        Default :func:`default_demo_dir`.
    commit : bool
        Write; False does a dry run (everything is done and rolled back).

    Returns
    -------
    DemoReport
    """
    data_dir = Path(data_dir) if data_dir is not None else default_demo_dir()
    sources = [
        LayerSource(
            layer,
            data_dir / name,
            parent_field="parent_code"
            if layer not in (Layer.road_section, Layer.key_site)
            else None,
            crs="wgs84",
            tiling=tiling,
        )
        for name, layer, tiling in DEMO_LAYERS
    ]
    session = store._sessionmaker()
    try:
        plan = plan_boundaries(store, sources, session=session)
        if not plan.ok:
            session.rollback()
            return DemoReport("rejected", plan)
        seed = seed_reference_data(session)
        result = commit_plan(
            store,
            plan,
            source=f"demo: {data_dir.name}",
            note=f"demo county {current_city().county_name} (synthetic geometry)",
            session=session,
        )
        tables = [
            import_units(store, data_dir / "units.csv", session=session),
            import_leaders(store, data_dir / "leaders.csv", session=session),
            import_assignments(store, data_dir / "assignments.csv", session=session),
            import_assignments(store, DEMO_DUTIES_FILE, session=session),
        ]
        if (data_dir / "shops.geojson").is_file():  # 门前五包 shops along commercial streets
            tables.append(import_shops(store, data_dir / "shops.geojson", session=session))
        teams = _load_demo_teams(session, data_dir)
        report = DemoReport("dry_run", plan, result, seed, tables)
        changed = (
            result.status == "committed"
            or seed.categories_added
            or seed.rules_added
            or any(t.has_changes for t in tables)
            or teams
        )
        if not report.ok:
            report.status = "rejected"
            session.rollback()
        elif not changed:
            report.status = "unchanged"
            session.rollback()
        elif commit:
            session.commit()
            report.status = "committed"
            for t in tables:
                t.committed = True
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    if report.status == "committed":
        store.rebuild_index()
    return report


def _load_demo_teams(session: Any, data_dir: Path) -> bool:
    """Upsert the demo supervision teams (``teams.csv``) in ``session``; True if changed."""
    from civgrid.grids.patrol.teams import import_teams

    path = data_dir / "teams.csv"
    if not path.is_file():
        return False
    rep = import_teams(session, path, commit=True)  # flush only; load_demo commits
    return bool(rep.added or rep.updated)
