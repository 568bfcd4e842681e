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
import io
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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
    BINARY_TYPES,
    BulkInserter,
    foreign_keys_back,
)
from civgrid.grids.issues.config import SOURCE_LABELS, IssueConfig, Source
from civgrid.grids.issues.copy_binary import (
    EWKB_POINT,
    PG_EPOCH_US,
    Fixed,
    Table,
    Text,
    points_ewkb,
)
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
    outside_rows: list[int] = field(default_factory=list)  # the file's rows, ascending
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
        if self.outside_rows:  # written (as outside-jurisdiction issues), yet worth a look
            more = len(self.outside_rows) - max_problems
            lines.append(
                "  outside the county, rows "
                + ", ".join(map(str, self.outside_rows[:max_problems]))
                + (f" … and {more} more" if more > 0 else "")
            )
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

    A formula cell of an ``.xlsx`` holds its stored value; one saved without a value
    (a generated file never opened in Excel/WPS) reads as None here, and
    :func:`backfill_issues` reports it as a problem.

    Raises
    ------
    InvalidInputError
        Unknown file type, or a CSV that is neither UTF-8 nor GBK (``encoding`` overrides).
    """
    return _read_table(Path(path), encoding)[0]


def _read_table(
    path: Path, encoding: str | None
) -> tuple[list[dict[str, Any]], dict[int, dict[str, tuple[str, str]]]]:
    """The rows, and per row index the formula cells without a stored value
    (``{header: (cell, formula)}``, only for an ``.xlsx``)."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return _read_xlsx(path)
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
        # csv's own line handling (newline=""): a quoted cell keeps its line breaks, and
        # str.splitlines would also split a record at U+2028, \x0c, \x1c… inside a cell
        return list(csv.DictReader(io.StringIO(text, newline=""))), {}
    raise InvalidInputError(f"{path.name}: use an .xlsx or .csv file", field="file")


#: A formula element's start tag, whatever its namespace prefix (``<f>``,
#: ``<f t="shared" si="0"/>``, ``<x:f>``).
_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s/>]")


class _FormulaSniff:
    """A sheet's XML as openpyxl's parser reads it, noting whether a formula is in it.

    A byte search beside the parse (``in`` first: a sheet without formulas has no
    ``<f`` and hardly a ``:f``), so that only a sheet with a formula is read twice.
    """

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._tail = b""
        self.found = False

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        if not self.found and data:
            both = self._tail + data  # a tag cut between two reads
            if (b"<f" in both or b":f" in both) and _FORMULA_TAG.search(both):
                self.found = True
            self._tail = data[-64:]
        return data

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> _FormulaSniff:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _blank_formulas(src: Any) -> Iterator[tuple[int, int, str]]:
    """(row, column, formula) of each formula cell of a sheet's XML without a stored
    value, 1-based.

    No stored value: no ``<v>``, or an empty one that is not a text result (Excel and
    WPS store ``=IF(A1="","",…)``'s empty text as ``t="str"`` and ``<v></v>``: an
    empty cell, rightly; openpyxl writes an untyped ``<v></v>``).
    """
    from openpyxl.utils.cell import coordinate_to_tuple
    from openpyxl.xml.functions import iterparse  # defusedxml's when installed

    row = col = 0
    for event, el in iterparse(src, events=("start", "end")):
        tag = el.tag.rpartition("}")[2]
        if event == "start":
            if tag == "row":
                row, col = int(el.get("r") or row + 1), 0
            elif tag == "c":  # r is optional: then the next column of the row
                ref = el.get("r")
                row, col = coordinate_to_tuple(ref) if ref else (row, col + 1)
            continue
        if tag == "c":
            f = v = None
            for child in el:
                name = child.tag.rpartition("}")[2]
                if name == "f":
                    f = child
                elif name == "v":
                    v = child
            if f is not None and (v is None or not (v.text or el.get("t") == "str")):
                yield row, col, f.text or ""
            el.clear()
        elif tag == "row":
            el.clear()


def _read_xlsx(path: Path) -> tuple[list[dict[str, Any]], dict[int, dict[str, tuple[str, str]]]]:
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        # a read-only sheet opens its XML through _get_source (openpyxl 3.1; the tests
        # fail if that changes): wrapped, the one parse also says if a formula is in it
        source = ws._get_source
        sniffs: list[_FormulaSniff] = []

        def sniffed() -> _FormulaSniff:
            sniffs.append(_FormulaSniff(source()))
            return sniffs[-1]

        ws._get_source = sniffed
        it = ws.iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(it, [])]
        rows: list[dict[str, Any]] = []
        at: list[int] = []  # the sheet row of each
        for k, r in enumerate(it, 2):
            if any(v is not None for v in r):
                rows.append(dict(zip(header, r, strict=False)))
                at.append(k)
        formulas: dict[int, dict[str, tuple[str, str]]] = {}
        if not any(s.found for s in sniffs):
            return rows, formulas
        # data_only read a formula without a stored value as an empty cell: found in
        # the XML (openpyxl's formula pass cannot tell an empty stored text from none)
        with source() as src:
            cells = [
                (r, c, f)
                for r, c, f in _blank_formulas(src)
                if r > 1 and c <= len(header) and header[c - 1]
            ]
        if not cells:
            return rows, formulas
        index = dict(zip(at, range(len(at)), strict=True))
        if any(r not in index for r, _, _ in cells):  # a row of such cells alone was skipped
            by_row = dict(zip(at, rows, strict=True))
            for r, _, _ in cells:
                by_row.setdefault(r, dict.fromkeys(header))
            at = sorted(by_row)
            rows = [by_row[k] for k in at]
            index = dict(zip(at, range(len(at)), strict=True))
        for r, c, f in cells:
            formulas.setdefault(index[r], {})[header[c - 1]] = (f"{get_column_letter(c)}{r}", f)
        return rows, formulas
    finally:
        wb.close()


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


_NAT = np.iinfo(np.int64).min  # "no time" in a column of microseconds
_DAY_US = 86_400_000_000
_US = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ORDINAL_1970 = 719_163  # date(1970, 1, 1).toordinal()
#: Lengths of the spellings read for a whole column at once (:func:`_times`).
_SHAPES = frozenset((10, 16, 19))


