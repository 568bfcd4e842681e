"""Inserts at database speed inside the caller's transaction: ``COPY`` on PostgreSQL,
one ``executemany`` on SQLite.

The rows are tuples already in the database's own representation (the formats the
column types of :mod:`civgrid.grids.core.types` write: naive UTC text timestamps and
WKB on SQLite, aware timestamps and hex EWKB on PostGIS), so nothing passes through
the ORM. Ids are reserved first (the table's sequence on PostgreSQL; past the
highest id under SQLite's write lock) so that children and self-references are
written in the same pass. Nothing is committed here: the caller's session commits
or rolls back the whole transaction.

With ``set_based_checks`` (back-fill) on PostgreSQL, as a superuser, the per-row
foreign-key triggers are off for this transaction only (``SET LOCAL
session_replication_role = replica``) and :meth:`BulkInserter.check_references` does
their work before the commit: one anti-join per foreign key over the rows written,
and the rows they reference locked ``FOR KEY SHARE`` as the triggers would lock them.
On SQLite the same holds when the connection is not yet in a transaction
(``PRAGMA foreign_keys`` changes only outside one): it is switched off before
``BEGIN`` and :func:`foreign_keys_back` switches it on again once the transaction has
ended — the caller's duty, on the connection it took for itself, so that no other
request gets it from the pool without its checks. Otherwise SQLite checks each row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Table
from sqlalchemy.orm import Session

from civgrid.grids.core.errors import DomainError
from civgrid.grids.core.types import SRID

__all__ = ["BulkInserter", "foreign_keys_back"]

#: How SQLAlchemy's SQLite ``DateTime`` stores a timestamp (``UTCDateTime``: naive UTC).
SQLITE_TS = "%Y-%m-%d %H:%M:%S.%f"
#: SQLite page cache while bulk writing, KiB (a local choice: 1 GiB, taken only as pages
#: are read; a county's 10⁶ back-filled issues make a file of about 2.6 GB, whose
#: random-key indexes — idempotency keys, places — are written all over).
CACHE_KIB = 1_048_576


class BulkInserter:
    """Bulk writer bound to the connection of ``session`` (its transaction).

    Parameters
    ----------
    session : Session
        Its connection is used as is; on SQLite a write transaction is opened at once
        (``BEGIN IMMEDIATE``) so that the ids reserved stay free until the commit.
    set_based_checks : bool
        Replace the per-row foreign-key checks by :meth:`check_references` where it can
        (module docstring). On SQLite the caller must own the connection (not share it
        through the pool while the transaction lasts) and call :func:`foreign_keys_back`
        on it once the transaction has ended, committed or not.
    """

    def __init__(self, session: Session, *, set_based_checks: bool = False) -> None:
        conn = session.connection()
        self.dialect = conn.dialect
        self.postgres = conn.dialect.name == "postgresql"
        self.raw = conn.connection.driver_connection
        self._json = getattr(conn.dialect, "_json_serializer", None) or json.dumps
        self._cache_size = None
        self._tables: dict[str, Table] = {}
        self._floors: dict[str, int] = {}  # table -> every row written has a higher id
        self.set_based_checks = False
        if self.postgres and set_based_checks:
            # A local choice (issue 26): the per-row foreign-key triggers cost more than
            # the COPY itself. For this transaction only (SET LOCAL: reset at commit or
            # rollback) they are off, and :meth:`check_references` does their work set by
            # set before the commit. Needs a superuser; otherwise the triggers stay on.
            su = self.raw.execute("SELECT current_setting('is_superuser')").fetchone()[0]
            if su == "on":
                self.raw.execute("SET LOCAL session_replication_role = replica")
                self.set_based_checks = True
        if not self.postgres:
            if not self.raw.in_transaction:
                if set_based_checks:
                    # A local choice (issue 26): the per-row checks of the eight keys of
                    # ``issues`` are a large part of writing it. ``foreign_keys`` can only
                    # change outside a transaction, so here, before BEGIN; read back, as
                    # SQLite ignores it silently otherwise. The caller switches it back on
                    # with :func:`foreign_keys_back` once the transaction has ended.
                    self.raw.execute("PRAGMA foreign_keys=OFF")
                    off = self.raw.execute("PRAGMA foreign_keys").fetchone()[0] == 0
                    self.set_based_checks = off
                self.raw.execute("BEGIN IMMEDIATE")
            # random-key index inserts (idempotency keys, places) need the index pages in
            # memory: a large page cache for this connection while the writes last
            self._cache_size = self.raw.execute("PRAGMA cache_size").fetchone()[0]
            self.raw.execute(f"PRAGMA cache_size = {-CACHE_KIB}")

    def close(self) -> None:
        """Give the connection its page-cache size back (SQLite)."""
        if self._cache_size is not None:
            self.raw.execute(f"PRAGMA cache_size = {int(self._cache_size)}")
            self._cache_size = None

    # ----------------------------------------------------------------- values

    def ts(self, t: datetime | None) -> Any:
        """An aware timestamp as the column stores it (None stays None)."""
        if t is None:
            return None
        if t.tzinfo is not UTC:
            t = t.astimezone(UTC)
        if self.postgres:
            return t
        # SQLITE_TS, written by isoformat (C, no locale: several times faster than
        # strftime, which was 1 s of 10⁵ back-filled rows); "+00:00" cut off
        return t.isoformat(" ", "microseconds")[:26]

    def flag(self, value: bool) -> Any:
        """A boolean as the column stores it."""
        return bool(value) if self.postgres else int(bool(value))

    def json(self, value: Any) -> str | None:
        """A JSON document as text (the engine's serializer)."""
        return None if value is None else self._json(value)

    def points(self, lon: np.ndarray, lat: np.ndarray) -> list[Any]:
        """WGS84 points as the geometry column stores them (WKB; hex EWKB on PostGIS)."""
        n = len(lon)
        if n == 0:
            return []
        # A point's WKB is fixed-size: written for all points at once from a packed
        # record array (little-endian, the bytes :func:`~civgrid.geo.convert.to_wkb_array`
        # gives; tests/issues/test_bulk_insert_checks.py), not through 10⁵ GEOS
        # geometries (about 0.5 s of 10⁵ back-filled rows).
        fields = [("order", "u1"), ("type", "<u4")]
        if self.postgres:
            fields.append(("srid", "<u4"))  # EWKB: the type carries the SRID flag
        rec = np.empty(n, dtype=[*fields, ("x", "<f8"), ("y", "<f8")])
        rec["order"] = 1
        rec["type"] = 0x20000001 if self.postgres else 1
        if self.postgres:
            rec["srid"] = SRID
        rec["x"], rec["y"] = lon, lat
        size = rec.dtype.itemsize
        if self.postgres:
            text = rec.tobytes().hex().upper()
            return [text[i : i + 2 * size] for i in range(0, 2 * size * n, 2 * size)]
        data = rec.tobytes()
        return [data[i : i + size] for i in range(0, size * n, size)]

    # ----------------------------------------------------------------- indexes

    def drop_indexes(self, table: Table, n: int) -> list[tuple[str, str]]:
        """Drop ``table``'s plain secondary indexes before writing ``n`` rows into a table
        that holds fewer; return their definitions for :meth:`create_indexes`.

        A local choice (issue 26): an index built once from the rows, sorted, costs a
        fraction of keeping it row by row while the rows stream in (about half the
        insert time on SQLite with the fifteen indexes of ``issues``) — the advice of
        PostgreSQL's manual, "Populating a Database", 14.4.3 "Remove Indexes". It pays
        when the rows written are at least as many as those there (a county's first
        back-fill), so only then. Indexes that back a constraint (primary, unique keys)
        stay. Within the caller's transaction: a rollback brings them back. On PostgreSQL
        the table is locked (``ACCESS EXCLUSIVE``) until the commit; readers of it wait.

        Returns
        -------
        list of (name, CREATE INDEX statement)
            Empty when nothing was dropped.
        """
        name = table.name
        q = f"SELECT count(*) FROM (SELECT 1 FROM {name} LIMIT {int(n)}) x"
        if n <= 0 or self.raw.execute(q).fetchone()[0] >= n:
            return []
        if self.postgres:
            found = self.raw.execute(
                "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
                "JOIN pg_class i ON i.oid = x.indexrelid "
                "WHERE x.indrelid = %s::regclass AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid) ORDER BY 1",
                (name,),
            ).fetchall()
            # a partitioned table's index is made ON ONLY the parent by pg_dump's rules;
            # CREATE INDEX on the parent makes every partition's too
            defs = [(i, d.replace(" ON ONLY ", " ON ")) for i, d in found]
        else:
            defs = self.raw.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                "AND sql IS NOT NULL ORDER BY name",
                (name,),
            ).fetchall()
        for index, _ in defs:
            self.raw.execute(f'DROP INDEX "{index}"')
        return [tuple(d) for d in defs]

    def create_indexes(self, defs: Sequence[tuple[str, str]]) -> None:
        """Make the indexes :meth:`drop_indexes` dropped (their own statements)."""
        for _, sql in defs:
            self.raw.execute(sql)

    # ----------------------------------------------------------------- writing

    def reserve_ids(self, table: Table, n: int) -> list[int]:
        """``n`` fresh primary keys of ``table``, ascending."""
        if n <= 0:
            return []
        if self.postgres:
            cur = self.raw.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                (table.name, n),
            )
            ids = sorted(r[0] for r in cur)
        else:
            top = self.raw.execute(f"SELECT coalesce(max(id), 0) FROM {table.name}").fetchone()
            ids = list(range(top[0] + 1, top[0] + 1 + n))
        self._floors.setdefault(table.name, ids[0] - 1)
        self._tables[table.name] = table
        return ids

    def watch(self, table: Table) -> None:
        """Have :meth:`check_references` check the rows of ``table`` written from now on
        by anyone in this transaction (the ORM too): those with a higher id than any
        there now.
        """
        if table.name not in self._floors:
            top = self.raw.execute(f"SELECT coalesce(max(id), 0) FROM {table.name}").fetchone()
            self._floors[table.name] = top[0]
        self._tables[table.name] = table

    def check_references(self) -> None:
        """Check every foreign key of the rows written, one query per key, and lock the
        rows they reference (``FOR KEY SHARE``, as PostgreSQL's own check does; SQLite's
        write lock already holds them) until the commit — what the per-row checks would
        have done (when ``set_based_checks`` took effect; otherwise a no-op: the database
        checked each row).

        Raises
        ------
        DomainError
            A row refers to a row that does not exist (nothing is committed: the caller's
            transaction rolls back).
        """
        if not self.set_based_checks:
            return
        # SQLite: its one writer holds the database until the commit, so the rows
        # referenced need no lock
        mark, lock = ("%s", " FOR KEY SHARE OF p") if self.postgres else ("?", "")
        for name, floor in self._floors.items():
            for fk in sorted(self._tables[name].foreign_keys, key=lambda f: f.parent.name):
                col, parent, pcol = fk.parent.name, fk.column.table.name, fk.column.name
                mine = f"SELECT c.{col} FROM {name} c WHERE c.id > {mark} AND c.{col} IS NOT NULL"
                args: tuple[int, ...] = (floor,)
                older = ""
                if parent in self._floors:  # rows of this transaction need no lock
                    older, args = f" AND p.id <= {mark}", (floor, self._floors[parent])
                if lock:
                    self.raw.execute(
                        f"SELECT 1 FROM {parent} p WHERE p.{pcol} IN ({mine}){older}{lock}",
                        args,
                    )
                bad = self.raw.execute(
                    f"{mine} AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.{pcol} = c.{col}) "
                    "LIMIT 1",
                    (floor,),
                ).fetchone()
                if bad is not None:
                    raise DomainError(
                        f"{name}.{col} = {bad[0]!r}: no such {parent}.{pcol}",
                        kind=name,
                        key=bad[0],
                    )

    def copy_text(self, value: Any) -> str:
        """A value as a field of ``COPY … FROM STDIN`` text (PostgreSQL): ``\\N`` for
        None, ``t``/``f``, ISO timestamps, ``repr`` of a float (exact), text with its
        backslashes, tabs and line ends escaped. For values formatted once and written
        many times (:meth:`insert_lines`).
        """
        if value is None:
            return "\\N"
        if value is True or value is False:
            return "t" if value else "f"
        if isinstance(value, datetime):
            return self.ts(value).isoformat()
        if isinstance(value, float):
            return repr(value)
        text = self._json(value) if isinstance(value, dict | list) else str(value)
        if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
            text = (
                text.replace("\\", "\\\\")
                .replace("\t", "\\t")
                .replace("\n", "\\n")
                .replace("\r", "\\r")
            )
        return text

    def _defaults(self, table: Table, columns: Sequence[str]) -> tuple[list[str], tuple]:
        """The columns left out that take a scalar Python default, and those values."""
        given = set(columns)
        extra_cols, extra = [], []
        for col in table.columns:
            if col.name in given or col.default is None or not col.default.is_scalar:
                continue
            value = col.default.arg
            extra_cols.append(col.name)
            extra.append(self.flag(value) if isinstance(value, bool) else value)
        return extra_cols, tuple(extra)

    def _begin_table(self, table: Table) -> None:
        if table.name not in self._floors and self.set_based_checks:
            # ids from the sequence during the COPY: above every id committed before it
            top = self.raw.execute(f"SELECT coalesce(max(id), 0) FROM {table.name}").fetchone()
            self._floors[table.name] = top[0]
        self._tables[table.name] = table

    def insert_lines(
        self, table: Table, columns: Sequence[str], lines: Iterable[str], *, block: int = 1 << 20
    ) -> int:
        """Write rows given as ``COPY`` text lines (PostgreSQL only): the fields of
        ``columns`` formatted by :meth:`copy_text`, tab-separated, no line end.

        A local choice (issue 26): psycopg formats each value of each row (``write_row``:
        most of writing the issues of a back-fill); a caller that formats the fields
        shared by many rows once and the rest with one f-string per row sends the
        same bytes for a fraction of that. Sent in blocks of about ``block`` characters.
        Returns how many rows.
        """
        if not self.postgres:
            raise TypeError("COPY text lines are for PostgreSQL")
        extra_cols, extra = self._defaults(table, columns)
        tail = "".join("\t" + self.copy_text(v) for v in extra) + "\n"
        self._begin_table(table)
        sql = f"COPY {table.name} ({', '.join([*columns, *extra_cols])}) FROM STDIN"
        n = 0
        with self.raw.cursor() as cur, cur.copy(sql) as cp:
            buf: list[str] = []
            size = 0
            for line in lines:
                buf.append(line)
                size += len(line)
                if size >= block:
                    n += len(buf)
                    cp.write((tail.join(buf) + tail).encode())
                    buf, size = [], 0
            if buf:
                n += len(buf)
                cp.write((tail.join(buf) + tail).encode())
        return n

    def insert(
        self,
        table: Table,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        constants: Mapping[str, Any] | None = None,
    ) -> int:
        """Write ``rows`` (tuples in the order of ``columns``); returns how many.

        ``constants`` are columns with the same value in every row (in the column's own
        representation, like the rows' values): on SQLite they are literals of the
        statement, not parameters bound row by row (a local measurement: 14 of 46
        columns as literals took a fifth off the ``executemany`` of 10⁵ rows). Columns
        left out take their scalar Python default (as an ORM insert would), or the
        database's default.
        """
        constants = dict(constants or {})
        extra_cols, extra = self._defaults(table, [*columns, *constants])
        extra_cols, extra = [*constants, *extra_cols], (*constants.values(), *extra)
        names = [*columns, *extra_cols]
        n = 0
        self._begin_table(table)
        if self.postgres:
            tail = tuple(extra)
            sql = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
            with self.raw.cursor() as cur, cur.copy(sql) as cp:
                for row in rows:
                    cp.write_row((*row, *tail) if tail else row)
                    n += 1
            return n
        marks = ", ".join(["?"] * len(columns) + [_sqlite_literal(v) for v in extra])
        sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})"
        cur = self.raw.executemany(sql, rows)
        return cur.rowcount


