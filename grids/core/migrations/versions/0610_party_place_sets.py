"""Party sets and place sets shared by issues, instead of child rows per issue (issue 26).

An issue's parties (``issue_parties``: role, unit or leader) and places
(``issue_places``: layer, code) were some 15 rows per issue, each with two or three
indexes: most of a back-fill's time. A county has a few thousand distinct lists, so
each list is now stored once as an immutable set keyed by the SHA-256 of its members
(``party_sets`` + ``party_set_members``, ``place_sets`` + ``place_set_members``;
:mod:`civgrid.grids.issues.member_sets`) and an issue points at its sets
(``issues.party_set_id``, ``issues.place_set_id``; NULL: no member).

What is dropped: a party's ``reason`` and a place's ``distance_m``, which differ from
point to point and would defeat the sharing; the issue's routing answer
(``issues.routing`` / ``routing_id``) holds both (each party's reason, the road
section's, key sites' and shop's distances).

A populated database is converted: every issue's parties (in id order) and places
are grouped into sets in Python (streamed), the sets written with ids given, the
issue columns filled with one ``UPDATE … FROM`` a staging table, then the old tables
dropped. Works on a partitioned history (0600) too. The downgrade expands the sets
back into rows per issue (``reason`` and ``distance_m`` NULL); on SQLite the two
columns stay on ``issues``, all NULL (as 0590's ``routing_id``: SQLite cannot drop a
column named in a foreign key).

Revision ID: 0610
Revises: 0600
Create Date: 2026-12-07
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator

import sqlalchemy as sa
from alembic import op

revision = "0610"
down_revision = "0600"
branch_labels = None
depends_on = None

#: Rows per staging insert.
CHUNK = 10_000


def _digest(members: list[tuple]) -> str:
    """The set key, as :func:`civgrid.grids.issues.member_sets.party_hash` computes it
    (copied: a migration does not change with the code)."""
    text = json.dumps([list(m) for m in members], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _create_sets() -> None:
    for kind in ("party", "place"):
        op.create_table(
            f"{kind}_sets",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("hash", sa.String(64), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{kind}_sets")),
            sa.UniqueConstraint("hash", name=op.f(f"uq_{kind}_sets_hash")),
        )
    op.create_table(
        "party_set_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("leader_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_party_set_members")),
        sa.CheckConstraint(
            "(unit_id IS NOT NULL AND leader_id IS NULL) OR "
            "(leader_id IS NOT NULL AND unit_id IS NULL)",
            name=op.f("ck_party_set_members_one_subject"),
        ),
        sa.ForeignKeyConstraint(
            ["set_id"],
            ["party_sets.id"],
            name=op.f("fk_party_set_members_set_id_party_sets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["units.id"],
            name=op.f("fk_party_set_members_unit_id_units"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["leader_id"],
            ["leaders.id"],
            name=op.f("fk_party_set_members_leader_id_leaders"),
            ondelete="RESTRICT",
        ),
    )
    op.create_index("ix_party_set_members_unit", "party_set_members", ["unit_id", "role", "set_id"])
    op.create_index(
        "ix_party_set_members_leader", "party_set_members", ["leader_id", "role", "set_id"]
    )
    op.create_index("ix_party_set_members_set", "party_set_members", ["set_id"])
    op.create_table(
        "place_set_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("layer", sa.String(32), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_place_set_members")),
        sa.UniqueConstraint(
            "set_id", "layer", "code", name=op.f("uq_place_set_members_set_layer_code")
        ),
        sa.ForeignKeyConstraint(
            ["set_id"],
            ["place_sets.id"],
            name=op.f("fk_place_set_members_set_id_place_sets"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_place_set_members_layer_code", "place_set_members", ["layer", "code", "set_id"]
    )


def _add_issue_columns() -> None:
    bind = op.get_bind()
    columns = {c["name"] for c in sa.inspect(bind).get_columns("issues")}
    for kind in ("party", "place"):
        col, fk = f"{kind}_set_id", op.f(f"fk_issues_{kind}_set_id_{kind}_sets")
        if bind.dialect.name == "sqlite":
            # in place, no table copy (issues may hold millions of rows); a column left
            # behind by a downgrade (all NULL) is taken as it is
            if col not in columns:
                op.execute(
                    f"ALTER TABLE issues ADD COLUMN {col} INTEGER CONSTRAINT {fk} "
                    f"REFERENCES {kind}_sets (id)"
                )
        else:
            op.add_column("issues", sa.Column(col, sa.Integer(), nullable=True))
            op.create_foreign_key(fk, "issues", f"{kind}_sets", [col], ["id"])


def _per_issue(sql: str) -> Iterator[tuple[int, list[tuple]]]:
    """(issue id, its member tuples in order) from ``sql`` (issue_id first, ordered)."""
    rows = op.get_bind().exec_driver_sql(sql)
    current, members = None, []
    for issue_id, *member in rows:
        if issue_id != current:
            if current is not None:
                yield current, members
            current, members = issue_id, []
        members.append(tuple(member))
    if current is not None:
        yield current, members


def _group(kind: str, per_issue: Iterable[tuple[int, list[tuple]]], columns: tuple[str, ...]):
    """Write the sets of ``per_issue``; return issue id → set id."""
    bind = op.get_bind()
    ids: dict[str, int] = {}
    sets: list[dict] = []
    members: list[dict] = []
    of_issue: dict[int, int] = {}
    for issue_id, found in per_issue:
        h = _digest(found)
        sid = ids.get(h)
        if sid is None:
            sid = ids[h] = len(ids) + 1
            sets.append({"id": sid, "hash": h})
            members += [dict(zip(("set_id", *columns), (sid, *m), strict=True)) for m in found]
        of_issue[issue_id] = sid
    set_table = sa.table(f"{kind}_sets", sa.column("id"), sa.column("hash"))
    member_table = sa.table(f"{kind}_set_members", *(sa.column(c) for c in ("set_id", *columns)))
    for i in range(0, len(sets), CHUNK):
        bind.execute(sa.insert(set_table), sets[i : i + CHUNK])
    for i in range(0, len(members), CHUNK):
        bind.execute(sa.insert(member_table), members[i : i + CHUNK])
    if bind.dialect.name == "postgresql" and sets:
        for t in (f"{kind}_sets", f"{kind}_set_members"):
            op.execute(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), max(id)) FROM {t}")
    return of_issue


def _convert() -> None:
    parties = _group(
        "party",
        _per_issue(
            "SELECT issue_id, role, unit_id, leader_id FROM issue_parties ORDER BY issue_id, id"
        ),
        ("role", "unit_id", "leader_id"),
    )
    places = _group(
        "place",
        _per_issue("SELECT issue_id, layer, code FROM issue_places ORDER BY issue_id, id"),
        ("layer", "code"),
    )
    if not parties and not places:
        return
    bind = op.get_bind()
    op.execute(
        "CREATE TEMPORARY TABLE _issue_sets "
        "(issue_id INTEGER PRIMARY KEY, party_set_id INTEGER, place_set_id INTEGER)"
    )
    stage = sa.table(
        "_issue_sets", sa.column("issue_id"), sa.column("party_set_id"), sa.column("place_set_id")
    )
    rows = [
        {"issue_id": i, "party_set_id": parties.get(i), "place_set_id": places.get(i)}
        for i in sorted(parties.keys() | places.keys())
    ]
    for i in range(0, len(rows), CHUNK):
        bind.execute(sa.insert(stage), rows[i : i + CHUNK])
    op.execute(
        "UPDATE issues SET party_set_id = s.party_set_id, place_set_id = s.place_set_id "
        "FROM _issue_sets s WHERE issues.id = s.issue_id"
    )
    op.execute("DROP TABLE _issue_sets")


def upgrade() -> None:
    _create_sets()
    _add_issue_columns()
    _convert()
    op.drop_table("issue_parties")
    op.drop_table("issue_places")
    op.create_index("ix_issues_party_set_state", "issues", ["party_set_id", "state"])
    op.create_index("ix_issues_place_set", "issues", ["place_set_id"])


def _old_tables() -> None:
    """``issue_parties`` and ``issue_places`` as revision 0600 had them."""
    from civgrid.grids.core.history_partitions import partitioned_tables

    bind = op.get_bind()
    # on a partitioned history the foreign keys to issues point at its key table (0600)
    target = "issue_keys" if "issues" in partitioned_tables(bind) else "issues"
    for table, extra in (
        (
            "issue_parties",
            [
                sa.Column("role", sa.String(32), nullable=False),
                sa.Column("unit_id", sa.Integer(), nullable=True),
                sa.Column("leader_id", sa.Integer(), nullable=True),
                sa.Column("reason", sa.JSON(), nullable=True),
                sa.CheckConstraint(
                    "(unit_id IS NOT NULL AND leader_id IS NULL) OR "
                    "(leader_id IS NOT NULL AND unit_id IS NULL)",
                    name="ck_issue_parties_one_subject",
                ),
                sa.ForeignKeyConstraint(
                    ["unit_id"],
                    ["units.id"],
                    name="fk_issue_parties_unit_id_units",
                    ondelete="RESTRICT",
                ),
                sa.ForeignKeyConstraint(
                    ["leader_id"],
                    ["leaders.id"],
                    name="fk_issue_parties_leader_id_leaders",
                    ondelete="RESTRICT",
                ),
            ],
        ),
        (
            "issue_places",
            [
                sa.Column("layer", sa.String(32), nullable=False),
                sa.Column("code", sa.String(32), nullable=False),
                sa.Column("distance_m", sa.Float(), nullable=True),
                sa.UniqueConstraint(
                    "issue_id", "layer", "code", name="uq_issue_places_issue_layer_code"
                ),
            ],
        ),
    ):
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("issue_id", sa.Integer(), nullable=False),
            *[c for c in extra if isinstance(c, sa.Column)],
            sa.Column("_sentinel", sa.Integer(), nullable=True),
            sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
            sa.ForeignKeyConstraint(
                ["issue_id"],
                [f"{target}.id"],
                name=f"fk_{table}_issue_id_{target}",
                ondelete="CASCADE",
            ),
            *[c for c in extra if not isinstance(c, sa.Column)],
        )


def downgrade() -> None:
    _old_tables()
    op.execute(
        "INSERT INTO issue_parties (issue_id, role, unit_id, leader_id) "
        "SELECT i.id, m.role, m.unit_id, m.leader_id FROM issues i "
        "JOIN party_set_members m ON m.set_id = i.party_set_id ORDER BY i.id, m.id"
    )
    op.execute(
        "INSERT INTO issue_places (issue_id, layer, code) "
        "SELECT i.id, m.layer, m.code FROM issues i "
        "JOIN place_set_members m ON m.set_id = i.place_set_id ORDER BY i.id, m.id"
    )
    op.create_index("ix_issue_parties_unit", "issue_parties", ["unit_id", "role"])
    op.create_index("ix_issue_parties_leader", "issue_parties", ["leader_id", "role"])
    op.create_index("ix_issue_parties_issue_unit", "issue_parties", ["issue_id", "unit_id", "role"])
    op.create_index("ix_issue_places_layer_code", "issue_places", ["layer", "code"])
    op.drop_index("ix_issues_party_set_state", table_name="issues")
    op.drop_index("ix_issues_place_set", table_name="issues")
    if op.get_bind().dialect.name == "sqlite":  # the columns stay, all NULL
        op.execute("UPDATE issues SET party_set_id = NULL, place_set_id = NULL")
    else:
        for kind in ("party", "place"):
            op.drop_constraint(
                op.f(f"fk_issues_{kind}_set_id_{kind}_sets"), "issues", type_="foreignkey"
            )
            op.drop_column("issues", f"{kind}_set_id")
    for t in ("party_set_members", "place_set_members", "party_sets", "place_sets"):
        op.drop_table(t)
