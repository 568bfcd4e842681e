"""The ``browser`` fixture: one Debian headless Chromium for the run, driven by Playwright
(its own browser download is never used), and ``img``: the screenshot folder. Helpers are
in ``browserkit.py``. A missing Chromium or Playwright is a failure, never a skip."""

from __future__ import annotations

import pytest
from browserkit import CHROMIUM, CHROMIUM_ARGS, require_chromium, require_playwright, screenshot_dir


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the run."""
    executable = require_chromium(CHROMIUM)
    sync_playwright = require_playwright()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def img(tmp_path_factory):
    """Where screenshots go: ``$CIVGRID_SCREENSHOTS`` or a temporary folder."""
    return screenshot_dir(tmp_path_factory)
