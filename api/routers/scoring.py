"""Scoring (考核): scores, indicators, rankings, 通报 bulletins, negative lists, cases.

JSON under ``/api/v1`` (:data:`router`) and printable Chinese pages (:data:`pages`):
``/scores`` (rankings overview), ``/scores/bulletin?period=`` (a draft bulletin),
``/bulletins/{id}`` (a published one, as issued) and ``/leaders/{key}/scores``.
The rule profiles live in a :class:`~civgrid.grids.scoring.rules.RuleRegistry`
on ``app.state.score_registry`` (the shipped profiles unless replaced). Scores,
bulletins and rule uploads use the clock ``app.state.score_clock`` (a callable
returning an aware datetime; default: the system clock), so that tests and
demonstrations can fix "now".
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from civgrid.api.deps import ActorDep, ScopeDep, SessionDep, StoreDep
from civgrid.api.deps import score_registry as registry
from civgrid.api.routers.documents import PrinterDep, document_out
from civgrid.api.schemas import ERRORS_READ, ERRORS_WRITE, ObjectId
from civgrid.api.schemas.documents import DocumentOut
from civgrid.api.schemas.scoring import (
    ActionIn,
    AdjustmentIn,
    AdjustmentOut,
    AnnualResultOut,
    BulletinContentOut,
    BulletinOut,
    BulletinSummaryOut,
    CaseOut,
    CasesEvaluatedOut,
    CaseTypeOut,
    EvaluateIn,
    IndicatorsOut,
    LeaderDashboardOut,
    ManualCaseIn,
    NegativeListOut,
    PairingWorkIn,
    PairingWorkOut,
    PublishIn,
    RankingsOut,
    RuleProfileOut,
    RulesLoadedOut,
    ScoreOut,
    ScoresOut,
    SubjectScoresOut,
    SupervisionReportOut,
)
from civgrid.grids.accounts.permissions import Perm, Scope
from civgrid.grids.core.calendar import local_zone
from civgrid.grids.core.errors import DomainError
from civgrid.grids.scoring.score import LEVELS, Period

router = APIRouter(prefix="/api/v1", tags=["scoring"], responses=ERRORS_WRITE)
#: Media type of the bulletin workbooks.
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
pages = APIRouter(include_in_schema=False)
#: Levels with a score page: the scored levels and the civilized (pairing) units.
SCORED = (*LEVELS, "civilized_unit")

LevelQuery = Annotated[
    Literal["unit_grid", "community", "township", "road_section", "department"],
    Query(description="Level of the scored units."),
]
PeriodQuery = Annotated[
    str | None,
    Query(
        description="YYYY-MM, YYYYQn, YYYYHn (half-year), YYYY or YYYY-Www "
        "(default: the current month)."
    ),
]
ProfileQuery = Annotated[str | None, Query(description="Rule profile (default: the city's).")]
SampleQuery = Annotated[
    Literal["all", "patrol", "issues", "inspected", "visited"] | None,
    Query(
        description="Units scored: all; patrol (visited by patrols marked done); issues "
        "(where an inspection found something; 'inspected' is the same); visited (both). "
        "Default: the profile's sampling."
    ),
]


def now(request: Request) -> datetime:
    """The app's scoring clock (``app.state.score_clock``), else the system time (aware UTC)."""
    clock = getattr(request.app.state, "score_clock", None)
    return clock() if clock is not None else datetime.now(UTC)


def _period(text: str | None, request: Request | None = None) -> Period:
    if text:
        return Period.parse(text)
    at = now(request) if request is not None else datetime.now(UTC)
    return Period.containing("month", at.astimezone(local_zone()).date())


def _ctx(
    request: Request, store: Any, session: Any, profile: str | None, sampling: str | None = None
) -> Any:
    from civgrid.grids.scoring.service import ScoringContext

    reg = registry(request)
    reg.profile(profile)  # 404 for an unknown profile
    from civgrid.api.routers.points import point_standards

    return ScoringContext(
        store,
        session,
        reg,
        profile,
        sampling=sampling,
        now=now(request),
        standards=point_standards(request),
    )


def _during(p: Period) -> tuple[Any, Any]:
    """The local days of ``p`` (end exclusive): a leader's areas are those of the period."""
    return (p.start, p.end)


