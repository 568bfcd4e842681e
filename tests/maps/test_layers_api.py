"""The map's GeoJSON endpoints on the demo county with seeded issues (SQLite)."""

from __future__ import annotations

import json

import numpy as np
import shapely
from sqlalchemy import select

from civgrid.geo.crs import haversine_m, wgs84_to_gcj02
from civgrid.geo.metric import Projector, metric_epsg_for

LAYER_SIZES = {
    "county": 1,
    "township": 16,
    "community": 14,
    "unit_grid": 140,
    "road_section": 85,  # 72 streets of the central city + 13 rural through roads
    "key_site": 55,  # 42 sites of the central city + 13 township seats
    "key_site_zone": 55,
    "supervision_area": 4,
}


def get(client, url, status=200):
    r = client.get(url)
    assert r.status_code == status, r.text[:500]
    return r.json()


def test_every_layer_with_chinese_labels_and_owners(make_client):
    client = make_client()
    listed = {x["key"]: x["label"] for x in get(client, "/api/v1/layers")}
    assert listed["community"] == "社区/行政村网格" and "issues" in listed
    for layer, n in LAYER_SIZES.items():
        fc = get(client, f"/api/v1/layers/{layer}.geojson?zoom=13")
        assert fc["type"] == "FeatureCollection" and fc["layer"] == layer
        assert len(fc["features"]) == n, layer
        assert fc["display_crs"] == "wgs84"
    comm = get(client, "/api/v1/layers/community.geojson")["features"]
    p = comm[0]["properties"]
    assert p["type_label"] in ("社区", "行政村") and p["contract"] and p["pairing"]
    assert {"open", "overdue", "recurring", "total"} <= set(p)
    road = get(client, "/api/v1/layers/road_section.geojson")["features"][0]["properties"]
    assert road["road_chief"] and road["extent"]
    site = get(client, "/api/v1/layers/key_site.geojson")["features"][0]
    assert site["geometry"]["type"] == "Point" and site["properties"]["kind_label"]
    assert site["properties"]["lead"] and site["properties"]["zone_radius_m"] == 400


def _first_issue(client):
    fc = get(client, "/api/v1/layers/issues.geojson?display_crs=wgs84&limit=1")
    return fc["features"][0]


def test_gcj02_basemap_shifts_served_coordinates(maps_db, make_client):
    from civgrid.grids.boundaries.store import Store
    from civgrid.grids.core.db import make_engine
    from civgrid.grids.issues.models import Issue

    store = Store(make_engine(maps_db))
    with store.session() as s:
        issue = s.scalars(select(Issue).where(Issue.lon.is_not(None)).order_by(Issue.id)).first()
        lon, lat = issue.lon, issue.lat  # a known WGS84 point
        township = store.areas(layer="township", session=s)[0]
        vx, vy = township.geom.geoms[0].exterior.coords[0]
    store.engine.dispose()
    gx, gy = wgs84_to_gcj02(lon, lat)
    assert haversine_m(lon, lat, gx, gy) > 300  # the shift is real in Henan

    amap = make_client(basemap_url="amap")
    feats = get(amap, "/api/v1/layers/issues.geojson?limit=10000")["features"]
    (f,) = [f for f in feats if f["id"] == issue.id]
    x, y = f["geometry"]["coordinates"]
    assert haversine_m(x, y, gx, gy) < 0.1
    fc = get(amap, "/api/v1/layers/township.geojson")  # zoom omitted: full detail
    assert fc["display_crs"] == "gcj02"
    ring = next(ft for ft in fc["features"] if ft["id"] == township.code)["geometry"]
    x, y = ring["coordinates"][0][0][0]
    tx, ty = wgs84_to_gcj02(vx, vy)
    assert haversine_m(x, y, tx, ty) < 0.1

    tianditu = make_client(basemap_url="tianditu:testkey")
    feats = get(tianditu, "/api/v1/layers/issues.geojson?limit=10000")["features"]
    (f,) = [f for f in feats if f["id"] == issue.id]
    x, y = f["geometry"]["coordinates"]
    assert haversine_m(x, y, lon, lat) < 0.1
    fc = get(tianditu, "/api/v1/layers/township.geojson")
    ring = next(ft for ft in fc["features"] if ft["id"] == township.code)["geometry"]
    x, y = ring["coordinates"][0][0][0]
    assert haversine_m(x, y, vx, vy) < 0.1 and fc["display_crs"] == "wgs84"

    # the parameter overrides the basemap's default
    f = _first_issue(amap)
    assert (
        f["properties"]["id"]
        and get(amap, "/api/v1/layers/issues.geojson?display_crs=wgs84")["display_crs"] == "wgs84"
    )


