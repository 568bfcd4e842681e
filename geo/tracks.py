"""GPS tracks: reading (GPX, GeoJSON), cleaning, and coverage of lines and polygons.

Pure geometry: no database. Tracks are read in their declared CRS (``wgs84``,
``cgcs2000``, ``gcj02``, ``bd09``) and converted to WGS84 lon/lat degrees with
:func:`civgrid.geo.crs.to_wgs84`. Distances, speeds and tolerances are metres
(and metres per second) in the metric CRS of :func:`civgrid.geo.metric.metric_epsg_for`.

Errors name what is wrong and where: ``"track point 17: latitude 95.2 out of
range"``, ``"malformed GPX: line 4, column 2: ..."``.
"""

from __future__ import annotations

import itertools
import json
import math
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from civgrid.geo.crs import normalize_crs, to_wgs84
from civgrid.geo.errors import CoordinateError, FileFormatError
from civgrid.geo.metric import Projector, metric_epsg_for

__all__ = [
    "GAP_SPEED_MPS",
    "CleaningReport",
    "Track",
    "TrackCoverage",
    "clean_track",
    "line_coverage",
    "polygon_visits",
    "read_track",
    "track_coverage",
]


@dataclass
class Track:
    """A GPS track: WGS84 lon/lat degrees and optional UTC times (epoch seconds, NaN unknown)."""

    lon: np.ndarray
    lat: np.ndarray
    t: np.ndarray

    def __len__(self) -> int:
        return len(self.lon)

    def coordinates(self) -> list[list[float]]:
        """``[[lon, lat], ...]`` WGS84 degrees (GeoJSON order)."""
        return [[float(x), float(y)] for x, y in zip(self.lon, self.lat, strict=True)]

    def start_end(self) -> tuple[datetime | None, datetime | None]:
        """First and last known fix time (aware UTC), or None."""
        known = self.t[np.isfinite(self.t)]
        if not len(known):
            return None, None
        return (
            datetime.fromtimestamp(float(known.min()), UTC),
            datetime.fromtimestamp(float(known.max()), UTC),
        )


@dataclass
class CleaningReport:
    """What cleaning removed (counts of fixes) and why.

    Attributes
    ----------
    n_raw, n_kept : int
        Fixes read and kept.
    zero_fixes, non_finite, duplicates, jumps : int
        Fixes removed: at (0, 0), NaN/inf, repeated (same place or time not
        advancing), and outliers (every entry of ``dropped``).
    relocations : int
        Times the track was accepted at a new place after ``relocate_after``
        consistent fixes (timed tracks).
    anchor_point : int or None
        Raw index of the first trusted fix.
    jump_points : list of int
        Raw indices of the outliers.
    dropped : list of dict
        Each outlier: ``point`` (raw index), ``reason`` (``before_anchor``,
        ``spike``, ``jump``, ``unconfirmed``) and ``distance_m`` from the fix it
        was compared with (metres).
    """

    n_raw: int
    zero_fixes: int = 0
    non_finite: int = 0
    duplicates: int = 0
    jumps: int = 0
    n_kept: int = 0
    relocations: int = 0
    anchor_point: int | None = None
    jump_points: list[int] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return asdict(self)


# --------------------------------------------------------------------------- reading

_GPX_NS = ("{http://www.topografix.com/GPX/1/1}", "{http://www.topografix.com/GPX/1/0}", "")


def _parse_time(text: str | None) -> float:
    if not text:
        return math.nan
    s = text.strip().replace("Z", "+00:00")
    try:
        ts = datetime.fromisoformat(s)
    except ValueError:
        return math.nan
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.timestamp()


