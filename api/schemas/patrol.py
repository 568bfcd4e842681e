"""Request models of the patrol API (巡查)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = ["LeaderVisitIn", "PlanRequest", "VisitOutcome"]


class PlanRequest(BaseModel):
    """Optional body of a plan request: settings overrides and last scores.

    Without ``last_scores`` the previous month's scores are used (its published
    bulletin, else computed); ``summary.last_scores`` says which.
    """

    settings: dict[str, Any] = Field(default_factory=dict)
    last_scores: dict[str, float] | None = None


class VisitOutcome(BaseModel):
    """Outcome of a planned visit."""

    status: Literal["planned", "done", "missed"]
    issue_ids: list[int] = Field(default_factory=list)


class LeaderVisitIn(BaseModel):
    """A leader's visit: 现场办公 (office_hours) or 看 (site_inspection)."""

    kind: Literal["office_hours", "site_inspection"]
    day: date
    area_code: str | None = Field(default=None, max_length=32)
    note: str | None = Field(default=None, max_length=2000)
    findings: str | None = Field(default=None, max_length=4000)
