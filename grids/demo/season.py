"""A realistic season of issues on the demo county, run through the ordinary domain code.

:func:`simulate` plays ``days`` days of supervision work event by event, on a
simulated clock (the :class:`~civgrid.grids.issues.config.IssueConfig` clock is
replaced while it runs): grid workers, inspectors, citizens and the media
report problems; the owner units accept and fix them (some late); inspectors
re-inspect (some fixes fail and are returned); the command center sorts
triage, decides extensions; every morning the deadline check issues 督办
notices and escalates. Every step is a call of :mod:`civgrid.grids.issues.service`,
so the data has exactly the shape real use produces.

What makes it realistic
-----------------------
* Categories weighted as in the notices: the nine hard items (cigarette
  butts, garbage blind spots, parking, intersections, public toilets…) and
  street order dominate; shop-front duties and markets follow.
* Hotspots: a dozen places (markets, the HSR station, busy intersections,
  back alleys) keep producing the same category, so closed problems come
  back as recurrences (反弹回潮) and open ones collect duplicates.
* Work rhythm: fewer reports at weekends and on holidays (the working-day
  calendar), more during the city profile's campaigns (``city.campaigns``: Sheqi's
  1st–5th of the month, Friday-afternoon clean-ups, traffic months…), and then
  more of the campaign's categories.
* Units differ in reliability: some are often overdue, get 督办 notices and
  escalate; about one fix in seven fails re-inspection.

The random generator is seeded: the same seed and data give the same season.
"""

from __future__ import annotations

import heapq
import itertools
import math
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import shapely
from sqlalchemy.orm import Session

from civgrid.grids.core import labels as zh
from civgrid.grids.core.actors import Actor
from civgrid.grids.core.errors import DomainError
from civgrid.grids.issues import service as svc
from civgrid.grids.issues.config import IssueConfig
from civgrid.grids.issues.photos import PhotoInput
from civgrid.grids.issues.workflow import State

__all__ = ["CATEGORY_WEIGHTS", "SOURCE_WEIGHTS", "SimulationReport", "simulate"]

#: Relative frequency of categories (the nine hard items and street order first).
CATEGORY_WEIGHTS: dict[str, float] = {
    "cigarette_butts": 12,
    "garbage_blind_spot": 9,
    "illegal_parking": 9,
    "street_vending": 9,
    "illegal_flyers": 7,
    "dumping": 6,
    "shopfront_cleanliness": 5,
    "shopfront_order": 5,
    "main_intersection": 4,
    "parking_bays": 4,
    "public_toilet": 4,
    "green_belt_litter": 4,
    "dog_nuisance": 3,
    "market_surroundings": 3,
    "market_order": 3,
    "graffiti": 3,
    "wires_banners": 2,
    "stairwell_clutter": 2,
    "crosswalk_yielding": 2,
    "red_light_running": 2,
    "urban_river": 1.5,
    "water_body_pollution": 1,
    "hsr_station": 1.5,
    "taxi": 1,
    "illegal_structures": 1,
    "shopfront_facade": 1,
    "shopfront_greening": 1,
    "shopfront_civility": 1,
}

#: Where reports come from.
SOURCE_WEIGHTS: dict[str, float] = {
    "grid_worker": 30,
    "field_supervision": 28,
    "citizen_complaint": 15,
    "unannounced_visit": 8,
    "referral": 5,
    "simulated_assessment": 5,
    "mystery_inspector": 5,
    "media_exposure": 4,
}

_REPORTER_ROLE = {
    "grid_worker": "grid_worker",
    "field_supervision": "inspector",
    "unannounced_visit": "inspector",
    "mystery_inspector": "inspector",
    "simulated_assessment": "inspector",
    "citizen_complaint": "citizen",
    "referral": "command_center",
    "media_exposure": "command_center",
}

#: Categories found at key sites of a kind, and along roads.
_SITE_CATEGORIES = {
    "market": ["market_order", "market_surroundings", "street_vending", "garbage_blind_spot"],
    "hsr_station": ["hsr_station", "taxi", "illegal_parking", "cigarette_butts"],
    "public_toilet": ["public_toilet"],
    "bus_station": ["taxi", "illegal_parking", "cigarette_butts"],
}
_ROAD_CATEGORIES = {
    "illegal_parking",
    "main_intersection",
    "parking_bays",
    "crosswalk_yielding",
    "red_light_running",
    "street_vending",
    "shopfront_order",
    "shopfront_cleanliness",
    "shopfront_facade",
    "illegal_flyers",
    "cigarette_butts",
    "wires_banners",
}

_PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00"
    b"\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe"
    b"\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82"
)  # a 1×1 PNG: the "fix photo"


@dataclass
class SimulationReport:
    """What :func:`simulate` produced."""

    start: datetime
    end: datetime
    reports: int = 0
    states: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    recurrences: int = 0
    returns: int = 0
    notices: int = 0
    escalations: int = 0
    extensions: int = 0
    triaged: int = 0
    errors: Counter[str] = field(default_factory=Counter)

    def to_text(self) -> str:
        """A summary for the CLI."""
        lines = [
            f"simulated {self.start:%Y-%m-%d} … {self.end:%Y-%m-%d}: {self.reports} reports",
            "  states: " + ", ".join(f"{k} {v}" for k, v in sorted(self.states.items())),
            f"  duplicates merged {self.duplicates}, recurrences {self.recurrences}, "
            f"returns {self.returns}, triaged {self.triaged}",
            f"  督办 notices {self.notices}, escalations {self.escalations}, "
            f"extensions requested {self.extensions}",
        ]
        if self.errors:
            lines.append(
                "  refused steps: " + ", ".join(f"{k} {v}" for k, v in self.errors.items())
            )
        return "\n".join(lines)


@dataclass(order=True)
class _Event:
    at: datetime
    seq: int
    kind: str = field(compare=False)
    issue_id: int | None = field(default=None, compare=False)
    data: dict[str, Any] = field(default_factory=dict, compare=False)


class _World:
    """The demo county as the simulation sees it: places to report at, hotspots."""

    def __init__(self, store: Any, session: Session, rng: np.random.Generator) -> None:
        self.rng = rng
        self.grids = store.areas(layer="unit_grid", session=session)
        self.roads = store.road_sections(session=session)
        self.sites = store.key_sites(session=session)
        county = store.areas(layer="county", session=session)
        if not self.grids or not county:
            raise DomainError("simulate needs the demo county: run `civgrid demo load --commit`")
        self.county_bounds = county[0].geom.bounds
        self.sites_by_kind: dict[str, list[Any]] = {}
        for s in self.sites:
            self.sites_by_kind.setdefault(s.kind, []).append(s)
        # hotspots: markets, the station, a few intersections and back streets
        picks: list[tuple[tuple[float, float], str]] = []
        for s in self.sites_by_kind.get("market", []) + self.sites_by_kind.get("hsr_station", []):
            cat = str(rng.choice(_SITE_CATEGORIES.get(s.kind, ["dumping"])))
            picks.append((self._near_site(s, 60.0), cat))
        for g in rng.choice(len(self.grids), size=min(8, len(self.grids)), replace=False):
            cat = str(
                rng.choice(
                    [
                        "garbage_blind_spot",
                        "dumping",
                        "street_vending",
                        "illegal_parking",
                        "stairwell_clutter",
                        "dog_nuisance",
                    ]
                )
            )
            picks.append((self._in_polygon(self.grids[int(g)].geom), cat))
        self.hotspots = picks

    def _in_polygon(self, geom: Any) -> tuple[float, float]:
        minx, miny, maxx, maxy = geom.bounds
        for _ in range(200):
            x, y = self.rng.uniform(minx, maxx), self.rng.uniform(miny, maxy)
            if geom.contains(shapely.Point(x, y)):
                return float(x), float(y)
        p = geom.representative_point()
        return float(p.x), float(p.y)

    def _near_site(self, site: Any, metres: float) -> tuple[float, float]:
        c = site.geom.centroid
        return _jitter(self.rng, float(c.x), float(c.y), metres)

    def place_for(self, category: str) -> tuple[float, float]:
        """A plausible point for a report of ``category``."""
        for kind, cats in _SITE_CATEGORIES.items():
            if category in cats and self.sites_by_kind.get(kind) and self.rng.random() < 0.7:
                sites = self.sites_by_kind[kind]
                return self._near_site(sites[int(self.rng.integers(len(sites)))], 150.0)
        if category in _ROAD_CATEGORIES and self.roads and self.rng.random() < 0.7:
            road = self.roads[int(self.rng.integers(len(self.roads)))]
            p = shapely.line_interpolate_point(road.geom, float(self.rng.random()), normalized=True)
            return _jitter(self.rng, float(p.x), float(p.y), 8.0)
        grid = self.grids[int(self.rng.integers(len(self.grids)))]
        return self._in_polygon(grid.geom)

    def outside(self) -> tuple[float, float]:
        """A point a few kilometres outside the county (ends in triage)."""
        _minx, miny, maxx, maxy = self.county_bounds
        return float(maxx + self.rng.uniform(0.03, 0.08)), float(self.rng.uniform(miny, maxy))