@dataclass(slots=True)
class _Rows:
    """The valid rows, column by column (the same index in every column).

    Times are microseconds since 1970-01-01 UTC (``_NAT``: none); ``category`` and
    ``state`` index ``categories`` and ``states``; ``prev`` is the row index of the
    issue a row recurs after (-1: none), ``repeat`` the length of that chain.
    """

    row: np.ndarray  # int64: the row of the file (the header is row 1)
    key: np.ndarray  # object: the idempotency key
    lon: np.ndarray  # float64, WGS84 (degrees)
    lat: np.ndarray
    input_lon: np.ndarray  # as in the file
    input_lat: np.ndarray
    category: np.ndarray  # int64, into categories
    source: np.ndarray  # object: the source's code
    state: np.ndarray  # int64, into states
    reported: np.ndarray  # int64 µs
    deadline: np.ndarray
    closed: np.ndarray
    description: np.ndarray  # object
    address: np.ndarray
    categories: list[str]
    states: list[State]
    prev: np.ndarray | None = None  # int64, set by _recurrences
    repeat: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.row)

    @classmethod
    def empty(cls) -> _Rows:
        """No row."""
        cols = {f: np.zeros(0, dtype=np.int64) for f in _ROW_COLUMNS}
        return cls(**cols, categories=[], states=[])

    def take(self, index: np.ndarray) -> _Rows:
        """The rows at ``index`` (integer array), in its order (before the recurrences)."""
        cols = {f: getattr(self, f)[index] for f in _ROW_COLUMNS}
        return _Rows(**cols, categories=self.categories, states=self.states)

    def category_codes(self) -> list[str]:
        """Per row, its category code."""
        return np.array(self.categories, dtype=object)[self.category].tolist()

    def state_members(self) -> list[State]:
        """Per row, its state."""
        table = np.empty(len(self.states), dtype=object)
        table[:] = self.states
        return table[self.state].tolist()

    def times(self, name: str) -> list[datetime | None]:
        """A time column (``reported``, ``deadline``, ``closed``) as aware UTC
        datetimes, None where there is none: what the writes format."""
        us = getattr(self, name)
        out = np.full(len(us), None, dtype=object)
        has = us != _NAT
        if has.any():
            values, at = np.unique(us[has], return_inverse=True)
            table = np.empty(len(values), dtype=object)
            table[:] = [t.replace(tzinfo=UTC) for t in values.astype("M8[us]").tolist()]
            out[has] = table[at.reshape(-1)]
        return out.tolist()

    def sqlite_times(self, name: str) -> list[str | None]:
        """A time column as SQLite's ``DateTime`` stores it (naive UTC text,
        :data:`~civgrid.grids.issues.bulk_insert.SQLITE_TS`), None where there is none.

        Formatted by NumPy from the microseconds, each distinct time once — no datetime
        object per value (:meth:`times` then ``isoformat`` took 3 s of 10⁶ rows; a local
        measurement). ``datetime_as_string`` writes ``YYYY-MM-DDTHH:MM:SS.ffffff``: the
        ``T`` becomes the space ``isoformat(" ")`` writes (tests/issues/test_backfill_columns.py
        compares both).
        """
        us = getattr(self, name)
        out = np.full(len(us), None, dtype=object)
        has = us != _NAT
        if has.any():
            values, at = np.unique(us[has], return_inverse=True)
            text = np.datetime_as_string(values.astype("M8[us]"), unit="us").astype("S26")
            text.view(np.uint8).reshape(-1, 26)[:, 10] = ord(" ")
            out[has] = text.astype("U26").astype(object)[at.reshape(-1)]
        return out.tolist()


#: The columns of :class:`_Rows` with a value per row (the recurrences' come later).
_ROW_COLUMNS = (
    "row",
    "key",
    "lon",
    "lat",
    "input_lon",
    "input_lat",
    "category",
    "source",
    "state",
    "reported",
    "deadline",
    "closed",
    "description",
    "address",
)
_BAD = object()  # a value that did not parse


def _strip(value: Any) -> Any:
    return value.strip() if value.__class__ is str else value


def _day_offset(tz: Any, day: int) -> int:
    """The UTC offset of ``tz`` (µs) on local day ``day`` (days since 1970-01-01), or
    ``_NAT`` when it is not the same from the day's start to its end (a transition)."""
    start = datetime(1970, 1, 1) + timedelta(days=day)
    offsets = {(start + timedelta(hours=h)).replace(tzinfo=tz).utcoffset() for h in range(25)}
    if len(offsets) != 1 or None in offsets:
        return _NAT
    return next(iter(offsets)) // _US


