"""Campaigns (专项行动): the city profile's list, and each one's report (JSON, xlsx, page).

Readable by the roles that read every score (the report compares the whole county).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from civgrid.api.deps import ScopeDep, SessionDep
from civgrid.api.routers.scoring import XLSX, now
from civgrid.api.schemas import ERRORS_READ, CampaignInfoOut, CampaignReportOut
from civgrid.grids.core.calendar import local_zone
from civgrid.grids.scoring.score import Period

router = APIRouter(prefix="/api/v1", tags=["campaigns"], responses=ERRORS_READ)
pages = APIRouter(include_in_schema=False)

KeyPath = Annotated[str, Path(description="Campaign key (city.campaigns[].key).", max_length=32)]
PeriodQuery = Annotated[
    str | None,
    Query(description="YYYY-MM, YYYYQn, YYYY or YYYY-Www: the days reported (default: this year)."),
]


def _days(period: str | None, request: Request) -> tuple[date, date]:
    if period:
        p = Period.parse(period)
    else:
        today = now(request).astimezone(local_zone()).date()
        p = Period.containing("year", today)
    return p.start, p.end - timedelta(days=1)


def _report(session: Any, key: str, period: str | None, request: Request) -> dict[str, Any]:
    from civgrid.grids.scoring.campaigns import campaign_report, find_campaign

    first, last = _days(period, request)
    return campaign_report(session, find_campaign(key), first, last)


@router.get("/campaigns", summary="The city's campaigns (专项行动)")
def campaigns_list(scope: ScopeDep) -> list[CampaignInfoOut]:
    """Every campaign of the city profile: name, notice clause, windows, categories, goals."""
    from civgrid.grids.core.city import current_city

    scope.require_all_scores()
    return [
        CampaignInfoOut(
            key=c.key,
            name=c.name,
            clause=c.clause,
            goals=list(c.goals),
            windows=c.describe(),
            categories=list(c.categories),
        )
        for c in current_city().campaigns
    ]


@router.get(
    "/campaigns/{key}/report", summary="Campaign report: found and fixed, before and during"
)
def campaign_report_get(
    request: Request, session: SessionDep, scope: ScopeDep, key: KeyPath, period: PeriodQuery = None
) -> CampaignReportOut:
    """Found and fixed problems in each run of the campaign against the stretch before it."""
    scope.require_all_scores()
    return CampaignReportOut.model_validate(_report(session, key, period, request))


@router.get(
    "/campaigns/{key}/report.xlsx",
    summary="Campaign report as xlsx",
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
def campaign_report_xlsx_get(
    request: Request, session: SessionDep, scope: ScopeDep, key: KeyPath, period: PeriodQuery = None
) -> Response:
    """The report as a workbook (sheet 专项行动成效)."""
    from civgrid.grids.scoring.campaigns import campaign_report_xlsx

    scope.require_all_scores()
    report = _report(session, key, period, request)
    return Response(
        campaign_report_xlsx(report),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="campaign-{key}.xlsx"'},
    )


@pages.get("/campaigns/{key}", response_class=HTMLResponse)
def campaign_page(
    request: Request, session: SessionDep, scope: ScopeDep, key: KeyPath, period: PeriodQuery = None
) -> HTMLResponse:
    """专项行动成效对比: the report as a printable Chinese page."""
    from civgrid.maps.scoring_pages import campaign_report_html

    scope.require_all_scores()
    report = _report(session, key, period, request)
    query = f"?period={period}" if period else ""
    return HTMLResponse(
        campaign_report_html(report, xlsx=f"/api/v1/campaigns/{key}/report.xlsx{query}")
    )
