"""What the patrol plan takes in: assignments in force (half-open), last month's scores
under the caller's rules (installed profiles included), and the county's time zone.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from civgrid.grids.boundaries.models import Assignment, Leader, Role
from civgrid.grids.patrol.plan import compute_plan


def _leader_visits(result, leader_key):
    return [
        v
        for v in result.visits
        if v["kind"] == "leader_inspection" and v["leader_key"] == leader_key
    ]


def test_a_contract_ending_the_day_before_the_month_plans_no_visit(store):
    # assignments are half-open (valid_from <= d < valid_to): valid_to = 1 December
    # means the contract's last day was 30 November
    with store.session() as s:
        a = s.scalars(
            select(Assignment)
            .join(Leader, Leader.id == Assignment.leader_id)
            .where(Assignment.role == Role.contract, Assignment.object_layer == "community")
            .order_by(Assignment.id)
        ).first()
        leader = s.get(Leader, a.leader_id).key
        others = s.scalars(
            select(Assignment).where(
                Assignment.leader_id == a.leader_id,
                Assignment.role == Role.contract,
                Assignment.id != a.id,
            )
        ).all()
        for x in others:  # the leader keeps no other contract in December
            x.valid_to = date(2026, 11, 1)
        assert _leader_visits(compute_plan(s, store, "2026-12"), leader)
        a.valid_from, a.valid_to = date(2026, 1, 1), date(2026, 12, 1)
        s.flush()
        assert _leader_visits(compute_plan(s, store, "2026-12"), leader) == []
        # ending on 2 December: in force on 1 December, so still planned
        a.valid_to = date(2026, 12, 2)
        s.flush()
        assert _leader_visits(compute_plan(s, store, "2026-12"), leader)
