"""Inserts at database speed inside the caller's transaction: ``COPY`` on PostgreSQL,
``INSERT`` statements of many rows each on SQLite.

The rows are tuples already in the database's own representation (the formats the
column types of :mod:`civgrid.grids.core.types` write: naive UTC text timestamps and
WKB on SQLite, aware timestamps and hex EWKB on PostGIS), so nothing passes through
the ORM — or, on PostgreSQL, already encoded by the caller: ``COPY`` text lines
(:meth:`BulkInserter.insert_lines`) or ``COPY … (FORMAT binary)`` fields given column
by column (:meth:`BulkInserter.insert_binary`). Ids are reserved first (the table's
sequence on PostgreSQL; past the highest id under SQLite's write lock) so that children
and self-references are written in the same pass. Nothing is committed here: the
caller's session commits or rolls back the whole transaction.

With ``set_based_checks`` (back-fill) on PostgreSQL, as a superuser, the per-row
foreign-key triggers are off for this transaction only (``SET LOCAL
session_replication_role = replica``) and :meth:`BulkInserter.check_references` does
their work before the commit: a pass or two over the rows written per table (the
distinct values of its keys, the range of those into tables with reserved ids; an
anti-join per key where that does not settle it), and the rows they reference locked
``FOR KEY SHARE`` as the triggers would lock them.
On SQLite the same holds when the connection is not yet in a transaction
(``PRAGMA foreign_keys`` changes only outside one): it is switched off before
``BEGIN`` and :func:`foreign_keys_back` switches it on again once the transaction has
ended — the caller's duty, on the connection it took for itself, so that no other
request gets it from the pool without its checks. Otherwise SQLite checks each row.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import struct
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from itertools import chain, islice
from typing import Any

import numpy as np
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import Table
from sqlalchemy.orm import Session

from civgrid.grids.core.errors import DomainError
from civgrid.grids.core.types import SRID
from civgrid.grids.issues.copy_binary import BinaryRows, Column, Const

__all__ = ["BulkInserter", "foreign_keys_back"]

log = logging.getLogger(__name__)

#: How SQLAlchemy's SQLite ``DateTime`` stores a timestamp (``UTCDateTime``: naive UTC).
SQLITE_TS = "%Y-%m-%d %H:%M:%S.%f"
#: SQLite page cache while bulk writing, KiB (a local choice: 1 GiB, taken only as pages
#: are read; a county's 10⁶ back-filled issues make a file of about 2.6 GB, whose
#: random-key indexes — idempotency keys, places — are written all over).
CACHE_KIB = 1_048_576
#: ``COPY … (FORMAT binary)``: the file header, a NULL field, the trailer.
BINARY_HEAD = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
BINARY_NULL = b"\xff\xff\xff\xff"
BINARY_TAIL = b"\xff\xff"
#: PostgreSQL's epoch for timestamps (binary: microseconds since then).
PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_I4 = struct.Struct(">ii").pack
_I8 = struct.Struct(">iq").pack
_F8 = struct.Struct(">id").pack
_MICROSECOND = timedelta(microseconds=1)
#: Column types whose binary form :meth:`BulkInserter.binary_field` writes.
BINARY_TYPES = ("integer", "bigint", "double precision", "boolean", "timestamp with time zone")
#: Sort memory of the index builds after a first back-fill's rows (PostgreSQL, a local
#: choice for those statements): 10⁶ keys sorted in memory by three processes.
INDEX_MEMORY = "512MB"
#: Distinct combinations of a table's few-valued foreign keys up to which
#: :meth:`BulkInserter.check_references` checks them by value (a back-fill of 10⁶ issues:
#: about 2,100, one per routing group).
FEW_COMBINATIONS = 50_000


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
        self._reserved: set[str] = set()  # tables with ids from reserve_ids
        self._full: dict[str, list[tuple[int, int]]] = {}  # id ranges found complete
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
            # unique constraints no foreign key references (the idempotency key): kept
            # row by row, its random keys were a quarter of the COPY's server time; made
            # again after the rows, it checks them all at once (a duplicate fails the
            # transaction, as it failed the COPY)
            unique = self.raw.execute(
                "SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
                "WHERE c.conrelid = %s::regclass AND c.contype = 'u' AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' "
                "AND f.conindid = c.conindid) ORDER BY 1",
                (name,),
            ).fetchall()
            for con, definition in unique:
                self.raw.execute(f'ALTER TABLE {name} DROP CONSTRAINT "{con}"')
                defs.append((con, f'ALTER TABLE {name} ADD CONSTRAINT "{con}" {definition}'))
        else:
            defs = self.raw.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                "AND sql IS NOT NULL ORDER BY name",
                (name,),
            ).fetchall()
        for index, sql in defs:
            if not sql.startswith("ALTER TABLE"):
                self.raw.execute(f'DROP INDEX "{index}"')
        return [tuple(d) for d in defs]

    def create_indexes(self, defs: Sequence[tuple[str, str]]) -> None:
        """Make the indexes :meth:`drop_indexes` dropped (their own statements).

        On PostgreSQL with more sort memory for these statements (``SET LOCAL
        maintenance_work_mem``, :data:`INDEX_MEMORY`, then as it was: a local choice).
        The default 64 MB sorts 10⁶ keys in parts on disk and allows one parallel
        worker; with more, a B-tree is sorted in memory by the leader and two workers
        (``max_parallel_maintenance_workers``, as the server sets it).
        """
        if not defs:
            return
        was = None
        if self.postgres:
            q = "SELECT current_setting('maintenance_work_mem')"
            was = self.raw.execute(q).fetchone()[0]
            self.raw.execute(f"SET LOCAL maintenance_work_mem = '{INDEX_MEMORY}'")
        for name, sql in defs:
            t = time.perf_counter()
            self.raw.execute(sql)
            # each build's time (DEBUG): which indexes a first back-fill pays for
            log.debug("index %s built in %.2f s", name, time.perf_counter() - t)
        # PostgreSQL: after an error the transaction is aborted, and SET LOCAL ends with
        # it (nothing to give back; a query would hide the error)
        if self.postgres:
            self.raw.execute("SELECT set_config('maintenance_work_mem', %s, true)", (was,))

    # ----------------------------------------------------------------- writing

    def reserve_ids(self, table: Table, n: int) -> list[int]:
        """``n`` fresh primary keys of ``table``, ascending."""
        if n <= 0:
            return []
        if self.postgres:
            # the values come back as their range when no other transaction took one in
            # between (the usual case), not as n rows (3 of the 4 s this took for 10⁶)
            # (the sequence looked up once: per value, its look-up by name cost more
            # than nextval itself)
            q = "SELECT pg_get_serial_sequence(%s, 'id')"
            seq = self.raw.execute(q, (table.name,)).fetchone()[0]
            low, high, count = self.raw.execute(
                "SELECT min(v), max(v), count(*) FROM (SELECT nextval(%s::regclass) AS v "
                "FROM generate_series(1, %s)) x",
                (seq, n),
            ).fetchone()
            if high - low + 1 == count == n:
                ids = list(range(low, high + 1))
            else:  # interleaved with another transaction's: take n more, as they come
                cur = self.raw.execute(
                    "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", (seq, n)
                )
                ids = sorted(r[0] for r in cur)
        else:
            top = self.raw.execute(f"SELECT coalesce(max(id), 0) FROM {table.name}").fetchone()
            ids = list(range(top[0] + 1, top[0] + 1 + n))
        self._floors.setdefault(table.name, ids[0] - 1)
        self._tables[table.name] = table
        self._reserved.add(table.name)
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
        """Check every foreign key of the rows written and lock the rows they reference
        (``FOR KEY SHARE``, as PostgreSQL's own check does; SQLite's write lock already
        holds them) until the commit — what the per-row checks would have done (when
        ``set_based_checks`` took effect; otherwise a no-op: the database checked each
        row).

        A local choice (issue 26): one query per key, each reading every row written,
        took 5 s of a 10⁶-row back-fill on PostgreSQL. Now each table's rows written are
        read once for the distinct combinations of its keys to tables this
        transaction reserved no ids in (categories, units, routing answers, sets: a few
        thousand), then looked up and locked in their parent tables by value; and the
        range of its keys to tables it reserved ids in (:meth:`reserve_ids`:
        self-references, events → issues; as many values as rows) once more for their
        least and greatest values, all of which exist
        when the parent holds as many ids in that range as the range is long (the ids
        are unique). Otherwise — more than :data:`FEW_COMBINATIONS` combinations, a range
        with gaps — one anti-join per key, as before.

        Raises
        ------
        DomainError
            A row refers to a row that does not exist (nothing is committed: the caller's
            transaction rolls back).
        """
        if not self.set_based_checks:
            return
        for name, floor in self._floors.items():
            fks = sorted(self._tables[name].foreign_keys, key=lambda f: f.parent.name)
            many = [fk for fk in fks if fk.column.table.name in self._reserved]
            few = [fk for fk in fks if fk.column.table.name not in self._reserved]
            cols = list(dict.fromkeys(fk.parent.name for fk in few))
            ranged = list(dict.fromkeys(fk.parent.name for fk in many))
            if not cols and not ranged:
                continue
            combos = self._distinct(name, cols, floor) if cols else []
            if len(combos) > FEW_COMBINATIONS:
                for fk in fks:
                    self._check_rows(name, floor, fk)
                continue
            for fk in few:
                at = cols.index(fk.parent.name)
                self._check_values(name, fk, {c[at] for c in combos} - {None})
            if ranged:
                mark = "%s" if self.postgres else "?"
                what = ", ".join(f"min({c}), max({c})" for c in ranged)
                q = f"SELECT {what} FROM {name} WHERE id > {mark}"
                bounds = self.raw.execute(q, (floor,)).fetchone()
            for fk in many:
                at = 2 * ranged.index(fk.parent.name)
                low, high = bounds[at], bounds[at + 1]
                if low is not None and not self._range_exists(fk, low, high):
                    self._check_rows(name, floor, fk)

    def _distinct(self, name: str, cols: list[str], floor: int) -> list[tuple]:
        """The distinct combinations of ``cols`` in the rows of ``name`` written (at most
        ``FEW_COMBINATIONS + 1``)."""
        mark = "%s" if self.postgres else "?"
        q = (
            f"SELECT DISTINCT {', '.join(cols)} FROM {name} WHERE id > {mark} "
            f"LIMIT {FEW_COMBINATIONS + 1}"
        )
        if not self.postgres:
            return self.raw.execute(q, (floor,)).fetchall()
        # rows just written have no statistics: the planner guesses many groups and
        # sorts 10⁶ rows by every column (2 s); a hash table of the few there are is
        # what this needs (enable_sort off for this statement, then as it was)
        was = self.raw.execute("SELECT current_setting('enable_sort')").fetchone()[0]
        self.raw.execute("SET LOCAL enable_sort = off")
        combos = self.raw.execute(q, (floor,)).fetchall()  # an error aborts the SET too
        self.raw.execute(f"SET LOCAL enable_sort = {'on' if was == 'on' else 'off'}")
        return combos

    def _range_exists(self, fk: Any, low: int, high: int) -> bool:
        """Every id from ``low`` to ``high`` is in ``fk``'s parent table (its rows from
        before this transaction among them locked, PostgreSQL)."""
        parent, pcol = fk.column.table.name, fk.column.name
        if pcol != "id":
            return False
        if any(a <= low and high <= b for a, b in self._full.get(parent, ())):
            return True  # a wider range was counted already (issues for events, too)
        mark = "%s" if self.postgres else "?"
        q = f"SELECT count(*) FROM {parent} WHERE id BETWEEN {mark} AND {mark}"
        if self.raw.execute(q, (low, high)).fetchone()[0] != high - low + 1:
            return False
        self._full.setdefault(parent, []).append((low, high))
        floor = self._floors.get(parent)
        if self.postgres and (floor is None or low <= floor):
            # rows of this transaction need no lock; those before it do
            top = high if floor is None else min(high, floor)
            self.raw.execute(
                f"SELECT 1 FROM {parent} WHERE id BETWEEN %s AND %s FOR KEY SHARE", (low, top)
            )
        return True

    def _check_values(self, name: str, fk: Any, values: set[Any]) -> None:
        """``values`` of ``name``'s key ``fk`` exist in its parent table (locked there)."""
        if not values:
            return
        col, parent, pcol = fk.parent.name, fk.column.table.name, fk.column.name
        want = sorted(values)
        if self.postgres:
            found = self.raw.execute(
                f"SELECT p.{pcol} FROM {parent} p WHERE p.{pcol} = ANY(%s) FOR KEY SHARE OF p",
                (want,),
            ).fetchall()
        else:
            found = self.raw.execute(
                f"SELECT p.{pcol} FROM {parent} p "
                f"WHERE p.{pcol} IN (SELECT value FROM json_each(?))",
                (json.dumps(want),),
            ).fetchall()
        missing = values - {f[0] for f in found}
        if missing:
            bad = sorted(missing)[0]
            raise DomainError(
                f"{name}.{col} = {bad!r}: no such {parent}.{pcol}", kind=name, key=bad
            )

    def _older_rows(self, table: str) -> bool:
        """Whether ``table`` holds rows older than this transaction's (PostgreSQL)."""
        # min(id): read from the primary key's first leaf whatever the statistics say
        low = self.raw.execute(f"SELECT min(id) FROM {table}").fetchone()[0]
        return low is not None and low <= self._floors[table]

    def _check_rows(self, name: str, floor: int, fk: Any) -> None:
        """One anti-join over the rows of ``name`` written for its key ``fk``; the rows
        referenced that were there before this transaction locked (PostgreSQL)."""
        mark = "%s" if self.postgres else "?"
        col, parent, pcol = fk.parent.name, fk.column.table.name, fk.column.name
        mine = f"SELECT c.{col} FROM {name} c WHERE c.id > {mark} AND c.{col} IS NOT NULL"
        if self.postgres:
            older, args = "", (floor,)
            if parent in self._floors:  # rows of this transaction need no lock
                older, args = f" AND p.id <= {mark}", (floor, self._floors[parent])
            if not older or self._older_rows(parent):  # nothing older: nothing to lock
                self.raw.execute(
                    f"SELECT 1 FROM {parent} p WHERE p.{pcol} IN ({mine}){older} "
                    "FOR KEY SHARE OF p",
                    args,
                )
        bad = self.raw.execute(
            f"{mine} AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.{pcol} = c.{col}) LIMIT 1",
            (floor,),
        ).fetchone()
        if bad is not None:
            raise DomainError(
                f"{name}.{col} = {bad[0]!r}: no such {parent}.{pcol}", kind=name, key=bad[0]
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

    def copy_column(self, values: Sequence[str | None]) -> Sequence[str]:
        """A text column's values as ``COPY`` text fields (PostgreSQL): ``\\N`` for None,
        escaped as :meth:`copy_text` escapes them — looked for once in the whole column,
        value by value only when one needs it (no Python code per value otherwise).
        """
        text = "".join(filter(None, values))
        if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
            return [self.copy_text(v) for v in values]
        if None in values:
            return ["\\N" if v is None else v for v in values]
        return values

    def insert_lines(
        self,
        table: Table,
        columns: Sequence[str],
        lines: Iterable[str],
        constants: Mapping[str, Any] | None = None,
        *,
        block: int = 20_000,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Write rows given as ``COPY`` text lines (PostgreSQL only): the fields of
        ``columns`` formatted by :meth:`copy_text` (or :meth:`copy_column`),
        tab-separated, no line end.

        A local choice (issue 26): psycopg formats each value of each row (``write_row``:
        most of writing the issues of a back-fill); a caller that formats the fields
        shared by many rows once and the rest column by column sends the same bytes for
        a fraction of that. ``constants`` (columns with the same value in every row, as
        :meth:`insert`) are formatted once and appended to each line. Sent in blocks of
        ``block`` lines; ``progress(rows sent)`` after each. Returns how many rows.
        """
        if not self.postgres:
            raise TypeError("COPY text lines are for PostgreSQL")
        constants = dict(constants or {})
        extra_cols, extra = self._defaults(table, [*columns, *constants])
        names = [*columns, *constants, *extra_cols]
        tail = "".join("\t" + self.copy_text(v) for v in (*constants.values(), *extra)) + "\n"
        self._begin_table(table)
        sql = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
        n = 0
        rows = iter(lines)
        with self.raw.cursor() as cur, cur.copy(sql) as cp:
            # blocks cut by islice and joined by str.join: no Python code per line
            while buf := list(islice(rows, block)):
                n += len(buf)
                cp.write((tail.join(buf) + tail).encode())
                if progress is not None:
                    progress(n)  # inside the COPY: not for queries on this connection
        return n

    def column_types(self, table: Table, columns: Sequence[str]) -> dict[str, str]:
        """PostgreSQL's type of each of ``columns`` (``format_type`` without modifiers:
        ``integer``, ``character varying``, ``geometry``…)."""
        rows = self.raw.execute(
            "SELECT attname, format_type(atttypid, NULL) FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            (table.name,),
        ).fetchall()
        types = dict(rows)
        return {c: types[c] for c in columns}

    def binary_field(self, value: Any, pg_type: str) -> bytes:
        """One field of ``COPY … (FORMAT binary)``: its length, then its bytes (PostgreSQL).

        ``integer``, ``bigint``, ``double precision``, ``boolean``, ``timestamp with time
        zone`` in their binary form; every other type as its text (``character varying``,
        ``text``, ``json`` — a dict or list written as JSON) or its bytes (``geometry``:
        EWKB), which PostgreSQL's binary input of those types reads as such.
        """
        if value is None:
            return BINARY_NULL
        if pg_type == "integer":
            return _I4(4, value)
        if pg_type == "bigint":
            return _I8(8, value)
        if pg_type == "double precision":
            return _F8(8, value)
        if pg_type == "boolean":
            return b"\x00\x00\x00\x01" + (b"\x01" if value else b"\x00")
        if pg_type == "timestamp with time zone":
            return _I8(8, (value - PG_EPOCH) // _MICROSECOND)
        if isinstance(value, bytes):
            data = value
        elif isinstance(value, dict | list):
            data = self._json(value).encode()
        else:
            data = str(value).encode()
        return len(data).to_bytes(4, "big") + data

    def insert_binary(
        self,
        table: Table,
        columns: Sequence[str],
        fields: Sequence[Column],
        n: int,
        constants: Mapping[str, Any] | None = None,
        *,
        block: int = 10_000,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Write ``n`` rows with ``COPY … (FORMAT binary)`` (PostgreSQL only), given
        column by column: ``fields`` are :mod:`.copy_binary` columns (NumPy arrays, or a
        few encoded fields per :class:`~.copy_binary.Table`), together the fields of
        ``columns`` in order. ``constants`` and the scalar defaults of the columns left
        out are encoded once (:meth:`binary_field`) and end every row.

        A local choice (issue 26): binary fields cost the server no parsing (a
        timestamp's text is the dearest to read) and the client no formatting of
        numbers; :class:`~.copy_binary.BinaryRows` encodes a block of ``block`` rows at
        a time with no Python code per row and field (blocks of 10⁴ rows, about 5 MB:
        a local measurement, the encoding's CPU time was lowest there, its pieces in
        the processor's cache). A block is encoded while the ones before it are sent
        (psycopg's ``QueuedLibpqWriter``: a thread that waits on the socket without the
        GIL; at most its queue, 128 MB, ahead of the server), so the server reads rows
        while the next are made, not after. An error of the server comes at the end of
        the COPY, one of the encoding at once; either way the COPY ends with it.
        ``progress(rows handed to the writer)`` after each block (inside the COPY: not
        for queries on this connection). Returns ``n``.

        Raises
        ------
        ValueError
            A column does not hold ``n`` values, or the fields are not as many as
            ``columns``.
        """
        if not self.postgres:
            raise TypeError("binary COPY is for PostgreSQL")
        constants = dict(constants or {})
        extra_cols, extra = self._defaults(table, [*columns, *constants])
        tail_cols = [*constants, *extra_cols]
        types = self.column_types(table, tail_cols)
        tail = b"".join(
            self.binary_field(v, types[c])
            for c, v in zip(tail_cols, (*constants.values(), *extra), strict=True)
        )
        names = [*columns, *tail_cols]
        rows = BinaryRows([*fields, Const(tail, len(tail_cols))], n)
        if rows.width != len(names):
            raise ValueError(f"{rows.width} fields for {len(names)} columns")
        self._begin_table(table)
        sql = f"COPY {table.name} ({', '.join(names)}) FROM STDIN (FORMAT binary)"
        with self.raw.cursor() as cur, cur.copy(sql, writer=QueuedLibpqWriter(cur)) as cp:
            cp.write(BINARY_HEAD)
            for a in range(0, n, block):
                b = min(n, a + block)
                # a view: the writer cuts it into the slices it sends without copies
                cp.write(memoryview(rows.encode(a, b)))
                if progress is not None:
                    progress(b)
            cp.write(BINARY_TAIL)
        return n

    def insert(
        self,
        table: Table,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        constants: Mapping[str, Any] | None = None,
        shared: tuple[Sequence[str], Sequence[Sequence[Any]]] | None = None,
    ) -> int:
        """Write ``rows`` (tuples in the order of ``columns``); returns how many.

        ``constants`` are columns with the same value in every row (in the column's own
        representation, like the rows' values): on SQLite they are literals of the
        statement, not parameters bound row by row (a local measurement: 14 of 46
        columns as literals took a fifth off the ``executemany`` of 10⁵ rows). Columns
        left out take their scalar Python default (as an ORM insert would), or the
        database's default.

        ``shared`` = (its columns, its rows): values many rows share (a back-fill's
        routing groups); each of ``rows`` then ends with one more value, the index of
        its shared row. On SQLite the shared rows go into a temporary table that the
        insert joins, so those columns are not bound row by row (a local measurement:
        about a sixth of the issue rows' insert); elsewhere the rows are expanded.
        """
        constants = dict(constants or {})
        scols, srows = shared if shared is not None else ((), ())
        extra_cols, extra = self._defaults(table, [*columns, *scols, *constants])
        extra_cols, extra = [*constants, *extra_cols], (*constants.values(), *extra)
        names = [*columns, *scols, *extra_cols]
        n = 0
        self._begin_table(table)
        if self.postgres:
            tail = tuple(extra)
            if shared is not None:
                rows = ((*r[:-1], *srows[r[-1]]) for r in rows)
            sql = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
            with self.raw.cursor() as cur, cur.copy(sql) as cp:
                for row in rows:
                    cp.write_row((*row, *tail) if tail else row)
                    n += 1
            return n
        literals = [_sqlite_literal(v) for v in extra]
        head = f"INSERT INTO {table.name} ({', '.join(names)}) "
        width = len(columns) + (shared is not None)
        if shared is None:
            row = "(" + ", ".join(["?"] * width + literals) + ")"
            if not width:
                return self.raw.executemany(head + "VALUES " + row, rows).rowcount

            def statement(k: int) -> str:
                return head + "VALUES " + ", ".join([row] * k)

        else:
            tmp = f"temp.bulk_shared_{table.name}"
            self.raw.execute(f"DROP TABLE IF EXISTS {tmp}")
            cols = ", ".join(f"c{j}" for j in range(len(scols)))
            self.raw.execute(f"CREATE TABLE {tmp} (i INTEGER PRIMARY KEY, {cols})")
            marks = ", ".join(["?"] * (len(scols) + 1))
            self.raw.executemany(
                f"INSERT INTO {tmp} VALUES ({marks})", ((i, *r) for i, r in enumerate(srows))
            )
            row = "(" + ", ".join(["?"] * width) + ")"
            picked = ", ".join(
                [f"v.column{j + 1}" for j in range(len(columns))]
                + [f"s.c{j}" for j in range(len(scols))]
                + literals
            )

            join = f" v JOIN {tmp} s ON s.i = v.column{width}"

            def statement(k: int) -> str:
                return f"{head}SELECT {picked} FROM (VALUES {', '.join([row] * k)}){join}"

        # A local choice (issue 26): many rows per statement, as many as SQLite binds
        # parameters (32,766 since 3.32; 999 before), each statement's parameters one
        # flat tuple: less per-row work in the driver than ``executemany`` (a local
        # measurement: about a tenth of the issue rows' insert)
        per = max(1, self._max_params() // width)
        full = statement(per)
        it = iter(rows)
        try:
            while block := list(islice(it, per)):
                if any(len(r) != width for r in block):  # a flat tuple would shift silently
                    bad = next(r for r in block if len(r) != width)
                    raise ValueError(f"a row of {len(bad)} values for {width}")
                sql = full if len(block) == per else statement(len(block))
                done = self.raw.execute(sql, tuple(chain.from_iterable(block))).rowcount
                if done != len(block):  # the join lost a row: no such shared row
                    raise ValueError(f"{len(block) - done} row(s) name no shared row")
                n += done
        finally:
            if shared is not None:
                self.raw.execute(f"DROP TABLE {tmp}")
        return n

    def _max_params(self) -> int:
        """How many parameters one SQLite statement may bind (its compile-time limit)."""
        try:
            return int(self.raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
        except (AttributeError, sqlite3.Error):  # not a sqlite3 connection: the old default
            return 999


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
