"""The monthly red/black list (红黑榜) of street-front shops and their streets."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["RedBlackOut", "ShopRecordOut", "StreetRecordOut"]


class ShopRecordOut(BaseModel):
    """One shop's record in the month (门前五包)."""

    code: str
    name: str
    street: str | None
    issues: int = Field(description="Issues snapped to the shop's frontage, reported in the month.")
    reports: int = Field(description="Issues plus the duplicate reports counted on them.")
    open: int
    overdue: int
    demerit: int = Field(description="reports + overdue (the black list's order; a local rule).")


class StreetRecordOut(BaseModel):
    """One street's record in the month."""

    street: str
    shops: int
    issues: int
    overdue: int
    per_shop: float = Field(description="Issues per registered shop (the ranking's key).")


class RedBlackOut(BaseModel):
    """The month's red list, black list and street ranking."""

    month: str
    shops: int = Field(description="Registered shops.")
    red: list[ShopRecordOut]
    black: list[ShopRecordOut]
    streets: list[StreetRecordOut]
