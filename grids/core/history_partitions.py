"""Monthly partitions of the issue history on PostgreSQL (issue 26); SQLite keeps one table.

Revision 0600 turns ``issues`` (key ``reported_at``) and ``issue_events`` (key ``at``)
into tables partitioned by month (``PARTITION BY RANGE``), one partition per month of
the county's time zone (:func:`civgrid.grids.core.calendar.local_zone`, a local choice:
a month's bulletin then reads one partition) and a ``DEFAULT`` partition for rows of a
month that has none yet. This module names, plans and creates the partitions; the
``civgrid db partitions`` command and the migration use it.

PostgreSQL cannot enforce a unique key on a partitioned table unless the key holds the
partition key ("Unique constraints (and hence primary keys) on partitioned tables must
include all the partition key columns", PostgreSQL 15 manual, 5.11.2.3 "Limitations").
So the parents' primary keys are ``(id, reported_at)`` and ``(id, at)``, and a narrow,
unpartitioned **key table** per history table holds each id once:

* ``issue_keys (id PRIMARY KEY, idempotency_key UNIQUE)`` and
  ``issue_event_keys (id PRIMARY KEY)``, filled by a ``BEFORE INSERT`` row trigger on
  the parent: a duplicate id (or idempotency key) fails there with the same
  ``unique_violation`` as before;
* every foreign key that pointed at ``issues.id`` (or ``issue_events.id``) points at
  the key table instead, with the same ``ON DELETE`` action, so PostgreSQL's own
  referential integrity still checks, cascades and restricts;
* ``issues.id`` (``issue_events.id``) references its key table ``ON DELETE CASCADE``,
  and an ``AFTER DELETE`` row trigger deletes the key when the row goes: deleting an
  issue deletes its key, which cascades or restricts exactly as the old foreign keys
  did;
* the id, the partition key and (issues) the idempotency key cannot be updated
  (a change of the partition key would move the row: a delete and an insert).

Rows are moved out of the default partition with the triggers off for the moving
transaction only (the setting :data:`MOVE_SETTING`), since the rows keep their ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

__all__ = [
    "HISTORY",
    "MOVE_SETTING",
    "History",
    "PartitionReport",
    "add_months",
    "apply_plan",
    "month_bounds",
    "partition_name",
    "partitioned_tables",
    "plan_partitions",
]

#: While ``on`` (``SET LOCAL``, in the transaction that moves rows between partitions),
#: the key-table triggers do nothing: a moved row keeps its id and its key.
MOVE_SETTING = "civgrid.partition_move"


@dataclass(frozen=True)
class History:
    """One partitioned history table, its partition key and its key table."""

    table: str
    key: str
    keys_table: str
    key_columns: tuple[str, ...] = ()

    @property
    def default(self) -> str:
        """Name of the default partition."""
        return f"{self.table}_default"


#: The partitioned tables (order: parents before children).
HISTORY: tuple[History, ...] = (
    History("issues", "reported_at", "issue_keys", ("idempotency_key",)),
    History("issue_events", "at", "issue_event_keys"),
)


def add_months(month: date, n: int) -> date:
    """The first day of the month ``n`` months after ``month``'s.

    >>> add_months(date(2026, 11, 17), 3)
    datetime.date(2027, 2, 1)
    >>> add_months(date(2026, 1, 1), -1)
    datetime.date(2025, 12, 1)
    """
    k = month.year * 12 + month.month - 1 + n
    return date(k // 12, k % 12 + 1, 1)


def month_bounds(month: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of ``month`` in ``zone``: the range of its partition.

    >>> from zoneinfo import ZoneInfo
    >>> lo, hi = month_bounds(date(2026, 12, 5), ZoneInfo("Asia/Shanghai"))
    >>> lo.isoformat(), hi.isoformat()
    ('2026-12-01T00:00:00+08:00', '2027-01-01T00:00:00+08:00')
    """
    start = add_months(month, 0)
    end = add_months(month, 1)
    return (
        datetime(start.year, start.month, 1, tzinfo=zone),
        datetime(end.year, end.month, 1, tzinfo=zone),
    )


def partition_name(table: str, month: date) -> str:
    """The name of ``table``'s partition of ``month``.

    >>> partition_name("issue_events", date(2027, 3, 9))
    'issue_events_p2027_03'
    """
    return f"{table}_p{month.year:04d}_{month.month:02d}"


def _month_of(table: str, name: str) -> date | None:
    m = re.fullmatch(rf"{re.escape(table)}_p(\d{{4}})_(\d{{2}})", name)
    return date(int(m[1]), int(m[2]), 1) if m else None


