"""The browser helpers themselves: a missing Chromium or Playwright fails (never skips),
and screenshots stay out of the checkout unless ``CIVGRID_SCREENSHOTS`` names a folder."""

from __future__ import annotations

import sys

import pytest
from browserkit import ROOT, require_chromium, require_playwright, screenshot_dir


def test_missing_chromium_is_a_failure_with_a_clear_message(tmp_path):
    missing = tmp_path / "no-such-chromium"
    with pytest.raises(pytest.fail.Exception, match=r"Chromium not found at .*no-such-chromium"):
        require_chromium(missing)


def test_existing_chromium_is_returned(tmp_path):
    exe = tmp_path / "chromium"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    assert require_chromium(exe) == str(exe)


def test_missing_playwright_is_a_failure_with_a_clear_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)  # import raises
    with pytest.raises(pytest.fail.Exception, match="Playwright is not importable"):
        require_playwright()


def test_screenshots_go_to_a_temporary_folder_by_default(monkeypatch, tmp_path_factory):
    monkeypatch.delenv("CIVGRID_SCREENSHOTS", raising=False)
    folder = screenshot_dir(tmp_path_factory)
    assert folder.is_dir()
    assert ROOT not in folder.resolve().parents


def test_screenshots_go_to_the_folder_named_by_the_env_var(monkeypatch, tmp_path, tmp_path_factory):
    monkeypatch.setenv("CIVGRID_SCREENSHOTS", str(tmp_path / "img"))
    assert screenshot_dir(tmp_path_factory) == tmp_path / "img"
    assert (tmp_path / "img").is_dir()


def test_a_browser_test_without_chromium_fails_rather_than_skips(tmp_path):
    """End to end: the real ``browser`` fixture with a missing executable errors out."""
    import os
    import subprocess

    env = {**os.environ, "CIVGRID_CHROMIUM": str(tmp_path / "no-chromium")}
    env.pop("CIVGRID_SCREENSHOTS", None)
    test = "tests/browser/test_login_browser.py"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", test],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = run.stdout + run.stderr
    assert run.returncode != 0, out
    assert "Chromium not found at" in out, out
    assert "skipped" not in out, out
