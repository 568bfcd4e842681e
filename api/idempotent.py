"""``Idempotency-Key`` for actions: run once, replay the first answer to a retry.

Used by the issue transitions and the patrol visit outcome (the phone's offline
queue sends each action with a key; see docs/field-app.md). Without a key the
action runs as before. A replay answers 200 with the stored body and the header
``Idempotent-Replay: true``; the same key with another request is 409.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from fastapi import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from civgrid.grids.core import idempotency as idem
from civgrid.grids.core.actors import Actor
from civgrid.grids.core.retry import run_retrying

M = TypeVar("M", bound=BaseModel)

__all__ = ["run_once"]


def run_once(
    store: Any,
    response: Response,
    *,
    scope: str,
    actor: Actor,
    key: str | None,
    request: Any,
    work: Callable[[Session], M],
    model: type[M],
) -> M:
    """Run ``work`` in one transaction, once per ``(scope, account, key)``.

    Parameters
    ----------
    store : Store
        Its ``session()`` commits on success.
    response : Response
        Gets ``Idempotent-Replay: true`` on a replay.
    scope : str
        What kind of action (``issue_transition``, ``visit_outcome``).
    actor : Actor
        The caller: keys are private to an account.
    key : str or None
        The client's ``Idempotency-Key`` (None: no idempotency).
    request : JSON-able
        What identifies the request (target id, body, photo hashes).
    work : callable
        The action on a session; returns the answer model. Must be safe to run
        again from the start (all it does is in the transaction).
    model : type
        The answer model (to rebuild a stored answer).
    """
    if key is None:
        with store.session() as session:
            return work(session)
    full_key = f"{scope}:{actor.who}:{idem.clean_key(key)}"
    request_hash = idem.fingerprint({"scope": scope, "request": request})

    def once(session: Session) -> tuple[M, bool]:
        stored = idem.claim(session, full_key, request_hash, datetime.now(UTC))
        if stored is not None:
            return model.model_validate(stored["response"]), True
        out = work(session)
        idem.complete(session, full_key, out.model_dump(mode="json"))
        return out, False

    out, replay = run_retrying(store.session, once)
    if replay:
        response.headers["Idempotent-Replay"] = "true"
    return out
