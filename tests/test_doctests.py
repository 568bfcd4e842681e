"""Every ``>>>`` example in the civgrid packages runs: one test per module whose source
holds one (the Alembic migrations excepted)."""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pytest

PACKAGES = ["civgrid.api", "civgrid.geo", "civgrid.grids", "civgrid.maps"]
SKIP = ("civgrid.grids.core.migrations",)


def _has_examples(name: str) -> bool:
    spec = importlib.util.find_spec(name)
    origin = spec.origin if spec else None
    if not origin or not origin.endswith(".py"):
        return False
    return ">>>" in Path(origin).read_text(encoding="utf-8")


def modules_with_examples() -> list[str]:
    """The civgrid modules whose source contains ``>>>``, sorted."""
    found: set[str] = set()
    for pkg_name in PACKAGES:
        pkg = importlib.import_module(pkg_name)
        candidates = [pkg_name]
        for info in pkgutil.walk_packages(pkg.__path__, prefix=f"{pkg_name}."):
            candidates.append(info.name)
        for name in candidates:
            if name.startswith(SKIP):
                continue
            if _has_examples(name):
                found.add(name)
    return sorted(found)


MODULES = modules_with_examples()


def test_discovery_finds_modules():
    assert len(MODULES) > 10, MODULES


@pytest.mark.parametrize("name", MODULES)
def test_doctest(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted > 0, f"{name}: '>>>' in the source but no example was run"
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
