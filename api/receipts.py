"""Receipt numbers (回执号) of reports: the issue id and a short HMAC of it.

A citizen who reports without an account gets ``<id>-<6 hex digits>``; the digits are
the first 24 bits of an HMAC-SHA256 of the id under the app's signing key (a local
choice), so a number cannot be guessed from another one, and a forged one is
refused like an unknown one (no hint which).

>>> class S:
...     secret_key = "k"
>>> r = receipt_for(S(), 42)
>>> r.startswith("42-") and len(r) == 9
True
>>> issue_of_receipt(S(), r.lower())
42
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from civgrid.api.security import signing_key
from civgrid.grids.core.errors import NotFoundError

__all__ = ["issue_of_receipt", "receipt_for"]

_RECEIPT = re.compile(r"^\s*(\d{1,12})-([0-9A-Fa-f]{6})\s*$")


def receipt_for(settings: Any, issue_id: int) -> str:
    """The receipt number (回执号) of an issue: ``<id>-<6 hex digits>``."""
    mac = hmac.new(signing_key(settings).encode(), f"receipt:{issue_id}".encode(), hashlib.sha256)
    return f"{issue_id}-{mac.hexdigest()[:6].upper()}"


def issue_of_receipt(settings: Any, receipt: str) -> int:
    """The issue id of a valid receipt; :class:`NotFoundError` otherwise (no hint why)."""
    m = _RECEIPT.match(receipt or "")
    if m is None or not hmac.compare_digest(receipt_for(settings, int(m[1])), m[0].strip().upper()):
        raise NotFoundError(f"no report with receipt {receipt!r}", kind="receipt", key=receipt)
    return int(m[1])
