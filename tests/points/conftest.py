"""Fixtures of the point tests: demo-county stores on SQLite and PostGIS, the standards."""

from __future__ import annotations

from datetime import date

import pytest

from support.demo_stores import BACKENDS, demo_store_copy


@pytest.fixture(params=BACKENDS)
def demo_store(request, tmp_path):
    """The demo county on SQLite or PostGIS (a fresh copy per test)."""
    yield from demo_store_copy(request.param, request, tmp_path)


@pytest.fixture
def sqlite_demo(request, tmp_path):
    """The demo county on SQLite only."""
    yield from demo_store_copy("sqlite", request, tmp_path)


@pytest.fixture(scope="session")
def standard():
    """The shipped demo standard in force in December 2026."""
    from civgrid.grids.points.standards import StandardsRegistry

    return StandardsRegistry.with_shipped().version_on("sheqi", date(2026, 12, 1))
