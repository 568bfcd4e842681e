"""Official documents (公文): response and request models."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from civgrid.api.schemas.common import MAX_ID

__all__ = ["DocumentIn", "DocumentOut", "ReissueIn", "SeriesCode"]

SeriesCode = Literal["jiaoban", "huizhi", "duban", "yuetan", "wenze", "bulletin"]


class DocumentOut(BaseModel):
    """One stored version of a numbered document (the files are downloaded apart)."""

    id: int
    series: str = Field(description="jiaoban, huizhi, duban, yuetan, wenze, bulletin, …")
    title: str = Field(description="The document's kind in Chinese, e.g. 督办通知单.")
    number: str = Field(description="The document number, e.g. 社创督〔2025〕第012号.")
    version: int = Field(description="1 as first issued; a re-issue adds one.")
    subject_kind: str = Field(description="issue, case, bulletin or team.")
    subject_key: str
    issued_at: datetime
    issued_by: str
    reason: str | None = Field(default=None, description="Why it was re-issued.")
    docx_sha256: str
    pdf_sha256: str
    content_sha256: str
    docx_url: str
    pdf_url: str


class DocumentIn(BaseModel):
    """Issue a document: its series and what it is about (an id)."""

    series: SeriesCode
    key: int = Field(
        ge=1,
        le=MAX_ID,
        description="Issue id (jiaoban, huizhi), notice id (duban), case id (yuetan, wenze) "
        "or bulletin id (bulletin).",
    )


class ReissueIn(BaseModel):
    """Why a document is issued again (the new version says so)."""

    reason: str = Field(min_length=1, max_length=500)
