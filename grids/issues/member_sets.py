"""Party sets and place sets: who answers for an issue and where it lay, stored once and
shared by every issue with the same ones (issue 26).

A back-filled county has some 10⁶ issues but a few thousand distinct answers, so
instead of ~15 child rows per issue (each with its indexes) an issue points at an
immutable, content-addressed set: ``issues.party_set_id`` → ``party_sets`` /
``party_set_members`` (role, unit or leader) and ``issues.place_set_id`` →
``place_sets`` / ``place_set_members`` (layer, code). The key of a set is the SHA-256
of its members in order (:func:`party_hash`, :func:`place_hash`); an issue with no
member points at no set (None).

Finding or making a set is ``INSERT … ON CONFLICT (hash) DO NOTHING RETURNING id``
then a look-up of the hashes not returned, inside the caller's transaction, so two
transactions making the same set at once end with one (PostgreSQL makes the second
wait for the first's commit; SQLite has one writer). Ids are cached per engine in
the process once the transaction that found them has committed (a set made by a
transaction that rolled back does not exist).

Queries by party or place read :func:`with_party` / :func:`with_place`:
``issues.party_set_id IN (SELECT set_id FROM party_set_members WHERE …)``, the few
sets naming a unit answered from the members' index, then the issues of those sets
from ``ix_issues_party_set_state``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
import weakref
from collections.abc import Sequence
from typing import Any

from sqlalchemy import event, insert, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from civgrid.grids.issues.models import (
    Issue,
    PartySet,
    PartySetMember,
    PlaceSet,
    PlaceSetMember,
)

__all__ = [
    "party_hash",
    "party_set_ids",
    "place_hash",
    "place_set_ids",
    "point_at_parties",
    "point_at_places",
    "with_party",
    "with_place",
]

#: A party: (role, unit id, leader id) — exactly one of the ids is set.
PartyKey = tuple[str, int | None, int | None]
#: A place: (layer, code).
PlaceKey = tuple[str, str]

#: Per engine, (table, hash) → id of the sets known to be committed.
_KNOWN: weakref.WeakKeyDictionary[Engine, dict[tuple[str, str], int]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()
#: ``session.info`` key of the ids found in the session's current transaction.
_PENDING = "civgrid.member_sets.pending"


def _digest(members: Sequence[Sequence[Any]]) -> str:
    text = json.dumps([list(m) for m in members], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def party_hash(members: Sequence[PartyKey]) -> str:
    """The key of a party set: SHA-256 (hex) of its members in order.

    >>> party_hash([("owner", 3, None)]) == party_hash([("owner", 3, None)])
    True
    >>> party_hash([("owner", 3, None)]) == party_hash([("co_responsible", 3, None)])
    False
    """
    return _digest(members)


def place_hash(members: Sequence[PlaceKey]) -> str:
    """The key of a place set: SHA-256 (hex) of its members in order.

    >>> len(place_hash([("county", "C01"), ("unit_grid", "G001")]))
    64
    """
    return _digest(members)


def _engine(conn: Connection) -> Engine:
    return conn.engine


@event.listens_for(Session, "after_commit")
def _promote(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    for engine, found in pending.items():
        with _LOCK:
            _KNOWN.setdefault(engine, {}).update(found)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, _previous: Any) -> None:
    # any rollback, a savepoint's too: what it may have undone is not cached (a local
    # choice: the ids are looked up again, which costs one query)
    session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_uncommitted(session: Session, transaction: Any) -> None:
    # the end of the outer transaction without a commit (``Session.close`` emits no
    # rollback event): what it found is not known to exist
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def _set_ids(
    session: Session,
    set_table: Any,
    member_table: Any,
    member_columns: tuple[str, ...],
    lists: Sequence[Sequence[tuple]],
) -> list[int | None]:
    """Ids of the sets with these member lists (None for an empty one), making new ones."""
    conn = session.connection()
    engine = _engine(conn)
    name = set_table.name
    # read without the lock: a dict look-up is atomic under the GIL, and the cache only
    # grows (entries are added under the lock, never changed)
    known = _KNOWN.get(engine) or {}
    pending: dict[tuple[str, str], int] = session.info.setdefault(_PENDING, {}).setdefault(
        engine, {}
    )
    hashes = [_digest(m) if m else None for m in lists]
    ids: dict[str, int] = {}
    todo: dict[str, Sequence[tuple]] = {}
    for h, members in zip(hashes, lists, strict=True):
        if h is None or h in ids or h in todo:
            continue
        got = known.get((name, h)) or pending.get((name, h))
        if got is not None:
            ids[h] = got
        else:
            todo[h] = members
    if len(todo) == 1 and conn.dialect.name == "postgresql":  # an intake's one new list
        ((h, members),) = todo.items()
        got = _find_or_make_one(conn, set_table, member_table, member_columns, h, members)
        if got is not None:
            ids[h] = pending[(name, h)] = got
            todo = {}
    if todo:
        keys = list(todo)
        for i in range(0, len(keys), 500):
            part = keys[i : i + 500]
            ids.update(
                conn.execute(
                    select(set_table.c.hash, set_table.c.id).where(set_table.c.hash.in_(part))
                ).all()
            )
        new = [h for h in keys if h not in ids]
        made: dict[str, int] = {}
        for i in range(0, len(new), 500):
            part = new[i : i + 500]
            made.update(
                (h, i_)
                for i_, h in conn.execute(
                    _insert_new(conn, set_table, part).returning(set_table.c.id, set_table.c.hash)
                )
            )
        rows = [
            dict(zip(("set_id", *member_columns), (made[h], *m), strict=True))
            for h in new
            if h in made
            for m in todo[h]
        ]
        if rows:
            conn.execute(insert(member_table), rows)
        lost = [h for h in new if h not in made]  # made by a concurrent transaction
        if lost:
            ids.update(
                conn.execute(
                    select(set_table.c.hash, set_table.c.id).where(set_table.c.hash.in_(lost))
                ).all()
            )
        ids.update(made)
        for h in keys:
            pending[(name, h)] = ids[h]
    return [None if h is None else ids[h] for h in hashes]


#: SQL types of the member columns, for the arrays :func:`_find_or_make_one` sends.
_ARRAY_TYPES = {"role": "varchar", "unit_id": "integer", "leader_id": "integer"}
_ARRAY_TYPES |= {"layer": "varchar", "code": "varchar"}


@functools.cache  # one per set table: built once
def _find_or_make_statement(set_name: str, member_name: str, columns: tuple[str, ...]) -> Any:
    cols = ", ".join(columns)
    arrays = ", ".join(f"CAST(:m_{c} AS {_ARRAY_TYPES[c]}[])" for c in columns)
    return text(
        f"WITH found AS (SELECT id FROM {set_name} WHERE hash = :hash), "
        f"made AS (INSERT INTO {set_name} (hash) SELECT :hash "
        "WHERE NOT EXISTS (SELECT 1 FROM found) ON CONFLICT (hash) DO NOTHING RETURNING id), "
        f"members AS (INSERT INTO {member_name} (set_id, {cols}) "
        f"SELECT made.id, {', '.join(f'm.{c}' for c in columns)} FROM made, "
        f"unnest({arrays}) WITH ORDINALITY AS m({cols}, n) ORDER BY m.n) "
        "SELECT id FROM found UNION ALL SELECT id FROM made"
    )


def _find_or_make_one(
    conn: Connection,
    set_table: Any,
    member_table: Any,
    member_columns: tuple[str, ...],
    digest: str,
    members: Sequence[tuple],
) -> int | None:
    """The id of the set ``digest``, made with its members if new, in one statement
    (PostgreSQL): one round trip instead of three (issue 19: an intake at a new place).

    None when a concurrent transaction made it after this statement's snapshot was
    taken (its insert then does nothing and the set is not visible yet): the caller
    looks it up again, as for a set lost in the bulk path.
    """
    stmt = _find_or_make_statement(set_table.name, member_table.name, member_columns)
    params: dict[str, Any] = {"hash": digest}
    for i, c in enumerate(member_columns):
        params[f"m_{c}"] = [m[i] for m in members]
    return conn.execute(stmt, params).scalar()


def _insert_new(conn: Connection, table: Any, hashes: Sequence[str]) -> Any:
    """``INSERT … VALUES (hash)… ON CONFLICT (hash) DO NOTHING`` for either backend."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return (
        dialect_insert(table)
        .values([{"hash": h} for h in hashes])
        .on_conflict_do_nothing(index_elements=["hash"])
    )


