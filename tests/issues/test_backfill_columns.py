"""The back-fill's column-wise stages give what the row-by-row code gave.

Each vectorised stage is compared with a straightforward reference on random data
with the edge cases in it: :func:`_times` with :func:`_parse_time` value by value
(every spelling, impossible dates, days on which the offset changes), the
recurrences with the sweep of session 9 (equal times, rows closed when or before they
were reported, closings exactly at the window's start, distances exactly the radius,
rows without a unit grid), and the validation of a messy table with a per-row
reading of it (same problems, rows, fields and messages; same values).
"""

from __future__ import annotations

import heapq
import math
import random
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from civgrid.grids.issues import backfill as bf
from civgrid.grids.issues.backfill import (
    _BAD,
    _NAT,
    _chain_lengths,
    _parse_time,
    _recurrence_links,
    _times,
)
from civgrid.grids.issues.workflow import State

ZONES = [
    ZoneInfo("Asia/Shanghai"),  # summer time 1986–1991
    ZoneInfo("America/New_York"),
    UTC,
    timezone(timedelta(hours=8)),
]


def _spellings(rng: random.Random, n: int) -> list:
    """Time cells as spreadsheets have them, the odd ones among them."""
    out: list = []
    for _ in range(n):
        y = rng.choice([1988, 1991, 2023, 2024, 2024, 2024, 1, 9999])
        m, d = rng.randint(0, 13), rng.randint(0, 32)
        h, mi, s = rng.randint(0, 25), rng.randint(0, 60), rng.randint(0, 60)
        sep, dsep = rng.choice([" ", "T", "X"]), rng.choice(["-", "/"])
        day = f"{y:04d}{dsep}{m:02d}{dsep}{d:02d}"
        kind = rng.randrange(16)
        if kind < 4:
            out.append(f"{day}{sep}{h:02d}:{mi:02d}")
        elif kind < 6:
            out.append(f"{day}{sep}{h:02d}:{mi:02d}:{s:02d}")
        elif kind == 6:
            out.append(day)
        elif kind == 7:
            out.append(rng.choice([None, "", "  ", "abc", "2024-1-5 8:00", "20240105"]))
        elif kind == 8:
            out.append(f" {day} {h:02d}:{mi:02d} ")  # padded: stripped
        elif kind == 9:
            out.append(rng.choice(["２０２４-01-05", "2024-01-05\x00", "2024-01-05 08:00+08:00"]))
        elif kind == 10:
            out.append(datetime(2024, rng.randint(1, 12), 5, h % 24, mi % 60, s % 60, 1234))
        elif kind == 11:
            out.append(datetime(1988, 4, 10, 2, 30))  # in the gap of the spring change
        elif kind == 12:
            out.append(date(2024, 2, 29))
        elif kind == 13:
            out.append(rng.choice([45000.5, 7, datetime(2024, 5, 1, tzinfo=UTC)]))
        elif kind == 14:  # the days of Beijing's and New York's changes, hour by hour
            out.append(
                rng.choice(["1988-04-10", "1988-09-11", "2024-03-10", "2024-11-03"])
                + f" {rng.randint(0, 23):02d}:{rng.choice([0, 30]):02d}"
            )
        else:
            out.append(f"2024-02-{rng.randint(27, 31):02d} 10:00")  # 2024 is a leap year
    return out


def _at_the_ends(v) -> bool:
    return isinstance(v, str) and ("0001" in v[:6] or "9999" in v[:6])


def _reference_times(values: list, tz) -> tuple[list, list]:
    us, status = [], []
    for v in values:
        try:
            t = _parse_time(v.strip() if isinstance(v, str) else v, tz)
        except (TypeError, ValueError):
            t = _BAD
        if t is None:
            us.append(_NAT), status.append(1)
        elif t is _BAD:
            us.append(_NAT), status.append(2)
        else:
            us.append((t - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1))
            status.append(0)
    return us, status


