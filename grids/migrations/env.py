"""Alembic environment for civgrid (no alembic.ini: configured by :mod:`civgrid.grids.migrate`).

The caller passes an open connection in ``config.attributes["connection"]``;
otherwise ``sqlalchemy.url`` is used with :func:`civgrid.grids.db.make_engine`.
SQLite migrations run in batch mode (ALTER TABLE by copy).
"""

from __future__ import annotations

from alembic import context

import civgrid.grids.account_models
import civgrid.grids.issue_models
import civgrid.grids.patrol_models
import civgrid.grids.scoring_models  # noqa: F401  (registers the scoring tables)
from civgrid.grids.db import make_engine
from civgrid.grids.migrate import include_object_for
from civgrid.grids.models import Base

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
