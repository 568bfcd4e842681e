"""Fixtures of the account tests: one demo-county app per module (see ``authworld``)."""

from __future__ import annotations

import pytest

from support.authworld import build_world


@pytest.fixture(scope="module")
def world(demo_sqlite_template, tmp_path_factory):
    """The module's demo county app with X, Y, G (see the module doc)."""
    path, _index = demo_sqlite_template
    w = build_world(path, tmp_path_factory.mktemp("auth"))
    yield w
    w.client.__exit__(None, None, None)
