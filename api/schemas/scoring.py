"""Request and response models of the scoring API (考核).

The response models mirror the dicts the domain builds (``grids/scoring``: scores,
indicators, triggers, cases, bulletins): every key is declared, numbers stay as
computed (:data:`Number`), and keys the domain only sometimes returns default to
``None`` — the routes drop unset keys (``response_model_exclude_unset``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from civgrid.api.schemas.common import Number

__all__ = [
    "ActionIn",
    "AdjustmentIn",
    "AdjustmentOut",
    "AnnualResultOut",
    "BulletinContentOut",
    "BulletinOut",
    "BulletinSummaryCountsOut",
    "BulletinSummaryOut",
    "CampaignInfoOut",
    "CampaignReportOut",
    "CampaignRunOut",
    "CampaignSectionOut",
    "CampaignTotalsOut",
    "CaseEventOut",
    "CaseOut",
    "CaseTypeOut",
    "CasesEvaluatedOut",
    "DashboardLeaderOut",
    "DashboardRoadOut",
    "DashboardRowOut",
    "EvaluateIn",
    "EvidenceIn",
    "EvidenceOut",
    "HotspotOut",
    "IndicatorRowOut",
    "IndicatorsOut",
    "LeaderDashboardOut",
    "LineItemOut",
    "ManualCaseIn",
    "NamedUnitOut",
    "NegativeEntryOut",
    "NegativeListOut",
    "PairingWorkIn",
    "PairingWorkOut",
    "PublishIn",
    "RankingRowOut",
    "RankingsOut",
    "RuleProfileOut",
    "RulesLoadedOut",
    "ScoreOut",
    "ScoresOut",
    "SubjectScoresOut",
    "SupervisionReportOut",
    "SupervisionUnitOut",
    "TierThresholdsOut",
    "TrendPointOut",
    "TriggerHitOut",
]


class PublishIn(BaseModel):
    """Publish the bulletin of a month (月通报) or a quarter (季度考评)."""

    period: str = Field(
        description="YYYY-MM (monthly), YYYYQn (quarterly), YYYYHn (half-year) or YYYY (annual)",
        max_length=16,
    )
    profile: str | None = None


class EvaluateIn(BaseModel):
    """Evaluate the triggers of a period and open cases for new hits."""

    period: str = Field(max_length=16)
    profile: str | None = None


class ActionIn(BaseModel):
    """An action on a case: interview (约谈), public_criticism (通报批评), referral (问责),
    rectified (整改到位), note, close (with a note)."""

    action: Literal["interview", "public_criticism", "referral", "rectified", "note", "close"]
    note: str | None = Field(None, max_length=2000)


class EvidenceIn(BaseModel):
    """An evidence attachment of a manual case: a file name or link, and a note."""

    name: str = Field(min_length=1, max_length=200)
    ref: str | None = Field(None, max_length=500)
    note: str | None = Field(None, max_length=500)


class ManualCaseIn(BaseModel):
    """A manual case (what the data cannot show): its type (with the clause), subject
    (``department`` unit key, ``township``/``community`` code or ``leader`` key), facts
    and evidence."""

    case_type: str = Field(min_length=1, max_length=64)
    level: Literal["department", "township", "community", "leader"]
    key: str = Field(min_length=1, max_length=32)
    facts: list[str] = Field(min_length=1, max_length=20)
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=20)
    profile: str | None = None


# ----------------------------------------------------------------------------- responses


class LineItemOut(BaseModel):
    """One deduction (negative ``points``) or bonus (positive) with its reason."""

    rule: str
    points: Number
    reason: str
    issue_id: int | None
    ref: str | None


class ScoreOut(BaseModel):
    """A unit's score: base − deductions + bonuses, rank and tier (好/中/差).

    ``items`` (the line items) only for one unit's score."""

    level: str
    code: str
    name: str
    period: str
    base: Number
    points: Number
    deductions: Number
    bonuses: Number
    issues: int
    rank: int | None
    tier: str | None
    tier_label: str | None
    sampled: bool
    items: list[LineItemOut] | None = None


