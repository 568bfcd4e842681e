"""Request and response models of the issue API (pydantic).

Field names follow the glossary (``owner_unit``, ``co_responsible_units``,
``deadline``, ``supervision_notice``…). Coordinates are ``lon``/``lat``
(x, y) in degrees; responses are always WGS84.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from civgrid.api.schemas.common import MAX_ID

__all__ = [
    "CRS",
    "ActionName",
    "ActorOut",
    "AreaOut",
    "CategoryRef",
    "DeadlineReportOut",
    "DispatchIn",
    "EventOut",
    "ExtensionDecisionIn",
    "ExtensionIn",
    "ExtensionOut",
    "Feature",
    "FeatureCollection",
    "InboxOut",
    "InputLocation",
    "IssueCreate",
    "IssueDetail",
    "IssueOut",
    "IssuePage",
    "LeaderRef",
    "LocationOut",
    "NoticeOut",
    "PhotoOut",
    "PriorityName",
    "ReassignIn",
    "ReporterRole",
    "RoadChief",
    "RoadOut",
    "SiteOut",
    "SourceName",
    "TransitionIn",
    "UnitRef",
]

CRS = Literal["wgs84", "gcj02", "bd09", "cgcs2000"]
# Literals rather than enum classes: the multipart request schema is inlined in OpenAPI.
SourceName = Literal[
    "field_supervision",
    "unannounced_visit",
    "referral",
    "media_exposure",
    "citizen_complaint",
    "mystery_inspector",
    "simulated_assessment",
    "grid_worker",
]
PriorityName = Literal["urgent", "high", "normal", "low"]
ActionName = Literal[
    "dispatch", "accept", "submit", "reinspect", "reopen", "reject", "merge", "unmerge", "reassign"
]
ReporterRole = Literal["citizen", "grid_worker", "inspector", "command_center", "unit", "system"]


# ----------------------------------------------------------------------------- requests


class IssueCreate(BaseModel):
    """A new report (JSON body, or the fields of a multipart form with ``photos``)."""

    model_config = ConfigDict(extra="forbid")

    category: str = Field(description="Category code, e.g. street_vending (占道经营).")
    source: SourceName = Field(description="问题来源.")
    lon: float | None = Field(default=None, description="Longitude in `crs` (degrees).")
    lat: float | None = Field(default=None, description="Latitude in `crs` (degrees).")
    crs: CRS = Field(default="wgs84", description="CRS of lon/lat.")
    address: str | None = Field(
        default=None, max_length=500, description="Address text; locates the report if no point."
    )
    description: str | None = Field(default=None, max_length=5000)
    priority: PriorityName = "normal"
    reported_at: datetime | None = Field(default=None, description="When it was seen.")
    reporter_role: ReporterRole | None = Field(
        default=None, description="Role of the reporter (default: the X-Actor-Role header)."
    )
    reporter_name: str | None = Field(default=None, max_length=100)
    reporter_contact: str | None = Field(default=None, max_length=200)
    attributes: dict[str, Any] | None = None


class TransitionIn(BaseModel):
    """One workflow event on an issue."""

    model_config = ConfigDict(extra="forbid")

    action: ActionName
    expected_version: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="The version you saw (or send If-Match); stale → 409.",
    )
    note: str | None = Field(default=None, max_length=5000)
    passed: bool | None = Field(default=None, description="reinspect: the result.")
    measures: str | None = Field(default=None, max_length=5000, description="submit: 整改措施.")
    unit: str | None = Field(default=None, description="dispatch/reassign: owner unit key.")
    co_units: list[str] | None = Field(default=None, description="Co-responsible unit keys.")
    into: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="merge: id of the original issue."
    )
    lon: float | None = None
    lat: float | None = None
    crs: CRS = "wgs84"


class DispatchIn(BaseModel):
    """Confirm (or correct) the proposed assignment of a triaged issue."""

    model_config = ConfigDict(extra="forbid")

    unit: str | None = None
    co_units: list[str] | None = None
    lon: float | None = None
    lat: float | None = None
    crs: CRS = "wgs84"
    note: str | None = None
    expected_version: int | None = Field(default=None, ge=1, le=MAX_ID)


class ReassignIn(DispatchIn):
    """Give an issue to another unit or place (the history keeps the old one)."""

    note: str = Field(min_length=1, description="Why (required).")


class ExtensionIn(BaseModel):
    """A request for more time (延期) or a postponement (缓办)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["extension", "postponement"] = "extension"
    reason: str = Field(min_length=1, max_length=5000)
    until: datetime | None = None
    working_days: int | None = Field(default=None, ge=1, le=365)
    expected_version: int | None = Field(default=None, ge=1, le=MAX_ID)


class ExtensionDecisionIn(BaseModel):
    """The command center's decision."""

    model_config = ConfigDict(extra="forbid")

    approve: bool
    note: str | None = None
    deadline: datetime | None = None


