"""Revision 0600 converts a populated PostGIS database to a monthly-partitioned history
and back, keeping every row (issue 26).

A simulated season (issues, events, parties, places, photos, notices…) is written
through the domain code into a demo-county copy, which is then taken back to revision
0590 (0610's downgrade expands the party and place sets into rows per issue). Counts
and checksums (of the ids and of the whole rows) of the issues, their events and every
table that references them are taken before, after the upgrade and after the
downgrade; they must agree. Between, the tables must be partitioned with every row in
its month's partition, deleting an issue must restrict and cascade as it did on one
table; then, upgraded to head (0610 on the partitioned tables), an intake through the
app must land in the partition of its month (or in the default one, which ``civgrid
db partitions --commit`` then splits), and the way back down must keep every row.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

from civgrid.grids.core.calendar import local_zone
from civgrid.grids.core.history_partitions import HISTORY, partition_name
from civgrid.grids.core.migrate import alembic_config, head_revision
from support.demo_stores import demo_store_copy
from support.issue_helpers import COMPOUND, Clock, offset, point_in

pytestmark = [pytest.mark.postgis, pytest.mark.slow]

#: The issues, their events and every table that references either.
TABLES = (
    "issues",
    "issue_events",
    "issue_parties",
    "issue_places",
    "issue_photos",
    "supervision_notices",
    "extension_requests",
    "transfer_requests",
    "patrol_visit_issues",
    "issue_campaigns",
    "point_inspection_items",
)
#: The same at head but the issues (their set ids are renumbered by 0610's upgrade):
#: the parties and places are shared sets, compared per issue by :func:`memberships`.
HEAD_TABLES = tuple(t for t in TABLES if t not in ("issues", "issue_parties", "issue_places"))
SEASON_END = datetime(2026, 10, 20, 10, 0, tzinfo=UTC)


@pytest.fixture
def store(request, tmp_path):
    yield from demo_store_copy("postgis", request, tmp_path)


def migrate(store, revision: str, down: bool = False) -> None:
    cfg = alembic_config(store.engine)
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)
    assert store.revision() == revision


def snapshot(store, tables: tuple[str, ...] = TABLES) -> dict[str, tuple[int, str, str]]:
    """Table → (rows, md5 of the ordered ids, md5 of the ordered whole rows)."""
    out = {}
    with store.engine.connect() as c:
        for t in tables:
            out[t] = tuple(
                c.exec_driver_sql(
                    f"SELECT count(*), md5(coalesce(string_agg(x.id::text, ',' ORDER BY x.id), "
                    f"'')), md5(coalesce(string_agg(x::text, '|' ORDER BY x.id), '')) FROM {t} x"
                ).one()
            )
    return out


def memberships(store) -> list[tuple]:
    """Per issue (by id): its state, parties and places in order, through its sets (head)."""
    with store.engine.connect() as c:
        return c.exec_driver_sql(
            "SELECT i.id, i.state, i.owner_unit_id, "
            "(SELECT string_agg(m.role || '/' || coalesce(m.unit_id, -1) || '/' "
            "|| coalesce(m.leader_id, -1), ',' ORDER BY m.id) FROM party_set_members m "
            "WHERE m.set_id = i.party_set_id), "
            "(SELECT string_agg(m.layer || '/' || m.code, ',' ORDER BY m.id) "
            "FROM place_set_members m WHERE m.set_id = i.place_set_id) "
            "FROM issues i ORDER BY i.id"
        ).all()


def deletion_behaviour(store) -> dict[str, object]:
    """What deleting issues does (rolled back): RESTRICT by events, CASCADE to parties and
    places, SET NULL on duplicates and inspection items."""
    seen: dict[str, object] = {}
    with store.engine.connect() as c:
        tx = c.begin()
        x, y = c.exec_driver_sql(
            "SELECT min(i.id), max(i.id) FROM issues i "
            "WHERE EXISTS (SELECT 1 FROM issue_parties p WHERE p.issue_id = i.id)"
        ).one()
        nested = c.begin_nested()
        with pytest.raises(IntegrityError) as err:
            c.exec_driver_sql(f"DELETE FROM issues WHERE id = {x}")
        seen["restricted"] = err.value.orig.sqlstate
        nested.rollback()
        c.exec_driver_sql(f"UPDATE issues SET duplicate_of_id = {x} WHERE id = {y}")
        c.exec_driver_sql(
            f"UPDATE point_inspection_items SET issue_id = {x} "
            "WHERE id = (SELECT min(id) FROM point_inspection_items)"
        )
        for t in ("issue_photos", "supervision_notices", "extension_requests"):
            c.exec_driver_sql(f"DELETE FROM {t} WHERE issue_id = {x}")
        c.exec_driver_sql(f"DELETE FROM transfer_requests WHERE issue_id = {x}")
        c.exec_driver_sql(f"DELETE FROM issue_events WHERE issue_id = {x}")
        seen["parties before"] = c.exec_driver_sql(
            f"SELECT count(*) FROM issue_parties WHERE issue_id = {x}"
        ).scalar()
        seen["deleted"] = c.exec_driver_sql(f"DELETE FROM issues WHERE id = {x}").rowcount
        for t in ("issue_parties", "issue_places", "issue_campaigns", "patrol_visit_issues"):
            seen[t] = c.exec_driver_sql(f"SELECT count(*) FROM {t} WHERE issue_id = {x}").scalar()
        seen["duplicate_of_id"] = c.exec_driver_sql(
            f"SELECT duplicate_of_id FROM issues WHERE id = {y}"
        ).scalar()
        seen["items pointing at it"] = c.exec_driver_sql(
            f"SELECT count(*) FROM point_inspection_items WHERE issue_id = {x}"
        ).scalar()
        seen["issue count"] = c.exec_driver_sql("SELECT count(*) FROM issues").scalar()
        tx.rollback()
    return seen


def partition_of(store, table: str, key: str, row_id: int) -> str:
    with store.engine.connect() as c:
        return c.exec_driver_sql(
            f"SELECT tableoid::regclass::text FROM {table} WHERE id = {row_id}"
        ).scalar()


def misplaced(store) -> list[tuple]:
    """Rows not in the partition named for their month (county time)."""
    zone = str(local_zone())
    bad = []
    with store.engine.connect() as c:
        for h in HISTORY:
            bad += c.exec_driver_sql(
                f"SELECT '{h.table}', id, tableoid::regclass::text FROM {h.table} "
                f"WHERE tableoid::regclass::text <> '{h.table}_p' || "
                f"to_char({h.key} AT TIME ZONE '{zone}', 'YYYY_MM')"
            ).all()
    return bad


def intake(client, clock: Clock, when: datetime, lon: float, lat: float) -> int:
    """Report one issue through the app at ``when``; its id."""
    clock.set(when)
    r = client.post(
        "/api/v1/issues",
        json={"category": "dumping", "source": "grid_worker", "lon": lon, "lat": lat},
    )
    assert r.status_code == 201, r.text
    got = client.get(f"/api/v1/issues/{r.json()['id']}")
    assert got.status_code == 200 and got.json()["state"] in ("assigned", "triage")
    return r.json()["id"]


@contextmanager
def app_client(store, tmp_path, clock: Clock):
    """An API client of the app on ``store``'s database with a controllable clock."""
    from civgrid.api.app import create_app
    from civgrid.api.settings import Settings
    from civgrid.grids.issues.config import IssueConfig
    from support.authclient import AuthClient

    url = store.engine.url.render_as_string(hide_password=False)
    app = create_app(Settings(database_url=url, var_dir=tmp_path, build_index_on_startup=False))
    app.state.issue_config = IssueConfig(clock=clock, photo_dir=tmp_path / "photos")
    with AuthClient(app) as client:
        app.state.store.snap_index = store.snap_index
        yield client