def _visible(
    scope: Scope, level: str, rows: list, p: Period, code: Any = lambda r: r["code"]
) -> list:
    """The rows (scores, indicator rows) whose unit ``scope`` may read in period ``p``;
    ranks as computed over all units."""
    allowed = set(scope.score_codes(level, [code(r) for r in rows], _during(p)))
    return [r for r in rows if code(r) in allowed]


# --------------------------------------------------------------------------- scores


@router.get(
    "/scores",
    summary="Scores of all units at a level",
    responses=ERRORS_READ,
    response_model_exclude_unset=True,
)
def list_scores(
    request: Request,
    store: StoreDep,
    session: SessionDep,
    scope: ScopeDep,
    level: LevelQuery = "community",
    period: PeriodQuery = None,
    profile: ProfileQuery = None,
    sample: SampleQuery = None,
) -> ScoresOut:
    """Ranked scores (base − deductions + bonuses), with rank and tier 好/中/差.

    A leader gets their own townships, communities and road sections, a unit
    handler its own unit, each with its rank among all."""
    p = _period(period, request)
    ctx = _ctx(request, store, session, profile, sample)
    rules = ctx.rules(p)
    return {
        "level": level,
        "period": p.key,
        "period_label": p.label,
        "profile": ctx.registry.profile(profile).profile,
        "rules_effective_from": rules.effective_from.isoformat(),
        "scores": [
            s.to_dict(items=False)
            for s in _visible(scope, level, ctx.scores(p, level), p, lambda s: s.code)
        ],
    }


@router.get(
    "/scores/{level}/{code}",
    summary="One unit's score, explained",
    responses=ERRORS_READ,
    response_model_exclude_unset=True,
)
def one_score(
    request: Request,
    store: StoreDep,
    session: SessionDep,
    scope: ScopeDep,
    level: Annotated[str, Path(description=f"One of {', '.join(SCORED)}.")],
    code: Annotated[str, Path(max_length=32)],
    period: PeriodQuery = None,
    profile: ProfileQuery = None,
) -> ScoreOut:
    """The score with its line items (rule, issue, points, reason)."""
    p = _period(period, request)
    ctx = _ctx(request, store, session, profile)
    if level not in SCORED:
        from civgrid.grids.core.errors import InvalidInputError

        raise InvalidInputError(f"level must be one of {', '.join(SCORED)}", field="level")
    scope.check_score(_scope_level(level), code, _during(p))
    return ctx.score(p, level, code).to_dict()


@router.get(
    "/indicators",
    summary="GB/T 30428 indicators",
    responses=ERRORS_READ,
    response_model_exclude_unset=True,
)
def indicators(
    request: Request,
    store: StoreDep,
    session: SessionDep,
    scope: ScopeDep,
    by: Annotated[
        Literal["community", "township", "unit_grid", "road_section", "department", "post"],
        Query(description="Group by region, department or post (reporting channel)."),
    ] = "department",
    period: PeriodQuery = None,
    profile: ProfileQuery = None,
) -> IndicatorsOut:
    """立案数, 结案率, 按期结案率, 返工率, 延期率, 平均处置时长, 综合指标值 — ranked."""
    p = _period(period, request)
    ctx = _ctx(request, store, session, profile)
    return {
        "by": by,
        "period": p.key,
        "min_sample": ctx.rules(p).ranking.min_sample,
        "rows": _visible(scope, by, ctx.indicators(p, by), p),
    }


@router.get(
    "/rankings", summary="Ranking table", responses=ERRORS_READ, response_model_exclude_unset=True
)
def rankings(
    request: Request,
    store: StoreDep,
    session: SessionDep,
    scope: ScopeDep,
    level: LevelQuery = "community",
    period: PeriodQuery = None,
    metric: Annotated[Literal["score", "composite"], Query()] = "score",
    profile: ProfileQuery = None,
) -> RankingsOut:
    """By score, or by the composite indicator (only units with the minimum sample)."""
    p = _period(period, request)
    ctx = _ctx(request, store, session, profile)
    if metric == "composite":
        rows = [
            {
                "rank": r["rank"],
                "code": r["code"],
                "name": r["name"],
                "value": r["composite_score"],
                "sample": r["due"],
            }
            for r in ctx.indicators(p, level)
        ]
    else:
        rows = [
            {
                "rank": s.rank,
                "code": s.code,
                "name": s.name,
                "value": s.points,
                "sample": s.issues,
                "tier": s.tier,
            }
            for s in ctx.scores(p, level)
        ]
    return {
        "level": level,
        "period": p.key,
        "metric": metric,
        "rows": _visible(scope, level, rows, p),
    }


