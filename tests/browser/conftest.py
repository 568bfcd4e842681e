"""The ``browser`` fixture: one Debian headless Chromium for the run, driven by Playwright
(its own browser download is never used). Helpers are in ``browserkit.py``."""

from __future__ import annotations

import pytest
from browserkit import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the run."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - a setup error, not a skip
        raise RuntimeError(
            "pip install playwright (the Python package; no browser download)"
        ) from exc
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