def partitioned_tables(conn: Any) -> set[str]:
    """The history tables that are partitioned in ``conn``'s database (empty on SQLite)."""
    if conn.dialect.name != "postgresql":
        return set()
    rows = conn.exec_driver_sql(
        "SELECT c.relname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
        "WHERE c.relnamespace = 'public'::regnamespace"
    )
    return {r[0] for r in rows} & {h.table for h in HISTORY}


def _existing(conn: Any, h: History) -> dict[date, str]:
    rows = conn.exec_driver_sql(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        f"WHERE i.inhparent = '{h.table}'::regclass"
    )
    out = {}
    for (name,) in rows:
        month = _month_of(h.table, name)
        if month is not None:
            out[month] = name
    return out


def _default_months(conn: Any, h: History, zone: tzinfo) -> dict[date, int]:
    rows = conn.exec_driver_sql(
        f"SELECT date_trunc('month', {h.key} AT TIME ZONE %(z)s)::date, count(*) "
        f"FROM {h.default} GROUP BY 1",
        {"z": str(zone)},
    )
    return {r[0]: int(r[1]) for r in rows}


@dataclass
class PartitionReport:
    """What ``civgrid db partitions`` found and created (or would create)."""

    months: list[date]
    existing: dict[str, int] = field(default_factory=dict)
    in_default: dict[str, dict[date, int]] = field(default_factory=dict)
    planned: list[tuple[str, date, int]] = field(default_factory=list)
    committed: bool = False

    def lines(self) -> list[str]:
        """The report, one line each."""
        span = f"{self.months[0]:%Y-%m} … {self.months[-1]:%Y-%m}" if self.months else "none"
        out = [f"months wanted (this month and ahead): {span}"]
        for table, n in self.existing.items():
            rows = sum(self.in_default.get(table, {}).values())
            out.append(f"{table}: {n} monthly partitions; {rows} rows in {table}_default")
        verb = "created" if self.committed else "would create"
        for table, month, moved in self.planned:
            note = f", moving {moved} rows out of {table}_default" if moved else ""
            out.append(f"{verb} {partition_name(table, month)}{note}")
        if not self.planned:
            out.append("nothing to do")
        elif not self.committed:
            out.append("dry run: nothing written (use --commit)")
        return out


def plan_partitions(conn: Any, *, ahead: int, today: date, zone: tzinfo) -> PartitionReport:
    """The partitions to create: this month and the ``ahead`` next ones, and every month
    that has rows in a default partition, minus those that exist.

    Raises
    ------
    ValueError
        ``ahead`` is negative.
    """
    if ahead < 0:
        raise ValueError(f"ahead must be ≥ 0, not {ahead}")
    months = [add_months(today, k) for k in range(ahead + 1)]
    report = PartitionReport(months=months)
    for h in HISTORY:
        have = _existing(conn, h)
        waiting = _default_months(conn, h, zone)
        report.existing[h.table] = len(have)
        report.in_default[h.table] = waiting
        for month in sorted(set(months) | set(waiting)):
            if month not in have:
                report.planned.append((h.table, month, waiting.get(month, 0)))
    return report


def create_partition(conn: Any, h: History, month: date, zone: tzinfo) -> int:
    """Create ``h``'s partition of ``month`` in ``conn``'s transaction, moving that month's
    rows out of the default partition; returns how many rows moved.

    The new table is filled while it is not yet a partition, then attached (PostgreSQL
    checks that the default partition holds no row of the range, and builds the
    parent's indexes and foreign keys on it).
    """
    lo, hi = month_bounds(month, zone)
    name = partition_name(h.table, month)
    conn.exec_driver_sql(
        f"CREATE TABLE {name} (LIKE {h.table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    )
    conn.exec_driver_sql(f"SET LOCAL {MOVE_SETTING} = 'on'")
    moved = conn.exec_driver_sql(
        f"WITH m AS (DELETE FROM {h.default} WHERE {h.key} >= %(lo)s AND {h.key} < %(hi)s "
        f"RETURNING *) INSERT INTO {name} SELECT * FROM m",
        {"lo": lo, "hi": hi},
    ).rowcount
    conn.exec_driver_sql(f"SET LOCAL {MOVE_SETTING} = 'off'")
    conn.exec_driver_sql(
        f"ALTER TABLE {h.table} ATTACH PARTITION {name} "
        f"FOR VALUES FROM ('{lo.isoformat()}') TO ('{hi.isoformat()}')"
    )
    return int(moved or 0)


def apply_plan(conn: Any, report: PartitionReport, zone: tzinfo) -> None:
    """Create the planned partitions in ``conn``'s transaction (all or none)."""
    by_name = {h.table: h for h in HISTORY}
    for table, month, _moved in report.planned:
        create_partition(conn, by_name[table], month, zone)
    report.committed = True
