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

from support.pgcluster import Cluster, free_port

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
REAL_DATA = SHARED / "data" / "real"
DEMO_DATA = ROOT / "data" / "boundaries" / "demo"

PG_PORT = int(os.environ.get("CIVGRID_TEST_PG_PORT") or free_port())


def _load_postgis(host: str, port: int, user: str, dbname: str, password: str | None, **_) -> None:
    with psycopg.connect(host=host, port=port, user=user, dbname=dbname, password=password) as c:
        c.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        c.commit()


_POSTGIS_RUN = {"version": None, "passed": 0, "skipped": []}


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes():
    """Accounts created during the tests get argon2id at its smallest cost.

    The production cost (64 MiB, t=3, p=4: about half a second a hash on this machine)
    was paid by every account a test created and every login against it. A hash carries
    its parameters, so verifying stays the production code path;
    ``tests/accounts/test_accounts.py`` checks the production parameters themselves.
    """
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    from civgrid.grids.accounts import service

    original = service._hasher
    cheap = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    service._hasher = lambda: cheap
    try:
        yield original
    finally:
        service._hasher = original


@pytest.fixture(scope="session")
def pg_cluster():
    """Start the cluster as the postgres user; stop it at the end, even on failure."""
    cluster = Cluster(PG_PORT)
    cluster.start()
    try:
        with psycopg.connect(
            host="127.0.0.1", port=PG_PORT, user="postgres", dbname="postgres"
        ) as c:
            c.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            _POSTGIS_RUN["version"] = c.execute("SELECT PostGIS_Version()").fetchone()[0]
            c.execute("DROP EXTENSION postgis")
            c.commit()
        yield cluster
    finally:
        cluster.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A PostGIS or browser test that skips is a failure: both are part of the suite, not
    optional (a missing Chromium or Playwright fails in ``browser/conftest.py`` already)."""
    outcome = yield
    report = outcome.get_result()
    if item.get_closest_marker("postgis") is None:
        if item.get_closest_marker("browser") is not None and report.skipped:
            report.outcome = "failed"
            report.longrepr = f"browser test skipped ({report.longrepr}); browser tests must run"
        return
    if report.skipped:
        report.outcome = "failed"
        report.longrepr = f"PostGIS test skipped ({report.longrepr}); PostGIS tests must run"


def pytest_runtest_logreport(report):
    """Count PostGIS tests where reports arrive: in the one process, or in the xdist
    controller (reports carry their markers as keywords)."""
    if "postgis" not in report.keywords:
        return
    if report.failed and "PostGIS tests must run" in str(report.longrepr):
        _POSTGIS_RUN["skipped"].append(report.nodeid)
    elif report.when == "call" and report.passed:
        _POSTGIS_RUN["passed"] += 1


def pytest_sessionfinish(session):
    """An xdist worker hands its cluster's PostGIS version to the controller."""
    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["postgis_version"] = _POSTGIS_RUN["version"]


def pytest_testnodedown(node, error):
    """The controller learns the PostGIS version from the workers that started a cluster."""
    version = getattr(node, "workeroutput", {}).get("postgis_version")
    if version:
        _POSTGIS_RUN["version"] = version


def pytest_terminal_summary(terminalreporter):
    """Show that SQL really ran on PostGIS in this session."""
    if _POSTGIS_RUN["version"] is None:
        return
    terminalreporter.write_line(
        f"PostGIS: SELECT PostGIS_Version() = {_POSTGIS_RUN['version']!r} on PostgreSQL 15; "
        f"{_POSTGIS_RUN['passed']} PostGIS tests passed, "
        f"{len(_POSTGIS_RUN['skipped'])} skipped"
    )


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


@pytest.fixture(scope="session")
def demo_sqlite_template(tmp_path_factory):
    """(path, snap index) of a SQLite file holding the demo county (session-wide)."""
    from support.demo_stores import sqlite_template

    return sqlite_template(tmp_path_factory.mktemp("demo") / "demo.sqlite")


@pytest.fixture(scope="session")
def demo_postgis_template(pg_url):
    """(database name, snap index) of a PostGIS template holding the demo county."""
    from support.demo_stores import postgis_template

    return postgis_template(pg_url)


def pytest_collection_modifyitems(config, items):
    """Longest files first: ``slow`` ones, then the browser files, then the rest.

    ``make test`` hands whole files to its workers in collection order
    (``--dist loadfile``); a long file handed out last keeps one worker busy after the
    other has finished. The sort is stable: within each group the order is the usual.
    (The season the bulletin tests share is built by the first to ask: the scoring
    file, slow, comes before the browser file that also reads it.)
    """

    def rank(item) -> int:
        if item.get_closest_marker("slow") is not None and "/browser/" not in str(item.path):
            return 0
        return 1 if "/browser/" in str(item.path) else 2

    items.sort(key=rank)
