"""Engines, migrations and the geometry column on SQLite and PostGIS."""

from __future__ import annotations

import pytest
import shapely
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text

from civgrid.grids.boundaries.models import Area, AreaType, Generation, KeySite, RoadSection
from civgrid.grids.core import migrate
from civgrid.grids.core.db import Base, backend_name, make_engine, postgis_version
from support.schema_diff import without_partitioning


def test_sqlite_engine_creates_directory_and_sets_pragmas(tmp_path):
    path = tmp_path / "a" / "b" / "civgrid.sqlite"
    eng = make_engine(f"sqlite:///{path}")
    with eng.connect() as c:
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert path.parent.is_dir()
    assert backend_name(eng) == "sqlite"
    assert postgis_version(eng) is None
    eng.dispose()


def test_unsupported_url_is_refused():
    with pytest.raises(ValueError, match="unsupported"):
        make_engine("mysql://u@h/db")


@pytest.mark.postgis
def test_postgresql_engine_uses_psycopg_and_reports_postgis(postgresql_url):
    eng = make_engine(postgresql_url.replace("postgresql+psycopg", "postgresql"))
    assert eng.dialect.driver == "psycopg"
    assert backend_name(eng) == "postgis"
    assert postgis_version(eng).startswith("3.")
    eng.dispose()


def test_migrations_reach_head_and_match_the_models(empty_store):
    assert empty_store.revision() == migrate.head_revision()
    with empty_store.engine.connect() as c:
        ctx = MigrationContext.configure(
            c,
            opts={
                "compare_type": True,
                "target_metadata": Base.metadata,
                "include_object": migrate.include_object_for(c.dialect.name),
            },
        )
        # on PostGIS, less what revision 0600 documents (partitioned history)
        assert without_partitioning(compare_metadata(ctx, Base.metadata), c) == []


def test_upgrade_is_idempotent(empty_store):
    assert empty_store.upgrade() == migrate.head_revision()
    assert empty_store.upgrade() == migrate.head_revision()


def test_migrations_run_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    eng = make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    assert migrate.upgrade(eng) == migrate.head_revision()
    eng.dispose()


@pytest.mark.postgis
def test_spatial_indexes_are_gist_on_postgis(postgresql_url):
    eng = make_engine(postgresql_url)
    migrate.upgrade(eng)
    with eng.connect() as c:
        for table in ("areas", "road_sections", "key_sites"):
            idx = {i["name"]: i for i in inspect(c).get_indexes(table)}
            assert idx[f"ix_{table}_geom"]["dialect_options"]["postgresql_using"] == "gist"
        typmod = c.execute(
            text("SELECT type, srid FROM geometry_columns WHERE f_table_name = 'areas'")
        ).one()
        assert tuple(typmod) == ("MULTIPOLYGON", 4326)
    eng.dispose()


def test_geometry_round_trips_as_shapely(empty_store):
    poly = shapely.MultiPolygon([shapely.box(112.9, 33.0, 112.91, 33.01)])
    line = shapely.LineString([(112.9, 33.0), (112.91, 33.005)])
    point = shapely.Point(112.905, 33.005)
    with empty_store.session() as s:
        g = Generation(source="t", active=True)
        s.add(g)
        s.flush()
        rng = dict(generation_low_id=g.id, generation_high_id=g.id)
        s.add(Area(type=AreaType.county, code="411327", name="x", geom=poly, **rng))
        s.add(RoadSection(code="R1", name="r", geom=line, **rng))
        s.add(KeySite(code="K1", kind="market", name="k", geom=point, zone_radius_m=400, **rng))
    with empty_store.session() as s:
        a = s.scalars(select(Area)).one()
        assert a.geom.equals(poly) and a.geom.geom_type == "MultiPolygon"
        assert s.scalars(select(RoadSection)).one().geom.equals(line)
        assert s.scalars(select(KeySite)).one().geom.equals(point)


@pytest.mark.postgis
def test_postgis_rejects_a_wrong_geometry_type(postgresql_url):
    from sqlalchemy.exc import DBAPIError

    eng = make_engine(postgresql_url)
    migrate.upgrade(eng)
    from civgrid.grids.boundaries.store import Store

    st = Store(eng)
    with pytest.raises(DBAPIError), st.session() as s:
        g = Generation(source="t", active=True)
        s.add(g)
        s.flush()
        s.add(
            Area(
                type=AreaType.county,
                code="1",
                name="x",
                geom=shapely.Point(1, 1),
                generation_low_id=g.id,
                generation_high_id=g.id,
            )
        )
    eng.dispose()
