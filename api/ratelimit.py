"""Rate and size limits of the HTTP layer: token buckets, and the errors they raise.

* :class:`SharedRateLimiter` is a token bucket keyed by client IP or username
  (login throttling, anonymous intake) kept in the database
  (:mod:`civgrid.grids.core.throttle`), so every worker of ``civgrid serve
  --workers N`` counts together; :func:`limiter` keeps one per name on the app.
  :class:`RateLimiter` is the in-process fallback (an app without a store).
  The first line in production is the reverse proxy (``limit_req`` in nginx,
  docs/operations.md).
* :func:`client_ip` believes ``X-Forwarded-For`` only from the proxies named in
  ``CIVGRID_TRUSTED_PROXIES``: from anyone else a rotating header would defeat
  every per-IP limit.
* :class:`TooManyRequestsError` (429) and :class:`PayloadTooLargeError` (413) are
  mapped to problem details by ``api/errors.py``.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from functools import lru_cache
from typing import Any

from fastapi import Request

from civgrid.grids.core.errors import DomainError

__all__ = [
    "PayloadTooLargeError",
    "RateLimiter",
    "SharedRateLimiter",
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


class SharedRateLimiter:
    """A token bucket per key in the database, shared by every worker process.

    Same interface as :class:`RateLimiter`; one small atomic statement per call.
    """

    def __init__(self, engine: Any, name: str, capacity: int, period: float) -> None:
        self.engine = engine
        self.name = name
        self.capacity = max(1, capacity)
        self.period = period
        self.rate = self.capacity / max(period, 1e-6)
        self._left: dict[str, float] = {}

    def allow(self, key: str) -> bool:
        """Take one token for ``key``; False when the bucket is empty."""
        from civgrid.grids.core.throttle import take_token

        ok, left = take_token(self.engine, self.name, key, self.capacity, self.period)
        if len(self._left) > 10_000:
            self._left.clear()
        self._left[key] = left
        return ok

    def retry_after(self, key: str) -> int:
        """Seconds until ``key`` has a token again."""
        return max(1, int((1 - self._left.get(key, 0.0)) / self.rate) + 1)


@lru_cache(maxsize=16)
def trusted_networks(spec: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """``"127.0.0.1, 10.0.0.0/8"`` → networks (an empty spec trusts nobody).

    >>> [str(n) for n in trusted_networks("127.0.0.1, 10.0.0.0/8")]
    ['127.0.0.1/32', '10.0.0.0/8']
    """
    return tuple(
        ipaddress.ip_network(p.strip(), strict=False) for p in spec.split(",") if p.strip()
    )


def _trusted(host: str, networks: tuple[Any, ...]) -> bool:
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(addr in n for n in networks)


def client_ip(request: Request) -> str:
    """The client address: the peer, or — when the peer is a trusted proxy — the
    right-most address in ``X-Forwarded-For`` that is not itself a trusted proxy.

    Proxies append to the header, so entries left of the last untrusted one were
    written by the client and are never believed.
    """
    peer = request.client.host if request.client else "unknown"
    settings = getattr(request.app.state, "settings", None)
    networks = trusted_networks(getattr(settings, "trusted_proxies", "") or "")
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop
    return hops[0] if hops else peer


def limiter(request: Request, name: str, rate: str) -> RateLimiter | SharedRateLimiter:
    """The app's token bucket ``name`` (created on first use from ``rate``): shared
    through the database when the app has a store, else in-process.
    """
    buckets = request.app.state.__dict__.setdefault("_rate_limiters", {})
    if name not in buckets:
        store = getattr(request.app.state, "store", None)
        capacity, period = parse_rate(rate)
        buckets[name] = (
            SharedRateLimiter(store.engine, name, capacity, period)
            if store is not None
            else RateLimiter(capacity, period)
        )
    return buckets[name]