def _read_gpx(text: str) -> tuple[list[float], list[float], list[float]]:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        line, col = exc.position
        raise FileFormatError(f"malformed GPX: line {line}, column {col}: {exc.msg}") from None
    if not root.tag.endswith("gpx"):
        raise FileFormatError(f"malformed GPX: root element is <{root.tag}>, expected <gpx>")
    pts: list[ET.Element] = []
    for ns in _GPX_NS:
        pts += root.findall(f".//{ns}trkpt")
    if not pts:
        planned = {
            tag: sum(len(root.findall(f".//{ns}{tag}")) for ns in _GPX_NS)
            for tag in ("rtept", "wpt")
        }
        if any(planned.values()):
            raise FileFormatError(
                f"GPX has no recorded track (<trk>/<trkpt>), only a planned route or "
                f"waypoints ({planned['rtept']} <rtept>, {planned['wpt']} <wpt>): upload the "
                "track recorded on the way (GPX 只有计划路线或航点，没有实际轨迹 <trk>)"
            )
    lon, lat, t = [], [], []
    for i, p in enumerate(pts):
        try:
            lon.append(float(p.attrib["lon"]))
            lat.append(float(p.attrib["lat"]))
        except KeyError as exc:
            raise FileFormatError(f"track point {i}: missing attribute {exc.args[0]}") from None
        except ValueError:
            raise FileFormatError(f"track point {i}: lon/lat is not a number") from None
        tt = None
        for ns in _GPX_NS:
            el = p.find(f"{ns}time")
            if el is not None:
                tt = el.text
                break
        t.append(_parse_time(tt))
    return lon, lat, t


def _read_geojson(text: str) -> tuple[list[float], list[float], list[float]]:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileFormatError(f"malformed GeoJSON: line {exc.lineno}: {exc.msg}") from None
    if not isinstance(obj, dict):
        raise FileFormatError("malformed GeoJSON: not an object")
    if obj.get("type") == "FeatureCollection":
        feats = obj.get("features")
        if feats is None:
            feats = []
        if not isinstance(feats, list):
            raise FileFormatError("malformed GeoJSON: 'features' is not a list")
    else:
        feats = [obj]
    lon: list[float] = []
    lat: list[float] = []
    t: list[float] = []
    for fi, f in enumerate(feats):
        if not isinstance(f, dict):
            raise FileFormatError(
                f"malformed GeoJSON: not an object but {type(f).__name__} {f!r:.40}",
                feature=fi,
            )
        is_feature = f.get("type") == "Feature"
        geom = f.get("geometry") if is_feature else f
        props = f.get("properties") if is_feature else None
        if props is None:
            props = {}
        if not isinstance(props, dict):
            raise FileFormatError("malformed GeoJSON: 'properties' is not an object", feature=fi)
        if not isinstance(geom, dict):
            raise FileFormatError("malformed GeoJSON: no geometry", feature=fi)
        gt, coords = geom.get("type"), geom.get("coordinates")
        if gt == "Point":
            parts = [[coords]]
            times: Any = [[props.get("time")]]
        elif gt == "LineString":
            _need_list(coords, fi, "LineString coordinates")
            parts = [coords]
            times = [props.get("times") or props.get("coordTimes") or []]
        elif gt == "MultiLineString":
            _need_list(coords, fi, "MultiLineString coordinates")
            for pi, part in enumerate(coords):
                _need_list(part, fi, f"MultiLineString part {pi}")
            parts = coords
            times = props.get("times") or props.get("coordTimes") or [[] for _ in coords]
        else:
            raise FileFormatError(f"malformed GeoJSON: geometry {gt!r} is not a track", feature=fi)
        if not isinstance(times, list):
            times = []
        for pi, part in enumerate(parts):  # a part without times still counts
            ptimes = times[pi] if pi < len(times) and isinstance(times[pi], list) else []
            for j, c in enumerate(part):
                n = len(lon)  # index of this fix in the whole track
                if not (isinstance(c, list | tuple) and len(c) >= 2):
                    raise FileFormatError(
                        f"malformed GeoJSON: track point {n}: coordinates {c!r} are not [lon, lat]",
                        feature=fi,
                    )
                try:
                    x, y = float(c[0]), float(c[1])
                except (TypeError, ValueError):
                    raise FileFormatError(
                        f"malformed GeoJSON: track point {n}: coordinates {c!r} are not [lon, lat]",
                        feature=fi,
                    ) from None
                lon.append(x)
                lat.append(y)
                tv = ptimes[j] if j < len(ptimes) else None
                if isinstance(tv, int | float) and not isinstance(tv, bool):
                    t.append(float(tv))
                elif isinstance(tv, str):
                    t.append(_parse_time(tv))
                else:
                    t.append(math.nan)
    return lon, lat, t