class ScoresOut(BaseModel):
    """Ranked scores of every (visible) unit at a level."""

    level: str
    period: str
    period_label: str
    profile: str
    rules_effective_from: str
    scores: list[ScoreOut]


class IndicatorRowOut(BaseModel):
    """GB/T 30428 indicators of one group (rates in 0..1, None when undefined)."""

    code: str
    filed: int
    due: int
    closed: int
    closed_on_time: int
    returned: int
    extended: int
    closure_rate: Number | None
    on_time_rate: Number | None
    rework_rate: Number | None
    extension_rate: Number | None
    avg_handling_hours: Number | None
    composite_score: Number | None
    rank: int | None
    name: str


class IndicatorsOut(BaseModel):
    """Indicators grouped by ``by``, ranked (only groups with ``min_sample`` ranked)."""

    by: str
    period: str
    min_sample: int
    rows: list[IndicatorRowOut]


class RankingRowOut(BaseModel):
    """A row of a ranking table (``tier`` only by score)."""

    rank: int | None
    code: str
    name: str
    value: Number | None
    sample: int
    tier: str | None = None


class RankingsOut(BaseModel):
    """A ranking table by score or by the composite indicator."""

    level: str
    period: str
    metric: str
    rows: list[RankingRowOut]


class RuleProfileOut(BaseModel):
    """An active rule profile; ``versions`` are its rule versions as loaded (free-form)."""

    profile: str
    name: str
    source: str
    origin: str
    versions: list[dict[str, Any]]


class RulesLoadedOut(BaseModel):
    """A loaded profile: its versions' ``effective_from`` days."""

    profile: str
    versions: list[str]


class BulletinSummaryOut(BaseModel):
    """A published bulletin in the list (without content)."""

    id: int
    kind: str
    period: str
    number: str
    issued_at: str
    sha256: str


class TriggerHitOut(BaseModel):
    """A tripped accountability trigger for one unit (``facts`` in Chinese)."""

    rule_id: str
    label: str
    action: str
    level: str
    unit_code: str
    unit_name: str
    period: str
    facts: list[str]
    issue_ids: list[int]
    quarters: int
    periods: list[str]
    count: int
    action_label: str
    citation: str = ""


class NegativeEntryOut(BaseModel):
    """An entry of a negative list: a recurrence, a returned fix or an overdue issue."""

    issue_id: int
    kind: str
    label: str
    category_code: str | None
    category_name: str | None


class NegativeListOut(BaseModel):
    """负面清单 of a unit in a period."""

    level: str
    code: str
    name: str
    period: str
    entries: list[NegativeEntryOut]
    triggers: list[TriggerHitOut]


class BulletinSummaryCountsOut(BaseModel):
    """The counts of a bulletin; ``tiers`` by Chinese tier label."""

    issues: int
    closed: int
    overdue: int
    recurrences: int
    cases: int
    tiers: dict[str, int]


class TierThresholdsOut(BaseModel):
    """The points from which a unit is 好 (good) or 中 (fair)."""

    good: Number
    fair: Number


class NamedUnitOut(BaseModel):
    """A unit named best or worst in a bulletin."""

    level: str
    code: str
    name: str
    points: Number


class HotspotOut(BaseModel):
    """A unit grid with many issues."""

    code: str
    name: str
    issues: int


class CampaignSectionOut(BaseModel):
    """One campaign (专项行动) of a bulletin's period: found and fixed problems, and the
    same for the equally long stretch before each run."""

    key: str
    name: str
    windows: str
    clause: str | None
    found: int
    fixed: int
    found_before: int
    fixed_before: int


class CampaignInfoOut(BaseModel):
    """A campaign of the city profile."""

    key: str
    name: str
    clause: str | None
    goals: list[str]
    windows: str
    categories: list[str]


class CampaignRunOut(BaseModel):
    """One run of a campaign (local times, end excluded) and the stretch before it."""

    start: str
    end: str
    before_start: str
    found: int
    fixed: int
    found_before: int
    fixed_before: int


class CampaignTotalsOut(BaseModel):
    """Sums over the runs; changes are relative (0.5 = +50 %), null when nothing before."""

    found: int
    fixed: int
    found_before: int
    fixed_before: int
    found_change: float | None
    fixed_change: float | None


