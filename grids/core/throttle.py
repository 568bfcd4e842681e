"""Rate limits shared by every worker: token buckets kept in the database.

Several server processes (``civgrid serve --workers N``) must count one
client's logins and anonymous reports together, or each worker grants its own
allowance. A bucket is one row (``rate_buckets``: name, key, tokens, time);
:func:`take_token` refills and takes a token in **one** ``INSERT … ON CONFLICT
DO UPDATE … RETURNING`` statement, so concurrent requests on any worker are
serialised by the row, on SQLite and PostgreSQL alike.

Time is wall-clock seconds (``time.time``), the only clock processes share.
"""

from __future__ import annotations

import random
import time

from sqlalchemy import Boolean, Float, String, case, delete, literal
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, mapped_column

from civgrid.grids.core.db import Base

__all__ = ["RateBucket", "take_token"]

#: Rows idle longer than this (seconds) are swept now and then.
IDLE_S = 3600.0


class RateBucket(Base):
    """One token bucket (a limit name and a key: ``ip:1.2.3.4``, ``user:x``)."""

    __tablename__ = "rate_buckets"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float, nullable=False)
    at: Mapped[float] = mapped_column(Float, nullable=False)  # unix seconds of the last take
    ok: Mapped[bool] = mapped_column(Boolean, nullable=False)  # whether the last take got one


def take_token(
    engine: Engine,
    name: str,
    key: str,
    capacity: int,
    period_s: float,
    *,
    now: float | None = None,
) -> tuple[bool, float]:
    """Refill the bucket ``(name, key)`` and take one token, atomically.

    Parameters
    ----------
    engine : Engine
    name, key : str
        The limit (``login``, ``intake``) and who is counted.
    capacity : int
        Tokens when full (requests allowed in a burst).
    period_s : float
        Seconds to refill from empty to full.
    now : float, optional
        Unix seconds (default: the wall clock).

    Returns
    -------
    (bool, float)
        Whether a token was taken, and the tokens left.
    """
    from sqlalchemy.dialects import postgresql, sqlite

    now = time.time() if now is None else now
    cap = float(max(1, capacity))
    rate = cap / max(period_s, 1e-6)
    t = RateBucket.__table__
    refilled = t.c.tokens + (literal(now) - t.c.at) * literal(rate)
    level = case((refilled > literal(cap), literal(cap)), else_=refilled)
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(t).values(name=name, key=key, tokens=cap - 1, at=now, ok=True)
    stmt = stmt.on_conflict_do_update(
        index_elements=[t.c.name, t.c.key],
        set_={
            "tokens": case((level >= 1, level - 1), else_=level),
            "at": literal(now),
            "ok": level >= 1,
        },
    ).returning(t.c.ok, t.c.tokens)
    with engine.begin() as conn:
        ok, tokens = conn.execute(stmt).one()
        if random.random() < 0.002:  # sweep idle buckets now and then (cheap, any worker)
            conn.execute(delete(t).where(t.c.at < now - IDLE_S))
    return bool(ok), float(tokens)