def _need_list(value: Any, fi: int, what: str) -> None:
    if not isinstance(value, list):
        raise FileFormatError(
            f"malformed GeoJSON: {what} must be a list, got {value!r:.40}", feature=fi
        )


def read_track(data: bytes | str, *, fmt: str | None = None, crs: str = "wgs84") -> Track:
    """Read a GPS track from GPX or GeoJSON and convert it to WGS84.

    Parameters
    ----------
    data : bytes or str
        File content (UTF-8).
    fmt : {"gpx", "geojson"}, optional
        Guessed from the content when omitted.
    crs : str
        CRS of the coordinates: ``wgs84`` (default), ``cgcs2000``, ``gcj02``, ``bd09``.

    Returns
    -------
    Track
        WGS84 lon/lat degrees; times in epoch seconds (NaN when absent). Raw:
        not cleaned (see :func:`clean_track`), but every fix is range-checked.

    Raises
    ------
    FileFormatError
        Empty file, malformed GPX/GeoJSON, no track points.
    CoordinateError
        A fix outside the lon/lat range ("track point 17: latitude 95.2 out of
        range"), e.g. projected coordinates declared as degrees.
    UnknownCRSError
        ``crs`` is not a known CRS name.
    """
    crs_name = normalize_crs(crs)
    text = data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else data
    if not text.strip():
        raise FileFormatError("empty track file")
    if fmt is None:
        fmt = "gpx" if text.lstrip().startswith("<") else "geojson"
    if fmt == "gpx":
        lon, lat, t = _read_gpx(text)
    elif fmt == "geojson":
        lon, lat, t = _read_geojson(text)
    else:
        raise FileFormatError(f"unknown track format {fmt!r} (gpx or geojson)")
    if not lon:
        raise FileFormatError(f"no track points in the {fmt.upper()} file")
    lo = np.asarray(lon, dtype=float)
    la = np.asarray(lat, dtype=float)
    for i in range(len(lo)):
        if np.isfinite(lo[i]) and abs(lo[i]) > 180:
            raise CoordinateError(
                f"track point {i}: longitude {lo[i]:g} out of range",
                hint="projected coordinates? tracks must be lon/lat degrees (wgs84 or gcj02)",
            )
        if np.isfinite(la[i]) and abs(la[i]) > 90:
            raise CoordinateError(f"track point {i}: latitude {la[i]:g} out of range")
    if crs_name not in ("wgs84", "cgcs2000"):
        ok = np.isfinite(lo) & np.isfinite(la) & ~((lo == 0) & (la == 0))
        if ok.any():
            wl, wa = to_wgs84(lo[ok], la[ok], crs_name)
            lo[ok], la[ok] = wl, wa
    return Track(lo, la, np.asarray(t, dtype=float))


# --------------------------------------------------------------------------- cleaning


