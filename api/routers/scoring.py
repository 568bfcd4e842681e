"""Scoring (考核): scores, indicators, rankings, 通报 bulletins, negative lists, cases."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["scoring"])
