"""The examples in the map modules' docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["basemaps", "display", "folium_offline", "hexbins", "layers", "pages"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"civgrid.maps.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