def clean_track(
    track: Track,
    *,
    max_speed_mps: float = 40.0,
    max_jump_m: float = 2000.0,
    window: int = 4,
    relocate_after: int = 3,
) -> tuple[Track, CleaningReport]:
    """Remove zero and non-finite fixes, repeated fixes and jumps (outliers).

    Cleaning is robust to a bad first fix and to real relocations:

    1. **Anchor.** The first fix that agrees with at least half of the next
       ``window`` fixes (speed, or distance per fix without times) is the anchor.
       Fixes before it are kept only when consistent with the kept fix after them
       (walking backwards); the others are dropped as ``before_anchor``.
    2. **Forward.** Each later fix is compared with the previous *kept* fix.
       An inconsistent fix is a ``spike`` (dropped) when one of the next
       ``relocate_after`` fixes is consistent with the previous kept fix again.
       Otherwise, with times, ``relocate_after`` mutually consistent fixes are a
       real relocation: they are kept and the anchor moves (``relocations``);
       fewer are dropped as ``jump``. Without times, progressive movement is never
       a jump: only a spike (the track comes back) is dropped, and a last fix
       far from the previous one (``unconfirmed``) unless the track was already
       moving in such long steps.

    Parameters
    ----------
    track : Track
        WGS84 degrees; times epoch seconds (NaN unknown).
    max_speed_mps : float
        Two timed fixes are consistent when the speed between them is at most
        this (m/s).
    max_jump_m : float
        Two fixes of which one has no time are consistent when at most this far
        apart (metres).
    window : int
        Fixes after a candidate anchor it is compared with.
    relocate_after : int
        Consecutive consistent fixes that confirm a relocation (look-ahead of a
        spike, too).

    Returns
    -------
    Track, CleaningReport
        The kept fixes (order preserved) and what was removed: counts, the raw
        indices of the jumps (``jump_points``), and ``dropped`` (raw index,
        reason, distance in metres from the fix it was compared with).
    """
    rep = CleaningReport(n_raw=len(track))
    lo, la, t = track.lon, track.lat, track.t
    finite = np.isfinite(lo) & np.isfinite(la)
    zero = finite & (np.abs(lo) < 1e-9) & (np.abs(la) < 1e-9)
    rep.non_finite = int((~finite).sum())
    rep.zero_fixes = int(zero.sum())
    idx = np.flatnonzero(finite & ~zero)
    if not len(idx):
        return Track(lo[:0], la[:0], t[:0]), rep
    proj = Projector(metric_epsg_for(lo[idx]))
    x, y = proj.forward(lo[idx], la[idx])
    x, y = np.asarray(x, float).ravel(), np.asarray(y, float).ravel()
    tt = t[idx]

    def dist(a: int, b: int) -> float:
        return math.hypot(x[b] - x[a], y[b] - y[a])

    def timed(a: int, b: int) -> bool:
        return bool(np.isfinite(tt[a]) and np.isfinite(tt[b]))

    def repeat(a: int, b: int) -> bool:
        """``b`` repeats ``a``: the same place, or a time not after it."""
        return dist(a, b) < 0.5 or (timed(a, b) and tt[b] <= tt[a])

    # 1. repeated fixes (the same fix again, standing still, or time not advancing)
    cand = [0]
    for k in range(1, len(idx)):
        if repeat(cand[-1], k):
            rep.duplicates += 1
        else:
            cand.append(k)

    def ok(a: int, b: int) -> bool:
        """Fixes ``a`` (earlier) and ``b`` are consistent (speed or distance)."""
        d = dist(a, b)
        if timed(a, b):
            dt = abs(tt[b] - tt[a])
            return dt > 0 and d / dt <= max_speed_mps
        return d <= max_jump_m

    def drop(pos: int, reason: str, ref: int) -> None:
        raw = int(idx[cand[pos]])
        rep.jumps += 1
        rep.jump_points.append(raw)
        rep.dropped.append(
            {"point": raw, "reason": reason, "distance_m": round(dist(cand[ref], cand[pos]), 1)}
        )

    n = len(cand)
    # 2. the anchor: the first fix agreeing with most of its following neighbours
    anchor = 0
    for a in range(n):
        nxt = range(a + 1, min(n, a + 1 + window))
        if not len(nxt):
            break
        agree = sum(ok(cand[a], cand[b]) for b in nxt)
        if agree * 2 >= len(nxt):
            anchor = a
            break
    rep.anchor_point = int(idx[cand[anchor]])
    kept = [anchor]
    early: list[int] = []
    for a in range(anchor - 1, -1, -1):  # walk back from the anchor
        ref = early[-1] if early else anchor
        if ok(cand[a], cand[ref]):
            early.append(a)
        else:
            drop(a, "before_anchor", ref)
    kept = early[::-1] + kept
    rep.jump_points.sort()
    rep.dropped.sort(key=lambda d: d["point"])

    # 3. forward from the anchor
    a = anchor + 1
    while a < n:
        last = kept[-1]
        if repeat(cand[last], cand[a]):  # back on the last kept fix after a dropped one
            rep.duplicates += 1
            a += 1
            continue
        if ok(cand[last], cand[a]):
            kept.append(a)
            a += 1
            continue
        look = range(a + 1, min(n, a + 1 + relocate_after))
        if any(ok(cand[last], cand[b]) for b in look):
            drop(a, "spike", last)
        elif not len(look):
            # the last fix: kept only when the untimed track was moving in steps this long
            sparse = not timed(cand[last], cand[a]) and len(kept) > 1
            if sparse and dist(cand[kept[-2]], cand[last]) > max_jump_m:
                kept.append(a)
            else:
                drop(a, "unconfirmed", last)
        elif timed(cand[last], cand[a]):
            run = list(range(a, min(n, a + relocate_after)))
            if len(run) == relocate_after and all(
                ok(cand[p], cand[q]) for p, q in itertools.pairwise(run)
            ):
                rep.relocations += 1
                kept += run
                a += len(run)
                continue
            drop(a, "jump", last)
        else:  # untimed: progressive movement, the track does not come back
            kept.append(a)
        a += 1
    sel = idx[[cand[k] for k in kept]]
    rep.n_kept = len(sel)
    return Track(lo[sel], la[sel], t[sel]), rep


