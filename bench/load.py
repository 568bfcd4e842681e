"""Open-loop load benchmark of a real ``civgrid serve --workers 2``, with targets.

The server is started here, on loopback, once per backend (PostGIS, then
SQLite), on a fresh database holding the demo county (``civgrid demo load``)
and one dispatcher account the generator logs in as. The generator is **open
loop**: requests go out on a fixed schedule (``i / rate`` seconds after the
start) whether or not earlier ones were answered, and each latency is measured
from the request's *scheduled* send time — a stalled server or a late
generator shows up in the figures instead of silently lowering the offered
rate (no coordinated omission). Every run is bounded in count (``rate ×
duration`` requests) and in time (the duration plus the per-request timeout).
Only loopback targets are accepted.

Scenarios (issue 19, "Done when"), per backend, after a warm-up of 24 intakes
and 24 reads one at a time (not counted):

0. **intake at 10 req/s for 6 s**, so that requests rarely overlap: the median
   of the ``Server-Timing: app;dur`` the server reports for its accepted
   intakes is the *server time of an intake*: ≤ 5 ms. (Under load the same
   header grows with the requests sharing a worker's interpreter; run 1's median
   is printed as information.)
1. **intake at 100 req/s for 30 s** (``POST /api/v1/issues``, each report at
   its own point inside the county, 150 m or more from every other, six
   categories in turn): p99 ≤ 100 ms and no error;
2. **a step ramp** (50, 100, 150, 200, 300 req/s, 4 s each; stops after the
   first step that accepts < 90 % of its rate): the *best rate measured* is
   the highest accepted throughput (201s completed per second inside the
   sending window, first second excluded) of any ramp step or of run 1;
3. **intake at 400 req/s for 10 s**: every request answered (2xx or 503)
   within 2 s of its scheduled time, and accepted throughput ≥ 90 % of the
   best rate measured;
4. **the read mix at 30 req/s for 20 s**, in turn: issue list (first page),
   issue list in a town-sized ``bbox``, the map's issue points
   (``/api/v1/layers/issues.geojson?kind=open``), the map's issue points again
   (it is the most frequent call of a map page), heat points
   (``/api/v1/heat/points?zoom=13``), one issue's detail (an issue reported in
   run 1), two more details — i.e. 2/8 lists, 2/8 points, 1/8 heat, 3/8
   details: p99 ≤ 300 ms;
5. **a burst of 200 concurrent heavy reads** (heat points over ten years),
   each client waiting up to 10 s: ``/healthz`` answers within 5 s of the
   burst's end; the time until a heavy read is answered again is information.

The targets bind on PostGIS (the deployment the issue sets them for). SQLite's
figures are printed beside them as information: with two worker processes
every SQLite write takes the one database-file lock in turn, which is the
embedded single-site default, not the multi-worker deployment the targets are
for. A 5xx other than 503 fails the bench on either backend.

The bench server's settings (environment of ``civgrid serve``):
``CIVGRID_INTAKE_RATE=1000000/1`` and ``CIVGRID_LOGIN_RATE=1000/1`` (the
bench is one client address; the per-IP throttles would otherwise cap it —
logged-in intake is not throttled anyway), a random ``CIVGRID_SECRET_KEY``,
everything else at its default (7 requests at once per worker, at most 1 s in line).

The generator (this process: asyncio, on uvloop when installed, and a minimal
keep-alive HTTP/1.1 client, :class:`LoopbackClient`) shares the machine's cores with
the server's two workers and the database; its CPU use is printed.

Usage::

    python bench/load.py                      # both backends, own PostGIS cluster
    python bench/load.py --backend sqlite     # one backend
    python bench/load.py --quick              # shorter runs (figures not comparable)
    python bench/load.py --light-only         # scenario 0 alone (server time at 10/s)

``make bench`` runs it through ``bench/run.py`` (which passes ``--pg-url``).
Exit status 1 when a binding target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import math
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CIVGRID = Path(sys.executable).with_name("civgrid")
COUNTY = ROOT / "data" / "boundaries" / "demo" / "county.geojson"

#: Categories reported in turn (each its own duplicate radius ≤ 150 m).
CATEGORIES = (
    "dumping",
    "graffiti",
    "illegal_flyers",
    "street_vending",
    "illegal_parking",
    "green_belt_litter",
)
BENCH_USER = "loadbench"
INTAKE_P99_S = 0.100
OVERLOAD_ANSWER_S = 2.0
GOODPUT_SHARE = 0.90
READ_P99_S = 0.300
SERVER_MEDIAN_MS = 5.0
RAMP = (50, 100, 150, 200, 300)
BURST = 200
HEALTH_AFTER_BURST_S = 5.0


# ----------------------------------------------------------------------------- pure pieces


class NotLoopbackError(ValueError):
    """The target is not on this machine's loopback interface."""


