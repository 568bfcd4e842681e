"""Request and response models of the patrol API (巡查).

The response models mirror the dicts the domain builds (``grids/patrol``): every
key is declared, numbers stay as computed (:data:`Number`), and keys the domain
only sometimes returns default to ``None`` — the routes drop unset keys
(``response_model_exclude_unset``), so the JSON is exactly the domain's.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from civgrid.api.schemas.common import MAX_ID, Number
from civgrid.api.schemas.issues import Feature

__all__ = [
    "CommunityCoverageOut",
    "CoverageOut",
    "GridCoverageOut",
    "LeaderCadenceOut",
    "LeaderVisitIn",
    "LeaderVisitOut",
    "LeaderVisitsOut",
    "PatrolFeatureCollection",
    "PatrolMapOut",
    "PlanComputedOut",
    "PlanCoverageOut",
    "PlanOut",
    "PlanRequest",
    "PlannedVisitOut",
    "RoadCoverageOut",
    "RouteOut",
    "RouteStopOut",
    "TeamCoverageOut",
    "TeamImportOut",
    "TeamMapSummaryOut",
    "TeamMemberOut",
    "TeamOut",
    "TrackOut",
    "TrackUploadOut",
    "UnscheduledVisitOut",
    "VisitGapOut",
    "VisitOut",
    "VisitOutcome",
]


class PlanRequest(BaseModel):
    """Optional body of a plan request: settings overrides and last scores.

    Without ``last_scores`` the previous month's scores are used (its published
    bulletin, else computed); ``summary.last_scores`` says which.
    """

    settings: dict[str, Any] = Field(default_factory=dict)
    last_scores: dict[str, float] | None = None


class VisitOutcome(BaseModel):
    """Outcome of a planned visit."""

    status: Literal["planned", "done", "missed"]
    issue_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        default_factory=list, max_length=1000
    )


class LeaderVisitIn(BaseModel):
    """A leader's visit: 现场办公 (office_hours) or 看 (site_inspection)."""

    kind: Literal["office_hours", "site_inspection"]
    day: date
    area_code: str | None = Field(default=None, max_length=32)
    note: str | None = Field(default=None, max_length=2000)
    findings: str | None = Field(default=None, max_length=4000)


# ----------------------------------------------------------------------------- responses


class TeamMemberOut(BaseModel):
    """Members of one role in a team."""

    role: str
    count: int


class TeamOut(BaseModel):
    """A supervision team (督查组); ``base`` is WGS84 ``[lon, lat]``."""

    key: str
    name: str
    leader_key: str | None
    members: list[TeamMemberOut]
    area_codes: list[str] | None
    area: dict[str, Any] | None = Field(description="The team's own polygon (GeoJSON) or null.")
    unit_keys: list[str]
    base: list[Number | None]
    capacity_per_day: int | None


class TeamImportOut(BaseModel):
    """Outcome of a team import (a dry run unless ``committed``)."""

    rows: int
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    committed: bool


class PlannedVisitOut(BaseModel):
    """A visit of a computed plan (not yet stored: no id, no status)."""

    team_key: str
    day: str
    seq: int
    target_layer: str
    target_code: str
    target_name: str | None
    community_code: str | None
    kind: str
    leader_key: str | None
    priority: Number
    reasons: list[str]
    lon: Number | None
    lat: Number | None
    reasons_zh: list[str]


class UnscheduledVisitOut(BaseModel):
    """A required visit no team had room for in its window."""

    team_key: str
    target_layer: str
    target_code: str
    kind: str
    window: list[str]
    reasons: list[str]


class PlanComputedOut(BaseModel):
    """A computed monthly plan; ``stored`` says whether it was saved.

    ``settings`` are the patrol settings used and ``summary`` the plan's counts
    (by kind, by team, the last scores used…); both are free-form dicts.
    """

    month: str
    settings: dict[str, Any]
    summary: dict[str, Any]
    visits: list[PlannedVisitOut]
    unscheduled: list[UnscheduledVisitOut]
    stored: bool


class VisitOut(BaseModel):
    """A stored planned visit."""

    id: int
    team_key: str
    day: str
    seq: int
    target_layer: str
    target_code: str
    community_code: str | None
    kind: str
    kind_label: str
    leader_key: str | None
    priority: Number
    reasons: list[str]
    reasons_zh: list[str]
    status: str


class PlanOut(BaseModel):
    """A stored monthly plan (``settings`` and ``summary`` as stored, free-form)."""

    month: str
    created_at: str | None
    settings: dict[str, Any]
    summary: dict[str, Any]
    visits: list[VisitOut]