# ----------------------------------------------------------------------------- responses


class CategoryRef(BaseModel):
    code: str
    name: str | None


class UnitRef(BaseModel):
    key: str
    name: str
    kind: str


class LeaderRef(BaseModel):
    key: str
    title: str
    role: str = Field(description="contract (分包), contact (联系) or road_chief (路长).")


class AreaOut(BaseModel):
    code: str
    name: str
    type: str | None


class RoadChief(BaseModel):
    key: str
    name: str
    subject_kind: str


class RoadOut(BaseModel):
    code: str
    name: str
    distance_m: float | None
    road_chiefs: list[RoadChief]


class SiteOut(BaseModel):
    code: str
    name: str
    kind: str
    distance_m: float
    zone_radius_m: float


class InputLocation(BaseModel):
    lon: float | None
    lat: float | None
    crs: str | None


class LocationOut(BaseModel):
    lon: float
    lat: float
    crs: Literal["wgs84"]
    input: InputLocation | None
    source: str = Field(description="point or address")


class IssueOut(BaseModel):
    """An issue: state (label and fixed kind), place, assignment and why, deadline, flags."""

    id: int
    version: int
    state: str
    state_label: str
    kind: str = Field(description="open, closed_fixed or closed_not_fixed")
    flags: list[str]
    category: CategoryRef
    source: str
    source_label: str
    priority: str
    description: str | None
    address: str | None
    location: LocationOut | None
    generation_id: int | None
    county: AreaOut | None
    township: AreaOut | None
    community: AreaOut | None
    unit_grid: AreaOut | None
    road_section: RoadOut | None
    key_sites: list[SiteOut]
    owner_unit: UnitRef | None
    owner_basis: str | None = Field(
        default=None, description="Why the owner owns (the owner rule and step), in Chinese."
    )
    co_responsible_units: list[UnitRef]
    leaders: list[LeaderRef]
    triage_reason: str | None
    reported_at: datetime
    assigned_at: datetime | None
    deadline: datetime | None
    deadline_rule: str | None
    submitted_at: datetime | None
    closed_at: datetime | None
    updated_at: datetime
    overdue_at: datetime | None
    escalated_at: datetime | None
    return_count: int
    extension_count: int
    duplicate_count: int
    notice_count: int
    duplicate_of: int | None
    recurrence_of: int | None
    repeat_count: int
    measures: str | None
    reinspection_result: str | None
    reporter_role: str
    routing: dict[str, Any] | None = Field(
        description="The full routing answer with a structured reason for every part."
    )


class ActorOut(BaseModel):
    who: str
    role: str
    unit: str | None


class PhotoOut(BaseModel):
    id: int
    sha256: str
    mime: str
    size: int
    stage: str | None = None


class EventOut(BaseModel):
    id: int
    at: datetime
    action: str
    from_state: str | None
    to_state: str | None
    actor: ActorOut
    note: str | None
    data: dict[str, Any] | None
    photos: list[PhotoOut]


class NoticeOut(BaseModel):
    number: str
    reason: str
    issued_at: datetime
    deadline: datetime
    escalated_at: datetime | None
    resolved_at: datetime | None
    unit: str | None
    leaders: list[str]


class ExtensionOut(BaseModel):
    id: int
    kind: str
    status: str
    reason: str
    requested_deadline: datetime
    granted_deadline: datetime | None
    requested_at: datetime
    decided_at: datetime | None
    decision_note: str | None


class IssueDetail(IssueOut):
    """An issue with its history, 督办 notices, extension requests and photos."""

    history: list[EventOut]
    notices: list[NoticeOut]
    extensions: list[ExtensionOut]
    photos: list[PhotoOut]


class IssuePage(BaseModel):
    """One page of issues."""

    items: list[IssueOut]
    total: int = Field(
        description="Issues matching; a lower bound when ``total_capped`` (counted up to "
        "``offset`` + 1,000)."
    )
    limit: int
    offset: int
    next_offset: int | None
    total_capped: bool = Field(False, description="More issues match than ``total``.")


class Feature(BaseModel):
    type: Literal["Feature"]
    id: int | str | None = None
    geometry: dict[str, Any] | None
    properties: dict[str, Any]


class FeatureCollection(BaseModel):
    type: Literal["FeatureCollection"]
    features: list[Feature]
    total: int | None = None


class InboxOut(BaseModel):
    """A unit's to-do list."""

    unit: UnitRef
    assigned: list[IssueOut]
    returned: list[IssueOut]
    due_soon: list[IssueOut]
    overdue: list[IssueOut]
    watching: list[IssueOut]


class DeadlineReportOut(BaseModel):
    overdue: list[int]
    notices: list[str]
    escalated: list[int]