def _jitter(rng: np.random.Generator, lon: float, lat: float, metres: float) -> tuple[float, float]:
    r = metres * math.sqrt(float(rng.random()))
    a = float(rng.uniform(0, 2 * math.pi))
    dlat = r * math.sin(a) / 111_000.0
    dlon = r * math.cos(a) / (111_320.0 * math.cos(math.radians(lat)))
    return lon + dlon, lat + dlat


#: How much likelier a campaign's categories are while it runs (a local choice).
CAMPAIGN_CATEGORY_BOOST = 2.0


def _campaign_categories(running: list[Any]) -> tuple[str, ...]:
    """The categories the running campaigns look for (sorted, unique)."""
    return tuple(sorted({cat for c in running for cat in c.categories}))


def _boosted(cats: list[str], p: np.ndarray, boost: tuple[str, ...]) -> np.ndarray:
    """Category probabilities with the campaign's categories made likelier."""
    w = np.array([CAMPAIGN_CATEGORY_BOOST if c in boost else 1.0 for c in cats]) * p
    return w / w.sum()


def _reliability(unit_key: str) -> float:
    """A stable per-unit chance of fixing on time (some units are chronically late)."""
    h = zlib.crc32(unit_key.encode()) % 1000 / 1000.0
    return 0.65 + 0.33 * h