class RouteStopOut(BaseModel):
    """A stop of a day's route; ``leg_m`` from the previous stop (or the base)."""

    visit_id: int
    target_layer: str
    target_code: str
    target_name: str
    kind: str
    lon: Number
    lat: Number
    leg_m: Number


class RouteOut(BaseModel):
    """A team's route for a day (``format=json``): base, ordered stops, length in metres."""

    team: str
    day: str
    base: list[Number]
    stops: list[RouteStopOut]
    total_m: Number
    epsg: int | None


class TrackOut(BaseModel):
    """A stored GPS track; ``cleaning`` and ``coverage`` are its stored reports."""

    id: int
    team: str
    month: str
    filename: str | None
    input_crs: str
    started_at: str | None
    ended_at: str | None
    day: str | None
    cleaning: dict[str, Any] | None
    coverage: dict[str, Any] | None
    coordinates: list[list[Number]] | None = Field(
        default=None, description="WGS84 coordinates (only with ``geometry``)."
    )


class TrackUploadOut(BaseModel):
    """An uploaded track: cleaning report, coverage, length; ``id`` when stored.

    ``duplicate`` true: the same file was stored before (its stored track,
    ``message`` says so)."""

    id: int | None = None
    team: str
    month: str
    filename: str | None
    input_crs: str
    started_at: str | None
    ended_at: str | None
    day: str | None
    duplicate: bool
    length_m: Number | None
    cleaning: dict[str, Any] | None
    coverage: dict[str, Any] | None
    message: str | None = None


class RoadCoverageOut(BaseModel):
    """Road sections of a team's area: covered/missed and the best share of each."""

    total: int
    covered: list[str]
    missed: list[str]
    share: dict[str, Number]


class GridCoverageOut(BaseModel):
    """Unit grids of a team's area entered/missed by any track."""

    total: int
    entered: list[str]
    missed: list[str]


class VisitGapOut(BaseModel):
    """A planned visit no track reached."""

    visit_id: int
    day: str
    target_layer: str
    target_code: str
    community_code: str | None
    kind: str


class PlanCoverageOut(BaseModel):
    """The team's planned visits: visited, gaps (due) and planned (not yet due)."""

    exists: bool
    visits: int
    visited: int
    visited_by_others: int
    gaps: list[VisitGapOut]
    planned: list[VisitGapOut]
    today: str


class CommunityCoverageOut(BaseModel):
    """The coverage counts of one community of a team's area."""

    road_sections: int
    roads_covered: int
    unit_grids: int
    grids_entered: int
    visits: int
    visited: int
    gaps: int
    planned: int


class TeamCoverageOut(BaseModel):
    """One team's coverage of a month."""

    tracks: int
    tracks_all: int
    road_sections: RoadCoverageOut
    unit_grids: GridCoverageOut
    key_site_zones_entered: list[str]
    plan: PlanCoverageOut
    by_community: dict[str, CommunityCoverageOut]


class CoverageOut(BaseModel):
    """Coverage and gaps of a month, per team key."""

    month: str
    covered_share: Number | None = None
    teams: dict[str, TeamCoverageOut]


class PatrolFeatureCollection(BaseModel):
    """A GeoJSON FeatureCollection (WGS84) of the patrol page."""

    type: Literal["FeatureCollection"]
    features: list[Feature]


class TeamMapSummaryOut(BaseModel):
    """A team's counts on the patrol page."""

    tracks: int
    roads_covered: int
    roads_total: int
    grids_entered: int
    grids_total: int
    visits: int
    visited: int
    gaps: int
    planned: int


class PatrolMapOut(BaseModel):
    """Layers of the patrol page: visits, the day's route, tracks, roads and grids."""

    month: str
    team: str | None
    day: str | None
    plan: bool
    visits: PatrolFeatureCollection
    route: PatrolFeatureCollection | None
    tracks: PatrolFeatureCollection
    road_sections: PatrolFeatureCollection
    unit_grids: PatrolFeatureCollection
    summary: dict[str, TeamMapSummaryOut]


class LeaderVisitOut(BaseModel):
    """A leader's visit: 现场办公 (office_hours) or 看 (site_inspection)."""

    id: int
    leader_key: str
    kind: str
    kind_label: str
    day: str
    area_code: str | None
    note: str | None
    findings: str | None
    duplicate: bool


class LeaderCadenceOut(BaseModel):
    """Whether a leader kept the cadences of a month."""

    month: str
    office_hours: int
    office_hours_first_ten_days: bool
    site_inspections: int
    site_inspections_ok: bool


class LeaderVisitsOut(BaseModel):
    """A leader's visits (newest first); ``cadence`` only for a month."""

    leader: str
    visits: list[LeaderVisitOut]
    cadence: LeaderCadenceOut | None = None
