"""The suite really runs SQL on PostGIS (a skip here would be a CI failure)."""

import pytest
from sqlalchemy import create_engine, text

pytestmark = pytest.mark.postgis


def test_postgis_version_on_template_clone(postgresql):
    row = postgresql.execute("SELECT PostGIS_Version(), current_database()").fetchone()
    print(f"PostGIS_Version() = {row[0]} in {row[1]}")
    assert row[0].startswith("3.")


def test_postgis_answers_spatial_sql(pg_url):
    eng = create_engine(pg_url)
    with eng.connect() as c:
        covers = c.execute(
            text("SELECT ST_Covers(ST_MakeEnvelope(0,0,1,1,4326), ST_Point(1,0.5,4326))")
        ).scalar()
        dist = c.execute(
            text(
                "SELECT ST_Distance(ST_Transform(ST_Point(112.94,33.05,4326),4547),"
                " ST_Transform(ST_Point(112.95,33.05,4326),4547))"
            )
        ).scalar()
    eng.dispose()
    assert covers is True  # boundary counts as covered
    assert 900 < dist < 950  # 0.01 degree of longitude at 33N ≈ 933 m, measured in metres
