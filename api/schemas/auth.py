"""Request and response models of the accounts API (账号, tokens, audit log)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "AuditOut",
    "AuditPage",
    "OneTimePassword",
    "PasswordIn",
    "RefreshIn",
    "TokenOut",
    "UserIn",
    "UserOut",
]


class TokenOut(BaseModel):
    """Answer of the token endpoints (RFC 6749 field names)."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int
    refresh_token: str | None = None
    must_change_password: bool = False


class RefreshIn(BaseModel):
    refresh_token: str


class PasswordIn(BaseModel):
    old_password: str = Field(max_length=256)
    new_password: str = Field(max_length=256)


class UserOut(BaseModel):
    """An account (never its password or hash)."""

    username: str
    title: str | None
    role: str
    role_label: str
    unit_key: str | None
    leader_key: str | None
    disabled: bool
    must_change_password: bool
    locked_until: datetime | None
    last_login_at: datetime | None
    password_changed_at: datetime


class UserIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    role: str
    unit_key: str | None = None
    leader_key: str | None = None
    title: str | None = Field(default=None, max_length=200)
    password: str | None = Field(
        default=None, max_length=256, description="Omit: a one-time password is generated."
    )


class OneTimePassword(BaseModel):
    """A generated password, shown once; the user must change it at first login."""

    username: str
    one_time_password: str


class AuditOut(BaseModel):
    id: int
    at: datetime
    who: str
    role: str
    unit: str | None
    action: str
    object_kind: str
    object_key: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    note: str | None
    client: str | None


class AuditPage(BaseModel):
    items: list[AuditOut]
    total: int
