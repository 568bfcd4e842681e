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
