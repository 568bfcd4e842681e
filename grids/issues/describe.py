"""A JSON-friendly description of an issue (state with label, place, assignment, deadline,
flags, links, history).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from civgrid.grids.issues.config import SOURCE_LABELS, Source
from civgrid.grids.issues.links import visit_linker
from civgrid.grids.issues.models import (
    Issue,
)
from civgrid.grids.issues.workflow import Workflow


def flags_of(issue: Issue) -> list[str]:
    """The flags set on an issue."""
    return [name for name in ("overdue", "escalated", "extension_pending") if getattr(issue, name)]


def _visit_of(issue: Issue) -> int | None:
    """The patrol visit the issue was reported during (the first link), or None.

    Intake says it on a new issue (``_reported_visit``), so its answer needs no query.
    """
    if "_reported_visit" in vars(issue):
        return issue._reported_visit
    from sqlalchemy.orm import object_session

    session = object_session(issue)
    linker = visit_linker(required=False)
    if session is None or issue.id is None or linker is None:
        return None
    return linker.visit_of(session, issue.id)


def source_label(code: str) -> str:
    """The Chinese label of a source code (the code itself when it is not a known source)."""
    return SOURCE_LABELS.get(Source(code), code) if code in Source.__members__ else code


def describe(issue: Issue, workflow: Workflow | None = None, *, history: bool = False) -> dict:
    """A JSON-friendly description of an issue: state with label and kind, place,
    assignment and why, deadline, flags, counters, links (and history).
    """
    owner = issue.owner_unit
    out = describe_item(
        issue,
        workflow or Workflow(),
        category_name=issue.category.name if issue.category is not None else None,
        owner=None if owner is None else (owner.key, owner.name, owner.kind),
        parties=[
            (
                p.role,
                None if p.unit is None else (p.unit.key, p.unit.name, p.unit.kind),
                None if p.leader is None else (p.leader.key, p.leader.title),
            )
            for p in issue.parties
        ],
        routing=issue.routing,
    )
    if history:
        out["visit_id"] = _visit_of(issue)
        out["history"] = [
            {
                "id": e.id,
                "at": e.at,
                "action": e.action,
                "from_state": e.from_state,
                "to_state": e.to_state,
                "actor": {"who": e.actor_who, "role": e.actor_role, "unit": e.actor_unit_key},
                "note": e.note,
                "data": e.data,
                "photos": [
                    {"id": p.id, "sha256": p.sha256, "mime": p.mime, "size": p.size}
                    for p in e.photos
                ],
            }
            for e in issue.events
        ]
        out["notices"] = [
            {
                "number": n.number,
                "reason": n.reason,
                "issued_at": n.issued_at,
                "deadline": n.deadline,
                "escalated_at": n.escalated_at,
                "resolved_at": n.resolved_at,
                "unit": n.unit.key if n.unit else None,
                "leaders": n.leader_keys or [],
            }
            for n in issue.notices
        ]
        out["extensions"] = [
            {
                "id": r.id,
                "kind": r.kind,
                "status": r.status,
                "reason": r.reason,
                "requested_deadline": r.requested_deadline,
                "granted_deadline": r.granted_deadline,
                "requested_at": r.requested_at,
                "decided_at": r.decided_at,
                "decision_note": r.decision_note,
            }
            for r in issue.extensions
        ]
        out["photos"] = [
            {"id": p.id, "sha256": p.sha256, "mime": p.mime, "size": p.size, "stage": p.stage}
            for p in issue.photos
        ]
    return out


#: A party of an issue as :func:`describe_item` takes it: ``(role, unit, leader)``, the
#: unit as ``(key, name, kind)`` and the leader as ``(key, title)``, one of them None.
PartyTuple = tuple[str, tuple[str, str, Any] | None, tuple[str, str] | None]


def _float(x: Any) -> float | None:
    return None if x is None else float(x)


def describe_item(
    issue: Any,
    wf: Workflow,
    *,
    category_name: str | None,
    owner: tuple[str, str, Any] | None,
    parties: Sequence[PartyTuple],
    routing: dict[str, Any] | None,
    floats: bool = False,
) -> dict[str, Any]:
    """The description of an issue without its history, from plain values.

    Shared by :func:`describe` (an ORM issue) and the issue list's column read
    (:func:`civgrid.grids.issues.queries.list_issue_items`), so both give the same
    answer.

    Parameters
    ----------
    issue : Issue or Row
        Anything with the issue's columns as attributes (``id``, ``state``, ``lon``…).
    wf : Workflow
    category_name : str or None
    owner : tuple or None
        The owner unit as ``(key, name, kind)``.
    parties : sequence of PartyTuple
        Every party of the issue, in its party set's member order.
    routing : dict or None
        The routing answer (the issue's own or the shared one).
    floats : bool
        Give the float fields of the API's ``IssueOut`` (distances, radii) as floats,
        as the response model would (an answer written without it).
    """
    routing = routing or {}
    num = _float if floats else (lambda x: x)

    def area(name: str) -> dict | None:
        a = routing.get(name)
        return {"code": a["code"], "name": a["name"], "type": a.get("type")} if a else None

    road = routing.get("road_section")
    state = issue.state
    return {
        "id": issue.id,
        "version": issue.version,
        "state": str(state),
        "state_label": wf.label(state),
        "kind": wf.kind(state).value,
        "flags": [n for n in ("overdue", "escalated", "extension_pending") if getattr(issue, n)],
        "category": {"code": issue.category_code, "name": category_name},
        "source": issue.source,
        "source_label": source_label(issue.source),
        "priority": issue.priority,
        "description": issue.description,
        "address": issue.address,
        "location": None
        if issue.lon is None
        else {
            "lon": num(issue.lon),
            "lat": num(issue.lat),
            "crs": "wgs84",
            "input": {
                "lon": num(issue.input_lon),
                "lat": num(issue.input_lat),
                "crs": issue.input_crs,
            }
            if issue.input_crs
            else None,
            "source": issue.location_source,
        },
        "generation_id": issue.generation_id,
        "county": area("county"),
        "township": area("township"),
        "community": area("community"),
        "unit_grid": area("unit_grid"),
        "road_section": None
        if not road
        else {
            "code": road["code"],
            "name": road["name"],
            "distance_m": num(road.get("distance_m")),
            "road_chiefs": [
                {"key": p["key"], "name": p["name"], "subject_kind": p["subject_kind"]}
                for p in road.get("road_chiefs", [])
            ],
        },
        "key_sites": [
            {
                "code": s["code"],
                "name": s["name"],
                "kind": s["kind"],
                "distance_m": num(s["distance_m"]),
                "zone_radius_m": num(s["zone_radius_m"]),
            }
            for s in routing.get("key_sites", [])
        ],
        "owner_unit": None
        if owner is None
        else {"key": owner[0], "name": owner[1], "kind": str(owner[2])},
        "owner_basis": _owner_basis(owner[0] if owner is not None else None, routing),
        "co_responsible_units": [
            {"key": u[0], "name": u[1], "kind": str(u[2])}
            for role, u, _ in parties
            if role == "co_responsible" and u is not None
        ],
        "leaders": [
            {"key": leader[0], "title": leader[1], "role": role}
            for role, _, leader in parties
            if leader is not None
        ],
        "triage_reason": issue.triage_reason,
        "reported_at": issue.reported_at,
        "assigned_at": issue.assigned_at,
        "deadline": issue.deadline,
        "deadline_rule": issue.deadline_rule,
        "submitted_at": issue.submitted_at,
        "closed_at": issue.closed_at,
        "updated_at": issue.updated_at,
        "overdue_at": issue.overdue_at,
        "escalated_at": issue.escalated_at,
        "return_count": issue.return_count,
        "extension_count": issue.extension_count,
        "duplicate_count": issue.duplicate_count,
        "notice_count": issue.notice_count,
        "duplicate_of": issue.duplicate_of_id,
        "recurrence_of": issue.recurrence_of_id,
        "repeat_count": issue.repeat_count,
        "measures": issue.measures,
        "reinspection_result": issue.reinspection_result,
        "reporter_role": issue.reporter_role,
        "routing": routing or None,
    }


def owner_basis(issue: Issue) -> str | None:
    """Why the owner owns, in Chinese, from the routing answer's owner rule.

    An owner that is not the routing's (given by hand: 交办/改派/转办) says so.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> reason = {"step": 1, "steps": 4, "co_built": False, "note": "单元网格责任单位 — 004"}
    >>> owner_basis(NS(owner_unit=NS(key="PC01"),
    ...                routing={"owner": {"key": "PC01"}, "owner_reason": reason}))
    '单元网格责任单位（责任认定第1步，共4步）'
    >>> owner_basis(NS(owner_unit=NS(key="D03"), routing={"owner": {"key": "PC01"}}))
    '指挥中心指定'
    """
    return _owner_basis(
        issue.owner_unit.key if issue.owner_unit is not None else None, issue.routing or {}
    )


def _owner_basis(owner_key: str | None, routing: dict[str, Any]) -> str | None:
    """:func:`owner_basis` from the owner's key and the routing answer."""
    if owner_key is None:
        return None
    owner, reason = routing.get("owner") or {}, routing.get("owner_reason")
    if reason is None or owner.get("key") != owner_key:
        return "指挥中心指定"
    what = (reason.get("note") or "").split(" — ")[0] or "责任认定规则"
    extra = "；共建点位，由牵头单位负责" if reason.get("co_built") else ""
    return f"{what}（责任认定第{reason['step']}步，共{reason['steps']}步{extra}）"
