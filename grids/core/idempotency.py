"""Idempotency keys of actions: a retried action returns the first result.

A phone on a bad network sends an action (accept an issue, submit its fix,
re-inspect it, mark a patrol visit done) and loses the answer; it sends the same
request again with the same ``Idempotency-Key`` header. The first request stored
its answer under the key, in the same transaction as the action; the retry gets
that answer back (HTTP 200, as the first) instead of a 409 "cannot accept from
rectifying". Intake keeps its keys on the issue row itself
(:mod:`civgrid.grids.issues.intake`); other actions keep them here, one row per key.

The key is claimed *before* the action runs: a concurrent retry with the same
key blocks on (PostgreSQL) or waits for (SQLite) the first transaction's row and
then fails its insert; that is a :class:`~civgrid.grids.core.retry.RaceLostError`,
and :func:`~civgrid.grids.core.retry.run_retrying` runs it again, when it sees the
committed answer. An action that fails rolls its claim back with it, so a retry
of a refused request is refused again (and not replayed as a success).

Local choices: keys are 1–200 characters, private to the account that sent them
(the caller namespaces them); a key reused for a different request (another
issue, action or body) is a conflict (409) that names nothing of the first.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from civgrid.grids.core.db import Base
from civgrid.grids.core.errors import ConflictError, InvalidInputError
from civgrid.grids.core.retry import RaceLostError
from civgrid.grids.core.types import UTCDateTime

__all__ = ["IdempotencyRecord", "claim", "clean_key", "complete", "fingerprint"]

#: Longest key a client may send (characters).
MAX_KEY = 200


class IdempotencyRecord(Base):
    """One action's key, the hash of its request and the answer it got."""

    __tablename__ = "idempotency_records"

    key: Mapped[str] = mapped_column(String(320), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


def clean_key(key: str) -> str:
    """The key without surrounding blanks; 1–200 characters.

    Examples
    --------
    >>> clean_key("  phone-1:42 ")
    'phone-1:42'
    >>> clean_key(" ")
    Traceback (most recent call last):
    ...
    civgrid.grids.core.errors.InvalidInputError: Idempotency-Key must be 1–200 characters
    """
    key = key.strip()
    if not key or len(key) > MAX_KEY:
        raise InvalidInputError(
            f"Idempotency-Key must be 1–{MAX_KEY} characters", field="Idempotency-Key"
        )
    return key


def fingerprint(data: Any) -> str:
    """SHA-256 (hex) of a JSON-able request description, keys sorted.

    Examples
    --------
    >>> fingerprint({"b": 1, "a": [2]}) == fingerprint({"a": [2], "b": 1})
    True
    >>> len(fingerprint(None))
    64
    """
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def claim(session: Session, key: str, request_hash: str, now: datetime) -> dict[str, Any] | None:
    """Claim ``key`` for this request, or return the answer stored under it.

    Parameters
    ----------
    session : Session
        The action's transaction (the claim commits or rolls back with it).
    key : str
        The namespaced key (``scope:account:client key``).
    request_hash : str
        :func:`fingerprint` of the request.
    now : datetime
        UTC time of the claim.

    Returns
    -------
    dict or None
        ``{"status_code", "response"}`` of the first request (a replay), or None
        when the key is new (claimed: run the action, then :func:`complete`).

    Raises
    ------
    ConflictError
        The key was used for a different request.
    RaceLostError
        A concurrent request holds the key; roll back and run again
        (:func:`civgrid.grids.core.retry.run_retrying`).
    """
    found = session.get(IdempotencyRecord, key)
    if found is None:
        session.add(IdempotencyRecord(key=key, request_hash=request_hash, created_at=now))
        try:
            session.flush()
        except IntegrityError as exc:
            raise RaceLostError(
                "a concurrent request with the same Idempotency-Key was first",
                field="Idempotency-Key",
            ) from exc
        return None
    if found.request_hash != request_hash:
        raise ConflictError(
            "this Idempotency-Key was already used for a different request",
            field="Idempotency-Key",
        )
    if found.response is None:  # claimed in this very transaction: cannot happen twice
        raise RaceLostError("the first request with this key has not finished")
    return {"status_code": found.status_code, "response": found.response}


def complete(session: Session, key: str, response: dict[str, Any], status_code: int = 200) -> None:
    """Store the answer of the action that claimed ``key`` (same transaction)."""
    row = session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.key == key))
    if row is None:
        raise AssertionError(f"idempotency key {key!r} was not claimed")
    row.response = response
    row.status_code = status_code
    session.flush()
