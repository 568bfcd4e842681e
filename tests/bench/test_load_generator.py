"""The pieces of the open-loop load benchmark (``bench/load.py``), without the load.

* latency is measured from each request's *scheduled* send time: a generator
  that falls behind (or a server that stalls it) shows in the figures;
* requests go out on schedule whatever the earlier ones are doing (open loop);
* the percentile is the nearest rank; the loopback check refuses other hosts;
* a missed binding target makes the exit status 1, an information-only one not.
"""

from __future__ import annotations

import asyncio
import doctest
import time

import load as bench
import pytest


def test_the_module_examples_run():
    result = doctest.testmod(bench)
    assert result.attempted >= 8 and result.failed == 0


def test_latency_counts_from_the_scheduled_time_not_the_send():
    """Request 0 stalls the generator's loop for 0.2 s (as a CPU-starved generator
    would be): requests 1–9, due during the stall, leave late, and their latency
    includes the lateness — a closed-loop or send-time measurement would hide it.
    """

    stall_end = []

    async def send(i: int) -> tuple[int, float | None]:
        if i == 0:
            time.sleep(0.2)  # blocks the event loop: nothing else is sent meanwhile
            stall_end.append(time.perf_counter())
        return 201, 1.0  # otherwise answered at once

    samples = asyncio.run(bench.open_loop(send, rate=50, duration_s=0.4))
    assert len(samples) == 20
    due_in_stall = [s for s in samples[1:] if s.scheduled < stall_end[0]]
    assert len(due_in_stall) >= 5
    for s in due_in_stall:  # each answered only after the stall, late by its wait
        assert s.latency >= stall_end[0] - s.scheduled
    after = [s for s in samples if s.scheduled > stall_end[0] + 0.05]
    # the generator caught up: later requests are not charged the stall
    assert after and bench.percentile([s.latency for s in after], 50) < 0.1
    stats = bench.RunStats("t", 50, 0.4, samples)
    assert stats.latency_pct(99) >= 0.15


def test_requests_go_out_on_schedule_without_waiting_for_answers():
    in_flight, peak = [0], [0]

    async def send(i: int) -> tuple[int, float | None]:
        in_flight[0] += 1
        peak[0] = max(peak[0], in_flight[0])
        await asyncio.sleep(0.3)  # a slow server
        in_flight[0] -= 1
        return 201, None

    started = time.perf_counter()
    samples = asyncio.run(bench.open_loop(send, rate=100, duration_s=0.3))
    took = time.perf_counter() - started
    # 30 requests of 0.3 s each: a closed loop needs 9 s; open loop ≈ 0.6 s
    assert len(samples) == 30 and took < 1.5 and peak[0] >= 20
    offsets = [s.scheduled - samples[0].scheduled for s in samples]
    assert offsets == pytest.approx([i / 100 for i in range(30)], abs=1e-9)


def test_a_run_is_bounded_in_time_and_failures_are_recorded():
    async def send(i: int) -> tuple[int, float | None]:
        if i % 3 == 0:
            await asyncio.sleep(10)  # never answers in time
        if i % 3 == 1:
            raise ConnectionResetError
        return 503, None

    started = time.perf_counter()
    samples = asyncio.run(bench.open_loop(send, rate=30, duration_s=0.2, timeout_s=0.3))
    assert time.perf_counter() - started < 1.5
    stats = bench.RunStats("t", 30, 0.2, samples)
    assert stats.statuses() == {"503": 2, "ConnectionResetError": 2, "timeout": 2}
    assert stats.server_errors() == 4 and stats.errors() == 6
    assert stats.answered_within(2.0) == pytest.approx(2 / 6)


def test_percentile_is_the_nearest_rank():
    latencies = list(range(1000, 0, -1))  # unsorted input
    assert bench.percentile(latencies, 99) == 990
    assert bench.percentile(latencies, 50) == 500
    assert bench.percentile(latencies, 100) == 1000
    assert bench.percentile([0.2, 0.1], 1) == 0.1


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000", "http://localhost:9", "http://[::1]:1", "http://127.9.9.9"]
)
def test_loopback_targets_are_accepted(url):
    assert bench.check_loopback(url)


@pytest.mark.parametrize(
    "url",
    ["http://192.168.1.10:8000", "http://8.8.8.8", "http://[2001:db8::1]/", "http://0.0.0.0:80"],
)
def test_other_targets_are_refused(url):
    with pytest.raises(bench.NotLoopbackError, match="refusing"):
        bench.check_loopback(url)


def _result(backend: str, ok: bool, binding: bool) -> bench.BackendResult:
    return bench.BackendResult(backend, [bench.Figure("p99 (ms)", 120.0, "≤ 100 ms", ok, binding)])


def test_exit_status_is_1_only_on_a_missed_binding_target():
    assert bench.exit_code([_result("PostGIS", True, True), _result("SQLite", False, False)]) == 0
    assert bench.exit_code([_result("PostGIS", False, True), _result("SQLite", True, False)]) == 1
    text = bench.table([_result("PostGIS", False, True), _result("SQLite", False, False)])
    assert "MISSED" in text and "(missed)" in text and "≤ 100 ms" in text


