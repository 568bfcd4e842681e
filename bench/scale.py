"""At size: 10⁶ issues on PostGIS, generated in SQL, read through the real code paths.

Issue 26, "measured at size". A fresh PostGIS database (``civgrid_bench_scale``
next to ``--pg-url``) is migrated and the demo county loaded (as
``civgrid db upgrade`` + ``civgrid demo load --commit`` do); then ``--issues``
issues (default 10⁶, ``--quick`` 10⁵, ``--issues 10000000`` for a prefecture)
are generated **in SQL** (``INSERT … SELECT`` over ``ST_GeneratePoints``):

* **where**: 25 % inside the unit grids (路口, 路段, 广场…), 55 % inside the
  communities of the central city, 20 % in the townships outside it; each place
  gets a random weight (its square: a few busy places, many quiet ones). The
  codes (township, community, unit grid) are those of the polygon the point was
  drawn in, so no point-in-polygon join is needed;
* **what**: the leaf categories of the routing table, Zipf-weighted; sources
  weighted as a county's mix (grid workers, 12345 complaints, inspections…);
* **who**: the owner and the co-responsible units come from the **real
  routing engine** (``Store.responsible_for``), asked once per place ×
  category at a point of the place; the issue points at the party set of that
  answer (an ``owner`` and a ``co_responsible`` member per sharing unit, made once
  per answer: ``party_sets``), so unit queues work;
* **when**: ``reported_at`` uniform over the last ``--years`` years (default 5:
  the issue sizes a county at five years of records = 10⁶ issues); the open
  share depends on age (70 % of the last week, 25 % of the rest of the month,
  0.3 % of older ones, stragglers), the rest closed (93 %, 10 % of them after
  their deadline), rejected (5 %) or merged (2 %); deadlines from the category's
  hours; 3 % recurrences; one ``report`` event per issue in ``issue_events``.

Then ``ANALYZE``, and the measurements, in process through the ASGI app (FastAPI
``TestClient``, real accounts and tokens) and the scoring service:

(a) **queue page**: the open-issues queue of the busiest unit, as its unit
    handler sees it (``GET /api/v1/issues?kind=open&order=deadline&limit=50``:
    the query of the ``全部在办`` tab of ``/queue``, scope = the unit's issues; its
    total counted up to 1,000, ``total_capped`` beyond), ``--runs`` times (default
    200): p99 ≤ 50 ms. The whole HTML page ``/queue`` (its page and the exact count
    of each of its eight tabs) is printed as information;
(b) **the year's heatmap** from the database, county-wide, as the command
    center: ``GET /api/v1/heat/points?days=365`` and ``GET /api/v1/hexbins?days=365``
    (the two requests of ``/map/heat``; the window's issues read as one packed row,
    ``civgrid.maps.heat.issue_arrays``), 1 cold + 5 warm runs: each warm run
    ≤ 1 s;
(c) **a month's bulletin**: ``build_bulletin`` (what ``civgrid report monthly``
    and the bulletin preview run) of the last full month, a fresh scoring context
    each run (its issue records read from the database), 3 runs: each ≤ 10 s.

Targets (``bench/harness.py``; override through ``CIVGRID_BENCH_TARGETS``):
``scale_queue_p99_ms=50``, ``scale_heat_s=1``, ``scale_bulletin_s=10``. Exit 1 on
a miss or when the database cannot be prepared. The load average is printed with
each figure (the machine is shared).

Usage::

    python bench/scale.py --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    python bench/scale.py --quick              # 10⁵ issues (figures not the targets' size)
    python bench/scale.py --issues 10000000    # a prefecture (10⁷; ~10× the time)

``make bench`` runs it through ``bench/run.py`` (which passes ``--pg-url``).
"""

from __future__ import annotations

import argparse
import math
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEMO = ROOT / "data" / "boundaries" / "demo"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

from harness import (  # noqa: E402
    Outcome,
    drop_postgis_database,
    durability,
    postgis_database,
    target,
)

