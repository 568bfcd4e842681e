"""The in-app notification centre (通知中心) and the command center's outbox view.

Every logged-in account reads and marks only its own notifications; the public gets 401.
``GET /api/v1/notifications/outbox`` (the command center) counts the outbox by channel and
status. ``/notifications`` is the centre's page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, RedirectResponse

from civgrid.api.deps import CurrentUser, ScopeDep, SessionDep
from civgrid.api.schemas.common import ERRORS_READ, ERRORS_WRITE
from civgrid.api.schemas.notifications import (
    MarkReadIn,
    MarkReadOut,
    NotificationList,
    NotificationOut,
    OutboxCountOut,
)
from civgrid.grids.accounts.permissions import Perm
from civgrid.grids.notify import inbox

__all__ = ["pages", "router"]

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])
pages = APIRouter(include_in_schema=False)


@router.get("", response_model=NotificationList, responses=ERRORS_READ)
def my_notifications(
    user: CurrentUser,
    session: SessionDep,
    unread_only: Annotated[bool, Query()] = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> NotificationList:
    """The caller's in-app notifications and unread count."""
    items = inbox.list_notifications(session, user.username, unread_only=unread_only, limit=limit)
    return NotificationList(
        unread=inbox.unread_count(session, user.username),
        items=[NotificationOut(**vars(i)) for i in items],
    )


@router.post("/read", response_model=MarkReadOut, responses=ERRORS_WRITE)
def mark_read(body: MarkReadIn, user: CurrentUser, session: SessionDep) -> MarkReadOut:
    """Mark the caller's notifications read (``ids``, or all)."""
    n = inbox.mark_read(session, user.username, body.ids, datetime.now(UTC))
    return MarkReadOut(marked=n, unread=inbox.unread_count(session, user.username))


@router.get("/outbox", response_model=list[OutboxCountOut], responses=ERRORS_READ)
def outbox(user: CurrentUser, scope: ScopeDep, session: SessionDep) -> list[OutboxCountOut]:
    """The outbox by channel and status (the command center)."""
    scope.require(Perm.issue_dispatch)
    return [
        OutboxCountOut(channel=c, status=s, count=n)
        for (c, s), n in sorted(inbox.outbox_counts(session).items())
    ]


@pages.get("/notifications", response_class=HTMLResponse)
def centre_page(user: CurrentUser, scope: ScopeDep, session: SessionDep) -> HTMLResponse:
    """The notification centre: the caller's notifications, unread first marked."""
    from civgrid.api.routers.work import page_nav
    from civgrid.maps.notify_page import notification_page

    items = inbox.list_notifications(session, user.username, limit=200)
    unread = inbox.unread_count(session, user.username)
    return HTMLResponse(notification_page(items, unread, page_nav(session, scope)))


@pages.get("/notifications/outbox", response_class=HTMLResponse)
def outbox_page(user: CurrentUser, scope: ScopeDep, session: SessionDep) -> HTMLResponse:
    """The command center's outbox view: counts, and the messages given up or failing."""
    from civgrid.api.routers.work import page_nav
    from civgrid.maps.notify_page import outbox_page as page

    scope.require(Perm.issue_dispatch)
    troubles = [
        {
            "subject": r.subject,
            "channel": r.channel,
            "status": r.status,
            "attempts": r.attempts,
            "error": r.last_error,
        }
        for r in inbox.troubles(session)
    ]
    return HTMLResponse(page(inbox.outbox_counts(session), troubles, page_nav(session, scope)))


@pages.post("/notifications/read")
def centre_mark_all(user: CurrentUser, session: SessionDep) -> RedirectResponse:
    """Mark all the caller's notifications read (the page's button)."""
    inbox.mark_read(session, user.username, None, datetime.now(UTC))
    return RedirectResponse("/notifications", status_code=303)
