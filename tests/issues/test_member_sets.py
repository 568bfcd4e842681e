"""Party and place sets (``grids/issues/member_sets.py``): equal lists share one set, a
back-filled issue reads the parties and places a live report at its point gets, and a
set made by a transaction that did not commit is never handed out from the cache."""

from __future__ import annotations

from sqlalchemy import func, select

from civgrid.grids.issues import member_sets
from civgrid.grids.issues.backfill import backfill_issues, synthetic_history
from civgrid.grids.issues.models import Issue, PlaceSet, PlaceSetMember


def test_equal_lists_share_a_set_and_an_empty_one_has_none(store):
    with store.session() as s:
        a, b, c, none = member_sets.place_set_ids(
            s,
            [
                [("county", "T-C1"), ("unit_grid", "T-G1")],
                [("county", "T-C1"), ("unit_grid", "T-G1"), ("county", "T-C1")],  # twice
                [("unit_grid", "T-G1"), ("county", "T-C1")],  # another order
                [],
            ],
        )
        s.commit()
        assert a == b and a != c and none is None
        members = s.execute(
            select(PlaceSetMember.layer, PlaceSetMember.code)
            .where(PlaceSetMember.set_id == a)
            .order_by(PlaceSetMember.id)
        ).all()
        assert [tuple(m) for m in members] == [("county", "T-C1"), ("unit_grid", "T-G1")]
    with store.session() as s:  # another transaction finds the same set
        assert member_sets.place_set_ids(s, [[("county", "T-C1"), ("unit_grid", "T-G1")]]) == [a]


def test_a_set_of_a_transaction_that_did_not_commit_is_not_cached(store):
    wanted = [[("county", "T-ROLLED-BACK")]]
    for end in ("rollback", "close"):
        s = store._sessionmaker()
        (made,) = member_sets.place_set_ids(s, wanted)
        assert made is not None
        getattr(s, end)()
        # the same session, in its next transaction (a closed session can be used again)
        assert s.get(PlaceSet, made) is None  # it is gone…
        (again,) = member_sets.place_set_ids(s, wanted)  # …and made again, not remembered
        assert s.get(PlaceSet, again) is not None
        s.rollback()
        s.close()


def test_backfilled_issues_read_the_parties_and_places_of_a_live_report(store, config):
    from civgrid.grids.issues.intake import route_point

    rows = synthetic_history(store, 300, seed=21)
    report = backfill_issues(store, rows, commit=True, config=config)
    assert report.written == 300
    with store.session() as s:
        sets = s.scalar(select(func.count(func.distinct(Issue.party_set_id))))
        assert 0 < sets < 300  # shared
        issues = s.scalars(select(Issue).order_by(Issue.id).limit(40)).all()
        for issue in issues:
            parties = [(p.role, p.unit_id, p.leader_id) for p in issue.parties]
            places = {(p.layer, p.code) for p in issue.places}
            draft = Issue(category_code=issue.category_code)
            route_point(s, store, draft, issue.lon, issue.lat, issue.reported_at)
            assert parties == [(p.role, p.unit_id, p.leader_id) for p in draft.parties]
            assert any(p.role == "owner" for p in issue.parties) == (draft.owner_unit is not None)
            live = {(p.layer, p.code) for p in draft.places}
            # the bulk snap and a live report find the same objects (the live answer
            # adds the assessment point, which the back-fill reads from its own index)
            assert places - {("assessment_point", c) for _, c in places} <= live
        s.rollback()