DB_NAME = "civgrid_bench_scale"
#: Where the points are drawn: kind of place → share of the issues (a local choice:
#: most 创文 problems are found in the central city's streets and communities).
PLACE_SHARES = {"unit_grid": 0.25, "community": 0.55, "township": 0.20}
#: Sources and their shares (a local choice, the mix of a county's records).
SOURCE_SHARES = {
    "grid_worker": 0.40,
    "citizen_complaint": 0.25,
    "field_supervision": 0.15,
    "unannounced_visit": 0.08,
    "referral": 0.05,
    "mystery_inspector": 0.03,
    "media_exposure": 0.02,
    "simulated_assessment": 0.02,
}
#: Who reports, by source: (reporter_role, reporter_who — a title, never a name).
REPORTER = {
    "grid_worker": ("grid_worker", "网格员"),
    "citizen_complaint": ("citizen", "12345热线"),
}
DEFAULT_REPORTER = ("inspector", "督查员")
OPEN_STATES = ("triage", "assigned", "rectifying", "submitted", "returned")


# ----------------------------------------------------------------------------- pure pieces


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100), nearest rank (a value some run really had).

    >>> percentile(range(1, 201), 99), percentile([3.0], 99)
    (198, 3.0)
    """
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def thresholds(weights: Sequence[float]) -> list[float]:
    """Lower bounds of each bucket in [0, 1) for ``width_bucket(random(), …)``.

    >>> thresholds([1, 1, 2])
    [0.0, 0.25, 0.5]
    """
    total = float(sum(weights))
    out, acc = [], 0.0
    for w in weights:
        out.append(acc / total)
        acc += w
    return out


def zipf(n: int, s: float = 1.0) -> list[float]:
    """Zipf weights ``1/k**s`` of ``n`` ranks.

    >>> [round(w, 2) for w in zipf(3)]
    [1.0, 0.5, 0.33]
    """
    return [1.0 / (k**s) for k in range(1, n + 1)]


def load() -> str:
    """The 1-minute load average, printed beside every figure."""
    return f"load {os.getloadavg()[0]:.2f}"


# ----------------------------------------------------------------------------- database


PLACES_SQL = """
CREATE UNLOGGED TABLE scale_places AS
WITH gen AS (SELECT id FROM generations WHERE active ORDER BY id DESC LIMIT 1),
cur AS (
    SELECT a.* FROM areas a, gen
    WHERE a.generation_low_id <= gen.id AND a.generation_high_id >= gen.id
),
central AS (
    SELECT coalesce(ST_Union(geom), 'SRID=4326;POLYGON EMPTY'::geometry) AS geom
    FROM cur WHERE type = 'central_city'
)
SELECT 'unit_grid'::text AS kind, g.code AS place, c.parent_code AS township,
       c.code AS community, g.code AS unit_grid, g.geom
FROM cur g JOIN cur c ON c.code = g.parent_code AND c.type IN ('community', 'village')
WHERE g.type = 'unit_grid'
UNION ALL
SELECT 'community', c.code, c.parent_code, c.code, NULL, c.geom
FROM cur c WHERE c.type IN ('community', 'village')
UNION ALL
SELECT 'township', t.code, t.code, NULL, NULL,
       ST_Multi(ST_CollectionExtract(ST_Difference(t.geom, central.geom), 3))
FROM cur t, central WHERE t.type IN ('township', 'street')
"""

# n points per place: a random weight per place (squared: a few busy places), the
# kind's share, cumulative floors so the counts add up to exactly :n
COUNTS_SQL = """
CREATE UNLOGGED TABLE scale_counts AS
WITH w AS (
    SELECT kind, place, power(random(), 2) + 0.02 AS w FROM scale_places
    WHERE NOT ST_IsEmpty(geom) AND ST_Area(geom) > 0
),
k AS (SELECT kind, sum(w) AS s FROM w GROUP BY kind),
x AS (
    SELECT w.kind, w.place, w.w / k.s * (%(shares)s::jsonb ->> w.kind)::float8 AS share
    FROM w JOIN k USING (kind)
),
c AS (SELECT kind, place, sum(share) OVER (ORDER BY kind, place) AS hi FROM x),
n AS (SELECT kind, place, hi / max(hi) OVER () AS hi FROM c)
SELECT kind, place,
       (floor(hi * %(n)s) - floor(coalesce(lag(hi) OVER (ORDER BY kind, place), 0) * %(n)s))::int
       AS n