def _times(values: Sequence[Any], tz: Any) -> tuple[np.ndarray, np.ndarray]:
    """A time column as :func:`_parse_time` reads it, value by value.

    The common spellings — ``YYYY-MM-DD``, ``YYYY-MM-DD HH:MM``, ``YYYY-MM-DD
    HH:MM:SS`` (``-`` or ``/``; a space or ``T``) — are read for the whole column at
    once: their digits from the characters of a fixed-width array, each local day's
    UTC offset looked up once. Everything else (other spellings, impossible dates,
    datetimes from a workbook, a day on which the offset of ``tz`` changes) goes
    through :func:`_parse_time` once per distinct value, so every value reads as it
    did row by row.

    Returns
    -------
    us : numpy.ndarray of int64
        Microseconds since 1970-01-01 UTC (``_NAT`` where none).
    status : numpy.ndarray of int8
        0 a time, 1 missing (None or empty), 2 not a time.
    """
    n = len(values)
    us = np.full(n, _NAT, dtype=np.int64)
    status = np.zeros(n, dtype=np.int8)
    if n == 0:
        return us, status
    text = [v if v.__class__ is str and len(v) in _SHAPES else "" for v in values]
    try:  # one byte per character (small arrays: this is a column of 10⁶ cells)
        ch = np.array(text, dtype="S19").view(np.uint8).reshape(n, 19)
    except UnicodeEncodeError:  # not ASCII: not one of these spellings
        text = [v if v.isascii() else "" for v in text]
        ch = np.array(text, dtype="S19").view(np.uint8).reshape(n, 19)
    length = np.fromiter(map(len, text), np.int32, n)
    # the length counted in the array too: a trailing NUL is cut off there
    ok = (length > 0) & (np.count_nonzero(ch, axis=1) == length)
    d = ch - np.uint8(48)  # a digit's value; anything else wraps past 9
    digit = d <= 9

    def number(at: Sequence[int]) -> np.ndarray:
        out = d[:, at[0]].astype(np.int32)
        for c in at[1:]:
            out = out * 10 + d[:, c]
        return out

    def one_of(c: int, chars: str) -> np.ndarray:
        return np.isin(ch[:, c], [ord(x) for x in chars])

    ok &= digit[:, [0, 1, 2, 3, 5, 6, 8, 9]].all(axis=1) & one_of(4, "-/") & one_of(7, "-/")
    timed, seconds = length >= 16, length == 19
    ok &= ~timed | (one_of(10, " T") & digit[:, [11, 12, 14, 15]].all(axis=1) & (ch[:, 13] == 58))
    ok &= ~seconds | ((ch[:, 16] == 58) & digit[:, [17, 18]].all(axis=1))
    year, month, day = number([0, 1, 2, 3]), number([5, 6]), number([8, 9])
    # seconds of the day
    clock = np.where(timed, number([11, 12]) * 3600 + number([14, 15]) * 60, 0)
    clock += np.where(seconds, number([17, 18]), 0)
    # years 2–9998 only: at the ends of datetime's range the row-by-row reading overflows
    ok &= (year >= 2) & (year <= 9998) & (month >= 1) & (month <= 12) & (day >= 1)
    ok &= (d[:, 11] * 10 + d[:, 12] <= 23) | ~timed  # hours, minutes and seconds in range
    ok &= ((d[:, 14] <= 5) | ~timed) & ((d[:, 17] <= 5) | ~seconds)
    months = np.where(ok, (year - 1970) * 12 + month - 1, 0).astype(np.int64)
    first = months.astype("M8[M]").astype("M8[D]").astype(np.int64)
    ok &= day <= (months + 1).astype("M8[M]").astype("M8[D]").astype(np.int64) - first
    days = first + (day - 1)
    at = np.flatnonzero(ok)
    if at.size:
        # each local day's offset once: a table from the first day to the last (a day
        # not in the column is not looked up)
        low = int(days[at].min())
        present = np.bincount(days[at] - low)
        offsets = np.full(len(present), _NAT, dtype=np.int64)
        for x in np.flatnonzero(present).tolist():
            offsets[x] = _day_offset(tz, low + x)
        offset = offsets[days[at] - low]
        known = offset != _NAT
        at, offset = at[known], offset[known]
        us[at] = days[at] * _DAY_US + clock[at].astype(np.int64) * 1_000_000 - offset
        ok[:] = False
        ok[at] = True
    rest = np.flatnonzero(~ok).tolist()
    memo: dict[Any, Any] = {}
    for v in {values[i] for i in rest}:
        try:
            t = _parse_time(_strip(v), tz)
        except (TypeError, ValueError):
            memo[v] = _BAD
            continue
        memo[v] = None if t is None else (t - _EPOCH) // _US
    for i in rest:
        t = memo[values[i]]
        if t is None:
            status[i] = 1
        elif t is _BAD:
            status[i] = 2
        else:
            us[i] = t
    return us, status


