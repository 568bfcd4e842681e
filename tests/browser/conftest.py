"""The ``browser`` fixture: one Debian headless Chromium per module, driven by Playwright
(its own browser download is never used), and ``img``: the screenshot folder. Helpers are
in ``browserkit.py``. A missing Chromium or Playwright is a failure, never a skip."""

from __future__ import annotations

import pytest
from browserkit import CHROMIUM, CHROMIUM_ARGS, require_chromium, require_playwright, screenshot_dir


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per module.

    Per module, not per run: Playwright's sync API keeps an event loop running in the
    thread while it is open, and under ``pytest-xdist --dist loadfile`` a worker goes
    on to other files whose tests call ``asyncio.run`` (which refuses to nest)."""
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
