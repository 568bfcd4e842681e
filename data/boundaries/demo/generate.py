#!/usr/bin/env python
"""Generate the synthetic demo county 社旗县 (Sheqi, Henan) for civgrid.

All geometry written by this script is **synthetic**: a seeded random outline,
a wiggly Voronoi partition and a made-up street grid. Names and the
organisational structure (townships, central communities, county-leader
contact/contract assignments, departments, command groups) follow the Sheqi
notice of 2022-03-06 (中共社旗县委 社旗县人民政府《关于建立完善文明城市常态化创建
工作机制的意见》, annexes 1-3). No personal names or phone numbers appear in
this script or in its output: county leaders are pseudonymous keys ``L01`` …
``L37`` with their official titles, worked out by hand from the annexes.

Run from the repository root::

    python data/boundaries/demo/generate.py            # rewrite data/boundaries/demo/
    python data/boundaries/demo/generate.py --out DIR  # write somewhere else

The output is byte-identical on every run (fixed seed, fixed ordering).

Method
------
Everything is built in a local transverse Mercator plane (metres, centred on
the county) and converted to WGS84 lon/lat. All area boundaries (county ring,
township edges, central-city ring, community edges) are generated once as
lines, converted to lon/lat, noded together with snap-rounding on a 1e-7
degree grid and polygonized into atomic faces; every area is the union of its
faces. Neighbours therefore share identical vertex sequences: no gaps, no
overlaps, and every child lies exactly inside its parent.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import shapely
from pyproj import Proj
from shapely.geometry import LineString, MultiPoint, Point, Polygon
from shapely.geometry.polygon import orient
from shapely.ops import substring

SEED = 20220306
GRID = 1e-7  # output precision, degrees (7 decimals)
VALID_FROM = "2022-03-06"  # date of the Sheqi notice
OUT_DIR = Path(__file__).resolve().parent

COUNTY_CODE = "411327000000"
COUNTY_NAME = "社旗县"
CITY_CODE = "411300000000"  # 南阳市
COUNTY_CENTER = (112.94, 33.05)  # lon, lat
TOWN_CENTER = (112.947, 33.056)  # county town: the three central townships meet here
COUNTY_AREA_M2 = 1.2e9
CENTRAL_AREA_M2 = 27.0e6
ZONE_RADIUS_M = 400

PROJ = Proj(
    f"+proj=tmerc +lat_0={COUNTY_CENTER[1]} +lon_0={COUNTY_CENTER[0]} +k=1 +x_0=0 +y_0=0 "
    "+ellps=WGS84 +units=m +no_defs"
)

# --------------------------------------------------------------------------------------
# Names and structure from the notice (annex 2: townships, annex 3: central communities).
# Township codes follow the usual statistical convention (streets 0xx, towns 1xx,
# townships 2xx); they are illustrative, not the official 统计用区划代码.
# --------------------------------------------------------------------------------------

#: (3-digit seq, name); 街道 → type ``street``, 镇/乡 → ``township``.
TOWNSHIPS = [
    ("001", "潘河街道"),
    ("002", "赵河街道"),
    ("100", "赊店镇"),
    ("101", "郝寨镇"),
    ("102", "饶良镇"),
    ("103", "陌陂镇"),
    ("104", "苗店镇"),
    ("105", "桥头镇"),
    ("106", "朱集镇"),
    ("107", "大冯营镇"),
    ("108", "太和镇"),
    ("109", "兴隆镇"),
    ("110", "下洼镇"),
    ("111", "晋庄镇"),
    ("112", "李店镇"),
    ("200", "唐庄乡"),
]
CENTRAL_TOWNSHIPS = ["赊店镇", "潘河街道", "赵河街道"]
#: Direction (degrees, counter-clockwise from east) of each central township's seed
#: as seen from the county town; the three Voronoi cells meet at the town centre.
CENTRAL_SEED_ANGLE = {"赊店镇": 90.0, "潘河街道": -45.0, "赵河街道": 225.0}

#: township name -> [(3-digit seq, community name)]; 社区 → ``community``, 村 → ``village``.
COMMUNITIES = {
    "赊店镇": [
        ("001", "东裕社区"),
        ("002", "牌坊社区"),
        ("003", "福寿社区"),
        ("004", "尚营社区"),
        ("005", "永安社区"),
        ("006", "老街社区"),
        ("007", "泰山社区"),
        ("008", "兴隆社区"),
    ],
    "潘河街道": [("001", "望东庄村"), ("002", "柳营村"), ("003", "双庄村")],
    "赵河街道": [("001", "河南街村"), ("002", "谭营村"), ("003", "代营村")],
}

#: County leaders, one pseudonymous key per distinct person in annexes 2 and 3, numbered
#: in order of first appearance (annex 2 rows top to bottom, then annex 3). Title and
#: command role are copied from annex 1 where the person is listed there, else the
#: neutral placeholder 县级领导. (key, title, command role, annexes)
LEADERS = [
    ("L01", "县委副书记", "常务副指挥长", "2;3"),
    ("L02", "县政府副县长", "副指挥长", "2"),
    ("L03", "县级领导", "", "2"),
    ("L04", "县人大常委会主任", "副指挥长", "2;3"),
    ("L05", "县政府副县长", "副指挥长", "2;3"),
    ("L06", "县级领导", "", "2;3"),
    ("L07", "县政协主席", "副指挥长", "2"),
    ("L08", "县级领导", "", "2"),
    ("L09", "县级领导", "", "2"),
    ("L10", "县委常委、县政府常务副县长", "副指挥长", "2;3"),
    ("L11", "县级领导", "", "2;3"),
    ("L12", "县级领导", "", "2;3"),
    ("L13", "县委常委、县委办公室主任", "副指挥长", "2;3"),
    ("L14", "县政协副主席", "副指挥长", "2;3"),
    ("L15", "县委常委、县人武部部长", "副指挥长", "2"),
    ("L16", "县级领导", "", "2"),
    ("L17", "县级领导", "", "2"),
    ("L18", "县委常委、县委组织部部长", "副指挥长", "2"),
    ("L19", "县级领导", "", "2"),
    ("L20", "县委常委、县纪委书记、县监委主任", "副指挥长", "2"),
    ("L21", "县级领导", "", "2"),
    ("L22", "县委常委、县委政法委书记", "副指挥长", "2"),
    ("L23", "县级领导", "", "2"),
    ("L24", "县委常委、县委宣传部部长、县政府副县长", "执行副指挥长、指挥部办公室主任", "2;3"),
    ("L25", "县人大常委会副主任", "副指挥长", "2"),
    ("L26", "县政府副县长", "副指挥长", "2;3"),
    ("L27", "县委常委、县委统战部部长", "副指挥长", "2;3"),
    ("L28", "县级领导", "", "2"),
    ("L29", "县级领导", "", "2"),
    ("L30", "县级领导", "", "2"),
    ("L31", "县政府副县长、县公安局局长", "副指挥长", "2;3"),
    ("L32", "县级领导", "", "2"),
    ("L33", "县级领导", "", "2"),
    ("L34", "县级领导", "", "2"),
    ("L35", "县级领导", "", "2"),
    ("L36", "县级领导", "", "2"),
    ("L37", "县二级调研员", "副指挥长", "2;3"),
]
LEADER_RANK = "县级"

#: Annex 2: township -> leader keys that contact it (联系).
CONTACTS = {
    "郝寨镇": ["L01"],
    "饶良镇": ["L02", "L03"],
    "赊店镇": ["L04", "L05", "L06"],
    "唐庄乡": ["L07", "L08", "L09"],
    "潘河街道": ["L10", "L11", "L12"],
    "赵河街道": ["L13", "L14"],
    "陌陂镇": ["L15", "L16", "L17"],
    "苗店镇": ["L18", "L19"],
    "桥头镇": ["L20", "L21"],
    "朱集镇": ["L22", "L23"],
    "大冯营镇": ["L24", "L25", "L26"],
    "太和镇": ["L27", "L28"],
    "兴隆镇": ["L29", "L30"],
    "下洼镇": ["L31", "L32", "L33"],
    "晋庄镇": ["L34", "L35"],
    "李店镇": ["L36", "L37"],
}

#: Annex 3: central community -> the one leader key that contracts it (分包).
CONTRACTS = {
    "东裕社区": "L01",
    "牌坊社区": "L04",
    "福寿社区": "L24",
    "尚营社区": "L27",
    "永安社区": "L26",
    "老街社区": "L05",
    "泰山社区": "L31",
    "兴隆社区": "L06",
    "望东庄村": "L10",
    "柳营村": "L11",
    "双庄村": "L12",
    "河南街村": "L13",
    "谭营村": "L14",
    "代营村": "L37",
}

#: County departments named in the notice (key-task units and command members).
DEPARTMENTS = [
    "县委宣传部",
    "县委政法委",
    "县城管局",
    "县公安局",
    "县市场监督管理局",
    "县教体局",
    "县住建局",
    "县农业农村局",
    "县交通运输局",
    "县卫健委",
    "县文广旅游局",
    "县民政局",
    "县水利局",
    "县应急管理局",
    "县自然资源局",
    "县退役军人事务局",
    "县政务和大数据服务中心",
    "县科协",
    "县商务局",
    "县财政局",
    "县发改委",
    "县科技工信局",
    "县乡村振兴局",
    "县融媒体中心",
]

#: "承担其他任务的单位" of the notice, used as the 县直市级以上文明单位 paired (联建)
#: one-to-one with the 14 central communities (the pairing itself is synthetic).
CIVILIZED_UNITS = [
    "县新华书店",
    "县供电公司",
    "县联通公司",
    "县移动公司",
    "县电信公司",
    "县邮政公司",
    "县农业银行",
    "县建设银行",
    "县邮储银行",
    "县农商银行",
    "县中原银行",
    "县村镇银行",
    "县中国银行",
    "县工商银行",
]

#: Command working groups (指挥部内设机构, annex 1).
COMMAND_GROUPS = [
    "综合组",
    "督查问责组",
    "宣传教育组",
    "交通秩序整治组",
    "环境卫生组",
    "乡村创建组",
    "资金保障组",
]

#: Generic property companies (synthetic placeholder names).
PROPERTY_COMPANIES = ["甲物业服务公司", "乙物业服务公司", "丙物业服务公司", "丁物业服务公司"]

SUPERVISION_TEAMS = ["第一督查组", "第二督查组", "第三督查组", "第四督查组"]
#: Team leaders (synthetic: county leaders without a contracted community), members by
#: role (counts, never names) and capacity in inspection visits per working day.
TEAM_LEADERS = ["L20", "L22", "L25", "L15"]
TEAM_MEMBERS = "组长:1;组员:3;联络员:1"
TEAM_CAPACITY = 4

# Street grid of the county town (synthetic). N-S roads west→east, E-W roads south→north.
NS_ROADS = ["建设路", "红旗路", "人民路", "长春路", "新华路", "香山路", "工业路"]
EW_ROADS = ["育才路", "光明路", "和平路", "文化路", "中兴路", "团结路"]
STATION_ROAD = "站前大道"  # continues 和平路 east of 工业路 to the HSR station
NS_SPACING_M = 550.0
EW_SPACING_M = 560.0
GRID_ROTATION_DEG = 8.0

#: Leaders who are road chiefs (路长) of one north-south road each (all its sections).
#: Lüliang (001) inspects "《市委常委包路段 责任单位包落实 推动文明城市创建的实施方案》";
#: the county analogue is 县委常委包路段. Which leaders and roads: a local choice.
LEADER_ROADS = [
    ("L15", "建设路"),
    ("L18", "红旗路"),
    ("L22", "人民路"),
    ("L24", "长春路"),
    ("L27", "新华路"),
    ("L31", "香山路"),
]

#: The responsible person of each kind of assignment, by title (never a name):
#: (object layer, role, unit-grid kind or "") → title.
PERSON_TITLES = {
    ("unit_grid", "responsible", "compound"): "物业经理",
    ("unit_grid", "responsible", "building_yard"): "网格长",
    ("unit_grid", "responsible", "back_street"): "网格长",
    ("unit_grid", "responsible", "institution_yard"): "院落负责人",
    ("unit_grid", "responsible", "intersection"): "路长",
    ("road_section", "road_chief", ""): "路长",
    ("road_section", "responsible", ""): "路段责任人",
    ("key_site", "lead", ""): "点位负责人",
    ("key_site", "responsible", ""): "点位负责人",
}

UNIT_GRID_KINDS = {
    "compound": "小区",
    "building_yard": "楼院",
    "institution_yard": "机关庭院",
    "back_street": "背街小巷",
    "intersection": "路口",
}

KEY_SITE_KINDS = {
    "market": "农贸市场",
    "bus_station": "汽车站",
    "hsr_station": "高铁站",
    "school": "学校",
    "hospital": "医院",
    "park": "公园",
    "square": "广场",
    "public_toilet": "公共厕所",
    "commercial_complex": "商业综合体",
    "government_service": "政务服务中心",
}

#: kind -> (lead department, [responsible departments]); markets follow the notice's
#: 农贸市场提升行动 (lead 县城管局; responsible 县市场监督管理局, 县农业农村局 and the street
#: office of the market's township).
KEY_SITE_DUTIES = {
    "market": ("县城管局", ["县市场监督管理局", "县农业农村局"]),
    "bus_station": ("县交通运输局", ["县交通运输局"]),
    "hsr_station": ("县交通运输局", ["县交通运输局", "县公安局"]),
    "school": ("县教体局", ["县教体局"]),
    "hospital": ("县卫健委", ["县卫健委"]),
    "park": ("县城管局", ["县城管局"]),
    "square": ("县城管局", ["县城管局"]),
    "public_toilet": ("县城管局", ["县城管局"]),
    "commercial_complex": ("县商务局", ["县市场监督管理局"]),
    "government_service": ("县政务和大数据服务中心", ["县政务和大数据服务中心"]),
}

CN_DIGITS = "一二三四五六七八九十"

# --------------------------------------------------------------------------------------
# The countryside and the shops (synthetic; added after the first release, built without
# the random generator so every earlier layer stays byte-identical).
# --------------------------------------------------------------------------------------

#: The rural team (乡村督查组) covering the 13 rural townships: name, leader key (a
#: county leader without a team or a contracted community), capacity per working day.
RURAL_TEAM = ("第五督查组", "L28", 4)
#: Township seats (乡镇政府驻地) are key sites of this kind; the town government leads.
SEAT_KIND = ("township_seat", "乡镇政府驻地")
#: Through roads (过境公路) of the rural townships: the road-chief unit (a department).
THROUGH_ROAD_CHIEF = "县交通运输局"
#: Commercial streets (商业街) with street-front shops (门前五包), and the sections used
#: (the middle ones, by index along the road).
SHOP_STREETS = {"人民路": (1, 2, 3), "中兴路": (2, 3, 4)}
SHOP_SPACING_M = 60.0  # metres between shops along a section
SHOP_OFFSET_M = 12.0  # frontage line: metres from the road's centre line
SHOP_FRONTAGE_M = 14.0  # frontage length, metres
SHOP_CLEAR_M = 60.0  # no shop within this many metres of a section's ends (crossings)
#: Generic trades for generic shop names (门牌 + trade; no real business names).
SHOP_TRADES = ["便利店", "餐馆", "理发店", "五金店", "药店", "服装店", "水果店", "茶叶店"]
#: The five duties (002: "包洁化、包绿化、包秩序、包立面、包文明").
SHOP_DUTIES = ("clean", "green", "order", "facade", "civility")
#: 城管 enforcement squads (城管网格员所在单位) of the central townships, under 县城管局.
ENFORCEMENT_SQUADS = {"赊店镇": "县城管局赊店中队", "潘河街道": "县城管局潘河中队",
                      "赵河街道": "县城管局赵河中队"}  # fmt: skip


# --------------------------------------------------------------------------------------
# Geometry helpers (metric plane: local tmerc, metres; output: WGS84 lon/lat degrees)
# --------------------------------------------------------------------------------------


def to_lonlat(geom):
    """Convert a geometry from the local metric plane (m) to WGS84 lon/lat (degrees)."""

    def f(xy):
        lon, lat = PROJ(xy[:, 0], xy[:, 1], inverse=True)
        return np.column_stack([lon, lat])

    return shapely.transform(geom, f)


def to_metric(geom):
    """Convert a geometry from WGS84 lon/lat (degrees) to the local metric plane (m)."""

    def f(xy):
        x, y = PROJ(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, f)


def snap(geom):
    """Round a lon/lat geometry onto the 1e-7 degree output grid."""
    return shapely.set_precision(geom, GRID)


def xy_of(lonlat):
    """Metric x/y (m) of a lon/lat pair."""
    x, y = PROJ(lonlat[0], lonlat[1])
    return float(x), float(y)


def radial_ring(center, area_m2, rng, *, n, sigma, kmax, decay):
    """A star-shaped wiggly polygon around ``center`` with the given area (m²)."""
    theta = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    k = np.arange(2, kmax + 1, dtype=float)
    amp = rng.normal(0.0, sigma, k.size) * k**-decay
    phase = rng.uniform(0.0, 2.0 * np.pi, k.size)
    log_r = (amp[:, None] * np.cos(k[:, None] * theta[None, :] + phase[:, None])).sum(axis=0)
    r = np.exp(log_r)
    x, y = r * np.cos(theta), r * np.sin(theta)
    area = 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
    s = math.sqrt(area_m2 / area)
    return Polygon(np.column_stack([center[0] + s * x, center[1] + s * y]))


def wiggle(p, q, rng, *, amp_frac, amp_max, spacing):
    """A wiggly polyline from ``p`` to ``q`` (metres); the endpoints stay exactly fixed.

    The offset is a random sine series, zero at both ends, scaled so its largest
    excursion is ``min(amp_frac * length, amp_max)``.
    """
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    d = q - p
    length = float(np.hypot(*d))
    n = max(math.ceil(length / spacing), 2)
    t = np.linspace(0.0, 1.0, n + 1)
    kmax = max(4, int(length / 500.0))
    k = np.arange(1, kmax + 1, dtype=float)
    b = rng.normal(0.0, 1.0, k.size) * k**-1.3
    off = (b[:, None] * np.sin(np.pi * k[:, None] * t[None, :])).sum(axis=0)
    off *= min(amp_frac * length, amp_max) / max(float(np.abs(off).max()), 1e-9)
    normal = np.array([-d[1], d[0]]) / length
    pts = p[None, :] + t[:, None] * d[None, :] + off[:, None] * normal[None, :]
    pts[0], pts[-1] = p, q
    return LineString(pts)


def voronoi_edge_list(seeds, frame):
    """Straight Voronoi edges of ``seeds`` clipped to ``frame``, canonical and sorted."""
    edges = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=frame, only_edges=True)
    out = set()
    for e in edges.geoms:
        c = e.intersection(frame)
        if c.is_empty or c.length < 1.0:
            continue
        a, b = (tuple(round(v, 6) for v in pt) for pt in (c.coords[0], c.coords[-1]))
        out.add((a, b) if a <= b else (b, a))
    return sorted(out)


def label_faces(faces, seeds):
    """Label polygonized faces with the index of the seed they contain.

    Faces without a seed (fragments cut off by wiggles) take the label of the
    labelled neighbour they share the longest boundary with.
    """
    labels = [None] * len(faces)
    for i, f in enumerate(faces):
        inside = [j for j, s in enumerate(seeds) if f.contains(Point(s))]
        assert len(inside) <= 1, "a face contains several seeds"
        if inside:
            labels[i] = inside[0]
    while any(lab is None for lab in labels):
        progress = False
        for i, f in enumerate(faces):
            if labels[i] is not None:
                continue
            best, best_len = None, 0.0
            for j, g in enumerate(faces):
                if labels[j] is None or not f.touches(g):
                    continue
                shared = f.boundary.intersection(g.boundary).length
                if shared > best_len:
                    best, best_len = labels[j], shared
            if best is not None:
                labels[i] = best
                progress = True
        assert progress, "unlabelled faces without labelled neighbours"
    return labels


def polygonize_lines(lines, grid_size=None, within=None):
    """Node ``lines`` (optionally snap-rounded) and polygonize; keep faces inside ``within``."""
    noded = shapely.union_all(lines, grid_size=grid_size)
    faces = list(shapely.polygonize(list(shapely.get_parts(noded))).geoms)
    if within is not None:
        faces = [f for f in faces if within.contains(f.representative_point())]
    return faces


def dissolve(faces):
    """Union faces on the output grid; must give one simple polygon."""
    g = shapely.union_all(faces, grid_size=GRID)
    assert g.geom_type == "Polygon", g.geom_type
    return orient(g, 1.0)


def rect(cx, cy, w, h, angle_deg):
    """Rectangle (metres) centred at (cx, cy), width w along the rotated x axis."""
    a = math.radians(angle_deg)
    ca, sa = math.cos(a), math.sin(a)
    pts = []
    for dx, dy in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)):
        pts.append((cx + dx * ca - dy * sa, cy + dx * sa + dy * ca))
    return Polygon(pts)


def grid_frame(u, v, origin):
    """Metric x/y of street-grid coordinates (u east-ish, v north-ish) around ``origin``."""
    a = math.radians(GRID_ROTATION_DEG)
    ca, sa = math.cos(a), math.sin(a)
    return origin[0] + u * ca - v * sa, origin[1] + u * sa + v * ca


# --------------------------------------------------------------------------------------
# Building the layers
# --------------------------------------------------------------------------------------


def build_areas(rng):
    """County, townships, central city and communities (lon/lat, on the output grid)."""
    cc = (0.0, 0.0)  # county centre in the local plane
    town = xy_of(TOWN_CENTER)
    county_m = radial_ring(cc, COUNTY_AREA_M2, rng, n=2000, sigma=0.40, kmax=200, decay=1.45)
    assert county_m.is_valid

    # township seeds: three around the town centre (their cells meet there), 13 outside
    seeds = {}
    for name in CENTRAL_TOWNSHIPS:
        a = math.radians(CENTRAL_SEED_ANGLE[name])
        seeds[name] = (town[0] + 4000.0 * math.cos(a), town[1] + 4000.0 * math.sin(a))
    outer = [name for _, name in TOWNSHIPS if name not in CENTRAL_TOWNSHIPS]
    outer_xy = relaxed_outer_seeds(county_m, [seeds[n] for n in CENTRAL_TOWNSHIPS], town, rng)
    for name, xy in zip(outer, outer_xy, strict=True):
        seeds[name] = xy
    names = [name for _, name in TOWNSHIPS]
    seed_xy = [seeds[n] for n in names]
    for s in seed_xy:
        assert county_m.contains(Point(s))

    frame = county_m.envelope.buffer(3000.0, join_style="mitre")
    t_lines = []
    for a, b in voronoi_edge_list(seed_xy, frame):
        w = wiggle(a, b, rng, amp_frac=0.06, amp_max=450.0, spacing=150.0)
        c = w.intersection(county_m.buffer(30.0))
        if not c.is_empty:
            t_lines.extend(shapely.get_parts(c))
    faces = polygonize_lines([county_m.exterior, *t_lines], within=county_m)
    labels = label_faces(faces, seed_xy)
    t_label_m = {
        names[k]: shapely.union_all([f for f, lab in zip(faces, labels, strict=True) if lab == k])
        for k in range(len(names))
    }

    # central city around the town, split by township, then into communities
    central_m = radial_ring(town, CENTRAL_AREA_M2, rng, n=720, sigma=0.10, kmax=40, decay=1.2)
    c_lines = []
    c_label_m = {}
    for tname in CENTRAL_TOWNSHIPS:
        piece = t_label_m[tname].intersection(central_m)
        assert piece.geom_type == "Polygon", (tname, piece.geom_type)
        cnames = [n for _, n in COMMUNITIES[tname]]
        cseeds = lloyd_seeds(piece, len(cnames), rng)
        cseeds = order_community_seeds(cseeds, town)
        pframe = piece.envelope.buffer(300.0, join_style="mitre")
        lines = []
        for a, b in voronoi_edge_list(cseeds, pframe):
            w = wiggle(a, b, rng, amp_frac=0.05, amp_max=70.0, spacing=40.0)
            c = w.intersection(piece.buffer(5.0))
            if not c.is_empty:
                lines.extend(shapely.get_parts(c))
        cfaces = polygonize_lines([piece.exterior, *lines], within=piece)
        clabels = label_faces(cfaces, cseeds)
        for k, cname in enumerate(cnames):
            c_label_m[cname] = shapely.union_all(
                [f for f, lab in zip(cfaces, clabels, strict=True) if lab == k]
            )
        c_lines.extend(lines)

    # one noding of all boundaries, in lon/lat on the output grid
    all_lines = [county_m.exterior, *t_lines, central_m.exterior, *c_lines]
    all_ll = [to_lonlat(g) for g in all_lines]
    county_ll_raw = to_lonlat(county_m)
    atoms = polygonize_lines(all_ll, grid_size=GRID)
    t_label_ll = {k: to_lonlat(v) for k, v in t_label_m.items()}
    c_label_ll = {k: to_lonlat(v) for k, v in c_label_m.items()}
    central_ll_raw = to_lonlat(central_m)

    t_faces = defaultdict(list)
    c_faces = defaultdict(list)
    for f in atoms:
        a = f.area
        if f.intersection(county_ll_raw).area < 0.5 * a:
            continue  # outside the county (overshooting line ends)
        tname = max(t_label_ll, key=lambda n: f.intersection(t_label_ll[n]).area)
        t_faces[tname].append(f)
        if f.intersection(central_ll_raw).area > 0.5 * a:
            cname = max(c_label_ll, key=lambda n: f.intersection(c_label_ll[n]).area)
            assert f.intersection(c_label_ll[cname]).area > 0.5 * a
            assert cname in [n for _, n in COMMUNITIES[tname]], (cname, tname)
            c_faces[cname].append(f)

    county = dissolve([f for fs in t_faces.values() for f in fs])
    townships = {n: dissolve(t_faces[n]) for n in names}
    communities = {n: dissolve(fs) for n, fs in c_faces.items()}
    central = dissolve([f for fs in c_faces.values() for f in fs])
    for g in [county, central, *townships.values(), *communities.values()]:
        assert g.is_valid and not g.interiors
    return county, townships, central, communities


def relaxed_outer_seeds(county_m, fixed, town, rng, n=13, iterations=25, keep_out=8000.0):
    """Seeds of the outer townships: Lloyd-relaxed in the county around ``fixed`` seeds.

    Outer seeds stay at least ``keep_out`` metres from the town centre so the
    three central cells keep meeting exactly at the town centre. Returned in
    clockwise order starting from north.
    """
    minx, miny, maxx, maxy = county_m.bounds
    pts = []
    while len(pts) < n:
        p = (rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if county_m.contains(Point(p)) and math.dist(p, town) > keep_out:
            pts.append(p)
    frame = county_m.envelope.buffer(5000.0)
    for _ in range(iterations):
        cells = shapely.voronoi_polygons(MultiPoint([*fixed, *pts]), extend_to=frame, ordered=True)
        new = []
        for cell in list(cells.geoms)[len(fixed) :]:
            c = cell.intersection(county_m).centroid
            d = math.dist((c.x, c.y), town)
            if d < keep_out:
                f = keep_out / d
                c = Point(town[0] + (c.x - town[0]) * f, town[1] + (c.y - town[1]) * f)
            new.append((c.x, c.y))
        pts = new
    pts.sort(key=lambda p: (math.pi / 2 - math.atan2(p[1] - town[1], p[0] - town[0])) % math.tau)
    return pts


def lloyd_seeds(piece, n, rng, iterations=12):
    """``n`` well-spread seeds inside ``piece`` (Lloyd relaxation of random points)."""
    minx, miny, maxx, maxy = piece.bounds
    pts = []
    while len(pts) < n:
        p = (rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if piece.contains(Point(p)):
            pts.append(p)
    frame = piece.envelope.buffer(1000.0)
    for _ in range(iterations):
        cells = shapely.voronoi_polygons(MultiPoint(pts), extend_to=frame, ordered=True)
        new = []
        for cell in cells.geoms:
            c = cell.intersection(piece)
            q = c.centroid if c.centroid.within(piece) else c.representative_point()
            new.append((q.x, q.y))
        pts = new
    return pts


def order_community_seeds(pts, town):
    """Seed order for naming: the seed nearest the town centre first, then by angle."""
    d = [math.hypot(x - town[0], y - town[1]) for x, y in pts]
    first = int(np.argmin(d))
    rest = [p for i, p in enumerate(pts) if i != first]
    rest.sort(key=lambda p: math.atan2(p[1] - town[1], p[0] - town[0]))
    # 老街社区 (old street) is the sixth name of 赊店镇; put the central seed there.
    return [*rest[:5], pts[first], *rest[5:]] if len(pts) == 8 else [pts[first], *rest]


def build_roads(rng, central_m):
    """Street grid of the county town (metres): roads, crossings and sections."""
    town = xy_of(TOWN_CENTER)
    nu, nv = len(NS_ROADS), len(EW_ROADS)
    us = [(i - (nu - 1) / 2) * NS_SPACING_M + rng.uniform(-60, 60) for i in range(nu)]
    vs = [(j - (nv - 1) / 2) * EW_SPACING_M + rng.uniform(-60, 60) for j in range(nv)]
    over = 80.0
    roads = {}

    def road_line(fixed, lo, hi, ns):
        s = np.linspace(lo, hi, 40)
        k = np.arange(1, 4, dtype=float)
        b = rng.normal(0, 1, 3) * k**-1.5
        off = (b[:, None] * np.sin(np.pi * k[:, None] * (s - lo)[None, :] / (hi - lo))).sum(0)
        off *= 25.0 / max(float(np.abs(off).max()), 1e-9)
        if ns:
            pts = [grid_frame(fixed + o, v, town) for v, o in zip(s, off, strict=True)]
        else:
            pts = [grid_frame(u, fixed + o, town) for u, o in zip(s, off, strict=True)]
        return LineString(pts)

    for i, name in enumerate(NS_ROADS):
        roads[name] = road_line(us[i], vs[0] - over, vs[-1] + over, True)
    for j, name in enumerate(EW_ROADS):
        roads[name] = road_line(vs[j], us[0] - over, us[-1] + over, False)

    crossings = {}
    for a in NS_ROADS:
        for b in EW_ROADS:
            p = roads[a].intersection(roads[b])
            assert p.geom_type == "Point"
            crossings[(a, b)] = p

    sections = []  # (road, from, to, LineString metres)

    def cut(road, names_along, key):
        line = roads[road]
        pts = [crossings[key(o)] for o in names_along]
        d = [line.project(p) for p in pts]
        assert d == sorted(d)
        for k in range(len(pts) - 1):
            seg = substring(line, d[k], d[k + 1])
            coords = list(seg.coords)
            coords[0], coords[-1] = pts[k].coords[0], pts[k + 1].coords[0]
            sections.append((road, names_along[k], names_along[k + 1], LineString(coords)))

    for a in NS_ROADS:
        cut(a, EW_ROADS, lambda b, a=a: (a, b))
    for b in EW_ROADS:
        cut(b, NS_ROADS, lambda a, b=b: (a, b))

    # 站前大道: 和平路 continued east from 工业路 to the HSR station
    start = crossings[(NS_ROADS[-1], EW_ROADS[2])]
    su = us[-1]
    station_xy = grid_frame(su + 2700.0, vs[2] - 150.0, town)
    mid = grid_frame(su + 1300.0, vs[2] - 40.0, town)
    station_line = LineString([start.coords[0], mid, station_xy])
    sections.append((STATION_ROAD, NS_ROADS[-1], "城东高铁站", station_line))
    roads[STATION_ROAD] = station_line
    for road, _, _, line in sections:
        if road != STATION_ROAD:
            assert central_m.contains(line), road
    return roads, crossings, sections, Point(station_xy)


def nearest_road(roads, p):
    """Name and distance (m) of the grid road nearest to point ``p`` (metres)."""
    best = min((r for r in roads if r != STATION_ROAD), key=lambda r: roads[r].distance(p))
    return best, roads[best].distance(p)


def build_key_sites(rng, central_m, roads, sections, station):
    """Key sites (metres): list of (name, kind, geometry)."""
    town = xy_of(TOWN_CENTER)
    road_zone = shapely.union_all([line for *_, line in sections]).buffer(15.0)
    shapely.prepare(road_zone)
    inner = central_m.buffer(-150.0)
    shapely.prepare(inner)
    placed = []

    def free(g, gap):
        return all(g.distance(o) >= gap for _, _, o in placed)

    def add(name, kind, g):
        placed.append((name, kind, g))

    # named markets from the notice
    xs = [s for s in sections if s[0] == "香山路"]
    line = xs[len(xs) // 2][3]
    p = line.interpolate(0.5, normalized=True)
    q = line.interpolate(0.5 + 10.0 / line.length, normalized=True)
    dx, dy = q.x - p.x, q.y - p.y
    n = math.hypot(dx, dy)
    cx, cy = p.x - dy / n * 70.0, p.y + dx / n * 70.0
    add("香山路农贸市场", "market", rect(cx, cy, 70, 95, GRID_ROTATION_DEG))
    for k in range(200):
        r, a = 150.0 + 5 * k, rng.uniform(0, 2 * math.pi)
        g = rect(town[0] + r * math.cos(a), town[1] + r * math.sin(a), 100, 85, GRID_ROTATION_DEG)
        if not g.intersects(road_zone) and free(g, 80.0):
            add("县中心农贸市场", "market", g)
            break
    else:
        raise AssertionError("no place for 县中心农贸市场")
    add("城东高铁站", "hsr_station", station)

    # toilets along roads
    toilet_roads = [*NS_ROADS, *EW_ROADS][:12]
    for road in toilet_roads:
        line = roads[road]
        for _ in range(200):
            t = rng.uniform(0.15, 0.85)
            p = line.interpolate(t, normalized=True)
            q = line.interpolate(t + 0.01, normalized=True)
            dx, dy = q.x - p.x, q.y - p.y
            n = math.hypot(dx, dy)
            side = 1 if rng.uniform() < 0.5 else -1
            g = Point(p.x - side * dy / n * 18.0, p.y + side * dx / n * 18.0)
            if free(g, 150.0):
                add(f"{road}公共厕所", "public_toilet", g)
                break
        else:
            raise AssertionError(road)

    generic = [
        ("城东农贸市场", "market", (95, 80)),
        ("城南农贸市场", "market", (90, 75)),
        ("城西农贸市场", "market", (85, 80)),
        ("县汽车站", "bus_station", None),
        ("城东公交首末站", "bus_station", None),
        ("城西公交首末站", "bus_station", None),
        ("县实验高级中学", "school", None),
        ("县第一初级中学", "school", None),
        ("县第二初级中学", "school", None),
        ("县实验小学", "school", None),
        ("县第一小学", "school", None),
        ("县第二小学", "school", None),
        ("县第三小学", "school", None),
        ("县职业中等专业学校", "school", None),
        ("县人民医院", "hospital", None),
        ("县中医院", "hospital", None),
        ("县妇幼保健院", "hospital", None),
        ("人民公园", "park", (260, 210)),
        ("赵河滨河公园", "park", (320, 160)),
        ("潘河湿地公园", "park", (300, 200)),
        ("文化广场", "square", (160, 120)),
        ("人民广场", "square", (150, 130)),
        ("中心商业综合体", "commercial_complex", None),
        ("城东购物中心", "commercial_complex", None),
        ("城南商业街区", "commercial_complex", None),
        ("县政务服务中心", "government_service", None),
        ("县便民服务中心", "government_service", None),
    ]
    minx, miny, maxx, maxy = inner.bounds
    for name, kind, size in generic:
        for _ in range(5000):
            x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
            if size is None:
                g = Point(x, y)
                ok = inner.contains(g) and not road_zone.contains(g)
                gap = 200.0
            else:
                g = rect(x, y, size[0], size[1], GRID_ROTATION_DEG + rng.uniform(-4, 4))
                ok = inner.contains(g) and not g.intersects(road_zone)
                gap = 120.0
            if ok and free(g, gap):
                add(name, kind, g)
                break
        else:
            raise AssertionError(name)
    return placed


def build_unit_grids(rng, communities_m, roads, crossings, key_sites_m):
    """Unit grids (metres): {community name: [(kind, name, polygon)]}."""
    road_zone = shapely.union_all([r for n, r in roads.items() if n != STATION_ROAD]).buffer(20.0)
    shapely.prepare(road_zone)
    site_zone = shapely.union_all([g.buffer(30.0) for _, _, g in key_sites_m])
    shapely.prepare(site_zone)
    counters = defaultdict(int)
    out = {}
    order = [cn for t in CENTRAL_TOWNSHIPS for _, cn in COMMUNITIES[t]]
    used_crossings = set()
    for cname in order:
        cm = communities_m[cname]
        inner = cm.buffer(-8.0)
        shapely.prepare(inner)
        grids = []

        def free(g, grids=grids):
            return all(g.distance(o) >= 6.0 for _, _, o in grids)

        # one intersection (路口) if a crossing lies well inside the community
        for (a, b), p in sorted(crossings.items(), key=lambda kv: kv[0]):
            if (a, b) in used_crossings:
                continue
            g = rect(p.x, p.y, 80.0, 80.0, GRID_ROTATION_DEG)
            if inner.contains(g):
                grids.append(("intersection", f"{a}与{b}交叉口", g))
                used_crossings.add((a, b))
                break
        kinds = ["compound"] * 4 + ["building_yard"] * 2 + ["institution_yard"]
        kinds += ["back_street"] * 2
        if not grids:
            kinds.insert(0, "compound")
        minx, miny, maxx, maxy = inner.bounds
        n_compound = 0
        for kind in kinds:
            for _ in range(20000):
                x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
                ang = GRID_ROTATION_DEG + rng.uniform(-5.0, 5.0)
                if kind == "compound":
                    w, h = rng.uniform(85, 140), rng.uniform(75, 125)
                elif kind == "building_yard":
                    w, h = rng.uniform(72, 110), rng.uniform(72, 105)
                elif kind == "institution_yard":
                    w, h = rng.uniform(80, 120), rng.uniform(75, 115)
                else:
                    w, h = rng.uniform(290, 400), rng.uniform(19, 24)
                    if rng.uniform() < 0.5:
                        ang += 90.0
                g = rect(x, y, w, h, ang)
                if (
                    inner.contains(g)
                    and not g.intersects(road_zone)
                    and not g.intersects(site_zone)
                    and free(g)
                ):
                    break
            else:
                raise AssertionError((cname, kind))
            road, dist = nearest_road(roads, g.centroid)
            base = road if dist < 400.0 else cname
            if kind == "compound":
                n_compound += 1
                name = f"{cname}第{n_compound}小区"
            elif kind == "building_yard":
                counters[(base, kind)] += 1
                name = f"{base}{counters[(base, kind)]}号楼院"
            elif kind == "institution_yard":
                counters[(base, kind)] += 1
                name = f"{base}{counters[(base, kind)]}号机关庭院"
            else:
                counters[(base, kind)] += 1
                name = f"{base}背街{CN_DIGITS[counters[(base, kind)] - 1]}巷"
            grids.append((kind, name, g))
        out[cname] = grids
    return out


# --------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------


def _coords(seq):
    return [[round(x, 7), round(y, 7)] for x, y in seq]


def geometry_json(g):
    """GeoJSON geometry dict of a lon/lat shapely geometry (7 decimals, CCW shells)."""
    if g.geom_type == "Point":
        return {"type": "Point", "coordinates": [round(g.x, 7), round(g.y, 7)]}
    if g.geom_type == "LineString":
        return {"type": "LineString", "coordinates": _coords(g.coords)}
    if g.geom_type == "Polygon":
        g = orient(g, 1.0)
        rings = [g.exterior, *g.interiors]
        return {"type": "Polygon", "coordinates": [_coords(r.coords) for r in rings]}
    raise ValueError(g.geom_type)


def write_geojson(path, layer, features):
    """Write a FeatureCollection, one feature per line, sorted by ``code``."""
    meta = {
        "synthetic": True,
        "generator": "data/boundaries/demo/generate.py",
        "seed": SEED,
        "crs": "EPSG:4326 (WGS84 lon/lat, degrees)",
        "source": "社旗县 2022-03-06 文明城市常态化创建工作机制意见 附件1-3 (names only)",
    }
    features = sorted(features, key=lambda f: f[0]["code"])
    head = json.dumps(
        {"type": "FeatureCollection", "name": layer, "civgrid": meta},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    lines = [head[:-1] + ',"features":[']
    for i, (props, geom) in enumerate(features):
        feat = {
            "type": "Feature",
            "id": props["code"],
            "properties": props,
            "geometry": geometry_json(geom),
        }
        s = json.dumps(feat, ensure_ascii=False, separators=(",", ":"))
        lines.append(s + ("," if i < len(features) - 1 else ""))
    lines.append("]}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_csv(path, header, rows):
    """Write a UTF-8 CSV with ``\\n`` line endings."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def locate(p_ll, areas):
    """Code of the first area (dict code -> polygon) containing lon/lat point ``p_ll``."""
    for code, g in areas.items():
        if g.contains(p_ll):
            return code
    return ""


