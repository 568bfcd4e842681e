"""Synthetic bench county: a real hierarchical tiling with wiggly boundaries, roads, key sites.

The county lies around Zhengzhou (lon 113.65, lat 34.75, Gauss-Krüger CM 114E,
EPSG:4547). Its boundaries are built the way real grids are drawn: a Voronoi
diagram of unit-grid seeds (denser in three urban centres) inside a wiggly
county outline, every Voronoi edge replaced by a jittered polyline (the same
polyline for both neighbours), then polygonized. Communities are unions of unit
grids, townships unions of communities and the county the union of everything,
so **every shared edge is vertex-for-vertex identical between neighbours** and
each level exactly tiles its parent. Coordinates are rounded to 7 decimals
(≈ 1 cm) like real data. Everything is seeded.

At ``scale=1``: 16 townships, ≈ 320 communities of ≈ 300 vertices, ≈ 3,300 unit
grids, ≥ 2,000 road sections (streets along grid boundaries plus arterial roads
cut into sections), ≥ 200 key sites (points and small polygons, radius 200–500 m).

Run ``python bench/county.py`` to print a summary.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import shapely
import shapely.affinity
import shapely.ops

LON0 = 113.65
LAT0 = 34.75
KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LON = 111.320 * math.cos(math.radians(LAT0))
#: Vertex spacing along jittered boundaries (km).
VERTEX_SPACING_KM = 0.033
COUNTY_CODE = "410122"


@dataclass
class County:
    """A generated county: layer name → (codes, lon/lat geometries) and extras.

    Attributes
    ----------
    polygons : dict
        ``"county"``, ``"township"``, ``"community"``, ``"unit_grid"`` →
        ``(codes, geoms)``; each a tiling of the county.
    roads : tuple
        ``(codes, LineStrings)``.
    sites : tuple
        ``(codes, Points/Polygons, radius_m)``.
    centres : numpy.ndarray
        Urban centres (lon, lat), shape (3, 2).
    seconds : float
        Generation time.
    """

    polygons: dict[str, tuple[list[str], np.ndarray]]
    roads: tuple[list[str], np.ndarray]
    sites: tuple[list[str], np.ndarray, np.ndarray]
    centres: np.ndarray
    seconds: float = 0.0
    info: dict[str, float] = field(default_factory=dict)

    def layer_specs(self, *, polygons: tuple[str, ...] | None = None, roads=True, sites=True):
        """Snap layer specs (:mod:`civgrid.geo.snap`) for this county."""
        from civgrid.geo.snap import LineLayer, PolygonLayer, ZoneLayer

        names = polygons if polygons is not None else tuple(self.polygons)
        specs: list = [PolygonLayer(n, *self.polygons[n]) for n in names]
        if roads:
            specs.append(LineLayer("road", *self.roads, tolerance_m=30.0))
        if sites:
            codes, geoms, radius = self.sites
            specs.append(ZoneLayer("key_site", codes, geoms, radius_m=radius))
        return specs


def _to_lonlat(xy: np.ndarray) -> np.ndarray:
    lon = LON0 + xy[:, 0] / KM_PER_DEG_LON
    lat = LAT0 + xy[:, 1] / KM_PER_DEG_LAT
    return np.round(np.column_stack([lon, lat]), 7)


def _outline(rng: np.random.Generator, radius_km: float) -> shapely.Polygon:
    n = 1600
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in range(2, 9):
        r += rng.uniform(0.02, 0.12) / k * np.sin(k * t + rng.uniform(0, 2 * np.pi))
    r += 0.004 * rng.standard_normal(n).cumsum() / np.sqrt(n)
    x = radius_km * 1.15 * r * np.cos(t)
    y = radius_km * 0.9 * r * np.sin(t)
    return shapely.make_valid(shapely.Polygon(np.column_stack([x, y])))


def _seeds(rng, outline, n, centres, urban_share, sigma_km):
    prepared = shapely.Polygon(outline)
    shapely.prepare(prepared)
    x0, y0, x1, y1 = outline.bounds
    out = []
    while sum(len(o) for o in out) < n:
        m = n
        u = rng.random(m) < urban_share
        c = centres[rng.integers(0, len(centres), m)]
        pts = np.where(
            u[:, None],
            c + rng.normal(0, sigma_km, (m, 2)),
            np.column_stack([rng.uniform(x0, x1, m), rng.uniform(y0, y1, m)]),
        )
        out.append(pts[shapely.contains_xy(prepared, pts[:, 0], pts[:, 1])])
    return np.concatenate(out)[:n]


def _jitter(rng, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Polyline from a to b with a smooth perpendicular wiggle (endpoints fixed)."""
    d = b - a
    length = float(np.hypot(*d))
    m = max(int(length / VERTEX_SPACING_KM), 1)
    t = np.linspace(0.0, 1.0, m + 1)
    amp = min(0.08 * length, 0.06)
    wig = np.zeros_like(t)
    for k in (1, 2, 3, 5):
        wig += rng.uniform(-1, 1) / k * np.sin(k * np.pi * t + rng.uniform(0, 0.3))
    wig *= np.sin(np.pi * t) * amp
    nrm = np.array([-d[1], d[0]]) / max(length, 1e-12)
    pts = a + np.outer(t, d) + np.outer(wig, nrm)
    pts[0] = a
    pts[-1] = b
    return pts


