"""Open311 GeoReport v2 mapping (https://wiki.open311.org/GeoReport_v2).

Categories are services (``service_code`` = category code, ``service_name`` =
its Chinese name, ``group`` = the parent category); issues are service
requests (``service_request_id`` = issue id, ``agency_responsible`` = the
owner unit, ``expected_datetime`` = the deadline, ``status`` = open/closed
from the state's kind, ``status_notes`` = the detailed state with its flags).

Common extensions: paging (``page``, ``page_size``) and ``extensions=true``,
which adds ``extended_attributes`` with the detailed status and the ``notes``
history (one note per history event).

This module only maps; HTTP lives in ``civgrid.api.routers.open311``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.grids.boundaries.models import Category
from civgrid.grids.core.labels import FLAG_LABELS, OPEN311_ACTION_SUMMARY
from civgrid.grids.issues.config import IssueConfig
from civgrid.grids.issues.describe import flags_of
from civgrid.grids.issues.intake import IssueReport
from civgrid.grids.issues.models import Issue
from civgrid.grids.issues.workflow import Kind

__all__ = [
    "ACTION_SUMMARY",
    "FLAG_LABELS",
    "parse_request",
    "service_list",
    "service_request",
    "to_xml",
]

#: Summaries of history events in the ``notes`` extension (home: ``grids/core/labels.py``).
ACTION_SUMMARY = OPEN311_ACTION_SUMMARY


def _iso(cfg: IssueConfig, t: datetime | None) -> str | None:
    return cfg.calendar.local(t).isoformat(timespec="seconds") if t else None


def service_list(session: Session) -> list[dict[str, Any]]:
    """The services: one per category (metadata false, type realtime)."""
    cats = list(session.scalars(select(Category).order_by(Category.id)))
    by_id = {c.id: c for c in cats}
    out = []
    for c in cats:
        parent = by_id.get(c.parent_id) if c.parent_id else None
        out.append(
            {
                "service_code": c.code,
                "service_name": c.name,
                "description": c.assessment_item or c.description or c.name,
                "metadata": False,
                "type": "realtime",
                "keywords": ",".join(c.tags or []),
                "group": parent.name if parent is not None else c.name,
            }
        )
    return out


def status_notes(issue: Issue, cfg: IssueConfig) -> str:
    """The detailed state in words: label, flags, deadline, triage or merge notes."""
    wf = cfg.workflow
    parts = [wf.label(issue.state)]
    parts += [FLAG_LABELS[f] for f in flags_of(issue)]
    if issue.duplicate_of_id:
        parts.append(f"与问题 {issue.duplicate_of_id} 重复")
    if issue.recurrence_of_id:
        parts.append(f"反弹回潮（第 {issue.repeat_count} 次）")
    if issue.reinspection_result == "failed" and issue.reinspection_note:
        parts.append(f"复查未通过：{issue.reinspection_note}")
    return "；".join(parts)


def service_request(issue: Issue, cfg: IssueConfig, *, extensions: bool = False) -> dict[str, Any]:
    """One GeoReport v2 service request (spec field names; optional extensions)."""
    wf = cfg.workflow
    kind = wf.kind(issue.state)
    photo = next((p for p in issue.photos if p.stage == "report"), None)
    d: dict[str, Any] = {
        "service_request_id": str(issue.id),
        "status": "open" if kind is Kind.open else "closed",
        "status_notes": status_notes(issue, cfg),
        "service_name": issue.category.name if issue.category is not None else None,
        "service_code": issue.category_code,
        "description": issue.description,
        "agency_responsible": issue.owner_unit.name if issue.owner_unit is not None else None,
        "service_notice": _notice(issue, cfg),
        "requested_datetime": _iso(cfg, issue.reported_at),
        "updated_datetime": _iso(cfg, issue.updated_at),
        "expected_datetime": _iso(cfg, issue.deadline),
        "address": issue.address,
        "address_id": issue.unit_grid_code,
        "zipcode": None,
        "lat": issue.lat,
        "long": issue.lon,
        "media_url": f"/api/v1/photos/{photo.id}" if photo is not None else None,
    }
    if extensions:
        d["extended_attributes"] = {
            "detailed_status": str(issue.state),
            "detailed_status_label": wf.label(issue.state),
            "kind": kind.value,
            "flags": flags_of(issue),
            "source": issue.source,
            "township": issue.township_code,
            "community": issue.community_code,
            "unit_grid": issue.unit_grid_code,
            "duplicate_of": issue.duplicate_of_id,
            "recurrence_of": issue.recurrence_of_id,
            "notes": [
                {
                    "datetime": _iso(cfg, e.at),
                    "summary": ACTION_SUMMARY.get(e.action, e.action),
                    "description": e.note,
                    "type": e.action,
                    "from_status": e.from_state,
                    "to_status": e.to_state,
                }
                for e in issue.events
            ],
        }
    return d


def _notice(issue: Issue, cfg: IssueConfig) -> str:
    if issue.state == "merged":
        return f"已作为问题 {issue.duplicate_of_id} 的重复上报合并处理"
    if issue.state == "triage":
        return "已受理，待指挥中心分拣交办"
    if issue.owner_unit is not None and issue.deadline is not None:
        due = cfg.calendar.local(issue.deadline).strftime("%Y-%m-%d %H:%M")
        return f"已交办{issue.owner_unit.name}，限 {due} 前整改"
    return "已受理"


def parse_request(form: Mapping[str, Any]) -> tuple[IssueReport, dict[str, Any]]:
    """A POST ``requests`` form → an :class:`IssueReport` (citizen complaint) and extras.

    ``lat``/``long`` are WGS84 (as the spec says); ``address_string`` alone is
    matched against local place names. ``attribute[x]`` values are kept.

    Returns
    -------
    (IssueReport, dict)
        The dict has ``reporter`` (name for the actor) and ``token_hint``.
    """
    from civgrid.grids.core.errors import InvalidInputError

    def num(name: str) -> float | None:
        v = form.get(name)
        if v in (None, ""):
            return None
        try:
            return float(v)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"{name} must be a number", field=name) from exc

    code = (form.get("service_code") or "").strip()
    if not code:
        raise InvalidInputError("service_code is required", field="service_code")
    lat, lon = num("lat"), num("long")
    if (lat is None) != (lon is None):
        raise InvalidInputError("give both lat and long", field="lat" if lat is None else "long")
    if lat is None and not (form.get("address_string") or "").strip():
        raise InvalidInputError(
            "a location is required: lat and long, or address_string", field="lat"
        )
    name = " ".join(x for x in (form.get("first_name"), form.get("last_name")) if x) or None
    contact = form.get("email") or form.get("phone") or None
    attrs = {k[len("attribute[") : -1]: v for k, v in form.items() if k.startswith("attribute[")}
    if form.get("media_url"):
        attrs["media_url"] = form["media_url"]
    if form.get("device_id"):
        attrs["device_id"] = form["device_id"]
    report = IssueReport(
        category=code,
        source="citizen_complaint",
        lon=lon,
        lat=lat,
        crs="wgs84",
        address=form.get("address_string") or None,
        description=form.get("description") or None,
        reporter_name=name,
        reporter_contact=contact,
        attributes={"open311": attrs} if attrs else None,
    )
    return report, {"reporter": name}


# ----------------------------------------------------------------------------- XML


def _add(parent: ET.Element, key: str, value: Any, item_names: Mapping[str, str]) -> None:
    el = ET.SubElement(parent, key)
    if value is None:
        return
    if isinstance(value, Mapping):
        for k, v in value.items():
            _add(el, k, v, item_names)
    elif isinstance(value, list | tuple):
        child = item_names.get(key, "item")
        for v in value:
            _add(el, child, v, item_names)
    elif isinstance(value, bool):
        el.text = "true" if value else "false"
    else:
        el.text = str(value)


def to_xml(root: str, item: str, items: Sequence[Mapping[str, Any]]) -> bytes:
    """GeoReport v2 XML: ``<root><item>…</item>…</root>`` (UTF-8, with declaration)."""
    names = {"notes": "note", "flags": "flag"}
    top = ET.Element(root)
    for it in items:
        el = ET.SubElement(top, item)
        for k, v in it.items():
            _add(el, k, v, names)
    return ET.tostring(top, encoding="utf-8", xml_declaration=True)
