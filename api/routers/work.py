"""The work pages' plumbing: the navigation bar of the caller, the session renewal, the
to-do queues (待办, ``/queue``) and the Chinese error pages.

``POST /session/renew`` — while a page is used its script renews the session cookie (a
fresh access token for the same account; refused with 401 when the session has expired or
was revoked, and the page then goes to ``/login?next=<the page>``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from civgrid.api.deps import CurrentUser, SettingsDep
from civgrid.grids.accounts.permissions import Role, Scope
from civgrid.maps.nav import nav_html
from civgrid.maps.render import Html

__all__ = ["page_nav", "pages"]

pages = APIRouter(include_in_schema=False)


def page_nav(session: Session, scope: Scope) -> Html:
    """The navigation bar of ``scope``'s account (links it may open, its role and unit)."""
    unit_name = None
    if scope.role is Role.unit_handler and scope.actor.unit:
        from sqlalchemy import select

        from civgrid.grids.boundaries.models import Unit

        unit_name = session.scalar(select(Unit.name).where(Unit.key == scope.actor.unit))
    return nav_html(
        str(scope.role), scope.actor.who, leader=scope.actor.leader, unit_name=unit_name
    )


@pages.post("/session/renew")
def renew_session(request: Request, user: CurrentUser, settings: SettingsDep) -> Any:
    """A fresh session cookie for the logged-in account (the page is in use)."""
    from civgrid.api.routers.auth import _with_session_cookie

    return _with_session_cookie(JSONResponse({"renewed": True}), settings, user)
