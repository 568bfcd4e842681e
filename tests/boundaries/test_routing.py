"""Routing rules as data: the most specific category wins, per (layer, role, subject kind)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from civgrid.grids.boundaries.models import Layer, Role, RoutingRule, SubjectKind
from civgrid.grids.boundaries.routing import effective_rules
from civgrid.grids.boundaries.seed import load_category_tree, load_routing_rules

CHAIN = ["illegal_parking", "traffic"]  # a category and its parent
CATS = [None, "traffic", "illegal_parking", "markets"]  # markets is not in the chain

rule_st = st.builds(
    lambda i, cat, layer, role, kind, prio: RoutingRule(
        id=i, category_code=cat, layer=layer, role=role, subject_kind=kind, priority=prio
    ),
    st.integers(1, 10_000),
    st.sampled_from(CATS),
    st.sampled_from([Layer.community, Layer.unit_grid, Layer.county]),
    st.sampled_from([Role.responsible, Role.lead]),
    st.sampled_from(list(SubjectKind)),
    st.integers(0, 100),
)


def _rank(cat):
    return CHAIN.index(cat) if cat in CHAIN else len(CHAIN)


@given(st.lists(rule_st, max_size=25, unique_by=lambda r: r.id))
def test_effective_rules_against_brute_force(rules):
    chosen = effective_rules(rules, CHAIN)
    applicable = [r for r in rules if r.category_code in (None, *CHAIN)]
    for (
        r
    ) in applicable:  # brute force: r is kept iff no applicable rule of its key is more specific
        same = [
            o
            for o in applicable
            if (o.layer, o.role, o.subject_kind) == (r.layer, r.role, r.subject_kind)
        ]
        expected = _rank(r.category_code) == min(_rank(o.category_code) for o in same)
        assert (r in chosen) == expected
    assert all(r.category_code != "markets" for r in chosen)
    assert [(r.priority, r.id) for r in chosen] == sorted((r.priority, r.id) for r in chosen)


def test_seed_files_are_consistent():
    codes = []

    def walk(nodes):
        for n in nodes:
            codes.append(n["code"])
            walk(n.get("children") or [])

    walk(load_category_tree())
    assert len(codes) == len(set(codes))
    hard = {
        "cigarette_butts",
        "hsr_station",
        "taxi",
        "main_intersection",
        "parking_bays",
        "public_toilet",
        "urban_river",
        "garbage_blind_spot",
        "dog_nuisance",
    }
    assert hard <= set(codes)
    assert all(r.get("category") in (None, *codes) for r in load_routing_rules())
