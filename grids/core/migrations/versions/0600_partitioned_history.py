"""Partitioned history on PostgreSQL: issues and issue events by month (issue 26).

On PostgreSQL, ``issues`` (by ``reported_at``) and ``issue_events`` (by ``at``) become
tables partitioned by month, with the design of
:mod:`civgrid.grids.core.history_partitions` (key tables ``issue_keys`` and
``issue_event_keys`` carry the unique ids and are what the foreign keys reference).
A populated database is converted in set-based SQL: the old table is renamed, the
partitioned one created like it, one partition per month that holds rows (plus this
month and three ahead, and a default partition), the rows copied with
``INSERT … SELECT``, then the indexes, foreign keys and triggers made on the parent.
The id sequences are kept (re-owned by the new tables). The downgrade converts back
to one table each. SQLite: nothing (one table each, as the models say). PostgreSQL
converts only when asked (:data:`OPT_IN`).

Revision ID: 0600
Revises: 0590
Create Date: 2026-12-07
"""

from __future__ import annotations

from datetime import date

from alembic import op

from civgrid.grids.core.calendar import local_today, local_zone
from civgrid.grids.core.history_partitions import (
    HISTORY,
    MOVE_SETTING,
    History,
    add_months,
    month_bounds,
    partition_name,
    partitioned_tables,
)

revision = "0600"
down_revision = "0590"
branch_labels = None
depends_on = None

#: Partitions made ahead of this month by the migration (``civgrid db partitions``
#: keeps making them).
AHEAD = 3

_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


def _rows(sql: str) -> list[tuple]:
    return [tuple(r) for r in op.get_bind().exec_driver_sql(sql)]


def _incoming_fks(target: str) -> list[tuple[str, str, str, str]]:
    """(table, constraint, column, on delete) of the foreign keys that reference ``target``."""
    return _rows(
        "SELECT c.conrelid::regclass::text, c.conname, a.attname, c.confdeltype "
        "FROM pg_constraint c JOIN pg_attribute a "
        "ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        f"WHERE c.contype = 'f' AND c.confrelid = '{target}'::regclass "
        "AND c.conparentid = 0 "
        "ORDER BY 1, 2"
    )


def _outgoing_fks(table: str, skip: set[str]) -> list[tuple[str, str]]:
    """(name, definition) of ``table``'s own foreign keys except those to ``skip``."""
    return [
        (name, definition)
        for name, definition, target in _rows(
            "SELECT conname, pg_get_constraintdef(oid), confrelid::regclass::text "
            f"FROM pg_constraint WHERE contype = 'f' AND conrelid = '{table}'::regclass "
            "AND conparentid = 0 ORDER BY conname"
        )
        if target not in skip
    ]


def _index_defs(table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX …) of ``table``'s indexes that back no constraint."""
    return [
        (name, definition.replace(" ON ONLY ", " ON "))
        for name, definition in _rows(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid "
            f"WHERE x.indrelid = '{table}'::regclass AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid) ORDER BY 1"
        )
    ]


def _drop_links(
    t: str, incoming: list[tuple], indexes: list[tuple[str, str]], outgoing: list[tuple[str, str]]
) -> None:
    """Drop the foreign keys into ``t``, its plain indexes and its own foreign keys."""
    for child, name, _col, _act in incoming:
        op.execute(f"ALTER TABLE {child} DROP CONSTRAINT {name}")
    for name, _ in indexes:
        op.execute(f"DROP INDEX {name}")
    for name, _ in outgoing:
        op.execute(f"ALTER TABLE {t} DROP CONSTRAINT {name}")


def _sequence(table: str) -> str:
    return _rows(f"SELECT pg_get_serial_sequence('{table}', 'id')")[0][0]


def _months(h: History, table: str) -> list[date]:
    zone = local_zone()
    first, last = _rows(
        f"SELECT min({h.key} AT TIME ZONE '{zone}')::date, "
        f"max({h.key} AT TIME ZONE '{zone}')::date FROM {table}"
    )[0]
    today = local_today()
    last = max(last or today, add_months(today, AHEAD))
    month = add_months(min(first or today, today), 0)
    out = []
    while month <= last:
        out.append(month)
        month = add_months(month, 1)
    return out