# --------------------------------------------------------------------------- coverage


@dataclass
class TrackCoverage:
    """Coverage of a cleaned track.

    Attributes
    ----------
    lines : dict
        Line id → covered share of its length (0..1) within the tolerance.
    polygons : dict
        Polygon id → ``{"entered": bool, "dwell_s": float}``.
    length_m : float
        Track length in metres, without the gaps (timed steps faster than
        :data:`GAP_SPEED_MPS`, i.e. relocations kept by cleaning).
    """

    lines: dict[str, float]
    polygons: dict[str, dict[str, Any]]
    length_m: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return asdict(self)


def _project_geom(geom: Any, proj: Projector) -> Any:
    import shapely

    return shapely.transform(geom, lambda c: np.column_stack(proj.forward(c[:, 0], c[:, 1])))


#: Consecutive timed fixes farther apart than this speed (m/s) are not joined by a
#: line: after cleaning that is a relocation, and the track did not drive the gap.
GAP_SPEED_MPS = 40.0


def _gaps(track: Track, x: np.ndarray, y: np.ndarray, max_speed_mps: float) -> np.ndarray:
    """For each step ``i → i+1``: True when it is a gap (timed, faster than the limit)."""
    if len(track) < 2:
        return np.zeros(0, dtype=bool)
    d = np.hypot(np.diff(x), np.diff(y))
    dt = np.diff(track.t)
    timed = np.isfinite(dt)
    with np.errstate(divide="ignore", invalid="ignore"):
        fast = timed & ((dt <= 0) | (d / np.where(dt > 0, dt, 1.0) > max_speed_mps)) & (d >= 0.5)
    return fast


def _path(pts: np.ndarray, gaps: np.ndarray) -> Any:
    """The track as a (multi)line through ``pts``, broken at the gaps (points where alone)."""
    import shapely

    cuts = np.flatnonzero(gaps) + 1
    parts = [p for p in np.split(pts, cuts) if len(p)]
    geoms = [shapely.LineString(p) if len(p) > 1 else shapely.Point(p[0]) for p in parts]
    return geoms[0] if len(geoms) == 1 else shapely.GeometryCollection(geoms)


def _metric_xy(track: Track, proj: Projector) -> tuple[np.ndarray, np.ndarray]:
    x, y = proj.forward(track.lon, track.lat)
    return np.asarray(x, float).ravel(), np.asarray(y, float).ravel()