def _run(rate: float, statuses: list[int], latency_s: float = 0.01) -> bench.RunStats:
    samples = [
        bench.Sample(i / rate, i / rate, i / rate + latency_s, st, 3.0)
        for i, st in enumerate(statuses)
    ]
    return bench.RunStats(f"{rate}/s", rate, len(statuses) / rate, samples)


def test_evaluate_flags_each_miss_and_binds_only_on_postgis():
    light = _run(10, [201] * 60)
    steady = _run(100, [201] * 3000, latency_s=0.02)
    ramp = [_run(150, [201] * 600), _run(200, [201] * 400 + [503] * 400)]
    overload = _run(400, [201] * 500 + [503] * 3500, latency_s=2.5)  # too slow
    reads = _run(30, [200] * 600, latency_s=0.05)
    figs = {
        f.label: f
        for f in bench.evaluate("postgis", light, steady, ramp, overload, reads, binding=True)
    }
    assert figs["intake 100/s: p99 latency (ms)"].ok
    assert not figs["intake 400/s: answered ≤ 2 s (%)"].ok
    assert figs["best rate measured (accepted/s)"].value == pytest.approx(150)
    assert figs["intake server time at 10/s, median (ms)"].value == 3.0
    result = bench.BackendResult("PostGIS", list(figs.values()))
    assert bench.exit_code([result]) == 1
    info = bench.evaluate("sqlite", light, steady, ramp, overload, reads, binding=False)
    assert bench.exit_code([bench.BackendResult("SQLite", info)]) == 0


def test_scenario_0_alone_has_its_server_time_and_the_5xx_figure():
    """``--light-only``: the server time binds on PostGIS only; a 5xx on either."""
    slow = bench.RunStats(
        "10/s", 10, 2, [bench.Sample(i / 10, i / 10, i / 10 + 0.02, 201, 9.0) for i in range(20)]
    )
    figs = bench.light_only_figures(slow, binding=True)
    assert [f.label for f in figs] == [
        "intake server time at 10/s, median (ms)",
        "5xx other than 503, or no answer",
    ]
    assert figs[0].value == 9.0 and figs[0].ok is False and figs[1].ok is True
    assert bench.exit_code([bench.BackendResult("PostGIS", figs)]) == 1
    info = bench.light_only_figures(slow, binding=False)
    assert bench.exit_code([bench.BackendResult("SQLite", info)]) == 0
    failed = _run(10, [201] * 19 + [500])
    assert (
        bench.exit_code(
            [bench.BackendResult("SQLite", bench.light_only_figures(failed, binding=False))]
        )
        == 1
    )


def test_county_points_are_distinct_and_inside_the_county():
    import json

    import shapely
    from shapely.geometry import shape

    pts = bench.county_points(500)
    assert len(set(pts)) == 500
    county = shape(json.loads(bench.COUNTY.read_text())["features"][0]["geometry"])
    xs, ys = zip(*pts, strict=True)
    assert shapely.contains_xy(county, xs, ys).all()


def test_the_loopback_client_reuses_connections_and_reads_both_body_framings():
    """A raw HTTP/1.1 server: a Content-Length answer, then a chunked one on the same
    connection; ``Connection: close`` gets a connection of its own; a keep-alive
    connection the server dropped while idle costs a new connection, not an error."""
    seen = {"connections": 0, "bodies": []}

    async def handle(reader, writer):
        seen["connections"] += 1
        while head := await reader.readuntil(b"\r\n\r\n"):
            lines = head.decode().split("\r\n")
            length = next(
                (int(x.split(":")[1]) for x in lines if x.lower().startswith("content-length")), 0
            )
            seen["bodies"].append(await reader.readexactly(length))
            if lines[0].startswith("GET /chunked"):
                writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                writer.write(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
            else:
                body = b'{"id": 7}'
                writer.write(
                    b"HTTP/1.1 201 Created\r\nServer-Timing: app;dur=2.5\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                )
            await writer.drain()
            if "connection: close" in head.decode().lower() or "/bye" in lines[0]:
                writer.close()  # /bye: closed silently, as an idle keep-alive times out
                return

    async def scenario():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = bench.LoopbackClient(f"http://127.0.0.1:{port}")
        first = await client.post_json("/x", {"a": "压测"})
        second = await client.get("/chunked")
        third = await client.get("/y", headers={"Connection": "close"})
        await client.get("/bye")
        await asyncio.sleep(0.05)
        fourth = await client.post_json("/z", {})  # the idle connection is dead: sent anew
        client.close()
        server.close()
        return first, second, third, fourth

    first, second, third, fourth = asyncio.run(scenario())
    assert first.status_code == 201 and first.json() == {"id": 7}
    assert bench.parse_server_timing(first.headers["server-timing"]) == 2.5
    assert second.status_code == 200 and second.content == b"abcde"
    assert third.status_code == 201
    assert fourth.status_code == 201
    # /x, /chunked and /bye shared a connection; /y had its own, and /z a new one
    assert seen["connections"] == 3
    assert seen["bodies"][0] == '{"a": "压测"}'.encode() and seen["bodies"][-1] == b"{}"


def test_the_loopback_client_refuses_other_hosts():
    with pytest.raises(bench.NotLoopbackError):
        bench.LoopbackClient("http://203.0.113.5:8000")
