"""Fixtures of the document tests: the demo county (SQLite or PostGIS), a clock, config."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from civgrid.grids.issues.config import IssueConfig
from support.demo_stores import BACKENDS, demo_store_copy
from support.issue_helpers import Clock


@pytest.fixture
def clock():
    """Monday 2025-03-03 09:00 Beijing time."""
    return Clock(datetime(2025, 3, 3, 1, 0, tzinfo=UTC))


@pytest.fixture
def config(clock, tmp_path):
    return IssueConfig(clock=clock, photo_dir=tmp_path / "photos")


@pytest.fixture
def store(request, tmp_path):
    """A private copy of the demo county on SQLite."""
    yield from demo_store_copy("sqlite", request, tmp_path)


@pytest.fixture(params=BACKENDS)
def any_store(request, tmp_path):
    """The demo county on SQLite or PostGIS (fresh copy per test)."""
    yield from demo_store_copy(request.param, request, tmp_path)
