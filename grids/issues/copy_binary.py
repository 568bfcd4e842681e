"""Rows of ``COPY … FROM STDIN (FORMAT binary)`` encoded column by column with NumPy.

A binary ``COPY`` row is a field count (int16), then each field as a length word
(int32, ``-1`` for NULL) and its bytes. :class:`BinaryRows` builds a block of rows
from whole columns — :class:`Fixed` (numbers, booleans, timestamps, fixed-size
records such as a point's EWKB), :class:`Text` (UTF-8 text per row), :class:`Table`
(each row one of a few fields encoded once), :class:`Const` (the same fields in every
row) — with no Python code per row and field: the fixed-size fields of consecutive
columns (and the length words of the texts after them) are filled into one NumPy
record array and cut into one ``bytes`` per row, and a row is the join of a handful
of such pieces (a local choice, issue 26: formatting each field in Python was most of
the client's time in a back-fill of 10⁶ issues).

The bytes are those of :meth:`~civgrid.grids.issues.bulk_insert.BulkInserter.binary_field`
field by field (tests/issues/test_copy_binary.py compares them).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import is_
from typing import Any

import numpy as np

__all__ = [
    "EWKB_POINT",
    "PG_EPOCH_US",
    "BinaryRows",
    "Const",
    "Fixed",
    "Table",
    "Text",
    "points_ewkb",
]

#: PostgreSQL's timestamp epoch, 2000-01-01 UTC, in microseconds since 1970-01-01 UTC
#: (a binary ``timestamptz`` is microseconds since the former).
PG_EPOCH_US = 946_684_800_000_000
_LEN = np.dtype(">i4")  # a field's length word
#: Record of a WGS84 point's EWKB (little-endian, type with the SRID flag, SRID, x, y).
EWKB_POINT = np.dtype(
    [("order", "u1"), ("type", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")]
)


@dataclass(frozen=True, slots=True)
class Fixed:
    """A column of a fixed-size type: per row ``values`` as ``dtype`` (big-endian for
    PostgreSQL's numbers: ``>i4`` integer, ``>i8`` bigint or timestamptz µs since
    2000-01-01, ``>f8`` double precision, ``?`` boolean; a record dtype for a record such
    as :data:`EWKB_POINT`), NULL where ``null`` is true."""

    values: np.ndarray
    dtype: Any
    null: np.ndarray | None = None
    width: int = 1


@dataclass(frozen=True, slots=True)
class Text:
    """A text column (``text``, ``character varying``, ``json``: UTF-8), one value per
    row: ``str`` or None (NULL) in a sequence or object array, or integers (an int64
    array: written in decimal). ``prefix`` and ``suffix`` (bytes) surround every value
    (e.g. a JSON document around a number); with them no value may be None."""

    values: Any
    prefix: bytes = b""
    suffix: bytes = b""
    width: int = 1


@dataclass(frozen=True, slots=True)
class Table:
    """``width`` consecutive columns with few distinct values: per row the encoded
    fields ``fields[index]`` (length words included, as ``binary_field`` gives them)."""

    index: np.ndarray
    fields: Sequence[bytes]
    width: int = 1


@dataclass(frozen=True, slots=True)
class Const:
    """``width`` consecutive columns with the same encoded fields ``data`` in every row."""

    data: bytes
    width: int = 1


Column = Fixed | Text | Table | Const


def points_ewkb(lon: np.ndarray, lat: np.ndarray, srid: int) -> np.ndarray:
    """Points as :data:`EWKB_POINT` records (the bytes of a PostGIS point with its SRID)."""
    rec = np.empty(len(lon), dtype=EWKB_POINT)
    rec["order"], rec["type"], rec["srid"] = 1, 0x20000001, srid
    rec["x"], rec["y"] = lon, lat
    return rec


def _merge_tables(a: Table, b: Table) -> Table:
    """Two adjacent :class:`Table` columns as one (the distinct pairs found, each
    encoded once)."""
    nb = len(b.fields)
    code = a.index.astype(np.int64) * nb + b.index
    size = len(a.fields) * nb
    if size <= 4 * len(code) + 1024:  # dense: a look-up table instead of a sort
        present = np.zeros(size, dtype=bool)
        present[code] = True
        found = np.flatnonzero(present)
        remap = np.cumsum(present) - 1
        index = remap[code]
    else:
        found, index = np.unique(code, return_inverse=True)
    fields = [a.fields[k // nb] + b.fields[k % nb] for k in found.tolist()]
    return Table(index.reshape(-1), fields, a.width + b.width)


class BinaryRows:
    """``n`` rows of binary ``COPY`` from ``columns`` (each holds ``n`` values but a
    :class:`Const`); :meth:`encode` gives the bytes of a block of them.

    Raises
    ------
    ValueError
        A column does not hold ``n`` values.
    """

    def __init__(self, columns: Sequence[Column], n: int) -> None:
        merged: list[Column] = []
        for col in columns:
            if not isinstance(col, Const):
                size = len(col.index if isinstance(col, Table) else col.values)
                if size != n:
                    raise ValueError(f"a column holds {size} values, not {n}")
            if isinstance(col, Table) and merged and isinstance(merged[-1], Table):
                merged[-1] = _merge_tables(merged[-1], col)
            elif isinstance(col, Const) and merged and isinstance(merged[-1], Const):
                last = merged[-1]
                merged[-1] = Const(last.data + col.data, last.width + col.width)
            else:
                merged.append(col)
        self.width = sum(c.width for c in columns)
        self.n = n
        head = struct.pack(">h", self.width)
        if merged and isinstance(merged[0], Const):
            merged[0] = Const(head + merged[0].data, merged[0].width)
        else:
            merged.insert(0, Const(head, 0))
        self.columns = merged
        self._cache: dict[tuple[int, bytes, bytes], np.ndarray] = {}

    def encode(self, a: int, b: int) -> bytes:
        """Rows ``a`` to ``b`` (exclusive), each with its field count."""
        m = b - a
        if m <= 0:
            return b""
        segments: list[Any] = []  # per-row lists or one bytes shared by every row
        run: list[tuple] = []  # fixed-size fields, then cut into one piece per row

        def close_run() -> None:
            if run:
                segments.append(_encode_run(run, m))
                run.clear()

        for col in self.columns:
            if isinstance(col, Const):
                run.append(("const", col.data))
            elif isinstance(col, Fixed):
                null = None if col.null is None else col.null[a:b]
                if null is not None and null.all():  # a NULL in every row: a constant
                    run.append(("const", b"\xff\xff\xff\xff"))
                else:
                    run.append(("fixed", np.dtype(col.dtype), col.values[a:b], null))
            elif isinstance(col, Table):
                close_run()
                segments.append(_Block(col, col.index[a:b]))
            else:
                data, lens = _text(col, a, b)
                if data is None:  # every value NULL
                    run.append(("const", b"\xff\xff\xff\xff"))
                    continue
                run.append(("len", lens))
                if col.prefix:
                    run.append(("const", col.prefix))
                close_run()
                segments.append(data)
                if col.suffix:
                    run.append(("const", col.suffix))
        close_run()
        # what every row shares joins its neighbours: the next or previous table's
        # fields (each table's few thousand once per neighbours, not per block), or
        # another such piece
        out: list[Any] = []
        for seg in segments:
            last = out[-1] if out else None
            if isinstance(seg, bytes) and isinstance(last, bytes):
                out[-1] = last + seg
            elif isinstance(seg, bytes) and isinstance(last, _Block):
                last.suffix += seg
            elif isinstance(seg, _Block) and isinstance(last, bytes):
                seg.prefix = last
                out[-1] = seg
            else:
                out.append(seg)
        # the rows: every piece of a row side by side in one list (slice assignment,
        # no Python code per row), then one join
        k = len(out)
        flat: list[bytes] = [b""] * (k * m)
        for j, seg in enumerate(out):
            if isinstance(seg, bytes):
                flat[j::k] = [seg] * m
            elif isinstance(seg, _Block):
                flat[j::k] = self._fields(seg)[seg.index].tolist()
            else:
                flat[j::k] = seg
        return b"".join(flat)

    def _fields(self, block: _Block) -> np.ndarray:
        """A table's fields with what every row has before and after them (cached)."""
        key = (id(block.table), block.prefix, block.suffix)
        fields = self._cache.get(key)
        if fields is None:
            fields = np.empty(len(block.table.fields), dtype=object)  # never bytes_
            fields[:] = [block.prefix + f + block.suffix for f in block.table.fields]
            self._cache[key] = fields
        return fields