def generate(out_dir: Path) -> dict[str, int]:
    """Build every layer and write it into ``out_dir``.

    Parameters
    ----------
    out_dir : Path
        Target directory (created if missing).

    Returns
    -------
    dict of str to int
        Feature/row count per written file.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)

    county, townships, central, communities = build_areas(rng)
    central_m = to_metric(central)
    roads, crossings, sections_m, station_m = build_roads(rng, central_m)

    t_code = {n: f"411327{seq}000" for seq, n in TOWNSHIPS}
    t_type = {n: ("street" if n.endswith("街道") else "township") for _, n in TOWNSHIPS}
    c_code, c_parent, c_type = {}, {}, {}
    for tname, items in COMMUNITIES.items():
        for seq, cname in items:
            c_code[cname] = t_code[tname][:9] + seq
            c_parent[cname] = tname
            c_type[cname] = "village" if cname.endswith("村") else "community"

    comm_by_code = {c_code[n]: g for n, g in communities.items()}
    town_by_code = {t_code[n]: g for n, g in townships.items()}

    # ---- units -------------------------------------------------------------------
    units = []  # key, kind, name, area_code, parent_key, origin
    dept_key = {}
    for i, name in enumerate(DEPARTMENTS, 1):
        dept_key[name] = f"D{i:02d}"
        units.append((f"D{i:02d}", "department", name, "", "", "notice"))
    so_key = {}
    for i, (_, tname) in enumerate(TOWNSHIPS, 1):
        office = f"{tname}办事处" if tname.endswith("街道") else f"{tname}人民政府"
        so_key[tname] = f"SO{i:02d}"
        units.append((f"SO{i:02d}", "street_office", office, t_code[tname], "", "derived"))
    cm_key, cu_key = {}, {}
    comm_order = [cn for t in CENTRAL_TOWNSHIPS for _, cn in COMMUNITIES[t]]
    for i, cname in enumerate(comm_order, 1):
        suffix = "村民委员会" if c_type[cname] == "village" else "居民委员会"
        committee = f"{cname}{suffix}"
        cm_key[cname] = f"CM{i:02d}"
        units.append(
            (f"CM{i:02d}", "community_committee", committee, c_code[cname],
             so_key[c_parent[cname]], "derived")
        )  # fmt: skip
    for i, name in enumerate(CIVILIZED_UNITS, 1):
        units.append((f"CU{i:02d}", "civilized_unit", name, "", "", "notice"))
        cu_key[comm_order[i - 1]] = f"CU{i:02d}"
    for i, name in enumerate(PROPERTY_COMPANIES, 1):
        units.append((f"PC{i:02d}", "property_company", name, "", "", "synthetic"))
    cg_key = {}
    for i, name in enumerate(COMMAND_GROUPS, 1):
        cg_key[name] = f"CG{i:02d}"
        units.append((f"CG{i:02d}", "command_group", name, "", "", "notice"))
    for i, name in enumerate(SUPERVISION_TEAMS, 1):
        parent = cg_key["督查问责组"]
        units.append((f"ST{i:02d}", "supervision_team", name, "", parent, "synthetic"))

    assignments = []  # subject_kind, subject_key, role, object_layer, object_code, basis

    def assign(kind, key, role, layer, code, basis, grid_kind=""):
        person = PERSON_TITLES.get((layer, role, grid_kind), "")
        assignments.append((kind, key, role, layer, code, VALID_FROM, basis, person))

    for tname, keys in CONTACTS.items():
        for k in keys:
            assign("leader", k, "contact", "township", t_code[tname], "annex2")
    for cname, k in CONTRACTS.items():
        assign("leader", k, "contract", "community", c_code[cname], "annex3")
    for cname in comm_order:
        assign("unit", cu_key[cname], "pairing", "community", c_code[cname], "synthetic")
        assign("unit", cm_key[cname], "responsible", "community", c_code[cname], "derived")
    for tname, key in so_key.items():
        assign("unit", key, "responsible", "township", t_code[tname], "derived")

    # ---- road sections -----------------------------------------------------------
    rs_features = []
    for i, (road, a, b, line_m) in enumerate(sections_m, 1):
        code = f"RS{i:03d}"
        line = snap(to_lonlat(line_m))
        mid = line.interpolate(0.5, normalized=True)
        dept = DEPARTMENTS[(i - 1) % len(DEPARTMENTS)]
        props = {
            "code": code,
            "name": f"{road}({a}—{b})",
            "road": road,
            "extent": f"{a}—{b}",
            "layer": "road_section",
            "road_chief_unit": dept_key[dept],
            "township_code": locate(mid, town_by_code),
            "community_code": locate(mid, comm_by_code),
        }
        rs_features.append((props, line))
        assign("unit", dept_key[dept], "road_chief", "road_section", code, "synthetic")
        assign("unit", dept_key[dept], "responsible", "road_section", code, "synthetic")
    for leader, road in LEADER_ROADS:  # 县委常委包路段 (cf. 001)
        for i, (r, *_) in enumerate(sections_m, 1):
            if r == road:
                assign("leader", leader, "road_chief", "road_section", f"RS{i:03d}", "synthetic")

    # ---- key sites ---------------------------------------------------------------
    sites_m = build_key_sites(rng, central_m, roads, sections_m, station_m)
    ks_features = []
    for i, (name, kind, g_m) in enumerate(sites_m, 1):
        code = f"KS{i:03d}"
        g = snap(to_lonlat(g_m))
        p = g if g.geom_type == "Point" else g.representative_point()
        tcode = locate(p, town_by_code)
        lead, resp = KEY_SITE_DUTIES[kind]
        props = {
            "code": code,
            "name": name,
            "kind": kind,
            "kind_zh": KEY_SITE_KINDS[kind],
            "layer": "key_site",
            "zone_radius_m": ZONE_RADIUS_M,
            "lead_unit": dept_key[lead],
            "responsible_unit": dept_key[resp[0]],
            "township_code": tcode,
            "community_code": locate(p, comm_by_code),
        }
        ks_features.append((props, g))
        basis = "notice" if kind == "market" else "synthetic"
        assign("unit", dept_key[lead], "lead", "key_site", code, basis)
        for r in resp:
            assign("unit", dept_key[r], "responsible", "key_site", code, basis)
        if kind == "market":
            tname = next(n for n, c in t_code.items() if c == tcode)
            assign("unit", so_key[tname], "responsible", "key_site", code, "notice")

    # ---- unit grids --------------------------------------------------------------
    communities_m = {n: to_metric(g) for n, g in communities.items()}
    grids_m = build_unit_grids(rng, communities_m, roads, crossings, sites_m)
    ug_features = []
    n_compound = 0
    for cname in comm_order:
        for j, (kind, name, g_m) in enumerate(grids_m[cname], 1):
            g = snap(to_lonlat(g_m))
            assert communities[cname].contains(g)
            code = f"{c_code[cname]}{j:03d}"
            props = {
                "code": code,
                "name": name,
                "type": "unit_grid",
                "layer": "unit_grid",
                "kind": kind,
                "kind_zh": UNIT_GRID_KINDS[kind],
                "parent_code": c_code[cname],
            }
            ug_features.append((props, g))
            # every unit grid has a responsible unit (local choices, see MANIFEST.md)
            if kind == "compound":
                pc = f"PC{n_compound % len(PROPERTY_COMPANIES) + 1:02d}"
                n_compound += 1
                holder, basis = pc, "synthetic"
            elif kind in ("building_yard", "back_street"):
                holder, basis = cm_key[cname], "derived"
            elif kind == "institution_yard":
                holder, basis = cu_key[cname], "synthetic"
            else:  # intersection: the road-chief unit of the nearest road section
                nearest = min(
                    range(len(sections_m)),
                    key=lambda n, g_m=g_m: (round(sections_m[n][3].distance(g_m.centroid), 3), n),
                )
                holder, basis = rs_features[nearest][0]["road_chief_unit"], "derived"
            assign("unit", holder, "responsible", "unit_grid", code, basis, kind)

    # ---- supervision areas -------------------------------------------------------
    sa_features = []
    for i, tname in enumerate(CENTRAL_TOWNSHIPS, 1):
        parts = [communities[cn] for _, cn in COMMUNITIES[tname]]
        g = dissolve(parts)
        props = {
            "code": f"SA{i:02d}",
            "name": f"{tname}所辖建成区范围",
            "type": "supervision_area",
            "layer": "supervision_area",
            "parent_code": COUNTY_CODE,
        }
        sa_features.append((props, g))
    hsr = snap(to_lonlat(station_m.buffer(1200.0, quad_segs=16)))
    sa_features.append(
        (
            {
                "code": f"SA{len(CENTRAL_TOWNSHIPS) + 1:02d}",
                "name": "城东高铁站周边",
                "type": "supervision_area",
                "layer": "supervision_area",
                "parent_code": COUNTY_CODE,
            },
            hsr,
        )
    )
    for i, (props, _) in enumerate(sa_features, 1):
        assign("unit", f"ST{i:02d}", "supervision", "supervision_area", props["code"], "synthetic")

    # ---- supervision teams (督查组): leader, members by role, area, units, base ----------
    team_rows = []
    for i, (props, g) in enumerate(sa_features, 1):
        if i <= len(CENTRAL_TOWNSHIPS):
            tname = CENTRAL_TOWNSHIPS[i - 1]
            unit_keys = [so_key[tname]] + [cm_key[cn] for _, cn in COMMUNITIES[tname]]
        else:  # the station zone: the units answering for the key sites in it
            unit_keys = sorted(
                {
                    kp[role]
                    for kp, kg in ks_features
                    if kg.intersects(g)
                    for role in ("lead_unit", "responsible_unit")
                }
            )
        base = g.representative_point()
        team_rows.append(
            (f"ST{i:02d}", SUPERVISION_TEAMS[i - 1], TEAM_LEADERS[i - 1], TEAM_MEMBERS,
             props["code"], ";".join(unit_keys), f"{base.x:.6f}", f"{base.y:.6f}",
             TEAM_CAPACITY)
        )  # fmt: skip

    # ---- the countryside: seats, through roads, the rural team -------------------
    add_countryside(
        townships, t_code, so_key, dept_key, cg_key, units, assign, rs_features, ks_features,
        team_rows,
    )  # fmt: skip

    # ---- shops along the commercial streets (门前五包) --------------------------------
    shop_features = build_shops(sections_m, rs_features, sites_m, town_by_code, t_code, units)

    # ---- areas -------------------------------------------------------------------
    county_features = [
        (
            {
                "code": COUNTY_CODE,
                "name": COUNTY_NAME,
                "type": "county",
                "layer": "county",
                "parent_code": CITY_CODE,
            },
            county,
        )
    ]
    central_features = [
        (
            {
                "code": "CC01",
                "name": "中心城区",
                "type": "central_city",
                "layer": "central_city",
                "parent_code": COUNTY_CODE,
            },
            central,
        )
    ]
    t_features = [
        (
            {
                "code": t_code[n],
                "name": n,
                "type": t_type[n],
                "layer": "township",
                "parent_code": COUNTY_CODE,
            },
            g,
        )
        for n, g in townships.items()
    ]
    c_features = [
        (
            {
                "code": c_code[n],
                "name": n,
                "type": c_type[n],
                "layer": "community",
                "parent_code": t_code[c_parent[n]],
            },
            g,
        )
        for n, g in communities.items()
    ]

    write_geojson(out_dir / "county.geojson", "county", county_features)
    write_geojson(out_dir / "townships.geojson", "townships", t_features)
    write_geojson(out_dir / "central_city.geojson", "central_city", central_features)
    write_geojson(out_dir / "communities.geojson", "communities", c_features)
    write_geojson(out_dir / "unit_grids.geojson", "unit_grids", ug_features)
    write_geojson(out_dir / "supervision_areas.geojson", "supervision_areas", sa_features)
    write_geojson(out_dir / "road_sections.geojson", "road_sections", rs_features)
    write_geojson(out_dir / "key_sites.geojson", "key_sites", ks_features)
    write_geojson(out_dir / "shops.geojson", "shops", shop_features)

    write_csv(
        out_dir / "leaders.csv",
        ["key", "title", "rank", "command_role", "annexes"],
        [(k, t, LEADER_RANK, r, a) for k, t, r, a in LEADERS],
    )
    write_csv(
        out_dir / "units.csv",
        ["key", "kind", "name", "area_code", "parent_key", "origin"],
        sorted(units),
    )
    write_csv(
        out_dir / "assignments.csv",
        ["subject_kind", "subject_key", "role", "object_layer", "object_code", "valid_from",
         "basis", "person_title"],
        sorted(assignments),
    )  # fmt: skip

    write_csv(
        out_dir / "teams.csv",
        ["key", "name", "leader_key", "members", "area_codes", "unit_keys", "base_lon",
         "base_lat", "capacity_per_day"],
        team_rows,
    )  # fmt: skip

    counts = {
        "county.geojson": len(county_features),
        "townships.geojson": len(t_features),
        "central_city.geojson": len(central_features),
        "communities.geojson": len(c_features),
        "unit_grids.geojson": len(ug_features),
        "supervision_areas.geojson": len(sa_features),
        "road_sections.geojson": len(rs_features),
        "key_sites.geojson": len(ks_features),
        "shops.geojson": len(shop_features),
        "leaders.csv": len(LEADERS),
        "units.csv": len(units),
        "assignments.csv": len(assignments),
        "teams.csv": len(team_rows),
    }
    write_manifest(out_dir / "MANIFEST.md", counts)
    return counts


def add_countryside(
    townships, t_code, so_key, dept_key, cg_key, units, assign, rs_features, ks_features, team_rows
):
    """Seats, through roads and the rural team of the 13 rural townships (in place).

    Deterministic without the random generator: a seat is the township's
    representative point; its through road runs from the seat straight towards the
    county town up to the township's edge.
    """
    town = xy_of(TOWN_CENTER)
    rural = [n for _, n in TOWNSHIPS if n not in CENTRAL_TOWNSHIPS]
    road_chief = dept_key[THROUGH_ROAD_CHIEF]
    n_rs, n_ks = len(rs_features), len(ks_features)
    for k, tname in enumerate(rural, 1):
        poly = townships[tname]
        seat = snap(poly.representative_point())
        so = so_key[tname]
        code = f"KS{n_ks + k:03d}"
        ks_features.append(
            (
                {
                    "code": code,
                    "name": f"{tname}政府驻地",
                    "kind": SEAT_KIND[0],
                    "kind_zh": SEAT_KIND[1],
                    "layer": "key_site",
                    "zone_radius_m": ZONE_RADIUS_M,
                    "lead_unit": so,
                    "responsible_unit": so,
                    "township_code": t_code[tname],
                    "community_code": "",
                },
                seat,
            )
        )
        assign("unit", so, "lead", "key_site", code, "derived")
        assign("unit", so, "responsible", "key_site", code, "derived")
        # the through road: seat → county town, cut at the township's edge
        poly_m = to_metric(poly)
        seat_m = to_metric(seat)
        ray = LineString([(seat_m.x, seat_m.y), town])
        part = ray.intersection(poly_m)
        pieces = [g for g in shapely.get_parts(part) if g.distance(seat_m) < 1.0]
        line = snap(to_lonlat(pieces[0]))
        rcode = f"RS{n_rs + k:03d}"
        road = f"{tname}过境公路"
        extent = f"{tname}政府驻地—县城方向乡界"
        rs_features.append(
            (
                {
                    "code": rcode,
                    "name": f"{road}({extent})",
                    "road": road,
                    "extent": extent,
                    "layer": "road_section",
                    "kind": "through_road",
                    "road_chief_unit": road_chief,
                    "township_code": t_code[tname],
                    "community_code": "",
                },
                line,
            )
        )
        assign("unit", road_chief, "road_chief", "road_section", rcode, "synthetic")
        assign("unit", so, "responsible", "road_section", rcode, "synthetic")
    key = f"ST{len(SUPERVISION_TEAMS) + 1:02d}"
    name, leader, capacity = RURAL_TEAM
    units.append((key, "supervision_team", name, "", cg_key["督查问责组"], "synthetic"))
    for tname in rural:
        assign("unit", key, "supervision", "township", t_code[tname], "synthetic")
    base = next(g for p, g in ks_features if p["name"] == f"{rural[0]}政府驻地")
    team_rows.append(
        (key, name, leader, TEAM_MEMBERS, ";".join(t_code[n] for n in rural),
         ";".join(so_key[n] for n in rural), f"{base.x:.6f}", f"{base.y:.6f}", capacity)
    )  # fmt: skip


def build_shops(sections_m, rs_features, sites_m, town_by_code, t_code, units):
    """Street-front shops on both sides of the commercial streets (GeoJSON features).

    Frontage: a line ``SHOP_FRONTAGE_M`` long, ``SHOP_OFFSET_M`` from the centre line,
    every ``SHOP_SPACING_M`` metres, none within ``SHOP_CLEAR_M`` of a crossing or
    30 m of a key site. The 城管 squad of the shop's township is its grid unit.
    """
    squad_key = {}
    for i, (tname, name) in enumerate(ENFORCEMENT_SQUADS.items(), 1):
        squad_key[t_code[tname]] = f"UM{i:02d}"
        units.append((f"UM{i:02d}", "department", name, t_code[tname], "D03", "synthetic"))
    site_zone = shapely.union_all([g.buffer(30.0) for _, _, g in sites_m])
    features = []
    numbers: dict[tuple[str, int], int] = defaultdict(int)
    for street, picks in SHOP_STREETS.items():
        idx = [i for i, sec in enumerate(sections_m) if sec[0] == street]
        for j in picks:
            i = idx[j]
            line = sections_m[i][3]
            rs_code = rs_features[i][0]["code"]
            d = SHOP_CLEAR_M
            while d + SHOP_FRONTAGE_M <= line.length - SHOP_CLEAR_M:
                seg = substring(line, d, d + SHOP_FRONTAGE_M)
                for side, parity in ((1, 1), (-1, 0)):
                    front = seg.offset_curve(side * SHOP_OFFSET_M)
                    if front.geom_type != "LineString" or front.intersects(site_zone):
                        continue
                    g = snap(to_lonlat(front))
                    if g.geom_type != "LineString":
                        continue
                    tcode = locate(g.interpolate(0.5, normalized=True), town_by_code)
                    if tcode not in squad_key:
                        continue
                    numbers[(street, parity)] += 1
                    no = 2 * numbers[(street, parity)] - parity
                    n = len(features)
                    duties = [x for x in SHOP_DUTIES if not (x == "green" and n % 5 == 4)]
                    props = {
                        "code": f"SH{n + 1:03d}",
                        "name": f"{street}{no}号{SHOP_TRADES[n % len(SHOP_TRADES)]}",
                        "street": street,
                        "address": f"{street}{no}号",
                        "responsibility_letter": f"2022-04-{1 + n % 28:02d}",
                        "frontage_duties": ";".join(duties),
                        "enforcement_grid_unit": squad_key[tcode],
                        "road_section_code": rs_code,
                        "township_code": tcode,
                    }
                    features.append((props, g))
                d += SHOP_SPACING_M
    return features


def write_manifest(path, counts):
    """Write MANIFEST.md (generated, so counts always match the files)."""
    rows = "\n".join(f"| `{name}` | {n} |" for name, n in counts.items())
    path.write_text(MANIFEST_TEMPLATE.format(seed=SEED, counts=rows), encoding="utf-8")


MANIFEST_TEMPLATE = """\
# Demo county 社旗县 (Sheqi) — MANIFEST

