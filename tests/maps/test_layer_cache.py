"""The issue layer's micro-cache (api.microcache): reused per viewer and query, never
across viewers, dropped by this worker's writes and by age; ETag and 304."""

from __future__ import annotations

from sqlalchemy import update

from support.authclient import AuthClient

LAYER = "/api/v1/layers/issues.geojson?kind=open"


def _ids(r) -> set[int]:
    assert r.status_code == 200, r.text[:300]
    return {f["properties"]["id"] for f in r.json()["features"]}


def test_a_repeat_is_served_from_the_cache_with_an_etag_and_304(make_client):
    client = make_client()
    cache = client.app.state.map_cache
    first = client.get(LAYER)
    hits = cache.hits
    again = client.get(LAYER)
    assert cache.hits == hits + 1 and again.content == first.content
    etag = again.headers["etag"]
    assert etag == first.headers["etag"] and again.headers["cache-control"] == "private, no-cache"
    assert again.headers["content-type"].startswith("application/geo+json")
    same = client.get(LAYER, headers={"If-None-Match": etag})
    assert same.status_code == 304 and same.content == b"" and same.headers["etag"] == etag
    other = client.get(LAYER, headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200 and other.content == first.content


def test_viewers_never_share_an_answer(make_client):
    client = make_client()
    everyone = _ids(client.get(LAYER))  # the admin's answer, now cached
    unit = client.get(LAYER, headers=AuthClient.as_user("unit_handler", unit="D03"))
    mine = _ids(unit)
    assert mine and mine < everyone  # the unit's own issues only, not the cached set
    assert unit.headers["etag"] != client.get(LAYER).headers["etag"]


def test_this_workers_write_shows_at_once(make_client):
    client = make_client()
    first = client.get(LAYER)
    before = _ids(first)
    lon, lat = first.json()["features"][0]["geometry"]["coordinates"]
    # 300 m east of an open issue: a new issue, not a duplicate of it
    body = {"category": "graffiti", "source": "grid_worker", "lon": lon + 0.003, "lat": lat}
    created = client.post("/api/v1/issues", json=body)
    assert created.status_code == 201, created.text[:300]
    new = created.json()["id"]
    assert new not in before
    after = client.get(LAYER)
    assert new in _ids(after) and after.headers["etag"] != first.headers["etag"]


def test_another_process_write_shows_after_the_age_limit(make_client, maps_db, monkeypatch):
    from civgrid.api import microcache
    from civgrid.grids.boundaries.store import Store
    from civgrid.grids.core.db import make_engine
    from civgrid.grids.issues.models import Issue

    # the cache's clock stands still until moved: a busy machine cannot age the answer
    real, moved = microcache.time.monotonic, [0.0]
    start = real()
    monkeypatch.setattr(microcache.time, "monotonic", lambda: start + moved[0])
    client = make_client()
    ids = _ids(client.get(LAYER))
    gone = max(ids)
    other = Store(make_engine(maps_db))  # another worker: its commits are not counted here
    with other.session() as s:
        s.execute(update(Issue).where(Issue.id == gone).values(state="closed"))
    other.engine.dispose()
    assert gone in _ids(client.get(LAYER))  # within the age limit: the cached answer
    moved[0] = 60.0
    assert gone not in _ids(client.get(LAYER))


def test_zero_seconds_turns_it_off(make_client):
    client = make_client(map_cache_seconds=0)
    client.get(LAYER)
    client.get(LAYER)
    assert client.app.state.map_cache.hits == 0


def test_heat_points_are_reused_and_refreshed_by_a_write(make_client):
    client = make_client()
    cache = client.app.state.map_cache
    url = "/api/v1/heat/points?zoom=13&days=3650"
    first = client.get(url)
    assert first.status_code == 200 and first.headers["etag"]
    body = first.json()
    assert set(body) >= {"res", "max", "points"} and body["points"]
    hits = cache.hits
    assert client.get(url).content == first.content and cache.hits == hits + 1
    lon, lat = client.get(LAYER).json()["features"][0]["geometry"]["coordinates"]
    new = {"category": "graffiti", "source": "grid_worker", "lon": lon + 0.003, "lat": lat}
    assert client.post("/api/v1/issues", json=new).status_code == 201
    after = client.get(url).json()
    weight = sum(p[2] for p in after["points"])
    assert weight > sum(p[2] for p in body["points"])  # the new report is counted


def test_an_old_answer_is_rebuilt_in_the_background_from_the_database(
    make_client, maps_db, monkeypatch
):
    import time

    from civgrid.api import microcache
    from civgrid.grids.boundaries.store import Store
    from civgrid.grids.core.db import make_engine
    from civgrid.grids.issues.models import Issue

    real, moved = microcache.time.monotonic, [0.0]
    start = real()
    monkeypatch.setattr(microcache.time, "monotonic", lambda: start + moved[0])
    client = make_client()
    cache = client.app.state.map_cache
    first = client.get(LAYER)
    gone = max(_ids(first))
    other = Store(make_engine(maps_db))  # another worker closes an issue
    with other.session() as s:
        s.execute(update(Issue).where(Issue.id == gone).values(state="closed"))
    other.engine.dispose()
    moved[0] = cache.seconds * 1.5  # past the age limit, within twice it
    stale = client.get(LAYER)
    assert stale.content == first.content and cache.stale == 1  # answered at once
    deadline = real() + 20
    while (cache._building or cache._refreshing) and real() < deadline:
        time.sleep(0.02)
    fresh = client.get(LAYER)  # the background rebuild read the database with its own session
    assert gone not in _ids(fresh) and fresh.headers["etag"] != first.headers["etag"]
