"""ORM models of accounts (账号): users with roles, and the append-only audit log.

* :class:`User` — one login. ``role`` is an account role
  (:class:`civgrid.grids.accounts.permissions.Role`); a unit handler or inspector names
  a unit (``unit_key``), a leader names a :class:`~civgrid.grids.boundaries.models.Leader`
  (``leader_key``). The password is stored only as an argon2 hash.
  ``token_version`` is raised on disable and password reset, which invalidates
  every token issued before (tokens carry it).
* :class:`AuditRecord` — who (user, role, unit), when, what (action, object
  kind and key), before/after. Updates and deletes are refused, except the
  retention purge (:func:`civgrid.grids.core.audit.purge`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from civgrid.grids.core.db import Base
from civgrid.grids.core.types import UTCDateTime

__all__ = ["User"]


class User(Base):
    """An account (账号): username, role, unit or leader link, password hash, lockout state."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    title: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    unit_key: Mapped[str | None] = mapped_column(String(32))
    leader_key: Mapped[str | None] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    must_change_password: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    token_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    def __repr__(self) -> str:  # never the hash
        return f"<User {self.username} {self.role} disabled={self.disabled}>"