def check_loopback(url: str) -> str:
    """Return the host of ``url`` if every address it names is a loopback address.

    The generator sends hundreds of requests per second: it must never be
    pointed at someone else's server.

    >>> check_loopback("http://127.0.0.1:8123")
    '127.0.0.1'
    >>> check_loopback("http://[::1]:80/x")
    '::1'
    >>> try:
    ...     check_loopback("http://10.0.0.7:8000")
    ... except NotLoopbackError as exc:
    ...     print(exc)
    refusing to load 10.0.0.7: not a loopback address
    """
    host = urlsplit(url).hostname or ""
    try:
        addresses = {ipaddress.ip_address(host)}
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None)
        except OSError as exc:
            raise NotLoopbackError(f"refusing to load {host!r}: cannot resolve it") from exc
        addresses = {ipaddress.ip_address(i[4][0].split("%")[0]) for i in infos}
    if not addresses or not all(a.is_loopback for a in addresses):
        raise NotLoopbackError(f"refusing to load {host}: not a loopback address")
    return host


def schedule(rate: float, duration_s: float, max_requests: int | None = None) -> list[float]:
    """Send offsets (seconds from the start) of an open-loop run: one every ``1/rate``.

    >>> schedule(4, 1.0)
    [0.0, 0.25, 0.5, 0.75]
    >>> len(schedule(100, 30)), len(schedule(100, 30, max_requests=10))
    (3000, 10)
    """
    if rate <= 0 or duration_s <= 0:
        raise ValueError("rate and duration must be positive")
    n = round(rate * duration_s)
    if max_requests is not None:
        n = min(n, max_requests)
    return [i / rate for i in range(n)]


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) by the nearest-rank method; NaN when empty.

    Nearest rank never interpolates: the p99 of 3000 latencies is the 2970th
    smallest, a latency some request really had.

    >>> percentile([5, 1, 4, 2, 3], 50), percentile(range(1, 101), 99)
    (3, 99)
    >>> percentile([7], 99), percentile([1, 2], 100)
    (7, 2)
    """
    if not 0 <= q <= 100:
        raise ValueError("q must be within 0..100")
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def parse_server_timing(value: str | None) -> float | None:
    """The ``app`` duration (ms) of a ``Server-Timing`` header, or None.

    >>> parse_server_timing("app;dur=4.2"), parse_server_timing("db;dur=1, app;dur=3")
    (4.2, 3.0)
    >>> parse_server_timing(None) is None
    True
    """
    for part in (value or "").split(","):
        name, *params = (p.strip() for p in part.split(";"))
        if name == "app":
            for p in params:
                if p.startswith("dur="):
                    return float(p[4:])
    return None


class _StaleConnectionError(Exception):
    """The connection was closed before any byte of an answer arrived."""


@dataclass
class Response:
    """An HTTP answer: status, headers (lower-case names) and body."""

    status_code: int
    headers: dict[str, str]
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


class LoopbackClient:
    """A minimal asyncio HTTP/1.1 client for the generator, on loopback only.

    Keep-alive connections are reused last-in first-out, and a new one is opened
    whenever none is idle: O(1) work per request at any concurrency. (httpx's
    pool does bookkeeping over every connection and waiting request on each
    event; with a thousand requests in flight the generator spent its time there
    and its lateness swamped the figures.) A request cancelled by its timeout
    closes its connection, as a client that gives up does. Connections idle for
    longer than ``max_idle_s`` are dropped (uvicorn closes them after 5 s), and a
    request whose reused connection turns out closed before any answer is sent
    again once on a new one, as browsers and httpx do.
    """

    def __init__(self, base: str, *, max_idle_s: float = 3.0) -> None:
        self.host = check_loopback(base)
        self.port = urlsplit(base).port or 80
        self.max_idle_s = max_idle_s
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []

    def _take_idle(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        now = time.monotonic()
        while self.idle:
            reader, writer, since = self.idle.pop()
            if now - since <= self.max_idle_s and not reader.at_eof():
                return reader, writer
            writer.close()
        return None

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """Send one request and read its answer (Content-Length or chunked body)."""
        extra = dict(headers or {})
        close = extra.get("Connection", "").lower() == "close"
        conn = None if close else self._take_idle()
        if conn is not None:
            try:
                return await self._exchange(conn, method, path, body, content_type, extra)
            except _StaleConnectionError:
                pass  # closed by the server while idle: nothing was read; send it anew
        conn = await asyncio.open_connection(self.host, self.port)
        try:
            return await self._exchange(conn, method, path, body, content_type, extra)
        except _StaleConnectionError as exc:
            raise ConnectionResetError("connection closed before an answer") from exc

    async def _exchange(
        self,
        conn: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        method: str,
        path: str,
        body: bytes,
        content_type: str | None,
        extra: dict[str, str],
    ) -> Response:
        reader, writer = conn
        close = extra.get("Connection", "").lower() == "close"
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        if body or method in ("POST", "PUT", "PATCH"):
            head.append(f"Content-Length: {len(body)}")
        if content_type:
            head.append(f"Content-Type: {content_type}")
        head += [f"{k}: {v}" for k, v in extra.items()]
        try:
            try:
                writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
                await writer.drain()
                status_line = await reader.readline()
            except ConnectionError as exc:
                raise _StaleConnectionError from exc
            if not status_line:
                raise _StaleConnectionError
            status = int(status_line.split()[1])
            got: dict[str, str] = {}
            while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                got[name.strip().lower()] = value.strip()
            if "content-length" in got:
                content = await reader.readexactly(int(got["content-length"]))
            elif got.get("transfer-encoding", "").lower() == "chunked":
                parts = []
                while size := int((await reader.readline()).split(b";")[0], 16):
                    parts.append(await reader.readexactly(size))
                    await reader.readline()
                await reader.readline()
                content = b"".join(parts)
            else:
                content, close = await reader.read(), True
        except BaseException:
            writer.close()
            raise
        if close or got.get("connection", "").lower() == "close":
            writer.close()
        else:
            self.idle.append((reader, writer, time.monotonic()))
        return Response(status, got, content)

    async def get(self, path: str, headers: dict[str, str] | None = None) -> Response:
        return await self.request("GET", path, headers=headers)

    async def post_json(
        self, path: str, payload: Any, headers: dict[str, str] | None = None
    ) -> Response:
        body = json.dumps(payload, ensure_ascii=False).encode()
        return await self.request(
            "POST", path, body=body, content_type="application/json", headers=headers
        )

    def close(self) -> None:
        """Close the idle connections."""
        for _reader, writer, _since in self.idle:
            writer.close()
        self.idle.clear()


@dataclass
class Sample:
    """One request of a run: times in seconds of the generator's clock."""

    scheduled: float
    sent: float
    done: float
    status: int  # 0: no answer (timeout, connection error)
    server_ms: float | None = None
    error: str | None = None

    @property
    def latency(self) -> float:
        """From the scheduled send time to the answer (seconds)."""
        return self.done - self.scheduled