*This file is written by `generate.py`; edit the template there, not here.*

## What this is

A complete, self-consistent sample data set for civgrid: one county with its
16 townships/streets, the central city with its 14 communities/villages, unit
grids, road sections, key sites, supervision areas, responsible units,
pseudonymous county leaders and their assignments.

**All geometry is synthetic.** Every outline, boundary, road, site and grid is
made up by `generate.py` (numpy `default_rng`, seed **{seed}**, shapely only,
no network). It resembles Sheqi only in location (county town at about
112.947 E, 33.056 N), size (about 1,200 km²) and structure. Relative positions
of the townships, road names, the street grid, the HSR station (城东高铁站 is
fictitious), schools, parks, compounds and all other place names except those
listed below are invented. Township/community codes follow the 12-digit
statistical pattern (county 411327, streets 0xx, towns 1xx, township 2xx) but
are illustrative, not the official 统计用区划代码.

## What comes from the source

Source: 中共社旗县委 社旗县人民政府《关于建立完善文明城市常态化创建工作机制的意见》
(2022-03-06), `shared/domain/sources/004_78eab5dd939a4315.txt`.

- Annex 2 (县级领导联系乡镇（街道）一览表): the 16 township/street names and which
  county leaders contact (联系) each → `townships.geojson`, role `contact`.
