"""The monthly red/black list (红黑榜) of street-front shops (门前五包).

``GET /api/v1/shops/red-black?month=``
    The month's red list, black list and street ranking
    (:func:`civgrid.grids.issues.redblack.red_black_list`).
``GET /api/v1/shops/red-black.xlsx?month=``
    The same as a workbook (sheets 商户 and 街道（路）).
``GET /shops/red-black?month=``
    The same as a page (Chinese), for the command center and the street offices.

The list is published (the notices publish 红黑榜), so every role that reads scores
reads it (``score.read``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from civgrid.api.deps import SessionDep, SettingsDep, require
from civgrid.api.schemas import ERRORS_READ, RedBlackOut
from civgrid.grids.accounts.permissions import Perm, Scope

router = APIRouter()

ScoreScope = Annotated[Scope, require(Perm.score_read)]
MonthQuery = Annotated[
    str | None,
    Query(
        pattern=r"^\d{4}-\d{2}$",
        description="The month, YYYY-MM (local time; default: the last full month).",
    ),
]
SizeQuery = Annotated[int, Query(ge=1, le=200, description="Shops on each list.")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _month(month: str | None) -> str:
    if month:
        return month
    from civgrid.grids.core.calendar import local_zone

    today = datetime.now(local_zone()).date()
    y, m = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{y:04d}-{m:02d}"


def _list(session: SessionDep, month: str | None, size: int):
    from civgrid.grids.issues.redblack import red_black_list

    return red_black_list(session, _month(month), size=size)


@router.get(
    "/api/v1/shops/red-black",
    tags=["shops"],
    summary="The month's red/black list of shops and streets (红黑榜)",
    responses=ERRORS_READ,
)
def red_black_api(
    session: SessionDep, scope: ScoreScope, month: MonthQuery = None, size: SizeQuery = 10
) -> RedBlackOut:
    """门前五包红黑榜: shops without an issue in the month (红榜), shops by demerit
    (黑榜), and every street by issues per shop."""
    return RedBlackOut.model_validate(_list(session, month, size).to_dict())


@router.get(
    "/api/v1/shops/red-black.xlsx",
    tags=["shops"],
    summary="The red/black list as xlsx",
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
def red_black_xlsx_get(
    session: SessionDep, scope: ScoreScope, month: MonthQuery = None, size: SizeQuery = 10
) -> Response:
    """The list as a workbook: sheet 商户 (red, then black) and sheet 街道（路）."""
    from civgrid.grids.issues.redblack import red_black_xlsx

    rb = _list(session, month, size)
    return Response(
        red_black_xlsx(rb),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="red-black-{rb.month}.xlsx"'},
    )


@router.get("/shops/red-black", response_class=HTMLResponse, include_in_schema=False)
def red_black_page(
    session: SessionDep,
    settings: SettingsDep,
    scope: ScoreScope,
    month: MonthQuery = None,
    size: SizeQuery = 10,
) -> HTMLResponse:
    """门前五包红黑榜 as a page."""
    from civgrid.maps.redblack_page import red_black_html

    rb = _list(session, month, size)
    return HTMLResponse(red_black_html(rb.to_dict(), county=settings.county_name))