FROM n
"""

POINTS_SQL = """
CREATE UNLOGGED TABLE scale_points AS
SELECT p.kind, p.place, p.township, p.community, p.unit_grid,
       (ST_Dump(ST_GeneratePoints(p.geom, c.n))).geom AS geom
FROM scale_places p JOIN scale_counts c USING (kind, place)
WHERE c.n > 0
"""

# every generated row with its category, source, time; ids in report order
ROWS_SQL = """
CREATE UNLOGGED TABLE scale_rows AS
SELECT s.*, (row_number() OVER (ORDER BY reported_at) + %(id0)s)::int AS id
FROM (
    SELECT pt.*,
           (%(cats)s::text[])[width_bucket(random(), %(cat_t)s::float8[])] AS category_code,
           (%(srcs)s::text[])[width_bucket(random(), %(src_t)s::float8[])] AS source,
           now() - random() * %(years)s * interval '365 days' AS reported_at,
           random() AS r_state, random() AS r_t1, random() AS r_t2, random() AS r_rec
    FROM scale_points pt
) s
"""

# state by age: open with p_open (70 %% < 7 days, 25 %% < 30 days, 0.3 %% older)
STATES_SQL = """
CREATE UNLOGGED TABLE scale_issues AS
WITH a AS (
    SELECT r.*, coalesce(c.deadline_hours, 72) AS hours,
           CASE WHEN r.reported_at > now() - interval '7 days' THEN 0.70
                WHEN r.reported_at > now() - interval '30 days' THEN 0.25
                ELSE 0.003 END AS p_open
    FROM scale_rows r LEFT JOIN categories c ON c.code = r.category_code
),
b AS (
    SELECT a.*,
           CASE WHEN r_state < p_open THEN
                CASE WHEN r_state / p_open < 0.05 THEN 'triage'
                     WHEN r_state / p_open < 0.40 THEN 'assigned'
                     WHEN r_state / p_open < 0.75 THEN 'rectifying'
                     WHEN r_state / p_open < 0.90 THEN 'submitted'
                     ELSE 'returned' END
           ELSE
                CASE WHEN (r_state - p_open) / (1 - p_open) < 0.93 THEN 'closed'
                     WHEN (r_state - p_open) / (1 - p_open) < 0.98 THEN 'rejected'
                     ELSE 'merged' END
           END AS state
    FROM a
),
t AS (
    SELECT b.*,
           CASE WHEN state IN ('triage', 'rejected', 'merged') THEN NULL
                ELSE least(reported_at + (0.5 + 3.5 * r_t1) * interval '1 hour', now())
           END AS assigned_at
    FROM b
),
d AS (
    SELECT t.*, assigned_at + hours * interval '1 hour' AS deadline,
           CASE state
               WHEN 'closed' THEN least(assigned_at + (0.1 + r_t2) * hours * interval '1 hour',
                                        now())
               WHEN 'rejected' THEN least(reported_at + interval '2 hours', now())
               WHEN 'merged' THEN least(reported_at + interval '1 hour', now())
           END AS closed_at
    FROM t
)
SELECT d.*,
       CASE WHEN state = 'closed' THEN greatest(closed_at - r_t1 * interval '6 hours',
                                                 assigned_at)
            WHEN state = 'submitted' THEN least(assigned_at + 0.5 * r_t2 * hours
                                                 * interval '1 hour', now())
       END AS submitted_at