#: ``send(i)`` makes request ``i`` and returns (HTTP status, server ms or None).
Sender = Callable[[int], Awaitable[tuple[int, float | None]]]


async def open_loop(
    send: Sender,
    rate: float,
    duration_s: float,
    *,
    timeout_s: float = 10.0,
    max_requests: int | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> list[Sample]:
    """Run ``send`` at a fixed rate; each latency counts from the scheduled time.

    Request ``i`` is due ``i / rate`` s after the start and is started then (or
    at once if the generator is behind), never waiting for earlier answers.
    The run ends when every request is answered or has timed out: at most
    ``duration_s + timeout_s`` seconds plus the generator's own lag.
    """
    offsets = schedule(rate, duration_s, max_requests)
    samples: list[Sample | None] = [None] * len(offsets)

    async def one(i: int, due: float) -> None:
        sent = clock()
        status, server_ms, error = 0, None, None
        try:
            status, server_ms = await asyncio.wait_for(send(i), timeout_s)
        except TimeoutError:
            error = "timeout"
        except Exception as exc:  # a refused or reset connection is a figure, not a crash
            error = type(exc).__name__
        samples[i] = Sample(due, sent, clock(), status, server_ms, error)

    tasks = []
    start = clock() + 0.01
    for i, offset in enumerate(offsets):
        due = start + offset
        delay = due - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    return [s for s in samples if s is not None]


@dataclass
class RunStats:
    """Figures of one open-loop run."""

    name: str
    rate: float
    duration_s: float
    samples: list[Sample]

    @property
    def start(self) -> float:
        return min(s.scheduled for s in self.samples)

    def statuses(self) -> dict[str, int]:
        """Answers by HTTP status; requests without one by their error (timeout, …)."""
        out: dict[str, int] = {}
        for s in self.samples:
            key = str(s.status) if s.status else (s.error or "none")
            out[key] = out.get(key, 0) + 1
        return dict(sorted(out.items()))

    def latency_pct(self, q: float) -> float:
        return percentile([s.latency for s in self.samples], q)

    def errors(self) -> int:
        """Requests not answered with 2xx (any other status, timeouts, connection errors)."""
        return sum(1 for s in self.samples if not 200 <= s.status < 300)

    def server_errors(self) -> int:
        """5xx other than 503, and requests never answered."""
        return sum(
            1 for s in self.samples if s.status == 0 or (s.status >= 500 and s.status != 503)
        )

    def answered_within(self, limit_s: float) -> float:
        """Share of requests answered 2xx or 503 within ``limit_s`` of their schedule."""
        ok = sum(
            1
            for s in self.samples
            if (200 <= s.status < 300 or s.status == 503) and s.latency <= limit_s
        )
        return ok / len(self.samples)

    def accepted_per_s(self, warmup_s: float = 1.0) -> float:
        """201s completed per second inside the sending window, the first ``warmup_s`` out."""
        lo = self.start + warmup_s
        hi = self.start + self.duration_s
        n = sum(1 for s in self.samples if s.status == 201 and lo <= s.done <= hi)
        return n / (hi - lo)

    def send_lag_p99(self) -> float:
        """p99 of how late the generator started a request (seconds): its own overload."""
        return percentile([s.sent - s.scheduled for s in self.samples], 99)

    def server_median_ms(self) -> float:
        return percentile(
            [s.server_ms for s in self.samples if s.status == 201 and s.server_ms is not None], 50
        )

    def line(self) -> str:
        codes = " ".join(f"{k}×{v}" for k, v in self.statuses().items())
        return (
            f"    {self.name:<24} {len(self.samples):>5} req"
            f"  p50 {self.latency_pct(50) * 1000:7.1f}"
            f"  p99 {self.latency_pct(99) * 1000:7.1f}  max {self.latency_pct(100) * 1000:7.1f} ms"
            f"  accepted {self.accepted_per_s():6.1f}/s  send lag p99 "
            f"{self.send_lag_p99() * 1000:5.1f} ms  [{codes}]"
        )


@dataclass
class Figure:
    """One figure of the result table; ``binding=False`` figures are information only,
    ``ok=None`` ones a reference without a target."""

    label: str
    value: float
    target: str
    ok: bool | None
    binding: bool = True
    fmt: str = "{:.1f}"


@dataclass
class BackendResult:
    backend: str
    figures: list[Figure] = field(default_factory=list)
    runs: list[RunStats] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def verdict(f: Figure) -> str:
    """``met``, ``MISSED`` or, for information-only figures, ``(met)``/``(missed)``."""
    if f.ok is None:
        return ""
    if f.binding:
        return "met" if f.ok else "MISSED"
    return "(met)" if f.ok else "(missed)"


def exit_code(results: Sequence[BackendResult]) -> int:
    """1 when a binding figure missed, else 0."""
    missed = [f for r in results for f in r.figures if f.binding and f.ok is False]
    return 1 if missed else 0


def table(results: Sequence[BackendResult]) -> str:
    """The figures, one row each, the backends side by side with the target."""
    labels: list[str] = []
    for r in results:
        labels += [f.label for f in r.figures if f.label not in labels]
    head = f"  {'figure':<46}" + "".join(f"{r.backend:>22}" for r in results) + "   target"
    rows = [head]
    for label in labels:
        cells, target = [], ""
        for r in results:
            f = next((f for f in r.figures if f.label == label), None)
            if f is None:
                cells.append(f"{'-':>22}")
                continue
            target = f.target
            cells.append(f"{(f.fmt.format(f.value) + ' ' + verdict(f)).rstrip():>22}")
        rows.append(f"  {label:<46}" + "".join(cells) + f"   {target}")
    return "\n".join(rows)


def server_time_figure(light: RunStats, *, binding: bool) -> Figure:
    """Scenario 0's figure: the median server time of an intake at the light rate."""
    return Figure(
        f"intake server time at {light.rate:g}/s, median (ms)",
        light.server_median_ms(),
        f"≤ {SERVER_MEDIAN_MS:.0f} ms",
        light.server_median_ms() <= SERVER_MEDIAN_MS,
        binding,
    )


def light_only_figures(light: RunStats, *, binding: bool) -> list[Figure]:
    """The figures of scenario 0 run alone (``--light-only``)."""
    return [
        server_time_figure(light, binding=binding),
        Figure(
            "5xx other than 503, or no answer",
            light.server_errors(),
            "0 (both backends)",
            light.server_errors() == 0,
            True,
            "{:.0f}",
        ),
    ]


def evaluate(
    backend: str,
    light: RunStats,
    steady: RunStats,
    ramp: Sequence[RunStats],
    overload: RunStats,
    reads: RunStats,
    *,
    binding: bool,
) -> list[Figure]:
    """The figures of one backend against the targets of issue 19."""
    best = max([steady.accepted_per_s(), *(r.accepted_per_s() for r in ramp)])
    share = overload.accepted_per_s() / best if best else 0.0
    p99 = steady.latency_pct(99)
    return [
        Figure(
            f"intake {steady.rate:g}/s: p99 latency (ms)",
            p99 * 1000,
            f"≤ {INTAKE_P99_S * 1000:.0f} ms",
            p99 <= INTAKE_P99_S,
            binding,
        ),
        Figure(
            f"intake {steady.rate:g}/s: errors",
            steady.errors(),
            "0",
            steady.errors() == 0,
            binding,
            "{:.0f}",
        ),
        Figure(
            f"intake {overload.rate:g}/s: answered ≤ 2 s (%)",
            overload.answered_within(OVERLOAD_ANSWER_S) * 100,
            "100 % (2xx or 503)",
            overload.answered_within(OVERLOAD_ANSWER_S) == 1.0,
            binding,
            "{:.2f}",
        ),
        Figure("best rate measured (accepted/s)", best, "(reference)", None, False),
        Figure(
            f"intake {overload.rate:g}/s: accepted/s ÷ best (%)",
            share * 100,
            f"≥ {GOODPUT_SHARE * 100:.0f} %",
            share >= GOODPUT_SHARE,
            binding,
        ),
        Figure(
            f"read mix {reads.rate:g}/s: p99 latency (ms)",
            reads.latency_pct(99) * 1000,
            f"≤ {READ_P99_S * 1000:.0f} ms",
            reads.latency_pct(99) <= READ_P99_S,
            binding,
        ),
        server_time_figure(light, binding=binding),
        Figure(
            f"intake server time at {steady.rate:g}/s, median (ms)",
            steady.server_median_ms(),
            "(information)",
            None,
            False,
        ),
        Figure(
            "5xx other than 503, or no answer",
            sum(r.server_errors() for r in (light, steady, *ramp, overload, reads)),
            "0 (both backends)",
            all(r.server_errors() == 0 for r in (light, steady, *ramp, overload, reads)),
            True,
            "{:.0f}",
        ),
    ]


# ----------------------------------------------------------------------------- the county


def county_points(n: int, spacing_m: float = 150.0, seed: int = 19) -> list[tuple[float, float]]:
    """``n`` distinct WGS84 points inside the demo county, ≥ ``spacing_m`` apart, shuffled."""
    import json

    import numpy as np
    import shapely
    from shapely.geometry import shape

    county = shape(json.loads(COUNTY.read_text(encoding="utf-8"))["features"][0]["geometry"])
    x0, y0, x1, y1 = county.bounds
    dlat = spacing_m / 111_320
    dlon = spacing_m / (111_320 * math.cos(math.radians((y0 + y1) / 2)))
    xs, ys = np.meshgrid(np.arange(x0, x1, dlon), np.arange(y0, y1, dlat))
    xs, ys = xs.ravel(), ys.ravel()
    shapely.prepare(county)
    inside = shapely.contains_xy(county, xs, ys)
    pts = np.column_stack([xs[inside], ys[inside]])
    np.random.default_rng(seed).shuffle(pts)
    if len(pts) < n:
        raise ValueError(f"only {len(pts)} points {spacing_m} m apart fit in the county")
    return [(round(float(x), 6), round(float(y), 6)) for x, y in pts[:n]]


# ----------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _civgrid(env: dict[str, str], *args: str, stdin: str | None = None) -> None:
    r = subprocess.run(
        [str(CIVGRID), *args], env=env, input=stdin, capture_output=True, text=True, check=False
    )
    if r.returncode != 0:
        raise RuntimeError(f"civgrid {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")


def server_env(url: str, workdir: Path) -> dict[str, str]:
    """The environment of the bench's server and of its set-up commands."""
    return {
        **os.environ,
        "CIVGRID_DATABASE_URL": url,
        "CIVGRID_VAR_DIR": str(workdir / "var"),
        "CIVGRID_SECRET_KEY": secrets.token_hex(32),
        # one client address sends everything: the per-IP throttles must not cap it
        "CIVGRID_INTAKE_RATE": "1000000/1",
        "CIVGRID_LOGIN_RATE": "1000/1",
    }


def prepare(url: str, workdir: Path, password: str) -> float:
    """Migrate, load the demo county, add the bench's dispatcher; seconds taken."""
    started = time.monotonic()
    env = server_env(url, workdir)
    _civgrid(env, "db", "upgrade")
    _civgrid(env, "demo", "load", "--commit")
    _civgrid(
        env,
        "user",
        "add",
        BENCH_USER,
        "--role",
        "dispatcher",
        "--title",
        "压测账号",
        "--password-stdin",
        stdin=password + "\n",
    )
    return time.monotonic() - started


class Server:
    """``civgrid serve --workers 2`` on a free loopback port, stopped on exit."""

    def __init__(self, url: str, workdir: Path, workers: int = 2) -> None:
        self.url, self.workdir, self.workers = url, workdir, workers
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "server.log"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        import httpx

        env = server_env(self.url, self.workdir)
        self.log_file = self.log.open("wb")
        self.proc = subprocess.Popen(
            [str(CIVGRID), "serve", "--workers", str(self.workers), "--port", str(self.port)],
            env=env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
        )
        started, pids = time.monotonic(), set()
        while len(pids) < self.workers:  # each worker imports the app: slow on a busy machine
            if self.proc.poll() is not None or time.monotonic() - started > 240:
                self.__exit__(None, None, None)
                raise RuntimeError(f"the server did not start:\n{self.log.read_text()[-3000:]}")
            try:
                with httpx.Client(timeout=5) as c:
                    r = c.get(f"{self.base}/healthz", headers={"Connection": "close"})
                pids.add(r.json()["worker_pid"])
            except (httpx.HTTPError, ValueError, KeyError):
                time.sleep(0.3)
        self.startup_s = time.monotonic() - started
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()


# ----------------------------------------------------------------------------- scenarios


@dataclass
class Durations:
    light_s: float = 6.0
    light_rate: float = 10.0
    steady_s: float = 30.0
    ramp_step_s: float = 4.0
    overload_s: float = 10.0
    reads_s: float = 20.0
    steady_rate: float = 100.0
    overload_rate: float = 400.0
    read_rate: float = 30.0


QUICK = Durations(light_s=3, steady_s=6, ramp_step_s=3, overload_s=4, reads_s=5)


class Workload:
    """The requests of the scenarios against one server, with a dispatcher's token."""

    def __init__(
        self, client: LoopbackClient, token: str, points: list[tuple[float, float]]
    ) -> None:
        self.client = client
        self.auth = {"Authorization": f"Bearer {token}"}
        self.points = points
        self.next_point = 0
        self.issue_ids: list[int] = []

    async def intake(self, i: int, extra: dict[str, str] | None = None) -> tuple[int, float | None]:
        k = self.next_point
        self.next_point += 1
        lon, lat = self.points[k]
        r = await self.client.post_json(
            "/api/v1/issues",
            {
                "category": CATEGORIES[k % len(CATEGORIES)],
                "source": "field_supervision",
                "lon": lon,
                "lat": lat,
                "description": f"压测第{k}条",
            },
            headers={**self.auth, **(extra or {})},
        )
        if r.status_code == 201 and len(self.issue_ids) < 2000:
            self.issue_ids.append(r.json()["id"])
        return r.status_code, parse_server_timing(r.headers.get("server-timing"))

    def read_path(self, i: int) -> str:
        """The ``i``-th request of the read mix (a fixed cycle of eight)."""
        kind = i % 8
        if kind == 0:
            return "/api/v1/issues?limit=50"
        if kind == 1:  # a town-sized viewport around the county seat
            return "/api/v1/issues?limit=50&bbox=112.90,33.02,112.99,33.09"
        if kind in (2, 3):
            return "/api/v1/layers/issues.geojson?kind=open"
        if kind == 4:
            return "/api/v1/heat/points?zoom=13"
        ids = self.issue_ids or [1]
        return f"/api/v1/issues/{ids[(i * 7919) % len(ids)]}"

    async def read(self, i: int, extra: dict[str, str] | None = None) -> tuple[int, float | None]:
        headers = {**self.auth, **(extra or {})}
        r = await self.client.get(self.read_path(i), headers=headers)
        return r.status_code, parse_server_timing(r.headers.get("server-timing"))


async def until_answered(client: LoopbackClient, path: str, headers: dict[str, str]) -> float:
    """Seconds until ``GET path`` on a new connection is answered 200 (≤ 60 s)."""
    started = time.perf_counter()
    while time.perf_counter() - started < 60:
        try:
            r = await asyncio.wait_for(
                client.get(path, headers={**headers, "Connection": "close"}), 1.0
            )
            if r.status_code == 200:
                break
        except Exception:  # not answered yet: that is what is being timed
            pass
        await asyncio.sleep(0.05)
    return time.perf_counter() - started


async def burst_recovery(
    base: str, auth: dict[str, str], n: int = BURST, give_up_s: float = 10.0
) -> tuple[float, float, dict[str, int]]:
    """``n`` concurrent heavy reads, each waiting up to ``give_up_s`` for its answer;
    then seconds from the burst's end (the last one answered or given up) until
    ``/healthz`` answers on a new connection, and until a heavy read does again."""
    heavy = "/api/v1/heat/points?zoom=13&days=3650"
    c = LoopbackClient(base)
    rs = await asyncio.gather(
        *[asyncio.wait_for(c.get(heavy, headers=auth), give_up_s) for _ in range(n)],
        return_exceptions=True,
    )
    c.close()
    outcome: dict[str, int] = {}
    for r in rs:
        key = type(r).__name__ if isinstance(r, BaseException) else str(r.status_code)
        outcome[key] = outcome.get(key, 0) + 1
    health_s = await until_answered(c, "/healthz", {})
    read_s = await until_answered(c, heavy, auth)
    return health_s, health_s + read_s, dict(sorted(outcome.items()))


async def run_backend(
    backend: str,
    base: str,
    password: str,
    d: Durations,
    points: list[tuple[float, float]],
    *,
    light_only: bool = False,
) -> BackendResult:
    """Log in, warm up, run the scenarios (``light_only``: scenario 0 alone); the figures
    of one backend."""
    result = BackendResult("PostGIS" if backend == "postgis" else "SQLite")
    client = LoopbackClient(base)  # refuses anything but loopback
    try:
        form = urlencode({"username": BENCH_USER, "password": password}).encode()
        r = await client.request(
            "POST",
            "/api/v1/auth/token",
            body=form,
            content_type="application/x-www-form-urlencoded",
        )
        if r.status_code != 200:
            raise RuntimeError(f"login failed: {r.status_code} {r.content[:300]!r}")
        w = Workload(client, r.json()["access_token"], points)

        async def run(name: str, send: Sender, rate: float, seconds: float) -> RunStats:
            await asyncio.sleep(1.0)  # the previous run's tail has drained
            cpu = time.process_time()
            samples = await open_loop(send, rate, seconds, timeout_s=10.0)
            stats = RunStats(name, rate, seconds, samples)
            wall = max(s.done for s in samples) - stats.start
            result.runs.append(stats)
            print(stats.line(), flush=True)
            result.notes.append(
                f"{name}: the generator used {(time.process_time() - cpu) / wall * 100:.0f} % "
                "of one core"
            )
            return stats

        # warm-up (not counted): code paths and caches of both workers, one request at
        # a time on new connections (the kernel hands them to either worker)
        close = {"Connection": "close"}
        for i in range(24):
            await w.intake(i, extra=close)
            await w.read(i, extra=close)
        light = await run(f"intake {d.light_rate:g}/s", w.intake, d.light_rate, d.light_s)
        if light_only:
            result.figures = light_only_figures(light, binding=backend == "postgis")
            return result
        steady = await run(f"intake {d.steady_rate:g}/s", w.intake, d.steady_rate, d.steady_s)
        ramp = []
        for rate in RAMP:
            step = await run(f"ramp intake {rate}/s", w.intake, rate, d.ramp_step_s)
            ramp.append(step)
            if step.accepted_per_s() < GOODPUT_SHARE * rate:
                break
        overload = await run(
            f"intake {d.overload_rate:g}/s", w.intake, d.overload_rate, d.overload_s
        )
        reads = await run(f"read mix {d.read_rate:g}/s", w.read, d.read_rate, d.reads_s)
        result.notes.append(f"issues reported during the bench: {w.next_point}")
        await asyncio.sleep(1.0)
        health_s, read_s, outcome = await burst_recovery(base, w.auth)
    finally:
        client.close()
    binding = backend == "postgis"
    result.figures = evaluate(backend, light, steady, ramp, overload, reads, binding=binding)
    codes = " ".join(f"{k}×{v}" for k, v in outcome.items())
    print(f"    burst of {BURST} heavy reads     [{codes}]", flush=True)
    result.figures[-1:-1] = [
        Figure(
            f"after {BURST} concurrent heavy reads: /healthz (s)",
            health_s,
            f"≤ {HEALTH_AFTER_BURST_S:.0f} s",
            health_s <= HEALTH_AFTER_BURST_S,
            binding,
            "{:.2f}",
        ),
        Figure(
            f"after {BURST} concurrent heavy reads: a heavy read (s)",
            read_s,
            "(information)",
            None,
            False,
            "{:.2f}",
        ),
    ]
    return result


# ----------------------------------------------------------------------------- main


def _loop_runner() -> tuple[Callable[[Any], Any], str]:
    """``asyncio.run`` on uvloop when installed (a civgrid dependency): the generator
    shares the cores with the server, and every millisecond it spends per request is
    taken from the workers at 400 req/s."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run, "asyncio"
    return uvloop.run, "asyncio on uvloop"


run_loop, LOOP_NAME = _loop_runner()


def main(argv: Sequence[str] | None = None) -> int:
    """Prepare the databases, run every scenario on each backend, print figures and targets."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg-url", default=None, help="a PostGIS cluster (default: start one)")
    ap.add_argument("--backend", choices=["postgis", "sqlite", "both"], default="both")
    ap.add_argument("--quick", action="store_true", help="short runs (a smoke test)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (server logs)")
    ap.add_argument(
        "--light-only",
        action="store_true",
        help="scenario 0 alone (the server time of an intake at 10 req/s), after the warm-up",
    )
    args, _ = ap.parse_known_args(argv)  # bench/run.py passes the other benchmarks' flags
    d = QUICK if args.quick else Durations()
    backends = ["postgis", "sqlite"] if args.backend == "both" else [args.backend]
    password = "Bench-" + secrets.token_urlsafe(12) + "9a!"
    work = Path(tempfile.mkdtemp(prefix="civgrid-load-"))
    cluster = None
    started = time.monotonic()
    print("civgrid load benchmark (bench/load.py): open loop on loopback")
    print(
        f"  server: civgrid serve --workers 2; generator: {LOOP_NAME} in this process; "
        f"{os.cpu_count()} cores shared by both (load average {os.getloadavg()[0]:.2f} "
        "at start)"
    )
    print("  latency: from each request's scheduled send time (no coordinated omission)")
    try:
        urls: dict[str, str] = {}
        if "postgis" in backends:
            pg_url = args.pg_url
            if pg_url is None:
                sys.path.insert(0, str(ROOT / "tests"))
                from support.pgcluster import Cluster

                cluster = Cluster(free_port(), durable=True)
                cluster.start()
                pg_url = f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}/postgres"
            sys.path.insert(0, str(HERE))
            from harness import durability, postgis_database

            urls["postgis"] = postgis_database(pg_url, "civgrid_load")
            print(f"  postgis: {durability(urls['postgis'])}", flush=True)
        if "sqlite" in backends:
            urls["sqlite"] = f"sqlite:///{work / 'sqlite' / 'civgrid.sqlite'}"
        # both databases are prepared at once (the demo load takes ~30 s each)
        took: dict[str, float] = {}
        errors: list[BaseException] = []

        def prep(b: str) -> None:
            (work / b).mkdir(exist_ok=True)
            try:
                took[b] = prepare(urls[b], work / b, password)
            except BaseException as exc:  # re-raised below
                errors.append(exc)

        threads = [threading.Thread(target=prep, args=(b,)) for b in backends]
        warm = subprocess.Popen([str(CIVGRID), "warmup"], stdout=subprocess.DEVNULL)
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        warm.wait()
        if errors:
            raise errors[0]
        print("  prepared: " + ", ".join(f"{b} {s:.0f} s" for b, s in took.items()))
        total = sum(
            int(x * r)
            for x, r in (
                (d.light_s, d.light_rate),
                (d.steady_s, d.steady_rate),
                (d.ramp_step_s, sum(RAMP)),
                (d.overload_s, d.overload_rate),
            )
        )
        points = county_points(total + 300)
        results = []
        for b in backends:
            with Server(urls[b], work / b) as server:
                print(f"  {b}: 2 workers up in {server.startup_s:.0f} s", flush=True)
                results.append(
                    run_loop(
                        run_backend(b, server.base, password, d, points, light_only=args.light_only)
                    )
                )
        print()
        print(table(results))
        print()
        for r in results:
            for n in r.notes:
                print(f"  {r.backend}: {n}")
        print(
            "  accepted/s: 201 answers completed per second within a run's sending window "
            "(its first second excluded).\n"
            "  best rate measured: the highest accepted/s of the ramp steps "
            f"({', '.join(map(str, RAMP))} req/s, {d.ramp_step_s:g} s each, stopping after the "
            f"first that accepts < {GOODPUT_SHARE:.0%}) and of the {d.steady_rate:g}/s run.\n"
            "  SQLite figures are information: two workers share one database-file write lock"
            " (the embedded single-site default); the targets bind on PostGIS, and a 5xx other"
            " than 503 fails either backend."
        )
        print(
            f"  the generator shares {os.cpu_count()} cores with the server; load average "
            f"{os.getloadavg()[0]:.2f} at the end; {time.monotonic() - started:.0f} s in all"
        )
        if args.quick:
            print("  --quick: shortened runs; figures are not comparable with the targets")
        if args.light_only:
            print("  --light-only: scenario 0 alone; the other targets were not measured")
        code = exit_code(results)
        print("targets: " + ("all met" if code == 0 else "MISSED (see above)"))
        return code
    finally:
        if cluster is not None:
            cluster.stop()
        if args.keep:
            print(f"  kept {work} (server.log per backend)")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