# --------------------------------------------------------------------------- subjects


def _subject_rows(scope: Scope, section: dict[str, Any], p: Period) -> dict[str, Any]:
    """A subject section with the rows the scope reads (a unit handler: its own unit)."""
    rows = [s.to_dict(items=True) if hasattr(s, "to_dict") else s for s in section["scores"]]
    return {**section, "scores": _visible(scope, "department", rows, p)}


@router.get(
    "/subjects/{subject}",
    summary="Scores of civilized units, key-task departments or other-task units",
    responses=ERRORS_READ,
    response_model_exclude_unset=True,
)
def subject_scores(
    request: Request,
    store: StoreDep,
    session: SessionDep,
    scope: ScopeDep,
    subject: Annotated[Literal["civilized_units", "key_task_units", "other_task_units"], Path()],
    period: Annotated[str, Query(max_length=16, description="YYYYQn, YYYYHn or YYYY")],
    profile: ProfileQuery = None,
) -> SubjectScoresOut:
    """Sheqi 004 二、（三）2 三: civilized (pairing) units quarterly (paired community + 联建
    work), key-task departments quarterly, other-task units half-yearly; each ranked
    among its own, with the adjustments recorded for the period."""
    p = Period.parse(period)
    ctx = _ctx(request, store, session, profile)
    return _subject_rows(scope, ctx.subject_scores(p, subject), p)


@router.get(
    "/annual-result",
    summary="The annual result (年总评)",
    responses=ERRORS_READ,
    response_model_exclude_unset=True,
)
def annual_result_api(
    request: Request,
    store: StoreDep,
    session: SessionDep,
    scope: ScopeDep,
    year: Annotated[str, Query(pattern=r"^\d{4}$", description="YYYY")],
    profile: ProfileQuery = None,
) -> AnnualResultOut:
    """The mean of the four quarters plus the recorded adjustments (provincial/city
    feedback, 领导批示, media, complaints), re-ranked, for every level and subject."""
    from civgrid.grids.scoring.bulletins import subject_sections
    from civgrid.grids.scoring.subjects import adjustment_dict, list_adjustments

    p = Period.parse(year)
    ctx = _ctx(request, store, session, profile)
    ctx.check_begun(p)
    return {
        "year": p.key,
        "profile": ctx.registry.profile(profile).profile,
        "rules_effective_from": ctx.rules(p).effective_from.isoformat(),
        "communities": _visible(
            scope, "community", [s.to_dict() for s in ctx.scores(p, "community")], p
        ),
        "townships": _visible(
            scope, "township", [s.to_dict() for s in ctx.scores(p, "township")], p
        ),
        "subjects": [_subject_rows(scope, sec, p) for sec in subject_sections(ctx, p)],
        "adjustments": [
            a
            for a in (adjustment_dict(x) for x in list_adjustments(session, p.key))
            if _visible(scope, _scope_level(a["level"]), [a], p)
        ],
    }


def _scope_level(level: str) -> str:
    """The scope level of a scored level (units by key: ``department``)."""
    return "department" if level in ("department", "civilized_unit") else level


@router.get(
    "/pairing-work",
    summary="Recorded 联建 work of civilized units",
    responses=ERRORS_READ,
    response_model_exclude_unset=True,
)
def pairing_work_list(
    session: SessionDep,
    scope: ScopeDep,
    period: Annotated[str | None, Query(max_length=16)] = None,
) -> list[PairingWorkOut]:
    """By period and unit (a unit handler: its own unit's)."""
    from civgrid.grids.scoring.subjects import list_pairing_work, work_dict

    rows = [work_dict(w, _unit_names(session)) for w in list_pairing_work(session, period)]
    return [
        r
        for r in rows
        if scope.score_codes("department", [r["unit_key"]], _during(Period.parse(r["period"])))
    ]


def _unit_names(session: Any) -> dict[str, str]:
    from sqlalchemy import select

    from civgrid.grids.boundaries.models import Unit

    return dict(session.execute(select(Unit.key, Unit.name)).all())


