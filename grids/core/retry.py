"""Running a unit of work again when its transaction lost a race that a retry resolves.

Two requests that race for the same row (one ``Idempotency-Key``, a PostgreSQL
serialization failure or deadlock) cannot both win; the loser's transaction is
rolled back as a whole and run again, and on the second run it sees the winner's
committed row (an idempotent replay, a merge into the issue that now exists).
Reading the database after a failed flush on the same session is never done: the
session is unusable until it is rolled back (SQLAlchemy's ``PendingRollbackError``).

Local choice: five attempts with a short, growing pause (5, 10, 20, 40 ms, plus
jitter); a race that is still lost after that is a :class:`ConflictError` (409),
never a server error.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from civgrid.grids.core.errors import ConflictError

__all__ = ["RETRYABLE_SQLSTATES", "RaceLostError", "is_retryable", "run_retrying"]

T = TypeVar("T")

#: PostgreSQL ``serialization_failure`` and ``deadlock_detected``.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})


class RaceLostError(ConflictError):
    """The transaction lost a race; rolled back and run again it will see the winner."""


def is_retryable(exc: BaseException) -> bool:
    """True for a lost race: :class:`RaceLostError` or a PostgreSQL 40001/40P01.

    Examples
    --------
    >>> is_retryable(RaceLostError("lost"))
    True
    >>> is_retryable(ConflictError("stale version"))
    False
    """
    if isinstance(exc, RaceLostError):
        return True
    if isinstance(exc, DBAPIError):
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return code in RETRYABLE_SQLSTATES
    return False


def run_retrying(
    session_scope: Callable[[], AbstractContextManager[Session]],
    work: Callable[[Session], T],
    *,
    attempts: int = 5,
    pause_s: float = 0.005,
) -> T:
    """Run ``work(session)`` in a fresh transaction, again while it loses a race.

    Parameters
    ----------
    session_scope : callable
        Returns a context manager yielding a session that commits on success and
        rolls back on error (``Store.session``).
    work : callable
        The unit of work; it must be safe to run again from the start (it is, when
        all it does is in the rolled-back transaction).
    attempts : int
        Runs at most this many times.
    pause_s : float
        Seconds before the second run; doubled each time, with jitter.

    Returns
    -------
    The result of the run that committed.

    Raises
    ------
    ConflictError
        Still losing after ``attempts`` runs (409).

    Examples
    --------
    >>> from contextlib import nullcontext
    >>> tries = []
    >>> def work(session):
    ...     tries.append(1)
    ...     if len(tries) < 3:
    ...         raise RaceLostError("someone else was first")
    ...     return "done"
    >>> run_retrying(lambda: nullcontext(None), work, pause_s=0)
    'done'
    >>> len(tries)
    3
    """
    for attempt in range(attempts):
        try:
            with session_scope() as session:
                return work(session)
        except Exception as exc:
            if not is_retryable(exc):
                raise
            if attempt == attempts - 1:
                raise ConflictError(
                    "the request kept colliding with concurrent requests; try again",
                    attempts=attempts,
                ) from exc
            time.sleep(pause_s * (2**attempt) * (1 + random.random()))
    raise AssertionError("unreachable")  # pragma: no cover