class CampaignReportOut(BaseModel):
    """A campaign report (专项行动成效对比) from one day to another."""

    campaign: CampaignInfoOut
    from_: str = Field(alias="from")
    to: str
    runs: list[CampaignRunOut]
    totals: CampaignTotalsOut

    model_config = {"populate_by_name": True}


class PairingWorkIn(BaseModel):
    """联建 work points of a civilized (pairing) unit in a quarter, as its community reports."""

    unit_key: str = Field(min_length=1, max_length=32)
    period: str = Field(max_length=16, description="YYYYQn (or YYYY-MM)")
    points: float = Field(ge=-100, le=100)
    note: str = Field(min_length=1, max_length=2000)


class PairingWorkOut(BaseModel):
    """A recorded 联建 work entry."""

    id: int
    unit_key: str
    unit_name: str
    period: str
    points: Number
    note: str
    recorded_at: str
    recorded_by: str


class AdjustmentIn(BaseModel):
    """An adjustment of one unit's result of a year (年总评), half-year or quarter."""

    period: str = Field(max_length=16, description="YYYY, YYYYHn or YYYYQn")
    level: Literal["community", "township", "department", "civilized_unit"]
    code: str = Field(min_length=1, max_length=32)
    kind: Literal[
        "provincial_feedback",
        "city_feedback",
        "leader_instruction",
        "command_notice",
        "media",
        "complaint",
    ]
    points: float = Field(ge=-100, le=100)
    reason: str = Field(min_length=1, max_length=2000)
    source: str = Field(min_length=1, max_length=200)


class AdjustmentOut(BaseModel):
    """A recorded adjustment."""

    id: int
    period: str
    level: str
    code: str
    kind: str
    kind_label: str
    points: Number
    reason: str
    source: str
    recorded_at: str
    recorded_by: str


class SubjectScoresOut(BaseModel):
    """The ranking of one group of assessed subjects (civilized units, key-task
    departments, other-task units) over its own period."""

    subject: str
    label: str
    level: str
    period: str
    period_label: str
    assessed: str
    citation: str
    scores: list[ScoreOut]
    missing: list[str]


class AnnualResultOut(BaseModel):
    """The annual result (年总评) of a year: every ranking with its recorded adjustments."""

    year: str
    profile: str
    rules_effective_from: str
    communities: list[ScoreOut]
    townships: list[ScoreOut]
    subjects: list[SubjectScoresOut]
    adjustments: list[AdjustmentOut]


class PointTypeRowOut(BaseModel):
    """Points of one type inspected in the period: how many passed (达标) and the rate (%)."""

    point_type: str
    label: str
    inspected: int
    passed: int
    failed: int
    pass_rate: Number | None


class FailedItemOut(BaseModel):
    """A checklist item (code and text)."""

    code: str
    text: str


class FailedItemCountOut(FailedItemOut):
    """A checklist item and how many inspected points failed it."""

    count: int


class BulletinPointOut(BaseModel):
    """A point's result in the period (its last inspection there)."""

    code: str
    name: str
    point_type: str
    type_label: str
    must_check: bool
    community_code: str | None
    unit_key: str | None
    unit_name: str | None
    score: Number
    compliant: bool
    inspected_at: str
    failed_items: list[FailedItemOut]


class FailingUnitOut(BaseModel):
    """A responsible unit (包保单位) and its points that failed (不达标)."""

    unit_key: str | None
    unit_name: str | None
    points: list[BulletinPointOut]


class BulletinPointsOut(BaseModel):
    """The bulletin's points section (实地考察点位抽查): per type, failing points by unit,
    the worst points, the items failed most; ``per_point`` the profile's weight."""

    inspected: int
    passed: int
    failed: int
    pass_rate: Number | None
    by_type: list[PointTypeRowOut]
    failing_by_unit: list[FailingUnitOut]
    worst: list[BulletinPointOut]
    failed_items: list[FailedItemCountOut]
    per_point: Number
    citation: str
    local_reason: str