def _validate(
    raw: Sequence[Mapping[str, Any]],
    session: Session,
    cfg: IssueConfig,
    crs: str,
    file_key: str,
    report: BackfillReport,
    formulas: Mapping[int, Mapping[str, tuple[str, str]]] | None = None,
) -> _Rows:
    if not raw:
        return _Rows.empty()
    n = len(raw)
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

    # an .xlsx formula without a stored value, in a column read: a problem naming the
    # cell, instead of the empty cell's own ("missing", "not a number"…)
    used = set(cols.values())
    blank = {i: {h: c for h, c in got.items() if h in used} for i, got in (formulas or {}).items()}
    blank = {i: got for i, got in blank.items() if got}

    def bad(i: int, fld: str, msg: str) -> None:
        name = cols.get(fld, fld)
        if name not in blank.get(i, ()):
            report.problems.append({"row": i + 2, "field": name, "message": msg})

    # Column by column: each cell read once from the row dicts, then numpy; text is
    # stripped where it is kept (and in the look-ups, once per distinct value).
    def column(key: str) -> list[Any]:
        if key not in cols:
            return [None] * n
        c = cols[key]
        return [r.get(c) for r in raw]

    def floats(values: list[Any]) -> np.ndarray:
        try:  # the common case in one call: numbers, numeric text, None (NaN)
            return np.asarray(values, dtype=float).reshape(n)
        except (TypeError, ValueError):
            arr = np.full(n, np.nan)
            for i, v in enumerate(values):
                with contextlib.suppress(TypeError, ValueError):
                    arr[i] = float(v)
            return arr

    def mapped(values: list[Any], table: Mapping[str, Any], default: str) -> tuple[Any, list]:
        """Per row, the index of its value in the list of the distinct values found
        (-1: not in ``table``); and that list."""
        memo = dict.fromkeys(values)
        found: dict[Any, int] = {}
        for v in memo:
            got = table.get(str(_strip(v) or default))
            memo[v] = -1 if got is None else found.setdefault(got, len(found))
        return np.fromiter(map(memo.__getitem__, values), np.int64, n), list(found)

    lon_in, lat_in = floats(column("lon")), floats(column("lat"))
    coord_problem = {
        p["row"]: p
        for p in diagnose_lonlat(
            lon_in, lat_in, what="issue location", lon_name=cols["lon"], lat_name=cols["lat"]
        )
    }
    # (0, 0), a point in the Gulf of Guinea, is an empty location typed as zeros
    for i in np.flatnonzero((lon_in == 0) & (lat_in == 0)).tolist():
        coord_problem[i] = {"field": None, "message": "coordinates 0,0: missing location"}
    wlon, wlat = to_wgs84(np.nan_to_num(lon_in), np.nan_to_num(lat_in), crs)
    raw_of = {key: column(key) for key in ("category", "source", "state")}
    cat, cat_codes = mapped(raw_of["category"], cats, "")
    src, src_codes = mapped(raw_of["source"], sources, "field_supervision")
    st, st_members = mapped(raw_of["state"], states, "closed")
    when = {key: column(key) for key in ("reported_at", "deadline", "closed_at")}
    parsed = {
        key: _times(vals, tz) if key in cols else (np.full(n, _NAT), np.ones(n, np.int8))
        for key, vals in when.items()
    }
    (rep, rep_s), (dl, dl_s), (cl, cl_s) = parsed.values()
    is_bad = (cat < 0) | (src < 0) | (st < 0) | (dl_s == 2) | (cl_s == 2) | (rep_s != 0)
    is_bad[list(coord_problem)] = True
    is_bad[list(blank)] = True
    # an external id twice in the file: both rows would get the same idempotency key
    # (the write would fail on the unique key after a clean dry run), so the later
    # ones are problems naming the first
    ext = column("external_id")
    first_of: dict[Any, int] = {}
    dup_of: dict[int, int] = {}
    if "external_id" in cols:
        for i, v in enumerate(ext):
            e = v.strip() if v.__class__ is str else v
            if e not in (None, ""):
                dup_of[i] = first_of.setdefault(str(e), i)
        dup_of = {i: j for i, j in dup_of.items() if i != j}
        is_bad[list(dup_of)] = True
    for i in np.flatnonzero(is_bad).tolist():  # each bad row's problems, in field order
        for name, (cell, formula) in blank.get(i, {}).items():
            report.problems.append(
                {
                    "row": i + 2,
                    "field": name,
                    "message": f"formula without a stored value in cell {cell}: "
                    f"{'=' + formula if formula else '(a shared formula)'}; "
                    "open and save the file in Excel/WPS, or paste values",
                }
            )
        if i in coord_problem and coord_problem[i]["field"] not in blank.get(i, ()):
            p = coord_problem[i]
            # swapped or outside: no single field (diagnose_lonlat's None), both named
            fld = p["field"] or f"{cols['lon']}/{cols['lat']}"
            report.problems.append({"row": i + 2, "field": fld, "message": p["message"]})
        if i in dup_of:
            bad(i, "external_id", f"duplicate id {_strip(ext[i])!r} (also row {dup_of[i] + 2})")
        if cat[i] < 0:
            bad(i, "category", f"unknown category {_strip(raw_of['category'][i])!r}")
        if src[i] < 0:
            bad(i, "source", f"unknown source {_strip(raw_of['source'][i])!r}")
        if st[i] < 0:
            bad(i, "state", f"unknown state {_strip(raw_of['state'][i])!r}")
        for key in ("reported_at", "deadline", "closed_at"):
            if parsed[key][1][i] == 2:
                bad(i, key, f"not a date/time: {_strip(when[key][i])!r}")
        if rep_s[i] == 1:
            bad(i, "reported_at", "missing")
    ok = np.flatnonzero(~is_bad)
    ok_l = ok.tolist()
    keys = np.empty(len(ok), dtype=object)
    if len(ok) < n:
        ext = [ext[i] for i in ok_l]
    keys[:] = [
        f"import:{e}"
        if (e := v.strip() if v.__class__ is str else v) not in (None, "")
        else f"import:{file_key}:{i + 2}"
        for i, v in zip(ok_l, ext, strict=True)
    ]

    def text(key: str) -> np.ndarray:
        out = np.full(len(ok), None, dtype=object)
        if key in cols:
            values = column(key)
            out[:] = [_strip(values[i]) for i in ok_l]
        return out

    st_ok = st[ok]
    is_open = np.array([KIND[s] is Kind.open for s in st_members] or [False])
    closed = cl[ok]
    closed[is_open[st_ok]] = _NAT  # an open issue has no closing time
    return _Rows(
        row=ok + 2,
        key=keys,
        lon=wlon[ok],
        lat=wlat[ok],
        input_lon=lon_in[ok],
        input_lat=lat_in[ok],
        category=cat[ok],
        source=np.array(src_codes or [""], dtype=object)[src[ok]],
        state=st_ok,
        reported=rep[ok],
        deadline=dl[ok],
        closed=closed,
        description=text("description"),
        address=text("address"),
        categories=cat_codes,
        states=st_members,
    )


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
        Keys per idempotency look-up (the writes stream: ``COPY`` / multi-row ``INSERT``).

    Returns
    -------
    BackfillReport
    """
    t0 = time.perf_counter()
    cfg = config or IssueConfig()
    crs = normalize_crs(crs)
    if isinstance(source, str | Path):
        name = Path(source).name
        raw, formulas = _read_table(Path(source), encoding)
    else:
        name, raw, formulas = "rows", list(source), {}
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
        rows = _validate(raw, session, cfg, crs, file_key, report, formulas)
        report.valid = len(rows)
        tick("validate", len(raw), len(raw))
        existing = _existing_keys(session, rows.key.tolist(), chunk)
        fresh = np.ones(len(rows), dtype=bool)
        if existing:
            fresh = np.fromiter((k not in existing for k in rows.key.tolist()), bool, len(rows))
        report.already_imported = len(rows) - int(np.count_nonzero(fresh))
        keep = np.flatnonzero(fresh)
        # by report time, then row: a stable sort keeps the file's order among equal times
        rows = rows.take(keep[np.argsort(rows.reported[keep], kind="stable")])
        tick("dedupe", len(rows), len(rows))
        index = store.snap_index
        bulk = index.snap_arrays(rows.lon, rows.lat)
        tick("snap", len(rows), len(rows))
        group, routes = _route_groups(session, store, rows, bulk, index.generation_id, report, tick)
        _recurrences(rows, bulk.code_numbers("unit_grid"), cfg, report)
        for counter, column, names in (
            (report.states, rows.state, [s.value for s in rows.states]),
            (report.categories, rows.category, rows.categories),
        ):
            counts = np.bincount(column, minlength=len(names)).tolist()
            counter.update({name: c for name, c in zip(names, counts, strict=True) if c})
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

    found: set[str] = set()
    if not keys or session.scalar(select(Issue.id).limit(1)) is None:
        return found  # no issue at all (a county's first back-fill): nothing to look up
    postgres = session.get_bind().dialect.name == "postgresql"
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
    rows: _Rows,
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
    cat = rows.category
    days = rows.reported // _DAY_US + _ORDINAL_1970  # the UTC day's ordinal, as before
    epoch = np.searchsorted(epochs, days, "right")
    key = (bulk.place_ids() * (len(epochs) + 1) + epoch) * max(len(rows.categories), 1) + cat
    _, first, group = np.unique(key, return_index=True, return_inverse=True)
    order = np.argsort(first)  # groups numbered in the order of their first row
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    first, group = first[order], rank[group.reshape(-1)]
    routes = []
    for g, k in enumerate(first.tolist()):
        routes.append(
            resolve(
                session,
                lon=float(rows.lon[k]),
                lat=float(rows.lat[k]),
                category=rows.categories[rows.category[k]],
                day=date.fromordinal(int(days[k])),
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
    if report.outside:
        outside = np.array([r.triage == "outside_jurisdiction" for r in routes])
        report.outside_rows = np.sort(rows.row[outside[group]]).tolist()
    tick("route", len(first), len(first))
    report.routed_groups = len(routes)
    return group, routes


def _recurrences(
    rows: _Rows,
    grid: np.ndarray,
    cfg: IssueConfig,
    report: BackfillReport,
) -> None:
    """Mark recurrences (rows sorted by report time): sets ``rows.prev`` (the row index
    of the issue it recurs after, -1: none) and ``rows.repeat``.

    A row recurs after the latest issue of its category that closed within
    ``recurrence_days`` before it was reported, in the same unit grid (``grid``: per
    row, a number per unit grid code, -1: none) or within ``recurrence_radius_m``
    (metric CRS of the county): :func:`_recurrence_links`.
    """
    n = len(rows)
    rows.prev = np.full(n, -1, dtype=np.int64)
    rows.repeat = np.zeros(n, dtype=np.int64)
    if not n:
        return
    proj = Projector(metric_epsg_for(float(np.median(rows.lon))))
    x, y = proj.forward(rows.lon, rows.lat)
    closing = np.array([s is State.closed for s in rows.states] or [False])
    rows.prev = _recurrence_links(
        rows.reported,
        rows.closed,
        closing[rows.state] & (rows.closed != _NAT),
        rows.category,
        grid,
        np.asarray(x, dtype=float),
        np.asarray(y, dtype=float),
        cfg.recurrence_radius_m,
        cfg.recurrence_days * _DAY_US,
    )
    rows.repeat = _chain_lengths(rows.prev)
    report.recurrences += int(np.count_nonzero(rows.prev >= 0))


def _index_of(distinct: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Each value's index in the sorted ``distinct``, -1 where it is not there."""
    if not len(distinct):
        return np.full(len(values), -1, dtype=np.int64)
    at = np.minimum(np.searchsorted(distinct, values), len(distinct) - 1)
    return np.where(distinct[at] == values, at, -1)


