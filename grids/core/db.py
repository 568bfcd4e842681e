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

import functools
import os
import time
from pathlib import Path
from typing import Any, ClassVar, Literal

from sqlalchemy import JSON, Engine, MetaData, create_engine, event, exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session

__all__ = [
    "Backend",
    "backend_name",
    "execute_first",
    "make_engine",
    "postgis_version",
    "write_count",
]

Backend = Literal["sqlite", "postgis"]

#: ``psycopg.pq.TransactionStatus.IDLE``: not in a transaction (no import of psycopg here).
_PG_IDLE = 0


#: Committed write transactions per engine (id → count), for :func:`write_count`.
_WRITES: dict[int, int] = {}
_WROTE = "civgrid_wrote"
_WRITE_VERBS = ("INSERT", "UPDATE", "DELETE")


def write_count(engine: Engine) -> int:
    """How many transactions that wrote this process has committed through ``engine``.

    A cheap "has anything changed here" stamp for caches of recent answers. It counts
    statements sent through SQLAlchemy (not a raw driver cursor) and only this
    process's commits: other processes' writes are not seen (a cache keyed on it also
    needs an age limit).

    Examples
    --------
    >>> eng = make_engine("sqlite://")
    >>> with eng.begin() as c:
    ...     _ = c.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    ...     _ = c.exec_driver_sql("INSERT INTO t VALUES (1)")
    >>> n = write_count(eng)
    >>> with eng.begin() as c:
    ...     _ = c.exec_driver_sql("SELECT x FROM t").all()
    >>> write_count(eng) == n
    True
    >>> with eng.begin() as c:
    ...     _ = c.exec_driver_sql("UPDATE t SET x = 2")
    >>> write_count(eng) == n + 1
    True
    """
    return _WRITES.get(id(engine), 0)


