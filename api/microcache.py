"""Recent answers of heavy map reads, reused for a few seconds (a micro-cache).

The issue layer of the command map is the heaviest frequent read: thousands of
features, the same for every reload of the same map by the same viewer. A worker keeps
its rendered answer per **viewer** (account, role, unit, leader: data permissions
differ) and **query** (path and query string) and serves it again while

* it is younger than ``CIVGRID_MAP_CACHE_SECONDS`` (default 2 s; 0 turns it off), and
* this worker has committed no write since (:func:`civgrid.grids.core.db.write_count`),

so a viewer always sees their own changes at once, and another worker's within the age
limit. Each answer carries a strong ``ETag`` (a hash of its body); a request whose
``If-None-Match`` names it is answered ``304 Not Modified`` without the body.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from civgrid.grids.accounts.permissions import Scope
from civgrid.grids.core.db import write_count

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
    While the new answer is built, the previous one is served to the others if this
    worker has written nothing since and it is younger than twice the age limit
    (stale-while-revalidate; a local choice: 4 s by default instead of 2 s, and only
    while a fresher answer is on its way).
    """

    def __init__(self, seconds: float, max_entries: int = 64) -> None:
        self.seconds = float(seconds)
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple, _Entry] = OrderedDict()
        self._building: dict[tuple, threading.Event] = {}
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
        self, key: tuple, writes: int, build: Callable[[], _Entry | Response], wait_s: float = 30.0
    ) -> _Entry | Response:
        """The fresh answer, a stale one while another request builds it, or ``build()``.

        ``build`` returns an entry (kept) or a response that is not kept (not a 200).
        A request that waited more than ``wait_s`` for another's build builds its own.
        """
        with self._lock:
            entry, stale = self._fresh(key, writes)
            if entry is not None:
                return entry
            pending = self._building.get(key)
            if pending is None:
                pending = self._building[key] = threading.Event()
                leader = True
            elif stale is not None:
                self.stale += 1
                return stale
            else:
                leader = False
        if not leader:
            pending.wait(wait_s)
            with self._lock:
                entry, _ = self._fresh(key, writes)
            return entry if entry is not None else self._keep(key, build())
        try:
            return self._keep(key, build())
        finally:
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


def cached_response(request: Request, scope: Scope, build: Callable[[], Response]) -> Response:
    """Answer from ``request.app.state.map_cache`` or ``build()`` (and keep the answer).

    Only 200 answers are kept. Every answer gets an ``ETag`` and ``Cache-Control:
    private, no-cache`` (a browser revalidates; a shared proxy keeps nothing); a
    matching ``If-None-Match`` gets 304.
    """
    cache: MicroCache | None = getattr(request.app.state, "map_cache", None)
    engine = request.app.state.store.engine
    writes = write_count(engine)  # counted before the read: a write meanwhile makes it stale

    def render() -> _Entry | Response:
        born = time.monotonic()  # the answer is as old as the read it starts with
        response = build()
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

    if cache is not None and cache.seconds > 0:
        key = (request.url.path, request.url.query, _viewer(scope))
        entry = cache.fetch(key, writes, render)
    else:
        entry = render()
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
