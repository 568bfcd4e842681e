"""Accounts: login (OAuth2 password flow), tokens, users, the audit log."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["auth"])
