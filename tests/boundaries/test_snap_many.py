"""The index's public bulk snap answers as the single-point snap does, point by point."""

from __future__ import annotations

import numpy as np


def test_snap_many_agrees_with_snap(demo_store):
    index = demo_store.rebuild_index()
    (a,) = demo_store.areas(layer="county")  # points over the county and a margin outside
    minx, miny, maxx, maxy = a.geom.bounds
    rng = np.random.default_rng(7)
    lon = rng.uniform(minx - 0.02, maxx + 0.02, 400)
    lat = rng.uniform(miny - 0.02, maxy + 0.02, 400)
    lon[0] = np.nan  # not a coordinate: no hits, no error
    bulk = index.snap_many(lon, lat)
    assert len(bulk) == 400 and bulk[0] == {}

    def codes(hits):
        return {k: [(h.code, round(h.distance_m, 6)) for h in v] for k, v in hits.items()}

    for k in range(1, 400):
        assert codes(bulk[k]) == codes(index.snap(float(lon[k]), float(lat[k]))), k
    # not a vacuous agreement: points fall in the county, its townships and communities
    assert sum(1 for h in bulk if "county" in h) > 100
    assert any("township" in h for h in bulk) and any("community" in h for h in bulk)


def test_bulk_arrays_group_and_list_as_the_hits_do(demo_store):
    """``BulkHits`` numbers places as the per-point hit lists compare, and its codes and
    place rows are those of the hit lists (what back-fill groups and writes)."""
    index = demo_store.rebuild_index()
    a = demo_store.areas(layer="unit_grid")[0]
    minx, miny, maxx, maxy = demo_store.areas(layer="county")[0].geom.bounds
    rng = np.random.default_rng(8)
    # many points close together (shared places) and some spread out
    lon = np.concatenate([rng.normal(a.geom.centroid.x, 0.004, 600), rng.uniform(minx, maxx, 200)])
    lat = np.concatenate([rng.normal(a.geom.centroid.y, 0.004, 600), rng.uniform(miny, maxy, 200)])
    bulk = index.snap_arrays(lon, lat)
    hits = [bulk.hits(k) for k in range(bulk.n)]
    keys = [tuple((layer, *[h.code for h in hs]) for layer, hs in h.items()) for h in hits]
    ids = bulk.place_ids().tolist()
    pairs = {}
    for key, i in zip(keys, ids, strict=True):
        assert pairs.setdefault(key, i) == i  # same objects, same number
    assert len(set(pairs.values())) == len(pairs)  # different objects, different numbers
    assert 1 < len(pairs) < bulk.n  # not vacuous: places are shared and differ
    grid = bulk.codes("unit_grid")
    assert grid == [h["unit_grid"][0].code if "unit_grid" in h else None for h in hits]
    listed = sorted(
        (int(k), layer, code, round(float(d), 6))
        for layer, at, codes, dist in bulk.places()
        for k, code, d in zip(at.tolist(), codes, dist.tolist(), strict=True)
    )
    expected = sorted(
        (k, layer, x.code, round(x.distance_m, 6))
        for k, h in enumerate(hits)
        for layer, hs in h.items()
        for x in hs
    )
    assert listed == expected and any(layer == "key_site" for _, layer, _, _ in listed)