@router.post(
    "/pairing-work",
    summary="Record a civilized unit's 联建 work",
    responses=ERRORS_WRITE,
    response_model_exclude_unset=True,
)
def pairing_work_record(
    request: Request, session: SessionDep, actor: ActorDep, body: PairingWorkIn
) -> PairingWorkOut:
    """One record per unit and period (entered again: replaced); audited."""
    from civgrid.grids.scoring.subjects import record_pairing_work, work_dict

    w = record_pairing_work(
        session,
        actor,
        body.unit_key,
        Period.parse(body.period),
        body.points,
        body.note,
        now=now(request),
    )
    return work_dict(w, _unit_names(session))


@router.get(
    "/adjustments",
    summary="Recorded adjustments of results",
    responses=ERRORS_READ,
    response_model_exclude_unset=True,
)
def adjustments_list(
    session: SessionDep,
    scope: ScopeDep,
    period: Annotated[str | None, Query(max_length=16)] = None,
    level: Annotated[
        Literal["community", "township", "department", "civilized_unit"] | None, Query()
    ] = None,
) -> list[AdjustmentOut]:
    """By period, level and unit (only the units whose scores the caller reads)."""
    from civgrid.grids.scoring.subjects import adjustment_dict, list_adjustments

    rows = [adjustment_dict(a) for a in list_adjustments(session, period, level)]
    return [
        r
        for r in rows
        if scope.score_codes(
            _scope_level(r["level"]), [r["code"]], _during(Period.parse(r["period"]))
        )
    ]


@router.post(
    "/adjustments",
    status_code=201,
    summary="Record an adjustment (年总评 and the subject rankings)",
    responses=ERRORS_WRITE,
    response_model_exclude_unset=True,
)
def adjustment_record(
    request: Request, store: StoreDep, session: SessionDep, actor: ActorDep, body: AdjustmentIn
) -> AdjustmentOut:
    """Provincial/city feedback, 领导批示, 县指挥部通报, media, complaints; audited."""
    from civgrid.grids.scoring.subjects import adjustment_dict, record_adjustment

    a = record_adjustment(
        session,
        actor,
        Period.parse(body.period),
        body.level,
        body.code,
        body.kind,
        body.points,
        body.reason,
        body.source,
        store=store,
        now=now(request),
    )
    return adjustment_dict(a)


# --------------------------------------------------------------------------- rules


@router.get(
    "/scoring/rules",
    summary="Active rule profiles",
    responses=ERRORS_READ,
    response_model_exclude_unset=True,
)
def rules_list(request: Request) -> list[RuleProfileOut]:
    """Profiles, their versions (``effective_from``) and triggers."""
    reg = registry(request)
    out = []
    for name in reg.names():
        prof = reg.profile(name)
        out.append(
            {
                "profile": prof.profile,
                "name": prof.name,
                "source": prof.source,
                "origin": reg.origin(name),
                "versions": [v.model_dump(mode="json") for v in prof.versions],
            }
        )
    return out


@router.post(
    "/scoring/rules",
    summary="Load a rule profile (YAML)",
    responses=ERRORS_WRITE,
    response_model_exclude_unset=True,
)
def rules_load(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    yaml_text: Annotated[str, Body(media_type="application/yaml")],
    file: Annotated[str, Query(max_length=200)] = "<upload>",
) -> RulesLoadedOut:
    """Validate, install (``<var_dir>/profiles``) and activate a profile; a malformed one
    is refused (422, file and line) and the previous rules stay in force.

    Past rules are never rewritten: a new file for a loaded profile must keep every
    version in force on or before today (or the last day of the last published
    bulletin) unchanged and date new versions after it (else 422, file and line).
    Category codes are checked against the categories table and the seeded tree."""
    from sqlalchemy import select

    from civgrid.grids.boundaries.models import Category
    from civgrid.grids.scoring.bulletins import published_through
    from civgrid.grids.scoring.rules import known_categories

    settings = request.app.state.settings
    categories = known_categories() | set(session.scalars(select(Category.code)))
    today = now(request).astimezone(local_zone()).date()
    prof = registry(request).install_text(
        yaml_text,
        file,
        FsPath(settings.var_dir) / "profiles",
        today=today,
        not_before=lambda name: published_through(session, name),
        categories=categories,
        session=session,
        actor=actor,
    )
    return {
        "profile": prof.profile,
        "versions": [v.effective_from.isoformat() for v in prof.versions],
    }


# --------------------------------------------------------------------------- bulletins


