"""ORM models of accounts (账号): users, roles, tokens, login attempts, the audit log."""

from __future__ import annotations

from civgrid.grids.models import Base

__all__: list[str] = []

_ = Base