class _Closed:
    """The closed rows grouped by a key (an integer ≥ 0), each group in the order in
    which the sweep over the rows by report time saw them close: by the first row that
    sees it closed (``avail``), then closing time, then row (the rows are given in
    (closing time, row) order).
    """

    def __init__(self, key: np.ndarray, avail: np.ndarray, closed: np.ndarray, j: np.ndarray):
        # given in (closed, j) order: a stable sort by (key, avail) keeps it within
        self.width = int(avail.max(initial=0)) + 2
        sort = key * self.width + avail
        order = np.argsort(sort, kind="stable")
        self.key, self.closed, self.j, self.sort = key[order], closed[order], j[order], sort[order]

    def last(self, key: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Per query (a key, a row ``k``; fastest sorted by both): the position of the
        last row of the key that row ``k`` sees closed, -1 if none."""
        at = key * self.width + np.minimum(k, self.width - 1)  # a group's avail ≤ width - 2
        pos = np.searchsorted(self.sort, at, "right") - 1
        found = pos >= 0
        found[found] = self.key[pos[found]] == key[found]
        return np.where(found, pos, -1)


def _recurrence_links(
    reported: np.ndarray,
    closed: np.ndarray,
    closing: np.ndarray,
    category: np.ndarray,
    grid: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    radius: float,
    window: int,
) -> np.ndarray:
    """Per row (sorted by report time, then file row), the row it recurs after, or -1.

    Vectorised, it gives what the sweep of session 9 gave row by row (its loop is the
    reference of ``tests/issues/test_backfill_columns.py``): row ``k`` sees the closed
    rows ``j < k`` (``closing``) that closed at or before its report time; of those of
    its category closed at or after ``reported[k] - window`` it takes the last one seen
    in its unit grid (``grid`` ≥ 0), then, cell by cell of a ``radius`` grid around it,
    the first one within ``radius`` metres (``x``, ``y``) going back through the cell
    from the last one seen, unless a row closed before the window or one not later than
    the best so far comes first. The cells are read for all rows at once, one step back
    per round.

    Parameters
    ----------
    reported, closed : numpy.ndarray of int64
        Microseconds since 1970-01-01 UTC (``closed`` only read where ``closing``).
    closing : numpy.ndarray of bool
        Closed, with a closing time.
    category, grid : numpy.ndarray of int64
        Category (≥ 0), unit grid (-1: none).
    x, y : numpy.ndarray of float
        Metric coordinates (metres).
    radius : float
        Metres.
    window : int
        Microseconds.
    """
    n = len(reported)
    best_c = np.full(n, _NAT, dtype=np.int64)
    best_j = np.full(n, -1, dtype=np.int64)
    j = np.flatnonzero(closing)
    c = closed[j]
    # the first row that sees j closed: the sweep queued j after row j and took it out
    # at the first row reported at or after its closing
    avail = np.maximum(j + 1, np.searchsorted(reported, c, "left"))
    seen = avail < n
    by_closing = np.argsort(c[seen], kind="stable")  # (closed, j): once for both lists
    j, c, avail = j[seen][by_closing], c[seen][by_closing], avail[seen][by_closing]
    if not len(j):
        return best_j
    cutoff = reported - window
    ncat = int(category.max()) + 1
    # 1. the unit grid: the last closed row seen of the category and grid, if in the window
    key = np.where(grid >= 0, grid * ncat + category, -1)
    in_grid = key[j] >= 0
    lists = _Closed(key[j][in_grid], avail[in_grid], c[in_grid], j[in_grid])
    q = np.argsort(key, kind="stable")  # queries by key, then row: a sorted search
    q = q[key[q] >= 0]
    pos = lists.last(key[q], q)
    q, pos = q[pos >= 0], pos[pos >= 0]
    cj = lists.closed[pos]
    take = cj >= cutoff[q]
    best_c[q[take]], best_j[q[take]] = cj[take], lists.j[pos[take]]
    # 2. the cells of side max(radius, 1 m) around each row. The rows sorted by
    # (category, cell column, cell row), then row, and the distinct cells numbered in
    # that order: a neighbour's number keeps the order, so every search is sorted.
    cell = max(radius, 1.0)
    cx = np.floor_divide(x, cell).astype(np.int64)
    cy = np.floor_divide(y, cell).astype(np.int64)
    xlow, ylow = int(cx.min()), int(cy.min())
    nx, ny = int(cx.max()) - xlow + 1, int(cy.max()) - ylow + 1
    if ncat * nx * ny < 2**62:  # one key (the usual case: a county is a few km wide)
        order = np.argsort((category * nx + (cx - xlow)) * ny + (cy - ylow), kind="stable")
    else:
        order = np.lexsort((cy, cx, category))
    cat_o, cx_o, cy_o = category[order], cx[order], cy[order]
    new = np.ones(n, dtype=bool)
    new[1:] = (cat_o[1:] != cat_o[:-1]) | (cx_o[1:] != cx_o[:-1]) | (cy_o[1:] != cy_o[:-1])
    cell_o = np.cumsum(new) - 1  # per sorted row, its cell's number
    cell_of = np.empty(n, dtype=np.int64)
    cell_of[order] = cell_o
    first = np.flatnonzero(new)
    ccat, ccx, ccy = cat_o[first], cx_o[first], cy_o[first]
    # a cell's number from (category, column, row): small dense keys, < (number of cells)²
    xs, ys = np.unique(ccx), np.unique(ccy)
    cat_x = np.unique(ccat * len(xs) + np.searchsorted(xs, ccx))
    cell_keys = np.searchsorted(cat_x, ccat * len(xs) + np.searchsorted(xs, ccx)) * len(ys)
    cell_keys += np.searchsorted(ys, ccy)
    lists = _Closed(cell_of[j], avail, c, j)
    x_of, y_of = x[lists.j], y[lists.j]
    starts = np.searchsorted(lists.key, np.arange(len(first)))  # each cell's first position
    # the queries in the sorted order (every read below in ascending positions)
    x_o, y_o, cutoff_o = x[order], y[order], cutoff[order]
    best_c_o, best_j_o = best_c[order], best_j[order]
    for dx in (-1, 0, 1):
        col = _index_of(xs, ccx + dx)
        at_col = np.where(col >= 0, _index_of(cat_x, ccat * len(xs) + col), -1)
        for dy in (-1, 0, 1):
            row = _index_of(ys, ccy + dy)
            there = (at_col >= 0) & (row >= 0)
            nb = np.full(len(first), -1, dtype=np.int64)
            nb[there] = _index_of(cell_keys, at_col[there] * len(ys) + row[there])
            group = nb[cell_o]
            q = np.flatnonzero(group >= 0)
            group = group[q]
            pos = lists.last(group, order[q])
            q, pos, low = q[pos >= 0], pos[pos >= 0], starts[group[pos >= 0]]
            while len(q):  # one step back in every cell still read
                cj, jj = lists.closed[pos], lists.j[pos]
                bc = best_c_o[q]
                # read on while in the window and later than the best so far (most stop)
                go = (cj >= cutoff_o[q]) & ((cj > bc) | ((cj == bc) & (jj > best_j_o[q])))
                q, pos, low, cj, jj = q[go], pos[go], low[go], cj[go], jj[go]
                near = np.hypot(x_of[pos] - x_o[q], y_of[pos] - y_o[q]) <= radius
                best_c_o[q[near]], best_j_o[q[near]] = cj[near], jj[near]
                go = ~near & (pos > low)  # not found, and the cell's list goes on
                q, pos, low = q[go], pos[go] - 1, low[go]
    best_j[order] = best_j_o
    return best_j


def _chain_lengths(prev: np.ndarray) -> np.ndarray:
    """Per row, the number of links from it back along ``prev`` (-1 ends a chain):
    by pointer jumping, each step doubling the links followed."""
    length = (prev >= 0).astype(np.int64)
    up = prev.copy()
    at = np.flatnonzero(up >= 0)
    while len(at):
        u = up[at]
        length[at] += length[u]  # u's own count is final or still counts up to up[u]
        up[at] = up[u]
        at = at[up[at] >= 0]
    return length


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
    the one the fields are for), multi-row ``INSERT`` statements on SQLite — issues (ids
    reserved first, so recurrence links go in the same pass), then events (PostgreSQL:
    their ids reserved too). A first back-fill builds the secondary indexes of the issues
    (and, on PostgreSQL, of the events) after their rows
    (:meth:`~.bulk_insert.BulkInserter.drop_indexes`).
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
    # PostgreSQL: the events' ids too, as one range, written with them (the column's
    # DEFAULT nextval otherwise runs once per row inside the COPY: a local measurement,
    # about a fifth of the events' COPY of 10⁶ rows); SQLite numbers rows for nothing
    event_ids = out.reserve_ids(IssueEvent.__table__, n) if out.postgres else None
    shared_cols = [  # per routing group
        (*_group_parts(resp, rid, units), party_set, place_set)
        for resp, (rid, party_set, place_set) in zip(routes, sets, strict=True)
    ]
    # PostgreSQL: binary COPY straight from the NumPy columns (None: a column's type is
    # not the one those bytes are for; then the text lines)
    binary = (
        _binary_columns(out, rows, ids, event_ids, group, shared_cols, now, name)
        if out.postgres
        else None
    )
    if binary is None:
        group_of = group.tolist()
        # the rows' columns as Python values (rows: _Rows; prev -1: none)
        keys, states, cats = rows.key.tolist(), rows.state_members(), rows.category_codes()
        sources, descriptions, addresses = (
            rows.source.tolist(),
            rows.description.tolist(),
            rows.address.tolist(),
        )
        lons, lats = rows.lon.tolist(), rows.lat.tolist()
        input_lons, input_lats = rows.input_lon.tolist(), rows.input_lat.tolist()
        # PostgreSQL's text path formats datetimes; SQLite's the microseconds (issues())
        reported_ats, deadlines, closed_ats = (
            (rows.times("reported"), rows.times("deadline"), rows.times("closed"))
            if out.postgres
            else ([], [], [])
        )
        prevs, repeats, file_rows = rows.prev.tolist(), rows.repeat.tolist(), rows.row.tolist()

    def points() -> list[Any]:  # the text paths' geometry column
        return out.points(rows.lon, rows.lat)

    now_db = out.ts(now)
    who = f"import:{name}"
    name_json = json.dumps(name, ensure_ascii=False)
    false, true = out.flag(False), out.flag(True)
    closed_state, triage_state = State.closed, State.triage
    # per state, looked up once: its text and whether it is open (an enum member's
    # ``.value`` is a descriptor call, 4 × 10⁵ of them per 10⁵ rows)
    value = {s: s.value for s in State}
    is_open = {s: KIND[s] is Kind.open for s in State}

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
    # SQLite: the columns bound per row, then the index of the row's routing group,
    # whose columns (shared_cols) the insert joins (BulkInserter.insert, ``shared``)
    per_row = [c for c in _ISSUE_COLUMNS if c not in constants and c not in _GROUP_COLUMNS]

    def issues() -> Iterable[tuple]:  # the columns of per_row, then the group
        # SQLite: the rows as tuples made by zip over the columns — each column by one
        # comprehension or C-level map, the times formatted by NumPy (_Rows.sqlite_times)
        reported_t = rows.sqlite_times("reported")
        # open and past its deadline (µs since 1970, as the column)
        late = (rows.deadline != _NAT) & (rows.deadline < (now - _EPOCH) // _US)
        late &= np.array([is_open[s] for s in rows.states], dtype=bool)[rows.state]
        cols: list[Iterable[Any]] = [
            ids,
            keys,
            [value[s] for s in states],
            cats,
            sources,
            descriptions,
            addresses,
            lons,
            lats,
            points(),
            input_lons,
            input_lats,
            reported_t,
            [None if s is triage_state else t for s, t in zip(states, reported_t, strict=True)],
            rows.sqlite_times("deadline"),
            rows.sqlite_times("closed"),
            np.where(late, true, false).tolist(),
            [None if p < 0 else ids[p] for p in prevs],
            repeats,
            ["passed" if s is closed_state else None for s in states],
            [f'{{"import": {{"file": {name_json}, "row": {k}}}}}' for k in file_rows],
            group_of,
        ]
        return zip(*cols, strict=True)

    def issue_lines() -> Iterable[str]:
        # PostgreSQL: the same fields as COPY text (out.copy_text), column by column —
        # what many rows share formatted once, each column's values by one C-level map
        # or comprehension — and joined row by row by ``"\t".join`` over ``zip``, so
        # no Python code runs per row and field (BulkInserter.insert_lines)
        f = out.copy_text
        null = "\\N"
        shared = ["\t".join(map(f, cols)) for cols in shared_cols]
        state_t = {s: f(value[s]) for s in State}
        times: dict[Any, str] = {None: null}  # each distinct time formatted once
        reported = reported_ats
        closed = closed_ats
        for col in (reported, deadlines, closed):
            times.update((t, f(t)) for t in set(col).difference(times))
        reported_t = list(map(times.__getitem__, reported))
        # a float's repr is the dearest field (about 1 µs): the input coordinates are
        # those of the point when the sheet was in WGS84, and then written once
        lon_t = list(map(float.__repr__, lons))
        lat_t = list(map(float.__repr__, lats))
        # (zero excepted: -0.0 == 0.0, and their reprs differ)
        in_lon_t = [
            t if x and i == x else repr(i) for t, x, i in zip(lon_t, lons, input_lons, strict=True)
        ]
        in_lat_t = [
            t if y and i == y else repr(i) for t, y, i in zip(lat_t, lats, input_lats, strict=True)
        ]
        cols: list[Iterable[str]] = [
            map(str, ids),
            out.copy_column(keys),
            map(state_t.__getitem__, states),
            out.copy_column(cats),
            out.copy_column(sources),
            out.copy_column(descriptions),
            out.copy_column(addresses),
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
            map(str, repeats),
            ["passed" if s is closed_state else null for s in states],
            [f"{attrs}{k}}}}}" for k in file_rows],
        ]
        tick("write issues", 0, n)
        return map("\t".join, zip(*cols, strict=True))

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
    if binary is not None:
        tick("write issues", 0, n)
        out.insert_binary(
            Issue.__table__,
            *binary.issues,
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
            part = islice(it, 100_000)
            out.insert(Issue.__table__, per_row, part, constants, (_GROUP_COLUMNS, shared_cols))
    tick("write issues", n, n)
    out.create_indexes(dropped)
    tick("index issues", n, n)

    def event_lines() -> Iterable[str]:
        f = out.copy_text
        mid = f"\t{f(now_db)}\timport\t\\N\t"
        end = f"\t{f(who)}\tsystem\t\\N\t" + '{"file": ' + f(name_json) + ', "row": '
        state_t = {s: f(value[s]) for s in State}
        for k in range(n):
            yield f"{event_ids[k]}\t{ids[k]}{mid}{state_t[states[k]]}{end}{file_rows[k]}}}"

    event_constants = {
        "at": now_db,
        "action": "import",
        "from_state": None,
        "actor_who": who,
        "actor_role": "system",
        "note": None,
    }
    # a first back-fill on PostgreSQL: the events' secondary index built after their
    # rows too (SQLite's events go in key order, appended to it: left as they were)
    dropped = out.drop_indexes(IssueEvent.__table__, n) if out.postgres else []
    if binary is not None:
        out.insert_binary(IssueEvent.__table__, *binary.events, n, event_constants)
    elif out.postgres:
        out.insert_lines(IssueEvent.__table__, ("id", *_EVENT_COLUMNS), event_lines())
    else:  # SQLite: what every event has as literals, the rest by zip over columns
        cols = [
            ids,
            [value[s] for s in states],
            [f'{{"file": {name_json}, "row": {k}}}' for k in file_rows],
        ]
        rows_ = zip(*cols, strict=True)
        out.insert(IssueEvent.__table__, ["issue_id", "to_state", "data"], rows_, event_constants)
    out.create_indexes(dropped)
    tick("write events", n, n)
    out.check_references()
    tick("write", n, n)


@dataclass(frozen=True, slots=True)
class _BinaryColumns:
    """The columns of the binary ``COPY`` of the issues and of their events: names
    and :mod:`.copy_binary` columns, in the same order."""

    issues: tuple[list[str], list[Any]]
    events: tuple[list[str], list[Any]]


#: PostgreSQL's types of the issue columns written as fixed-size binary fields; every
#: other column written goes as UTF-8 text, which these types read as such.
_BINARY_FIXED = {
    "id": "integer",
    "lon": "double precision",
    "lat": "double precision",
    "geom": "geometry",
    "input_lon": "double precision",
    "input_lat": "double precision",
    "reported_at": "timestamp with time zone",
    "repeat_count": "integer",
    "overdue": "boolean",
    "assigned_at": "timestamp with time zone",
    "deadline": "timestamp with time zone",
    "closed_at": "timestamp with time zone",
    "recurrence_of_id": "integer",
}
#: Types read from UTF-8 text by their binary input (not jsonb: it wants a version byte).
_BINARY_TEXT = frozenset(("character varying", "text", "json"))


def _binary_columns(
    out: BulkInserter,
    rows: _Rows,
    ids: Sequence[int],
    event_ids: Sequence[int],
    group: np.ndarray,
    shared_cols: Sequence[tuple[Any, ...]],
    now: datetime,
    name: str,
) -> _BinaryColumns | None:
    """The issues and events as binary ``COPY`` columns (PostgreSQL), straight from the
    NumPy columns of ``rows``: times as µs since PostgreSQL's epoch, points as EWKB
    records, what a state, a category, a source or a routing group shares encoded once
    (:class:`~.copy_binary.Table`). None when a column's type is not the one these
    bytes are for (then the text lines).

    The column order is the one with the fewest pieces per row (:mod:`.copy_binary`):
    the fixed-size fields first, the texts after them, what rows share between the
    texts (one piece with the constants).
    """
    names = [
        *_BINARY_FIXED,
        "idempotency_key",
        "attributes",
        "state",
        "reinspection_result",
        "category_code",
        "source",
        *_GROUP_COLUMNS,
        "description",
        "address",
    ]
    types = out.column_types(Issue.__table__, names)
    event_types = out.column_types(IssueEvent.__table__, ["id", "issue_id", "to_state", "data"])
    if any(types[c] != t for c, t in _BINARY_FIXED.items()) or any(
        event_types[c] != "integer" for c in ("id", "issue_id")
    ):
        return None
    known = _BINARY_TEXT.union(BINARY_TYPES)  # what binary_field writes
    if any(t not in known for c, t in types.items() if c not in _BINARY_FIXED) or any(
        event_types[c] not in _BINARY_TEXT for c in ("to_state", "data")
    ):
        return None
    b = out.binary_field
    n = len(rows)
    id_ = np.asarray(ids, dtype=np.int64)
    reported = rows.reported - PG_EPOCH_US  # validated: every row has one
    deadline, closed = rows.deadline, rows.closed
    no_deadline = deadline == _NAT
    state_of = rows.states  # rows.state indexes it
    is_open = np.array([KIND[s] is Kind.open for s in state_of] + [False])[rows.state]
    triage = np.array([s is State.triage for s in state_of] + [False])[rows.state]
    now_us = (now - _EPOCH) // _US
    prev = rows.prev
    passed = b("passed", types["reinspection_result"])
    source_codes = list(dict.fromkeys(rows.source.tolist()))
    source_at = {c: k for k, c in enumerate(source_codes)}
    attrs = '{"import": {"file": ' + json.dumps(name, ensure_ascii=False) + ', "row": '
    fixed = {
        "id": Fixed(id_, ">i4"),
        "lon": Fixed(rows.lon, ">f8"),
        "lat": Fixed(rows.lat, ">f8"),
        "geom": Fixed(points_ewkb(rows.lon, rows.lat, SRID), EWKB_POINT),
        "input_lon": Fixed(rows.input_lon, ">f8"),
        "input_lat": Fixed(rows.input_lat, ">f8"),
        "reported_at": Fixed(reported, ">i8"),
        "repeat_count": Fixed(rows.repeat, ">i4"),
        "overdue": Fixed(is_open & ~no_deadline & (deadline < now_us), "?"),
        "assigned_at": Fixed(reported, ">i8", triage),  # a triaged issue: not assigned
        "deadline": Fixed(deadline - PG_EPOCH_US, ">i8", no_deadline),
        "closed_at": Fixed(closed - PG_EPOCH_US, ">i8", closed == _NAT),
        "recurrence_of_id": Fixed(id_[np.maximum(prev, 0)], ">i4", prev < 0),
    }
    issue_cols = [
        *(fixed[c] for c in _BINARY_FIXED),
        Text(rows.key),  # its length word ends the fixed-size fields' piece
        Text(rows.row, prefix=attrs.encode(), suffix=b"}}"),
        Table(
            rows.state,
            [
                b(s.value, types["state"]) + (passed if s is State.closed else BINARY_NULL)
                for s in state_of
            ],
            width=2,
        ),
        Table(rows.category, [b(c, types["category_code"]) for c in rows.categories]),
        Table(
            np.fromiter(map(source_at.__getitem__, rows.source.tolist()), np.int64, n),
            [b(c, types["source"]) for c in source_codes],
        ),
        Table(
            group,
            [
                b"".join(b(v, types[c]) for c, v in zip(_GROUP_COLUMNS, g, strict=True))
                for g in shared_cols
            ],
            width=len(_GROUP_COLUMNS),
        ),
        Text(rows.description),
        Text(rows.address),
    ]
    head = '{"file": ' + json.dumps(name, ensure_ascii=False) + ', "row": '
    event_cols = [
        Fixed(np.asarray(event_ids, dtype=np.int64), ">i4"),
        Fixed(id_, ">i4"),
        Text(rows.row, prefix=head.encode(), suffix=b"}"),
        Table(rows.state, [b(s.value, event_types["to_state"]) for s in state_of]),
    ]
    return _BinaryColumns((names, issue_cols), (["id", "issue_id", "data", "to_state"], event_cols))


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
