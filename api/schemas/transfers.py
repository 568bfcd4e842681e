"""Progress notes (进展说明) and transfer requests (转办申请): request and response models."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

__all__ = [
    "NoteIn",
    "TransferCountOut",
    "TransferCountsOut",
    "TransferDecisionIn",
    "TransferRequestIn",
    "TransferRequestList",
    "TransferRequestOut",
    "UnitRefOut",
]


class NoteIn(BaseModel):
    """A progress note (JSON, or multipart with ``photos`` files)."""

    note: str = Field(min_length=1, max_length=4000, description="What was done (进展说明).")
    expected_version: int | None = Field(default=None, ge=1)


class TransferRequestIn(BaseModel):
    """A transfer request (转办申请) of the caller's unit."""

    reason: str = Field(min_length=1, max_length=4000, description="Why (required).")
    proposed_unit: str | None = Field(
        default=None, max_length=32, description="Key of the unit proposed as the new owner."
    )
    expected_version: int | None = Field(default=None, ge=1)


class TransferDecisionIn(BaseModel):
    """The command center's decision on a transfer request."""

    decision: Literal["approve", "refuse"]
    unit: str | None = Field(
        default=None,
        max_length=32,
        description="approve: the new owner unit (default: the proposed one).",
    )
    note: str | None = Field(
        default=None, max_length=4000, description="refuse: the reason (required)."
    )


class UnitRefOut(BaseModel):
    key: str
    name: str


class TransferRequestOut(BaseModel):
    """One transfer request and its decision."""

    id: int
    issue_id: int
    state: str = Field(description="pending, approved, refused or lapsed.")
    state_label: str
    requesting_unit: UnitRefOut
    requesting_role: str = Field(description="owner or co_responsible, when asking.")
    proposed_unit: UnitRefOut | None
    reason: str
    requested_at: datetime
    requested_by: str
    decided_at: datetime | None
    decided_by: str | None
    decision_note: str | None
    new_owner_unit: UnitRefOut | None


class TransferRequestList(BaseModel):
    items: list[TransferRequestOut]


class TransferCountOut(BaseModel):
    """One unit's transfer requests (推诿扯皮 statistics)."""

    unit_key: str
    unit_name: str
    requested: int
    approved: int
    refused: int
    repeated: int = Field(description="Asked again on the same issue after a refusal.")
    pending: int


class TransferCountsOut(BaseModel):
    start: datetime | None
    end: datetime | None
    rows: list[TransferCountOut]
