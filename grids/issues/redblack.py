"""The monthly red/black list (红黑榜) of street-front shops and their streets (门前五包).

A shop's record in a month is the issues snapped to its frontage (place sets with a
member of layer ``shop``, written at intake when a 门前五包 report lies within the owner
rule's distance of the frontage) and reported in that month, local time; merged
reports do not count. ``reports`` adds the duplicate reports counted on those issues
(the same problem reported again while open); ``overdue`` were past their deadline and
``open`` are not yet closed.

The ranking is a **local choice** (the notices publish 红黑榜 but give no formula):

* demerit = reports + overdue issues (a repeated report and an overdue issue each
  count once more);
* **black list** (黑榜): the shops with a demerit, the highest first (ties: more open
  issues, then the code), at most ``size``;
* **red list** (红榜): the shops without an issue in the month, those with the fewest
  issues in the twelve months before first (ties: the code), at most ``size``;
* **streets**: every street with registered shops, by issues per shop (the fewest
  first: the top is the street's red end, the bottom its black end), then issues,
  then the street's name.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from io import BytesIO
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.grids.boundaries.models import Shop
from civgrid.grids.core import labels as zh
from civgrid.grids.core.calendar import local_zone, parse_month
from civgrid.grids.core.spreadsheet import values_only
from civgrid.grids.issues.models import Issue, PlaceSetMember
from civgrid.grids.issues.workflow import State, open_states

__all__ = ["RedBlackList", "ShopRecord", "StreetRecord", "red_black_list", "red_black_xlsx"]

#: Shops on each list unless asked otherwise.
DEFAULT_SIZE = 10


@dataclass(frozen=True)
class ShopRecord:
    """One shop's record in the month."""

    code: str
    name: str
    street: str | None
    issues: int
    reports: int
    open: int
    overdue: int
    last_year: int = 0

    @property
    def demerit(self) -> int:
        """Reports + overdue issues."""
        return self.reports + self.overdue

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return {
            "code": self.code,
            "name": self.name,
            "street": self.street,
            "issues": self.issues,
            "reports": self.reports,
            "open": self.open,
            "overdue": self.overdue,
            "demerit": self.demerit,
        }


@dataclass(frozen=True)
class StreetRecord:
    """One street's record in the month: its shops and their reports (``issues``)."""

    street: str
    shops: int
    issues: int
    overdue: int

    @property
    def per_shop(self) -> float:
        """Issues per registered shop (rounded to 3 decimals)."""
        return round(self.issues / self.shops, 3) if self.shops else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return {
            "street": self.street,
            "shops": self.shops,
            "issues": self.issues,
            "overdue": self.overdue,
            "per_shop": self.per_shop,
        }


@dataclass
class RedBlackList:
    """The month's red and black lists of shops and the street ranking."""

    month: str
    red: list[ShopRecord] = field(default_factory=list)
    black: list[ShopRecord] = field(default_factory=list)
    streets: list[StreetRecord] = field(default_factory=list)
    shops: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return {
            "month": self.month,
            "shops": self.shops,
            "red": [r.to_dict() for r in self.red],
            "black": [r.to_dict() for r in self.black],
            "streets": [r.to_dict() for r in self.streets],
        }


def _utc_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=local_zone())


def _counts(
    session: Session, start: datetime, end: datetime
) -> dict[str, tuple[int, int, int, int]]:
    """Shop code → (issues, reports, open, overdue) reported in [start, end)."""
    rows = session.execute(
        select(PlaceSetMember.code, Issue.state, Issue.overdue, Issue.duplicate_count)
        .join(Issue, Issue.place_set_id == PlaceSetMember.set_id)
        .where(
            PlaceSetMember.layer == "shop",
            Issue.state != State.merged,
            Issue.reported_at >= start,
            Issue.reported_at < end,
        )
    )
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    opened = {str(s) for s in open_states()}
    for code, state, overdue, duplicates in rows:
        c = out[code]
        c[0] += 1
        c[1] += 1 + int(duplicates or 0)
        c[2] += int(str(state) in opened)
        c[3] += int(bool(overdue))
    return {k: (v[0], v[1], v[2], v[3]) for k, v in out.items()}


def red_black_list(session: Session, month: str, *, size: int = DEFAULT_SIZE) -> RedBlackList:
    """The red/black list of ``month`` (``YYYY-MM``, local time).

    Parameters
    ----------
    session : Session
    month : str
    size : int
        Shops on each of the red and black lists.

    Returns
    -------
    RedBlackList

    Raises
    ------
    InvalidInputError
        Not a ``YYYY-MM`` month.
    """
    first, last = parse_month(month)
    start, end = _utc_start(first), _utc_start(last + timedelta(days=1))
    year_ago = _utc_start(date(first.year - 1, first.month, 1))
    now = _counts(session, start, end)
    before = _counts(session, year_ago, start)
    shops = list(session.scalars(select(Shop).order_by(Shop.code)))
    records = [
        ShopRecord(
            s.code,
            s.name,
            s.street,
            *now.get(s.code, (0, 0, 0, 0)),
            last_year=before.get(s.code, (0, 0, 0, 0))[1],
        )
        for s in shops
    ]
    black = sorted(
        (r for r in records if r.demerit > 0), key=lambda r: (-r.demerit, -r.open, r.code)
    )
    red = sorted((r for r in records if r.issues == 0), key=lambda r: (r.last_year, r.code))
    by_street: dict[str, list[ShopRecord]] = defaultdict(list)
    for r in records:
        if r.street:
            by_street[r.street].append(r)
    streets = [
        StreetRecord(name, len(rs), sum(r.reports for r in rs), sum(r.overdue for r in rs))
        for name, rs in by_street.items()
    ]
    streets.sort(key=lambda s: (s.per_shop, s.issues, s.street))
    return RedBlackList(month, red[:size], black[:size], streets, len(shops))


def red_black_xlsx(rb: RedBlackList) -> bytes:
    """The list as an xlsx workbook: sheet 商户 (red, then black) and sheet 街道（路）.

    Every cell is a value (:func:`civgrid.grids.core.spreadsheet.values_only`).
    """
    from openpyxl import Workbook

    L = zh.RED_BLACK_LABELS
    F = zh.SHOP_FIELD_LABELS
    wb = Workbook()
    ws = wb.active
    ws.title = L["shops"]
    ws.append([f"{L['title']} {rb.month}"])
    ws.append([L["list"], L["rank"], F["code"], F["name"], F["street"], L["issues"],
               L["reports"], L["overdue"], L["open"]])  # fmt: skip  # as the sheet shows it
    for key in ("red", "black"):
        for i, r in enumerate(getattr(rb, key), 1):
            row = [L[key], i, r.code, r.name, r.street or ""]
            ws.append([*row, r.issues, r.reports, r.overdue, r.open])
    st = wb.create_sheet(L["streets"])
    st.append([f"{L['title']} {rb.month}"])
    st.append([L["rank"], F["street"], L["shop_count"], L["issues"], L["overdue"], L["per_shop"]])
    for i, s in enumerate(rb.streets, 1):
        st.append([i, s.street, s.shops, s.issues, s.overdue, s.per_shop])
    buf = BytesIO()
    values_only(wb).save(buf)
    return buf.getvalue()
