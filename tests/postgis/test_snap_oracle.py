"""PostGIS as the oracle of the snap index: the same ≥ 100k points, 100% agreement.

A scaled-down bench county (``bench/county.py``) and its points — random ones
plus points exactly on vertices and near edges of the areas and on road
vertices — are snapped by :class:`civgrid.geo.snap.SnapIndex` and by PostGIS:

* areas: ``ST_Covers`` on the stored lon/lat geometry, smallest code first
  (``ORDER BY code COLLATE "C"``: byte order, as Python compares the codes);
* roads: ``ST_DWithin`` / ``ST_Distance`` / ``ST_LineLocatePoint`` on
  ``ST_Transform(geom, 4547)`` computed by PostGIS, nearest first, then code;
* zones: ``ST_DWithin(ST_Transform(site, 4547), ST_Transform(point, 4547), radius)``.

Ids must agree exactly. Distances and positions are computed by different
code (PostGIS projects with its own PROJ and uses its own point-to-segment
formula), so they are compared to 1e-6 m.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from county import boundary_points, make_county, make_points

from civgrid.geo.snap import SnapIndex

pytestmark = [pytest.mark.postgis, pytest.mark.slow]

EPSG = 4547
N_RANDOM = 90_000
N_BOUNDARY = 6_000  # per area layer: community and unit grid
N_ROAD_VERTICES = 2_000


@pytest.fixture(scope="module")
def county():
    return make_county(seed=99, scale=0.12)


@pytest.fixture(scope="module")
def points(county):
    lon, lat = make_points(county, N_RANDOM, seed=5)
    parts = [(lon, lat)]
    for k, layer in enumerate(("community", "unit_grid")):
        parts.append(boundary_points(county, layer, N_BOUNDARY, seed=20 + k))
    road_xy = shapely.get_coordinates(county.roads[1])
    pick = np.random.default_rng(3).integers(0, len(road_xy), N_ROAD_VERTICES)
    parts.append((road_xy[pick, 0], road_xy[pick, 1]))
    lon = np.concatenate([p[0] for p in parts])
    lat = np.concatenate([p[1] for p in parts])
    assert lon.size >= 100_000
    return lon, lat


def _copy_geoms(cur, table: str, codes, geoms, extra=None) -> None:
    wkb = shapely.to_wkb(shapely.set_srid(np.asarray(geoms), 4326), hex=True, include_srid=True)
    cols = "(code, geom)" if extra is None else "(code, geom, radius)"
    with cur.copy(f"COPY {table} {cols} FROM STDIN") as cp:
        for k, (code, w) in enumerate(zip(codes, wkb, strict=True)):
            cp.write_row((code, w) if extra is None else (code, w, float(extra[k])))


def test_snap_equals_postgis(postgresql, county, points) -> None:
    lon, lat = points
    n = lon.size
    index = SnapIndex.build(county.layer_specs(), epsg=EPSG)
    ours = index.snap_many(lon, lat)

    conn = postgresql
    cur = conn.cursor()
    cur.execute("SET max_parallel_workers_per_gather = 0")
    cur.execute("CREATE TABLE area (layer text, code text, geom geometry)")
    for layer, (codes, geoms) in county.polygons.items():
        cur.execute("CREATE TEMP TABLE area_in (code text, geom geometry)")
        _copy_geoms(cur, "area_in", codes, geoms)
        cur.execute("INSERT INTO area SELECT %s, code, geom FROM area_in", (layer,))
        cur.execute("DROP TABLE area_in")
    cur.execute("CREATE INDEX ON area USING gist (geom)")
    cur.execute("CREATE TABLE road (code text, geom geometry)")
    _copy_geoms(cur, "road", *county.roads)
    cur.execute(
        f"ALTER TABLE road ADD COLUMN gm geometry; UPDATE road SET gm = ST_Transform(geom, {EPSG})"
    )
    cur.execute("CREATE INDEX ON road USING gist (gm)")
    site_codes, site_geoms, radius = county.sites
    cur.execute("CREATE TABLE site (code text, geom geometry, radius float8)")
    _copy_geoms(cur, "site", site_codes, site_geoms, extra=radius)
    cur.execute(
        f"ALTER TABLE site ADD COLUMN gm geometry; UPDATE site SET gm = ST_Transform(geom, {EPSG})"
    )
    cur.execute("CREATE INDEX ON site USING gist (gm)")
    cur.execute("CREATE TABLE pt_in (id int, lon float8, lat float8)")
    with cur.copy("COPY pt_in (id, lon, lat) FROM STDIN") as cp:
        for k in range(n):
            cp.write_row((k, float(lon[k]), float(lat[k])))
    cur.execute(
        "CREATE TABLE pt AS SELECT id, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS geom, "
        f"ST_Transform(ST_SetSRID(ST_MakePoint(lon, lat), 4326), {EPSG}) AS gm FROM pt_in"
    )
    cur.execute("CREATE INDEX ON pt USING gist (geom)")
    cur.execute("CREATE INDEX ON pt USING gist (gm)")
    cur.execute("ANALYZE")

    # ---- areas: ST_Covers, smallest code
    for layer, (codes, _geoms) in county.polygons.items():
        pos = {c: i for i, c in enumerate(codes)}
        rows = cur.execute(
            "SELECT DISTINCT ON (p.id) p.id, a.code FROM pt p JOIN area a "
            "ON a.layer = %s AND ST_Covers(a.geom, p.geom) "
            'ORDER BY p.id, a.code COLLATE "C"',
            (layer,),
        ).fetchall()
        want = np.full(n, -1, dtype=np.int64)
        for pid, code in rows:
            want[pid] = pos[code]
        if layer in ("community", "unit_grid"):  # the shared boundaries are exercised
            (shared,) = cur.execute(
                "SELECT count(*) FROM (SELECT p.id FROM pt p JOIN area a ON a.layer = %s "
                "AND ST_Covers(a.geom, p.geom) GROUP BY p.id HAVING count(*) > 1) t",
                (layer,),
            ).fetchone()
            assert shared > 1000
        got = ours[layer].ids
        bad = np.flatnonzero(got != want)
        assert bad.size == 0, (layer, bad[:10], got[bad[:10]], want[bad[:10]])
        assert (want >= 0).mean() > 0.9

    # ---- roads: nearest within 30 m in EPSG:4547 as PostGIS projects it, then code
    road_pos = {c: i for i, c in enumerate(county.roads[0])}
    rows = cur.execute(
        "SELECT DISTINCT ON (p.id) p.id, r.code, ST_Distance(r.gm, p.gm) AS d, "
        "ST_LineLocatePoint(r.gm, p.gm) * ST_Length(r.gm) "
        "FROM pt p JOIN road r ON ST_DWithin(r.gm, p.gm, 30.0) "
        'ORDER BY p.id, d, r.code COLLATE "C"'
    ).fetchall()
    want_id = np.full(n, -1, dtype=np.int64)
    want_d = np.full(n, np.nan)
    want_p = np.full(n, np.nan)
    for pid, code, d, p in rows:
        want_id[pid] = road_pos[code]
        want_d[pid] = d
        want_p[pid] = p
    (ties,) = cur.execute(
        "SELECT count(*) FROM (SELECT p.id FROM pt p JOIN road r ON ST_DWithin(r.gm, p.gm, 30.0) "
        "GROUP BY p.id HAVING count(*) FILTER (WHERE ST_Distance(r.gm, p.gm) = 0) > 1) t"
    ).fetchone()
    assert ties > 100  # points on vertices shared by two sections: a tie, smallest code
    r = ours["road"]
    bad = np.flatnonzero(r.ids != want_id)
    assert bad.size == 0, (bad[:10], r.ids[bad[:10]], want_id[bad[:10]], want_d[bad[:10]])
    hit = want_id >= 0
    assert hit.mean() > 0.05
    np.testing.assert_allclose(r.distance_m[hit], want_d[hit], rtol=0, atol=1e-6)
    np.testing.assert_allclose(r.position_m[hit], want_p[hit], rtol=0, atol=1e-6)
    assert np.isnan(r.distance_m[~hit]).all()

    # ---- zones: ST_DWithin(site, point, radius) in EPSG:4547
    site_pos = {c: i for i, c in enumerate(site_codes)}
    rows = cur.execute(
        "SELECT p.id, s.code, ST_Distance(s.gm, p.gm) FROM pt p "
        "JOIN site s ON ST_DWithin(s.gm, p.gm, s.radius)"
    ).fetchall()
    want_sets: dict[int, dict[int, float]] = {}
    for pid, code, d in rows:
        want_sets.setdefault(pid, {})[site_pos[code]] = d
    z = ours["key_site"]
    counts = np.diff(z.offsets)
    assert counts.sum() == len(rows)
    for k in np.flatnonzero(counts).tolist():
        ids = z.ids[z.offsets[k] : z.offsets[k + 1]].tolist()
        ds = z.distance_m[z.offsets[k] : z.offsets[k + 1]]
        want = want_sets.get(k, {})
        assert set(ids) == set(want), (k, ids, want)
        np.testing.assert_allclose(ds, [want[i] for i in ids], rtol=0, atol=1e-6)
    assert len(want_sets) == int((counts > 0).sum())