def make_county(seed: int = 20240601, scale: float = 1.0) -> County:
    """Generate the bench county.

    Parameters
    ----------
    seed : int
        Random seed (same seed, same county).
    scale : float
        1.0 for the full bench county; smaller (e.g. 0.1) for tests: the number of
        unit grids, communities and roads scales with it, townships stay ≤ 16.

    Returns
    -------
    County
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    n_units = max(int(3300 * scale), 40)
    n_comm = max(int(320 * scale), 8)
    n_town = min(16, max(n_comm // 4, 2))
    radius_km = 25.0 * math.sqrt(max(scale, 0.01))
    outline = _outline(rng, radius_km)
    centres_km = np.array([[-0.15, 0.1], [0.35, -0.2], [-0.1, -0.45]]) * radius_km
    seeds = _seeds(rng, outline, n_units, centres_km, 0.55, 0.12 * radius_km)

    # noded linework: Voronoi edges inside the outline + the outline itself
    x0, y0, x1, y1 = outline.bounds
    vor = shapely.voronoi_polygons(
        shapely.multipoints(seeds), only_edges=True, extend_to=shapely.box(x0, y0, x1, y1)
    )
    ring = outline.exterior
    noded = shapely.get_parts(shapely.unary_union([vor, ring]))
    mids = shapely.line_interpolate_point(noded, 0.5, normalized=True)
    on_ring = shapely.dwithin(mids, ring, 1e-9)
    inside = shapely.contains(outline, mids) & ~on_ring
    inner = noded[inside]
    border = noded[on_ring]

    # jitter every interior piece; straighten pieces that would cross
    ends = [shapely.get_coordinates(p)[[0, -1]] for p in inner]
    wiggly = [_jitter(rng, e[0], e[1]) for e in ends]
    straight = np.zeros(len(inner), dtype=bool)
    while True:
        lines = np.array([shapely.LineString(w) for w in wiggly], dtype=object)
        allp = np.concatenate([lines, border])
        tree = shapely.STRtree(allp)
        a_idx, b_idx = tree.query(allp, predicate="intersects")
        sel = a_idx < b_idx
        a_idx, b_idx = a_idx[sel], b_idx[sel]
        bad = ~shapely.touches(allp[a_idx], allp[b_idx])
        fix = np.unique(np.concatenate([a_idx[bad], b_idx[bad]]))
        fix = fix[(fix < len(inner)) & ~straight[fix[fix < len(inner)]]]
        if fix.size == 0:
            break
        for i in fix.tolist():
            wiggly[i] = ends[i].copy()
            straight[i] = True

    # to lon/lat (same formula for shared vertices → identical coordinates)
    pieces_ll = [shapely.LineString(_to_lonlat(w)) for w in wiggly]
    border_ll = [shapely.LineString(_to_lonlat(shapely.get_coordinates(b))) for b in border]
    faces = shapely.get_parts(shapely.polygonize(pieces_ll + border_ll))
    faces = faces[shapely.area(faces) > 0]

    # hierarchy: unit grid → community → township (nearest centre of representative points)
    rep = shapely.get_coordinates(shapely.point_on_surface(faces))
    comm_centre = rep[rng.choice(len(rep), n_comm, replace=False)]
    d2 = ((rep[:, None, :] - comm_centre[None, :, :]) ** 2).sum(-1)
    unit_comm = d2.argmin(1)
    town_centre = comm_centre[rng.choice(n_comm, n_town, replace=False)]
    comm_town = ((comm_centre[:, None, :] - town_centre[None, :, :]) ** 2).sum(-1).argmin(1)
    town_codes = [f"{COUNTY_CODE}{k + 1:03d}" for k in range(n_town)]
    comm_codes: list[str] = []
    comm_geoms = []
    unit_codes: list[str] = [""] * len(faces)
    per_town = [0] * n_town
    for c in range(n_comm):
        members = np.flatnonzero(unit_comm == c)
        if members.size == 0:
            continue
        t = int(comm_town[c])
        per_town[t] += 1
        code = f"{town_codes[t]}{per_town[t]:03d}"
        comm_codes.append(code)
        comm_geoms.append(shapely.coverage_union_all(faces[members]))
        for k, u in enumerate(members.tolist()):
            unit_codes[u] = f"{code}{k + 1:03d}"
    comm_geoms_a = np.array(comm_geoms, dtype=object)
    comm_town_code = np.array([c[:9] for c in comm_codes])
    town_geoms = np.array(
        [
            shapely.coverage_union_all(comm_geoms_a[comm_town_code == tc])
            for tc in town_codes
            if (comm_town_code == tc).any()
        ],
        dtype=object,
    )
    town_codes = [tc for tc in town_codes if (comm_town_code == tc).any()]
    county = shapely.coverage_union_all(town_geoms)

    # roads: streets along grid boundaries + arterials cut into ~600 m sections
    n_streets = max(int(1700 * scale), 20)
    lens = shapely.length(np.array(pieces_ll, dtype=object))
    order = np.argsort(-lens)
    street_idx = rng.choice(order[: max(len(order) * 2 // 3, 1)], n_streets, replace=False)
    roads = [pieces_ll[i] for i in sorted(street_idx.tolist())]
    county_km = shapely.Polygon(outline)
    n_art = max(int(10 * math.sqrt(scale)), 2)
    for _ in range(n_art):
        ang = rng.uniform(0, np.pi)
        off = rng.uniform(-0.6, 0.6) * radius_km
        d = np.array([math.cos(ang), math.sin(ang)])
        nrm = np.array([-d[1], d[0]])
        t = np.linspace(-2 * radius_km, 2 * radius_km, 400)
        bend = 0.03 * radius_km * np.sin(t / radius_km * rng.uniform(1, 3))
        pts = np.outer(t, d) + np.outer(off + bend, nrm)
        clipped = shapely.intersection(shapely.LineString(pts), county_km)
        for part in shapely.get_parts(clipped):
            if part.geom_type != "LineString" or part.length < 0.2:
                continue
            n_sec = max(int(part.length / 0.6), 1)
            for k in range(n_sec):
                sec = shapely.ops.substring(part, k / n_sec, (k + 1) / n_sec, normalized=True)
                c = shapely.get_coordinates(sec)
                if len(c) >= 2:
                    roads.append(shapely.LineString(_to_lonlat(c)))
    roads = [r for r in roads if r.length > 0 and len(set(map(tuple, r.coords))) >= 2]
    road_codes = [f"R{COUNTY_CODE}{k + 1:05d}" for k in range(len(roads))]

    # key sites: points near urban centres and some small polygon sites
    n_sites = max(int(230 * scale), 12)
    site_xy = _seeds(rng, outline, n_sites, centres_km, 0.7, 0.1 * radius_km)
    site_geoms: list = []
    radius = rng.choice([200.0, 300.0, 400.0, 400.0, 400.0, 500.0], n_sites)
    for k, (x, y) in enumerate(site_xy):
        if k % 8 == 0:  # a campus / market polygon
            w, h = rng.uniform(0.08, 0.25, 2)
            ang = rng.uniform(0, np.pi)
            poly = shapely.affinity.rotate(
                shapely.box(x - w, y - h, x + w, y + h), ang, use_radians=True
            )
            site_geoms.append(shapely.Polygon(_to_lonlat(shapely.get_coordinates(poly))))
        else:
            site_geoms.append(shapely.Point(_to_lonlat(np.array([[x, y]]))[0]))
    site_codes = [f"KS{k + 1:04d}" for k in range(n_sites)]

    unit_geoms = faces
    centres = _to_lonlat(centres_km)
    return County(
        polygons={
            "county": ([COUNTY_CODE], np.array([county], dtype=object)),
            "township": (town_codes, town_geoms),
            "community": (comm_codes, comm_geoms_a),
            "unit_grid": (unit_codes, unit_geoms),
        },
        roads=(road_codes, np.array(roads, dtype=object)),
        sites=(site_codes, np.array(site_geoms, dtype=object), radius),
        centres=centres,
        seconds=time.perf_counter() - t0,
        info={"radius_km": radius_km},
    )


def make_points(
    county: County, n: int, seed: int = 7, urban_share: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Query points: ``1 - urban_share`` uniform over the county, the rest in urban clusters.

    Returns
    -------
    tuple of numpy.ndarray
        ``lon, lat`` in degrees, shuffled.
    """
    rng = np.random.default_rng(seed)
    poly = county.polygons["county"][1][0]
    shapely.prepare(poly)
    x0, y0, x1, y1 = poly.bounds
    n_urban = int(n * urban_share)
    sigma = 0.09 * county.info.get("radius_km", 25.0) / KM_PER_DEG_LAT
    out_lon = np.empty(n)
    out_lat = np.empty(n)

    def fill(start: int, stop: int, urban: bool) -> None:
        k = start
        while k < stop:
            m = int((stop - k) * 1.4) + 64
            if urban:
                c = county.centres[rng.integers(0, len(county.centres), m)]
                lon = c[:, 0] + rng.normal(0, sigma * KM_PER_DEG_LAT / KM_PER_DEG_LON, m)
                lat = c[:, 1] + rng.normal(0, sigma, m)
            else:
                lon = rng.uniform(x0, x1, m)
                lat = rng.uniform(y0, y1, m)
            ok = shapely.contains_xy(poly, lon, lat)
            take = min(int(ok.sum()), stop - k)
            out_lon[k : k + take] = lon[ok][:take]
            out_lat[k : k + take] = lat[ok][:take]
            k += take

    fill(0, n - n_urban, urban=False)
    fill(n - n_urban, n, urban=True)
    perm = rng.permutation(n)
    return out_lon[perm], out_lat[perm]


