"""``Server-Timing: app;dur=<ms>``: the app's own time, the wait in line excluded."""

from __future__ import annotations

import asyncio
import time

import httpx

from civgrid.api.app import create_app
from civgrid.api.overload import LoadShedding
from civgrid.api.servertiming import ServerTiming
from civgrid.api.settings import Settings
from support.authclient import AuthClient


def test_the_header_says_how_long_the_app_took():
    now = [100.0]

    async def app(scope, receive, send):
        now[0] += 0.0375  # the work takes 37.5 ms of the injected clock
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x", b"1")]})
        await send({"type": "http.response.body", "body": b"ok"})

    mw = ServerTiming(app, clock=lambda: now[0])

    async def get():
        transport = httpx.ASGITransport(app=mw)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            return await c.get("/x")

    r = asyncio.run(get())
    assert r.headers["server-timing"] == "app;dur=37.5" and r.headers["x"] == "1"


def test_waiting_for_a_slot_is_not_counted():
    async def app(scope, receive, send):
        await asyncio.sleep(0.05)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    # as in create_app: the load shedder outside, the timing inside it
    mw = LoadShedding(ServerTiming(app), limit=1, queue_s=5)

    async def burst():
        transport = httpx.ASGITransport(app=mw)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            started = time.perf_counter()
            rs = await asyncio.gather(*[c.get("/x") for _ in range(4)])
            return rs, (time.perf_counter() - started) * 1000

    rs, wall_ms = asyncio.run(burst())
    durs = [float(r.headers["server-timing"].split("=")[1]) for r in rs]
    # one at a time: had the wait in line been counted, the 4 figures would add up to
    # ≈ 2.5 × the burst's wall time (50 + 100 + 150 + 200 ms); each is only its own work
    assert all(d >= 45 for d in durs) and sum(durs) <= wall_ms * 1.1, (durs, wall_ms)


def test_every_api_answer_carries_it(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 't.sqlite'}", var_dir=tmp_path)
    with AuthClient(create_app(settings)) as client:
        ok = client.get("/api/v1/issues")
        missing = client.get("/api/v1/issues/999999")
    for r in (ok, missing):
        name, dur = r.headers["server-timing"].split(";dur=")
        assert name == "app" and float(dur) > 0
    assert missing.status_code == 404  # problem answers are timed too