def _key_functions(h: History) -> None:
    """The trigger functions that keep ``h.keys_table`` equal to the ids of ``h.table``."""
    cols = ", ".join(("id", *h.key_columns))
    new_cols = ", ".join(f"NEW.{c}" for c in ("id", *h.key_columns))
    moving = f"coalesce(current_setting('{MOVE_SETTING}', true), '') = 'on'"
    frozen = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in ("id", h.key, *h.key_columns))
    frozen_names = ", ".join(("id", h.key, *h.key_columns))
    op.execute(
        f"CREATE FUNCTION {h.table}_key_insert() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN IF {moving} THEN RETURN NEW; END IF; "
        f"INSERT INTO {h.keys_table} ({cols}) VALUES ({new_cols}); RETURN NEW; END $$"
    )
    op.execute(
        f"CREATE FUNCTION {h.table}_key_delete() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN IF {moving} THEN RETURN NULL; END IF; "
        f"DELETE FROM {h.keys_table} WHERE id = OLD.id; RETURN NULL; END $$"
    )
    op.execute(
        f"CREATE FUNCTION {h.table}_key_frozen() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN IF {frozen} THEN RAISE EXCEPTION USING ERRCODE = 'restrict_violation', "
        f"MESSAGE = '{h.table}: {frozen_names} cannot change (partitioned history)'; "
        "END IF; RETURN NEW; END $$"
    )
    op.execute(
        f"CREATE TRIGGER trg_{h.table}_key_insert BEFORE INSERT ON {h.table} "
        f"FOR EACH ROW EXECUTE FUNCTION {h.table}_key_insert()"
    )
    op.execute(
        f"CREATE TRIGGER trg_{h.table}_key_delete AFTER DELETE ON {h.table} "
        f"FOR EACH ROW EXECUTE FUNCTION {h.table}_key_delete()"
    )
    op.execute(
        f"CREATE TRIGGER trg_{h.table}_key_frozen BEFORE UPDATE ON {h.table} "
        f"FOR EACH ROW EXECUTE FUNCTION {h.table}_key_frozen()"
    )


def _drop_key_functions(h: History) -> None:
    for what in ("insert", "delete", "frozen"):
        op.execute(f"DROP TRIGGER IF EXISTS trg_{h.table}_key_{what} ON {h.table}")
        op.execute(f"DROP FUNCTION IF EXISTS {h.table}_key_{what}()")


def _to_partitioned(h: History) -> None:
    t, old = h.table, f"{h.table}_unpartitioned"
    seq = _sequence(t)
    incoming = _incoming_fks(t)
    outgoing = _outgoing_fks(t, skip={t})
    indexes = _index_defs(t)
    _drop_links(t, incoming, indexes, outgoing)
    op.execute(f"ALTER TABLE {t} DROP CONSTRAINT pk_{t}")
    for col in h.key_columns:
        op.execute(f"ALTER TABLE {t} DROP CONSTRAINT uq_{t}_{col}")
    op.execute(f"ALTER TABLE {t} RENAME TO {old}")

    # the key table: one row per id (and the unique idempotency key of an issue)
    extra = "".join(f", {c} varchar(200)" for c in h.key_columns)
    uniques = "".join(f", CONSTRAINT uq_{h.keys_table}_{c} UNIQUE ({c})" for c in h.key_columns)
    op.execute(
        f"CREATE TABLE {h.keys_table} (id integer NOT NULL{extra}, "
        f"CONSTRAINT pk_{h.keys_table} PRIMARY KEY (id){uniques})"
    )
    cols = ", ".join(("id", *h.key_columns))
    op.execute(f"INSERT INTO {h.keys_table} ({cols}) SELECT {cols} FROM {old}")

    op.execute(
        f"CREATE TABLE {t} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
        f"INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY RANGE ({h.key})"
    )
    op.execute(f"ALTER SEQUENCE {seq} OWNED BY {t}.id")
    zone = local_zone()
    for month in _months(h, old):
        lo, hi = month_bounds(month, zone)
        op.execute(
            f"CREATE TABLE {partition_name(t, month)} PARTITION OF {t} "
            f"FOR VALUES FROM ('{lo.isoformat()}') TO ('{hi.isoformat()}')"
        )
    op.execute(f"CREATE TABLE {h.default} PARTITION OF {t} DEFAULT")
    op.execute(f"INSERT INTO {t} SELECT * FROM {old}")
    op.execute(f"DROP TABLE {old}")

    op.execute(f"ALTER TABLE {t} ADD CONSTRAINT pk_{t} PRIMARY KEY (id, {h.key})")
    for _name, definition in indexes:
        op.execute(definition)
    for name, definition in outgoing:
        op.execute(f"ALTER TABLE {t} ADD CONSTRAINT {name} {definition}")
    op.execute(
        f"ALTER TABLE {t} ADD CONSTRAINT fk_{t}_id_{h.keys_table} FOREIGN KEY (id) "
        f"REFERENCES {h.keys_table} (id) ON DELETE CASCADE"
    )
    for child, _name, col, act in incoming:
        op.execute(
            f"ALTER TABLE {child} ADD CONSTRAINT fk_{child}_{col}_{h.keys_table} "
            f"FOREIGN KEY ({col}) REFERENCES {h.keys_table} (id) ON DELETE {_ACTIONS[act]}"
        )
    _key_functions(h)
    op.execute(f"ANALYZE {t}")
    op.execute(f"ANALYZE {h.keys_table}")


