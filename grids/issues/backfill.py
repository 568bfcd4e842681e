"""Back-fill of historical issues from a spreadsheet (``civgrid import issues FILE``).

Reads ``.xlsx`` or ``.csv`` (UTF-8 or GBK) with Chinese or English column
names, validates every row (a report lists each bad row with its field),
converts coordinates to WGS84, snaps **all points at once** with the bulk
engine of the snap index (:meth:`civgrid.geo.snap.SnapIndex.snap_many`), routes
each distinct place × category once through the ordinary routing rules, marks
recurrences (same category within ``recurrence_days`` after an earlier one
closed, within ``recurrence_radius_m`` or in the same unit grid), and writes the
issues with bulk inserts in one transaction — or, without ``commit``, writes
nothing and returns the same report (a dry run).

Historical rows keep their state from the file (closed, rectifying…); they are
not re-merged as duplicates. Each row gets an idempotency key
(``import:<external id>`` or ``import:<file>:<row>``), so importing the same file
twice adds nothing the second time.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import math
import struct
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.geo.crs import diagnose_lonlat, normalize_crs, to_wgs84
from civgrid.geo.metric import Projector, metric_epsg_for
from civgrid.grids.boundaries.index import BulkHits
from civgrid.grids.boundaries.models import Assignment, Category, Leader, Unit
from civgrid.grids.core.errors import InvalidInputError
from civgrid.grids.core.types import SRID
from civgrid.grids.issues.bulk_insert import (
    BINARY_NULL,
    PG_EPOCH,
    BulkInserter,
    foreign_keys_back,
)
from civgrid.grids.issues.config import SOURCE_LABELS, IssueConfig, Source
from civgrid.grids.issues.member_sets import party_set_ids, place_set_ids
from civgrid.grids.issues.models import Issue, IssueEvent, PartySetMember, PlaceSetMember
from civgrid.grids.issues.records import LEADER_ROLES
from civgrid.grids.issues.routing_store import shared_routing_ids
from civgrid.grids.issues.workflow import DEFAULT_LABELS, KIND, Kind, State

__all__ = [
    "COLUMN_ALIASES",
    "BackfillReport",
    "backfill_issues",
    "read_issue_table",
    "synthetic_history",
]

#: Accepted column names (first match wins, case-insensitive).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "external_id": ("external_id", "id", "问题编号", "编号"),
    "lon": ("lon", "lng", "longitude", "x", "经度"),
    "lat": ("lat", "latitude", "y", "纬度"),
    "category": ("category", "category_code", "问题类别", "类别", "问题类型"),
    "source": ("source", "问题来源", "来源"),
    "reported_at": ("reported_at", "发现时间", "上报时间", "时间"),
    "state": ("state", "status", "办理状态", "状态", "整改状态"),
    "deadline": ("deadline", "整改时限", "处置时限"),
    "closed_at": ("closed_at", "结案时间", "办结时间"),
    "description": ("description", "问题描述", "描述"),
    "address": ("address", "详细地址", "地址", "位置"),
}
REQUIRED = ("lon", "lat", "category", "reported_at")
#: Extra words for states in old spreadsheets (the labels themselves come from the workflow).
STATE_WORDS = {
    "已办结": State.closed,
    "办结": State.closed,
    "已整改": State.closed,
    "已完成": State.closed,
    "结案": State.closed,
    "处理中": State.rectifying,
    "待整改": State.assigned,
    "已派遣": State.assigned,
    "返工": State.returned,
    "作废": State.rejected,
}


@dataclass
class BackfillReport:
    """What a back-fill did (or would do)."""

    file: str
    rows: int = 0
    valid: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    states: Counter[str] = field(default_factory=Counter)
    categories: Counter[str] = field(default_factory=Counter)
    outside: int = 0
    unroutable: int = 0
    recurrences: int = 0
    already_imported: int = 0
    routed_groups: int = 0
    written: int = 0
    committed: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """No bad row."""
        return not self.problems

    def to_text(self, max_problems: int = 20) -> str:
        """The report for the CLI."""
        rate = self.valid / self.seconds if self.seconds else 0.0
        lines = [
            f"{self.file}: {self.rows} rows, {self.valid} valid, "
            f"{len(self.problems)} with problems",
            "  states: " + ", ".join(f"{k} {v}" for k, v in sorted(self.states.items())),
            f"  outside the county {self.outside}, unroutable {self.unroutable}, "
            f"recurrences {self.recurrences}, already imported {self.already_imported}",
            f"  {self.routed_groups} distinct places×categories routed; "
            f"{self.seconds:.1f} s ({rate:,.0f} rows/s)",
        ]
        for p in self.problems[:max_problems]:
            lines.append(f"  row {p['row']}, field {p['field']!r}: {p['message']}")
        if len(self.problems) > max_problems:
            lines.append(f"  … and {len(self.problems) - max_problems} more problems")
        if self.committed:
            lines.append(f"Committed: {self.written} issues written.")
        else:
            lines.append("Dry run: nothing written (use --commit).")
        return "\n".join(lines)


# ----------------------------------------------------------------------------- reading


def read_issue_table(path: str | Path, encoding: str | None = None) -> list[dict[str, Any]]:
    """Rows of an ``.xlsx`` (first sheet) or ``.csv`` file as dicts keyed by the header.

    Raises
    ------
    InvalidInputError
        Unknown file type, or a CSV that is neither UTF-8 nor GBK (``encoding`` overrides).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        ws = wb.worksheets[0]
        it = ws.iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(it, [])]
        rows = [dict(zip(header, r, strict=False)) for r in it if any(v is not None for v in r)]
        wb.close()
        return rows
    if suffix == ".csv":
        data = path.read_bytes()
        for enc in [encoding] if encoding else ["utf-8-sig", "gb18030"]:
            try:
                text = data.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise InvalidInputError(
                f"{path.name}: not UTF-8 or GBK text; pass --encoding", field="encoding"
            )
        return list(csv.DictReader(text.splitlines()))
    raise InvalidInputError(f"{path.name}: use an .xlsx or .csv file", field="file")


