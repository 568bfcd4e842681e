"""Recent answers of heavy map reads, reused for a few seconds (a micro-cache).

The issue layer of the command map is the heaviest frequent read: thousands of
features, the same for every reload of the same map by the same viewer. A worker keeps
its rendered answer per **viewer** (account, role, unit, leader: data permissions
differ) and **query** (path and query string) and serves it again while

* it is younger than ``CIVGRID_MAP_CACHE_SECONDS`` (default 2 s; 0 turns it off), and
* this worker has committed no write since (:func:`civgrid.grids.core.db.write_count`),

so a viewer always sees their own changes at once, and another worker's within the age
limit (or twice it while a fresher answer is being built: :class:`MicroCache`). Each
answer carries a strong ``ETag`` (a hash of its body); a request whose ``If-None-Match``
names it is answered ``304 Not Modified`` without the body.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from civgrid.grids.accounts.permissions import Scope
from civgrid.grids.core.db import write_count

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

__all__ = ["MicroCache", "cached_response"]


@dataclass(frozen=True)
class _Entry:
    body: bytes
    media_type: str
    etag: str
    writes: int
    born: float


class MicroCache:
    """Rendered answers by (viewer, query), bounded in count and age; one build at a time.

    Parameters
    ----------
    seconds : float
        Age limit; 0 disables the cache.
    max_entries : int
        Least recently used answers beyond this are dropped (a layer is up to a few MB).

    Notes
    -----
    A miss is built by **one** request per key (single flight): others asking for the
    same key meanwhile wait for that answer instead of building it again; a layer of
    thousands of issues holds the interpreter for tens of milliseconds, and two or three
    builds side by side made every request of the worker wait (issue 19, read mix p99).
    An answer past the age limit but younger than twice it, with no write of this
    worker since, is served as it is while a fresher one is built (stale-while-revalidate,
    a local choice: up to 4 s by default instead of 2 s, and only while a fresher answer
    is on its way). Given ``refresh``, that build runs in a thread of its own (one at a
    time per worker; a request finding it busy builds in its own thread as before), so
    no request waits for it; otherwise the request that found the answer old builds it.
    """

    def __init__(self, seconds: float, max_entries: int = 64) -> None:
        self.seconds = float(seconds)
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple, _Entry] = OrderedDict()
        self._building: dict[tuple, threading.Event] = {}
        self._refreshing: tuple | None = None  # the key a background build works on
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.stale = 0

    def get(self, key: tuple, writes: int) -> _Entry | None:
        """The fresh answer for ``key``, or None."""
        with self._lock:
            entry, _ = self._fresh(key, writes)
            return entry

    def _fresh(self, key: tuple, writes: int) -> tuple[_Entry | None, _Entry | None]:
        """(fresh entry or None, stale entry that may stand in or None); holds the lock."""
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None, None
        if entry.writes != writes:  # this worker wrote since: never served again
            del self._entries[key]
            self.misses += 1
            return None, None
        age = time.monotonic() - entry.born
        if age > self.seconds:
            self.misses += 1
            return None, entry if age <= 2 * self.seconds else None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry, None

    def put(self, key: tuple, entry: _Entry) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def fetch(
        self,
        key: tuple,
        writes: int,
        build: Callable[[], _Entry | Response],
        refresh: Callable[[], _Entry | Response] | None = None,
        wait_s: float = 30.0,
    ) -> _Entry | Response:
        """The fresh answer, a stale one while it is rebuilt, or ``build()``.

        ``build`` (in the caller's thread) and ``refresh`` (the same work in a background
        thread, with resources of its own) return an entry (kept) or a response that is
        not kept (not a 200). A request that waited more than ``wait_s`` for another's
        build builds its own.
        """
        background = False
        with self._lock:
            entry, stale = self._fresh(key, writes)
            if entry is not None:
                return entry
            pending = self._building.get(key)
            if pending is None:
                pending = self._building[key] = threading.Event()
                leader = True
                if stale is not None and refresh is not None and self._refreshing is None:
                    self._refreshing, background = key, True
                    self.stale += 1
            elif stale is not None:
                self.stale += 1
                return stale
            else:
                leader = False
        if background:
            threading.Thread(
                target=self._refresh,
                args=(key, pending, refresh),
                name="civgrid-microcache",
                daemon=True,
            ).start()
            return stale
        if not leader:
            pending.wait(wait_s)
            with self._lock:
                entry, _ = self._fresh(key, writes)
            return entry if entry is not None else self._keep(key, build())
        try:
            return self._keep(key, build())
        finally:
            self._done(key, pending)

    def _refresh(self, key: tuple, pending: threading.Event, refresh: Callable) -> None:
        try:
            self._keep(key, refresh())
        except Exception:  # the stale answer stays until too old; the next request builds
            log.warning("rebuilding a cached map answer failed", exc_info=True)
        finally:
            with self._lock:
                self._refreshing = None
            self._done(key, pending)

    def _done(self, key: tuple, pending: threading.Event) -> None:
        with self._lock:
            if self._building.get(key) is pending:
                del self._building[key]
        pending.set()

    def _keep(self, key: tuple, outcome: _Entry | Response) -> _Entry | Response:
        if isinstance(outcome, _Entry):
            self.put(key, outcome)
        return outcome


def _viewer(scope: Scope) -> tuple:
    a = scope.actor
    return (a.who, a.account_role, a.role.value, a.unit, a.leader, a.team)


def cached_response(
    request: Request,
    scope: Scope,
    build: Callable[[Session], Response],
    session: Session,
) -> Response:
    """Answer from ``request.app.state.map_cache`` or ``build(session)`` (and keep it).

    Only 200 answers are kept. Every answer gets an ``ETag`` and ``Cache-Control:
    private, no-cache`` (a browser revalidates; a shared proxy keeps nothing); a
    matching ``If-None-Match`` gets 304. ``build`` must read only through the session
    it is given: a rebuild in the background (:meth:`MicroCache.fetch`) gives it a
    session of the store's own.
    """
    cache: MicroCache | None = getattr(request.app.state, "map_cache", None)
    store = request.app.state.store
    writes = write_count(store.engine)  # counted before the read: a write meanwhile makes it stale

    def render(s: Session) -> _Entry | Response:
        born = time.monotonic()  # the answer is as old as the read it starts with
        response = build(s)
        if response.status_code != 200:
            return response
        body = bytes(response.body)
        return _Entry(
            body=body,
            media_type=response.media_type or "application/json",
            etag='"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"',
            writes=writes,
            born=born,
        )

    def refresh() -> _Entry | Response:
        with store.session() as own:
            return render(own)

    if cache is not None and cache.seconds > 0:
        key = (request.url.path, request.url.query, _viewer(scope))
        entry = cache.fetch(key, writes, lambda: render(session), refresh)
    else:
        entry = render(session)
    if isinstance(entry, Response):
        return entry
    headers = {"ETag": entry.etag, "Cache-Control": "private, no-cache"}
    if entry.etag in _etags(request.headers.get("if-none-match")):
        return Response(status_code=304, headers=headers)
    return Response(entry.body, media_type=entry.media_type, headers=headers)


def _etags(header: str | None) -> set[str]:
    if not header:
        return set()
    return {t.strip().removeprefix("W/") for t in header.split(",")}
