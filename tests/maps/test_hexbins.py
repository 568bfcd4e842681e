"""Vectorized H3 binning equals h3's own latlng_to_cell, point for point."""

from __future__ import annotations

import h3
import numpy as np
import pytest

from civgrid.maps import hexbins


def scalar(lon, lat, res):
    return np.array(
        [
            h3.str_to_int(h3.latlng_to_cell(y, x, res))
            for x, y in zip(lon.tolist(), lat.tolist(), strict=True)
        ],
        dtype=np.uint64,
    )


@pytest.mark.parametrize("res", [0, 4, 7, 8, 9, 10, 12, 15])
def test_county_points_match_h3(res):
    rng = np.random.default_rng(res)
    lon = rng.uniform(112.6, 113.3, 20_000)
    lat = rng.uniform(32.8, 33.3, 20_000)
    np.testing.assert_array_equal(hexbins.lonlat_to_cells(lon, lat, res), scalar(lon, lat, res))


@pytest.mark.parametrize("res", [1, 5, 9])
def test_whole_sphere_matches_h3_across_faces_and_pentagons(res):
    rng = np.random.default_rng(100 + res)
    n = 30_000
    lon = rng.uniform(-180, 180, n)
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    # plus points right around the 12 pentagons (icosahedron vertices)
    pent = np.array([h3.cell_to_latlng(c) for c in h3.get_pentagons(res)])
    near_lat = np.repeat(pent[:, 0], 200) + rng.normal(0, 0.5 / 2**res, 12 * 200)
    near_lon = np.repeat(pent[:, 1], 200) + rng.normal(0, 0.5 / 2**res, 12 * 200)
    lon = np.concatenate([lon, near_lon])
    lat = np.clip(np.concatenate([lat, near_lat]), -90, 90)
    np.testing.assert_array_equal(hexbins.lonlat_to_cells(lon, lat, res), scalar(lon, lat, res))


def test_aggregate_counts_and_sums():
    rng = np.random.default_rng(5)
    lon = rng.normal(112.95, 0.02, 5000)
    lat = rng.normal(33.05, 0.02, 5000)
    w = rng.integers(0, 3, 5000)
    agg = hexbins.aggregate(lon, lat, 9, {"w": w})
    ref = scalar(lon, lat, 9)
    cells, counts = np.unique(ref, return_counts=True)
    np.testing.assert_array_equal(agg.cells, cells)
    np.testing.assert_array_equal(agg.count, counts)
    for c, s in zip(agg.cells[:50], agg.sums["w"][:50], strict=True):
        assert s == w[ref == c].sum()
    assert agg.count.sum() == 5000 and len(agg) == len(cells)
    assert agg.cell_strings()[0] == h3.int_to_str(int(cells[0]))


def test_cell_index_is_ready_for_bincount():
    lon = np.array([112.95, 112.95, 113.2, 112.95])
    lat = np.array([33.05, 33.05, 33.2, 33.05])
    cells, idx = hexbins.cell_index(lon, lat, 8)
    assert len(cells) == 2 and np.bincount(idx).tolist() in ([3, 1], [1, 3])
    assert (cells[idx] == scalar(lon, lat, 8)).all()


def test_empty_and_bad_input():
    assert len(hexbins.aggregate([], [], 9)) == 0
    assert hexbins.lonlat_to_cells([], [], 9).shape == (0,)
    with pytest.raises(ValueError):
        hexbins.aggregate([1.0], [np.nan], 9)
    with pytest.raises(ValueError):
        hexbins.aggregate([200.0], [0.0], 9)
    with pytest.raises(ValueError):
        hexbins.aggregate([1.0], [1.0], 16)
    with pytest.raises(ValueError):
        hexbins.aggregate([1.0, 2.0], [1.0], 9)


def test_resolution_for_zoom_and_polygons():
    assert [hexbins.resolution_for_zoom(z) for z in (3, 12, 14, 16, 22)] == [5, 8, 9, 10, 11]
    cell = h3.latlng_to_cell(33.05, 112.95, 9)
    (ring,) = hexbins.cell_polygons([cell])
    assert ring[0] == ring[-1] and len(ring) == 7
    assert all(112.9 < x < 113.0 and 33.0 < y < 33.1 for x, y in ring)  # lon, lat order


@pytest.mark.parametrize(
    ("lon", "lat", "spread", "one_face"),
    [
        (112.95, 33.05, 0.08, True),  # a county: cells counted from lattice points
        (122.3, 39.1, 0.6, False),  # around an icosahedron vertex (a pentagon): cells counted
    ],
)
def test_aggregate_lowers_the_resolution_as_the_plain_loop_does(lon, lat, spread, one_face):
    rng = np.random.default_rng(3)
    x = rng.normal(lon, spread, 40_000)
    y = rng.normal(lat, spread, 40_000)
    assert (hexbins._edge_distance(hexbins._prepare(x, y)) > 0) is one_face
    w = rng.integers(1, 3, x.shape[0]).astype(float)
    for res, cap in ((11, 3_000), (9, 500), (6, 40_000), (3, 1)):
        r = res
        while True:  # what density_points did before: bin, and lower until it fits
            plain = hexbins.aggregate(x, y, r, {"w": w})
            if len(plain) <= cap or r == 0:
                break
            r -= 1
        fast = hexbins.aggregate(x, y, res, {"w": w}, max_cells=cap)
        assert fast.res == r and fast.cells.tolist() == plain.cells.tolist()
        assert fast.sums["w"].tolist() == plain.sums["w"].tolist()