def _sqlite_literal(value: Any) -> str:
    """A value as a SQLite literal (None, bool, int, float, text without NUL)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool | int):
        return str(int(value))
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        return repr(value)
    if isinstance(value, str) and "\x00" not in value:
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQLite literal for {value!r}")


def foreign_keys_back(conn: Any) -> None:
    """Switch SQLite's foreign keys on again on ``conn`` (a SQLAlchemy connection) after
    a :class:`BulkInserter` with ``set_based_checks`` switched them off; a no-op when
    they are on or on PostgreSQL (there ``SET LOCAL`` ended with the transaction).

    Ends any transaction still open (rolls it back: the caller's commit came first). If
    they cannot be switched on, the connection is invalidated, so the pool never hands it
    out without its checks.
    """
    if conn.dialect.name != "sqlite" or conn.closed or conn.invalidated:
        return
    raw = conn.connection.driver_connection
    try:
        if raw.execute("PRAGMA foreign_keys").fetchone()[0] == 1:
            return
        if raw.in_transaction:
            raw.rollback()
        raw.execute("PRAGMA foreign_keys=ON")
        if raw.execute("PRAGMA foreign_keys").fetchone()[0] == 1:
            return
    except Exception:
        conn.invalidate()
        raise
    conn.invalidate()
