"""The examples in the account modules' docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "civgrid.grids.accounts.permissions",
    "civgrid.grids.core.audit",
    "civgrid.grids.accounts.service",
    "civgrid.api.security",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0, result
