"""``Server-Timing: app;dur=<ms>`` on every HTTP answer: the server's own time.

A client (the load benchmark ``bench/load.py``, a browser's network panel)
sees the whole round trip; this header says how much of it the app spent: from
the moment the request reached the middleware to the start of the response, in
milliseconds (W3C Server Timing, ``dur`` in ms). The middleware sits inside the
load shedder, so the wait in line for a slot is *not* counted: it is the cost
of the request, the figure the issue's "≤ 5 ms median server time of an intake"
target is about.

The figure is coarse on purpose (0.1 ms) and says nothing the client cannot
measure itself from outside; it carries no names or paths.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["ServerTiming", "server_timing_value"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def server_timing_value(seconds: float) -> bytes:
    """The header value for ``seconds`` of server time (milliseconds, 0.1 ms steps).

    >>> server_timing_value(0.0042)
    b'app;dur=4.2'
    >>> server_timing_value(1.5)
    b'app;dur=1500.0'
    """
    return f"app;dur={seconds * 1000:.1f}".encode()


class ServerTiming:
    """Pure ASGI middleware adding ``Server-Timing: app;dur=<ms>`` to each answer.

    Parameters
    ----------
    app : ASGI app
        The wrapped application.
    clock : callable, optional
        Monotonic clock in seconds (tests inject one).
    """

    def __init__(self, app: ASGIApp, *, clock: Callable[[], float] = time.perf_counter) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = self.clock()

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                headers.append((b"server-timing", server_timing_value(self.clock() - started)))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, timed_send)
