"""GPS tracks: reading, errors with locations, cleaning, coverage of lines and polygons."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely

from civgrid.geo.crs import wgs84_to_gcj02
from civgrid.geo.errors import CoordinateError, FileFormatError, UnknownCRSError
from civgrid.geo.tracks import Track, clean_track, read_track, track_coverage

LAT = 33.05
DEG_M = 111_320 * np.cos(np.radians(LAT))  # metres per degree of longitude at LAT
T0 = 1_798_761_600  # 2027-01-01T00:00Z


def _gpx(points, times=None):
    pts = []
    for i, (lon, lat) in enumerate(points):
        t = f"<time>{times[i]}</time>" if times else ""
        pts.append(f'<trkpt lat="{lat}" lon="{lon}">{t}</trkpt>')
    return (
        '<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">'
        "<trk><trkseg>" + "".join(pts) + "</trkseg></trk></gpx>"
    )


def _iso(sec):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _walk(lon0, lon1, n, lat=LAT):
    return [(lon0 + (lon1 - lon0) * k / (n - 1), lat) for k in range(n)]


def test_read_gpx_with_times():
    pts = _walk(112.90, 112.91, 11)
    tr = read_track(_gpx(pts, [_iso(T0 + 10 * i) for i in range(11)]))
    assert len(tr) == 11
    assert tr.lon[0] == pytest.approx(112.90)
    assert tr.t[-1] - tr.t[0] == 100
    start, end = tr.start_end()
    assert (end - start).total_seconds() == 100


def test_read_geojson_linestring_with_times():
    gj = {
        "type": "Feature",
        "properties": {"times": [_iso(T0), _iso(T0 + 60)]},
        "geometry": {"type": "LineString", "coordinates": [[112.9, LAT], [112.901, LAT]]},
    }
    tr = read_track(json.dumps(gj))
    assert len(tr) == 2 and tr.t[1] - tr.t[0] == 60


def test_gcj02_track_is_converted_to_wgs84():
    lon, lat = 112.93, 33.04
    glon, glat = wgs84_to_gcj02(lon, lat)
    tr = read_track(_gpx([(glon, glat)]), crs="gcj02")
    assert tr.lon[0] == pytest.approx(lon, abs=1e-6)
    assert tr.lat[0] == pytest.approx(lat, abs=1e-6)
    # the offset is hundreds of metres: not converting would be visibly wrong
    assert abs(glon - lon) * DEG_M > 100


def test_errors_name_what_and_where():
    with pytest.raises(FileFormatError, match="empty"):
        read_track(b"  ")
    with pytest.raises(FileFormatError, match=r"malformed GPX: line 3"):
        read_track('<?xml version="1.0"?>\n<gpx>\n<trk><trkpt lat="1" lon="2"></trk></gpx>')
    with pytest.raises(FileFormatError, match="no track points"):
        read_track('<gpx xmlns="http://www.topografix.com/GPX/1/1"></gpx>')
    pts = _walk(112.90, 112.91, 20)
    pts[17] = (112.9, 95.2)
    with pytest.raises(CoordinateError, match=r"track point 17: latitude 95\.2 out of range"):
        read_track(_gpx(pts))
    with pytest.raises(CoordinateError, match="track point 0: longitude 500000 out of range"):
        read_track(_gpx([(500000.0, 3660000.0)]))
    with pytest.raises(UnknownCRSError):
        read_track(_gpx(pts[:2]), crs="EPSG:3857")
    with pytest.raises(FileFormatError, match="malformed GeoJSON"):
        read_track('{"type": "Feature", ')
    with pytest.raises(FileFormatError, match="'Polygon' is not a track"):
        read_track(json.dumps({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 1]]]}))


def test_cleaning_removes_zero_duplicate_and_jump_fixes():
    pts = _walk(112.90, 112.91, 11)  # 10 steps of ~93 m, 10 s apart (9.3 m/s)
    times = [T0 + 10 * i for i in range(11)]
    pts.insert(3, (0.0, 0.0))  # zero fix
    times.insert(3, T0 + 25)
    pts.insert(6, pts[5])  # repeated fix
    times.insert(6, times[5])
    pts.insert(9, (112.95, LAT))  # jump of ~4 km within 1 s
    times.insert(9, times[8] + 1)
    tr = Track(np.array([p[0] for p in pts]), np.array([p[1] for p in pts]), np.array(times, float))
    clean, rep = clean_track(tr)
    assert (rep.n_raw, rep.zero_fixes, rep.duplicates, rep.jumps, rep.n_kept) == (14, 1, 1, 1, 11)
    assert rep.jump_points == [9]
    assert np.allclose(clean.lon, [p[0] for p in _walk(112.90, 112.91, 11)])


def test_coverage_of_roads_and_polygons():
    # road A along the track; road B half covered; road C 200 m north (missed)
    road_a = shapely.LineString([(112.900, LAT), (112.910, LAT)])
    road_b = shapely.LineString([(112.905, LAT), (112.915, LAT)])
    north = 200 / 111_320
    road_c = shapely.LineString([(112.900, LAT + north), (112.910, LAT + north)])
    # a 5 m offset (GPS noise) stays within the 30 m tolerance
    noise = 5 / 111_320
    pts = _walk(112.900, 112.910, 101, lat=LAT + noise)
    tr = Track(
        np.array([p[0] for p in pts]),
        np.array([p[1] for p in pts]),
        np.array([T0 + 6.0 * i for i in range(101)]),
    )
    inside = shapely.box(112.9025, LAT - 0.001, 112.9075, LAT + 0.001)  # 50 fixes span it
    outside = shapely.box(112.92, LAT - 0.001, 112.93, LAT + 0.001)
    cov = track_coverage(
        tr, {"A": road_a, "B": road_b, "C": road_c}, {"in": inside, "out": outside}
    )
    assert cov.lines["A"] == pytest.approx(1.0, abs=1e-6)
    # road B: covered from 112.905 to 112.910 plus the 30 m buffer cap ≈ 0.5 + 30/933
    assert cov.lines["B"] == pytest.approx(0.5 + 30 / (0.01 * DEG_M), abs=0.01)
    assert cov.lines["C"] == 0.0
    assert cov.polygons["in"]["entered"] is True
    # fixes 26..74 lie inside (0.0001° steps): 48 intervals of 6 s
    assert cov.polygons["in"]["dwell_s"] == pytest.approx(48 * 6.0)
    assert cov.polygons["out"] == {"entered": False, "fixes": 0, "dwell_s": 0.0}
    assert cov.length_m == pytest.approx(0.01 * DEG_M, rel=0.01)


def test_track_that_repeats_and_jumps_still_covers_the_road():
    road = shapely.LineString([(112.900, LAT), (112.910, LAT)])
    pts = _walk(112.900, 112.910, 51)
    lon = [p[0] for p in pts]
    lat = [p[1] for p in pts]
    t = [T0 + 10.0 * i for i in range(51)]
    # repeat every fix twice and add a far jump in the middle
    lon2 = [v for v in lon for _ in (0, 1)]
    lat2 = [v for v in lat for _ in (0, 1)]
    t2 = [v for v in t for _ in (0, 1)]
    lon2.insert(50, 113.2)
    lat2.insert(50, 33.3)
    t2.insert(50, t2[49] + 5)
    clean, rep = clean_track(Track(np.array(lon2), np.array(lat2), np.array(t2)))
    assert rep.duplicates == 51 and rep.jumps == 1 and rep.n_kept == 51
    cov = track_coverage(clean, {"R": road}, {})
    assert cov.lines["R"] == pytest.approx(1.0, abs=1e-6)
    # without cleaning the jump would add a ~40 km detour to the length
    assert cov.length_m < 1000


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        ({"type": "FeatureCollection", "features": [1]}, r"feature 0: malformed GeoJSON: not an"),
        (
            {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": None}, 1]},
            r"feature 0: malformed GeoJSON: no geometry",
        ),
        ({"type": "FeatureCollection", "features": 5}, r"malformed GeoJSON: 'features'"),
        ({"type": "LineString", "coordinates": 5}, r"malformed GeoJSON: LineString coordinates"),
        ({"type": "MultiLineString", "coordinates": [5]}, r"MultiLineString part 0 must be"),
        ({"type": "Point", "coordinates": 5}, r"malformed GeoJSON: track point 0: coordinates 5"),
        (
            {"type": "LineString", "coordinates": [[112.9]]},
            r"malformed GeoJSON: track point 0: coordinates \[112\.9\]",
        ),
        (
            {"type": "LineString", "coordinates": [[112.9, LAT], [112.9, "x"]]},
            r"malformed GeoJSON: track point 1: ",
        ),
        (
            {
                "type": "Feature",
                "properties": ["a"],
                "geometry": {"type": "LineString", "coordinates": [[112.9, LAT]]},
            },
            r"feature 0: malformed GeoJSON: 'properties' is not an object",
        ),
    ],
)
def test_malformed_geojson_names_feature_and_point(doc, match):
    with pytest.raises(FileFormatError, match=match):
        read_track(json.dumps(doc))


def test_malformed_geojson_second_feature_index_counts_whole_track():
    ok = {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[112.9, LAT]] * 3}}
    bad = {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[1, 2], [3]]}}
    doc = {"type": "FeatureCollection", "features": [ok, bad]}
    with pytest.raises(FileFormatError, match=r"feature 1: .*track point 4:") as exc:
        read_track(json.dumps(doc))
    assert exc.value.feature == 1
    # odd times are ignored (NaN), not a crash
    odd = {**ok, "properties": {"times": 5}}
    assert np.isnan(read_track(json.dumps(odd)).t).all()


def _line(n, step_m=100.0, dt=10.0, lat=LAT):
    """``n`` fixes eastwards ``step_m`` metres apart, ``dt`` seconds apart (NaN: untimed)."""
    lon = 112.90 + step_m / DEG_M * np.arange(n)
    t = T0 + dt * np.arange(n) if np.isfinite(dt) else np.full(n, np.nan)
    return lon, np.full(n, lat), t


@pytest.mark.parametrize("dt", [10.0, np.nan], ids=["timed", "untimed"])
@pytest.mark.parametrize("off_m", [60_000.0, 3_000.0], ids=["60km", "3km"])
def test_bad_first_fix_is_dropped_and_the_rest_kept(dt, off_m):
    lon, lat, t = _line(20, dt=dt)
    lon[0] -= off_m / DEG_M  # the first fix is wrong (west of the walk)
    clean, rep = clean_track(Track(lon, lat, t))
    assert rep.n_kept == 19 and rep.jumps == 1
    assert rep.anchor_point == 1
    assert rep.dropped == [
        {"point": 0, "reason": "before_anchor", "distance_m": pytest.approx(off_m + 100, rel=0.01)}
    ]
    assert np.allclose(clean.lon, lon[1:])
    # no false coverage: a road between the bad fix and the real walk is not covered
    road = shapely.LineString([(lon[0] + 200 / DEG_M, LAT), (lon[1] - 300 / DEG_M, LAT)])
    assert track_coverage(clean, {"between": road}, {}).lines["between"] == 0.0


@pytest.mark.parametrize("dt", [10.0, np.nan], ids=["timed", "untimed"])
def test_outliers_in_the_middle_are_spikes(dt):
    lon, lat, t = _line(30, dt=dt)
    lon[8] += 50_000 / DEG_M  # one spike
    lat[20] += 30_000 / 111_320  # two spikes in a row
    lat[21] += 30_000 / 111_320
    _, rep = clean_track(Track(lon, lat, t))
    assert rep.jump_points == [8, 20, 21]
    assert {d["reason"] for d in rep.dropped} == {"spike"}
    assert rep.n_kept == 27 and rep.relocations == 0


def test_untimed_track_moving_more_than_2km_is_kept():
    # a walk of 6 km in 60 m steps, and a sparse logger with 2.5 km between fixes
    for step, n in ((60.0, 101), (2500.0, 8)):
        lon, lat, t = _line(n, step_m=step, dt=np.nan)
        _, rep = clean_track(Track(lon, lat, t))
        assert rep.n_kept == n and rep.jumps == 0, (step, rep.dropped)
    # a spike at the end of the walk is not confirmed by any later fix: dropped
    lon, lat, t = _line(30, dt=np.nan)
    lon[-1] += 20_000 / DEG_M
    _, rep = clean_track(Track(lon, lat, t))
    assert rep.dropped[0]["point"] == 29 and rep.dropped[0]["reason"] == "unconfirmed"


def test_timed_relocation_moves_the_anchor():
    lon, lat, t = _line(20)
    lon[10:] += 5_000 / DEG_M  # 5 km in 10 s, then consistent again: a real relocation
    _, rep = clean_track(Track(lon, lat, t))
    assert rep.relocations == 1 and rep.n_kept == 20 and rep.jumps == 0
    # only two fixes there before coming back: spikes, not a relocation
    lon, lat, t = _line(20)
    lon[10:12] += 5_000 / DEG_M
    _, rep = clean_track(Track(lon, lat, t))
    assert rep.relocations == 0 and rep.jump_points == [10, 11]


def test_repeated_fixes_are_duplicates_not_jumps():
    lon, lat, t = _line(10)
    lon3, lat3, t3 = (np.repeat(a, 3) for a in (lon, lat, t))  # every fix thrice, same time
    clean, rep = clean_track(Track(lon3, lat3, t3))
    assert (rep.duplicates, rep.jumps, rep.n_kept) == (20, 0, 10)
    # standing still (new times, same place) and a repeated outlier
    lon2 = np.concatenate([lon[:5], [lon[4]] * 3, [lon[4] + 0.5] * 2, lon[5:]])
    lat2 = np.full(len(lon2), LAT)
    t2 = T0 + 10.0 * np.arange(len(lon2))
    clean, rep = clean_track(Track(lon2, lat2, t2))
    assert rep.duplicates == 4 and rep.jump_points == [8] and rep.n_kept == 10
    assert np.allclose(clean.lon, lon)


def test_multilinestring_parts_without_times_are_kept():
    gj = {
        "type": "Feature",
        "properties": {"times": [[_iso(T0), _iso(T0 + 10)]]},  # times for the first part only
        "geometry": {
            "type": "MultiLineString",
            "coordinates": [[[112.9, LAT], [112.901, LAT]], [[112.902, LAT], [112.903, LAT]]],
        },
    }
    tr = read_track(json.dumps(gj))
    assert len(tr) == 4
    assert tr.t[1] - tr.t[0] == 10 and np.isnan(tr.t[2:]).all()


def test_a_relocation_gap_covers_nothing():
    lon, lat, t = _line(20)
    lon[10:] += 5_000 / DEG_M  # relocated 5 km east within 10 s, then moving on
    clean, rep = clean_track(Track(lon, lat, t))
    assert rep.relocations == 1 and len(clean) == 20
    gap_road = shapely.LineString([(lon[9] + 500 / DEG_M, LAT), (lon[10] - 500 / DEG_M, LAT)])
    walked = shapely.LineString([(lon[0], LAT), (lon[9], LAT)])
    square = shapely.box(lon[9] + 1000 / DEG_M, LAT - 0.001, lon[9] + 2000 / DEG_M, LAT + 0.001)
    cov = track_coverage(clean, {"gap": gap_road, "walked": walked}, {"sq": square})
    assert cov.lines["gap"] == 0.0 and cov.lines["walked"] == pytest.approx(1.0)
    assert cov.polygons["sq"]["entered"] is False
    assert cov.length_m == pytest.approx(18 * 100, rel=0.01)  # two walks of 9 steps
