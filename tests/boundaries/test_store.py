"""The store on both backends: generations, lookups, old generations, the index swap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import shapely
from sqlalchemy import func, select

from civgrid.grids.boundaries.imports import LayerSource, import_boundaries
from civgrid.grids.boundaries.index import GenerationIndex
from civgrid.grids.boundaries.models import Area, Generation, Layer
from civgrid.grids.core.errors import InvalidInputError, NotFoundError


def _import(store, files, tiling=None, **kw):
    sources = [
        LayerSource(
            Layer(layer),
            path,
            tiling=tiling,
            parent_field="parent_code" if layer != "county" else None,
        )
        for layer, path in files.items()
    ]
    plan, result = import_boundaries(store, sources, commit=True, **kw)
    assert plan.ok, plan.to_text()
    return plan, result


def _names(areas):
    return [a.name for a in areas]


def test_empty_store_answers_nothing(empty_store):
    assert empty_store.active_generation() is None
    assert empty_store.rebuild_index().generation_id is None
    assert empty_store.areas_covering(112.92, 33.02) == []
    assert empty_store.hits_at(112.92, 33.02) == (None, {})
    assert empty_store.areas() == []


def test_lookups_in_the_current_generation(empty_store, toy):
    _, result = _import(empty_store, toy)
    assert result.status == "committed"
    gen = empty_store.active_generation()
    assert gen.id == result.generation_id and gen.active and gen.activated is not None
    assert empty_store.snap_index.generation_id == gen.id
    assert _names(empty_store.areas_covering(112.92, 33.02)) == ["测试县", "甲镇", "甲镇1社区"]
    assert _names(empty_store.areas_covering(112.97, 33.07)) == ["测试县", "乙街道", "乙街道2社区"]
    assert empty_store.areas_covering(112.5, 33.02) == []
    assert _names(empty_store.areas_covering(112.92, 33.02, types=["community"])) == ["甲镇1社区"]
    # on the shared edge of the two townships the smallest code wins (411327001000 乙街道)
    assert [
        a.name for a in empty_store.areas_covering(112.95, 33.02, types=["street", "township"])
    ] == ["乙街道"]
    assert {a.type for a in empty_store.areas(layer="township")} == {"township", "street"}
    assert empty_store.area("411327100001").name == "甲镇1社区"
    with pytest.raises(NotFoundError):
        empty_store.area("999")


def test_bad_coordinates_are_refused(empty_store):
    with pytest.raises(InvalidInputError):
        empty_store.areas_covering(float("nan"), 33.0)
    with pytest.raises(InvalidInputError):
        empty_store.areas_covering(33.0, 112.9)  # lat, lon swapped


def test_second_generation_keeps_the_old_one_queryable(
    empty_store, toy, toy_layers, make_layer, dense_box
):
    store = empty_store
    _, first = _import(store, toy)
    gen1 = first.generation_id
    old = {a.code: a for a in store.areas()}

    # generation 2: the boundary between 甲镇's communities moves north to 33.06
    items = toy_layers()["community"]
    moved = []
    for props, geom in items:
        if props["code"] == "411327100001":
            geom = dense_box(112.90, 33.00, 112.95, 33.06)
        elif props["code"] == "411327100002":
            geom = dense_box(112.90, 33.06, 112.95, 33.10)
        moved.append((props, geom))
    plan, second = _import(store, {"community": make_layer("moved", moved)})
    lp = plan.layer("community")
    assert [r.code for r in lp.changed] == ["411327100001", "411327100002"]
    assert len(lp.unchanged) == 2 and lp.new == [] and lp.removed == []
    gen2 = second.generation_id
    assert gen2 > gen1

    p = (112.92, 33.055)
    # lookups default to the new generation …
    assert _names(store.areas_covering(*p, types=["community"])) == ["甲镇1社区"]
    assert store.snap_index.generation_id == gen2
    # … and the old generation still answers with its own rows
    old_answer = store.areas_covering(*p, generation=gen1, types=["community"])
    assert _names(old_answer) == ["甲镇2社区"]
    assert old_answer[0].id == old["411327100002"].id
    assert store.area("411327100002", generation=gen1).geom.equals(old["411327100002"].geom)
    # an issue recorded in generation 1 keeps its area row
    assert store.area("411327100001", generation=gen1).id == old["411327100001"].id
    assert store.area("411327100001").id != old["411327100001"].id
    # unchanged objects keep their row, which now spans both generations
    kept = store.area("411327001001")
    assert kept.id == old["411327001001"].id
    assert (kept.generation_low_id, kept.generation_high_id) == (gen1, gen2)
    county = store.area("411327000000")
    assert county.id == old["411327000000"].id and county.generation_high_id == gen2
    # the answer of the old generation comes from the store, not the current index
    with store.session() as s:
        assert (store._index_for(gen1, s) is None) == (store.backend == "postgis")


def test_removed_area_and_deactivation(empty_store, toy, toy_layers, make_layer):
    store = empty_store
    _, first = _import(store, toy)
    fewer = [it for it in toy_layers()["community"] if it[0]["code"] != "411327001002"]
    # a community left out leaves a gap in its township: allowed only without tiling
    plan, second = _import(store, {"community": make_layer("fewer", fewer)}, tiling=False)
    assert plan.layer("community").removed == [("411327001002", "乙街道2社区")]
    p = (112.97, 33.07)
    assert _names(store.areas_covering(*p)) == ["测试县", "乙街道"]
    assert _names(store.areas_covering(*p, generation=first.generation_id))[-1] == "乙街道2社区"
    before = store.snap_index
    store.set_generation_active(second.generation_id, False)
    assert store.active_generation().id == first.generation_id
    assert store.snap_index is not before and before.generation_id == second.generation_id
    assert _names(store.areas_covering(*p))[-1] == "乙街道2社区"


def test_unchanged_import_writes_nothing(empty_store, toy, dump):
    _import(empty_store, toy)
    before = dump(empty_store)
    plan, result = _import(empty_store, toy)
    assert not plan.has_changes and result.status == "unchanged"
    assert dump(empty_store) == before


def test_generation_at(empty_store, toy, toy_layers, make_layer):
    store = empty_store
    _, first = _import(store, toy)
    t1 = datetime.now(UTC)
    shrunk = [
        (p, g) if p["code"] != "411327000000" else (p, g.buffer(0.001))
        for p, g in toy_layers()["county"]
    ]
    _, second = _import(store, {"county": make_layer("bigger", shrunk)})
    assert store.generation_at(t1).id == first.generation_id
    assert store.generation_at(datetime.now(UTC)).id == second.generation_id
    assert store.generation_at(t1 - timedelta(days=1)) is None
    assert [g.id for g in store.generations()] == [first.generation_id, second.generation_id]


def test_index_swap_is_one_assignment(empty_store, toy):
    _import(empty_store, toy)
    old = empty_store.snap_index
    new = empty_store.rebuild_index()
    assert new is empty_store.snap_index and new is not old
    assert isinstance(old, GenerationIndex) and old.counts() == new.counts()
    assert empty_store.index_summary() == {"county": 1, "township": 2, "community": 4}


def test_sqlite_caches_indexes_of_old_generations(sqlite_store, toy, toy_layers, make_layer):
    empty_store = sqlite_store
    _, first = _import(empty_store, toy)
    _import(
        empty_store,
        {"county": make_layer("c2", [(p, g.buffer(0.001)) for p, g in toy_layers()["county"]])},
    )
    empty_store.areas_covering(112.92, 33.02, generation=first.generation_id)
    assert first.generation_id in empty_store._old_indexes
    cached = empty_store._old_indexes[first.generation_id]
    empty_store.areas_covering(112.93, 33.03, generation=first.generation_id)
    assert empty_store._old_indexes[first.generation_id] is cached


def test_row_counts_per_generation(empty_store, toy):
    _import(empty_store, toy)
    with empty_store.session() as s:
        assert s.scalar(select(func.count()).select_from(Area)) == 7
        assert s.scalar(select(func.count()).select_from(Generation)) == 1


@pytest.mark.postgis
def test_index_agrees_with_postgis(postgis_demo_store):
    """The in-process index and PostGIS (ST_Covers, ST_DWithin) give the same answers."""
    store = postgis_demo_store
    gen = store.active_generation().id
    rng = np.random.default_rng(7)
    county = store.area("411327000000").geom
    town = store.area("411327100000").geom.union(store.area("411327001000").geom)
    pts = [
        tuple(rng.uniform(county.bounds[i], county.bounds[i + 2]) for i in (0, 1))
        for _ in range(150)
    ]
    minx, miny, maxx, maxy = town.bounds
    pts += [(rng.uniform(minx, maxx), rng.uniform(miny, maxy)) for _ in range(350)]
    # vertices of areas: points on boundaries and shared edges
    for code in ("411327100001", "411327100002", "411327001001"):
        pts += [tuple(c) for c in shapely.get_coordinates(store.area(code).geom)[::7]]
    with store.session() as s:
        for lon, lat in pts:
            idx = store.snap_index.snap(lon, lat)
            sql = store._sql_hits(s, gen, lon, lat)
            for layer in ("county", "township", "community", "unit_grid", "supervision_area"):
                assert [h.code for h in idx.get(layer, [])] == [
                    h.code for h in sql.get(layer, [])
                ], (layer, lon, lat)
            for layer in ("road_section", "key_site"):
                a = {h.code: h.distance_m for h in idx.get(layer, [])}
                b = {h.code: h.distance_m for h in sql.get(layer, [])}
                for code in set(a) | set(b):
                    if code in a and code in b:
                        assert a[code] == pytest.approx(b[code], abs=0.01)
                    else:  # only a hair's breadth from the radius/tolerance may differ
                        d = a.get(code, b.get(code))
                        limit = 30.0 if layer == "road_section" else 400.0
                        assert abs(d - limit) < 0.05, (layer, code, d)
