"""Tagging issues with the campaigns (专项行动) they were reported in.

A campaign of the city profile (:mod:`civgrid.grids.core.campaigns`) tags an issue
when, at the issue's report time (county local time), one of its windows is open,
the issue's category is one of the campaign's (or it lists none) and the issue lies
on one of its places (or it lists none). Tags are rows of
:class:`~civgrid.grids.issues.models.IssueCampaign`, written by
:func:`civgrid.grids.issues.intake.report_issue`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.grids.boundaries.models import Area, KeySite
from civgrid.grids.core.calendar import WorkingCalendar
from civgrid.grids.core.campaigns import Campaign
from civgrid.grids.issues.models import Issue, IssueCampaign

__all__ = ["campaign_keys", "matching_campaigns", "place_kinds", "tag_issue"]


def place_kinds(session: Session, places: Sequence[tuple[str, str]]) -> tuple[dict, dict]:
    """Key-site kinds and area types of ``places`` ((layer, code) pairs), by code."""
    sites = [c for layer, c in places if layer == "key_site"]
    areas = [c for layer, c in places if layer != "key_site"]
    kinds: dict[str, str] = {}
    types: dict[str, str] = {}
    if sites:
        q = select(KeySite.code, KeySite.kind).where(KeySite.code.in_(sites))
        kinds = {code: str(kind) for code, kind in session.execute(q)}
    if areas:
        q = select(Area.code, Area.type).where(Area.code.in_(areas))
        types = {code: str(typ) for code, typ in session.execute(q)}
    return kinds, types


def matching_campaigns(
    session: Session,
    campaigns: Iterable[Campaign],
    *,
    local_time: datetime,
    category: str | None,
    places: Sequence[tuple[str, str]],
) -> list[Campaign]:
    """The campaigns open at ``local_time`` whose categories and places include the issue's."""
    open_now = [c for c in campaigns if c.active_at(local_time) and c.covers_category(category)]
    if not open_now:
        return []
    kinds, types = ({}, {})
    if any(not c.places.everywhere for c in open_now):
        kinds, types = place_kinds(session, places)
    return [c for c in open_now if c.places.matches(places, key_site_kinds=kinds, area_types=types)]


def tag_issue(
    session: Session, issue: Issue, campaigns: Iterable[Campaign], calendar: WorkingCalendar
) -> list[str]:
    """Tag ``issue`` (flushed: it has an id) with the campaigns it was reported in.

    Returns
    -------
    list of str
        The campaign keys added.
    """
    places = [(p.layer, p.code) for p in issue.places]
    found = matching_campaigns(
        session,
        campaigns,
        local_time=calendar.local(issue.reported_at),
        category=issue.category_code,
        places=places,
    )
    if not found:  # the usual case: no query for the tags it already has
        return []
    have = set(campaign_keys(session, issue.id))
    added = [c.key for c in found if c.key not in have]
    session.add_all(IssueCampaign(issue_id=issue.id, campaign_key=k) for k in added)
    return added


def campaign_keys(session: Session, issue_id: int) -> list[str]:
    """The campaigns ``issue_id`` is tagged with, sorted."""
    return sorted(
        session.scalars(
            select(IssueCampaign.campaign_key).where(IssueCampaign.issue_id == issue_id)
        )
    )