FROM d
"""

ISSUES_SQL = """
INSERT INTO issues (
    id, version, state, category_code, source, priority, reporter_who, reporter_role,
    anonymous, lon, lat, geom, location_source, generation_id, county_code,
    township_code, community_code, unit_grid_code, owner_unit_id, party_set_id, reported_at,
    created_at, updated_at, assigned_at, deadline, deadline_rule, submitted_at,
    closed_at, overdue, escalated, extension_pending, overdue_at, return_count,
    extension_count, duplicate_count, notice_count, repeat_count, duplicate_of_id,
    recurrence_of_id, reinspection_result
)
SELECT s.id, 1, s.state, s.category_code, s.source, 'normal',
       coalesce(%(who)s::jsonb ->> s.source, %(who_default)s),
       coalesce(%(role)s::jsonb ->> s.source, %(role_default)s),
       false, ST_X(s.geom), ST_Y(s.geom), s.geom, 'point', %(gen)s, %(county)s,
       s.township, s.community, s.unit_grid, rt.owner_unit_id, rt.party_set_id, s.reported_at,
       s.reported_at, coalesce(s.closed_at, s.submitted_at, s.assigned_at, s.reported_at),
       s.assigned_at, s.deadline,
       CASE WHEN s.deadline IS NOT NULL THEN s.hours || 'h' END,
       s.submitted_at, s.closed_at,
       s.state IN ('assigned', 'rectifying', 'returned') AND s.deadline < now(), false, false,
       CASE WHEN s.deadline < coalesce(s.submitted_at, s.closed_at, now()) THEN s.deadline END,
       CASE WHEN s.state = 'returned' THEN 1 ELSE 0 END, 0, 0, 0,
       CASE WHEN s.r_rec < 0.03 AND s.id > %(id0)s + 1000 THEN 1 ELSE 0 END,
       CASE WHEN s.state = 'merged' AND s.id > %(id0)s + 1 THEN s.id - 1 END,
       CASE WHEN s.r_rec < 0.03 AND s.id > %(id0)s + 1000
            THEN s.id - 1 - (floor(s.r_rec * 33333)::int %% 1000) END,
       CASE WHEN s.state = 'closed' THEN 'passed' END
FROM scale_issues s
LEFT JOIN scale_routes rt ON rt.place = s.place AND rt.category_code = s.category_code
"""

EVENTS_SQL = """
INSERT INTO issue_events (issue_id, at, action, from_state, to_state, actor_who, actor_role)
SELECT i.id, i.reported_at, 'report', NULL,
       CASE WHEN i.assigned_at IS NULL THEN 'triage' ELSE 'assigned' END,
       i.reporter_who, i.reporter_role
