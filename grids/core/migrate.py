"""Alembic migrations without ``alembic.ini``: works from any working directory.

The scripts live in ``civgrid/grids/migrations`` (package data). Both
backends use the same revisions; SQLite runs in batch mode.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.schema import SchemaItem

__all__ = [
    "MIGRATIONS_DIR",
    "alembic_config",
    "current_revision",
    "head_revision",
    "include_object_for",
    "upgrade",
]

#: Directory of ``env.py`` and ``versions/``.
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# PostGIS's own tables are not ours.
_FOREIGN_TABLES = {"spatial_ref_sys", "geography_columns", "geometry_columns", "layer", "topology"}


def include_object_for(dialect_name: str) -> Callable[..., bool]:
    """Alembic ``include_object`` hook: our tables only, GiST indexes on PostGIS only.

    Parameters
    ----------
    dialect_name : str
        ``"sqlite"`` or ``"postgresql"``.

    Returns
    -------
    callable
        ``include_object(obj, name, type_, reflected, compare_to) -> bool``.
    """

    def include_object(
        obj: SchemaItem, name: str | None, type_: str, reflected: bool, compare_to: Any
    ) -> bool:
        if type_ == "table":
            return name not in _FOREIGN_TABLES and not (reflected and compare_to is None)
        if type_ == "index" and not reflected:
            ddl_if = getattr(obj, "_ddl_if", None)
            if ddl_if is not None and ddl_if.dialect not in (None, dialect_name):
                return False
        return True

    return include_object


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic :class:`~alembic.config.Config` pointing at civgrid's migrations.

    Parameters
    ----------
    engine : sqlalchemy.Engine, optional
        Its URL is recorded as ``sqlalchemy.url`` (for the Alembic command line).

    Returns
    -------
    alembic.config.Config
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    if engine is not None:
        url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Migrate the database to ``revision`` (default: the newest), in one transaction.

    Parameters
    ----------
    engine : sqlalchemy.Engine
    revision : str
        Target revision.

    Returns
    -------
    str or None
        The revision the database is at afterwards.
    """
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return current_revision(engine)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    """The newest revision in the migration scripts."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