def test_zone_rings_are_400_m_from_their_site(make_client):
    client = make_client()
    sites = {f["id"]: f for f in get(client, "/api/v1/layers/key_site.geojson")["features"]}
    zones = get(client, "/api/v1/layers/key_site_zone.geojson")["features"]
    proj = Projector(metric_epsg_for(112.95))
    for z in zones[:10]:
        ring = np.asarray(z["geometry"]["coordinates"][0])
        x, y = proj.forward(ring[:, 0], ring[:, 1])
        site = sites[z["id"]]
        assert z["properties"]["zone_radius_m"] == 400
        sx, sy = proj.forward(*site["geometry"]["coordinates"])
        d = np.hypot(x - sx, y - sy)
        assert d.min() > 390 and d.max() < 480  # around a site's point (sites are small areas)


def test_zone_ring_distance_to_site_geometry_is_400_m(maps_db):
    from civgrid.grids.boundaries.store import Store
    from civgrid.grids.core.db import make_engine
    from civgrid.maps.layers import zone_rings

    store = Store(make_engine(maps_db))
    sites = store.key_sites()
    store.engine.dispose()
    rings = zone_rings([s.geom for s in sites], [s.zone_radius_m for s in sites])
    proj = Projector(metric_epsg_for(112.95))

    def metric(g):
        return shapely.transform(g, lambda c: np.column_stack(proj.forward(c[:, 0], c[:, 1])))

    for site, ring in zip(sites, rings, strict=True):
        boundary = np.asarray(ring.exterior.coords)
        pts = metric(shapely.points(boundary))
        d = shapely.distance(pts, metric(site.geom))
        assert np.abs(d - 400).max() < 1.0, site.code


def test_zoom_simplifies_and_pages_stay_small(make_client):
    client = make_client()
    full = get(client, "/api/v1/layers/township.geojson")
    low = get(client, "/api/v1/layers/township.geojson?zoom=9")

    def vertices(fc):
        return sum(
            len(shapely.get_coordinates(shapely.from_geojson(json.dumps(f["geometry"]))))
            for f in fc["features"]
        )

    assert vertices(low) < 0.6 * vertices(full)
    for f in low["features"]:
        assert shapely.from_geojson(json.dumps(f["geometry"])).area > 0
    # everything the command-center page loads at its start zoom: well under 2 MB
    total = 0
    for layer in LAYER_SIZES:
        total += len(client.get(f"/api/v1/layers/{layer}.geojson?zoom=13").content)
    total += len(client.get("/api/v1/layers/issues.geojson").content)
    assert total < 2_000_000, total
    # and the heaviest zoom
    total = sum(len(client.get(f"/api/v1/layers/{k}.geojson?zoom=18").content) for k in LAYER_SIZES)
    assert total < 2_000_000, total


def test_counts_match_the_issue_list(make_client):
    client = make_client()
    comm = get(client, "/api/v1/layers/community.geojson?zoom=12")["features"]
    with_issues = [f for f in comm if f["properties"]["total"] > 0]
    assert with_issues
    for f in with_issues[:4]:
        code = f["id"]
        listed = get(client, f"/api/v1/issues?area={code}&kind=open&limit=1")
        assert listed["total"] == f["properties"]["open"], code
        overdue = get(client, f"/api/v1/issues?area={code}&kind=open&overdue=true&limit=1")
        assert overdue["total"] == f["properties"]["overdue"], code


def test_issue_filters(make_client):
    client = make_client()
    everything = get(client, "/api/v1/layers/issues.geojson")
    assert everything["count"] == everything["total"] > 50
    props = [f["properties"] for f in everything["features"]]
    assert {"id", "state", "category", "reported_at", "open", "overdue"} <= set(props[0])
    cat = props[0]["category"]
    by_cat = get(client, f"/api/v1/layers/issues.geojson?category={cat}")
    assert 0 < by_cat["count"] < everything["count"]
    assert {f["properties"]["category"] for f in by_cat["features"]} == {cat}
    opened = get(client, "/api/v1/layers/issues.geojson?kind=open")
    assert all(f["properties"]["open"] for f in opened["features"])
    assert opened["count"] == sum(p["open"] for p in props)
    closed = get(client, "/api/v1/layers/issues.geojson?state=closed")
    assert {f["properties"]["state"] for f in closed["features"]} == {"closed"}
    day = min(p["reported_at"] for p in props)[:10]
    first_day = get(client, f"/api/v1/layers/issues.geojson?from={day}&to={day}")
    assert 0 < first_day["count"] < 10
    full = get(client, "/api/v1/layers/issues.geojson?detail=true&limit=3")
    p = full["features"][0]["properties"]
    assert p["state_label"] and p["category_name"] and "owner_unit" in p and "leaders" in p
    # bbox in the display CRS
    x, y = everything["features"][0]["geometry"]["coordinates"]
    box = f"{x - 0.001},{y - 0.001},{x + 0.001},{y + 0.001}"
    near = get(client, f"/api/v1/layers/issues.geojson?bbox={box}")
    assert everything["features"][0]["id"] in {f["id"] for f in near["features"]}
    assert near["count"] < everything["count"]