@router.get(
    "/bulletins",
    summary="Published bulletins",
    responses=ERRORS_READ,
    response_model_exclude_unset=True,
)
def bulletins_list(session: SessionDep) -> list[BulletinSummaryOut]:
    """Published bulletins, newest first (without content)."""
    from sqlalchemy import select

    from civgrid.grids.scoring.models import Bulletin

    rows = session.scalars(select(Bulletin).order_by(Bulletin.id.desc())).all()
    return [
        {
            "id": b.id,
            "kind": b.kind,
            "period": b.period,
            "number": b.number,
            "issued_at": b.issued_at.isoformat(),
            "sha256": b.sha256,
        }
        for b in rows
    ]


@router.get(
    "/bulletins/preview",
    summary="Draft bulletin (not stored)",
    responses=ERRORS_READ,
    response_model_exclude_unset=True,
)
def bulletin_preview(
    request: Request,
    store: StoreDep,
    session: SessionDep,
    scope: ScopeDep,
    period: PeriodQuery = None,
    profile: ProfileQuery = None,
) -> BulletinContentOut:
    """The content a bulletin of ``period`` would have now (roles that read every score)."""
    from civgrid.grids.scoring.bulletins import build_bulletin

    scope.require_all_scores()
    return build_bulletin(_ctx(request, store, session, profile), _period(period, request))


@router.post(
    "/bulletins",
    status_code=201,
    summary="Publish a bulletin",
    responses=ERRORS_WRITE,
    response_model_exclude_unset=True,
)
def bulletin_publish(
    request: Request, store: StoreDep, session: SessionDep, actor: ActorDep, body: PublishIn
) -> BulletinOut:
    """Build, number and freeze the bulletin; a period already published → 409."""
    from civgrid.grids.scoring.bulletins import bulletin_dict, publish_bulletin

    b = publish_bulletin(
        _ctx(request, store, session, body.profile), Period.parse(body.period), actor, now(request)
    )
    return bulletin_dict(b)


@router.get(
    "/bulletins/{bulletin_id}.xlsx",
    summary="A published bulletin as xlsx",
    response_model=None,
    response_class=Response,
    responses={
        **ERRORS_READ,
        200: {
            "description": "The workbook (xlsx)",
            "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
        },
    },
)
def bulletin_xlsx_get(session: SessionDep, bulletin_id: ObjectId) -> Response:
    """The workbook stored at publication."""
    from civgrid.grids.scoring.bulletins import get_bulletin

    b = get_bulletin(session, bulletin_id)
    return Response(
        b.xlsx,
        media_type=XLSX,
        headers={
            "Content-Disposition": f'attachment; filename="bulletin-{b.period}.xlsx"',
            "X-Content-SHA256": b.sha256,
        },
    )


@router.get(
    "/bulletins/{bulletin_id}",
    summary="A published bulletin",
    responses=ERRORS_READ,
    response_model_exclude_unset=True,
)
def bulletin_get(session: SessionDep, bulletin_id: ObjectId) -> BulletinOut:
    """As issued (never recomputed)."""
    from civgrid.grids.scoring.bulletins import bulletin_dict, get_bulletin

    return bulletin_dict(get_bulletin(session, bulletin_id))


# --------------------------------------------------------------------------- units, cases


@router.get(
    "/units/{key}/negative-list",
    summary="A unit's negative list",
    responses=ERRORS_READ,
    response_model_exclude_unset=True,
)
def unit_negative_list(
    request: Request,
    store: StoreDep,
    session: SessionDep,
    scope: ScopeDep,
    key: Annotated[str, Path(max_length=32)],
    level: Annotated[
        Literal["department", "community", "township", "unit_grid", "road_section"], Query()
    ] = "department",
    period: PeriodQuery = None,
    profile: ProfileQuery = None,
) -> NegativeListOut:
    """负面清单: recurring problems, returned fixes, overdue issues, tripped triggers.

    A unit handler reads only their own unit's list, a leader only their areas'."""
    from civgrid.grids.scoring.service import negative_list

    p = _period(period, request)
    scope.check_score(level, key, _during(p))
    ctx = _ctx(request, store, session, profile)
    return negative_list(ctx, level, key, p)


def _case_days(case: Any) -> tuple[Any, Any] | None:
    """The local days of a case's period (None when it does not parse)."""
    try:
        return _during(Period.parse(case.period))
    except DomainError:  # an odd stored period only loses the period check
        return None