def _count_writes(engine: Engine) -> Engine:
    key = id(engine)
    _WRITES[key] = 0

    def executed(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip()[:6].upper() in _WRITE_VERBS:
            conn.info[_WROTE] = True

    def committed(conn: Any) -> None:
        if conn.info.pop(_WROTE, False):
            _WRITES[key] += 1

    def rolled_back(conn: Any) -> None:
        if conn.invalidated:  # a lost connection: its info is gone with it (and reading
            return  # it would try to reconnect inside the failed transaction)
        conn.info.pop(_WROTE, None)

    event.listen(engine, "after_cursor_execute", executed)
    event.listen(engine, "commit", committed)
    event.listen(engine, "rollback", rolled_back)
    return engine


#: Seconds a SQLite writer waits for the lock before "database is locked" (default).
SQLITE_BUSY_TIMEOUT_S = 30.0

#: A pooled PostgreSQL connection idle longer than this (seconds) is pinged before use
#: (a local choice; see :func:`_ping_when_idle`).
PING_IDLE_S = 2.0


def _ping(engine: Engine, dbapi: Any) -> None:
    """One round trip on a DBAPI connection (raises when it is dead).

    The dialect's own ping, as ``pool_pre_ping`` sends it: on psycopg it switches to
    autocommit for the ``SELECT 1``, so no transaction is left open on the connection.
    """
    engine.dialect.do_ping(dbapi)


def _ping_when_idle(engine: Engine, idle_s: float = PING_IDLE_S) -> Engine:
    """Ping a pooled connection before use only when it sat idle for ``idle_s`` seconds.

    SQLAlchemy's ``pool_pre_ping`` sends a round trip before *every* checkout, and a
    request checks out up to three times (account, scope, its own work): on a busy
    2-core server each round trip also waits for a core (issue 19, 26). A connection
    that was in use a moment ago is alive as far as a ping could tell; one idle for
    a while may have been cut (a PostgreSQL restart, a firewall): that one is pinged,
    and a dead one is replaced before the request sees it (the pool retries the
    checkout on :class:`sqlalchemy.exc.DisconnectionError`, "pessimistic disconnect
    handling" in the SQLAlchemy manual). A connection lost while busy still fails its
    statement; the pool then drops every connection older than the failure, and the
    API answers that request 503 (:mod:`civgrid.api.errors`).
    """

    def checkin(_dbapi: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def checkout(dbapi: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_s:
            return
        try:
            _ping(engine, dbapi)
        except Exception as err:  # any failure: a fresh connection instead
            raise exc.DisconnectionError(str(err)) from err

    event.listen(engine, "checkin", checkin)
    event.listen(engine, "checkout", checkout)
    return engine


def make_engine(url: str, *, busy_timeout_s: float | None = None, **kwargs: Any) -> Engine:
    """Create a SQLAlchemy engine for a civgrid database.

    Parameters
    ----------
    url : str
        ``sqlite:///path/to/file.sqlite`` (the parent directory is created),
        ``sqlite://`` (in memory, for experiments), or
        ``postgresql://…`` / ``postgresql+psycopg://…`` (the psycopg 3 driver is
        always used).
    busy_timeout_s : float, optional
        SQLite only: how long a writer waits for another writer's lock before the
        statement fails with ``database is locked`` (default
        :data:`SQLITE_BUSY_TIMEOUT_S`). The API answers that failure 503.
    **kwargs
        Passed to :func:`sqlalchemy.create_engine`.

    Returns
    -------
    sqlalchemy.Engine
        For SQLite, every connection has foreign keys on, WAL journaling (file
        databases) and a busy timeout (30 s unless given); new database files are
        created readable by their owner only (0600: they hold password hashes and
        the audit log). PostgreSQL connections give up connecting after 10 s; their
        pool hands out the most recently used connection first (``pool_use_lifo``).
    """
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        database = u.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        timeout = SQLITE_BUSY_TIMEOUT_S if busy_timeout_s is None else float(busy_timeout_s)
        kwargs.setdefault("connect_args", {}).setdefault("timeout", timeout)
        memory = not database or database == ":memory:"
        if not memory and not database.startswith("file:"):
            _create_private(Path(database).expanduser())
        engine = create_engine(u, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas(wal=not memory))
        event.listen(engine, "savepoint", _begin_before_savepoint)
        return _count_writes(engine)
    if u.get_backend_name() in ("postgresql", "postgis"):
        u = u.set(drivername="postgresql+psycopg")
        kwargs.setdefault("connect_args", {}).setdefault("connect_timeout", 10)
        # the connection checked in last is checked out first (a local choice): at a
        # few requests per second one connection serves them all, its server process
        # and caches warm and never idle past PING_IDLE_S (a FIFO pool rotates through
        # every connection a burst opened, each idling longer and pinged before use);
        # the others idle until a burst needs them
        kwargs.setdefault("pool_use_lifo", True)
        engine = create_engine(u, **kwargs)
        if not kwargs.get("pool_pre_ping"):
            _ping_when_idle(engine)
        event.listen(engine, "after_cursor_execute", _end_begin_pipeline)
        return _count_writes(engine)
    raise ValueError(f"unsupported database URL {u.render_as_string()!r}: use sqlite or postgresql")


#: ``Connection.info`` key of the pipeline holding a transaction's ``BEGIN`` and its
#: first statement (:func:`execute_first`), ended as soon as that statement is sent.
_BEGIN_PIPELINE = "civgrid_begin_pipeline"


def execute_first(session: Session, statement: Any, params: dict[str, Any] | None = None) -> Any:
    """``session.execute(statement, params)`` as the first statement of its transaction:
    on PostgreSQL the ``BEGIN`` travels with it, one round trip instead of two.

    psycopg sends a transaction's ``BEGIN`` on its own and waits for the answer before
    the first statement, even in pipeline mode. Here the connection is switched to
    autocommit (nothing is sent while no transaction is open), a pipeline queues an
    explicit ``BEGIN`` and the statement, and is ended as soon as the statement is
    sent (an ``after_cursor_execute`` listener of :func:`make_engine`): both go out
    and both answers (or the statement's error, raised as by ``execute``) come back
    before SQLAlchemy reads the result. The connection is then in its transaction
    with autocommit off again, as if psycopg had begun it: everything after, the
    ``COMMIT`` or ``ROLLBACK`` too, runs as usual. A session already in a transaction,
    SQLite, or a libpq without pipeline mode: a plain execute.

    Returns
    -------
    sqlalchemy.engine.Result
    """
    conn = session.connection()
    if conn.dialect.driver != "psycopg" or not _pipeline_supported():
        return session.execute(statement, params)
    raw = conn.connection.driver_connection
    if (
        raw is None
        or raw.autocommit
        or raw.info.transaction_status != _PG_IDLE
        or not hasattr(raw, "_autocommit")  # the psycopg 3 attribute set back below
    ):
        return session.execute(statement, params)
    raw.autocommit = True  # no transaction open: allowed, and nothing is sent
    try:
        pipeline = raw.pipeline()
        pipeline.__enter__()
        conn.info[_BEGIN_PIPELINE] = pipeline
        try:
            raw.execute("BEGIN")  # queued
            return session.execute(statement, params)
        finally:  # not sent (e.g. a parameter psycopg could not adapt): end it here
            left = conn.info.pop(_BEGIN_PIPELINE, None)
            if left is not None:
                left.__exit__(None, None, None)
    finally:
        if raw.info.transaction_status == _PG_IDLE:
            raw.autocommit = False
        else:
            # in the transaction just begun, which psycopg's own BEGIN would have
            # opened: its setter refuses a change inside a transaction
            raw._autocommit = False


def _end_begin_pipeline(conn: Any, *_: Any) -> None:
    """After a statement is sent: end the pipeline of :func:`execute_first`, if open.

    Ending it syncs: the ``BEGIN`` and the statement go out together and their
    answers (or the statement's error, raised here as by ``execute``) come back.
    """
    pipeline = conn.info.pop(_BEGIN_PIPELINE, None)
    if pipeline is not None:
        pipeline.__exit__(None, None, None)


@functools.cache
def _pipeline_supported() -> bool:
    import psycopg

    return psycopg.Pipeline.is_supported()


def _create_private(path: Path) -> None:
    """Create an empty database file (and its WAL/SHM companions) with mode 0600.

    SQLite creates ``-wal`` and ``-shm`` with the mode of the database file, so making
    the main file private first is enough; an existing file is left as it is.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def _sqlite_pragmas(*, wal: bool):
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        if wal:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    return on_connect


def _begin_before_savepoint(conn: Any, _name: Any) -> None:
    """Open the transaction before a savepoint that would otherwise open it (SQLite).

    Python's sqlite3 driver begins a transaction only before a write. A ``SAVEPOINT``
    sent first begins one itself, and its ``RELEASE`` then commits: the work inside
    would survive the caller's rollback (a dry run, a failed request, a later error in
    the same transaction). A ``BEGIN`` first keeps every savepoint inside the caller's
    transaction, which commits or rolls back as a whole. ``IMMEDIATE``: a savepoint is
    there for writes, and taking the write lock now (waiting the busy timeout for it)
    means a read inside the savepoint cannot go stale before the write that follows
    (``SQLITE_BUSY_SNAPSHOT``, which no busy timeout retries).
    """
    dbapi = conn.connection.dbapi_connection
    if not dbapi.in_transaction:
        dbapi.execute("BEGIN IMMEDIATE")


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