- Annex 3 (县级领导分包中心城区社区（行政村）一览表): the 14 central communities
  (赊店镇 8 社区; 潘河街道 and 赵河街道 3 行政村 each) and the one leader who
  contracts (分包) each → `communities.geojson`, role `contract`.
- Annex 1 (指挥部名单): leader titles and command roles; the command working
  groups (综合组 … 资金保障组).
- Body text: departments with key tasks, the "other task" units used here as
  civilized units (文明单位), 香山路农贸市场 and 县中心农贸市场, and the market
  duties (lead 县城管局; responsible 县市场监督管理局, 县农业农村局, street offices).
  Assignment rows carry `basis` = `annex2`, `annex3`, `notice`, `derived` or
  `synthetic` (pairings, road-section holders, other site duties, supervision
  teams and property companies are synthetic).

## A responsible party for every place (local choices)

Sheqi's notice asks "确保网格内每条道路、每个楼院都有责任人" and puts all
"小区、居民楼院、机关庭院、主次干道、背街小巷、交通路口等纳入社区网格化管理".
Every unit grid, road section and key site therefore has a responsible unit and
a responsible person **by title** (`person_title`; never a name). Who holds the
grids that have no property company is a **local choice** of this demo:

| unit grid kind | responsible unit | person | basis |
|---|---|---|---|
| 小区 `compound` | a property company (round robin) | 物业经理 | synthetic |
| 楼院 `building_yard` | the community/village committee | 网格长 | derived |
| 背街小巷 `back_street` | the community/village committee | 网格长 | derived |
| 机关庭院 `institution_yard` | the civilized unit pairing the community | 院落负责人 | synthetic |
| 路口 `intersection` | road-chief unit of the nearest section | 路长 | derived |

