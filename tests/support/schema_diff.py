"""Does a migrated database match the ORM models? Shared by the migration tests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from civgrid.grids.core.db import Base
from civgrid.grids.core.history_partitions import HISTORY, partitioned_tables
from civgrid.grids.core.migrate import include_object_for


def schema_diffs(conn: Any, tables: Iterable[str]) -> list[Any]:
    """Alembic's differences between ``conn``'s schema and the models that touch ``tables``
    (types compared; the dialect's own objects, e.g. PostGIS tables, ignored)."""
    names = set(tables)
    ctx = MigrationContext.configure(
        conn, opts={"include_object": include_object_for(conn.dialect.name), "compare_type": True}
    )
    found = [
        d
        for d in compare_metadata(ctx, Base.metadata)
        if any(f"'{t}'" in repr(d if isinstance(d, list) else [d]) for t in names)
    ]
    return without_partitioning(found, conn)


def _fk_shape(fk: Any) -> tuple[str, tuple[str, ...], str, str | None]:
    return (fk.table.name, tuple(c.name for c in fk.columns), fk.referred_table.name, fk.ondelete)


def without_partitioning(diffs: list[Any], conn: Any) -> list[Any]:
    """Drop the differences revision 0600 documents on PostgreSQL, and only those
    (:mod:`civgrid.grids.core.history_partitions`): a foreign key to ``issues.id``
    (``issue_events.id``) points at ``issue_keys.id`` (``issue_event_keys.id``) with the
    same columns and ``ON DELETE``; the parents' ids reference their key table; the
    unique idempotency key lives in ``issue_keys``."""
    partitioned = partitioned_tables(conn)
    if not partitioned:
        return diffs
    keys = {h.keys_table: h for h in HISTORY if h.table in partitioned}
    moved = {
        (table, cols, keys[ref].table, ondelete)
        for kind, fk in (d for d in diffs if isinstance(d, tuple))
        if kind == "remove_fk"
        for table, cols, ref, ondelete in [_fk_shape(fk)]
        if ref in keys
    }
    out = []
    for d in diffs:
        kind = d[0] if isinstance(d, tuple) else None
        if kind == "remove_fk":
            table, cols, ref, _ = _fk_shape(d[1])
            if ref in keys and (
                (cols == ("id",) and table == keys[ref].table)
                or (table, cols, keys[ref].table, d[1].ondelete) in moved
            ):
                continue
        if kind == "add_fk" and _fk_shape(d[1]) in moved:
            continue
        if kind == "add_constraint" and d[1].__class__.__name__ == "UniqueConstraint":
            h = next((h for h in keys.values() if h.table == d[1].table.name), None)
            if h is not None and tuple(c.name for c in d[1].columns) in {
                (c,) for c in h.key_columns
            }:
                continue
        out.append(d)
    return out
