"""Campaign reports (专项行动成效): found and fixed problems inside each run of a campaign,
against the same length of time just before it.

For every run of the campaign (:meth:`Campaign.occurrences`, e.g. the 1st–5th of a
month, a Friday 14:00–18:00, the whole of April) between two days the report counts,
in the campaign's categories and places:

* ``found`` — issues reported in the run (duplicates merged into another are not new
  problems and are left out);
* ``fixed`` — issues closed as fixed (state ``closed``) in the run;

and the same two numbers for the equally long stretch that ends where the run
starts (``found_before``, ``fixed_before``). Times are the county's local time.
The comparison window is a local choice (the notices ask for results, not a method).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from civgrid.grids.core import labels as zh
from civgrid.grids.core.calendar import local_zone
from civgrid.grids.core.campaigns import Campaign
from civgrid.grids.core.city import current_city
from civgrid.grids.core.errors import NotFoundError
from civgrid.grids.issues.campaigns import place_kinds
from civgrid.grids.issues.models import Issue, PlaceSetMember
from civgrid.grids.issues.workflow import State

__all__ = [
    "campaign_report",
    "campaign_report_xlsx",
    "campaign_section",
    "campaigns_in",
    "find_campaign",
]


def find_campaign(key: str, campaigns: Sequence[Campaign] | None = None) -> Campaign:
    """The campaign ``key`` of the current city (or of ``campaigns``).

    Raises
    ------
    NotFoundError
        No such campaign.
    """
    pool = current_city().campaigns if campaigns is None else campaigns
    for c in pool:
        if c.key == key:
            return c
    known = ", ".join(c.key for c in pool) or "none"
    raise NotFoundError(f"no campaign {key!r} in the city profile (known: {known})（无此专项行动）")


def campaigns_in(
    first: date, last: date, campaigns: Sequence[Campaign] | None = None
) -> list[Campaign]:
    """The campaigns running on some day from ``first`` to ``last``."""
    pool = current_city().campaigns if campaigns is None else campaigns
    return [c for c in pool if c.occurrences(first, last)]


def _aware(t: datetime, tz: tzinfo) -> datetime:
    return t.replace(tzinfo=tz).astimezone(UTC)


def _in_scope(session: Session, campaign: Campaign, issues: list[Issue]) -> list[Issue]:
    """Issues of the campaign's categories and places (whatever the time)."""
    if not issues:
        return []
    places: dict[int, list[tuple[str, str]]] = {}  # per place set (shared by issues)
    wanted = {i.place_set_id for i in issues if i.place_set_id is not None}
    rows = session.execute(
        select(PlaceSetMember.set_id, PlaceSetMember.layer, PlaceSetMember.code)
        .where(PlaceSetMember.set_id.in_(wanted))
        .order_by(PlaceSetMember.id)
    )
    for sid, layer, code in rows:
        places.setdefault(sid, []).append((layer, code))
    out = []
    for i in issues:
        mine = places.get(i.place_set_id, []) if i.place_set_id is not None else []
        kinds, types = place_kinds(session, mine) if not campaign.places.everywhere else ({}, {})
        if campaign.covers_category(i.category_code) and campaign.places.matches(
            mine, key_site_kinds=kinds, area_types=types
        ):
            out.append(i)
    return out


def _counts(
    session: Session, campaign: Campaign, start: datetime, end: datetime, tz: tzinfo
) -> tuple[int, int]:
    a, b = _aware(start, tz), _aware(end, tz)
    q = select(Issue).where(
        or_(
            (Issue.reported_at >= a) & (Issue.reported_at < b),
            (Issue.closed_at >= a) & (Issue.closed_at < b),
        )
    )
    if campaign.categories:
        q = q.where(Issue.category_code.in_(campaign.categories))
    issues = _in_scope(session, campaign, list(session.scalars(q)))
    found = sum(1 for i in issues if a <= i.reported_at < b and i.state != State.merged)
    fixed = sum(
        1
        for i in issues
        if i.state == State.closed and i.closed_at is not None and a <= i.closed_at < b
    )
    return found, fixed