@router.get(
    "/accountability/cases",
    summary="Accountability cases",
    responses=ERRORS_READ,
    response_model_exclude_unset=True,
)
def cases_list(
    session: SessionDep,
    scope: ScopeDep,
    status: Annotated[Literal["open", "closed"] | None, Query()] = None,
    level: Annotated[str | None, Query(max_length=16)] = None,
    unit: Annotated[str | None, Query(max_length=32)] = None,
    leader: Annotated[str | None, Query(max_length=32)] = None,
    period: Annotated[str | None, Query(max_length=16)] = None,
) -> list[CaseOut]:
    """Cases with their history, newest first (a leader's or unit's own only)."""
    from civgrid.grids.scoring.service import case_dict, list_cases

    return [
        case_dict(c)
        for c in list_cases(
            session, status=status, level=level, unit_code=unit, leader_key=leader, period=period
        )
        if scope.sees_case(c.level, c.unit_code, c.leader_key, _case_days(c))
    ]


@router.post(
    "/accountability/cases",
    summary="Evaluate triggers, open cases",
    responses=ERRORS_WRITE,
    response_model_exclude_unset=True,
)
def cases_evaluate(
    request: Request, store: StoreDep, session: SessionDep, actor: ActorDep, body: EvaluateIn
) -> CasesEvaluatedOut:
    """Idempotent: hits that already have a case open nothing new."""
    from civgrid.grids.scoring.service import case_dict, open_cases

    opened, existing = open_cases(
        _ctx(request, store, session, body.profile),
        Period.parse(body.period),
        actor,
        now(request),
    )
    session.flush()
    return {"opened": [case_dict(c) for c in opened], "existing": [c.id for c in existing]}


@router.get(
    "/supervision-report",
    summary="Monthly supervision report",
    responses=ERRORS_READ,
    response_model_exclude_unset=True,
)
def supervision_report_api(
    request: Request,
    store: StoreDep,
    session: SessionDep,
    scope: ScopeDep,
    month: Annotated[str, Query(max_length=16, description="YYYY-MM")],
    profile: ProfileQuery = None,
) -> SupervisionReportOut:
    """督查报告 of a month, from the profile's report day (Lüliang: the 25th), covering
    the month up to that day — separate from the month-end bulletin."""
    from civgrid.grids.scoring.reports import supervision_report

    scope.require_all_scores()  # every unit, like a draft bulletin
    return supervision_report(_ctx(request, store, session, profile), Period.parse(month))


@router.post(
    "/supervision-report/document",
    summary="Issue the monthly supervision report (督查报告) as a document",
    responses=ERRORS_WRITE,
)
def supervision_report_document(
    request: Request,
    store: StoreDep,
    session: SessionDep,
    scope: ScopeDep,
    actor: ActorDep,
    printer: PrinterDep,
    month: Annotated[str, Query(max_length=16, description="YYYY-MM")],
    profile: ProfileQuery = None,
) -> DocumentOut:
    """The 督查报告 of a month as a numbered .docx/PDF (once per profile and month; the
    stored one after that) — docs/documents.md."""
    from civgrid.api.routers.issues import get_issue_config
    from civgrid.grids.scoring.reports import supervision_report
    from civgrid.maps.doc_issue import issue_supervision_report

    scope.require_all_scores()
    report = supervision_report(_ctx(request, store, session, profile), Period.parse(month))
    cfg = get_issue_config(request)
    return document_out(issue_supervision_report(session, report, cfg, printer, actor))


@router.get(
    "/accountability/case-types",
    summary="Manual case types",
    responses=ERRORS_READ,
    response_model_exclude_unset=True,
)
def case_types_list(
    request: Request, scope: ScopeDep, profile: ProfileQuery = None
) -> list[CaseTypeOut]:
    """The manual case types of the profile in force today, each with its clause."""
    from civgrid.grids.core.labels import CONSEQUENCE_LABELS

    day = now(request).astimezone(local_zone()).date()
    rules = registry(request).rules(profile, day)
    return [
        {
            "id": c.id,
            "label": c.label,
            "action": c.action,
            "action_label": CONSEQUENCE_LABELS.get(c.action, c.action),
            "citation": c.citation_text,
        }
        for c in rules.case_types
    ]


