"""Patrol (巡查): teams, monthly plans, daily routes, leader visits, GPS tracks and coverage."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["patrol"])
