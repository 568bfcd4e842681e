"""Alembic environment for civgrid (no alembic.ini: see :mod:`civgrid.grids.core.migrate`).

The caller passes an open connection in ``config.attributes["connection"]``;
otherwise ``sqlalchemy.url`` is used with :func:`civgrid.grids.core.db.make_engine`.
SQLite migrations run in batch mode (ALTER TABLE by copy).
"""

from __future__ import annotations

from alembic import context

import civgrid.grids.accounts.models
import civgrid.grids.boundaries.models
import civgrid.grids.core.audit
import civgrid.grids.core.idempotency
import civgrid.grids.core.outbox
import civgrid.grids.core.throttle
import civgrid.grids.documents.models
import civgrid.grids.issues.models
import civgrid.grids.notify.models
import civgrid.grids.patrol.models
import civgrid.grids.patrol.visit_photos
import civgrid.grids.points.models
import civgrid.grids.scoring.models  # noqa: F401  (registers the scoring tables)
from civgrid.grids.core.db import Base, make_engine
from civgrid.grids.core.migrate import include_object_for

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=include_object_for(connection.dialect.name),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
        if connection.dialect.name == "sqlite":
            _restore_stamp_triggers(connection)


def _restore_stamp_triggers(connection) -> None:
    """Re-create the routing-stamp triggers a batch (copying) migration dropped.

    The assessment points' (``POINT_STAMP_TABLES``) only at a revision that has them:
    migration 0630 or a later one (its downgrade drops them for good).
    """
    from sqlalchemy import inspect, text

    from civgrid.grids.boundaries.models import (
        POINT_STAMP_TABLES,
        ROUTING_STAMP_TABLES,
        sqlite_stamp_triggers,
    )

    if "routing_stamps" not in inspect(connection).get_table_names():
        return
    tables = ROUTING_STAMP_TABLES
    script = context.script
    heads = context.get_context().get_current_heads()
    if any(r.revision == "0630" for h in heads for r in script.iterate_revisions(h, "base")):
        tables = (*tables, *POINT_STAMP_TABLES)
    for statement in sqlite_stamp_triggers(tables):
        connection.execute(text(statement))


def run_migrations_online() -> None:
    """Run migrations on the given connection (or a fresh engine from the URL)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():  # pragma: no cover - civgrid always migrates online
    raise RuntimeError("civgrid migrations run online only: civgrid db upgrade")
run_migrations_online()
