"""The responsibility gap report: ``/responsibility/gaps`` (page) and its JSON.

``GET /api/v1/responsibility/gaps``
    Every unit grid, road section and key site of the active generation without a
    responsible unit or person title, per community and township
    (:func:`civgrid.grids.boundaries.responsibility.responsibility_gaps`).
``GET /responsibility/gaps``
    The same as a command-center page (Chinese).

Both are county-wide: the command center (admin, dispatcher) and viewers only; other
roles get 403.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from civgrid.api.deps import SessionDep, SettingsDep, StoreDep, require
from civgrid.api.schemas import ERRORS_READ, ResponsibilityGapsOut
from civgrid.grids.accounts.permissions import Perm, Role, Scope
from civgrid.grids.core.errors import PermissionDeniedError

router = APIRouter()

#: Account roles that read the county-wide gap report (None: the system actor).
GAP_READERS = (None, Role.admin, Role.dispatcher, Role.viewer)

ListsScope = Annotated[Scope, require(Perm.lists_export)]
AtQuery = Annotated[
    date | None, Query(description="Assignments in force on this day (default: today).")
]


def _check(scope: Scope) -> None:
    if scope.role not in GAP_READERS:
        raise PermissionDeniedError(
            "the responsibility gap report is county-wide: command center and viewers only",
            role=scope.role.value if scope.role else "system",
        )


def _report(store: StoreDep, session: SessionDep, at: date | None) -> dict:
    from civgrid.grids.boundaries.responsibility import responsibility_gaps

    return responsibility_gaps(store, at=at, session=session).to_dict()


@router.get(
    "/api/v1/responsibility/gaps",
    tags=["responsibility"],
    summary="Places without a responsible unit or person title",
    responses=ERRORS_READ,
)
def responsibility_gaps_api(
    store: StoreDep, session: SessionDep, scope: ListsScope, at: AtQuery = None
) -> ResponsibilityGapsOut:
    """责任空白清单: unit grids, road sections and key sites lacking a responsible unit or
    a responsible person (by title), with counts per community and township."""
    _check(scope)
    return ResponsibilityGapsOut.model_validate(_report(store, session, at))


@router.get("/responsibility/gaps", response_class=HTMLResponse, include_in_schema=False)
def responsibility_gaps_page(
    store: StoreDep,
    session: SessionDep,
    settings: SettingsDep,
    scope: ListsScope,
    at: AtQuery = None,
) -> HTMLResponse:
    """责任空白清单 as a command-center page."""
    from civgrid.maps.responsibility_page import responsibility_gaps_html

    _check(scope)
    return HTMLResponse(
        responsibility_gaps_html(_report(store, session, at), county=settings.county_name)
    )