FROM issues i WHERE i.id > %(id0)s
"""


def routes(store: Any, session: Any, places: list[tuple], cats: list[str]) -> list[tuple]:
    """(place, category, owner unit id, co-responsible unit ids) by the routing engine,
    once per place × category at a point of the place (today's assignments)."""
    from sqlalchemy import select

    from civgrid.grids.boundaries.models import Unit

    ids = {k: i for k, i in session.execute(select(Unit.key, Unit.id))}
    gen = store.active_generation(session)
    now = datetime.now(UTC)
    out = []
    for place, lon, lat in places:
        for cat in cats:
            resp = store.responsible_for(lon, lat, cat, at=now, generation=gen.id, session=session)
            owner = ids.get(resp.owner.key) if resp.owner is not None else None
            co = sorted(
                {ids[p.key] for p in resp.co_responsible() if p.key in ids and ids[p.key] != owner}
            )
            out.append((place, cat, owner, co))
    return out


def generate(
    store: Any, n: int, years: float, *, max_categories: int | None = None
) -> dict[str, Any]:
    """Generate ``n`` issues in SQL over the last ``years`` years; the seconds of each
    step and the counts. ``max_categories`` keeps the first leaf categories only (tests)."""
    from sqlalchemy import func, select

    from civgrid.grids.boundaries.models import Area, AreaType, Category
    from civgrid.grids.issues.member_sets import party_set_ids
    from civgrid.grids.issues.models import Issue

    steps: dict[str, float] = {}
    t = time.perf_counter()

    def step(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        steps[name] = now - t
        t = now

    import json

    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(PLACES_SQL)
        cur.execute(COUNTS_SQL, {"shares": json.dumps(PLACE_SHARES), "n": n})
        cur.execute(
            "SELECT p.place, ST_X(q), ST_Y(q) FROM scale_places p "
            "JOIN scale_counts c USING (kind, place), "
            "LATERAL ST_PointOnSurface(p.geom) AS q WHERE c.n > 0"
        )
        places = [tuple(r) for r in cur.fetchall()]
        raw.commit()
    finally:
        raw.close()
    with store.session() as session:
        # a category without children is one an issue is filed under
        parents = set(
            session.scalars(select(Category.parent_id).where(Category.parent_id.is_not(None)))
        )
        cats = [
            c
            for c, cid in session.execute(select(Category.code, Category.id).order_by(Category.id))
            if cid not in parents
        ][:max_categories]
        county = session.scalar(select(Area.code).where(Area.type == AreaType.county))
        id0 = int(session.scalar(select(func.coalesce(func.max(Issue.id), 0))) or 0)
        gen = store.active_generation(session).id
        table = routes(store, session, places, cats)
        sets = party_set_ids(  # the party set of each answer, made once (member_sets)
            session,
            [
                ([("owner", owner, None)] if owner is not None else [])
                + [("co_responsible", u, None) for u in co or []]
                for _place, _cat, owner, co in table
            ],
        )
        session.commit()
        table = [(*row, sid) for row, sid in zip(table, sets, strict=True)]
    step(f"route {len(places)} places × {len(cats)} categories")
    partitioned = _partitions_for(store, years)
    if partitioned:
        step("monthly partitions of the window (revision 0600)")
    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(
            "CREATE UNLOGGED TABLE scale_routes (place text, category_code text, "
            "owner_unit_id int, co_unit_ids int[], party_set_id int)"
        )
        cur.executemany("INSERT INTO scale_routes VALUES (%s, %s, %s, %s, %s)", table)
        cur.execute("CREATE INDEX ON scale_routes (place, category_code)")
        # the rows are consistent by construction (the test checks them): the foreign-key
        # triggers (a lookup per key per row) are off for this transaction's inserts
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute(POINTS_SQL)
        step("points (ST_GeneratePoints)")
        srcs = list(SOURCE_SHARES)
        cur.execute(
            ROWS_SQL,
            {
                "id0": id0,
                "cats": cats,
                "cat_t": thresholds(zipf(len(cats), 0.8)),
                "srcs": srcs,
                "src_t": thresholds([SOURCE_SHARES[s] for s in srcs]),
                "years": years,
            },
        )
        cur.execute(STATES_SQL)
        step("rows (categories, sources, times, states)")
        cur.execute(
            ISSUES_SQL,
            {
                "id0": id0,
                "who": json.dumps({s: w for s, (_r, w) in REPORTER.items()}, ensure_ascii=False),
                "who_default": DEFAULT_REPORTER[1],
                "role": json.dumps({s: r for s, (r, _w) in REPORTER.items()}),
                "role_default": DEFAULT_REPORTER[0],
                "gen": gen,
                "county": county,
            },
        )
        issues = cur.rowcount
        if partitioned:  # the key-table triggers are off with the foreign keys (replica)
            cur.execute(
                "INSERT INTO issue_keys (id, idempotency_key) "
                "SELECT id, idempotency_key FROM issues WHERE id > %(id0)s",
                {"id0": id0},
            )
        step("insert issues")
        cur.execute("SELECT coalesce(max(id), 0) FROM issue_events")
        ev0 = cur.fetchone()[0]
        cur.execute(EVENTS_SQL, {"id0": id0})
        events = cur.rowcount
        if partitioned:
            cur.execute(
                "INSERT INTO issue_event_keys (id) SELECT id FROM issue_events WHERE id > %s",
                (ev0,),
            )
        step("insert issue_events")
        cur.execute("SELECT setval(pg_get_serial_sequence('issues', 'id'), max(id)) FROM issues")
        for tmp in ("scale_issues", "scale_rows", "scale_points", "scale_routes"):
            cur.execute(f"DROP TABLE {tmp}")
        cur.execute("DROP TABLE scale_counts")
        cur.execute("DROP TABLE scale_places")
        raw.commit()
        step("commit")
    finally:
        raw.close()
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.exec_driver_sql("VACUUM ANALYZE")
    step("VACUUM ANALYZE")
    return {"steps": steps, "issues": issues, "party_sets": len(set(sets)), "events": events}


def _partitions_for(store: Any, years: float) -> bool:
    """On a partitioned history (revision 0600), create the monthly partitions of the
    generated window first (as ``civgrid db partitions`` would after a back-fill), so
    that no row lands in a default partition; whether the history is partitioned."""
    import math

    from civgrid.grids.core.calendar import local_today, local_zone
    from civgrid.grids.core.history_partitions import (
        add_months,
        apply_plan,
        partitioned_tables,
        plan_partitions,
    )

    months = math.ceil(years * 12) + 1
    with store.engine.begin() as conn:
        if not partitioned_tables(conn):
            return False
        first = add_months(local_today(), -months)
        report = plan_partitions(conn, ahead=months + 3, today=first, zone=local_zone())
        apply_plan(conn, report, local_zone())
    return True


# ----------------------------------------------------------------------------- measurements


#: CPU seconds of this process (the app, in process) of each call of the last :func:`timed`.
CPU: list[float] = []


def timed(fn: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    """Seconds of each of ``runs`` calls of ``fn``; the last result. The CPU seconds of
    this process in each call go to :data:`CPU` (on a shared machine the wall time of a
    request also counts the other jobs' turns; its CPU time does not)."""
    out, got = [], None
    CPU.clear()
    for _ in range(runs):
        c, t = time.process_time(), time.perf_counter()
        got = fn()
        out.append(time.perf_counter() - t)
        CPU.append(time.process_time() - c)
    return out, got


def cpu_note() -> str:
    """``app CPU median … ms`` of the last :func:`timed` (information, no target)."""
    return f"app CPU median {statistics.median(CPU) * 1000:.0f} ms"


def busiest_unit(store: Any) -> tuple[str, int]:
    """The unit with the most open issues (owner or co-responsible) and that count."""
    from sqlalchemy import text

    with store.engine.connect() as c:
        row = c.execute(
            text(
                "SELECT u.key, count(*) FROM issues i "
                "JOIN party_set_members p ON p.set_id = i.party_set_id "
                "JOIN units u ON u.id = p.unit_id "
                "WHERE p.role IN ('owner', 'co_responsible') AND i.state = ANY(:open) "
                "GROUP BY u.key ORDER BY 2 DESC LIMIT 1"
            ),
            {"open": list(OPEN_STATES)},
        ).one()
    return str(row[0]), int(row[1])


def last_full_month(now: datetime) -> str:
    """``YYYY-MM`` of the month before ``now``'s (county time is close enough here).

    >>> last_full_month(datetime(2026, 1, 15, tzinfo=UTC))
    '2025-12'
    """
    first = now.replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def measure(url: str, work: Path, runs: int, outcome: Outcome) -> None:
    """The three measurements, printed with their targets."""
    from fastapi.testclient import TestClient

    from civgrid.api.app import create_app
    from civgrid.api.settings import Settings
    from support.authclient import token_for

    # map_cache_seconds=0: every run reads the database (the 2 s micro-cache of heat
    # points would otherwise answer the warm runs from memory, api/microcache.py)
    settings = Settings(
        database_url=url,
        var_dir=work,
        secret_key=secrets.token_urlsafe(32),
        map_cache_seconds=0,
    )
    app = create_app(settings)
    with TestClient(app) as client:
        store = app.state.store
        unit, open_count = busiest_unit(store)
        handler = {
            "Authorization": "Bearer " + token_for(app, "scale-unit", "unit_handler", unit=unit)
        }
        center = {"Authorization": "Bearer " + token_for(app, "scale-center", "dispatcher")}

        def get(path: str, headers: dict[str, str]) -> Any:
            r = client.get(path, headers=headers)
            if r.status_code != 200:
                raise RuntimeError(f"GET {path}: {r.status_code} {r.text[:300]}")
            return r

        # (a) the queue
        path = "/api/v1/issues?kind=open&order=deadline&limit=50"
        get(path, handler)  # warm-up: first compile of the query, caches
        secs, r = timed(lambda: get(path, handler), runs)
        p99, goal = percentile(secs, 99) * 1000, target("scale_queue_p99_ms", 50.0)
        st = outcome.check("queue page p99", p99 <= goal)
        print(
            f"  (a) queue of unit {unit} ({open_count:,} open issues as owner or co-responsible; "
            f"the page says {r.json()['total']:,}{'+' if r.json().get('total_capped') else ''}"
            f" in its queue): {runs} × GET {path}"
        )
        print(
            f"      median {statistics.median(secs) * 1000:.1f} ms, p99 {p99:.1f} ms "
            f"(target ≤ {goal:g} ms: {st}); {cpu_note()}; {load()}"
        )
        page_secs, _ = timed(lambda: get("/queue?view=open", handler), max(runs // 10, 3))
        print(
            f"      information: the whole HTML page /queue?view=open (page + 8 tab counts), "
            f"{len(page_secs)} runs: median {statistics.median(page_secs) * 1000:.0f} ms, "
            f"max {max(page_secs) * 1000:.0f} ms"
        )
        # (b) the year's heatmap
        heat_goal = target("scale_heat_s", 1.0)
        for name, hpath in (
            ("heat points", "/api/v1/heat/points?days=365&zoom=13"),
            ("hexbins", "/api/v1/hexbins?days=365&zoom=13"),
        ):
            cold, _ = timed(lambda hpath=hpath: get(hpath, center), 1)
            secs, r = timed(lambda hpath=hpath: get(hpath, center), 5)
            worst = max(secs)
            st = outcome.check(f"year's heatmap: {name}", worst <= heat_goal)
            body = r.json()
            size = len(body["points"]) if "points" in body else len(body.get("features", []))
            kind = "points" if "points" in body else "cells"
            print(
                f"  (b) the year's {name}, county-wide: GET {hpath} ({size:,} {kind}, "
                f"{len(r.content) / 1e3:,.0f} kB)"
            )
            print(
                f"      cold {cold[0]:.2f} s; 5 warm runs: median {statistics.median(secs):.2f} s, "
                f"worst {worst:.2f} s (target ≤ {heat_goal:g} s: {st}); {cpu_note()}; {load()}"
            )
        with store.session() as s:
            from sqlalchemy import func, select

            from civgrid.grids.issues.models import Issue

            newest = s.scalar(select(func.max(Issue.reported_at)))
            in_year = s.scalar(
                select(func.count(Issue.id)).where(Issue.reported_at > newest - timedelta(days=365))
            )
        print(f"      the window holds {in_year:,} issues")
    # (c) a month's bulletin
    bulletin(url, outcome)


def bulletin(url: str, outcome: Outcome) -> None:
    """A month's bulletin through the scoring service, 3 runs."""
    from civgrid.api.cli.points import standards_registry
    from civgrid.api.cli.scoring import score_registry
    from civgrid.grids.boundaries.store import Store
    from civgrid.grids.core.db import make_engine
    from civgrid.grids.scoring.bulletins import build_bulletin
    from civgrid.grids.scoring.score import Period
    from civgrid.grids.scoring.service import ScoringContext

    store = Store(make_engine(url))
    store.rebuild_index()
    now = datetime.now(UTC)
    month = last_full_month(now)
    period = Period.parse(month)
    goal = target("scale_bulletin_s", 10.0)
    try:
        content: dict[str, Any] = {}

        def run() -> None:
            with store.session() as session:
                reg = score_registry()
                ctx = ScoringContext(
                    store, session, reg, None, now=now, standards=standards_registry()
                )
                content.update(build_bulletin(ctx, period))
                session.rollback()

        secs, _ = timed(run, 3)
    finally:
        store.engine.dispose()
    worst = max(secs)
    st = outcome.check("a month's bulletin", worst <= goal)
    summary = content.get("summary", {})
    print(
        f"  (c) the bulletin of {month} (build_bulletin: {summary.get('issues', 0):,} issues "
        f"reported in the month, {len(content.get('communities', []))} communities, "
        f"{len(content.get('townships', []))} townships, {summary.get('cases', 0)} cases)"
    )
    print(
        f"      3 runs: {', '.join(f'{s:.2f}' for s in secs)} s; worst {worst:.2f} s "
        f"(target ≤ {goal:g} s: {st}); {load()}"
    )


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    """Prepare the database, generate the issues, measure, print; the exit status."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg-url", default=None, help="SQLAlchemy URL of a PostGIS cluster")
    ap.add_argument("--issues", type=int, default=1_000_000, help="issues to generate")
    ap.add_argument("--years", type=float, default=5.0, help="years of reports (default 5)")
    ap.add_argument("--runs", type=int, default=200, help="queue requests (default 200)")
    ap.add_argument("--quick", action="store_true", help="10⁵ issues, 50 queue requests")
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards")
    ap.add_argument(
        "--reuse", action="store_true", help="measure the database an earlier --keep run left"
    )
    args, _ = ap.parse_known_args(argv)  # bench/run.py passes the other benchmarks' flags
    n = min(args.issues, 100_000) if args.quick else args.issues
    runs = min(args.runs, 50) if args.quick else args.runs
    outcome = Outcome()
    print("civgrid at size (bench/scale.py): issues generated in SQL on PostGIS")
    print(
        f"  {n:,} issues over {args.years:g} years; {os.cpu_count()} cores, "
        f"{_memory()}, {load()} at start"
    )
    if not args.pg_url:
        print("  FAILED: no --pg-url (make bench provides a cluster)")
        outcome.peer_failed("PostGIS database", "no --pg-url")
        return outcome.exit_status()
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="civgrid-scale-"))
    try:
        from civgrid.grids.boundaries.store import Store
        from civgrid.grids.core.db import make_engine
        from civgrid.grids.demo.load import load_demo

        if args.reuse:
            from sqlalchemy.engine import make_url

            url = make_url(args.pg_url).set(database=DB_NAME).render_as_string(False)
            measure(url, work, runs, outcome)
            return outcome.exit_status()
        url = postgis_database(args.pg_url, DB_NAME)
        print(f"  postgis: {durability(url)}", flush=True)
        store = Store(make_engine(url))
        try:
            t = time.perf_counter()
            store.upgrade()
            load_demo(store, DEMO, commit=True)
            store.rebuild_index()
            print(f"  migrated, demo county loaded: {time.perf_counter() - t:.0f} s")
            t = time.perf_counter()
            got = generate(store, n, args.years)
            took = time.perf_counter() - t
            print(
                f"  generated {got['issues']:,} issues ({got['party_sets']:,} party sets), "
                f"{got['events']:,} events in {took:.0f} s ({got['issues'] / took:,.0f} issues/s)"
            )
            for name, sec in got["steps"].items():
                print(f"    {name:<48} {sec:7.1f} s")
            print(f"  database size {_db_size(store)}; {load()}")
        finally:
            store.engine.dispose()
        measure(url, work, runs, outcome)
    except Exception as exc:
        print(f"  FAILED: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        outcome.peer_failed("scale bench", type(exc).__name__)
        import traceback

        traceback.print_exc()
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if not (args.keep or args.reuse):
            drop_postgis_database(args.pg_url, DB_NAME)
    print(f"  {time.perf_counter() - started:.0f} s in all; {load()} at the end")
    return outcome.exit_status()


def _memory() -> str:
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        return f"{pages * size / 2**30:.1f} GiB RAM"
    except (ValueError, OSError):
        return "RAM unknown"


def _db_size(store: Any) -> str:
    from sqlalchemy import text

    with store.engine.connect() as c:
        total = c.scalar(text("SELECT pg_database_size(current_database())"))
        issues = c.scalar(  # the partitions too (revision 0600); a plain table has none
            text(
                "SELECT coalesce(sum(pg_total_relation_size(relid)), "
                "pg_total_relation_size('issues')) FROM pg_partition_tree('issues')"
            )
        )
    return f"{total / 2**20:,.0f} MiB (issues with indexes {issues / 2**20:,.0f} MiB)"


if __name__ == "__main__":
    raise SystemExit(main())
