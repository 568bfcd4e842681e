"""Helpers of the browser tests: the app served by uvicorn in a thread, Chromium's
flags, page error collection, the horizontal-scroll check, the Chinese check of toasts and
error pages (the ``browser`` fixture is in ``conftest.py``).

Screenshots go to a temporary folder, or to the folder named by ``CIVGRID_SCREENSHOTS``
(``make screenshots`` sets it to ``docs/img``, the pictures shown in the README), so a
test run leaves the checkout untouched. A missing Chromium or Playwright fails the
browser tests (like PostGIS, never a skip).
"""

from __future__ import annotations

import os
import re
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


#: The work screen every page must fit without horizontal scrolling (issue 21).
DESKTOP = {"width": 1366, "height": 768}
#: How far the page is wider than its window (0: no horizontal scroll), and the element
#: sticking out furthest on the right (what to fix).
OVERFLOW = """() => {
  const d = document.documentElement, over = d.scrollWidth - d.clientWidth;
  if (over <= 0) return [0, ''];
  let worst = null, right = 0;
  for (const e of document.body.querySelectorAll('*')) {
    const r = e.getBoundingClientRect();
    if (r.right > right && r.right > d.clientWidth) { right = r.right; worst = e; }
  }
  if (!worst) return [over, ''];
  const cls = typeof worst.className === 'string' && worst.className
    ? '.' + worst.className.trim().split(/\\s+/).join('.') : '';
  const id = worst.id ? '#' + worst.id : '';
  return [over, worst.tagName.toLowerCase() + id + cls + ' right=' + Math.round(right)];
}"""


def assert_no_hscroll(page: Any, what: str, viewport: dict[str, int] | None = DESKTOP) -> None:
    """Fail when ``page`` scrolls horizontally (at ``viewport``, 1366×768 unless ``None``:
    the page's own), naming the element that sticks out."""
    if viewport is not None and page.viewport_size != viewport:
        page.set_viewport_size(viewport)
    over, widest = page.evaluate(OVERFLOW)
    assert over == 0, f"{what}: {over} px of horizontal scroll at {page.viewport_size}; {widest}"


# ----------------------------------------------------------------- Chinese messages
#: Every toast (``#cg-toast``) and HTML error page (``main[data-status]``) a page of any
#: browser test shows: (kind, path, text), appended by the binding the ``browser``
#: fixture gives each context; ``conftest.py`` fails a test on one that is not Chinese.
SEEN: list[tuple[str, str, str]] = []
SEEN_BINDING = "__cgSeen"
SEEN_SCRIPT = """(() => {
  if (window.top !== window) return;
  let last = '';
  const say = (kind, text) => {
    const f = window.__cgSeen;
    if (f) Promise.resolve(f(kind, location.pathname, text)).catch(() => {});
  };
  const look = () => {
    const t = document.getElementById('cg-toast');
    const text = t ? t.textContent.trim() : '';
    if (text && text !== last) { last = text; say('toast', text); }
  };
  document.addEventListener('DOMContentLoaded', () => {
    const main = document.querySelector('main[data-status]');
    if (main) say('error page ' + main.dataset.status, main.innerText);
    look();
    new MutationObserver(look).observe(document.body,
      { childList: true, subtree: true, characterData: true });
  });
})();"""
_CJK = re.compile(r"[\u4e00-\u9fff]")
#: three English words in a row: an untranslated sentence (codes such as ST03 pass)
_ENGLISH = re.compile(r"[A-Za-z]{2,}(?:[\s,.:;'’-]+[A-Za-z]{2,}){2,}")


def is_chinese(text: str) -> bool:
    """A message a user may read: Chinese, without an English sentence in it.

    >>> is_chinese("该问题已被他人更新，请刷新页面后重试。"), is_chinese("Not Found")
    (True, False)
    >>> is_chinese("数据加载失败：Failed to fetch data")
    False
    """
    return bool(_CJK.search(text)) and not _ENGLISH.search(text)


def record_messages(context: Any) -> Any:
    """Give ``context`` the binding and script that append its toasts and error pages to
    :data:`SEEN`; returns the context."""
    context.expose_binding(
        SEEN_BINDING, lambda _source, kind, path, text: SEEN.append((kind, path, text))
    )
    context.add_init_script(SEEN_SCRIPT)
    return context


def wait_for(page: Any, selector: str, timeout_ms: float = 30_000) -> None:
    """Wait for ``selector`` to be visible; on a timeout fail with what the page shows
    instead (its URL, title, the start of its text and the errors :func:`watch` saw), so a
    failure in CI says whether the page was an error page, a login page or still empty.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_selector(selector, timeout=timeout_ms)
    except PlaywrightTimeout:
        text = page.evaluate("document.body ? document.body.innerText : ''") or ""
        seen = getattr(page, "errors", [])
        pytest.fail(
            f"{selector} not visible after {timeout_ms / 1000:g} s at {page.url} "
            f"(title {page.title()!r}); the page shows: {text[:400]!r}; errors: {seen[:5]}",
            pytrace=False,
        )