@dataclass(slots=True)
class _Block:
    """A :class:`Table` in a block of rows, with the constant bytes around its fields."""

    table: Table
    index: np.ndarray
    prefix: bytes = b""
    suffix: bytes = b""


def _text(col: Text, a: int, b: int) -> tuple[list[bytes] | None, np.ndarray]:
    """A block of a :class:`Text` column: each value's UTF-8 bytes (``b""`` for NULL)
    and its length word (``-1`` for NULL); None for the bytes when all are NULL."""
    values = col.values[a:b]
    extra = len(col.prefix) + len(col.suffix)
    m = b - a
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
        data = list(map(b"%d".__mod__, values.tolist()))
        if len(values) and values.min() < 0:
            lens = np.fromiter(map(len, data), np.int32, m)
        else:  # digits counted, not measured (a ``len`` per value was most of the rest)
            lens = np.searchsorted(_TENS, values, side="right").astype(np.int32) + 1
        return data, lens + extra
    if isinstance(values, np.ndarray):
        values = values.tolist()
    nulls = values.count(None)
    if nulls == m:
        return None, np.full(m, -1, np.int32)
    if nulls:
        if extra:
            raise ValueError("a Text column with a prefix or suffix has no NULL")
        null = np.fromiter(map(is_, values, repeat(None)), bool, m)
        data = [b"" if v is None else str(v).encode() for v in values]
        lens = np.fromiter(map(len, data), np.int32, m)
        lens[null] = -1
        return data, lens
    try:
        data = list(map(str.encode, values))
    except TypeError:  # not all str (a number from a workbook): its text
        data = [str(v).encode() for v in values]
    lens = np.fromiter(map(len, data), np.int32, m)
    return data, lens + extra if extra else lens


