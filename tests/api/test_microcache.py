"""The micro-cache's single flight and stale-while-revalidate (api.microcache), with
threads: one build per key at a time, the previous answer served meanwhile only within
twice the age limit and only when this worker has written nothing since."""

from __future__ import annotations

import threading
import time

import pytest
from starlette.responses import Response

from civgrid.api import microcache
from civgrid.api.microcache import MicroCache, _Entry


@pytest.fixture
def clock(monkeypatch):
    """The cache's clock, moved by hand."""
    now = [1000.0]
    monkeypatch.setattr(microcache.time, "monotonic", lambda: now[0])
    return now


def _entry(body: bytes, writes: int = 0, born: float = 1000.0) -> _Entry:
    return _Entry(
        body=body, media_type="application/json", etag=f'"{body!r}"', writes=writes, born=born
    )


class SlowBuild:
    """A build that blocks until released, counting its calls."""

    def __init__(self, body: bytes, writes: int = 0, born: float = 1000.0) -> None:
        self.calls = 0
        self.started = threading.Event()
        self.release = threading.Event()
        self.body, self.writes, self.born = body, writes, born

    def __call__(self) -> _Entry:
        self.calls += 1
        self.started.set()
        assert self.release.wait(10)
        return _entry(self.body, self.writes, self.born)


def _in_thread(fn) -> tuple[threading.Thread, list]:
    out: list = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    return t, out


def test_concurrent_misses_build_once_and_share_the_answer(clock):
    cache = MicroCache(2.0)
    build = SlowBuild(b"new")
    threads = [_in_thread(lambda: cache.fetch(("k",), 0, build)) for _ in range(6)]
    assert build.started.wait(5)
    time.sleep(0.1)  # the other five are waiting for the first build, not building
    assert build.calls == 1
    build.release.set()
    for t, _ in threads:
        t.join(5)
    bodies = [out[0].body for _, out in threads]
    assert bodies == [b"new"] * 6 and build.calls == 1


def test_a_stale_answer_stands_in_while_the_new_one_is_built(clock):
    cache = MicroCache(2.0)
    cache.put(("k",), _entry(b"old"))
    clock[0] += 3.0  # older than the limit, younger than twice it
    build = SlowBuild(b"new", born=clock[0])
    leader, out = _in_thread(lambda: cache.fetch(("k",), 0, build))
    assert build.started.wait(5)
    assert cache.fetch(("k",), 0, pytest.fail).body == b"old"  # no second build
    assert cache.stale == 1
    build.release.set()
    leader.join(5)
    assert out[0].body == b"new"
    assert cache.fetch(("k",), 0, pytest.fail).body == b"new"


def test_too_old_or_after_a_write_the_stale_answer_is_not_served(clock):
    cache = MicroCache(2.0)
    cache.put(("old",), _entry(b"old"))
    cache.put(("wrote",), _entry(b"old", writes=0))
    clock[0] += 4.5  # older than twice the limit
    for key, writes in ((("old",), 0), (("wrote",), 1)):
        build = SlowBuild(b"new", writes=writes, born=clock[0])
        leader, _ = _in_thread(
            lambda key=key, writes=writes, build=build: cache.fetch(key, writes, build)
        )
        assert build.started.wait(5)
        follower, out = _in_thread(
            lambda key=key, writes=writes: cache.fetch(key, writes, pytest.fail)
        )
        time.sleep(0.1)
        assert not out  # waits for the build instead of answering with the old body
        build.release.set()
        leader.join(5)
        follower.join(5)
        assert out[0].body == b"new"
    assert cache.stale == 0


def test_a_failed_build_lets_the_next_request_build(clock):
    cache = MicroCache(2.0)

    def broken() -> _Entry:
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError):
        cache.fetch(("k",), 0, broken)
    assert cache.fetch(("k",), 0, lambda: _entry(b"ok")).body == b"ok"


def test_an_answer_that_is_not_200_is_returned_but_not_kept(clock):
    cache = MicroCache(2.0)
    refused = Response(status_code=422)
    assert cache.fetch(("k",), 0, lambda: refused) is refused
    assert cache.get(("k",), 0) is None


def _wait_idle(cache: MicroCache) -> None:
    deadline = time.monotonic() + 10
    while (cache._building or cache._refreshing) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not cache._building and cache._refreshing is None


def test_with_a_refresh_no_request_waits_for_the_rebuild(clock):
    cache = MicroCache(2.0)
    cache.put(("k",), _entry(b"old"))
    clock[0] += 3.0
    refresh = SlowBuild(b"new", born=clock[0])
    # the request that finds it old is answered at once; the rebuild runs in a thread
    assert cache.fetch(("k",), 0, pytest.fail, refresh).body == b"old"
    assert refresh.started.wait(5)
    assert cache.fetch(("k",), 0, pytest.fail, refresh).body == b"old"
    assert cache.stale == 2 and refresh.calls == 1
    refresh.release.set()
    _wait_idle(cache)
    assert cache.fetch(("k",), 0, pytest.fail, pytest.fail).body == b"new"


def test_one_background_rebuild_at_a_time(clock):
    cache = MicroCache(2.0)
    cache.put(("a",), _entry(b"old a"))
    cache.put(("b",), _entry(b"old b"))
    clock[0] += 3.0
    slow = SlowBuild(b"new a", born=clock[0])
    assert cache.fetch(("a",), 0, pytest.fail, slow).body == b"old a"
    assert slow.started.wait(5)
    # another key while the background is busy: built in the request's thread
    got = cache.fetch(("b",), 0, lambda: _entry(b"new b", born=clock[0]), pytest.fail)
    assert got.body == b"new b"
    slow.release.set()
    _wait_idle(cache)


def test_a_failed_background_rebuild_leaves_the_next_request_to_build(clock, caplog):
    cache = MicroCache(2.0)
    cache.put(("k",), _entry(b"old"))
    clock[0] += 3.0

    def broken() -> _Entry:
        raise RuntimeError("database gone")

    assert cache.fetch(("k",), 0, pytest.fail, broken).body == b"old"
    _wait_idle(cache)
    assert "rebuilding a cached map answer failed" in caplog.text
    clock[0] += 2.0  # now too old to stand in: the request builds
    assert cache.fetch(("k",), 0, lambda: _entry(b"new"), broken).body == b"new"