@pytest.mark.parametrize("tz", ZONES, ids=str)
@pytest.mark.parametrize("seed", range(3))
def test_times_read_as_value_by_value(tz, seed):
    rng = random.Random(seed)
    # (years 1 and 9999 may overflow in UTC, row by row as before: not compared)
    values = [v for v in _spellings(rng, 3000) if not _at_the_ends(v)]
    values += ["9999-06-01 10:00", "0002-01-01"]  # near the ends: read row by row
    got_us, got_status = _times(values, tz)
    want_us, want_status = _reference_times(values, tz)
    assert got_status.tolist() == want_status
    assert got_us.tolist() == want_us
    assert (got_status == 0).sum() > 1000  # most of them read as times
    assert _times([], tz)[0].size == 0


def _reference_links(reported, closed, closing, category, grid, x, y, radius, window):
    """The sweep of session 9 (``_recurrences`` before the columns), on plain lists."""
    n = len(reported)
    cell = max(radius, 1.0)
    cxs = [math.floor(v / cell) for v in x]
    cys = [math.floor(v / cell) for v in y]
    closed_lists: dict[tuple, list[int]] = {}
    by_grid: dict[tuple, list[int]] = {}
    pending: list[tuple[int, int]] = []
    prev = [-1] * n
    for k in range(n):
        rep = reported[k]
        while pending and pending[0][0] <= rep:
            _, j = heapq.heappop(pending)
            closed_lists.setdefault((category[j], cxs[j], cys[j]), []).append(j)
            if grid[j] >= 0:
                by_grid.setdefault((category[j], grid[j]), []).append(j)
        if closed_lists:
            cutoff = rep - window
            best = None
            if grid[k] >= 0 and by_grid.get((category[k], grid[k])):
                j = by_grid[(category[k], grid[k])][-1]
                if closed[j] >= cutoff:
                    best = (closed[j], j)
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    for j in reversed(
                        closed_lists.get((category[k], cxs[k] + dx, cys[k] + dy), [])
                    ):
                        if closed[j] < cutoff or (best is not None and (closed[j], j) <= best):
                            break
                        if math.hypot(x[j] - x[k], y[j] - y[k]) <= radius:
                            best = (closed[j], j)
                            break
            if best is not None:
                prev[k] = best[1]
        if closing[k]:
            heapq.heappush(pending, (closed[k], k))
    return prev


def _random_history(seed: int, n: int):
    rng = np.random.default_rng(seed)
    unit = 3_600_000_000  # an hour (µs); a window of 5 hours, a radius of 50 m
    reported = np.sort(rng.integers(0, 300, n)) * unit  # many equal times
    # closed later, at the same time, or before it was reported (messy files)
    closed = reported + rng.integers(-3, 8, n) * unit
    closing = rng.random(n) < 0.8
    category = rng.integers(0, 3, n)
    grid = rng.integers(-1, 4, n)
    # integer metres on a small lattice: distances of exactly 50 m (50, 0; 30, 40) occur
    x = rng.integers(0, 7, n) * 10.0 + rng.choice([0.0, 30.0], n)
    y = rng.integers(0, 7, n) * 10.0 + rng.choice([0.0, 40.0], n)
    return reported, closed, closing, category, grid, x, y, 50.0, 5 * unit


@pytest.mark.parametrize("seed", range(12))
def test_recurrences_as_the_sweep(seed):
    args = _random_history(seed, 400 + 150 * seed)
    want = _reference_links(*[a.tolist() if isinstance(a, np.ndarray) else a for a in args])
    got = _recurrence_links(*args)
    assert got.tolist() == want
    assert sum(p >= 0 for p in want) > 50  # the case is not empty
    reported, closed = args[:2]
    links = got[got >= 0]
    assert (closed[links] >= reported[got >= 0] - args[-1]).all()  # within the window
    # the chains: a row's repeat count is its predecessor's plus one
    repeat = [0] * len(want)
    for k, j in enumerate(want):
        repeat[k] = repeat[j] + 1 if j >= 0 else 0
    assert _chain_lengths(got).tolist() == repeat


