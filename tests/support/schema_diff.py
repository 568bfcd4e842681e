"""Does a migrated database match the ORM models? Shared by the migration tests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from civgrid.grids.core.db import Base
from civgrid.grids.core.migrate import include_object_for


def schema_diffs(conn: Any, tables: Iterable[str]) -> list[Any]:
    """Alembic's differences between ``conn``'s schema and the models that touch ``tables``
    (types compared; the dialect's own objects, e.g. PostGIS tables, ignored)."""
    names = set(tables)
    ctx = MigrationContext.configure(
        conn, opts={"include_object": include_object_for(conn.dialect.name), "compare_type": True}
    )
    return [
        d
        for d in compare_metadata(ctx, Base.metadata)
        if any(f"'{t}'" in repr(d if isinstance(d, list) else [d]) for t in names)
    ]
