"""The issue service: intake by location, automatic assignment, the rectification
workflow, 督办 notices, extensions, queries.

Every function takes the caller's :class:`~sqlalchemy.orm.Session` (it flushes,
never commits: the caller owns the transaction) and an
:class:`~civgrid.grids.issues.config.Actor`; behaviour that differs per city
(calendar, deadlines, radii, labels, the clock) comes from an
:class:`~civgrid.grids.issues.config.IssueConfig`.

Intake (:func:`report_issue`)
    The point (any of wgs84 / gcj02 / bd09 / cgcs2000) is converted to WGS84,
    snapped and routed by :meth:`Store.responsible_for
    <civgrid.grids.boundaries.store.Store.responsible_for>`. The owner is the lead unit
    of the routing answer (else the first responsible unit); the other
    responsible units are co-responsible. A report outside the jurisdiction,
    one no rule routes, an address that matches no named place and (by
    setting) an anonymous citizen report wait in **triage**; everything else
    is dispatched at once with a deadline on the working-day calendar.
    A report of the same category within the category's duplicate radius of
    an open issue is **merged** into it; one within ``recurrence_days`` after
    an earlier one closed, within ``recurrence_radius_m`` or in the same unit
    grid, is a **recurrence** of it. Distances are metres in the CGCS2000
    Gauss-Krüger zone of the point (never degrees).

Workflow
    :func:`apply` runs one event of the state machine
    (:mod:`civgrid.grids.issues.workflow`) with its permission, note and photo
    checks and writes the append-only history. A stale ``expected_version``
    (or a concurrent update) raises :class:`ConflictError`.

Deadlines
    :func:`check_deadlines` flags overdue issues, issues numbered 督办 notices
    with a second deadline and escalates when that passes.

The implementation lives in one module per part (:mod:`.intake`, :mod:`.actions`,
:mod:`.extensions`, :mod:`.deadlines`, :mod:`.queries`, :mod:`.describe`, shared pieces
in :mod:`.records`); this module is their public face.
"""

from __future__ import annotations

from civgrid.grids.core.actors import SYSTEM_ACTOR, Actor
from civgrid.grids.issues.actions import (
    accept,
    apply,
    dispatch,
    issue_units,
    merge,
    reassign,
    reinspect,
    reject,
    reopen,
    submit,
    unmerge,
)
from civgrid.grids.issues.deadlines import DeadlineReport, check_deadlines
from civgrid.grids.issues.describe import describe, flags_of
from civgrid.grids.issues.extensions import decide_extension, request_extension
from civgrid.grids.issues.intake import (
    IssueReport,
    ReportResult,
    TriageReason,
    match_address,
    report_issue,
)
from civgrid.grids.issues.queries import (
    IssueQuery,
    Page,
    issue_conditions,
    list_issue_items,
    list_issues,
    unit_inbox,
)
from civgrid.grids.issues.records import category_codes_under, check_scope, distances_m, get_issue

__all__ = [
    "SYSTEM_ACTOR",
    "Actor",
    "DeadlineReport",
    "IssueQuery",
    "IssueReport",
    "Page",
    "ReportResult",
    "TriageReason",
    "accept",
    "apply",
    "category_codes_under",
    "check_deadlines",
    "check_scope",
    "decide_extension",
    "describe",
    "dispatch",
    "distances_m",
    "flags_of",
    "get_issue",
    "issue_conditions",
    "issue_units",
    "list_issue_items",
    "list_issues",
    "match_address",
    "merge",
    "reassign",
    "reinspect",
    "reject",
    "reopen",
    "report_issue",
    "request_extension",
    "submit",
    "unit_inbox",
    "unmerge",
]