def test_recurrences_without_closed_rows_or_grids():
    args = list(_random_history(3, 200))
    args[2] = np.zeros(200, dtype=bool)  # nothing closed
    assert (_recurrence_links(*args) == -1).all()
    args = list(_random_history(4, 300))
    args[4] = np.full(300, -1)  # no unit grid anywhere: the radius alone
    want = _reference_links(*[a.tolist() if isinstance(a, np.ndarray) else a for a in args])
    assert _recurrence_links(*args).tolist() == want


def _messy_table(rng: random.Random, n: int) -> list[dict]:
    cats = ["乱堆乱倒", "street_vending", " 占道经营 ", "外星人", None, "烟蒂烟头"]
    sources = ["网格员上报", None, "", "火星", "grid_worker", " 网格员上报"]
    states = ["已结案", "整改中", "待整改", "作废", "未知状态", None, "closed", " 处理中 "]
    times = [v for v in _spellings(rng, 5 * n) if not _at_the_ends(v)]
    rows = []
    for i in range(n):
        rows.append(
            {
                "问题编号": rng.choice([f"E{i}", f" E{i} ", None, "", "  ", f"E{i - 1}"]),
                "经度": rng.choice(
                    [112.95 + i * 1e-6, "112.96", " 112.97 ", "abc", None, 33.05, 0, "0"]
                ),
                "纬度": rng.choice([33.05, "33.06", 33.07, None, 112.95, 95.0, 0.0, " 0 "]),
                "问题类别": rng.choice(cats),
                "问题来源": rng.choice(sources),
                "发现时间": times[4 * i] if rng.random() < 0.5 else "2024-05-01 09:00",
                "办理状态": rng.choice(states),
                "整改时限": times[4 * i + 1] if rng.random() < 0.3 else None,
                "结案时间": times[4 * i + 2],
                "问题描述": rng.choice([None, " 描述 ", "a\tb", ""]),
                "地址": rng.choice([None, "路口", " 路口 "]),
            }
        )
    return rows


def _reference_validate(raw, session, cfg, file_key):
    """Row by row, as session 9 read a table: the problems and the valid rows' values."""
    from civgrid.geo.crs import diagnose_lonlat, to_wgs84
    from civgrid.grids.issues.workflow import KIND, Kind

    cols = bf._columns(raw[0].keys())
    tables = {}
    from sqlalchemy import select

    from civgrid.grids.boundaries.models import Category
    from civgrid.grids.issues.config import SOURCE_LABELS, Source
    from civgrid.grids.issues.workflow import DEFAULT_LABELS

    cats = {c.code: c.code for c in session.scalars(select(Category))}
    cats.update({c.name: c.code for c in session.scalars(select(Category))})
    tables["category"] = (cats, "")
    tables["source"] = (
        {s.value: s.value for s in Source} | {v: k.value for k, v in SOURCE_LABELS.items()},
        "field_supervision",
    )
    tables["state"] = (
        {s.value: s for s in State}
        | {v: k for k, v in DEFAULT_LABELS.items()}
        | {v: k for k, v in cfg.workflow.labels.items()}
        | bf.STATE_WORDS,
        "closed",
    )
    tz = cfg.calendar.tz

    def cell(r, key):
        v = r.get(cols[key]) if key in cols else None
        return v.strip() if isinstance(v, str) else v

    def num(v):
        try:
            return float(v) if v is not None else math.nan
        except (TypeError, ValueError):
            return math.nan

    lon = np.array([num(cell(r, "lon")) for r in raw])
    lat = np.array([num(cell(r, "lat")) for r in raw])
    coord = {
        p["row"]: p
        for p in diagnose_lonlat(
            lon, lat, what="issue location", lon_name=cols["lon"], lat_name=cols["lat"]
        )
    }
    for i in range(len(raw)):
        if lon[i] == 0 and lat[i] == 0:
            coord[i] = {"field": None, "message": "coordinates 0,0: missing location"}
    wlon, wlat = to_wgs84(np.nan_to_num(lon), np.nan_to_num(lat), "wgs84")
    problems, valid = [], []
    first = {}
    for i, r in enumerate(raw):
        mine = []
        if i in coord:
            fld = coord[i]["field"] or f"{cols['lon']}/{cols['lat']}"
            mine.append({"row": i + 2, "field": fld, "message": coord[i]["message"]})
        e = cell(r, "external_id")
        if e not in (None, "") and first.setdefault(str(e), i) != i:
            mine.append(
                {
                    "row": i + 2,
                    "field": cols["external_id"],
                    "message": f"duplicate id {e!r} (also row {first[str(e)] + 2})",
                }
            )
        got = {}
        for key in ("category", "source", "state"):
            table, default = tables[key]
            v = cell(r, key)
            got[key] = table.get(str(v or default))
            if got[key] is None:
                mine.append(
                    {"row": i + 2, "field": cols.get(key, key), "message": f"unknown {key} {v!r}"}
                )
        for key in ("reported_at", "deadline", "closed_at"):
            v = cell(r, key)
            try:
                got[key] = _parse_time(v, tz)
            except (TypeError, ValueError):
                got[key] = _BAD
                mine.append(
                    {
                        "row": i + 2,
                        "field": cols.get(key, key),
                        "message": f"not a date/time: {v!r}",
                    }
                )
        if got["reported_at"] is None:
            mine.append({"row": i + 2, "field": cols.get("reported_at"), "message": "missing"})
        problems += mine
        if mine:
            continue
        e = cell(r, "external_id")
        valid.append(
            (
                i + 2,
                f"import:{e}" if e not in (None, "") else f"import:{file_key}:{i + 2}",
                float(wlon[i]),
                float(wlat[i]),
                float(lon[i]),
                float(lat[i]),
                got["category"],
                got["source"],
                got["state"],
                got["reported_at"],
                got["deadline"],
                None if KIND[got["state"]] is Kind.open else got["closed_at"],
                cell(r, "description"),
                cell(r, "address"),
            )
        )
    return problems, valid


