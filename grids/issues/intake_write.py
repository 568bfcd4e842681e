"""How intake writes a new issue: one statement per table, no unit of work.

Intake builds the issue as a draft :class:`~civgrid.grids.issues.models.Issue` (never
added to the session), pointed at its party set and place set
(:mod:`civgrid.grids.issues.member_sets`, found or made while routing).
:func:`insert_new_issue` writes it with one Core ``INSERT … RETURNING id`` and returns
the stored issue, persistent in the session (built from the values written, every column
known), its relationships set from the draft — the answer needs no query.
:func:`insert_report_event` writes the report's history event, its
audit record and its domain event the same way.

Why not ``session.add`` and a flush: the unit of work sorts, tracks and refreshes some
20 objects per report, which cost more than the database's own work on both backends
(issue 19: the server time of an intake). The rows written are the same.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, inspect
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from civgrid.grids.core import audit
from civgrid.grids.core.actors import Actor
from civgrid.grids.core.outbox import DomainEvent
from civgrid.grids.issues.events import history_event_values
from civgrid.grids.issues.models import Issue, IssueEvent

__all__ = ["insert_issue_and_report", "insert_new_issue", "insert_report_event"]

_AUDIT_INSERT = insert(audit.AuditRecord.__table__)
_EVENT_INSERT = insert(DomainEvent.__table__)
#: Relationships of a draft issue copied onto the stored one (many-to-one, known).
_TO_ONE = ("owner_unit", "category", "duplicate_of", "recurrence_of")


def _columns(obj: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The column values set on a transient ``obj`` (attribute keys)."""
    state = obj.__dict__
    return {
        a.key: state[a.key]
        for a in inspect(type(obj)).column_attrs
        if a.key in state and a.key not in skip
    }