def boundary_points(county: County, layer: str, n: int, seed: int = 11):
    """Points exactly on vertices of ``layer`` and near its edges (segment midpoints).

    Half are vertex coordinates (shared vertices of 2–4 areas included), half
    are midpoints of boundary segments (on the segment up to rounding).
    """
    rng = np.random.default_rng(seed)
    geoms = county.polygons[layer][1]
    coords = shapely.get_coordinates(shapely.get_rings(shapely.get_parts(geoms)))
    v = coords[rng.integers(0, len(coords) - 1, n // 2)]
    i = rng.integers(0, len(coords) - 1, n - n // 2)
    mid = (coords[i] + coords[i + 1]) / 2
    pts = np.concatenate([v, mid])
    return pts[:, 0].copy(), pts[:, 1].copy()


def main() -> None:
    """Print a summary of the full-size county."""
    c = make_county()
    print(f"generated in {c.seconds:.1f} s")
    for name, (codes, geoms) in c.polygons.items():
        nv = shapely.get_num_coordinates(geoms)
        print(
            f"{name:10s} {len(codes):6d} features, vertices mean {nv.mean():7.0f} "
            f"max {nv.max():6d}, valid {shapely.is_valid(geoms).all()}"
        )
    print(f"roads      {len(c.roads[0]):6d} sections")
    print(f"key sites  {len(c.sites[0]):6d} sites")


if __name__ == "__main__":
    main()
