"""Load shedding: bounded concurrency, a short queue, 503 with Retry-After.

Without a bound, every request past the database pool waits in SQLAlchemy's
pool for up to its timeout while holding a worker thread; past ~60 concurrent
requests the threads are all waiting, nothing is answered for minutes and the
server keeps working for clients that gave up. :class:`LoadShedding` (pure
ASGI middleware) instead admits at most ``limit`` requests at once — matched to
the connection pool — and lets others wait in line for at most ``queue_s``
seconds; a request that cannot start by then gets **503** with ``Retry-After``
(problem+json for the API, a Chinese page for browsers). A request whose
client disconnected while it waited is dropped without running (one log line).

A request is refused **at once** when the line is already longer than the server
can serve within ``queue_s`` at the rate it is completing requests now (the
completions of the last few seconds): waiting the full ``queue_s`` only to be
refused would spend the client's time and the server's (its own 503 later
competes with real work), and an answer promised within 2 s (issue 19) would come
late. Before enough completions are seen, the timeout alone decides.

``/healthz`` and ``/static`` are never queued: operators must see the server
while it sheds load, and static files do not touch the database.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["LoadShedding", "overloaded_response"]

log = logging.getLogger("civgrid.api.load")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Paths that bypass the queue (prefix match).
UNQUEUED = ("/healthz", "/static/", "/favicon.ico")

_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>系统繁忙</title></head><body style="font-family:sans-serif;margin:3em">
<h1>系统繁忙，请稍后再试</h1><p>当前访问量较大，请求未能及时处理。请在 {s} 秒后刷新页面。</p>
</body></html>"""


def overloaded_response(scope: Scope, retry_after_s: int) -> tuple[int, list, bytes]:
    """(status, headers, body) of the 503 answer: HTML for browsers, else problem+json."""
    headers = dict(scope.get("headers") or [])
    accept = headers.get(b"accept", b"").decode("latin-1")
    retry = [(b"retry-after", str(retry_after_s).encode())]
    if "text/html" in accept:
        body = _PAGE.format(s=retry_after_s).encode()
        return 503, [(b"content-type", b"text/html; charset=utf-8"), *retry], body
    body = json.dumps(
        {
            "type": "about:blank",
            "title": "Service Unavailable",
            "status": 503,
            "detail": "the server is at capacity; retry after the given seconds",
            "retry_after": retry_after_s,
        }
    ).encode()
    return 503, [(b"content-type", b"application/problem+json"), *retry], body


#: Completions that make a rate estimate, and how far back they may lie (seconds).
RATE_MIN_SAMPLES = 8
RATE_WINDOW_S = 5.0


class _Line:
    """One event loop's slots, the number waiting, and recent completion times."""

    def __init__(self, limit: int) -> None:
        self.slots = asyncio.Semaphore(limit)
        self.waiting = 0
        self.done: deque[float] = deque(maxlen=64)

    def finished(self, now: float) -> None:
        self.done.append(now)

    def expected_wait(self, now: float) -> float | None:
        """Seconds until one more request in line would start, at the current rate.

        None when the rate is not known: fewer than ``RATE_MIN_SAMPLES`` completions
        in the last ``RATE_WINDOW_S`` seconds.
        """
        done = self.done
        while done and now - done[0] > RATE_WINDOW_S:
            done.popleft()
        if len(done) < RATE_MIN_SAMPLES:
            return None
        span = now - done[0]
        if span <= 0:
            return None
        rate = (len(done) - 1) / span  # requests completed per second
        return (self.waiting + 1) / rate


class LoadShedding:
    """ASGI middleware: at most ``limit`` requests run; others wait ≤ ``queue_s`` seconds.

    Parameters
    ----------
    app : ASGI app
    limit : int
        Requests admitted at once (≤ the database pool: size + overflow).
    queue_s : float
        Longest wait for a slot before answering 503.
    retry_after_s : int
        The ``Retry-After`` value of a 503.
    """

    def __init__(
        self, app: ASGIApp, *, limit: int, queue_s: float = 2.0, retry_after_s: int = 2
    ) -> None:
        self.app = app
        self.limit = max(1, limit)
        self.queue_s = queue_s
        self.retry_after_s = retry_after_s
        # one semaphore per event loop: a server has one loop per process, but a test
        # client per thread brings its own (a semaphore must not cross loops)
        self._lines: weakref.WeakKeyDictionary[Any, _Line] = weakref.WeakKeyDictionary()
        self.shed = 0  # counters, for tests and /healthz
        self.shed_at_once = 0  # of which refused without waiting (predicted wait too long)
        self.dropped = 0
        self.disconnected = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith(UNQUEUED):
            await self._run(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        line = self._lines.get(loop)
        if line is None:
            line = self._lines[loop] = _Line(self.limit)
        started = time.monotonic()
        if not line.slots.locked():
            await line.slots.acquire()  # a free slot: taken without yielding to the loop
        else:
            wait = line.expected_wait(started)
            if wait is not None and wait > self.queue_s:
                self.shed_at_once += 1
                await self._refuse(scope, send)
                return
            line.waiting += 1
            try:
                await asyncio.wait_for(line.slots.acquire(), timeout=self.queue_s)
            except TimeoutError:
                await self._refuse(scope, send)
                return
            finally:
                line.waiting -= 1
        try:
            if time.monotonic() - started > 0.05:  # it waited: is anyone still there?
                gone, receive = await _peek_disconnect(receive)
                if gone:
                    self.dropped += 1
                    log.info("client left while queued: %s %s", scope["method"], scope["path"])
                    return
            await self._run(scope, receive, send)
        finally:
            line.slots.release()
            line.finished(time.monotonic())

    async def _refuse(self, scope: Scope, send: Send) -> None:
        self.shed += 1
        status, headers, body = overloaded_response(scope, self.retry_after_s)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _run(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app; a client that hangs up while its body is read is one log line.

        Starlette raises ``ClientDisconnect`` from ``Request.body()``/``form()``; left
        alone it reaches the server as a traceback per request under load, though
        nobody is there to answer and nothing was written.
        """
        from starlette.requests import ClientDisconnect

        try:
            await self.app(scope, receive, send)
        except ClientDisconnect:
            self.disconnected += 1
            log.info("client disconnected: %s %s", scope.get("method"), scope.get("path"))


async def _peek_disconnect(receive: Receive) -> tuple[bool, Receive]:
    """Whether the client already hung up, and a ``receive`` that replays what the
    peek read (a request body message must still reach the app).
    """
    try:
        message = await asyncio.wait_for(receive(), timeout=0.001)
    except TimeoutError:
        return False, receive
    if message.get("type") == "http.disconnect":
        return True, receive
    pending = [message]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return False, replay