@pytest.mark.parametrize("seed", range(2))
def test_validation_as_row_by_row(store, config, seed):
    raw = _messy_table(random.Random(seed), 600)
    with store.session() as s:
        report = bf.BackfillReport("rows", rows=len(raw))
        rows = bf._validate(raw, s, config, "wgs84", "f00", report)
        want_problems, want_rows = _reference_validate(raw, s, config, "f00")
    assert report.problems == want_problems
    assert len(want_rows) > 30 and len(report.problems) > 300
    got = list(
        zip(
            rows.row.tolist(),
            rows.key.tolist(),
            rows.lon.tolist(),
            rows.lat.tolist(),
            rows.input_lon.tolist(),
            rows.input_lat.tolist(),
            rows.category_codes(),
            rows.source.tolist(),
            rows.state_members(),
            rows.times("reported"),
            rows.times("deadline"),
            rows.times("closed"),
            rows.description.tolist(),
            rows.address.tolist(),
            strict=True,
        )
    )
    assert got == want_rows


@pytest.mark.parametrize("seed", range(3))
def test_sqlite_times_as_the_column_type_writes_them(seed):
    """``_Rows.sqlite_times`` (NumPy) gives the text ``BulkInserter.ts`` (``isoformat``)
    gives for every time — whole seconds, microseconds, before 1970, far years — and
    None where there is none."""
    rng = np.random.default_rng(seed)
    us = rng.integers(-2_000_000_000_000_000, 8_000_000_000_000_000, 500)
    us[::7] = us[::7] // 1_000_000 * 1_000_000  # whole seconds: ".000000" too
    us[::5] = bf._NAT
    us[3] = us[4] = 1_700_000_000_123_456  # repeated values
    rows = bf._Rows.empty()
    rows.reported = np.asarray(us, dtype=np.int64)
    rows.row = np.zeros(len(us), dtype=np.int64)
    want = [
        None if t is None else t.isoformat(" ", "microseconds")[:26] for t in rows.times("reported")
    ]
    got = rows.sqlite_times("reported")
    assert got == want
    assert got[0] is None and got[3] == "2023-11-14 22:13:20.123456"
    assert all(isinstance(t, str) for t in got if t is not None)
