"""A JSON-friendly description of an issue (state with label, place, assignment, deadline,
flags, links, history).
"""

from __future__ import annotations

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


def describe(issue: Issue, workflow: Workflow | None = None, *, history: bool = False) -> dict:
    """A JSON-friendly description of an issue: state with label and kind, place,
    assignment and why, deadline, flags, counters, links (and history).
    """
    wf = workflow or Workflow()
    routing = issue.routing or {}

    def area(name: str) -> dict | None:
        a = routing.get(name)
        return {"code": a["code"], "name": a["name"], "type": a.get("type")} if a else None

    road = routing.get("road_section")
    owner = issue.owner_unit
    out: dict[str, Any] = {
        "id": issue.id,
        "version": issue.version,
        "state": str(issue.state),
        "state_label": wf.label(issue.state),
        "kind": wf.kind(issue.state).value,
        "flags": flags_of(issue),
        "category": {
            "code": issue.category_code,
            "name": issue.category.name if issue.category is not None else None,
        },
        "source": issue.source,
        "source_label": SOURCE_LABELS.get(Source(issue.source), issue.source)
        if issue.source in Source.__members__
        else issue.source,
        "priority": issue.priority,
        "description": issue.description,
        "address": issue.address,
        "location": None
        if issue.lon is None
        else {
            "lon": issue.lon,
            "lat": issue.lat,
            "crs": "wgs84",
            "input": {"lon": issue.input_lon, "lat": issue.input_lat, "crs": issue.input_crs}
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
            "distance_m": road.get("distance_m"),
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
                "distance_m": s["distance_m"],
                "zone_radius_m": s["zone_radius_m"],
            }
            for s in routing.get("key_sites", [])
        ],
        "owner_unit": None
        if owner is None
        else {"key": owner.key, "name": owner.name, "kind": str(owner.kind)},
        "owner_basis": owner_basis(issue),
        "co_responsible_units": [
            {"key": p.unit.key, "name": p.unit.name, "kind": str(p.unit.kind)}
            for p in issue.parties
            if p.role == "co_responsible" and p.unit is not None
        ],
        "leaders": [
            {"key": p.leader.key, "title": p.leader.title, "role": p.role}
            for p in issue.parties
            if p.leader is not None
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
    if issue.owner_unit is None:
        return None
    routing = issue.routing or {}
    owner, reason = routing.get("owner") or {}, routing.get("owner_reason")
    if reason is None or owner.get("key") != issue.owner_unit.key:
        return "指挥中心指定"
    what = (reason.get("note") or "").split(" — ")[0] or "责任认定规则"
    extra = "；共建点位，由牵头单位负责" if reason.get("co_built") else ""
    return f"{what}（责任认定第{reason['step']}步，共{reason['steps']}步{extra}）"
