"""Safe dispatch (交办/改派) and bulk reassignment (批量改派): request and response models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from civgrid.api.schemas.common import MAX_ID

__all__ = [
    "BatchItemOut",
    "BatchOut",
    "BulkReassignIn",
    "DispatchOptionsOut",
    "UnitChoiceOut",
]


class UnitChoiceOut(BaseModel):
    """A unit the dispatch form offers."""

    key: str
    name: str
    kind: str
    role: str | None = Field(
        default=None,
        description="How it answers for the place: owner / responsible / lead; null: it does not.",
    )
    role_label: str | None = Field(default=None, description="The role in Chinese.")


class DispatchOptionsOut(BaseModel):
    """What the 交办/改派 form offers for one issue."""

    issue_id: int
    state: str
    current_owner: str | None = Field(description="Key of the current owner unit.")
    suggested: str | None = Field(description="The unit to preselect (the routing's owner).")
    suggested_reason: str | None = Field(description="Why it is suggested, in Chinese.")
    responsible: list[UnitChoiceOut] = Field(
        description="The place's responsible units; any other unit needs a reason (note)."
    )
    units: list[UnitChoiceOut] = Field(description="Every unit an issue may be given to.")


class BulkReassignIn(BaseModel):
    """Reassign a selection of issues to one unit, as one batch."""

    model_config = ConfigDict(extra="forbid")

    issue_ids: list[int] = Field(min_length=1, max_length=500)
    unit: str = Field(min_length=1, max_length=32, description="The target unit key.")
    note: str = Field(min_length=1, max_length=4000, description="Why (required).")
    versions: dict[int, int] | None = Field(
        default=None, description="Issue id → the version the caller saw (stale: that item fails)."
    )


class BatchItemOut(BaseModel):
    """One issue of a batch."""

    issue_id: int = Field(ge=1, le=MAX_ID)
    outcome: str = Field(description="reassigned, skipped, restored, refused or failed.")
    detail: str | None = Field(default=None, description="Why it was skipped, refused or failed.")


class BatchOut(BaseModel):
    """What a bulk reassignment, or its undo, did."""

    batch: str = Field(description="The batch id (undo: POST /api/v1/issue-batches/{batch}/undo).")
    unit: str | None
    counts: dict[str, int]
    items: list[BatchItemOut]
