"""Engines for the two backends: SQLite (embedded default) and PostgreSQL + PostGIS.

Both store geometry in WGS84 lon/lat, SRID :data:`SRID` (EPSG:4326), declared
once in :mod:`civgrid.grids.core.types`.

Examples
--------
>>> eng = make_engine("sqlite://")
>>> backend_name(eng)
'sqlite'
>>> postgis_version(eng) is None
True
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Literal

from sqlalchemy import JSON, Engine, MetaData, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase

__all__ = ["Backend", "backend_name", "make_engine", "postgis_version"]

Backend = Literal["sqlite", "postgis"]


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create a SQLAlchemy engine for a civgrid database.

    Parameters
    ----------
    url : str
        ``sqlite:///path/to/file.sqlite`` (the parent directory is created),
        ``sqlite://`` (in memory, for experiments), or
        ``postgresql://…`` / ``postgresql+psycopg://…`` (the psycopg 3 driver is
        always used).
    **kwargs
        Passed to :func:`sqlalchemy.create_engine`.

    Returns
    -------
    sqlalchemy.Engine
        For SQLite, every connection has foreign keys on, WAL journaling (file
        databases) and a 30 s busy timeout; a new database file is created mode 600.
    """
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        database = u.database
        if database and database != ":memory:" and not database.startswith("file:"):
            path = Path(database).expanduser()
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():  # password hashes and the audit log: owner only (600);
                # SQLite gives its -wal and -shm files the database file's mode
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        kwargs.setdefault("connect_args", {}).setdefault("timeout", 30)
        engine = create_engine(u, **kwargs)
        memory = not database or database == ":memory:"
        event.listen(engine, "connect", _sqlite_pragmas(wal=not memory))
        return engine
    if u.get_backend_name() in ("postgresql", "postgis"):
        u = u.set(drivername="postgresql+psycopg")
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(u, **kwargs)
    raise ValueError(f"unsupported database URL {u.render_as_string()!r}: use sqlite or postgresql")


def _sqlite_pragmas(*, wal: bool):
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        if wal:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    return on_connect


def backend_name(engine: Engine) -> Backend:
    """``"sqlite"`` or ``"postgis"`` for an engine made by :func:`make_engine`.

    Parameters
    ----------
    engine : sqlalchemy.Engine

    Returns
    -------
    str
        ``"postgis"`` for any PostgreSQL engine (civgrid requires the extension there).
    """
    name = engine.dialect.name
    if name == "sqlite":
        return "sqlite"
    if name == "postgresql":
        return "postgis"
    raise ValueError(f"unsupported database dialect {name!r}")


def postgis_version(engine: Engine) -> str | None:
    """The PostGIS library version (e.g. ``"3.3.2"``), or None on SQLite / without PostGIS.

    Parameters
    ----------
    engine : sqlalchemy.Engine

    Returns
    -------
    str or None
    """
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        installed = conn.execute(
            text("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
        ).scalar()
        if installed is None:
            return None
        return str(conn.execute(text("SELECT PostGIS_Lib_Version()")).scalar())


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a naming convention (stable constraint names for Alembic)."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON}