@router.post(
    "/accountability/cases/manual",
    summary="Open a manual case",
    responses=ERRORS_WRITE,
    response_model_exclude_unset=True,
)
def case_open_manual(
    request: Request, store: StoreDep, session: SessionDep, actor: ActorDep, body: ManualCaseIn
) -> CaseOut:
    """Open a case the data cannot show (obstruction, fraud, 推诿扯皮…) with its clause,
    facts, evidence and subject; same actions and audit as a triggered case."""
    from civgrid.grids.scoring.rules import default_profile
    from civgrid.grids.scoring.service import case_dict, open_manual_case

    at = now(request)
    reg = registry(request)
    name = body.profile or default_profile()
    rules = reg.rules(name, at.astimezone(local_zone()).date())
    case = open_manual_case(
        store,
        session,
        rules,
        reg.profile(name).profile,
        actor,
        case_type=body.case_type,
        level=body.level,
        key=body.key,
        facts=body.facts,
        evidence=[e.model_dump(exclude_none=True) for e in body.evidence],
        now=at,
    )
    return case_dict(case)


@router.post(
    "/accountability/cases/refer-overdue",
    summary="Refer cases whose rectification window passed",
    responses=ERRORS_WRITE,
    response_model_exclude_unset=True,
)
def cases_refer_overdue(request: Request, session: SessionDep, actor: ActorDep) -> list[CaseOut]:
    """限期整改 cases not rectified by their deadline are referred (Shaoxing's order)."""
    from civgrid.grids.scoring.service import case_dict, refer_overdue_cases

    return [case_dict(c) for c in refer_overdue_cases(session, actor, now(request))]


@router.get(
    "/accountability/cases/{case_id}",
    summary="One case with history",
    responses=ERRORS_READ,
    response_model_exclude_unset=True,
)
def case_get(session: SessionDep, scope: ScopeDep, case_id: ObjectId) -> CaseOut:
    """The case and its history."""
    from civgrid.grids.core.errors import NotFoundError
    from civgrid.grids.scoring.models import AccountabilityCase
    from civgrid.grids.scoring.service import case_dict

    c = session.get(AccountabilityCase, case_id)
    if c is None or not scope.sees_case(c.level, c.unit_code, c.leader_key, _case_days(c)):
        raise NotFoundError(f"no accountability case {case_id}", kind="case", key=case_id)
    return case_dict(c)


@router.post(
    "/accountability/cases/{case_id}/actions",
    summary="Act on a case",
    responses=ERRORS_WRITE,
    response_model_exclude_unset=True,
)
def case_act(session: SessionDep, actor: ActorDep, case_id: ObjectId, body: ActionIn) -> CaseOut:
    """约谈 / 通报批评 / 问责 / note, or close with a note (history kept)."""
    from civgrid.grids.scoring.service import act_on_case, case_dict

    return case_dict(act_on_case(session, actor, case_id, body.action, body.note))


@router.get(
    "/leaders/{key}/dashboard",
    summary="A leader's scores dashboard",
    responses=ERRORS_READ,
    response_model_exclude_unset=True,
)
def leader_dashboard_api(
    request: Request,
    store: StoreDep,
    session: SessionDep,
    scope: ScopeDep,
    key: Annotated[str, Path(max_length=32)],
    period: PeriodQuery = None,
    profile: ProfileQuery = None,
) -> LeaderDashboardOut:
    """Only the leader's own communities and townships: score, rank, tier, trend, open cases.

    A leader reads only their own dashboard (others: 404)."""
    from civgrid.grids.scoring.service import leader_dashboard

    scope.check_leader(key)

    return leader_dashboard(_ctx(request, store, session, profile), key, _period(period, request))


# --------------------------------------------------------------------------- pages


@pages.get("/scores", response_class=HTMLResponse)
def scores_page(
    request: Request,
    store: StoreDep,
    session: SessionDep,
    scope: ScopeDep,
    period: PeriodQuery = None,
    profile: ProfileQuery = None,
) -> HTMLResponse:
    """考核排名: communities and townships ranked, tiers, links to the bulletin."""
    from civgrid.maps.scoring_pages import scores_page_html

    p = _period(period, request)
    ctx = _ctx(request, store, session, profile)
    return HTMLResponse(
        scores_page_html(
            p,
            _visible(scope, "community", ctx.scores(p, "community"), p, lambda s: s.code),
            _visible(scope, "township", ctx.scores(p, "township"), p, lambda s: s.code),
            _visible(scope, "department", ctx.indicators(p, "department"), p),
            ctx.rules(p),
            transfers=_transfer_rows(session, scope, p),
        )
    )