def _to_plain(h: History) -> None:
    t, old = h.table, f"{h.table}_partitioned"
    seq = _sequence(t)
    own = f"fk_{t}_id_{h.keys_table}"
    incoming = [fk for fk in _incoming_fks(h.keys_table) if fk[1] != own]
    outgoing = _outgoing_fks(t, skip={h.keys_table})
    indexes = _index_defs(t)
    _drop_key_functions(h)
    _drop_links(t, incoming, indexes, outgoing)
    op.execute(f"ALTER TABLE {t} DROP CONSTRAINT {own}")
    op.execute(f"ALTER TABLE {t} DROP CONSTRAINT pk_{t}")
    op.execute(f"ALTER TABLE {t} RENAME TO {old}")

    op.execute(
        f"CREATE TABLE {t} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
        "INCLUDING STORAGE INCLUDING COMMENTS)"
    )
    op.execute(f"ALTER SEQUENCE {seq} OWNED BY {t}.id")
    op.execute(f"INSERT INTO {t} SELECT * FROM {old} ORDER BY id")
    op.execute(f"DROP TABLE {old}")  # and its partitions
    op.execute(f"DROP TABLE {h.keys_table}")

    op.execute(f"ALTER TABLE {t} ADD CONSTRAINT pk_{t} PRIMARY KEY (id)")
    for col in h.key_columns:
        op.execute(f"ALTER TABLE {t} ADD CONSTRAINT uq_{t}_{col} UNIQUE ({col})")
    for _name, definition in indexes:
        op.execute(definition)
    for name, definition in outgoing:
        op.execute(f"ALTER TABLE {t} ADD CONSTRAINT {name} {definition}")
    for child, _name, col, act in incoming:
        op.execute(
            f"ALTER TABLE {child} ADD CONSTRAINT fk_{child}_{col}_{t} "
            f"FOREIGN KEY ({col}) REFERENCES {t} (id) ON DELETE {_ACTIONS[act]}"
        )
    op.execute(f"ANALYZE {t}")


#: Opt in to the conversion (environment of ``civgrid db upgrade``, or ``alembic -x
#: partition_history=1``). A local choice: off by default, since at a county's size
#: (10⁶ issues) the open queue, which cannot skip any month, is planned over every
#: partition and answers about twice as slowly (docs/scaling.md); a prefecture opts in.
OPT_IN = "CIVGRID_PARTITION_HISTORY"


def wanted() -> bool:
    """Whether this upgrade partitions the history (see :data:`OPT_IN`)."""
    import os

    from alembic import context

    given = context.get_x_argument(as_dictionary=True).get("partition_history")
    value = given if given is not None else os.environ.get(OPT_IN, "")
    return value.strip().lower() in ("1", "true", "yes", "on")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql" or not wanted():
        return  # SQLite, or not opted in: one table each
    for h in HISTORY:
        _to_partitioned(h)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    done = partitioned_tables(op.get_bind())
    for h in reversed(HISTORY):
        if h.table in done:
            _to_plain(h)
