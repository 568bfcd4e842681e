"""Rate and size limits of the HTTP layer: token buckets, and the errors they raise.

* :class:`RateLimiter` is an in-process token bucket keyed by client IP or
  username (login throttling, anonymous intake); :func:`limiter` keeps one per
  name on the app. The production layer is the reverse proxy (``limit_req`` in
  nginx, docs/operations.md).
* :class:`TooManyRequestsError` (429) and :class:`PayloadTooLargeError` (413) are
  mapped to problem details by ``api/errors.py``.
"""

from __future__ import annotations

import threading
import time

from fastapi import Request

from civgrid.grids.core.errors import DomainError

__all__ = [
    "PayloadTooLargeError",
    "RateLimiter",
    "TooManyRequestsError",
    "client_ip",
    "limiter",
    "parse_rate",
]


class TooManyRequestsError(DomainError):
    """Rate limit of anonymous intake exceeded (HTTP 429)."""


class PayloadTooLargeError(DomainError):
    """An anonymous report over the size limit (HTTP 413)."""


def parse_rate(text: str) -> tuple[int, float]:
    """``"10/60"`` → (10 requests, per 60 seconds).

    >>> parse_rate("10/60"), parse_rate("5")
    ((10, 60.0), (5, 60.0))
    """
    count, _, seconds = text.partition("/")
    return int(count), float(seconds or 60)


class RateLimiter:
    """A token bucket per key: ``capacity`` requests, refilled over ``period`` seconds.

    Examples
    --------
    >>> rl = RateLimiter(2, 60.0, clock=lambda: 0.0)
    >>> [rl.allow("1.2.3.4") for _ in range(3)]
    [True, True, False]
    """

    def __init__(self, capacity: int, period: float, *, clock=time.monotonic) -> None:
        self.capacity = max(1, capacity)
        self.rate = self.capacity / max(period, 1e-6)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Take one token for ``key``; False when the bucket is empty."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.capacity), now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1, now)
            if len(self._buckets) > 10_000:  # forget idle keys
                self._buckets = {k: v for k, v in self._buckets.items() if v[1] > now - 3600}
            return True

    def retry_after(self, key: str) -> int:
        """Seconds until ``key`` has a token again."""
        tokens, _ = self._buckets.get(key, (1.0, 0.0))
        return max(1, int((1 - tokens) / self.rate) + 1)


def client_ip(request: Request) -> str:
    """The client address as seen by the app (the proxy passes it with --proxy-headers)."""
    return request.client.host if request.client else "unknown"


def limiter(request: Request, name: str, rate: str) -> RateLimiter:
    """The app's token bucket ``name`` (created on first use from ``rate``)."""
    buckets = request.app.state.__dict__.setdefault("_rate_limiters", {})
    if name not in buckets:
        buckets[name] = RateLimiter(*parse_rate(rate))
    return buckets[name]
