"""The in-app notification centre and the outbox view: response and request models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from civgrid.api.schemas.common import MAX_ID

__all__ = ["MarkReadIn", "MarkReadOut", "NotificationList", "NotificationOut", "OutboxCountOut"]


class NotificationOut(BaseModel):
    """One in-app notification of the caller's account."""

    id: int
    kind: str = Field(description="The event kind (issue_dispatched, issue_notice, …).")
    subject: str = Field(description="What it is about, e.g. issue:17.")
    title: str
    body: str
    at: datetime
    read: bool


class NotificationList(BaseModel):
    """The caller's notifications (newest first) and the unread count."""

    unread: int
    items: list[NotificationOut]


class MarkReadIn(BaseModel):
    """Which notifications to mark read (omitted: all of the caller's)."""

    ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(default=None, max_length=500)


class MarkReadOut(BaseModel):
    marked: int
    unread: int


class OutboxCountOut(BaseModel):
    """How many outbox messages are on a channel in a status."""

    channel: str
    status: str
    count: int
