"""GPS tracks: reading (GPX, GeoJSON), cleaning, and coverage of lines and polygons.

Pure geometry: no database. Tracks are read in their declared CRS (``wgs84``,
``cgcs2000``, ``gcj02``, ``bd09``) and converted to WGS84 lon/lat degrees with
:func:`civgrid.geo.crs.to_wgs84`. Distances, speeds and tolerances are metres
(and metres per second) in the metric CRS of :func:`civgrid.geo.metric.metric_epsg_for`.

Errors name what is wrong and where: ``"track point 17: latitude 95.2 out of
range"``, ``"malformed GPX: line 4, column 2: ..."``.
"""

from __future__ import annotations

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
    """What cleaning removed (counts of fixes)."""

    n_raw: int
    zero_fixes: int = 0
    non_finite: int = 0
    duplicates: int = 0
    jumps: int = 0
    n_kept: int = 0
    jump_points: list[int] = field(default_factory=list)

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
    for tag in ("trkpt", "rtept"):
        for ns in _GPX_NS:
            pts += root.findall(f".//{ns}{tag}")
        if pts:
            break
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
    feats = obj.get("features") if obj.get("type") == "FeatureCollection" else [obj]
    lon: list[float] = []
    lat: list[float] = []
    t: list[float] = []
    for fi, f in enumerate(feats or []):
        geom = f.get("geometry") if f.get("type") == "Feature" else f
        props = (f.get("properties") or {}) if f.get("type") == "Feature" else {}
        if not isinstance(geom, dict):
            raise FileFormatError("malformed GeoJSON: no geometry", feature=fi)
        gt, coords = geom.get("type"), geom.get("coordinates")
        if gt == "Point":
            parts = [[coords]]
            times = [[props.get("time")]]
        elif gt == "LineString":
            parts = [coords]
            times = [props.get("times") or props.get("coordTimes") or []]
        elif gt == "MultiLineString":
            parts = coords
            times = props.get("times") or props.get("coordTimes") or [[] for _ in coords]
        else:
            raise FileFormatError(f"malformed GeoJSON: geometry {gt!r} is not a track", feature=fi)
        for part, ptimes in zip(parts, times, strict=False):
            for j, c in enumerate(part or []):
                try:
                    lon.append(float(c[0]))
                    lat.append(float(c[1]))
                except (TypeError, ValueError, IndexError):
                    raise FileFormatError(
                        f"track point {len(lon)}: coordinates {c!r} are not [lon, lat]"
                    ) from None
                tv = ptimes[j] if ptimes and j < len(ptimes) else None
                if isinstance(tv, int | float):
                    t.append(float(tv))
                else:
                    t.append(_parse_time(tv))
    return lon, lat, t


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
    track: Track, *, max_speed_mps: float = 40.0, max_jump_m: float = 2000.0
) -> tuple[Track, CleaningReport]:
    """Remove zero and non-finite fixes, repeated fixes and jumps.

    Parameters
    ----------
    track : Track
        WGS84 degrees.
    max_speed_mps : float
        A fix reached faster than this from the last kept fix is a jump (m/s).
    max_jump_m : float
        Without times, a fix farther than this from the last kept fix is a jump (m).

    Returns
    -------
    Track, CleaningReport
        The kept fixes (order preserved) and the counts removed.
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
    keep = [0]
    for k in range(1, len(idx)):
        j = keep[-1]
        d = math.hypot(x[k] - x[j], y[k] - y[j])
        ti, tj = t[idx[k]], t[idx[j]]
        if d < 0.5:  # the same fix repeated (or standing still)
            rep.duplicates += 1
            continue
        if np.isfinite(ti) and np.isfinite(tj):
            dt = ti - tj
            if dt <= 0:
                rep.duplicates += 1
                continue
            jump = d / dt > max_speed_mps
        else:
            jump = d > max_jump_m
        if jump:
            rep.jumps += 1
            rep.jump_points.append(int(idx[k]))
            continue
        keep.append(k)
    sel = idx[keep]
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
        Track length in metres.
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


def line_coverage(
    track: Track, lines: dict[str, Any], *, tolerance_m: float = 30.0, epsg: int | None = None
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

    Returns
    -------
    dict of str to float
        Covered share 0..1 per line id (0 for every line when the track is empty).
    """
    import shapely

    if len(track) == 0:
        return dict.fromkeys(lines, 0.0)
    proj = Projector(epsg or metric_epsg_for(track.lon))
    x, y = proj.forward(track.lon, track.lat)
    pts = np.column_stack([np.asarray(x, float).ravel(), np.asarray(y, float).ravel()])
    path = shapely.LineString(pts) if len(pts) > 1 else shapely.Point(pts[0])
    zone = path.buffer(tolerance_m)
    out = {}
    for key, line in lines.items():
        ml = _project_geom(line, proj)
        out[key] = float(ml.intersection(zone).length / ml.length) if ml.length > 0 else 0.0
    return out


def polygon_visits(
    track: Track, polygons: dict[str, Any], *, epsg: int | None = None
) -> dict[str, dict[str, Any]]:
    """Which polygons the track entered and how long it stayed (dwell time).

    Parameters
    ----------
    track : Track
        Cleaned, WGS84 degrees; times in epoch seconds (NaN when unknown).
    polygons : dict of str to shapely Polygon/MultiPolygon
        WGS84 lon/lat degrees.
    epsg : int, optional
        Unused for the test (containment is CRS-independent); kept for symmetry.

    Returns
    -------
    dict
        Id → ``{"entered": bool, "fixes": int, "dwell_s": float}``; dwell is
        the sum of the intervals between consecutive fixes both inside (seconds).
    """
    import shapely

    del epsg
    out: dict[str, dict[str, Any]] = {}
    if len(track) == 0:
        return {k: {"entered": False, "fixes": 0, "dwell_s": 0.0} for k in polygons}
    path = shapely.LineString(np.column_stack([track.lon, track.lat])) if len(track) > 1 else None
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
        proj = Projector(metric_epsg_for(track.lon))
        x, y = proj.forward(track.lon, track.lat)
        length = float(np.hypot(np.diff(x), np.diff(y)).sum())
    return TrackCoverage(
        line_coverage(track, lines, tolerance_m=tolerance_m),
        polygon_visits(track, polygons),
        length,
    )
