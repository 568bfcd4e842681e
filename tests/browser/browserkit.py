"""Helpers of the browser tests: the app served by uvicorn in a thread, Chromium's
flags, page error collection (the ``browser`` fixture is in ``conftest.py``).

Screenshots go to a temporary folder, or to the folder named by ``CIVGRID_SCREENSHOTS``
(``make screenshots`` sets it to ``docs/img``, the pictures shown in the README), so a
test run leaves the checkout untouched. A missing Chromium or Playwright fails the
browser tests (like PostGIS, never a skip).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

#: Debian's Chromium; ``CIVGRID_CHROMIUM`` names another executable (a missing one fails).
CHROMIUM = os.environ.get("CIVGRID_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
#: the env var naming the folder screenshots are kept in (unset: a temporary folder)
SCREENSHOTS_ENV = "CIVGRID_SCREENSHOTS"
#: Chromium flags that work headless as root on a machine with no internet (TRAPS.md).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def screenshot_dir(tmp_path_factory: Any) -> Path:
    """The folder named by ``CIVGRID_SCREENSHOTS`` (created), else a fresh temporary one."""
    named = os.environ.get(SCREENSHOTS_ENV)
    if named:
        path = Path(named)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("screenshots")


def require_chromium(executable: str | Path = CHROMIUM) -> str:
    """The Chromium executable, or a test failure (never a skip) naming what is missing."""
    path = Path(executable)
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"Chromium not found at {path}: browser tests need the Debian chromium package "
            "(make system-deps); they fail rather than skip",
            pytrace=False,
        )
    return str(path)


def require_playwright() -> Any:
    """Playwright's ``sync_playwright``, or a test failure (never a skip)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.fail(
            f"Playwright is not importable ({exc}): pip install playwright (the Python "
            "package; no browser download); browser tests fail rather than skip",
            pytrace=False,
        )
    return sync_playwright


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served(str):
    """The base URL of a served app, with the app itself (``.app``, to log in)."""

    app: Any

    def __new__(cls, url: str, app: Any) -> Served:
        obj = super().__new__(cls, url)
        obj.app = app
        return obj


@contextmanager
def serve(app: Any, timeout: float = 60.0) -> Iterator[Served]:
    """Serve ``app`` with uvicorn in a thread on a free port; yields its base URL."""
    import uvicorn

    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        assert thread.is_alive(), "server thread died"
        time.sleep(0.05)
    try:
        yield Served(f"http://127.0.0.1:{port}", app)
    finally:
        srv.should_exit = True
        thread.join(timeout=30)


#: Chromium's console text for anything the Content-Security-Policy blocked.
CSP_CONSOLE = "Content Security Policy"
#: Records every ``securitypolicyviolation`` event in ``window.__cspViolations``.
CSP_RECORDER = (
    "window.__cspViolations = []; document.addEventListener('securitypolicyviolation',"
    " e => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
)


def watch(page: Any) -> list[str]:
    """Collect the page's script errors, CSP violations (console) and HTTP answers ≥ 400
    in ``page.errors``."""
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if CSP_CONSOLE in m.text else None)
    page.add_init_script(CSP_RECORDER)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.errors = errors
    return errors