def _leader_codes(maps_db):
    from civgrid.grids.boundaries.store import Store
    from civgrid.grids.core.db import make_engine
    from civgrid.maps.layers import leader_objects

    store = Store(make_engine(maps_db))
    with store.session() as s:
        out = {k: leader_objects(s, k) for k in ("L01", "L10")}
    store.engine.dispose()
    return out


def test_two_leaders_see_only_their_own(maps_db, make_client):
    client = make_client()
    objects = _leader_codes(maps_db)
    a, b = objects["L01"], objects["L10"]
    assert a["community"] and b["community"] and not (a["community"] & b["community"])
    for key, own in objects.items():
        for layer in ("township", "community"):
            fc = get(client, f"/api/v1/layers/{layer}.geojson?leader={key}")
            assert {f["id"] for f in fc["features"]} == own.get(layer, set()), (key, layer)
        fc = get(client, f"/api/v1/layers/road_section.geojson?leader={key}")
        assert {f["id"] for f in fc["features"]} == own.get("road_section", set())
    ia = get(client, "/api/v1/layers/issues.geojson?leader=L01&detail=true")["features"]
    ib = get(client, "/api/v1/layers/issues.geojson?leader=L10&detail=true")["features"]
    assert ib, "the seeded issues include L10's areas"
    areas_a = a.get("community", set()) | a.get("township", set())
    areas_b = b.get("community", set()) | b.get("township", set())
    for f in ia:
        p = f["properties"]
        assert p["community_code"] in areas_a or p["township_code"] in areas_a
    for f in ib:
        p = f["properties"]
        assert p["community_code"] in areas_b or p["township_code"] in areas_b
    assert not ({f["id"] for f in ia} & {f["id"] for f in ib})
    get(client, "/api/v1/layers/community.geojson?leader=NOPE", 404)


def test_errors_are_problem_details(make_client):
    client = make_client()
    r = client.get("/api/v1/layers/rivers.geojson")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    assert "rivers" in r.json()["detail"]
    assert client.get("/api/v1/layers/township.geojson?display_crs=bd09").status_code == 422
    assert client.get("/api/v1/layers/township.geojson?bbox=1,2,3").status_code == 422
    assert client.get("/api/v1/layers/issues.geojson?state=lost").status_code == 422
    assert client.get("/api/v1/hexbins?res=16").status_code == 422


def test_hexbins_endpoint(make_client):
    client = make_client()
    fc = get(client, "/api/v1/hexbins?zoom=14&days=3650")
    assert fc["res"] == 9 and fc["issues"] > 50
    assert sum(f["properties"]["count"] for f in fc["features"]) == fc["issues"]
    scores = [f["properties"]["score"] for f in fc["features"]]
    assert scores == sorted(scores, reverse=True)
    assert fc["hotspots"] and fc["hotspots"][0]["rank"] == 1 and fc["hotspots"][0]["center"]
    assert fc["hotspots"][0]["community_name"]
    total_open = get(client, "/api/v1/layers/issues.geojson?kind=open")["count"]
    assert sum(f["properties"]["open"] for f in fc["features"]) == total_open
    fine = get(client, "/api/v1/hexbins?res=10&days=3650")
    assert len(fine["features"]) > len(fc["features"])
    cat = fc["hotspots"][0]["top_category"]
    one = get(client, f"/api/v1/hexbins?res=9&days=3650&category={cat}")
    assert 0 < one["issues"] < fc["issues"]
    short = get(client, "/api/v1/hexbins?res=9&days=2")
    assert short["issues"] < fc["issues"] and short["window"]["to"] >= short["window"]["from"]
    pts = get(client, "/api/v1/heat/points?days=3650")
    assert pts["points"] and sum(p[2] for p in pts["points"]) >= fc["issues"]
    # built without re-validation: still exactly the declared model
    from civgrid.api.schemas import HeatPointsOut

    assert HeatPointsOut.model_validate(pts).model_dump(mode="json") == pts
    assert isinstance(pts["res"], int) and all(len(p) == 3 for p in pts["points"])


def test_the_compact_layer_reads_as_the_orm_layer_does(maps_db):
    """The compact layer reads columns without the ORM (maps.layers): the same features,
    properties and coordinates as the ORM-built layer, in both display CRSs."""
    from sqlalchemy import select

    from civgrid.grids.boundaries.store import Store
    from civgrid.grids.core.db import make_engine
    from civgrid.grids.issues.models import Issue, State
    from civgrid.maps.layers import compact_issues_geojson, issues_geojson

    store = Store(make_engine(maps_db))
    try:
        with store.session() as s:
            live = [Issue.state != State.merged]
            items = s.scalars(
                select(Issue).where(*live).order_by(Issue.reported_at.desc(), Issue.id.desc())
            ).all()
            assert len(items) > 50
            for crs in ("wgs84", "gcj02"):
                fast = compact_issues_geojson(s, live, display_crs=crs)
                slow = issues_geojson(s, items, display_crs=crs, detail=False)
                assert fast["count"] == slow["count"] == len(items)
                assert fast["features"] == slow["features"], crs
    finally:
        store.engine.dispose()