- 楼院 are the yards without a property company (无物业楼院); the committee is
  that of the grid's own community. The nearest road section of an intersection
  is measured from the grid's centre; ties go to the lowest section code.
- Back streets go to the community committee, not the street office: the notice
  puts 背街小巷 into the *community's* grid management, and the street office
  stays the next step up (it answers for the township, not one alley).
- Institution yards go to a county unit, as the notice has units keep "本单位家属院"
  themselves; which unit holds which yard is invented.
- Road sections: the road-chief unit's person is 路长, the responsible unit's
  路段责任人; key sites' lead and responsible units name a 点位负责人.
- Six county leaders are road chiefs (role `road_chief`, subject `leader`) of
  every section of one north–south road each: L15 建设路, L18 红旗路, L22 人民路,
  L24 长春路, L27 新华路 (县委常委), L31 香山路 (副县长兼公安局长). Lüliang
  (`001`) lists "《市委常委包路段 责任单位包落实 推动文明城市创建的实施方案》
  (吕创城办〔2021〕5号)落实情况" among the things inspected; this is its county
  analogue. Which leaders and roads is a local choice.

## The countryside and the shops (local choices, synthetic)

Sheqi's 乡村环境提升 and the town-and-country coverage of notice 003 need the 13
rural townships inspected too; Quzhou (002) turns 门前三包 into 门前五包
("包洁化、包绿化、包秩序、包立面、包文明") and Sheqi (004) asks "城管执法部门要定人定网格
定责任，督导落实“门前五包”". All of this is **labeled synthetic geometry**, built
after every earlier layer and without the random generator (earlier files are
unchanged):

