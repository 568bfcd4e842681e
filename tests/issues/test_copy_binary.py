"""Binary COPY rows encoded column by column (:mod:`civgrid.grids.issues.copy_binary`)
are byte for byte the rows of the per-value encoder (``BulkInserter.binary_field``):
NULLs in every position and pattern, non-ASCII and empty text, integer and float
extremes, times at the ends of the range, blocks of any size."""

from __future__ import annotations

import json
import struct
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import shapely

from civgrid.geo.convert import to_wkb_array
from civgrid.grids.core.types import SRID
from civgrid.grids.issues.bulk_insert import BulkInserter
from civgrid.grids.issues.copy_binary import (
    PG_EPOCH_US,
    BinaryRows,
    Const,
    Fixed,
    Table,
    Text,
    points_ewkb,
)

NAT = np.iinfo(np.int64).min


def _field(value, pg_type):
    out = BulkInserter.__new__(BulkInserter)  # the values only: no connection needed
    out.postgres = True
    out._json = json.dumps
    return out.binary_field(value, pg_type)


def _time(us: int) -> datetime | None:
    return None if us == NAT else datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


def _rows(n: int, seed: int):
    rng = np.random.default_rng(seed)
    ids = rng.integers(-(2**31), 2**31, n)
    ids[:2] = [-(2**31), 2**31 - 1]
    big = rng.integers(-(2**63), 2**63 - 1, n, endpoint=True)
    floats = rng.normal(size=n) * 10.0 ** rng.integers(-300, 300, n)
    floats[:4] = [-0.0, np.inf, -np.inf, 5e-324][: min(4, n)]
    flags = rng.random(n) < 0.5
    us = rng.integers(-(2**50), 2**52, n)  # about 1934 to 2112
    us[:2] = [-62135596800000000, 253402300799999999]  # 0001-01-01, 9999-12-31 23:59:59.999999
    us[rng.random(n) < 0.3] = NAT
    null_int = rng.random(n) < 0.4
    words = ["", "a", "路口\\N", 'tab\there "q"\n', "ÿ" * 300, "x" * 70_000, "𝄞"]
    texts = [None if rng.random() < 0.3 else words[k] for k in rng.integers(len(words), size=n)]
    keys = [f"import:K{k}·{'é' * (k % 4)}" for k in range(n)]
    cats = ["乱堆乱倒", "road", ""]
    cat = rng.integers(len(cats), size=n)
    groups = [("g1", 5), (None, None), ("社区", 2**31 - 1)]
    group = rng.integers(len(groups), size=n)
    lon, lat = rng.uniform(-180, 180, n), rng.uniform(-90, 90, n)
    lon[:2] = [-0.0, 180.0]
    # the geometry conversion's EWKB, as the text paths write it
    wkb = list(to_wkb_array(shapely.points(lon, lat), SRID))
    nums = rng.integers(0, 10 ** rng.integers(1, 19, n), n)
    nums[:2] = [0, 10**18 - 1]
    return locals()


def _want(d, n, tail, tail_types) -> bytes:
    """The rows as the per-value encoder writes them."""
    out = []
    for i in range(n):
        g = d["groups"][d["group"][i]]
        fields = [
            _field(int(d["ids"][i]), "integer"),
            _field(None if d["null_int"][i] else int(d["big"][i]), "bigint"),
            _field(float(d["floats"][i]), "double precision"),
            _field(bool(d["flags"][i]), "boolean"),
            _field(_time(int(d["us"][i])), "timestamp with time zone"),
            _field(d["texts"][i], "text"),
            b"\x00\x00\x00\x19"
            + points_ewkb(d["lon"][i : i + 1], d["lat"][i : i + 1], 4326).tobytes(),
            _field(d["keys"][i], "character varying"),
            _field(d["cats"][d["cat"][i]], "character varying"),
            _field(g[0], "character varying"),
            _field(g[1], "integer"),
            _field({"row": int(d["nums"][i])}, "json"),
            _field(d["texts"][i], "text"),
            *(_field(v, t) for v, t in zip(tail, tail_types, strict=True)),
        ]
        out.append(struct.pack(">h", len(fields)) + b"".join(fields))
    return b"".join(out)


def _columns(d, tail, tail_types):
    null_time = d["us"] == NAT
    return [
        Fixed(d["ids"], ">i4"),
        Fixed(d["big"], ">i8", d["null_int"]),
        Fixed(d["floats"], ">f8"),
        Fixed(d["flags"], "?"),
        Fixed(d["us"] - PG_EPOCH_US, ">i8", null_time),
        Text(np.array(d["texts"], dtype=object)),
        Fixed(
            points_ewkb(d["lon"], d["lat"], 4326), points_ewkb(d["lon"][:0], d["lat"][:0], 0).dtype
        ),
        Text(d["keys"]),
        Table(d["cat"], [_field(c, "character varying") for c in d["cats"]]),
        Table(
            d["group"],
            [_field(a, "character varying") + _field(b, "integer") for a, b in d["groups"]],
            width=2,
        ),
        Text(d["nums"], prefix=b'{"row": ', suffix=b"}"),
        Text(d["texts"]),
        Const(b"".join(_field(v, t) for v, t in zip(tail, tail_types, strict=True)), len(tail)),
    ]


@pytest.mark.parametrize(("n", "block"), [(2, 1), (7, 3), (300, 64), (300, 300)])
def test_rows_are_those_of_the_per_value_encoder(n, block):
    d = _rows(n, seed=n)
    tail = [1, "normal", None, datetime(2024, 5, 1, 8, tzinfo=UTC), False]
    types = ["integer", "character varying", "text", "timestamp with time zone", "boolean"]
    rows = BinaryRows(_columns(d, tail, types), n)
    assert rows.width == 13 + len(tail)
    got = b"".join(rows.encode(a, min(n, a + block)) for a in range(0, n, block))
    assert got == _want(d, n, tail, types)


def test_all_null_blocks_and_constants_only():
    n = 5
    texts = [None] * n
    cols = [Const(_field(3, "integer")), Text(texts), Fixed(np.zeros(n), ">f8", np.ones(n, bool))]
    rows = BinaryRows(cols, n)
    one = struct.pack(">h", 3) + _field(3, "integer") + b"\xff\xff\xff\xff" * 2
    assert rows.encode(0, n) == one * n
    assert rows.encode(2, 2) == b""
    assert (
        BinaryRows([Const(b"\x00\x00\x00\x01\x01")], 2).encode(0, 2)
        == (struct.pack(">h", 1) + b"\x00\x00\x00\x01\x01") * 2
    )


def test_a_column_of_another_length_is_refused():
    with pytest.raises(ValueError, match="3 values, not 4"):
        BinaryRows([Fixed(np.zeros(3), ">f8")], 4)
    with pytest.raises(ValueError, match="no NULL"):
        BinaryRows([Text(["a", None], prefix=b"[")], 2).encode(0, 2)


def test_text_that_is_not_str_is_written_as_its_text():
    """A workbook cell can be a number: written as ``str`` of it, as ``binary_field``
    writes it, with or without NULLs in the block."""
    values = [7, "a", 2.5, "路"]
    for cells in (values, [*values, None]):
        got = BinaryRows([Text(cells)], len(cells)).encode(0, len(cells))
        head = struct.pack(">h", 1)
        assert got == b"".join(head + _field(v, "text") for v in cells)