def party_set_ids(session: Session, lists: Sequence[Sequence[PartyKey]]) -> list[int | None]:
    """The party set of each member list (None for an empty list), made when new.

    Parameters
    ----------
    session : Session
        The caller's transaction; nothing is committed here.
    lists : sequence of sequences of (role, unit_id, leader_id)
        Members in order (an owner first, then co-responsible units, then leaders).

    Returns
    -------
    list of int or None
        One per list, in order (equal lists, equal ids).
    """
    return _set_ids(
        session,
        PartySet.__table__,
        PartySetMember.__table__,
        ("role", "unit_id", "leader_id"),
        [[(r, u, ld) for r, u, ld in m] for m in lists],
    )


def place_set_ids(session: Session, lists: Sequence[Sequence[PlaceKey]]) -> list[int | None]:
    """The place set of each list of (layer, code) (None for an empty list), made when new.

    A (layer, code) given twice in a list counts once (its first place).
    """
    return _set_ids(
        session,
        PlaceSet.__table__,
        PlaceSetMember.__table__,
        ("layer", "code"),
        [list(dict.fromkeys((lay, code) for lay, code in m)) for m in lists],
    )


def point_at_parties(session: Session, issue: Issue, members: list[PartySetMember]) -> None:
    """Point ``issue`` at the party set of ``members`` (transient, in order).

    ``issue.parties`` then reads ``members`` (with their ``unit`` / ``leader``) without
    a query.
    """
    (issue.party_set_id,) = party_set_ids(
        session, [[(m.role, m.unit_id, m.leader_id) for m in members]]
    )
    set_committed_value(issue, "parties", members)


def point_at_places(session: Session, issue: Issue, members: list[PlaceSetMember]) -> None:
    """Point ``issue`` at the place set of ``members`` (transient, in order)."""
    seen: set[PlaceKey] = set()
    unique = []
    for m in members:
        if (m.layer, m.code) not in seen:
            seen.add((m.layer, m.code))
            unique.append(m)
    (issue.place_set_id,) = place_set_ids(session, [[(m.layer, m.code) for m in unique]])
    set_committed_value(issue, "places", unique)


def with_party(*conditions: Any) -> Any:
    """SQL condition on ``issues``: its party set has a member meeting ``conditions``
    (on :class:`PartySetMember`)."""
    return Issue.party_set_id.in_(select(PartySetMember.set_id).where(*conditions))


def with_place(*conditions: Any) -> Any:
    """SQL condition on ``issues``: its place set has a member meeting ``conditions``
    (on :class:`PlaceSetMember`)."""
    return Issue.place_set_id.in_(select(PlaceSetMember.set_id).where(*conditions))
