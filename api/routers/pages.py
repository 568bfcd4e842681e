"""Human pages: the command-center home (指挥中心首页)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from civgrid.api.deps import SettingsDep, StoreDep, require
from civgrid.grids.accounts.permissions import Perm, Scope
from civgrid.maps.account_pages import home_page_html

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(
    store: StoreDep, settings: SettingsDep, scope: Annotated[Scope, require(Perm.map_read)]
) -> HTMLResponse:
    """Landing page of the command center, in Chinese (behind login)."""
    with store.session() as session:
        gen = store.active_generation(session)
    return HTMLResponse(
        home_page_html(
            settings.county_name,
            scope.actor.who,
            generation_id=gen.id if gen is not None else None,
            generation_source=gen.source if gen is not None else None,
            generation_created=gen.created if gen is not None else None,
        )
    )
