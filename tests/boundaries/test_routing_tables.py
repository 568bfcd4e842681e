"""Routing from tables read once (bulk back-fill) answers exactly as routing from the
database, and the fast dict conversion equals :func:`dataclasses.asdict`."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import date

import numpy as np
from sqlalchemy import select

import civgrid.grids.boundaries.routing as routing
from civgrid.grids.boundaries.models import Category


def test_tables_give_the_database_answer(demo_store, monkeypatch):
    store = demo_store
    index = store.snap_index
    (x0, y0, x1, y1) = store.areas(layer="county")[0].geom.bounds
    rng = np.random.default_rng(26)
    lon, lat = rng.uniform(x0, x1, 120), rng.uniform(y0, y1, 120)
    hits = index.snap_many(lon, lat)
    days = [date(2021, 1, 4), date(2023, 6, 1), date(2025, 3, 3)]
    with store.session() as s:
        codes = [c.code for c in s.scalars(select(Category).order_by(Category.code))]
        tables = routing.RoutingTables.load(s)
        answers = []
        for k, (code, day) in enumerate(zip(itertools.cycle(codes), itertools.cycle(days))):
            if k == len(hits):
                break
            kw = dict(
                lon=float(lon[k]),
                lat=float(lat[k]),
                category=code,
                day=day,
                generation_id=index.generation_id,
                hits=hits[k],
            )
            live = routing.resolve(s, **kw)
            bulk = routing.resolve(s, **kw, tables=tables)
            assert bulk.to_dict() == live.to_dict(), (code, day)
            answers.append(live)
    assert sum(1 for a in answers if a.owner is not None) >= 30  # real answers compared
    # the answers' dicts are those of dataclasses.asdict (the fast flat copy loses nothing)
    for a in answers:
        for p in a.parties:
            slow = dataclasses.asdict(p)
            slow["reason"]["distance_m"] = round(slow["reason"]["distance_m"], 1)
            assert p.to_dict() == slow