- **Township seats**: one key site per rural township (kind `township_seat`,
  乡镇政府驻地) at the township's representative point; the town government
  (`SO…`) leads and answers for it.
- **Through roads**: one road section per rural township (`kind` =
  `through_road`, 过境公路) from the seat straight towards the county town, cut at
  the township's edge; road chief 县交通运输局, responsible the town government.
- **The rural team** `ST05` 第五督查组 (leader L28) covers the 13 rural townships
  (`teams.csv` area codes = township codes; `supervision` assignments on each).
- **Shops** (`shops.geojson`): street-front shops on both sides of the middle
  sections of 人民路 and 中兴路, a 14 m frontage line 12 m from the centre line
  every 60 m (none within 60 m of a crossing or 30 m of a key site); generic
  names (门牌号 + trade), the five duties (every fifth shop without 包绿化), a
  letter date in April 2022, and the 城管 squad of the shop's township as
  `enforcement_grid_unit` (`UM01` 赊店中队, `UM02` 潘河中队, `UM03` 赵河中队, units of
  县城管局).

## Leader-key policy

No personal names and no phone numbers appear anywhere in this directory.
Each distinct person in annexes 2 and 3 has one pseudonymous key (`L01` …),
numbered by first appearance (annex 2 top to bottom, then annex 3); a person in
both annexes keeps one key. `title` is the person's title in annex 1 (kept
whole, e.g. "县委常委、县政府常务副县长"); people not listed in annex 1 get the
neutral title `县级领导`. The key table was derived by hand; the generator
holds only keys, titles and assignments. `tests/test_demo_county.py` checks
that no name from the annexes and nothing phone-like appears in the output.

