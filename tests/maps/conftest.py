"""Fixtures of the map tests: the demo county with seeded issues, and app clients.

``maps_template``
    A SQLite file with the demo county and 120 issues (built once per session).
``maps_db``
    A private copy per test (tests may write, e.g. reassign).
``make_client``
    ``make_client(basemap_url=..., basemap_crs=...)`` → a started TestClient on that copy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from support.authclient import AuthClient
from support.mapdata import build_demo_db, copy_db, make_app


@pytest.fixture(scope="session")
def maps_template(tmp_path_factory) -> Path:
    """The demo county + seeded issues, once per session."""
    root = tmp_path_factory.mktemp("maps-template")
    path = root / "demo.sqlite"
    build_demo_db(path, root / "photos")
    return path


@pytest.fixture
def maps_db(maps_template, tmp_path) -> str:
    """URL of a private copy of the template."""
    return copy_db(maps_template, tmp_path / "demo.sqlite")


@pytest.fixture
def make_client(maps_db, tmp_path) -> Iterator[Callable[..., TestClient]]:
    """Factory of started TestClients on the test's database copy."""
    clients: list[TestClient] = []

    def make(**settings) -> TestClient:
        client = AuthClient(make_app(maps_db, tmp_path / "var", **settings))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)