#: 10, 100, … 10¹⁸: how many digits a number has is how many of these it reaches, plus 1.
_TENS = 10 ** np.arange(1, 19, dtype=np.int64)


def _encode_run(run: list[tuple], m: int) -> list[bytes] | bytes:
    """Consecutive fixed-size fields of ``m`` rows: one ``bytes`` per row (the record
    array's rows; where NULLs leave fields out, one record layout per pattern of them),
    or one ``bytes`` for all when every field is the same in every row."""
    if all(f[0] == "const" for f in run):
        return b"".join(f[1] for f in run)
    names, formats, fill, nullable = [], [], [], []
    for i, f in enumerate(run):
        kind = f[0]
        if kind == "const":
            names.append(f"c{i}")
            formats.append(np.dtype((np.void, len(f[1]))))
            fill.append((f"c{i}", np.void(f[1])))
        elif kind == "len":
            names.append(f"l{i}")
            formats.append(_LEN)
            fill.append((f"l{i}", f[1]))
        else:
            _, dtype, values, null = f
            names += [f"l{i}", f"v{i}"]
            formats += [_LEN, dtype]
            fill += [(f"l{i}", dtype.itemsize), (f"v{i}", values)]
            if null is not None and null.any():
                nullable.append((f"l{i}", f"v{i}", null))
    rec = np.empty(m, dtype=np.dtype({"names": names, "formats": formats}))
    for name, value in fill:
        rec[name] = value
    size = rec.dtype.itemsize
    if not nullable:
        return rec.view(np.dtype((np.void, size))).tolist()
    code = np.zeros(m, dtype=np.int64)
    for j, (ln, _, null) in enumerate(nullable):
        rec[ln][null] = -1
        code |= null.astype(np.int64) << j
    u8 = rec.view(np.uint8).reshape(m, size)
    pieces = np.empty(m, dtype=object)
    for p in np.unique(code).tolist():
        rows = np.flatnonzero(code == p)
        sub = u8[rows]
        # the value bytes of the fields NULL in this pattern are left out
        drop = sorted(
            (rec.dtype.fields[vn][1], rec.dtype.fields[vn][1] + rec.dtype[vn].itemsize)
            for j, (_, vn, _) in enumerate(nullable)
            if p >> j & 1
        )
        keep, at = [], 0
        for s, e in drop:
            if s > at:
                keep.append(sub[:, at:s])
            at = e
        if at < size:
            keep.append(sub[:, at:])
        block = np.ascontiguousarray(np.concatenate(keep, axis=1)) if keep else sub[:, :0]
        width = block.shape[1]
        pieces[rows] = block.view(np.dtype((np.void, width))).reshape(-1).tolist()
    return pieces.tolist()