def _transfer_rows(session: Any, scope: Scope, p: Period) -> list[dict[str, Any]]:
    """Transfer requests per unit made in period ``p`` (推诿扯皮), the units ``scope`` reads."""
    from datetime import time

    from civgrid.grids.issues.transfers import transfer_counts

    def utc_start(d: Any) -> datetime:
        return datetime.combine(d, time.min, local_zone()).astimezone(UTC)

    rows = transfer_counts(session, start=utc_start(p.start), end=utc_start(p.end))
    keep = set(scope.score_codes("department", [r.unit_key for r in rows], _during(p)))
    return [r.to_dict() for r in rows if r.unit_key in keep]


@pages.get("/scores/bulletin", response_class=HTMLResponse)
def bulletin_draft_page(
    request: Request,
    store: StoreDep,
    session: SessionDep,
    scope: ScopeDep,
    period: PeriodQuery = None,
    profile: ProfileQuery = None,
) -> HTMLResponse:
    """The bulletin of a period as it would be issued now (printable; roles reading all)."""
    from civgrid.grids.scoring.bulletins import build_bulletin, find_bulletin
    from civgrid.maps.scoring_pages import bulletin_html

    scope.require_all_scores()
    content = build_bulletin(_ctx(request, store, session, profile), _period(period, request))
    done = find_bulletin(session, content["kind"], content["period"])
    return HTMLResponse(
        bulletin_html(
            content,
            draft=True,
            publish=done is None and scope.has(Perm.score_write),
            published=f"/bulletins/{done.id}" if done is not None else None,
        )
    )


@pages.get("/bulletins/{bulletin_id}", response_class=HTMLResponse)
def bulletin_page(session: SessionDep, bulletin_id: ObjectId) -> HTMLResponse:
    """A published bulletin, printable, as issued."""
    from civgrid.grids.scoring.bulletins import get_bulletin
    from civgrid.maps.scoring_pages import bulletin_html

    b = get_bulletin(session, bulletin_id)
    return HTMLResponse(
        bulletin_html(b.content, xlsx=f"/api/v1/bulletins/{b.id}.xlsx", issued_at=b.issued_at)
    )


@pages.get("/leaders/{key}/scores", response_class=HTMLResponse)
def leader_scores_page(
    request: Request,
    store: StoreDep,
    session: SessionDep,
    scope: ScopeDep,
    key: Annotated[str, Path(max_length=32)],
    period: PeriodQuery = None,
    profile: ProfileQuery = None,
) -> HTMLResponse:
    """领导考核看板: the leader's communities and townships, scores, ranks, open cases."""
    from civgrid.grids.scoring.service import leader_dashboard

    scope.check_leader(key)
    from civgrid.maps.scoring_pages import dashboard_page_html

    dash = leader_dashboard(_ctx(request, store, session, profile), key, _period(period, request))
    return HTMLResponse(dashboard_page_html(dash))


@pages.get("/scores/{level}/{code}", response_class=HTMLResponse)
def unit_score_page(
    request: Request,
    store: StoreDep,
    session: SessionDep,
    scope: ScopeDep,
    level: Annotated[str, Path(max_length=16)],
    code: Annotated[str, Path(max_length=32)],
    period: PeriodQuery = None,
    profile: ProfileQuery = None,
) -> HTMLResponse:
    """A unit's page: its score explained and its negative list (负面清单)."""
    from civgrid.grids.core.errors import InvalidInputError
    from civgrid.grids.scoring.service import negative_list
    from civgrid.maps.scoring_pages import unit_page_html

    if level not in SCORED:
        raise InvalidInputError(f"level must be one of {', '.join(SCORED)}", field="level")
    p = _period(period, request)
    scope.check_score(_scope_level(level), code, _during(p))
    ctx = _ctx(request, store, session, profile)
    score = ctx.score(p, level, code).to_dict()
    if level in LEVELS:
        negative = negative_list(ctx, level, code, p)
    else:  # a civilized unit answers for no issue of its own: its community's list is linked
        negative = {
            "level": level,
            "code": code,
            "name": score["name"],
            "period": p.key,
            "entries": [],
            "triggers": [],
        }
    indicator = None
    if level == "department":  # ranked by the bulletin's handling indicators, as there
        rows = [d for d in ctx.indicators(p, "department") if d["filed"] or d["due"]]
        indicator = next((d for d in rows if d["code"] == code), None)
    return HTMLResponse(unit_page_html(score, negative, p.label, indicator))