def simulate(
    store: Any,
    days: int = 120,
    seed: int = 20220306,
    *,
    config: IssueConfig | None = None,
    end: datetime | None = None,
    per_day: float = 14.0,
    progress: Callable[[int, int], None] | None = None,
) -> SimulationReport:
    """Simulate ``days`` days of issues on the current boundaries (the demo county).

    Parameters
    ----------
    store : Store
        With the demo county loaded and the snap index built.
    days : int
        Length of the season.
    seed : int
        Random seed (same seed, same season).
    config : IssueConfig, optional
        The city configuration; its clock is replaced by the simulated one.
        Photos go to its ``photo_dir`` (when None, fixes need no photo).
    end : datetime, optional
        Last simulated moment (default: now). The season starts ``days`` before.
    per_day : float
        Mean reports per ordinary working day.
    progress : callable, optional
        ``progress(day_index, days)`` after each simulated day.

    Returns
    -------
    SimulationReport
    """
    base = config or IssueConfig()
    rng = np.random.default_rng(seed)
    end = (end or base.now()).astimezone(UTC)
    start_local = base.calendar.local(end - timedelta(days=days)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    start = start_local.astimezone(UTC)
    now = [start]
    cfg = replace(base, clock=lambda: now[0])
    if cfg.photo_dir is None:
        cfg.workflow = replace(cfg.workflow, require_photo_on_submit=False)
    report = SimulationReport(start, end)
    seq = itertools.count()
    queue: list[_Event] = []

    def push(at: datetime, kind: str, issue_id: int | None = None, **data: Any) -> None:
        if at <= end:
            heapq.heappush(queue, _Event(at, next(seq), kind, issue_id, data))

    cats = list(CATEGORY_WEIGHTS)
    cat_p = np.array([CATEGORY_WEIGHTS[c] for c in cats], dtype=float)
    cat_p /= cat_p.sum()
    sources = list(SOURCE_WEIGHTS)
    src_p = np.array([SOURCE_WEIGHTS[s] for s in sources], dtype=float)
    src_p /= src_p.sum()

    with store.session() as session:
        world = _World(store, session, rng)

    # reports and daily checks for every day of the season
    for d in range(days + 1):
        day_local = start_local + timedelta(days=d)
        day: date = day_local.date()
        working = cfg.calendar.is_working_day(day)
        factor = 1.0 if working else 0.35
        # the city's campaigns (专项行动) that day: more reports, and of their categories
        running = [c for c in cfg.campaigns if c.active_on(day)]
        if running:
            factor *= max(c.intensity for c in running)
        for _ in range(int(rng.poisson(per_day * factor))):
            minute = int(np.clip(rng.normal(11.5 * 60, 150), 7 * 60, 21 * 60))
            at = (day_local + timedelta(minutes=minute)).astimezone(UTC)
            local = day_local + timedelta(minutes=minute)
            inside = [c for c in running if c.active_at(local)]
            push(at, "report", campaign_cats=_campaign_categories(inside))
        push((day_local + timedelta(hours=9)).astimezone(UTC), "check")

    photo = PhotoInput(_PNG, "fix.png", "image/png")
    inspectors = [Actor(f"第{n}督查组", "inspector", f"ST0{n}") for n in range(1, 5)]
    cc = Actor("创文办调度员", "command_center", "CG01")
    n_days = 0

    def nxt(hours_low: float, hours_high: float) -> datetime:
        return now[0] + timedelta(hours=float(rng.uniform(hours_low, hours_high)))

    def morning_after(t: datetime) -> datetime:
        local = cfg.calendar.local(t)
        nd = cfg.calendar.next_working_day(local.date())
        return datetime.combine(nd, time(9, 0), tzinfo=cfg.calendar.tz).astimezone(UTC) + timedelta(
            minutes=int(rng.integers(0, 120))
        )

    def owner_actor(issue: Any) -> Actor:
        key = issue.owner_unit.key if issue.owner_unit is not None else "?"
        return Actor(f"{key}联络员", "unit", key)

    def schedule_fix(issue: Any, first: bool) -> None:
        rel = _reliability(issue.owner_unit.key if issue.owner_unit else "?")
        remaining = max((issue.deadline - now[0]).total_seconds() / 3600.0, 1.0)
        if rng.random() < rel:
            delay = remaining * float(rng.uniform(0.15, 0.95))
        else:
            delay = remaining + float(rng.uniform(4, 24 * 6))
        if first and rng.random() < 0.03:
            push(nxt(1, 6), "extension", issue.id)
        push(now[0] + timedelta(hours=delay), "submit", issue.id)

    def step(ev: _Event, session: Session) -> None:
        if ev.kind == "report":
            source = str(rng.choice(sources, p=src_p))
            if rng.random() < 0.25 and world.hotspots:
                (hlon, hlat), category = world.hotspots[int(rng.integers(len(world.hotspots)))]
                lon, lat = _jitter(rng, hlon, hlat, 45.0)
            else:
                p = cat_p
                if ev.data.get("campaign_cats"):
                    p = _boosted(cats, cat_p, ev.data["campaign_cats"])
                category = str(rng.choice(cats, p=p))
                lon, lat = world.outside() if rng.random() < 0.006 else world.place_for(category)
            role = _REPORTER_ROLE[source]
            who = {
                "grid_worker": f"网格员{int(rng.integers(1, 40)):02d}",
                "inspector": inspectors[int(rng.integers(4))].who,
                "citizen": zh.ACCOUNT_ROLE_LABELS["public"],
                "command_center": cc.who,
            }[role]
            unit = inspectors[int(rng.integers(4))].unit if role == "inspector" else None
            named = role == "citizen" and rng.random() < 0.5
            payload = svc.IssueReport(
                category=category,
                source=source,
                lon=lon,
                lat=lat,
                priority="urgent" if source == "media_exposure" else "normal",
                reported_at=now[0],
                description=None,
                reporter_contact="微信留言" if named else None,
            )
            issue = svc.report_issue(
                session, store, Actor(who, role, unit), payload, config=cfg
            ).issue
            report.reports += 1
            if issue.state == State.merged:
                report.duplicates += 1
            if issue.recurrence_of_id:
                report.recurrences += 1
            if issue.state == State.triage:
                report.triaged += 1
                push(morning_after(now[0]), "triage", issue.id)
            elif issue.state == State.assigned:
                push(nxt(0.5, 10), "accept", issue.id)
                schedule_fix(issue, True)
        elif ev.kind == "triage":
            issue = svc.get_issue(session, ev.issue_id)
            if issue.state != State.triage:
                return
            if issue.triage_reason == "outside_jurisdiction" or rng.random() < 0.08:
                svc.reject(session, cc, issue.id, note="经核实不属本县管辖或不属实", config=cfg)
            else:
                svc.dispatch(session, cc, issue.id, config=cfg, store=store)
                push(nxt(0.5, 8), "accept", issue.id)
                schedule_fix(issue, True)
        elif ev.kind == "accept":
            issue = svc.get_issue(session, ev.issue_id)
            if issue.state in (State.assigned, State.returned):
                svc.accept(session, owner_actor(issue), issue.id, config=cfg)
        elif ev.kind == "submit":
            issue = svc.get_issue(session, ev.issue_id)
            if issue.state in (State.assigned, State.rectifying, State.returned):
                svc.submit(
                    session,
                    owner_actor(issue),
                    issue.id,
                    photos=[photo],
                    measures="已按要求整改到位",
                    config=cfg,
                )
                push(nxt(2, 30), "reinspect", issue.id)
        elif ev.kind == "reinspect":
            issue = svc.get_issue(session, ev.issue_id)
            if issue.state != State.submitted:
                return
            passed = rng.random() < (0.86 if issue.return_count == 0 else 0.93)
            who = inspectors[int(rng.integers(4))]
            if passed:
                svc.reinspect(session, who, issue.id, passed=True, config=cfg)
                if rng.random() < 0.02:
                    push(nxt(24, 24 * 10), "reopen", issue.id)
            else:
                svc.reinspect(
                    session,
                    who,
                    issue.id,
                    passed=False,
                    note="复查仍存在问题，整改不彻底",
                    config=cfg,
                )
                report.returns += 1
                push(nxt(1, 36), "submit", issue.id)
        elif ev.kind == "reopen":
            issue = svc.get_issue(session, ev.issue_id)
            if issue.state == State.closed:
                svc.reopen(session, inspectors[0], issue.id, note="回头看发现问题反弹", config=cfg)
                report.returns += 1
                push(nxt(2, 48), "submit", issue.id)
        elif ev.kind == "extension":
            issue = svc.get_issue(session, ev.issue_id)
            if (
                issue.state in (State.assigned, State.rectifying, State.returned)
                and not issue.extension_pending
            ):
                req = svc.request_extension(
                    session,
                    owner_actor(issue),
                    issue.id,
                    reason="需协调相关部门、采购材料",
                    working_days=3,
                    config=cfg,
                )
                report.extensions += 1
                push(morning_after(now[0]), "decide", issue.id, request=req.id)
        elif ev.kind == "decide":
            issue = svc.get_issue(session, ev.issue_id)
            approve = rng.random() < 0.7
            svc.decide_extension(
                session,
                cc,
                issue.id,
                ev.data["request"],
                approve=approve,
                note="同意延期" if approve else "不予延期，按原时限整改",
                config=cfg,
            )
        elif ev.kind == "check":
            rep = svc.check_deadlines(session, config=cfg)
            report.notices += len(rep.notices)
            report.escalations += len(rep.escalated)
            for issue_id in rep.escalated:  # escalation works: the unit fixes within days
                push(nxt(8, 72), "submit", issue_id)

    session = store._sessionmaker()
    try:
        current_day = None
        while queue:
            ev = heapq.heappop(queue)
            now[0] = ev.at
            day = cfg.calendar.local(ev.at).date()
            if day != current_day:
                session.commit()
                session.expunge_all()  # keep the identity map (and savepoints) small
                if current_day is not None:
                    n_days += 1
                    if progress is not None:
                        progress(n_days, days)
                current_day = day
            try:
                with session.begin_nested():
                    step(ev, session)
            except DomainError as exc:  # a refused step is part of life; record and go on
                report.errors[f"{ev.kind}: {type(exc).__name__}"] += 1
        session.commit()
        from sqlalchemy import func, select

        from civgrid.grids.issues.models import Issue

        for state, n in session.execute(select(Issue.state, func.count()).group_by(Issue.state)):
            report.states[str(state)] = n
        from civgrid.grids.demo.patrol import simulate_leader_visits  # 领导走访记录

        simulate_leader_visits(session, start_local.date(), cfg.calendar.local(end).date())
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    if progress is not None:
        progress(days, days)
    return report
