"""Load shedding: at most N requests run, others wait briefly, then 503 with Retry-After."""

from __future__ import annotations

import asyncio
import time

import httpx

from civgrid.api.overload import LoadShedding, _Line


def _slow_app(delay_s: float, running: list[int], peak: list[int]):
    async def app(scope, receive, send):
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        try:
            await asyncio.sleep(delay_s)
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
        finally:
            running[0] -= 1

    return app


async def _burst(app, n: int, path: str = "/api/v1/heat/points", accept: str = "*/*"):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        started = time.monotonic()
        rs = await asyncio.gather(*[c.get(path, headers={"Accept": accept}) for _ in range(n)])
        return rs, time.monotonic() - started


def test_excess_requests_get_503_with_retry_after_quickly():
    running, peak = [0], [0]
    mw = LoadShedding(_slow_app(0.3, running, peak), limit=2, queue_s=0.5, retry_after_s=3)
    rs, took = asyncio.run(_burst(mw, 12))
    codes = sorted(r.status_code for r in rs)
    ok = codes.count(200)
    # two run at once; in 0.5 s of queueing at most two more rounds of 0.3 s start
    assert peak[0] == 2 and 2 <= ok <= 6 and codes.count(503) == 12 - ok
    shed = [r for r in rs if r.status_code == 503]
    assert all(r.headers["retry-after"] == "3" for r in shed)
    assert all(r.headers["content-type"] == "application/problem+json" for r in shed)
    assert shed[0].json()["status"] == 503 and mw.shed == len(shed)
    assert took < 2.0  # nobody waits without bound


def test_browsers_get_a_chinese_page_and_health_is_never_queued():
    running, peak = [0], [0]
    mw = LoadShedding(_slow_app(0.4, running, peak), limit=1, queue_s=0.1)
    rs, _ = asyncio.run(_burst(mw, 4, path="/map", accept="text/html"))
    shed = [r for r in rs if r.status_code == 503]
    assert shed and "系统繁忙" in shed[0].text and shed[0].headers["retry-after"]
    # /healthz bypasses the line: all answered although the limit is 1
    rs, _ = asyncio.run(_burst(mw, 4, path="/healthz"))
    assert [r.status_code for r in rs] == [200] * 4 and peak[0] == 4


def test_a_line_longer_than_the_wait_allows_is_refused_at_once():
    """At the measured completion rate, the 20th in line would wait far past ``queue_s``:
    it is told 503 at once; no answer comes later than the wait plus the work."""
    running, peak = [0], [0]
    mw = LoadShedding(_slow_app(0.02, running, peak), limit=1, queue_s=0.3)

    async def scenario():
        transport = httpx.ASGITransport(app=mw)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            for _ in range(10):  # a steady state: ~50 completions per second
                assert (await c.get("/api/v1/issues")).status_code == 200

            async def timed():
                t = time.monotonic()
                r = await c.get("/api/v1/issues")
                return r.status_code, time.monotonic() - t

            return await asyncio.gather(*[timed() for _ in range(60)])

    answers = asyncio.run(scenario())
    ok = [t for code, t in answers if code == 200]
    shed = [t for code, t in answers if code == 503]
    # about queue_s × rate (15) start; the rest hear at once, not after 0.3 s in line
    assert 8 <= len(ok) <= 25 and len(shed) == 60 - len(ok)
    quick = [t for t in shed if t < 0.15]
    assert mw.shed_at_once >= len(shed) - 3 and len(quick) >= len(shed) - 3
    assert max(ok) < 0.3 + 0.1 and peak[0] == 1


def test_a_request_whose_client_left_while_queued_is_not_run():
    ran = []

    async def inner(scope, receive, send):
        ran.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    mw = LoadShedding(inner, limit=1, queue_s=2.0)

    async def scenario():
        line = mw._lines[asyncio.get_running_loop()] = _Line(1)
        slots = line.slots
        await slots.acquire()  # the only slot is busy
        sent = []

        async def receive():
            return {"type": "http.disconnect"}

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": "/gone", "headers": []}
        task = asyncio.create_task(mw(scope, receive, send))
        await asyncio.sleep(0.1)  # queued for a while, then the slot frees
        slots.release()
        await task
        return sent

    sent = asyncio.run(scenario())
    assert ran == [] and sent == [] and mw.dropped == 1


def test_a_client_that_hangs_up_mid_body_is_one_log_line(caplog):
    """ClientDisconnect from reading the body: no exception reaches the server, one line."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    bodies = []

    async def upload(request: Request):
        bodies.append(await request.body())  # raises ClientDisconnect
        return PlainTextResponse("stored")

    made: list[LoadShedding] = []

    class Shedding(LoadShedding):
        def __init__(self, app, **kw):
            super().__init__(app, **kw)
            made.append(self)

    # as in create_app: Starlette's error middleware outside, the shedding inside it
    route = Route("/api/v1/issues", upload, methods=["POST"])
    app = Starlette(routes=[route], middleware=[Middleware(Shedding, limit=4)])
    messages = iter(
        [
            {"type": "http.request", "body": b"part", "more_body": True},
            {"type": "http.disconnect"},
        ]
    )

    async def receive():
        return next(messages)

    sent = []

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/issues",
        "headers": [],
        "query_string": b"",
    }
    with caplog.at_level("INFO", logger="civgrid.api.load"):
        asyncio.run(app(scope, receive, send))  # raised ClientDisconnect (a 500) before
    assert bodies == [] and sent == [] and made[0].disconnected == 1
    lines = [r.getMessage() for r in caplog.records if r.name == "civgrid.api.load"]
    assert lines == ["client disconnected: POST /api/v1/issues"]
    assert not any(r.exc_info for r in caplog.records)
