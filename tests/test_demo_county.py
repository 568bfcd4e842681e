"""Checks of the committed synthetic demo county in ``data/boundaries/demo/``.

Areas are measured in square metres in the CGCS2000 Gauss-Krüger zone chosen by
:func:`civgrid.geo.metric.metric_epsg_for` (never in degrees). The files are
read as committed; one test regenerates them into a temporary directory and
requires byte-identical output.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import Point, shape

from civgrid.geo.metric import Projector, metric_epsg_for

DEMO = Path(__file__).resolve().parent.parent / "data" / "boundaries" / "demo"
GEOJSON = [
    "county",
    "townships",
    "central_city",
    "communities",
    "unit_grids",
    "supervision_areas",
    "road_sections",
    "key_sites",
    "shops",
]
CSVS = ["leaders", "units", "assignments", "teams"]
TOL_M2 = 1.0
TOWN_CENTER = (112.947, 33.056)
VALID_FROM = "2022-03-06"

#: Annex 2 of the Sheqi notice: township -> number of contacting county leaders.
ANNEX2_CONTACTS = {
    "郝寨镇": 1,
    "饶良镇": 2,
    "赊店镇": 3,
    "唐庄乡": 3,
    "潘河街道": 3,
    "赵河街道": 2,
    "陌陂镇": 3,
    "苗店镇": 2,
    "桥头镇": 2,
    "朱集镇": 2,
    "大冯营镇": 3,
    "太和镇": 2,
    "兴隆镇": 2,
    "下洼镇": 3,
    "晋庄镇": 2,
    "李店镇": 2,
}
#: Annex 3: central township -> its communities/villages.
ANNEX3 = {
    "赊店镇": [
        "东裕社区",
        "牌坊社区",
        "福寿社区",
        "尚营社区",
        "永安社区",
        "老街社区",
        "泰山社区",
        "兴隆社区",
    ],
    "潘河街道": ["望东庄村", "柳营村", "双庄村"],
    "赵河街道": ["河南街村", "谭营村", "代营村"],
}
#: Annexes 2+3 together: the leader contracting each community also contacts this
#: township (every annex-3 leader appears in annex 2), so keys must be shared.
CONTRACT_LEADER_CONTACTS = {
    "东裕社区": "郝寨镇",
    "牌坊社区": "赊店镇",
    "福寿社区": "大冯营镇",
    "尚营社区": "太和镇",
    "永安社区": "大冯营镇",
    "老街社区": "赊店镇",
    "泰山社区": "下洼镇",
    "兴隆社区": "赊店镇",
    "望东庄村": "潘河街道",
    "柳营村": "潘河街道",
    "双庄村": "潘河街道",
    "河南街村": "赵河街道",
    "谭营村": "赵河街道",
    "代营村": "李店镇",
}
#: Annex-1 titles of some contract leaders (kept whole).
CONTRACT_LEADER_TITLES = {
    "东裕社区": "县委副书记",
    "福寿社区": "县委常委、县委宣传部部长、县政府副县长",
    "望东庄村": "县委常委、县政府常务副县长",
    "泰山社区": "县政府副县长、县公安局局长",
    "代营村": "县二级调研员",
    "柳营村": "县级领导",
}

#: Personal names printed in annexes 1-3 of the notice (whitespace removed). Used only
#: as a guard: none of them may appear anywhere in the demo directory.
_REAL_NAMES_TEXT = """
张荣印 关文波 李哲 赵向龙 邱国彦 黄静 许晓燕 张少瀛 王金宝 包海竣 李淑琳 陈晓鹏 崔振世
姚军 白国辉 王承磊 张黎晓 杜鑫 李景元 王玉合 张东晓 任林仲 惠大新 陈鹏 杨银鹏 梁东升
董桂松 张伟斌 王晓 史承晔 刘军 夏中畅 李道玺 陈涛 张坤 谢明伟 李峥 张玉泳 夏文平 张清凌
侯平江 郭映伦 王建伟 常雍馨 顾清魁 李性德 张秀宽 曹增松
夏牧 文献充 王东旭 王辉 张宛黎 吴凯 苑黎民 张山 刘玉庚 刘群才 黄远芳 苟万贵 张海涛 刘元众
陈俊伟 宋庆伟 张耀一 李贺峰 刘宏钊
"""
REAL_NAMES = _REAL_NAMES_TEXT.split()
PHONE_RE = re.compile(r"(?<!\d)(?:1[3-9]\d{9}|0\d{2,3}[-\s]?\d{7,8})(?!\d)")

UNIT_KINDS = {
    "department",
    "street_office",
    "community_committee",
    "civilized_unit",
    "property_company",
    "supervision_team",
    "command_group",
}
UNIT_GRID_KINDS = {"compound", "building_yard", "institution_yard", "back_street", "intersection"}
KEY_SITE_KINDS = {
    "market",
    "bus_station",
    "hsr_station",
    "school",
    "hospital",
    "park",
    "square",
    "public_toilet",
    "commercial_complex",
    "government_service",
    "township_seat",
}
ROLES = {"contact", "contract", "pairing", "road_chief", "responsible", "lead", "supervision"}
LAYER_OF = {
    "county": "county",
    "township": "townships",
    "community": "communities",
    "unit_grid": "unit_grids",
    "road_section": "road_sections",
    "key_site": "key_sites",
    "supervision_area": "supervision_areas",
}


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def layers() -> dict[str, list[tuple[dict, object]]]:
    """Every GeoJSON layer as [(properties, lon/lat geometry)]."""
    out = {}
    for name in GEOJSON:
        fc = json.loads((DEMO / f"{name}.geojson").read_text(encoding="utf-8"))
        assert fc["type"] == "FeatureCollection"
        out[name] = [(f["properties"], shape(f["geometry"])) for f in fc["features"]]
    return out


@pytest.fixture(scope="module")
def tables() -> dict[str, list[dict]]:
    """Every CSV as a list of row dicts."""
    out = {}
    for name in CSVS:
        with (DEMO / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
            out[name] = list(csv.DictReader(fh))
    return out


@pytest.fixture(scope="module")
def to_m(layers):
    """Function projecting a lon/lat geometry to the metric GK zone (metres)."""
    county = layers["county"][0][1]
    proj = Projector(metric_epsg_for(county.centroid.x))

    def f(g):
        return shapely.transform(g, lambda xy: np.column_stack(proj.forward(xy[:, 0], xy[:, 1])))

    return f


@pytest.fixture(scope="module")
def by_code(layers):
    """layer -> code -> (properties, geometry)."""
    return {n: {p["code"]: (p, g) for p, g in feats} for n, feats in layers.items()}


def overlapping_pairs(geoms_m, tol=TOL_M2):
    """Index pairs of metric polygons whose intersection exceeds ``tol`` m²."""
    tree = shapely.STRtree(geoms_m)
    left, right = tree.query(geoms_m, predicate="intersects")
    bad = []
    for i, j in zip(left, right, strict=True):
        if i < j:
            a = geoms_m[i].intersection(geoms_m[j]).area
            if a > tol:
                bad.append((int(i), int(j), a))
    return bad


def outside_area(child_m, parent_m) -> float:
    """Area (m²) of ``child_m`` outside ``parent_m``."""
    return child_m.difference(parent_m).area


def assignments_of(tables, **match):
    return [r for r in tables["assignments"] if all(r[k] == v for k, v in match.items())]


# ---------------------------------------------------------------------------- files


def test_files_present_and_small():
    names = [f"{n}.geojson" for n in GEOJSON] + [f"{n}.csv" for n in CSVS]
    names += ["MANIFEST.md", "generate.py"]
    for n in names:
        assert (DEMO / n).is_file(), n
    total = sum((DEMO / n).stat().st_size for n in names)
    assert total < 3_000_000


def test_geojson_conventions(layers):
    for name in GEOJSON:
        text = (DEMO / f"{name}.geojson").read_text(encoding="utf-8")
        assert "\\u" not in text, f"{name}: non-ASCII must not be escaped"
        assert not re.search(r"\d\.\d{8,}", text), f"{name}: more than 7 decimals"
        fc = json.loads(text)
        codes = [f["properties"]["code"] for f in fc["features"]]
        assert codes == sorted(codes) and len(set(codes)) == len(codes), name
        assert all(f["id"] == f["properties"]["code"] for f in fc["features"])
        assert fc["civgrid"]["synthetic"] is True
        for _, g in layers[name]:
            minx, miny, maxx, maxy = g.bounds
            assert minx > 112.5 and maxx < 113.4 and miny > 32.7 and maxy < 33.4, name


def test_all_geometries_valid(layers):
    for name, feats in layers.items():
        for p, g in feats:
            assert g.is_valid, (name, p["code"], shapely.is_valid_reason(g))
            assert not g.is_empty
            if name in ("road_sections", "shops"):
                assert g.geom_type == "LineString"
            elif name == "key_sites":
                assert g.geom_type in ("Point", "Polygon")
            else:
                assert g.geom_type == "Polygon", (name, p["code"])


# ---------------------------------------------------------------------------- areas


def test_county(layers, to_m):
    (p, g), *rest = layers["county"]
    assert not rest
    assert (p["code"], p["name"], p["type"]) == ("411327000000", "社旗县", "county")
    gm = to_m(g)
    assert 1.1e9 < gm.area < 1.3e9
    assert len(g.exterior.coords) > 200  # wiggly, not a rectangle
    assert gm.area < 0.85 * gm.minimum_rotated_rectangle.area


def test_township_names_types_codes(layers):
    feats = layers["townships"]
    assert sorted(p["name"] for p, _ in feats) == sorted(ANNEX2_CONTACTS)
    for p, _ in feats:
        assert p["type"] == ("street" if p["name"].endswith("街道") else "township")
        assert re.fullmatch(r"411327\d{3}000", p["code"]), p["code"]
        assert p["parent_code"] == "411327000000"
        assert p["layer"] == "township"


def test_townships_tile_county(layers, to_m):
    county = to_m(layers["county"][0][1])
    towns = [to_m(g) for _, g in layers["townships"]]
    assert overlapping_pairs(towns) == []
    union = shapely.union_all(towns)
    assert union.symmetric_difference(county).area < TOL_M2
    for t in towns:
        assert outside_area(t, county) < TOL_M2


def test_central_townships_meet_at_county_town(layers, to_m):
    town = to_m(Point(TOWN_CENTER))
    for p, g in layers["townships"]:
        if p["name"] in ANNEX3:
            assert to_m(g).distance(town) < 50.0, p["name"]


def test_communities_follow_annex3(layers, by_code):
    feats = layers["communities"]
    assert len(feats) == 14
    towns = by_code["townships"]
    seen = defaultdict(list)
    for p, _ in feats:
        parent = towns[p["parent_code"]][0]
        seen[parent["name"]].append(p["name"])
        assert p["code"][:9] == p["parent_code"][:9] and re.fullmatch(r"\d{12}", p["code"])
        assert p["type"] == ("village" if p["name"].endswith("村") else "community")
    assert {k: sorted(v) for k, v in seen.items()} == {k: sorted(v) for k, v in ANNEX3.items()}


def test_communities_nest_and_tile_central_city(layers, by_code, to_m):
    central = to_m(layers["central_city"][0][1])
    assert 20e6 < central.area < 30e6
    comms = [(p, to_m(g)) for p, g in layers["communities"]]
    assert overlapping_pairs([g for _, g in comms]) == []
    for p, g in comms:
        parent = to_m(by_code["townships"][p["parent_code"]][1])
        assert outside_area(g, parent) < TOL_M2, p["name"]
    union = shapely.union_all([g for _, g in comms])
    assert union.symmetric_difference(central).area < TOL_M2
    central_towns = shapely.union_all(
        [to_m(g) for p, g in layers["townships"] if p["name"] in ANNEX3]
    )
    assert outside_area(central, central_towns) < TOL_M2


def test_unit_grids(layers, by_code, to_m):
    feats = layers["unit_grids"]
    assert 120 <= len(feats) <= 170
    per = Counter(p["parent_code"] for p, _ in feats)
    assert set(per) == set(by_code["communities"])
    assert min(per.values()) >= 8
    grids_m = []
    for p, g in feats:
        assert re.fullmatch(p["parent_code"] + r"\d{3}", p["code"])
        assert p["kind"] in UNIT_GRID_KINDS and p["type"] == "unit_grid" and p["name"]
        gm = to_m(g)
        assert 4_500 < gm.area < 21_000, (p["code"], gm.area)
        parent = to_m(by_code["communities"][p["parent_code"]][1])
        assert outside_area(gm, parent) < TOL_M2, p["code"]
        grids_m.append(gm)
    assert overlapping_pairs(grids_m) == []
    assert {p["kind"] for p, _ in feats} == UNIT_GRID_KINDS


def test_supervision_areas(layers, tables):
    feats = layers["supervision_areas"]
    assert 3 <= len(feats) <= 5
    teams = {u["key"] for u in tables["units"] if u["kind"] == "supervision_team"}
    for p, _ in feats:
        rows = assignments_of(tables, role="supervision", object_code=p["code"])
        assert rows and all(r["subject_key"] in teams for r in rows), p["code"]


# ---------------------------------------------------------------------------- lines, points


def test_road_sections(layers, tables, to_m):
    feats = layers["road_sections"]
    assert len(feats) >= 60
    depts = {u["key"] for u in tables["units"] if u["kind"] == "department"}
    ends = Counter()
    for p, g in feats:
        assert re.fullmatch(r"RS\d{3}", p["code"])
        start, end = p["extent"].split("—")
        assert start and end and p["name"] == f"{p['road']}({p['extent']})"
        assert to_m(g).length > 100.0
        chiefs = assignments_of(
            tables, role="road_chief", object_code=p["code"], subject_kind="unit"
        )
        assert [r["subject_key"] for r in chiefs] == [p["road_chief_unit"]]
        assert p["road_chief_unit"] in depts
        ends.update([g.coords[0], g.coords[-1]])
    # leader road chiefs (路长, 001: 市委常委包路段) hold every section of one road each
    roads = {p["code"]: p["road"] for p, _ in feats}
    leaders = {ld["key"] for ld in tables["leaders"]}
    held: dict[str, set[str]] = {}
    for r in assignments_of(tables, role="road_chief", subject_kind="leader"):
        assert r["subject_key"] in leaders and r["person_title"] == "路长"
        held.setdefault(r["subject_key"], set()).add(r["object_code"])
    assert 5 <= len(held) <= 8
    for codes in held.values():
        (road,) = {roads[c] for c in codes}
        assert codes == {c for c, n in roads.items() if n == road}
    # a street network: nearly every section end of the town is shared with another one
    town = [g for p, g in feats if p.get("kind") != "through_road"]
    ends = Counter(pt for g in town for pt in (g.coords[0], g.coords[-1]))
    dangling = [pt for pt, n in ends.items() if n == 1]
    assert len(dangling) <= 2


def test_key_sites(layers, tables):
    feats = layers["key_sites"]
    assert len(feats) >= 40
    names = {p["name"] for p, _ in feats}
    assert {"香山路农贸市场", "县中心农贸市场"} <= names
    depts = {u["key"] for u in tables["units"] if u["kind"] == "department"}
    offices = {u["key"] for u in tables["units"] if u["kind"] == "street_office"}
    for p, _ in feats:
        assert re.fullmatch(r"KS\d{3}", p["code"])
        assert p["kind"] in KEY_SITE_KINDS
        assert p["zone_radius_m"] == 400
        lead = assignments_of(tables, role="lead", object_code=p["code"])
        assert [r["subject_key"] for r in lead] == [p["lead_unit"]]
        resp = {
            r["subject_key"]
            for r in assignments_of(tables, role="responsible", object_code=p["code"])
        }
        holders = offices if p["kind"] == "township_seat" else depts
        assert p["responsible_unit"] in resp and p["responsible_unit"] in holders
    assert {p["kind"] for p, _ in feats} == KEY_SITE_KINDS


# ---------------------------------------------------------------------------- people, units


def test_leaders(tables):
    rows = tables["leaders"]
    keys = [r["key"] for r in rows]
    assert len(keys) == len(set(keys)) == sum(ANNEX2_CONTACTS.values())
    for r in rows:
        assert re.fullmatch(r"L\d\d", r["key"])
        assert r["title"].startswith("县") and r["rank"] == "县级"


def test_leader_assignments_follow_annexes(tables, by_code):
    town_name = {c: p["name"] for c, (p, _) in by_code["townships"].items()}
    comm_name = {c: p["name"] for c, (p, _) in by_code["communities"].items()}
    leaders = {r["key"]: r for r in tables["leaders"]}
    contacts = assignments_of(tables, role="contact")
    contracts = assignments_of(tables, role="contract")
    assert all(r["subject_kind"] == "leader" and r["subject_key"] in leaders for r in contacts)
    assert all(r["subject_kind"] == "leader" and r["subject_key"] in leaders for r in contracts)
    per_town = Counter(town_name[r["object_code"]] for r in contacts)
    assert per_town == Counter(ANNEX2_CONTACTS)
    assert Counter(r["subject_key"] for r in contacts) == Counter(dict.fromkeys(leaders, 1))
    per_comm = Counter(comm_name[r["object_code"]] for r in contracts)
    assert per_comm == Counter(dict.fromkeys(comm_name.values(), 1))
    contact_town = {r["subject_key"]: town_name[r["object_code"]] for r in contacts}
    for r in contracts:
        comm = comm_name[r["object_code"]]
        assert contact_town[r["subject_key"]] == CONTRACT_LEADER_CONTACTS[comm], comm
        if comm in CONTRACT_LEADER_TITLES:
            assert leaders[r["subject_key"]]["title"] == CONTRACT_LEADER_TITLES[comm], comm


def test_units(tables, by_code):
    units = tables["units"]
    keys = [u["key"] for u in units]
    assert len(keys) == len(set(keys))
    assert {u["kind"] for u in units} == UNIT_KINDS
    names = {u["name"] for u in units}
    for n in [
        "县城管局",
        "县公安局",
        "县市场监督管理局",
        "县教体局",
        "县住建局",
        "县交通运输局",
        "县卫健委",
        "县民政局",
        "县水利局",
        "县农业农村局",
        "县文广旅游局",
        "县委宣传部",
        "综合组",
        "督查问责组",
        "宣传教育组",
        "交通秩序整治组",
        "环境卫生组",
        "乡村创建组",
        "资金保障组",
    ]:
        assert n in names, n
    kind = {u["key"]: u["kind"] for u in units}
    comms = set(by_code["communities"])
    pair = assignments_of(tables, role="pairing")
    assert {r["object_code"] for r in pair} == comms
    assert all(kind[r["subject_key"]] == "civilized_unit" for r in pair)
    for c in comms:
        rows = [
            r
            for r in assignments_of(tables, role="responsible", object_code=c)
            if kind[r["subject_key"]] == "community_committee"
        ]
        assert len(rows) == 1, c
    central_codes = {c for c, (p, _) in by_code["townships"].items() if p["name"] in ANNEX3}
    for c in central_codes:
        rows = assignments_of(tables, role="responsible", object_code=c)
        assert any(kind[r["subject_key"]] == "street_office" for r in rows), c


def test_assignment_references_resolve(tables, by_code):
    leaders = {r["key"] for r in tables["leaders"]}
    units = {r["key"] for r in tables["units"]}
    for r in tables["assignments"]:
        assert r["role"] in ROLES
        assert r["valid_from"] == VALID_FROM
        assert r["subject_key"] in (leaders if r["subject_kind"] == "leader" else units), r
        assert r["object_code"] in by_code[LAYER_OF[r["object_layer"]]], r
    rows = [tuple(r.values()) for r in tables["assignments"]]
    assert rows == sorted(rows) and len(rows) == len(set(rows))


# ---------------------------------------------------------------------------- privacy


def _strip(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_no_personal_names_anywhere():
    assert len(REAL_NAMES) > 60
    for path in sorted(DEMO.iterdir()):
        if path.is_file():
            text = _strip(path.read_text(encoding="utf-8"))
            found = [n for n in REAL_NAMES if n in text]
            assert not found, (path.name, found)


def test_no_phone_numbers(layers, tables):
    values = [v for rows in tables.values() for r in rows for v in r.values()]
    values += [str(v) for feats in layers.values() for p, _ in feats for v in p.values()]
    values.append((DEMO / "MANIFEST.md").read_text(encoding="utf-8"))
    hits = [v for v in values if PHONE_RE.search(v)]
    assert not hits, hits[:5]


def test_phone_pattern_catches_numbers():
    assert PHONE_RE.search("联系电话13812345678")
    assert PHONE_RE.search("0377-1234567")
    assert not PHONE_RE.search("411327100001001")


# ---------------------------------------------------------------------------- regeneration


def test_regeneration_is_byte_identical(tmp_path):
    spec = importlib.util.spec_from_file_location("demo_generate", DEMO / "generate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["--out", str(tmp_path)]) == 0
    written = sorted(p.name for p in tmp_path.iterdir())
    committed = sorted(p.name for p in DEMO.iterdir() if p.is_file() and p.name != "generate.py")
    assert written == committed
    for name in written:
        assert (tmp_path / name).read_bytes() == (DEMO / name).read_bytes(), name


# ---------------------------------------------------------------------------- countryside, shops


def test_every_rural_township_has_a_seat_a_through_road_and_the_rural_team(layers, tables, by_code):
    towns = {p["code"]: g for p, g in layers["townships"]}
    central = {c for c, (p, _) in by_code["townships"].items() if p["name"] in ANNEX3}
    rural = set(towns) - central
    assert len(rural) == 13
    seats = {p["township_code"]: g for p, g in layers["key_sites"] if p["kind"] == "township_seat"}
    assert set(seats) == rural
    assert all(towns[c].contains(g) for c, g in seats.items())
    through = [(p, g) for p, g in layers["road_sections"] if p.get("kind") == "through_road"]
    assert {p["township_code"] for p, _ in through} == rural
    for p, g in through:  # inside its township (up to the snapping of the edge)
        assert g.difference(towns[p["township_code"]].buffer(1e-6)).is_empty, p["code"]
    teams = {t["key"]: t for t in tables["teams"]}
    covered = {c for t in teams.values() for c in t["area_codes"].split(";")}
    assert rural <= covered
    for code in rural:
        rows = assignments_of(tables, role="supervision", object_code=code)
        assert [r["subject_key"] for r in rows] == ["ST05"]


def test_shops_line_the_commercial_streets(layers, tables, to_m):
    feats = layers["shops"]
    assert len(feats) >= 40
    units = {u["key"]: u for u in tables["units"]}
    roads = {p["code"]: g for p, g in layers["road_sections"]}
    grids = shapely.union_all([g for _, g in layers["unit_grids"]])
    for p, g in feats:
        assert re.fullmatch(r"SH\d{3}", p["code"]) and p["name"].startswith(p["street"])
        unit = units[p["enforcement_grid_unit"]]
        assert unit["parent_key"] == "D03" and unit["name"].startswith("县城管局")
        duties = p["frontage_duties"].split(";")
        assert set(duties) <= {"clean", "green", "order", "facade", "civility"}
        assert len(duties) >= 4
        d = to_m(g).distance(to_m(roads[p["road_section_code"]]))
        assert 10.0 < d < 14.0, (p["code"], d)
        assert not g.intersects(grids), p["code"]