## Files

All GeoJSON is WGS84 lon/lat (EPSG:4326), coordinates rounded to 7 decimals,
features sorted by `code`, one feature per line, UTF-8 (not ASCII-escaped).

| file | features / rows |
|---|---|
{counts}

- Area layers (`county`, `townships`, `central_city`, `communities`,
  `unit_grids`, `supervision_areas`) carry `code`, `name`, `type`, `layer`,
  `parent_code`; unit grids add `kind`/`kind_zh`.
- Townships tile the county exactly; communities tile `central_city.geojson`
  exactly and lie inside their townships (the rest of each central township is
  township-only); unit grids lie inside their community and do not overlap.
- Codes: county `411327000000`; township `411327` + 3 digits + `000`; community
  = township's first 9 digits + 3; unit grid = community's 12 + 3; road
  sections `RS001…`; key sites `KS001…`; supervision areas `SA01…`; central
  city `CC01`. Unit keys: `D` department, `SO` street office / town government,
  `CM` community committee, `CU` civilized unit, `PC` property company, `ST`
  supervision team, `CG` command group.
- `shops.geojson`: `code` (`SH…`), `name`, `street`, `address`,
  `responsibility_letter` (ISO date), `frontage_duties` (`;`-separated keys),
  `enforcement_grid_unit` (unit key), `road_section_code`, `township_code`;
  geometry the frontage line. Unit keys add `UM` 城管 squad.
- `teams.csv` (synthetic): one supervision team per supervision area — team key
  (`ST…`), leader key, members by role and count, area codes, supervised unit
  keys (`;`-separated), base lon/lat (WGS84, a point inside the area) and the
  capacity in inspection visits per working day.

## Regenerate

    .venv/bin/python data/boundaries/demo/generate.py            # in place
    .venv/bin/python data/boundaries/demo/generate.py --out DIR  # elsewhere

The output is byte-identical for the same seed and library versions;
`tests/test_demo_county.py` regenerates into a temporary directory and
compares.
"""


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: ``generate.py [--out DIR]``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT_DIR, help="output directory")
    args = ap.parse_args(argv)
    counts = generate(args.out)
    for name, n in counts.items():
        print(f"{name}: {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
