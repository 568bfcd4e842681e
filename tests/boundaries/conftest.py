"""Fixtures of the grids tests: empty stores and demo-county stores on both backends.

``empty_store``
    A migrated, empty database: SQLite in ``tmp_path`` or a fresh PostGIS
    database (pytest-postgresql's per-test ``postgresql``).
``demo_store``
    The demo county, loaded once per backend into a template (a SQLite file, a
    PostGIS template database); each test gets its own copy and may commit.
``make_layer``
    Writes a small GeoJSON file from ``(properties, geometry)`` pairs.
``toy``
    A tiny county (2 townships, 4 communities) as GeoJSON files.

PostGIS tests are marked ``postgis`` and never skip.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import shapely
from sqlalchemy import inspect, text

from civgrid.geo.convert import feature
from civgrid.grids.boundaries.store import Store
from civgrid.grids.core.db import make_engine
from support.demo_stores import BACKENDS, demo_store_copy

DEMO_DIR = Path(__file__).resolve().parents[2] / "data" / "boundaries" / "demo"


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    """``"sqlite"`` or ``"postgis"``."""
    return request.param


@pytest.fixture
def db_url(backend, request, tmp_path) -> str:
    """URL of a fresh, empty database of the backend."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'civgrid.sqlite'}"
    return request.getfixturevalue("postgresql_url")


@pytest.fixture
def empty_store(db_url):
    """A migrated, empty store (SQLite or PostGIS)."""
    st = Store(make_engine(db_url))
    st.upgrade()
    yield st
    st.engine.dispose()


@pytest.fixture
def demo_store(backend, request, tmp_path):
    """A store holding the demo county (a private copy per test), on each backend."""
    yield from demo_store_copy(backend, request, tmp_path)


@pytest.fixture
def postgis_demo_store(request, tmp_path):
    """The demo county on PostGIS only (for tests that use PostGIS as the oracle)."""
    yield from demo_store_copy("postgis", request, tmp_path)


@pytest.fixture
def sqlite_store(tmp_path):
    """A migrated, empty SQLite store (for SQLite-only behaviour)."""
    st = Store(make_engine(f"sqlite:///{tmp_path / 'only.sqlite'}"))
    st.upgrade()
    yield st
    st.engine.dispose()


# --------------------------------------------------------------------------- files


@pytest.fixture
def make_layer(tmp_path) -> Callable[..., Path]:
    """``make_layer(name, [(props, geom), ...]) -> path`` of a GeoJSON file in tmp_path."""

    def make(name: str, items: Sequence[tuple[dict[str, Any], Any]]) -> Path:
        path = tmp_path / "files" / f"{name}.geojson"
        path.parent.mkdir(parents=True, exist_ok=True)
        fc = {
            "type": "FeatureCollection",
            "features": [feature(g, p, decimals=None) for p, g in items],
        }
        path.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
        return path

    return make


#: The toy county: 0.1° × 0.1° at 112.9 E, 33.0 N, two townships side by side, each
#: with two communities (south and north halves).
TOY_COUNTY = "411327000000"
TOY_TOWNSHIPS = {
    "411327100000": (112.90, 112.95, "甲镇"),
    "411327001000": (112.95, 113.00, "乙街道"),
}


def box(x0: float, y0: float, x1: float, y1: float) -> Any:
    """A lon/lat rectangle with a vertex every 0.0005° (≈ 50 m), as real boundaries have.

    Long straight lon/lat edges bend when projected to metres; dense vertices keep
    the metric checks of geo.validate (containment, gaps) meaningful.
    """
    return shapely.segmentize(shapely.box(x0, y0, x1, y1), 0.0005)


def toy_items() -> dict[str, list[tuple[dict[str, Any], Any]]]:
    """Properties and geometries of the toy county's layers (WGS84)."""
    county = [({"code": TOY_COUNTY, "name": "测试县"}, box(112.90, 33.00, 113.00, 33.10))]
    towns, comms = [], []
    for code, (x0, x1, name) in TOY_TOWNSHIPS.items():
        towns.append(
            ({"code": code, "name": name, "parent_code": TOY_COUNTY}, box(x0, 33.00, x1, 33.10))
        )
        for i, (y0, y1) in enumerate(((33.00, 33.05), (33.05, 33.10)), start=1):
            comms.append(
                (
                    {"code": code[:9] + f"{i:03d}", "name": f"{name}{i}社区", "parent_code": code},
                    box(x0, y0, x1, y1),
                )
            )
    return {"county": county, "township": towns, "community": comms}


@pytest.fixture
def toy(make_layer) -> dict[str, Path]:
    """GeoJSON files of the toy county: ``{"county": path, "township": …, "community": …}``."""
    return {layer: make_layer(f"toy_{layer}", items) for layer, items in toy_items().items()}


def dump_tables(store: Store) -> dict[str, list[tuple]]:
    """Every row of every civgrid table (geometry as WKB hex), for before/after comparisons."""
    out = {}
    with store.engine.connect() as c:
        names = [t for t in inspect(c).get_table_names() if t not in ("spatial_ref_sys",)]
        for t in sorted(names):
            cols = [col["name"] for col in inspect(c).get_columns(t)]
            sel = ", ".join(
                f"ST_AsEWKB({col})" if store.backend == "postgis" and col == "geom" else col
                for col in cols
            )
            rows = c.execute(text(f"SELECT {sel} FROM {t} ORDER BY 1")).all()
            out[t] = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows]
    return out


@pytest.fixture
def dump() -> Callable[[Store], dict[str, list[tuple]]]:
    """The :func:`dump_tables` function."""
    return dump_tables


@pytest.fixture
def toy_layers() -> Callable[[], dict[str, list[tuple[dict[str, Any], Any]]]]:
    """The :func:`toy_items` function (to build variants of the toy county)."""
    return toy_items


@pytest.fixture
def dense_box() -> Callable[..., Any]:
    """The :func:`box` function (densified lon/lat rectangles)."""
    return box
