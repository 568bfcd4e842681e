"""``bench/scale.py``: the issues it generates in SQL are consistent, and it can fail.

The generator must make data the real code paths accept as their own: every issue
inside the polygons whose codes it carries, an owner party row matching its owner
unit (so unit queues see it), one ``report`` event, ids in report order, times and
states that agree. A few thousand issues on a copy of the demo county show it.
"""

from __future__ import annotations

import doctest

import pytest
import scale
from sqlalchemy import text

from support.demo_stores import demo_store_copy
from support.pgcluster import free_port

N = 3000


@pytest.fixture
def generated(request, tmp_path):
    store = next(gen := demo_store_copy("postgis", request, tmp_path))
    got = scale.generate(store, N, years=2.0, max_categories=4)
    yield store, got
    next(gen, None)


def _one(store, sql: str, **params):
    with store.engine.connect() as c:
        return c.execute(text(sql), params).one()


@pytest.mark.postgis
def test_generated_issues_are_consistent(generated):
    store, got = generated
    assert got["issues"] == N
    assert _one(store, "SELECT count(*), count(DISTINCT id) FROM issues") == (N, N)
    # every point lies in the areas whose codes it carries (the polygon it was drawn in)
    outside = _one(
        store,
        """
        SELECT count(*) FILTER (WHERE i.unit_grid_code IS NOT NULL AND NOT EXISTS (
                   SELECT 1 FROM areas a WHERE a.code = i.unit_grid_code
                   AND ST_Covers(a.geom, i.geom))),
               count(*) FILTER (WHERE i.community_code IS NOT NULL AND NOT EXISTS (
                   SELECT 1 FROM areas a WHERE a.code = i.community_code
                   AND ST_Covers(a.geom, i.geom))),
               count(*) FILTER (WHERE NOT EXISTS (
                   SELECT 1 FROM areas a WHERE a.code = i.township_code
                   AND ST_Covers(a.geom, i.geom))),
               count(*) FILTER (WHERE i.lon <> ST_X(i.geom) OR i.lat <> ST_Y(i.geom))
        FROM issues i
        """,
    )
    assert tuple(outside) == (0, 0, 0, 0)
    # all three kinds of place are used
    kinds = _one(
        store,
        "SELECT count(*) FILTER (WHERE unit_grid_code IS NOT NULL), "
        "count(*) FILTER (WHERE community_code IS NOT NULL AND unit_grid_code IS NULL), "
        "count(*) FILTER (WHERE community_code IS NULL) FROM issues",
    )
    assert all(k > 0 for k in kinds), kinds
    # the owner party row is the owner unit; one report event per issue
    parties = _one(
        store,
        """
        SELECT count(*) FILTER (WHERE i.owner_unit_id IS NOT NULL AND (
                   SELECT count(*) FROM party_set_members p WHERE p.set_id = i.party_set_id
                   AND p.role = 'owner' AND p.unit_id = i.owner_unit_id) <> 1),
               count(*) FILTER (WHERE i.owner_unit_id IS NOT NULL),
               count(*) FILTER (WHERE (SELECT count(*) FROM issue_events e
                   WHERE e.issue_id = i.id AND e.action = 'report'
                   AND e.at = i.reported_at) <> 1)
        FROM issues i
        """,
    )
    assert parties[0] == 0 and parties[1] > N * 0.9 and parties[2] == 0, parties
    # ids in report order; times and states agree
    bad = _one(
        store,
        """
        SELECT count(*) FILTER (WHERE i.reported_at < i.before),
               count(*) FILTER (WHERE state IN ('closed', 'rejected', 'merged')
                                AND closed_at IS NULL),
               count(*) FILTER (WHERE state NOT IN ('closed', 'rejected', 'merged')
                                AND closed_at IS NOT NULL),
               count(*) FILTER (WHERE closed_at < reported_at OR assigned_at < reported_at),
               count(*) FILTER (WHERE reported_at > now()
                                OR reported_at < now() - interval '731 days'),
               count(*) FILTER (WHERE state NOT IN ('closed', 'rejected', 'merged'))
        FROM (SELECT *, max(reported_at) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING
                                               AND 1 PRECEDING) AS before FROM issues) i
        """,
    )
    assert tuple(bad[:5]) == (0, 0, 0, 0, 0), bad
    assert 0 < bad[5] < N * 0.1, bad  # a realistic open share (mostly the last month)
    # every reference resolves (the inserts run without the foreign-key triggers)
    dangling = _one(
        store,
        """
        SELECT
          (SELECT count(*) FROM issues i WHERE NOT EXISTS (
              SELECT 1 FROM categories c WHERE c.code = i.category_code)),
          (SELECT count(*) FROM issues i WHERE i.owner_unit_id IS NOT NULL AND NOT EXISTS (
              SELECT 1 FROM units u WHERE u.id = i.owner_unit_id)),
          (SELECT count(*) FROM issues i WHERE NOT EXISTS (
              SELECT 1 FROM generations g WHERE g.id = i.generation_id)),
          (SELECT count(*) FROM issues i WHERE NOT EXISTS (
              SELECT 1 FROM issues j WHERE j.id = coalesce(i.recurrence_of_id,
                                                          i.duplicate_of_id, i.id))),
          (SELECT count(*) FROM issues i WHERE i.party_set_id IS NOT NULL AND NOT EXISTS (
              SELECT 1 FROM party_sets p WHERE p.id = i.party_set_id))
        """,
    )
    assert tuple(dangling) == (0, 0, 0, 0, 0), dangling
    # the scratch tables are gone, the sequence is past the generated ids
    assert _one(store, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'scale_%'")[0] == 0
    assert _one(store, "SELECT nextval(pg_get_serial_sequence('issues', 'id'))")[0] > N


def test_without_a_database_the_bench_fails(capsys):
    dead = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x"
    assert scale.main(["--issues", "10"]) == 1
    assert "FAILED PostGIS database" in capsys.readouterr().out
    assert scale.main(["--issues", "10", "--pg-url", dead]) == 1
    assert "FAILED scale bench" in capsys.readouterr().out


def test_the_examples_of_the_bench_run():
    assert doctest.testmod(scale).failed == 0


def test_the_queue_index_covers_exactly_the_open_states():
    """``ix_issues_open_deadline`` serves a queue only if its predicate names the open
    states of the state table (a state added as open needs a new migration)."""
    import re

    from civgrid.grids.issues.models import OPEN_STATES_SQL
    from civgrid.grids.issues.workflow import open_states

    assert re.findall(r"'(\w+)'", OPEN_STATES_SQL) == list(open_states())
