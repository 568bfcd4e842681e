"""Many workers with shared state: `civgrid serve --workers 2` on one database.

* a generation activated from the CLI is used by both workers within 2 s;
* the 11th failed login from one client gets 429 whichever worker answers;
* a spoofed ``X-Forwarded-For`` from an untrusted peer is ignored, and read
  only from a configured trusted proxy;
* the database token bucket is exact under concurrency on both backends.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from starlette.requests import Request
from typer.testing import CliRunner

from civgrid.api.cli import app as cli
from civgrid.api.ratelimit import client_ip
from civgrid.grids.boundaries.models import Area, Generation, KeySite, RoadSection
from civgrid.grids.boundaries.store import Store
from civgrid.grids.core.db import make_engine
from civgrid.grids.core.throttle import take_token
from civgrid.grids.issues.models import Issue
from support.demo_stores import BACKENDS
from support.issue_helpers import COMPOUND, point_in

pytestmark = pytest.mark.slow  # long: scheduled first (tests/conftest.py)

CIVGRID = Path(sys.executable).with_name("civgrid")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _health(base: str) -> dict:
    # a new connection each time, so the kernel may hand it to either worker
    with httpx.Client(base_url=base, timeout=5) as c:
        return c.get("/healthz", headers={"Connection": "close"}).json()


def _pids_at(base: str, generation: int | None, deadline_s: float) -> tuple[set[int], float]:
    """Poll /healthz until two workers report ``generation``; (pids seen, seconds)."""
    start = time.monotonic()
    seen: dict[int, int | None] = {}
    while time.monotonic() - start < deadline_s:
        h = _health(base)
        seen[h["worker_pid"]] = h["index_generation_id"]
        done = {p for p, g in seen.items() if g == generation}
        if len(done) >= 2 and all(g == generation for g in seen.values()):
            return done, time.monotonic() - start
        time.sleep(0.05)
    return {p for p, g in seen.items() if g == generation}, time.monotonic() - start


@pytest.fixture(scope="module")
def two_workers(demo_sqlite_template, tmp_path_factory):
    """A demo database with an identical inactive generation 2, served by two workers
    (one server for the module: each worker imports the whole app, which is slow)."""
    path, _index = demo_sqlite_template
    tmp_path = tmp_path_factory.mktemp("workers")
    db = tmp_path / "demo.sqlite"
    shutil.copyfile(path, db)
    url = f"sqlite:///{db}"
    store = Store(make_engine(url))
    with store.session() as s:
        first = s.scalar(select(func.max(Generation.id)))
        s.add(Generation(id=first + 1, source="test copy", note="same outlines", active=False))
        s.flush()
        for model in (Area, RoadSection, KeySite):
            store.extend_generation(s, first, first + 1, model)
        s.commit()
    store.engine.dispose()
    port = _free_port()
    env = {
        **os.environ,
        "CIVGRID_DATABASE_URL": url,
        "CIVGRID_VAR_DIR": str(tmp_path / "var"),
        "CIVGRID_GENERATION_POLL_SECONDS": "0.25",
        # 10 per hour, not the default 10 per minute: on a loaded machine 12 logins
        # can take over a minute, and the bucket would refill while the test runs.
        "CIVGRID_LOGIN_RATE": "10/3600",
    }
    proc = subprocess.Popen(
        [str(CIVGRID), "serve", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        started = time.monotonic()
        while True:  # each worker imports the whole app: slow on a loaded 2-core machine
            try:
                _health(base)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() - started > 240:
                    proc.kill()
                    raise AssertionError(proc.stdout.read().decode()) from None
                time.sleep(0.2)
        yield base, url, first
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError("the server did not stop within 20 s of SIGTERM") from None


def test_both_workers_use_a_generation_activated_from_the_cli(two_workers):
    base, url, first = two_workers
    pids, _ = _pids_at(base, first, 240)
    assert len(pids) == 2, "two workers answer on generation 1"
    r = CliRunner().invoke(cli, ["db", "activate", str(first + 1), "--database-url", url])
    assert r.exit_code == 0, r.output
    pids, took = _pids_at(base, first + 1, 10)
    # polled every 0.25 s: well under 2 s on a quiet machine; 5 s leaves room for a
    # loaded one (the suite runs on two workers beside the two servers)
    assert len(pids) == 2 and took <= 5.0, (pids, took)
    # the next reports (anonymous, new connections: both workers) snap to generation 2
    store = Store(make_engine(url))
    lon, lat = point_in(store, COMPOUND)
    ids = []
    for k in range(6):
        with httpx.Client(base_url=base, timeout=10) as c:
            resp = c.post(
                "/api/v1/issues",
                json={
                    "category": "dumping",
                    "source": "citizen_complaint",
                    "lon": lon + k * 0.0005,
                    "lat": lat,
                    "description": f"第{k}处",
                },
                headers={"Connection": "close"},
            )
        assert resp.status_code == 201, resp.text
        ids.append(resp.json()["id"])
    with store.session() as s:
        gens = {s.get(Issue, i).generation_id for i in ids}
    store.engine.dispose()
    assert gens == {first + 1}


def test_login_throttle_is_shared_and_ignores_spoofed_forwarded_for(two_workers):
    base, _url, _first = two_workers
    codes = []
    for k in range(12):
        with httpx.Client(base_url=base, timeout=10) as c:
            r = c.post(
                "/api/v1/auth/token",
                data={"username": f"nobody{k}", "password": "wrong-password"},
                headers={"Connection": "close", "X-Forwarded-For": f"10.9.{k}.{k}"},
            )
        codes.append(r.status_code)
    assert codes[:10] == [401] * 10 and codes[10:] == [429, 429], codes
    # both workers were up and answering (the generation is the earlier test's business)
    seen, started = set(), time.monotonic()
    while len(seen) < 2 and time.monotonic() - started < 240:
        seen.add(_health(base)["worker_pid"])
    assert len(seen) == 2


def _request(peer: str, xff: str | None, trusted: str):
    from types import SimpleNamespace

    app = SimpleNamespace(state=SimpleNamespace(settings=SimpleNamespace(trusted_proxies=trusted)))
    headers = [(b"x-forwarded-for", xff.encode())] if xff else []
    scope = {"type": "http", "client": (peer, 5000), "headers": headers, "app": app}
    return Request(scope)


@pytest.mark.parametrize(
    ("peer", "xff", "trusted", "expected"),
    [
        ("127.0.0.1", "1.2.3.4", "", "127.0.0.1"),  # nobody trusted: the header is ignored
        ("203.0.113.9", "1.2.3.4", "127.0.0.1", "203.0.113.9"),  # untrusted peer
        ("127.0.0.1", "1.2.3.4", "127.0.0.1", "1.2.3.4"),  # the proxy's client
        # the client prepended a fake hop; the proxy appended the real address
        ("127.0.0.1", "6.6.6.6, 1.2.3.4", "127.0.0.1", "1.2.3.4"),
        ("10.0.0.5", "1.2.3.4, 10.0.0.7", "10.0.0.0/8", "1.2.3.4"),  # two trusted hops
        ("127.0.0.1", "not-an-ip", "127.0.0.1", "not-an-ip"),
    ],
)
def test_client_ip_believes_forwarded_for_only_from_trusted_proxies(peer, xff, trusted, expected):
    assert client_ip(_request(peer, xff, trusted)) == expected


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    else:
        url = request.getfixturevalue("postgresql_url")
    st = Store(make_engine(url))
    st.upgrade()
    yield st.engine
    st.engine.dispose()


def test_token_bucket_refills_and_is_exact_under_concurrency(engine):
    t0 = 1_000_000.0
    got = [take_token(engine, "login", "ip:a", 3, 60, now=t0)[0] for _ in range(4)]
    assert got == [True, True, True, False]
    assert take_token(engine, "login", "ip:a", 3, 60, now=t0 + 19)[0] is False  # 0.95 token
    assert take_token(engine, "login", "ip:a", 3, 60, now=t0 + 21)[0] is True  # 1.05 tokens
    assert take_token(engine, "login", "ip:b", 3, 60, now=t0)[0] is True  # keys are separate
    assert take_token(engine, "intake", "ip:a", 3, 60, now=t0)[0] is True  # so are limits
    results: list[bool] = []
    lock = threading.Lock()

    def hit():
        ok, _ = take_token(engine, "login", "ip:c", 10, 3600)
        with lock:
            results.append(ok)

    threads = [threading.Thread(target=hit) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 40 and sum(results) == 10
