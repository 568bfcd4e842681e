"""Boundary imports: reports for bad files, dry runs, all-or-nothing commits, GCJ-02 data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely

from civgrid.geo.crs import gcj02_to_wgs84, haversine_m
from civgrid.geo.io import write_shapefile
from civgrid.grids.boundaries.imports import (
    ImportRejectedError,
    LayerSource,
    commit_plan,
    import_boundaries,
    plan_boundaries,
)
from civgrid.grids.boundaries.models import Layer

#: The real sample (read in place, never copied into the repository).
REAL_COUNTIES = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "data"
    / "real"
    / "shangqiu_411400_counties.geojson"
)


def _sources(files, **kw):
    return [
        LayerSource(
            Layer(layer), path, parent_field="parent_code" if layer != "county" else None, **kw
        )
        for layer, path in files.items()
    ]


def _kinds(plan):
    return {(f.kind, f.severity) for f in plan.findings}


def test_dry_run_reports_and_writes_nothing(empty_store, toy, dump):
    before = dump(empty_store)
    plan = plan_boundaries(empty_store, _sources(toy))
    assert plan.ok and plan.has_changes
    assert [lp.summary()["new"] for lp in plan.layers] == [1, 2, 4]
    text = plan.to_text()
    assert "dry run, nothing written" in text and "4 new" in text
    assert dump(empty_store) == before
    assert empty_store.active_generation() is None


def test_invalid_polygon_is_reported(empty_store, toy, toy_layers, make_layer):
    items = toy_layers()["township"]
    props, _ = items[0]
    bowtie = shapely.Polygon([(112.90, 33.00), (112.95, 33.10), (112.95, 33.00), (112.90, 33.10)])
    plan = plan_boundaries(
        empty_store,
        _sources(
            {"county": toy["county"], "township": make_layer("bad", [(props, bowtie), items[1]])}
        ),
    )
    found = [f for f in plan.layer("township").findings if f.kind == "invalid_geometry"]
    assert found and "elf-intersection" in found[0].message
    assert props["code"] in found[0].codes
    assert "invalid_geometry" in plan.to_text()


def test_duplicate_code_is_rejected(empty_store, toy, toy_layers, make_layer):
    items = toy_layers()["community"]
    items[1] = ({**items[1][0], "code": items[0][0]["code"]}, items[1][1])
    files = {**toy, "community": make_layer("dup", items)}
    plan = plan_boundaries(empty_store, _sources(files))
    assert ("duplicate_code", "error") in _kinds(plan) and not plan.ok
    assert "REJECTED" in plan.to_text()
    with pytest.raises(ImportRejectedError) as err:
        commit_plan(empty_store, plan)
    assert err.value.context["errors"][0]["kind"] == "duplicate_code"
    assert empty_store.active_generation() is None


def test_child_outside_its_parent_is_rejected(empty_store, toy, toy_layers, make_layer, dense_box):
    items = toy_layers()["community"]
    props = items[0][0]  # a community of 411327001000 (112.95–113.00), drawn one town west
    items[0] = (props, dense_box(112.92, 33.00, 112.97, 33.05))
    plan = plan_boundaries(
        empty_store, _sources({**toy, "community": make_layer("out", items)}, tiling=False)
    )
    outside = [f for f in plan.findings if f.kind == "outside_parent"]
    assert outside and outside[0].severity == "error" and props["code"] in outside[0].codes
    assert "outside its parent" in plan.to_text()


def test_unknown_parent_code_is_reported(empty_store, toy, toy_layers, make_layer):
    items = toy_layers()["community"]
    items[0] = ({**items[0][0], "parent_code": "411327999000"}, items[0][1])
    plan = plan_boundaries(empty_store, _sources({**toy, "community": make_layer("orph", items)}))
    assert ("unknown_parent", "error") in _kinds(plan)
    assert "411327999000" in plan.to_text()
    assert plan.layer("community").unmatched_parents == [items[0][0]["code"]]


def test_misspelled_field_gets_a_suggestion(empty_store, toy):
    src = LayerSource(Layer.county, toy["county"], name_field="nmae")
    plan = plan_boundaries(empty_store, [src])
    (f,) = plan.findings
    assert f.kind == "missing_field" and f.field == "nmae" and "'name'" in (f.hint or "")
    assert "did you mean 'name'" in plan.to_text()


def test_bad_code_format(empty_store, toy, toy_layers, make_layer):
    items = toy_layers()["township"]
    items[0] = ({**items[0][0], "code": "4113271000"}, items[0][1])
    plan = plan_boundaries(
        empty_store, _sources({"county": toy["county"], "township": make_layer("code", items)})
    )
    assert ("bad_code", "error") in _kinds(plan)


def test_gbk_attributes(empty_store, toy_layers, tmp_path):
    shp = tmp_path / "gbk" / "townships.shp"
    write_shapefile(
        shp,
        [
            {
                "type": "Feature",
                "properties": {"code": p["code"], "name": p["name"], "parent": p["parent_code"]},
                "geometry": shapely.geometry.mapping(g),
            }
            for p, g in toy_layers()["township"]
        ],
        encoding="GBK",
    )
    shp.with_suffix(".cpg").unlink()
    plan = plan_boundaries(empty_store, [LayerSource(Layer.township, shp, parent_field="parent")])
    (f,) = plan.findings
    assert f.kind == "read_error" and "gbk" in (f.hint or "").lower()
    assert "--encoding gbk" in plan.to_text()
    src = LayerSource(Layer.township, shp, parent_field="parent", encoding="gbk")
    plan = plan_boundaries(empty_store, [src])
    assert plan.ok, plan.to_text()
    assert sorted(r.name for r in plan.layer("township").records) == ["乙街道", "甲镇"]


def test_failure_in_the_middle_of_a_commit_leaves_the_database_as_before(
    empty_store, toy, toy_layers, make_layer, dump
):
    import_boundaries(empty_store, _sources(toy), commit=True)
    index = empty_store.snap_index
    before = dump(empty_store)
    items = toy_layers()["community"]
    items = [(p | {"name": p["name"] + "（新）"}, g) for p, g in items]
    plan = plan_boundaries(empty_store, _sources({"community": make_layer("renamed", items)}))
    assert plan.ok and len(plan.layer("community").changed) == 4

    def explode(done, total):
        if done == 3:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        commit_plan(empty_store, plan, progress=explode)
    assert dump(empty_store) == before
    assert empty_store.snap_index is index
    assert len(empty_store.generations()) == 1
    # and the same plan commits fine afterwards
    assert commit_plan(empty_store, plan).status == "committed"
    assert all(a.name.endswith("（新）") for a in empty_store.areas(layer="community"))


def test_parents_by_containment_and_generated_unit_grid_codes(
    empty_store, toy, make_layer, dense_box
):
    import_boundaries(empty_store, _sources(toy), commit=True)
    grids = [
        ({"name": "一号院"}, dense_box(112.901, 33.001, 112.905, 33.004)),
        ({"name": "二号院"}, dense_box(112.96, 33.06, 112.965, 33.065)),
    ]
    src = LayerSource(Layer.unit_grid, make_layer("grids", grids), code_field=None)
    plan = plan_boundaries(empty_store, [src])
    assert plan.ok, plan.to_text()
    recs = {r.name: r for r in plan.layer("unit_grid").records}
    assert recs["一号院"].parent_code == "411327100001" and recs["一号院"].code == "411327100001001"
    assert recs["二号院"].parent_code == "411327001002" and recs["二号院"].code == "411327001002001"
    assert plan.layer("unit_grid").parents == {"by containment": 2}
    commit_plan(empty_store, plan)
    # re-importing the same file (still without codes) keeps the codes: nothing changes
    again = plan_boundaries(empty_store, [src])
    assert not again.has_changes, again.to_text()
    # a third grid in the same community gets the next sequence number
    grids.append(({"name": "三号院"}, dense_box(112.91, 33.01, 112.915, 33.015)))
    third = plan_boundaries(
        empty_store, [LayerSource(Layer.unit_grid, make_layer("g3", grids), code_field=None)]
    )
    assert [r.code for r in third.layer("unit_grid").new] == ["411327100001002"]


def test_real_shangqiu_counties_in_gcj02(empty_store):
    """The nine Shangqiu counties (GCJ-02, read in place) import and snap correctly."""
    src = LayerSource(Layer.county, REAL_COUNTIES, code_field="adcode", crs="gcj02")
    plan, result = import_boundaries(empty_store, [src], commit=True, source="shangqiu")
    assert plan.ok, plan.to_text()
    assert result.status == "committed" and len(plan.layer("county").new) == 9
    median, worst = plan.layer("county").shift_m
    assert 500 < median < 600 and worst < 650
    raw = json.loads(REAL_COUNTIES.read_text(encoding="utf-8"))
    for feat in raw["features"]:
        code = feat["properties"]["adcode"]
        raw_geom = shapely.geometry.shape(feat["geometry"])
        p = raw_geom.representative_point()  # GCJ-02, as in the file
        lon, lat = gcj02_to_wgs84(p.x, p.y)
        assert [a.code for a in empty_store.areas_covering(lon, lat)] == [code]
        stored = empty_store.area(code).geom
        x0, y0 = shapely.get_coordinates(raw_geom)[0]
        x1, y1 = shapely.get_coordinates(stored)[0]
        assert 500 < haversine_m(x0, y0, x1, y1) < 600
    minquan = empty_store.area("411421")
    assert minquan.name == "民权县" and minquan.generation_low_id == result.generation_id
