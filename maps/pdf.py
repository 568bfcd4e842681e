"""PDF from HTML with headless Chromium's print-to-PDF: the one PDF renderer of civgrid.

:class:`ChromiumPrinter` runs the Chromium executable (Debian ``chromium``;
``CIVGRID_CHROMIUM`` names another) once per document with ``--headless
--print-to-pdf``: no browser stays running in the server, nothing is shared between
requests, and a crash costs one document. The page size and margins come from the
page's CSS (``@page { size: A4 }``). Documents are issued a few dozen times a day, so
the start-up cost (about a second) is paid rarely; tests print many documents through
one long-lived browser instead (Playwright's ``page.pdf``, the same Chromium call,
``Page.printToPDF``). Why Chromium and not WeasyPrint: it is already installed for the
browser tests, renders the same CSS the pages use, and shapes CJK text with the
system fonts (docs/documents.md).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Protocol

from civgrid.grids.core.errors import UnavailableError

__all__ = ["ChromiumPrinter", "PdfPrinter", "PrintError", "chromium_path"]

#: Flags that work headless as root on a machine with no internet.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-pdf-header-footer",
)


class PrintError(UnavailableError):
    """Chromium could not print a document (missing executable, crash, timeout): 503."""


class PdfPrinter(Protocol):
    """Prints a whole HTML page to PDF bytes."""

    def print_pdf(self, html: str) -> bytes:
        """PDF bytes of ``html`` (A4 as the page's CSS says)."""
        ...


def chromium_path() -> str:
    """The Chromium executable: ``$CIVGRID_CHROMIUM``, ``chromium`` on the PATH, or
    ``/usr/bin/chromium``."""
    return os.environ.get("CIVGRID_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


class ChromiumPrinter:
    """Print with the Chromium executable, one process per document.

    Parameters
    ----------
    executable : str, optional
        Default :func:`chromium_path`.
    timeout_s : float
        Seconds a document may take (default 60).
    """

    def __init__(self, executable: str | None = None, timeout_s: float = 60.0) -> None:
        self.executable = executable or chromium_path()
        self.timeout_s = timeout_s

    def print_pdf(self, html: str) -> bytes:
        """PDF bytes of ``html``; :class:`PrintError` when Chromium fails."""
        if not Path(self.executable).is_file():
            raise PrintError(f"Chromium not found at {self.executable} (apt-get install chromium)")
        with tempfile.TemporaryDirectory(prefix="civgrid-pdf-") as tmp:
            src, out = Path(tmp) / "doc.html", Path(tmp) / "doc.pdf"
            src.write_text(html, encoding="utf-8")
            cmd = [
                self.executable,
                *FLAGS,
                f"--user-data-dir={tmp}/profile",
                f"--print-to-pdf={out}",
                src.as_uri(),
            ]
            try:
                subprocess.run(cmd, capture_output=True, timeout=self.timeout_s, check=False)
            except subprocess.TimeoutExpired:
                raise PrintError(f"Chromium took over {self.timeout_s:.0f} s to print") from None
            if not out.is_file() or out.stat().st_size == 0:
                raise PrintError("Chromium printed no PDF")
            return out.read_bytes()
