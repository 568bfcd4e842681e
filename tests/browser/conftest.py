"""The ``browser`` fixture: one Debian headless Chromium per module, driven by Playwright
(its own browser download is never used), and ``img``: the screenshot folder. Helpers are
in ``browserkit.py``. A missing Chromium or Playwright is a failure, never a skip.

Every context the ``browser`` opens records the toasts and HTML error pages its pages show
(``browserkit.record_messages``); a test after which one of them is not Chinese fails
(``chinese_messages``, for every browser test)."""

from __future__ import annotations

import pytest
from browserkit import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SEEN,
    is_chinese,
    record_messages,
    require_chromium,
    require_playwright,
    screenshot_dir,
)


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
        new_context, new_page = b.new_context, b.new_page

        def recording_context(*args, **kwargs):
            return record_messages(new_context(*args, **kwargs))

        def recording_page(*args, **kwargs):
            page = new_page(*args, **kwargs)
            record_messages(page.context)
            return page

        b.new_context, b.new_page = recording_context, recording_page
        yield b
        b.close()


@pytest.fixture(scope="session")
def img(tmp_path_factory):
    """Where screenshots go: ``$CIVGRID_SCREENSHOTS`` or a temporary folder."""
    return screenshot_dir(tmp_path_factory)


@pytest.fixture(autouse=True)
def chinese_messages():
    """Fail a browser test after which a toast or an HTML error page it met is not
    Chinese (``browserkit.SEEN``: kind, path, text)."""
    start = len(SEEN)
    yield SEEN
    wrong = [m for m in SEEN[start:] if not is_chinese(m[2])]
    assert not wrong, f"toasts or error pages not in Chinese: {wrong}"