def _change(now: int, before: int) -> float | None:
    return None if before == 0 else round((now - before) / before, 4)


def campaign_report(
    session: Session,
    campaign: Campaign,
    first: date,
    last: date,
    *,
    tz: tzinfo | None = None,
) -> dict[str, Any]:
    """Found and fixed problems in each run of ``campaign`` from ``first`` to ``last``.

    Parameters
    ----------
    session : Session
    campaign : Campaign
    first, last : date
        Local days; runs starting in this range are reported.
    tz : tzinfo, optional
        Default: the county's zone.

    Returns
    -------
    dict
        ``campaign`` (key, name, clause, goals, windows text, categories),
        ``runs`` (one row per run: start, end, found, fixed, before_start,
        found_before, fixed_before) and ``totals`` (sums and relative changes).
    """
    tz = tz or local_zone()
    runs = []
    for start, end in campaign.occurrences(first, last):
        before = start - (end - start)
        found, fixed = _counts(session, campaign, start, end, tz)
        found_b, fixed_b = _counts(session, campaign, before, start, tz)
        runs.append(
            {
                "start": start.isoformat(timespec="minutes"),
                "end": end.isoformat(timespec="minutes"),
                "before_start": before.isoformat(timespec="minutes"),
                "found": found,
                "fixed": fixed,
                "found_before": found_b,
                "fixed_before": fixed_b,
            }
        )
    totals = {
        k: sum(r[k] for r in runs) for k in ("found", "fixed", "found_before", "fixed_before")
    }
    totals["found_change"] = _change(totals["found"], totals["found_before"])
    totals["fixed_change"] = _change(totals["fixed"], totals["fixed_before"])
    return {
        "campaign": {
            "key": campaign.key,
            "name": campaign.name,
            "clause": campaign.clause,
            "goals": list(campaign.goals),
            "windows": campaign.describe(),
            "categories": list(campaign.categories),
        },
        "from": first.isoformat(),
        "to": last.isoformat(),
        "runs": runs,
        "totals": totals,
    }


_COLS = [
    (k, zh.CAMPAIGN_REPORT_LABELS[k])
    for k in ("start", "end", "found", "fixed", "before_start", "found_before", "fixed_before")
]


def campaign_report_xlsx(report: dict[str, Any]) -> bytes:
    """The report as xlsx: one sheet 专项行动成效 (runs, then the totals)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "专项行动成效"
    c = report["campaign"]
    ws.append([f"{c['name']}成效对比（{report['from']}至{report['to']}）"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([f"时段：{c['windows']}"])
    ws.append([h for _, h in _COLS])
    for cell in ws[3]:
        cell.font = Font(bold=True)
    for r in report["runs"]:
        ws.append([r[k] for k, _ in _COLS])
    t = report["totals"]
    ws.append(["合计", "", t["found"], t["fixed"], "", t["found_before"], t["fixed_before"]])
    wb.properties.title = c["name"]
    wb.properties.creator = "civgrid"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def campaign_section(
    session: Session,
    first: date,
    last: date,
    campaigns: Sequence[Campaign] | None = None,
) -> list[dict[str, Any]]:
    """The bulletin's campaign section: one row per campaign running from ``first`` to ``last``.

    Each row: ``key``, ``name``, ``windows`` (Chinese), ``clause`` and the report's
    totals (``found``, ``fixed``, ``found_before``, ``fixed_before``).
    """
    rows = []
    for c in campaigns_in(first, last, campaigns):
        t = campaign_report(session, c, first, last)["totals"]
        rows.append(
            {
                "key": c.key,
                "name": c.name,
                "windows": c.describe(),
                "clause": c.clause,
                **{k: t[k] for k in ("found", "fixed", "found_before", "fixed_before")},
            }
        )
    return rows