class BulletinContentOut(BaseModel):
    """The content of a bulletin (月通报 / 季度考评); ``number`` null in a draft."""

    kind: str
    kind_label: str
    period: str
    period_label: str
    title: str
    number: str | None
    profile: str
    profile_name: str
    rules_effective_from: str
    generated_at: str
    as_of: str
    summary: BulletinSummaryCountsOut
    tier_thresholds: TierThresholdsOut
    communities: list[ScoreOut]
    townships: list[ScoreOut]
    best: list[NamedUnitOut]
    worst: list[NamedUnitOut]
    departments: list[IndicatorRowOut]
    cases: list[TriggerHitOut]
    negative_lists: list[NegativeListOut]
    hotspots: list[HotspotOut]
    heat_link: str
    hexbins_link: str
    campaigns: list[CampaignSectionOut] = Field(default_factory=list)
    subjects: list[SubjectScoresOut] = Field(default_factory=list)
    adjustments: list[AdjustmentOut] = Field(default_factory=list)
    points: BulletinPointsOut | None = None


class BulletinOut(BaseModel):
    """A published bulletin; ``content`` as issued (stored, never recomputed)."""

    id: int
    kind: str
    period: str
    number: str
    profile: str
    rules_effective_from: str
    issued_at: str
    issued_by: str
    sha256: str
    content: dict[str, Any]


class CaseEventOut(BaseModel):
    """An entry of a case's history."""

    at: str
    action: str
    action_label: str
    actor_who: str | None
    actor_role: str | None
    note: str | None


class EvidenceOut(BaseModel):
    """An evidence attachment of a manual case."""

    name: str
    ref: str | None = None
    note: str | None = None


class CaseOut(BaseModel):
    """An accountability case; ``history`` except in a dashboard's open cases."""

    id: int
    profile: str
    rule_id: str
    rule_label: str
    action: str
    action_label: str
    level: str
    unit_code: str
    unit_name: str
    leader_key: str | None
    period: str
    facts: list[str]
    issue_ids: list[int]
    status: str
    opened_at: str
    closed_at: str | None
    close_note: str | None
    citation: str = ""
    origin: str = "trigger"
    evidence: list[EvidenceOut] = []
    due_at: str | None = None
    referred_at: str | None = None
    history: list[CaseEventOut] | None = None


class SupervisionUnitOut(BaseModel):
    """One responsible unit in a supervision report."""

    unit_key: str
    unit_name: str
    found: int
    rectified: int
    open: int
    overdue: int


class SupervisionReportOut(BaseModel):
    """A monthly supervision report (督查报告) on the profile's report day (Lüliang: 25th)."""

    profile: str
    month: str
    report_day: int
    due: str
    window: list[str]
    as_of: str
    citation: str
    found: int
    rectified: int
    open: int
    overdue: int
    visits: int
    units: list[SupervisionUnitOut]


class CaseTypeOut(BaseModel):
    """A manual case type of a profile, with its clause."""

    id: str
    label: str
    action: str
    action_label: str
    citation: str


class CasesEvaluatedOut(BaseModel):
    """Cases opened by an evaluation and the ids of the hits' existing cases."""

    opened: list[CaseOut]
    existing: list[int]


class DashboardRoadOut(BaseModel):
    """A road section the leader is road chief (路长) of."""

    code: str
    name: str


class DashboardLeaderOut(BaseModel):
    """The leader of a dashboard."""

    key: str
    title: str | None


class TrendPointOut(BaseModel):
    """A unit's points and rank in an earlier period."""

    period: str
    points: Number
    rank: int | None


class DashboardRowOut(BaseModel):
    """One of the leader's communities or townships."""

    level: str
    code: str
    name: str
    points: Number
    rank: int | None
    of: int
    tier: str | None
    issues: int
    trend: list[TrendPointOut]
    open_cases: list[CaseOut]


class LeaderDashboardOut(BaseModel):
    """A leader's scores dashboard (only their own areas)."""

    leader: DashboardLeaderOut
    period: str
    period_label: str
    rows: list[DashboardRowOut]
    road_sections: list[DashboardRoadOut] = []
