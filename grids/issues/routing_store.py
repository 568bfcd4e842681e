"""Routing answers stored once and shared by the issues that have the same one.

Back-fill routes each place × category × assignment epoch once; the answer (the
:meth:`~civgrid.grids.boundaries.routing.Responsibility.to_dict` document, about 5 kB)
is the same for every issue of the group, so it is written once into
``issue_routings`` and the issues point at it (``issues.routing_id``);
:attr:`civgrid.grids.issues.models.Issue.routing` reads an issue's own copy first,
then the shared one, so every reader (detail page, ``routing=true`` lists, documents,
dispatching) gets the same answer either way.

The key is the SHA-256 of the answer's canonical JSON (sorted keys, no spaces), so
the same answer written by two back-fills is stored once. Insertion is
``ON CONFLICT (hash) DO NOTHING`` then a look-up, inside the caller's transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

__all__ = ["answer_hash", "canonical_json", "shared_routing_ids"]


def canonical_json(answer: dict[str, Any]) -> str:
    """The answer as canonical JSON text (sorted keys, compact, UTF-8 kept).

    >>> canonical_json({"b": 1, "a": {"z": None, "y": "城管局"}})
    '{"a":{"y":"城管局","z":null},"b":1}'
    """
    return json.dumps(answer, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def answer_hash(answer: dict[str, Any]) -> str:
    """SHA-256 (hex) of :func:`canonical_json` — the key of a stored answer.

    >>> answer_hash({"a": 1}) == answer_hash({"a": 1})
    True
    >>> len(answer_hash({}))
    64
    """
    return hashlib.sha256(canonical_json(answer).encode()).hexdigest()


def shared_routing_ids(out: Any, answers: Sequence[dict[str, Any]]) -> list[int]:
    """Ids in ``issue_routings`` of ``answers`` (one per answer), inserting the new ones.

    Parameters
    ----------
    out : BulkInserter
        Its connection and transaction (:mod:`civgrid.grids.issues.bulk_insert`). The
        answer is stored as its canonical JSON text.
    answers : sequence of dict
        Routing answers as :meth:`Responsibility.to_dict` gives them.

    Returns
    -------
    list of int
        The stored answer's id for each answer, in order (equal answers, equal ids).
    """
    if not answers:
        return []
    texts = [canonical_json(a) for a in answers]  # stored as it is hashed: one encoding
    hashes = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
    first: dict[str, str] = {}
    for h, t in zip(hashes, texts, strict=True):
        first.setdefault(h, t)
    mark = "%s" if out.postgres else "?"
    sql = (
        f"INSERT INTO issue_routings (hash, answer) VALUES ({mark}, {mark}) "
        "ON CONFLICT (hash) DO NOTHING"
    )
    if out.postgres:
        with out.raw.cursor() as cur:
            cur.executemany(sql, list(first.items()))
    else:
        out.raw.executemany(sql, list(first.items()))
    ids: dict[str, int] = {}
    keys = list(first)
    for i in range(0, len(keys), 500):
        part = keys[i : i + 500]
        marks = ", ".join([mark] * len(part))
        q = f"SELECT hash, id FROM issue_routings WHERE hash IN ({marks})"
        ids.update(out.raw.execute(q, part).fetchall())
    return [ids[h] for h in hashes]
