"""Session fixtures: a real throwaway PostGIS cluster (never mocked, never skipped).

Fixtures
--------
postgresql_proc : pytest-postgresql executor for the running cluster (template DB has postgis)
postgresql : psycopg connection to a fresh per-test database cloned from that template
pg_url : SQLAlchemy URL of one session-wide database with postgis
"""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest
from pytest_postgresql import factories

from pgcluster import Cluster, free_port

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
REAL_DATA = SHARED / "data" / "real"
DEMO_DATA = ROOT / "data" / "boundaries" / "demo"

PG_PORT = int(os.environ.get("CIVGRID_TEST_PG_PORT") or free_port())


def _load_postgis(host: str, port: int, user: str, dbname: str, password: str | None, **_) -> None:
    with psycopg.connect(host=host, port=port, user=user, dbname=dbname, password=password) as c:
        c.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        c.commit()


@pytest.fixture(scope="session")
def pg_cluster():
    """Start the cluster as the postgres user; stop it at the end, even on failure."""
    cluster = Cluster(PG_PORT)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


_postgresql_noproc = factories.postgresql_noproc(
    host="127.0.0.1", port=PG_PORT, user="postgres", dbname="civgrid_test", load=[_load_postgis]
)


@pytest.fixture(scope="session")
def postgresql_proc(pg_cluster, request):
    """pytest-postgresql's no-process executor, after the cluster is up."""
    return request.getfixturevalue("_postgresql_noproc")


postgresql = factories.postgresql("postgresql_proc")


@pytest.fixture(scope="session")
def pg_url(pg_cluster) -> str:
    """SQLAlchemy URL of a session-wide PostGIS database ``civgrid_session``."""
    with psycopg.connect(
        host="127.0.0.1", port=PG_PORT, user="postgres", dbname="postgres", autocommit=True
    ) as c:
        c.execute("DROP DATABASE IF EXISTS civgrid_session")
        c.execute("CREATE DATABASE civgrid_session")
    _load_postgis("127.0.0.1", PG_PORT, "postgres", "civgrid_session", None)
    return f"postgresql+psycopg://postgres@127.0.0.1:{PG_PORT}/civgrid_session"


def pg_url_of(conn: psycopg.Connection) -> str:
    """SQLAlchemy URL for the database behind a pytest-postgresql connection."""
    i = conn.info
    return f"postgresql+psycopg://{i.user}@{i.host}:{i.port}/{i.dbname}"


@pytest.fixture
def postgresql_url(postgresql) -> str:
    """SQLAlchemy URL of the fresh per-test PostGIS database (see ``postgresql``)."""
    return pg_url_of(postgresql)