def line_coverage(
    track: Track,
    lines: dict[str, Any],
    *,
    tolerance_m: float = 30.0,
    epsg: int | None = None,
    max_speed_mps: float = GAP_SPEED_MPS,
) -> dict[str, float]:
    """Share of each line's length within ``tolerance_m`` of the track.

    Parameters
    ----------
    track : Track
        Cleaned, WGS84 degrees.
    lines : dict of str to shapely LineString
        WGS84 lon/lat degrees.
    tolerance_m : float
        Buffer distance in metres (default 30 m).
    epsg : int, optional
        Metric CRS; chosen from the track when omitted.
    max_speed_mps : float
        Two timed fixes reached faster than this (m/s) are not joined: the gap
        between them covers nothing.

    Returns
    -------
    dict of str to float
        Covered share 0..1 per line id (0 for every line when the track is empty).
    """
    if len(track) == 0:
        return dict.fromkeys(lines, 0.0)
    proj = Projector(epsg or metric_epsg_for(track.lon))
    x, y = _metric_xy(track, proj)
    path = _path(np.column_stack([x, y]), _gaps(track, x, y, max_speed_mps))
    zone = path.buffer(tolerance_m)
    out = {}
    for key, line in lines.items():
        ml = _project_geom(line, proj)
        out[key] = float(ml.intersection(zone).length / ml.length) if ml.length > 0 else 0.0
    return out


def polygon_visits(
    track: Track,
    polygons: dict[str, Any],
    *,
    epsg: int | None = None,
    max_speed_mps: float = GAP_SPEED_MPS,
) -> dict[str, dict[str, Any]]:
    """Which polygons the track entered and how long it stayed (dwell time).

    Parameters
    ----------
    track : Track
        Cleaned, WGS84 degrees; times in epoch seconds (NaN when unknown).
    polygons : dict of str to shapely Polygon/MultiPolygon
        WGS84 lon/lat degrees.
    epsg : int, optional
        Metric CRS to find the gaps in; chosen from the track when omitted
        (containment itself is CRS-independent).
    max_speed_mps : float
        Two timed fixes reached faster than this (m/s) are not joined: crossing a
        polygon in such a gap is not entering it.

    Returns
    -------
    dict
        Id → ``{"entered": bool, "fixes": int, "dwell_s": float}``; dwell is
        the sum of the intervals between consecutive fixes both inside (seconds).
    """
    import shapely

    out: dict[str, dict[str, Any]] = {}
    if len(track) == 0:
        return {k: {"entered": False, "fixes": 0, "dwell_s": 0.0} for k in polygons}
    path = None
    if len(track) > 1:
        x, y = _metric_xy(track, Projector(epsg or metric_epsg_for(track.lon)))
        path = _path(np.column_stack([track.lon, track.lat]), _gaps(track, x, y, max_speed_mps))
    dt = np.diff(track.t)
    for key, poly in polygons.items():
        shapely.prepare(poly)
        inside = shapely.contains_xy(poly, track.lon, track.lat)
        entered = bool(inside.any()) or (path is not None and poly.intersects(path))
        both = inside[:-1] & inside[1:]
        dwell = float(np.nansum(dt[both])) if len(dt) else 0.0
        out[key] = {"entered": entered, "fixes": int(inside.sum()), "dwell_s": dwell}
    return out


def track_coverage(
    track: Track,
    lines: dict[str, Any],
    polygons: dict[str, Any],
    *,
    tolerance_m: float = 30.0,
) -> TrackCoverage:
    """Coverage of lines (share within tolerance) and polygons (entered, dwell) by a track.

    Parameters
    ----------
    track : Track
        Cleaned, WGS84 degrees.
    lines, polygons : dict of str to shapely geometry
        WGS84 lon/lat degrees.
    tolerance_m : float
        Line tolerance in metres.

    Returns
    -------
    TrackCoverage
    """
    length = 0.0
    if len(track) > 1:
        x, y = _metric_xy(track, Projector(metric_epsg_for(track.lon)))
        steps = np.hypot(np.diff(x), np.diff(y))
        length = float(steps[~_gaps(track, x, y, GAP_SPEED_MPS)].sum())
    return TrackCoverage(
        line_coverage(track, lines, tolerance_m=tolerance_m),
        polygon_visits(track, polygons),
        length,
    )
