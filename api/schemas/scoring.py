"""Request models of the scoring API (考核)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["ActionIn", "EvaluateIn", "PublishIn"]


class PublishIn(BaseModel):
    """Publish the bulletin of a month (月通报) or a quarter (季度考评)."""

    period: str = Field(description="YYYY-MM or YYYYQn", max_length=16)
    profile: str | None = None


class EvaluateIn(BaseModel):
    """Evaluate the triggers of a period and open cases for new hits."""

    period: str = Field(max_length=16)
    profile: str | None = None


class ActionIn(BaseModel):
    """An action on a case: interview (约谈), public_criticism (通报批评), referral (问责),
    note, close (with a note)."""

    action: Literal["interview", "public_criticism", "referral", "note", "close"]
    note: str | None = Field(None, max_length=2000)