def _with_defaults(model: type, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` completed with every other column's scalar default (or None): the row."""
    return {**_defaults(model), **values}


@functools.cache
def _defaults(model: type) -> dict[str, Any]:
    """Each column's scalar default (or None), by attribute key; the id left out."""
    out = {}
    for attr in inspect(model).column_attrs:
        if attr.key == "id" or attr.key.startswith("_"):
            continue
        default = attr.columns[0].default
        out[attr.key] = default.arg if default is not None and default.is_scalar else None
    return out


def _adopt(session: Session, model: type, row: dict[str, Any]) -> Any:
    """A persistent ``model`` object for a row just inserted (all columns known): no query."""
    obj = model(**{k: v for k, v in row.items() if not k.startswith("_")})
    make_transient_to_detached(obj)  # its values become the loaded state
    session.add(obj)
    return obj


def _insert(session: Session, model: type, rows: list[dict[str, Any]]) -> list[Any]:
    """Insert ``rows`` (one statement; ids back in order) and adopt them."""
    if not rows:
        return []
    names = _column_names(model)  # Core takes column names; an unknown key is dropped
    params = [{names[k]: v for k, v in r.items()} for r in rows]
    if len(params) > 1:
        ids = session.execute(_insert_statement(model, True), params).scalars().all()
    else:
        # a NULL the table would store anyway is left out of the statement: an issue has
        # some 60 columns, a third of them empty at intake, and psycopg parses a query of
        # more than 50 parameters anew on every run (it caches only smaller ones)
        plain = _without_default(model)
        one = {k: v for k, v in params[0].items() if v is not None or k not in plain}
        ids = [session.execute(_insert_statement(model, False), one).scalar_one()]
    return [_adopt(session, model, {**r, "id": i}) for r, i in zip(rows, ids, strict=True)]


@functools.cache  # built once per model: building costs about what running it does
def _insert_statement(model: type, many: bool) -> Any:
    """``INSERT … RETURNING id`` into ``model``'s table (``many``: ids in parameter order)."""
    table = model.__table__  # type: ignore[attr-defined]
    return insert(table).returning(table.c.id, sort_by_parameter_order=many)


@functools.cache  # built once per set of keys (a few in practice): see the docstring
def _report_event_statement(
    event_keys: tuple[str, ...],
    audit_keys: tuple[str, ...],
    domain_keys: tuple[str, ...] | None,
    issue_columns: tuple[str, ...] | None = None,
) -> Any:
    """The history event's ``INSERT … RETURNING id`` with the audit record's and the
    domain event's inserts as CTEs (PostgreSQL), every value a bound parameter; with
    ``issue_columns``, the issue's own insert (its id given) as a CTE too.

    The parameters are the event's attribute keys prefixed ``e_``, the audit record's
    and the domain event's column keys prefixed ``a_`` and ``d_``, the issue's column
    names prefixed ``i_``. Built once: a statement built per report with its values in
    it cost a report as much as running it — the build, a fresh cache key, and for the
    driver a new query text to parse. (The event's foreign key to the issue inserted by
    the same statement holds: PostgreSQL checks it at the end of the statement.)
    """
    names = _column_names(IssueEvent)
    events = IssueEvent.__table__
    stmt = (
        insert(events)
        .values({names[k]: _bound(events, names[k], f"e_{k}") for k in event_keys})
        .returning(events.c.id)
    )
    if issue_columns is not None:
        issues = Issue.__table__
        stmt = stmt.add_cte(
            insert(issues)
            .values({c: _bound(issues, c, f"i_{c}") for c in issue_columns})
            .cte("issue_row")
        )
    audits = audit.AuditRecord.__table__
    stmt = stmt.add_cte(
        insert(audits).values({k: _bound(audits, k, f"a_{k}") for k in audit_keys}).cte("audit_row")
    )
    if domain_keys is not None:
        domains = DomainEvent.__table__
        stmt = stmt.add_cte(
            insert(domains)
            .values({k: _bound(domains, k, f"d_{k}") for k in domain_keys})
            .cte("domain_row")
        )
    return stmt


def _bound(table: Any, column: str, name: str) -> Any:
    """A bound parameter ``name`` typed as ``table``'s ``column`` (its JSON, its time zone)."""
    return bindparam(name, type_=table.c[column].type)


@functools.cache
def _without_default(model: type) -> frozenset[str]:
    """Names of ``model``'s columns with no default of any kind and whose type writes
    None as NULL: left out of an insert, such a column is NULL, as when None is written
    to it (a JSON column writes None as JSON ``null``: never left out)."""
    table = model.__table__  # type: ignore[attr-defined]
    return frozenset(
        c.name
        for c in table.columns
        if c.default is None
        and c.server_default is None
        and not getattr(c.type, "should_evaluate_none", False)
    )


@functools.cache  # mappings do not change once configured: read once per model
def _column_names(model: type) -> dict[str, str]:
    """Attribute key → column name (``Issue.own_routing`` is the column ``routing``)."""
    return {a.key: a.columns[0].name for a in inspect(model).column_attrs}


def insert_new_issue(session: Session, draft: Issue) -> Issue:
    """Write ``draft`` (transient); return the stored issue.

    Parameters
    ----------
    session : Session
        The request's transaction; nothing is committed here.
    draft : Issue
        Not in any session. Its column values are written (its sets are already stored).

    Returns
    -------
    Issue
        Persistent in ``session``; ``parties`` and ``places`` are the draft's members
        (with their ``unit``/``leader``), ``owner_unit``, ``category``, ``duplicate_of`` and
        ``recurrence_of`` are the draft's.

    Raises
    ------
    sqlalchemy.exc.IntegrityError
        E.g. the idempotency key was stored by a concurrent request.
    """
    values = _with_defaults(Issue, _columns(draft, skip=("id",)))
    (issue,) = _insert(session, Issue, [values])
    return _known_from(issue, draft)


def _known_from(issue: Issue, draft: Issue) -> Issue:
    """``issue`` (just stored) with the relationships the draft knows, as loaded."""
    for name in _TO_ONE:
        if name in draft.__dict__:
            set_committed_value(issue, name, draft.__dict__[name])
    for name in ("parties", "places"):  # the members of its sets, as the draft read them
        set_committed_value(issue, name, list(draft.__dict__.get(name) or []))
    return issue


def insert_issue_and_report(
    session: Session,
    draft: Issue,
    issue_id: int,
    actor: Actor,
    now: datetime,
    *,
    note: str | None,
    data: dict[str, Any] | None,
) -> tuple[Issue, IssueEvent]:
    """Write ``draft`` with the id ``issue_id`` (taken from its sequence beforehand) and
    its report event, audit record and domain event with one statement (PostgreSQL):
    one round trip instead of two (issue 19).

    The rows are those of :func:`insert_new_issue` then :func:`insert_report_event`
    (``action`` ``report``, ``to_state`` the draft's state); so are the objects returned.

    Raises
    ------
    sqlalchemy.exc.IntegrityError
        E.g. the idempotency key was stored by a concurrent request; nothing is written.
    """
    values = {**_with_defaults(Issue, _columns(draft, skip=("id",))), "id": issue_id}
    names = _column_names(Issue)
    plain = _without_default(Issue)
    # the NULLs the table would store anyway are left out, as by _insert: fewer keys
    # (and one statement text for most reports)
    row = {names[k]: v for k, v in values.items() if v is not None or names[k] not in plain}
    draft.id = issue_id  # the draft stands for the issue in the event's payload
    ev = insert_report_event(
        session,
        draft,
        actor,
        "report",
        now,
        to_state=draft.state,
        note=note,
        data=data,
        issue_row=row,
    )
    issue = _known_from(_adopt(session, Issue, values), draft)
    set_committed_value(ev, "issue", issue)
    return issue, ev


def insert_report_event(
    session: Session,
    issue: Issue,
    actor: Actor,
    action: str,
    now: datetime,
    *,
    to_state: str | None,
    note: str | None,
    data: dict[str, Any] | None,
    issue_row: dict[str, Any] | None = None,
) -> IssueEvent:
    """Write the history event of a stored issue, its audit record and its domain event.

    The same rows as :func:`civgrid.grids.issues.records.record_event` (no
    ``from_state``: the issue is new), written at once. ``issue_row`` (PostgreSQL): the
    issue's own row by column name, its id given, written by the same statement
    (:func:`insert_issue_and_report`).

    Returns
    -------
    IssueEvent
        Persistent; its ``issue`` is set.
    """
    to = None if to_state is None else str(to_state)
    row = {
        "issue_id": issue.id,
        "at": now,
        "action": str(action),
        "from_state": None,
        "to_state": to,
        "actor_who": actor.who,
        "actor_role": actor.role.value,
        "actor_unit_key": actor.unit,
        "note": note,
        "data": data or None,
    }
    record = audit.record_values(
        actor,
        f"issue.{action}",
        "issue",
        issue.id,
        before=None,
        after={"state": to, **(data or {})},
        at=now,
    )
    domain = history_event_values(issue, str(action), now, to, data)
    if session.get_bind().dialect.name == "postgresql":
        # one statement, one round trip: the audit record and the domain event as
        # data-modifying CTEs of the event's insert (run once each, in its transaction)
        stmt = _report_event_statement(
            tuple(row),
            tuple(record),
            None if domain is None else tuple(domain),
            None if issue_row is None else tuple(issue_row),
        )
        params = {f"e_{k}": v for k, v in row.items()}
        if issue_row is not None:
            params.update((f"i_{k}", v) for k, v in issue_row.items())
        params.update((f"a_{k}", v) for k, v in record.items())
        if domain is not None:
            params.update((f"d_{k}", v) for k, v in domain.items())
        ev = _adopt(session, IssueEvent, {**row, "id": session.execute(stmt, params).scalar_one()})
    else:
        assert issue_row is None, "one statement for the issue and its event: PostgreSQL only"
        (ev,) = _insert(session, IssueEvent, [row])
        session.execute(_AUDIT_INSERT, record)
        if domain is not None:
            session.execute(_EVENT_INSERT, domain)
    set_committed_value(ev, "issue", issue)
    return ev