def test_partitioning_keeps_every_row_and_converts_back(store, tmp_path, monkeypatch) -> None:
    from civgrid.api.cli import app as cli
    from civgrid.grids.demo.season import simulate
    from civgrid.grids.issues.config import IssueConfig

    report = simulate(
        store, days=62, end=SEASON_END, per_day=2.0, config=IssueConfig(photo_dir=tmp_path)
    )
    assert report.reports > 60
    at_head = snapshot(store, HEAD_TABLES), memberships(store)
    assert sum(1 for m in at_head[1] if m[3]) > 60  # issues with parties
    migrate(store, "0590", down=True)
    before = snapshot(store)
    assert before["issues"][0] == report.reports
    assert before["issue_events"][0] > before["issues"][0]
    behaviour = deletion_behaviour(store)
    assert behaviour["restricted"] == "23503" and behaviour["deleted"] == 1
    assert behaviour["parties before"] > 0 and behaviour["issue_parties"] == 0
    assert behaviour["duplicate_of_id"] is None

    migrate(store, "0600")  # not opted in: one table each, nothing changed
    with store.engine.connect() as c:
        assert not c.exec_driver_sql("SELECT 1 FROM pg_partitioned_table").all()
    assert snapshot(store) == before
    migrate(store, "0590", down=True)
    monkeypatch.setenv("CIVGRID_PARTITION_HISTORY", "1")
    migrate(store, "0600")
    assert snapshot(store) == before
    with store.engine.connect() as c:
        parents = {
            r[0]
            for r in c.exec_driver_sql("SELECT partrelid::regclass::text FROM pg_partitioned_table")
        }
        months = c.exec_driver_sql(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'issues'::regclass"
        ).scalar()
    assert parents == {"issues", "issue_events"}
    assert months >= 4 + 1  # August–October 2026 and this month on, plus the default
    assert misplaced(store) == []
    assert deletion_behaviour(store) == behaviour
    with store.engine.connect() as c, pytest.raises(IntegrityError) as dup:
        c.exec_driver_sql(
            "INSERT INTO issues SELECT * FROM issues WHERE id = (SELECT min(id) FROM issues)"
        )
    assert dup.value.orig.sqlstate == "23505"  # the id is unique across partitions

    # up to head on the partitioned tables: the same sets as before the way down
    migrate(store, head_revision())
    assert (snapshot(store, HEAD_TABLES), memberships(store)) == at_head

    # an intake through the app lands in its month's partition, and one of a month
    # without a partition in the default one, until the command runs
    clock = Clock(SEASON_END)
    lon, lat = point_in(store, COMPOUND)
    with app_client(store, tmp_path, clock) as client:
        sept = intake(client, clock, datetime(2026, 9, 15, 2, 0, tzinfo=UTC), lon, lat)
        far = intake(
            client, clock, datetime(2031, 5, 6, 2, 0, tzinfo=UTC), *offset(lon, lat, 400, 0)
        )
    assert partition_of(store, "issues", "reported_at", sept) == "issues_p2026_09"
    assert partition_of(store, "issues", "reported_at", far) == "issues_default"
    url = store.engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    dry = runner.invoke(cli, ["db", "partitions", "--db", url, "--ahead", "0"])
    assert dry.exit_code == 0, dry.output
    assert "would create issues_p2031_05, moving 1 rows out of issues_default" in dry.output
    assert partition_of(store, "issues", "reported_at", far) == "issues_default"
    mid = snapshot(store, HEAD_TABLES), memberships(store)
    done = runner.invoke(cli, ["db", "partitions", "--db", url, "--ahead", "0", "--commit"])
    assert done.exit_code == 0, done.output
    assert "created issue_events_p2031_05" in done.output
    may = partition_name("issues", datetime(2031, 5, 1).date())
    assert partition_of(store, "issues", "reported_at", far) == may
    assert misplaced(store) == [] and (snapshot(store, HEAD_TABLES), memberships(store)) == mid
    with store.engine.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM issues_default").scalar() == 0
        keys = c.exec_driver_sql("SELECT count(*) FROM issue_keys").scalar()
    assert keys == len(mid[1])  # one key per issue

    # back to 0600 (rows per issue again, on the partitioned tables), then to one table
    # each: the same rows
    migrate(store, "0600", down=True)
    low = snapshot(store)
    assert low["issue_parties"][0] > before["issue_parties"][0]  # the two intakes'
    assert low["issues"][0] == before["issues"][0] + 2
    assert deletion_behaviour(store)["restricted"] == "23503"
    migrate(store, "0590", down=True)
    assert snapshot(store) == low
    with store.engine.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM pg_partitioned_table").scalar() == 0
        assert c.exec_driver_sql("SELECT to_regclass('issue_keys')").scalar() is None
    assert deletion_behaviour(store)["restricted"] == "23503"