def _columns(header: Iterable[str]) -> dict[str, str]:
    lower = {str(h).strip().lower(): h for h in header if h}
    out = {}
    for key, names in COLUMN_ALIASES.items():
        for n in names:
            if n.lower() in lower:
                out[key] = lower[n.lower()]
                break
    return out


def _parse_time(value: Any, tz: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        t = value
    elif isinstance(value, date):
        t = datetime(value.year, value.month, value.day)
    else:
        s = str(value).strip().replace("/", "-")
        try:  # the common spellings, in C; the formats below for the others
            t = datetime.fromisoformat(s)
        except ValueError:
            t = None
        for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"):
            if t is not None:
                break
            try:
                t = datetime.strptime(s, fmt)
            except ValueError:
                continue
        if t is None:
            t = datetime.fromisoformat(s)  # raises ValueError
    if t.tzinfo is None:
        t = t.replace(tzinfo=tz)
    return t.astimezone(UTC)


# ----------------------------------------------------------------------------- back-fill


@dataclass(slots=True)
class _Row:
    row: int
    key: str
    lon: float
    lat: float
    input_lon: float
    input_lat: float
    category: str
    source: str
    reported_at: datetime
    state: State
    deadline: datetime | None
    closed_at: datetime | None
    description: str | None
    address: str | None
    prev: int | None = None  # row index of the issue this one recurs after
    repeat: int = 0


_BAD = object()  # a value that did not parse


def _validate(
    raw: Sequence[Mapping[str, Any]],
    session: Session,
    cfg: IssueConfig,
    crs: str,
    file_key: str,
    report: BackfillReport,
) -> list[_Row]:
    if not raw:
        return []
    cols = _columns(raw[0].keys())
    missing = [k for k in REQUIRED if k not in cols]
    if missing:
        raise InvalidInputError(
            "missing column(s): "
            + ", ".join(f"{k} ({'/'.join(COLUMN_ALIASES[k])})" for k in missing),
            field=missing[0],
        )
    cats = {c.code: c.code for c in session.scalars(select(Category))}
    cats.update({c.name: c.code for c in session.scalars(select(Category))})
    sources = {s.value: s.value for s in Source} | {v: k.value for k, v in SOURCE_LABELS.items()}
    states = (
        {s.value: s for s in State}
        | {v: k for k, v in DEFAULT_LABELS.items()}
        | {v: k for k, v in cfg.workflow.labels.items()}
        | STATE_WORDS
    )
    tz = cfg.calendar.tz

    def bad(i: int, fld: str, msg: str) -> None:
        report.problems.append({"row": i + 2, "field": cols.get(fld, fld), "message": msg})

    n = len(raw)

    def column(key: str) -> list[Any]:
        if key not in cols:
            return [None] * n
        c = cols[key]
        return [v.strip() if v.__class__ is str else v for v in [r.get(c) for r in raw]]

    def floats(values: list[Any]) -> np.ndarray:
        try:  # the common case in one call: numbers, numeric text, None (NaN)
            return np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            arr = np.full(n, np.nan)
            for i, v in enumerate(values):
                with contextlib.suppress(TypeError, ValueError):
                    arr[i] = float(v)
            return arr

    def mapped(values: list[Any], table: Mapping[str, Any], default: str) -> list[Any]:
        memo = {v: table.get(str(v or default)) for v in set(values)}
        return [memo[v] for v in values]

    def times(values: list[Any]) -> list[Any]:
        memo: dict[Any, Any] = {}
        for v in set(values):
            try:
                memo[v] = _parse_time(v, tz)
            except (TypeError, ValueError):
                memo[v] = _BAD
        return [memo[v] for v in values]

    lon_in, lat_in = floats(column("lon")), floats(column("lat"))
    coord_problem = {
        p["row"]: p
        for p in diagnose_lonlat(
            lon_in, lat_in, what="issue location", lon_name=cols["lon"], lat_name=cols["lat"]
        )
    }
    wlon, wlat = to_wgs84(np.nan_to_num(lon_in), np.nan_to_num(lat_in), crs)
    cat_raw, src_raw, st_raw = column("category"), column("source"), column("state")
    cat = mapped(cat_raw, cats, "")
    src = mapped(src_raw, sources, "field_supervision")
    st = mapped(st_raw, states, "closed")
    when = {key: column(key) for key in ("reported_at", "deadline", "closed_at")}
    parsed = {key: times(vals) for key, vals in when.items()}
    rep, dl, cl = parsed["reported_at"], parsed["deadline"], parsed["closed_at"]
    bad_rows = set(coord_problem)
    for values in (cat, src, st):
        bad_rows.update(i for i, v in enumerate(values) if v is None)
    for values in (dl, cl):
        bad_rows.update(i for i, v in enumerate(values) if v is _BAD)
    bad_rows.update(i for i, v in enumerate(rep) if v is None or v is _BAD)
    for i in sorted(bad_rows):  # each bad row's problems, in the order of its fields
        if i in coord_problem:
            p = coord_problem[i]
            report.problems.append({"row": i + 2, "field": p["field"], "message": p["message"]})
        if cat[i] is None:
            bad(i, "category", f"unknown category {cat_raw[i]!r}")
        if src[i] is None:
            bad(i, "source", f"unknown source {src_raw[i]!r}")
        if st[i] is None:
            bad(i, "state", f"unknown state {st_raw[i]!r}")
        for key in ("reported_at", "deadline", "closed_at"):
            if parsed[key][i] is _BAD:
                bad(i, key, f"not a date/time: {when[key][i]!r}")
        if rep[i] is None:
            bad(i, "reported_at", "missing")
    ext = column("external_id")
    desc, addr = column("description"), column("address")
    wlon_l, wlat_l = wlon.tolist(), wlat.tolist()
    lon_l, lat_l = lon_in.tolist(), lat_in.tolist()
    is_open = {s: KIND[s] is Kind.open for s in State}
    out: list[_Row] = []
    for i in range(n):
        if i in bad_rows:
            continue
        e = ext[i]
        stv = st[i]
        out.append(
            _Row(
                i + 2,
                f"import:{e}" if e not in (None, "") else f"import:{file_key}:{i + 2}",
                wlon_l[i],
                wlat_l[i],
                lon_l[i],
                lat_l[i],
                cat[i],
                src[i],
                rep[i],
                stv,
                dl[i],
                None if is_open[stv] else cl[i],
                desc[i],
                addr[i],
            )
        )
    return out


def backfill_issues(
    store: Any,
    source: str | Path | Sequence[Mapping[str, Any]],
    *,
    crs: str = "wgs84",
    encoding: str | None = None,
    commit: bool = False,
    config: IssueConfig | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    chunk: int = 5000,
) -> BackfillReport:
    """Import historical issues (a dry run unless ``commit``).

    Parameters
    ----------
    store : Store
        Its current snap index answers the bulk snapping.
    source : path or sequence of mappings
        An ``.xlsx``/``.csv`` file, or rows as dicts (tests, benchmarks).
    crs : str
        CRS of the file's coordinates (wgs84, gcj02, bd09, cgcs2000).
    encoding : str, optional
        CSV encoding (default: UTF-8, else GBK).
    commit : bool
        Write (one transaction, all or nothing); refused when a row has problems.
    config : IssueConfig, optional
    progress : callable, optional
        ``progress(stage, done, total)``: during a stage and once at its end, so the
        time up to each call was spent in the stage it names (``read``, ``validate``,
        ``dedupe``, ``snap``, ``route``, ``recurrences``, then the writes: ``write
        sets`` (the party and place sets and the routing answers of the groups), ``write
        issues`` (with the reserved ids), ``index issues`` (when the back-fill adds at least
        as many issues as there were, their indexes are built after the rows:
        :mod:`civgrid.grids.issues.bulk_insert`), ``write events``, and ``write`` (the
        foreign-key check on PostgreSQL) once every row is sent, then ``commit``).
    chunk : int
        Keys per idempotency look-up (the writes stream: ``COPY`` / ``executemany``).

    Returns
    -------
    BackfillReport
    """
    t0 = time.perf_counter()
    cfg = config or IssueConfig()
    crs = normalize_crs(crs)
    if isinstance(source, str | Path):
        name = Path(source).name
        raw = read_issue_table(source, encoding)
    else:
        name, raw = "rows", list(source)
    report = BackfillReport(name, rows=len(raw))
    file_key = hashlib.sha1(name.encode()).hexdigest()[:10]
    now = cfg.now()
    tick = progress or (lambda *_: None)
    tick("read", len(raw), len(raw))
    # a connection of its own (the session's, across its commit): on SQLite the writes
    # switch its foreign keys off until the transaction ends (bulk_insert), and they are
    # switched on again before it goes back to the pool, whatever happened
    conn = store.engine.connect()
    session = store._sessionmaker(bind=conn)
    try:
        rows = _validate(raw, session, cfg, crs, file_key, report)
        report.valid = len(rows)
        tick("validate", len(raw), len(raw))
        keys = [r.key for r in rows]
        existing = _existing_keys(session, keys, chunk)
        report.already_imported = sum(1 for r in rows if r.key in existing)
        rows = [r for r in rows if r.key not in existing]
        rows.sort(key=lambda r: (r.reported_at, r.row))
        tick("dedupe", len(rows), len(rows))
        lon = np.array([r.lon for r in rows], dtype=float)
        lat = np.array([r.lat for r in rows], dtype=float)
        index = store.snap_index
        bulk = index.snap_arrays(lon, lat)
        tick("snap", len(rows), len(rows))
        group, routes = _route_groups(session, store, rows, bulk, index.generation_id, report, tick)
        _recurrences(rows, lon, lat, bulk.codes("unit_grid"), cfg, report)
        report.states.update(Counter(r.state.value for r in rows))
        report.categories.update(Counter(r.category for r in rows))
        tick("recurrences", len(rows), len(rows))
        if commit and not report.ok:
            raise InvalidInputError(
                f"{len(report.problems)} row(s) have problems; nothing written "
                f"(first: row {report.problems[0]['row']}, {report.problems[0]['message']})",
                field=report.problems[0]["field"],
                row=report.problems[0]["row"],
            )
        if commit:
            _write(session, rows, bulk, group, routes, now, name, tick)
            session.commit()
            tick("commit", len(rows), len(rows))
            report.committed = True
            report.written = len(rows)
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        try:
            foreign_keys_back(conn)
        finally:
            conn.close()
    report.seconds = time.perf_counter() - t0
    return report


def _existing_keys(session: Session, keys: list[str], chunk: int) -> set[str]:
    """The idempotency keys among ``keys`` that issues already have.

    PostgreSQL gets each chunk as one array parameter (``= ANY(…)``), not an ``IN`` list
    of as many parameters, which it parses and plans each time (a local measurement:
    most of the 3 s this stage took for 10⁵ keys).
    """
    from sqlalchemy import String, any_, bindparam
    from sqlalchemy.dialects.postgresql import ARRAY

    postgres = session.get_bind().dialect.name == "postgresql"
    found: set[str] = set()
    for i in range(0, len(keys), chunk):
        part = keys[i : i + chunk]
        cond = (
            Issue.idempotency_key == any_(bindparam("keys", part, type_=ARRAY(String)))
            if postgres
            else Issue.idempotency_key.in_(part)
        )
        found.update(session.scalars(select(Issue.idempotency_key).where(cond)))
    return found


def _assignment_epochs(session: Session) -> list[date]:
    days = set()
    for vf, vt in session.execute(select(Assignment.valid_from, Assignment.valid_to)):
        days.add(vf)
        if vt is not None:
            days.add(vt)
    return sorted(days)


def _route_groups(
    session: Session,
    store: Any,
    rows: list[_Row],
    bulk: BulkHits,
    gen_id: int | None,
    report: BackfillReport,
    tick: Callable[[str, int, int], None],
) -> tuple[np.ndarray, list[Any]]:
    """Route each distinct (place, assignment epoch, category) once.

    The groups are found on arrays (the combination of objects the bulk snap found,
    the epoch of the report day among the assignments' start and end days, the
    category); each is resolved once, at its first row's point, from the routing
    tables, categories and assessment points read once.

    Returns
    -------
    group : numpy.ndarray of int
        Per row, its group.
    routes : list of Responsibility
        Per group, the answer.
    """
    from civgrid.grids.boundaries.assessment_points import PointIndex
    from civgrid.grids.boundaries.routing import resolve

    n = len(rows)
    if n == 0:
        return np.zeros(0, dtype=np.int64), []
    epochs = np.array([d.toordinal() for d in _assignment_epochs(session)], dtype=np.int64)
    tables = store.routing_tables(session)  # read once: rules, categories, assignments
    points = PointIndex.load(session)
    cats: dict[str, int] = {}
    cat = np.fromiter((cats.setdefault(r.category, len(cats)) for r in rows), np.int64, n)
    days = [r.reported_at.date() for r in rows]
    epoch = np.searchsorted(
        epochs, np.fromiter((d.toordinal() for d in days), np.int64, n), "right"
    )
    key = (bulk.place_ids() * (len(epochs) + 1) + epoch) * max(len(cats), 1) + cat
    _, first, group = np.unique(key, return_index=True, return_inverse=True)
    order = np.argsort(first)  # groups numbered in the order of their first row
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    first, group = first[order], rank[group.reshape(-1)]
    routes = []
    for g, k in enumerate(first.tolist()):
        r = rows[k]
        routes.append(
            resolve(
                session,
                lon=r.lon,
                lat=r.lat,
                category=r.category,
                day=days[k],
                generation_id=gen_id,
                hits=bulk.hits(k),
                tables=tables,
                points=points,
            )
        )
        if g % 500 == 0:
            tick("route", g, len(first))
    for resp, count in zip(routes, np.bincount(group, minlength=len(routes)).tolist(), strict=True):
        if resp.triage == "outside_jurisdiction":
            report.outside += count
        elif resp.triage is not None:
            report.unroutable += count
    tick("route", len(first), len(first))
    report.routed_groups = len(routes)
    return group, routes


def _recurrences(
    rows: list[_Row],
    lon: np.ndarray,
    lat: np.ndarray,
    grids: Sequence[str | None],
    cfg: IssueConfig,
    report: BackfillReport,
) -> None:
    """Mark recurrences in memory (rows sorted by report time): sets ``prev`` (the row
    index of the issue it recurs after) and ``repeat`` per row.

    A row recurs after the latest issue of its category that closed within
    ``recurrence_days`` before it was reported, in the same unit grid (``grids``, per
    row) or within ``recurrence_radius_m`` (metric CRS of the county).
    """
    import heapq

    if not rows:
        return
    proj = Projector(metric_epsg_for(float(np.median(lon))))
    x, y = proj.forward(lon, lat)
    radius = cfg.recurrence_radius_m
    cell = max(radius, 1.0)
    xs, ys = x.tolist(), y.tolist()
    cxs = np.floor_divide(x, cell).astype(np.int64).tolist()
    cys = np.floor_divide(y, cell).astype(np.int64).tolist()
    window = timedelta(days=cfg.recurrence_days)
    closed_at = [r.closed_at for r in rows]
    closed: dict[tuple, list[int]] = {}  # (category, cx, cy) -> row indexes
    by_grid: dict[tuple[str, str], list[int]] = {}
    pending: list[tuple[datetime, int]] = []  # closed rows, by closing time
    hypot = math.hypot
    state_closed = State.closed
    found = 0
    for k, r in enumerate(rows):
        reported = r.reported_at
        while pending and pending[0][0] <= reported:
            _, j = heapq.heappop(pending)
            cat_j = rows[j].category
            closed.setdefault((cat_j, cxs[j], cys[j]), []).append(j)
            g = grids[j]
            if g is not None:
                by_grid.setdefault((cat_j, g), []).append(j)
        if not closed:
            if r.state is state_closed and r.closed_at is not None:
                heapq.heappush(pending, (r.closed_at, k))
            continue
        # The lists are in closing order ((closed_at, row) ascending, as the heap hands
        # them out), so the latest candidate of each is found from its end: the last
        # one of the unit grid, the last one within the radius of a cell — and a scan
        # stops at the first that closed before the window.
        cutoff = reported - window
        cat = r.category
        best: tuple[datetime, int] | None = None
        g = grids[k]
        if g is not None:
            in_grid = by_grid.get((cat, g))
            if in_grid:
                j = in_grid[-1]
                cj = closed_at[j]
                if cj >= cutoff:
                    best = (cj, j)
        cx, cy, xk, yk = cxs[k], cys[k], xs[k], ys[k]
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                cands = closed.get((cat, cx + dx, cy + dy))
                if not cands:
                    continue
                for j in reversed(cands):
                    cj = closed_at[j]
                    if cj < cutoff or (best is not None and (cj, j) <= best):
                        break
                    if hypot(xs[j] - xk, ys[j] - yk) <= radius:
                        best = (cj, j)
                        break
        if best is not None:
            j = best[1]
            r.prev = j
            r.repeat = rows[j].repeat + 1
            found += 1
        if r.state is state_closed and r.closed_at is not None:
            heapq.heappush(pending, (r.closed_at, k))
    report.recurrences += found


_ISSUE_COLUMNS = (
    "id",
    "version",
    "idempotency_key",
    "state",
    "category_code",
    "source",
    "priority",
    "description",
    "address",
    "reporter_who",
    "reporter_role",
    "anonymous",
    "lon",
    "lat",
    "geom",
    "input_lon",
    "input_lat",
    "location_source",
    "generation_id",
    "county_code",
    "township_code",
    "community_code",
    "unit_grid_code",
    "road_section_code",
    "routing_id",
    "triage_reason",
    "owner_unit_id",
    "party_set_id",
    "place_set_id",
    "reported_at",
    "created_at",
    "updated_at",
    "assigned_at",
    "deadline",
    "closed_at",
    "overdue",
    "escalated",
    "extension_pending",
    "return_count",
    "extension_count",
    "duplicate_count",
    "notice_count",
    "recurrence_of_id",
    "repeat_count",
    "reinspection_result",
    "attributes",
)
#: The columns of ``_ISSUE_COLUMNS`` every issue of a routing group shares (``_group_parts``
#: and the group's party and place sets).
_GROUP_COLUMNS = _ISSUE_COLUMNS[
    _ISSUE_COLUMNS.index("generation_id") : _ISSUE_COLUMNS.index("place_set_id") + 1
]
_EVENT_COLUMNS = (
    "issue_id",
    "at",
    "action",
    "from_state",
    "to_state",
    "actor_who",
    "actor_role",
    "note",
    "data",
)


def _group_parts(resp: Any, routing_id: int, units: Mapping[str, int]) -> tuple[Any, ...]:
    """The columns every issue of one routing group shares (but its sets).

    The routing answer is stored once (``routing_id``, :mod:`.routing_store`) and holds
    each party's reason and each place's distance.
    """
    owner = resp.owner
    triage = None
    if resp.triage == "outside_jurisdiction":
        triage = "outside_jurisdiction"
    elif resp.triage is not None:
        triage = "unroutable"
    return (
        resp.generation_id,
        resp.county.code if resp.county else None,
        resp.township.code if resp.township else None,
        resp.community.code if resp.community else None,
        resp.unit_grid.code if resp.unit_grid else None,
        resp.road_section.code if resp.road_section else None,
        routing_id,
        triage,
        units.get(owner.key) if owner is not None else None,
    )


def _group_parties(
    resp: Any, units: Mapping[str, int], leaders: Mapping[str, int]
) -> list[tuple[str, int | None, int | None]]:
    """The party list of one routing group: owner, co-responsible units, leaders."""
    owner = resp.owner
    parties: list[tuple[str, int | None, int | None]] = []
    seen = set()
    if owner is not None and owner.key in units:
        parties.append(("owner", units[owner.key], None))
        seen.add(owner.key)
    for p in resp.co_responsible():
        if p.key not in seen and p.key in units:
            seen.add(p.key)
            parties.append(("co_responsible", units[p.key], None))
    lseen = set()
    for p in resp.leaders:
        if p.role in LEADER_ROLES and p.key in leaders and (p.key, p.role) not in lseen:
            lseen.add((p.key, p.role))
            parties.append((p.role, None, leaders[p.key]))
    return parties


def _group_places(bulk: BulkHits, group: np.ndarray, groups: int) -> list[list[tuple[str, str]]]:
    """The place list of each routing group: the objects its first point lay on.

    Every point of a group lies on the same objects (the group key holds
    :meth:`BulkHits.place_ids`), in the layer order of the bulk snap, nearest first.
    """
    first = np.full(len(group), -1, dtype=np.int64)
    _, at_first = np.unique(group, return_index=True)
    first[at_first] = group[at_first]
    out: list[list[tuple[str, str]]] = [[] for _ in range(groups)]
    for layer, at, codes, _dist in bulk.places(first_only=("road_section",)):
        if not len(at):
            continue
        gs = first[at]
        for k in np.flatnonzero(gs >= 0).tolist():
            out[int(gs[k])].append((layer, codes[k]))
    return out


def _write(session, rows, bulk, group, routes, now, name, tick) -> None:
    """Bulk writes in the session's transaction: the party and place sets of the routing
    groups (:mod:`.member_sets`, a few thousand rows, checked with the others),
    then ``COPY`` on PostgreSQL (binary fields; text lines if a column's type is not
    the one the fields are for), one ``executemany`` per table on SQLite — issues (ids
    reserved first, so recurrence links go in the same pass), then events.
    """
    units = {u.key: u.id for u in session.scalars(select(Unit))}
    leaders = {x.key: x.id for x in session.scalars(select(Leader))}
    # first, so that its checks (set-based, before the commit) cover the sets too
    out = BulkInserter(session, set_based_checks=True)
    try:
        out.watch(PartySetMember.__table__)
        out.watch(PlaceSetMember.__table__)
        party_sets = party_set_ids(session, [_group_parties(r, units, leaders) for r in routes])
        place_sets = place_set_ids(session, _group_places(bulk, group, len(routes)))
        routing_ids = shared_routing_ids(out, [resp.to_dict() for resp in routes])
        tick("write sets", len(routes), len(routes))
        sets = list(zip(routing_ids, party_sets, place_sets, strict=True))
        _write_with(out, rows, group, routes, units, sets, now, name, tick)
    finally:
        out.close()


def _write_with(out, rows, group, routes, units, sets, now, name, tick) -> None:
    n = len(rows)
    ids = out.reserve_ids(Issue.__table__, n)
    shared_cols = [  # per routing group
        (*_group_parts(resp, rid, units), party_set, place_set)
        for resp, (rid, party_set, place_set) in zip(routes, sets, strict=True)
    ]
    group_of = group.tolist()

    def points() -> list[Any]:  # the text paths' geometry column
        return out.points(np.array([r.lon for r in rows]), np.array([r.lat for r in rows]))

    now_db = out.ts(now)
    who = f"import:{name}"
    name_json = json.dumps(name, ensure_ascii=False)
    false, true = out.flag(False), out.flag(True)
    closed_state, triage_state = State.closed, State.triage
    # per state, looked up once: its text and whether it is open (an enum member's
    # ``.value`` is a descriptor call, 4 × 10⁵ of them per 10⁵ rows)
    value = {s: s.value for s in State}
    is_open = {s: KIND[s] is Kind.open for s in State}
    ts = out.ts

    # what every row has (SQLite: literals of the INSERT, bound once)
    constants = {
        "version": 1,
        "priority": "normal",
        "reporter_who": who,
        "reporter_role": "system",
        "anonymous": false,
        "location_source": "point",
        "created_at": now_db,
        "updated_at": now_db,
        "escalated": false,
        "extension_pending": false,
        "return_count": 0,
        "extension_count": 0,
        "duplicate_count": 0,
        "notice_count": 0,
    }
    per_row = [c for c in _ISSUE_COLUMNS if c not in constants]

    def issues() -> Iterable[tuple]:  # the columns of per_row
        # SQLite: row by row, reading each row's fields together (a zip over 32 column
        # lists was slower in the back-to-back runs); each distinct time formatted once
        # (``isoformat`` per row and field was 4 s of 10⁶ rows)
        geoms = points()
        distinct = {r.reported_at for r in rows}.union(
            [r.deadline for r in rows], [r.closed_at for r in rows]
        )
        times = {t: ts(t) for t in distinct if t is not None}
        times[None] = None
        for k, r in enumerate(rows):
            state = r.state
            reported = times[r.reported_at]
            prev = r.prev
            deadline = r.deadline
            overdue = is_open[state] and deadline is not None and deadline < now
            yield (
                ids[k],
                r.key,
                value[state],
                r.category,
                r.source,
                r.description,
                r.address,
                r.lon,
                r.lat,
                geoms[k],
                r.input_lon,
                r.input_lat,
                *shared_cols[group_of[k]],
                reported,
                reported if state is not triage_state else None,
                times[deadline],
                times[r.closed_at],
                true if overdue else false,
                None if prev is None else ids[prev],
                r.repeat,
                "passed" if state is closed_state else None,
                f'{{"import": {{"file": {name_json}, "row": {r.row}}}}}',
            )

    def issue_lines() -> Iterable[str]:
        # PostgreSQL: the same fields as COPY text (out.copy_text), column by column —
        # what many rows share formatted once, each column's values by one C-level map
        # or comprehension — and joined row by row by ``"\t".join`` over ``zip``, so
        # no Python code runs per row and field (BulkInserter.insert_lines)
        f = out.copy_text
        null = "\\N"
        shared = ["\t".join(map(f, cols)) for cols in shared_cols]
        state_t = {s: f(value[s]) for s in State}
        states = [r.state for r in rows]
        times: dict[Any, str] = {None: null}  # each distinct time formatted once
        reported = [r.reported_at for r in rows]
        deadlines = [r.deadline for r in rows]
        closed = [r.closed_at for r in rows]
        for col in (reported, deadlines, closed):
            times.update((t, f(t)) for t in set(col).difference(times))
        reported_t = list(map(times.__getitem__, reported))
        prevs = [r.prev for r in rows]
        # a float's repr is the dearest field (about 1 µs): the input coordinates are
        # those of the point when the sheet was in WGS84, and then written once
        lon_t = list(map(float.__repr__, [r.lon for r in rows]))
        lat_t = list(map(float.__repr__, [r.lat for r in rows]))
        # (zero excepted: -0.0 == 0.0, and their reprs differ)
        in_lon_t = [
            t if r.lon and r.input_lon == r.lon else repr(r.input_lon)
            for t, r in zip(lon_t, rows, strict=True)
        ]
        in_lat_t = [
            t if r.lat and r.input_lat == r.lat else repr(r.input_lat)
            for t, r in zip(lat_t, rows, strict=True)
        ]
        cols: list[Iterable[str]] = [
            map(str, ids),
            out.copy_column([r.key for r in rows]),
            map(state_t.__getitem__, states),
            out.copy_column([r.category for r in rows]),
            out.copy_column([r.source for r in rows]),
            out.copy_column([r.description for r in rows]),
            out.copy_column([r.address for r in rows]),
            lon_t,
            lat_t,
            points(),
            in_lon_t,
            in_lat_t,
            map(shared.__getitem__, group_of),
            reported_t,
            [null if s is triage_state else t for s, t in zip(states, reported_t, strict=True)],
            map(times.__getitem__, deadlines),
            map(times.__getitem__, closed),
            [
                "t" if is_open[s] and d is not None and d < now else "f"
                for s, d in zip(states, deadlines, strict=True)
            ],
            [null if p is None else str(ids[p]) for p in prevs],
            map(str, [r.repeat for r in rows]),
            ["passed" if s is closed_state else null for s in states],
            [f"{attrs}{r.row}}}}}" for r in rows],
        ]
        tick("write issues", 0, n)
        return map("\t".join, zip(*cols, strict=True))

    def issue_fields() -> list[Any] | None:
        # PostgreSQL, COPY binary (BulkInserter.insert_binary): the fixed-size fields of
        # every row from one NumPy record array, the others column by column (what a
        # routing group, a state or a time shares encoded once); None when a column's
        # type is not the one these bytes are for (then the text lines)
        types = out.column_types(Issue.__table__, bin_cols)
        fixed = {
            "id": "integer",
            "lon": "double precision",
            "lat": "double precision",
            "geom": "geometry",
            "input_lon": "double precision",
            "input_lat": "double precision",
            "reported_at": "timestamp with time zone",
            "repeat_count": "integer",
            "recurrence_of_id": "integer",
            "overdue": "boolean",
        }
        if any(types[c] != t for c, t in fixed.items()):
            return None
        b = out.binary_field
        reported = [r.reported_at for r in rows]
        deadlines = [r.deadline for r in rows]
        closed = [r.closed_at for r in rows]
        # each distinct time's microseconds since PostgreSQL's epoch, once
        one = timedelta(microseconds=1)
        distinct = set(reported).union(deadlines, closed)
        distinct.discard(None)
        us = {t: (t - PG_EPOCH) // one for t in distinct}
        rec = np.empty(
            n,
            dtype=[
                ("n_id", ">i4"), ("id", ">i4"),
                ("n_lon", ">i4"), ("lon", ">f8"),
                ("n_lat", ">i4"), ("lat", ">f8"),
                ("n_geom", ">i4"), ("order", "u1"), ("type", "<u4"), ("srid", "<u4"),
                ("x", "<f8"), ("y", "<f8"),
                ("n_in_lon", ">i4"), ("in_lon", ">f8"),
                ("n_in_lat", ">i4"), ("in_lat", ">f8"),
                ("n_rep", ">i4"), ("reported", ">i8"),
                ("n_repeat", ">i4"), ("repeat", ">i4"),
            ],
        )  # fmt: skip  # a length and its field per line, as the bytes follow
        lon = np.array([r.lon for r in rows], dtype=float)
        lat = np.array([r.lat for r in rows], dtype=float)
        rec["n_id"], rec["id"] = 4, ids
        rec["n_lon"], rec["lon"], rec["n_lat"], rec["lat"] = 8, lon, 8, lat
        # the point's EWKB, as BulkInserter.points writes it (little-endian, SRID flag)
        rec["n_geom"], rec["order"], rec["type"], rec["srid"] = 25, 1, 0x20000001, SRID
        rec["x"], rec["y"] = lon, lat
        rec["n_in_lon"], rec["in_lon"] = 8, [r.input_lon for r in rows]
        rec["n_in_lat"], rec["in_lat"] = 8, [r.input_lat for r in rows]
        rec["n_rep"], rec["reported"] = 8, list(map(us.__getitem__, reported))
        rec["n_repeat"], rec["repeat"] = 4, [r.repeat for r in rows]
        data, size = rec.tobytes(), rec.dtype.itemsize
        states = [r.state for r in rows]
        i8 = struct.Struct(">iq").pack
        times: dict[Any, bytes] = {t: i8(8, v) for t, v in us.items()}
        times[None] = BINARY_NULL
        # a state and its reinspection result, adjacent columns: one piece per row
        passed = b("passed", types["reinspection_result"])
        state_b = {
            s: b(value[s], types["state"]) + (passed if s is closed_state else BINARY_NULL)
            for s in State
        }
        cat_b = {c: b(c, types["category_code"]) for c in {r.category for r in rows}}
        src_b = {c: b(c, types["source"]) for c in {r.source for r in rows}}
        shared = [
            b"".join(b(v, types[c]) for c, v in zip(_GROUP_COLUMNS, cols, strict=True))
            for cols in shared_cols
        ]
        desc_type, addr_type = types["description"], types["address"]
        i4 = struct.Struct(">ii").pack
        t_, f_ = b(True, "boolean"), b(False, "boolean")
        nulls = BINARY_NULL * 2
        attr = attrs_text.encode()
        return [
            [data[i : i + size] for i in range(0, n * size, size)],
            [len(x).to_bytes(4, "big") + x for x in map(str.encode, [r.key for r in rows])],
            list(map(state_b.__getitem__, states)),
            [cat_b[r.category] for r in rows],
            [src_b[r.source] for r in rows],
            [
                nulls
                if r.description is None and r.address is None
                else b(r.description, desc_type) + b(r.address, addr_type)
                for r in rows
            ],
            list(map(shared.__getitem__, group_of)),
            [
                BINARY_NULL if s is triage_state else times[t]
                for s, t in zip(states, reported, strict=True)
            ],
            list(map(times.__getitem__, deadlines)),
            list(map(times.__getitem__, closed)),
            [
                t_ if is_open[s] and d is not None and d < now else f_
                for s, d in zip(states, deadlines, strict=True)
            ],
            [BINARY_NULL if r.prev is None else i4(4, ids[r.prev]) for r in rows],
            [len(x).to_bytes(4, "big") + x for x in (b"%b%d}}" % (attr, r.row) for r in rows)],
        ]

    # the COPY columns of issue_fields, in order
    bin_cols = [
        "id",
        "lon",
        "lat",
        "geom",
        "input_lon",
        "input_lat",
        "reported_at",
        "repeat_count",
        "idempotency_key",
        "state",
        "reinspection_result",
        "category_code",
        "source",
        "description",
        "address",
        *_GROUP_COLUMNS,
        "assigned_at",
        "deadline",
        "closed_at",
        "overdue",
        "recurrence_of_id",
        "attributes",
    ]
    attrs_text = '{"import": {"file": ' + name_json + ', "row": '

    attrs = '{"import": {"file": ' + out.copy_text(name_json) + ', "row": '
    # the COPY columns of issue_lines, then the constants (formatted once, every row)
    line_cols = [
        "id",
        "idempotency_key",
        "state",
        "category_code",
        "source",
        "description",
        "address",
        "lon",
        "lat",
        "geom",
        "input_lon",
        "input_lat",
        *_GROUP_COLUMNS,
        "reported_at",
        "assigned_at",
        "deadline",
        "closed_at",
        "overdue",
        "recurrence_of_id",
        "repeat_count",
        "reinspection_result",
        "attributes",
    ]

    dropped = out.drop_indexes(Issue.__table__, n)
    fields = issue_fields() if out.postgres else None
    if fields is not None:
        tick("write issues", 0, n)
        out.insert_binary(
            Issue.__table__,
            bin_cols,
            fields,
            n,
            constants,
            progress=lambda k: k < n and tick("write issues", k, n),
        )
    elif out.postgres:
        out.insert_lines(
            Issue.__table__,
            line_cols,
            issue_lines(),
            constants,
            progress=lambda k: k < n and tick("write issues", k, n),
        )
    else:
        it = issues()
        for k in range(0, n, 100_000):  # blocks: progress between them
            tick("write issues", k, n)
            out.insert(Issue.__table__, per_row, islice(it, 100_000), constants)
    tick("write issues", n, n)
    out.create_indexes(dropped)
    tick("index issues", n, n)

    def event_lines() -> Iterable[str]:
        f = out.copy_text
        mid = f"\t{f(now_db)}\timport\t\\N\t"
        end = f"\t{f(who)}\tsystem\t\\N\t" + '{"file": ' + f(name_json) + ', "row": '
        state_t = {s: f(value[s]) for s in State}
        for k, r in enumerate(rows):
            yield f"{ids[k]}{mid}{state_t[r.state]}{end}{r.row}}}"

    def event_fields() -> list[Any] | None:
        # PostgreSQL, COPY binary, as issue_fields: issue id, state, data per row
        types = out.column_types(IssueEvent.__table__, ["issue_id", "to_state", "data"])
        if types["issue_id"] != "integer":
            return None
        rec = np.empty(n, dtype=[("n", ">i4"), ("id", ">i4")])
        rec["n"], rec["id"] = 4, ids
        data = rec.tobytes()
        state_b = {s: out.binary_field(value[s], types["to_state"]) for s in State}
        head = ('{"file": ' + name_json + ', "row": ').encode()
        return [
            [data[i : i + 8] for i in range(0, 8 * n, 8)],
            [state_b[r.state] for r in rows],
            [len(x).to_bytes(4, "big") + x for x in (b"%b%d}" % (head, r.row) for r in rows)],
        ]

    event_constants = {
        "at": now_db,
        "action": "import",
        "from_state": None,
        "actor_who": who,
        "actor_role": "system",
        "note": None,
    }
    fields = event_fields() if out.postgres else None
    if fields is not None:
        cols = ["issue_id", "to_state", "data"]
        out.insert_binary(IssueEvent.__table__, cols, fields, n, event_constants)
    elif out.postgres:
        out.insert_lines(IssueEvent.__table__, _EVENT_COLUMNS, event_lines())
    else:  # SQLite: what every event has as literals, the rest by zip over columns
        cols = [
            ids,
            [value[r.state] for r in rows],
            [f'{{"file": {name_json}, "row": {r.row}}}' for r in rows],
        ]
        rows_ = zip(*cols, strict=True)
        out.insert(IssueEvent.__table__, ["issue_id", "to_state", "data"], rows_, event_constants)
    tick("write events", n, n)
    out.check_references()
    tick("write", n, n)


def synthetic_history(store: Any, n: int, *, seed: int = 0, year: int = 2024) -> list[dict]:
    """``n`` made-up historical rows inside the current unit grids (benchmarks, demos).

    Columns use the Chinese headers of an office spreadsheet; coordinates are WGS84.
    """
    import shapely

    rng = np.random.default_rng(seed)
    grids = store.areas(layer="unit_grid")
    if not grids:
        raise InvalidInputError("no unit grids: load the demo county first", field="store")
    cats = ["乱堆乱倒", "占道经营", "烟蒂烟头", "乱停乱放", "牛皮癣小广告", "公共厕所", "垃圾盲区"]
    geoms = np.array([g.geom for g in grids], dtype=object)
    bounds = shapely.bounds(geoms)
    pick = rng.integers(len(grids), size=n)
    x, y = np.empty(n), np.empty(n)
    todo = np.arange(n)
    for _ in range(50):  # rejection sampling inside each row's grid, all rows at once
        b = bounds[pick[todo]]
        x[todo] = rng.uniform(b[:, 0], b[:, 2])
        y[todo] = rng.uniform(b[:, 1], b[:, 3])
        todo = todo[~shapely.contains_xy(geoms[pick[todo]], x[todo], y[todo])]
        if todo.size == 0:
            break
    t0 = datetime(year, 1, 1, 8, 0)
    minutes = rng.integers(0, 360 * 24 * 60, size=n).tolist()
    closed = (rng.random(n) < 0.9).tolist()
    hours = rng.uniform(2, 96, size=n).tolist()
    cat = rng.integers(len(cats), size=n).tolist()
    source = SOURCE_LABELS[Source.grid_worker]
    labels = DEFAULT_LABELS[State.closed], DEFAULT_LABELS[State.rectifying]
    rows = []
    for i, (lon, lat) in enumerate(zip(x.tolist(), y.tolist(), strict=True)):
        rep = t0 + timedelta(minutes=minutes[i])
        rows.append(
            {
                "问题编号": f"S{seed}-{i}",
                "经度": lon,
                "纬度": lat,
                "问题类别": cats[cat[i]],
                "问题来源": source,
                "发现时间": rep.strftime("%Y-%m-%d %H:%M"),
                "办理状态": labels[0] if closed[i] else labels[1],
                "结案时间": (rep + timedelta(hours=hours[i])).strftime("%Y-%m-%d %H:%M")
                if closed[i]
                else None,
            }
        )
    return rows
