"""Monthly patrol plans (巡查计划): which team visits what, on which day, and why.

The plan of a month (``YYYY-MM``) assigns inspection visits to supervision teams
within their areas:

* **community sampling** — about ``sample_share`` (default 1/3) of the communities
  each month, so that with ``quarter_coverage`` every community is visited at
  least once a quarter (the not-yet-visited communities of the quarter are due
  first, spread over the months left);
* **key sites** — each key site and its zone (400 m) ``key_site_visits_per_month``
  times, one visit per equal part of the month;
* **leaders** — each leader's contracted communities (分包) ``leader_visits_per_month``
  times, one visit in each half of the month (看 at least twice a month);
* **hotspots** — unit grids and road sections with recurrences or overdue issues,
  early in the month;
* **townships** — with ``quarter_coverage``, every township and street (乡镇/街道) is
  inspected at least once a quarter, so none is ranked in the quarterly evaluation
  (季考评) unseen: the townships not yet inspected in the quarter are due first, spread
  over the months left (004 乡村环境提升; 003's town-and-country coverage). The target is
  the township's seat (key site of kind ``township_seat``) if it has one, else a point
  inside it; the team is the one whose area holds that point;
* **field-assessment points** (测评点位) — every must-check point each month, one of
  three stable cohorts of the others (so every point within a quarter), failed points
  (不达标) first (:func:`civgrid.grids.points.sampling.monthly_points`);
* **supervised units** — each unit on a team's list (督导单位) ``unit_visits_per_month``
  times: the unit grid, road section, key site or community it answers for with the
  highest priority that is not already in the plan, by the supervising team.

Priority rises with recurrences, open and overdue issues, a poor last score (given,
else the previous month's published bulletin, else computed by the scoring service)
and the days since the last visit. Only visits that happened count as visits: status
``done``, or a planned visit whose target a GPS track of its day entered. A team
never gets more than its capacity (visits per working day); what does not fit is
reported as unscheduled, with the reason. Ties are broken by a seeded hash, so a
plan is deterministic. Each visit carries its ``reasons`` in plain words. Distances
are metres in the county's metric CRS.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.geo.route import plan_route
from civgrid.grids.boundaries.models import Assignment, Leader, Role, Unit
from civgrid.grids.boundaries.store import Store
from civgrid.grids.core import audit
from civgrid.grids.core import labels as zh
from civgrid.grids.core.actors import SYSTEM_ACTOR, Actor
from civgrid.grids.core.calendar import WorkingCalendar, parse_month
from civgrid.grids.core.campaigns import Campaign
from civgrid.grids.core.city import current_city
from civgrid.grids.core.errors import ConflictError, InvalidInputError, NotFoundError
from civgrid.grids.issues.config import configured_calendar
from civgrid.grids.issues.models import Issue, PlaceSetMember
from civgrid.grids.issues.workflow import KIND, Kind, State
from civgrid.grids.patrol.models import PatrolPlan, PatrolTeam, PatrolVisit
from civgrid.grids.patrol.teams import TeamFinder

__all__ = [
    "PatrolSettings",
    "PlanResult",
    "compute_plan",
    "get_plan",
    "parse_last_scores",
    "parse_month",
    "plan_dict",
    "plan_month",
    "reasons_zh",
    "save_plan",
]

#: The previous month's scores, handed in by the caller (scoring sits above patrol):
#: ``feed(session, store, first_day)`` → (scores by code, what they came from).
ScoresFeed = Callable[[Session, Store, date], tuple[dict[str, float], dict[str, Any]]]


def _city(name: str, default: Any) -> Any:
    """The current city's patrol setting ``name`` (``city.patrol``), else ``default``."""
    return current_city().patrol_defaults().get(name, default)


#: Visit kinds and their Chinese labels (UI; the home is ``grids/core/labels.py``).
KIND_LABELS = zh.PATROL_KIND_LABELS
#: Scheduling order of the kinds (hard requirements first).
KIND_ORDER = {k: i for i, k in enumerate(KIND_LABELS)}


@dataclass(frozen=True)
class PatrolSettings:
    """Cadences, capacity and priority weights of patrol planning (overridable).

    Defaults, first wins: an explicit argument (``PatrolSettings(capacity_per_day=1)``,
    or a key of the mapping given to :meth:`from_dict`, e.g. a request's
    ``settings``), the current city's profile (``city.patrol``, see
    :mod:`civgrid.grids.core.city`; Sheqi's are in ``grids/profiles/sheqi.yaml``),
    the code's default below.

    Attributes
    ----------
    sample_share : float
        Share of communities sampled per month (默认 1/3, the monthly bulletin).
    quarter_coverage : bool
        Every community and every township at least once per calendar quarter.
    key_site_visits_per_month : int
        Visits of each key site (with its 400 m zone) per month.
    leader_visits_per_month : int
        Site inspections (看) of each leader's contracted community per month.
    unit_visits_per_month : int
        Visits of each supervised unit (督导单位) of a team per month.
    capacity_per_day : int or None
        Visits per working day for every team; None uses each team's own capacity.
    working_weekdays : tuple of int
        Working days (Monday = 0).
    holidays : tuple of str
        ISO dates that are not working days.
    hotspot_min_recurrences : int
        Recurrences (sum of ``repeat_count``) making a unit grid or road section a hotspot.
    max_hotspots : int
        Most hotspot visits per month.
    poor_score : float
        A last score below this raises the priority.
    seed : int
        Tie-break seed.
    """

    sample_share: float = field(default_factory=lambda: _city("sample_share", 1 / 3))
    quarter_coverage: bool = field(default_factory=lambda: _city("quarter_coverage", True))
    key_site_visits_per_month: int = field(
        default_factory=lambda: _city("key_site_visits_per_month", 2)
    )
    leader_visits_per_month: int = field(
        default_factory=lambda: _city("leader_visits_per_month", 2)
    )
    unit_visits_per_month: int = field(default_factory=lambda: _city("unit_visits_per_month", 1))
    capacity_per_day: int | None = field(default_factory=lambda: _city("capacity_per_day", None))
    working_weekdays: tuple[int, ...] = field(
        default_factory=lambda: tuple(_city("working_weekdays", (0, 1, 2, 3, 4)))
    )
    holidays: tuple[str, ...] = ()
    hotspot_min_recurrences: int = field(
        default_factory=lambda: _city("hotspot_min_recurrences", 2)
    )
    max_hotspots: int = field(default_factory=lambda: _city("max_hotspots", 12))
    poor_score: float = field(default_factory=lambda: _city("poor_score", 80.0))
    w_recurrence: float = 2.0
    w_open: float = 0.5
    w_overdue: float = 1.5
    w_score: float = 0.2
    w_days: float = 1.0
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        d = asdict(self)
        d["working_weekdays"] = list(self.working_weekdays)
        d["holidays"] = list(self.holidays)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> PatrolSettings:
        """Settings from a mapping (unknown keys are an error)."""
        data = dict(data or {})
        known = set(cls.__dataclass_fields__)
        bad = sorted(set(data) - known)
        if bad:
            raise InvalidInputError(f"unknown patrol setting {bad[0]!r}", field=bad[0])
        if "holidays" in data:
            data["holidays"] = _check_holidays(data["holidays"])
        if "working_weekdays" in data:
            wd = data["working_weekdays"]
            if not isinstance(wd, list | tuple) or not all(
                isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= 6 for x in wd
            ):
                raise InvalidInputError(
                    f"working_weekdays must be a list of weekday numbers 0–6 (Monday = 0), "
                    f"not {wd!r}",
                    field="working_weekdays",
                )
            data["working_weekdays"] = tuple(wd)
        for name, value in data.items():
            kind = _SETTING_TYPES.get(name)
            if kind is None or (value is None and name == "capacity_per_day"):
                continue
            is_num = isinstance(value, int | float) and not isinstance(value, bool)
            ok = {
                "number": is_num and math.isfinite(value),
                "integer": isinstance(value, int) and not isinstance(value, bool),
                "boolean": isinstance(value, bool),
            }[kind]
            if not ok:
                raise InvalidInputError(f"{name} must be a {kind}, not {value!r}", field=name)
        try:
            s = cls(**data)
        except TypeError as exc:  # pragma: no cover - unknown keys are caught above
            raise InvalidInputError(str(exc)) from None
        checks = [
            (
                "sample_share",
                isinstance(s.sample_share, int | float) and 0 < s.sample_share <= 1,
                "a number in (0, 1]",
            ),
            (
                "capacity_per_day",
                s.capacity_per_day is None
                or (isinstance(s.capacity_per_day, int) and s.capacity_per_day >= 1),
                "a positive integer",
            ),
            (
                "key_site_visits_per_month",
                isinstance(s.key_site_visits_per_month, int)
                and 0 <= s.key_site_visits_per_month <= 31,
                "an integer 0–31",
            ),
            (
                "leader_visits_per_month",
                isinstance(s.leader_visits_per_month, int) and 0 <= s.leader_visits_per_month <= 31,
                "an integer 0–31",
            ),
            (
                "unit_visits_per_month",
                isinstance(s.unit_visits_per_month, int) and 0 <= s.unit_visits_per_month <= 31,
                "an integer 0–31",
            ),
            (
                "max_hotspots",
                isinstance(s.max_hotspots, int) and s.max_hotspots >= 0,
                "a non-negative integer",
            ),
        ]
        for name, ok, what in checks:
            if not ok:
                raise InvalidInputError(f"{name} must be {what}", field=name)
        return s


#: Type of each scalar setting (checked before planning: bad values are 422, never 500).
_SETTING_TYPES = {
    "sample_share": "number",
    "quarter_coverage": "boolean",
    "key_site_visits_per_month": "integer",
    "leader_visits_per_month": "integer",
    "unit_visits_per_month": "integer",
    "capacity_per_day": "integer",
    "hotspot_min_recurrences": "integer",
    "max_hotspots": "integer",
    "poor_score": "number",
    "w_recurrence": "number",
    "w_open": "number",
    "w_overdue": "number",
    "w_score": "number",
    "w_days": "number",
    "seed": "integer",
}


def _check_holidays(value: Any) -> tuple[str, ...]:
    """``settings.holidays`` as ISO date strings; anything else names the field."""
    if not isinstance(value, list | tuple):
        raise InvalidInputError(
            f"holidays must be a list of dates YYYY-MM-DD, not {value!r}", field="holidays"
        )
    out = []
    for i, h in enumerate(value):
        try:
            out.append(date.fromisoformat(h).isoformat())
        except (TypeError, ValueError):
            raise InvalidInputError(
                f"holidays[{i}] {h!r} is not a date YYYY-MM-DD", field="holidays"
            ) from None
    return tuple(out)


@dataclass
class _Target:
    layer: str
    code: str
    name: str
    lon: float
    lat: float
    community_code: str | None
    team: str
    team_reason: str | None = None


@dataclass
class _Req:
    target: _Target
    kind: str
    priority: float
    reasons: list[str]
    window: tuple[date, date]
    leader_key: str | None = None
    tiebreak: str = ""


@dataclass
class PlanResult:
    """A computed plan (not yet stored)."""

    month: str
    settings: PatrolSettings
    visits: list[dict[str, Any]] = field(default_factory=list)
    unscheduled: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "month": self.month,
            "settings": self.settings.to_dict(),
            "summary": self.summary,
            "visits": [_jsonable_visit(v) for v in self.visits],
            "unscheduled": self.unscheduled,
        }


def _jsonable_visit(v: dict[str, Any]) -> dict[str, Any]:
    out = dict(v)
    out["day"] = v["day"].isoformat()
    out["reasons_zh"] = reasons_zh(v["reasons"])
    return out


_LAYER_ZH = {**zh.LAYER_LABELS, "community": zh.AREA_TYPE_LABELS["community"]}
_ROLE_ZH = {
    "responsible unit": zh.ROLE_LABELS["responsible"],
    "lead unit": zh.ROLE_LABELS["lead"],
    "road chief": zh.ROLE_LABELS["road_chief"] + "单位",
}
_ORDINAL = {"first": "1", "second": "2"}
_T = zh.PATROL_REASON_TEMPLATES
#: The reasons as stored (English, machine-readable) → their Chinese wording (UI, CLI;
#: the wordings are the templates of ``grids/core/labels.py``).
_REASON_ZH: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"hotspot: (\d+) recurrences"), lambda m: _T["hotspot"].format(m[1])),
    (
        re.compile(r"(\d+) open issues \((\d+) overdue\)"),
        lambda m: _T["open_issues"].format(m[1], m[2]),
    ),
    (re.compile(r"poor last score (\S+)"), lambda m: _T["poor_score"].format(m[1])),
    (re.compile(r"never visited"), lambda m: _T["never_visited"]),
    (re.compile(r"last visit (-?\d+) days ago"), lambda m: _T["last_visit"].format(m[1])),
    (
        re.compile(r"leader (\S+) (first|second|#\d+) visit of (\d+) \(contracted community\)"),
        lambda m: _T["leader"].format(m[1], _ORDINAL.get(m[2], m[2].lstrip("#")), m[3]),
    ),
    (
        re.compile(r"key site cadence (\d+)/(\d+) per month \(with its (\d+) m zone\)"),
        lambda m: _T["key_site"].format(m[1], m[2], m[3]),
    ),
    (
        re.compile(r"quarter coverage due \(month (\d+) of 3, (\d+) left\)"),
        lambda m: _T["quarter"].format(m[1], m[2]),
    ),
    (re.compile(r"monthly sample \(priority (\S+)\)"), lambda m: _T["sample"].format(m[1])),
    (
        re.compile(r"township quarter coverage due \(month (\d+) of 3, (\d+) left\)"),
        lambda m: _T["township_quarter"].format(m[1], m[2]),
    ),
    (
        re.compile(
            r"supervised unit (\S+) ?(.*?) \((responsible unit|lead unit|road chief) of "
            r"this (\w+)\), visit (\d+) of (\d+) this month"
        ),
        lambda m: _T["supervised_unit"].format(
            m[1], m[2], _LAYER_ZH.get(m[4], m[4]), _ROLE_ZH[m[3]], m[5], m[6]
        ),
    ),
    (re.compile(r"must-check point \(every month\)"), lambda m: _T["point_must_check"]),
    (
        re.compile(r"point sample: cohort (\d+) of 3 \(every point each quarter\)"),
        lambda m: _T["point_cohort"].format(m[1]),
    ),
    (re.compile(r"failed its last inspection: re-visit first"), lambda m: _T["point_failed"]),
    (
        re.compile(r"capacity: team (\S+) is full \((\d+) visits/day\) in the window"),
        lambda m: _T["capacity"].format(m[1], m[2]),
    ),
    (
        re.compile(r"outside every supervision area: nearest team (\S+) \((\d+) m\)"),
        lambda m: _T["outside"].format(m[1], m[2]),
    ),
]


def reasons_zh(reasons: list[str] | None) -> list[str]:
    """The Chinese wording of visit reasons (the stored English ones stay the codes).

    Parameters
    ----------
    reasons : list of str
        Reasons as stored with a visit (machine-readable English).

    Returns
    -------
    list of str
        Each reason in Chinese (an unknown reason is returned unchanged).
    """
    out = []
    for r in reasons or []:
        for pat, fmt in _REASON_ZH:
            m = pat.fullmatch(r)
            if m:
                out.append(fmt(m))
                break
        else:
            out.append(r)
    return out


def parse_last_scores(data: Any, *, source: str = "scores") -> dict[str, float]:
    """Last scores from JSON text or a decoded object: ``{code: score 0–100}``.

    Parameters
    ----------
    data : str, bytes or object
        JSON text (a file's content) or the decoded value.
    source : str
        What the scores came from (named in errors, e.g. the file name).

    Returns
    -------
    dict of str to float

    Raises
    ------
    InvalidInputError
        Not JSON, not an object, or a value that is not a number in 0–100 (the
        code is named).
    """
    if isinstance(data, bytes | str):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise InvalidInputError(
                f"{source}: not valid JSON ({exc})（得分文件不是有效的 JSON）", field="scores"
            ) from None
    if not isinstance(data, dict):
        raise InvalidInputError(
            f"{source}: must be a JSON object {{code: score}}, not {type(data).__name__}"
            "（得分文件应为 {代码: 得分} 对象）",
            field="scores",
        )
    out: dict[str, float] = {}
    for code, v in data.items():
        ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        if not ok or not 0 <= v <= 100:
            raise InvalidInputError(
                f"{source}: score of {code} is {v!r}, not a number 0–100"
                f"（{code} 的得分不是 0–100 的数字）",
                field="scores",
            )
        out[str(code)] = float(v)
    return out


def working_days(
    first: date, last: date, s: PatrolSettings, calendar: WorkingCalendar | None = None
) -> list[date]:
    """Working days from ``first`` to ``last`` on the county's one working-day calendar.

    ``calendar`` defaults to the configured one
    (:func:`civgrid.grids.issues.config.configured_calendar`: national holidays,
    the city's override file and profile days, ``CIVGRID_HOLIDAYS``), as for issue
    deadlines: public holidays are off and make-up working days (调休) on.
    ``s.holidays`` are further days off; ``s.working_weekdays`` the normal
    working weekdays. A day of a year the calendar lacks counts on weekends only
    (and the calendar records it, see ``summary["calendar"]``).
    """
    base = calendar or configured_calendar()
    extra = {date.fromisoformat(h) for h in s.holidays}
    weekend = set(range(7)) - set(s.working_weekdays)
    cal = base.replace(extra_holidays=extra, weekend=weekend)
    out = []
    d = first
    while d <= last:
        if cal.is_working_day(d):
            out.append(d)
        d += timedelta(days=1)
    return out


#: How far back a campaign's categories mark a place for the plan (days; a local choice).
CAMPAIGN_LOOKBACK_DAYS = 90


def campaign_boosts(
    session: Session,
    store: Store,
    campaigns: Sequence[Campaign] | None,
    first: date,
    last: date,
) -> dict[tuple[str, str], tuple[float, list[str]]]:
    """Priority raised by the campaigns running from ``first`` to ``last``: (layer, code) → (boost, reasons).

    A campaign raises (by its ``patrol_boost``) its places — the listed areas, key sites
    of its kinds, communities of its area types, every object of its layers — and the
    places (within its places, if it lists any) where issues of its categories were
    reported in the :data:`CAMPAIGN_LOOKBACK_DAYS` before ``first``.
    """  # noqa: E501
    pool = current_city().campaigns if campaigns is None else campaigns
    running = [c for c in pool if c.occurrences(first, last)]
    if not running:
        return {}
    objects: list[tuple[str, str, str | None, str | None]] = []  # layer, code, kind, type
    for layer in ("community", "unit_grid"):
        objects += [
            (layer, a.code, None, str(a.type)) for a in store.areas(layer=layer, session=session)
        ]
    objects += [("road_section", r.code, None, None) for r in store.road_sections(session=session)]
    objects += [("key_site", k.code, k.kind, None) for k in store.key_sites(session=session)]
    since = datetime.combine(first - timedelta(days=CAMPAIGN_LOOKBACK_DAYS), time(0), tzinfo=UTC)
    until = datetime.combine(first, time(0), tzinfo=UTC)
    recent: dict[str, set[tuple[str, str]]] = defaultdict(set)
    rows = session.execute(
        select(Issue.category_code, PlaceSetMember.layer, PlaceSetMember.code)
        .join(Issue, Issue.place_set_id == PlaceSetMember.set_id)
        .where(Issue.reported_at >= since, Issue.reported_at < until)
    )
    for cat, layer, code in rows:
        recent[cat].add((layer, code))
    out: dict[tuple[str, str], tuple[float, list[str]]] = {}
    for c in running:
        pl = c.places
        marked: set[tuple[str, str]] = set()
        in_places = set()
        for layer, code, kind, typ in objects:
            if pl.matches(
                [(layer, code)], key_site_kinds={code: kind or ""}, area_types={code: typ or ""}
            ):
                in_places.add((layer, code))
        if not pl.everywhere:
            marked |= in_places
        if c.categories:
            hit = set().union(*(recent.get(cat, set()) for cat in c.categories))
            marked |= hit & in_places
        for key in marked:
            extra, names = out.get(key, (0.0, []))
            out[key] = (extra + c.patrol_boost, [*names, f"campaign {c.key}: {c.name}"])
    return out


def _tb(seed: int, *parts: str) -> str:
    return hashlib.sha256("|".join([str(seed), *parts]).encode()).hexdigest()[:12]


def _point(geom: Any) -> tuple[float, float]:
    p = geom if geom.geom_type == "Point" else geom.representative_point()
    return float(p.x), float(p.y)


def _issue_stats(session: Session, before: date) -> dict[tuple[str, str], dict[str, int]]:
    """(layer, code) → recurrences, open and overdue issues reported before ``before``."""
    from datetime import UTC, datetime

    cutoff = datetime(before.year, before.month, before.day, tzinfo=UTC)
    rows = session.execute(
        select(
            PlaceSetMember.layer,
            PlaceSetMember.code,
            Issue.state,
            Issue.repeat_count,
            Issue.overdue,
        )
        .join(Issue, Issue.place_set_id == PlaceSetMember.set_id)
        .where(Issue.reported_at < cutoff)
    )
    out: dict[tuple[str, str], dict[str, int]] = defaultdict(
        lambda: {"recurrences": 0, "open": 0, "overdue": 0, "issues": 0}
    )
    for layer, code, state, repeat, overdue in rows:
        st = out[(layer, code)]
        st["issues"] += 1
        st["recurrences"] += int(repeat or 0)
        if KIND[State(state)] is Kind.open:
            st["open"] += 1
            st["overdue"] += int(bool(overdue))
    return out


def _happened(session: Session, *where: Any) -> list[PatrolVisit]:
    """Stored visits matching ``where`` that happened: ``done``, or confirmed by a track.

    A ``planned`` visit counts only when a GPS track of its local day (any team's)
    entered its target; ``missed`` never counts.
    """
    from civgrid.grids.patrol.coverage import visit_confirmations

    q = select(PatrolVisit).where(PatrolVisit.status != "missed", *where)
    visits = list(session.scalars(q))
    planned = [v for v in visits if v.status == "planned"]
    confirmed = visit_confirmations(session, planned) if planned else {}
    return [v for v in visits if v.status == "done" or v.id in confirmed]


def _last_visits(session: Session, before: date) -> dict[tuple[str, str], date]:
    out: dict[tuple[str, str], date] = {}
    for v in _happened(session, PatrolVisit.day < before):
        key = (v.target_layer, v.target_code)
        if key not in out or v.day > out[key]:
            out[key] = v.day
    return out


def _quarter_visited(session: Session, first: date, layer: str = "community") -> set[str]:
    """Codes of ``layer`` (community or township) visited this quarter before ``first``."""
    q_start = date(first.year, 3 * ((first.month - 1) // 3) + 1, 1)
    kinds = (
        ["community_quarter", "community_sample"] if layer == "community" else ["township_quarter"]
    )
    return {
        v.target_code
        for v in _happened(
            session,
            PatrolVisit.target_layer == layer,
            PatrolVisit.kind.in_(kinds),
            PatrolVisit.day >= q_start,
            PatrolVisit.day < first,
        )
    }


#: Key-site kind of a township's seat (乡镇政府驻地): the target of its inspection.
SEAT_KIND = "township_seat"


def _township_requirements(
    session: Session,
    store: Store,
    s: PatrolSettings,
    month: str,
    first: date,
    last_day: date,
    target: Callable[[str, Any, str | None], _Target],
    priority: Callable[[str, str], tuple[float, list[str]]],
) -> list[_Req]:
    """Township visits: those not yet inspected this quarter, spread over its months left."""
    if not s.quarter_coverage:
        return []
    import shapely

    towns = store.areas(layer="township", session=session)
    seats = [k for k in store.key_sites(session=session) if k.kind == SEAT_KIND]
    done = _quarter_visited(session, first, "township")
    k = (first.month - 1) % 3
    cand = []
    for t in towns:
        if t.code in done:
            continue
        seat = next((x for x in seats if t.geom.covers(x.geom)), None)
        # a township without a seat: a point inside it stands for it
        spot = seat.geom if seat is not None else shapely.Point(*_point(t.geom))
        p, why = priority("township", t.code)
        cand.append((-p, _tb(s.seed, month, t.code), t, spot, p, why))
    cand.sort(key=lambda c: (c[0], c[1]))
    must = math.ceil(len(cand) / (3 - k)) if cand else 0
    out = []
    for _, tb, t, spot, p, why in cand[:must]:
        tgt = target("township", _Spot(t.code, t.name, spot), None)
        reason = f"township quarter coverage due (month {k + 1} of 3, {len(cand)} left)"
        out.append(_Req(tgt, "township_quarter", p, [reason, *why], (first, last_day), None, tb))
    return out


@dataclass(frozen=True)
class _Spot:
    """A target named by an object's code and name, at another geometry (a seat)."""

    code: str
    name: str
    geom: Any


def _priority(
    layer: str,
    code: str,
    s: PatrolSettings,
    stats: dict[tuple[str, str], dict[str, int]],
    last: dict[tuple[str, str], date],
    scores: dict[str, float],
    first: date,
    boosts: dict[tuple[str, str], tuple[float, list[str]]] | None = None,
) -> tuple[float, list[str]]:
    st = stats.get((layer, code), {"recurrences": 0, "open": 0, "overdue": 0})
    p = 1.0
    why: list[str] = []
    if boosts and (layer, code) in boosts:
        extra, names = boosts[(layer, code)]
        p += extra
        why.extend(names)
    if st["recurrences"]:
        p += s.w_recurrence * st["recurrences"]
        why.append(f"hotspot: {st['recurrences']} recurrences")
    if st["open"]:
        p += s.w_open * st["open"] + s.w_overdue * st["overdue"]
        why.append(f"{st['open']} open issues ({st['overdue']} overdue)")
    if code in scores and scores[code] < s.poor_score:
        p += s.w_score * (s.poor_score - scores[code])
        why.append(f"poor last score {scores[code]:g}")
    lv = last.get((layer, code))
    if lv is None:
        p += s.w_days * 3
        why.append("never visited")
    else:
        days = (first - lv).days
        p += s.w_days * min(days / 30.0, 3.0)
        why.append(f"last visit {days} days ago")
    return round(p, 3), why


def compute_plan(
    session: Session,
    store: Store,
    month: str,
    settings: PatrolSettings | None = None,
    *,
    last_scores: dict[str, float] | None = None,
    scores_feed: ScoresFeed | None = None,
    calendar: WorkingCalendar | None = None,
    campaigns: Sequence[Campaign] | None = None,
) -> PlanResult:
    """Compute the patrol plan of ``month`` (nothing is stored).

    Parameters
    ----------
    session : Session
    store : Store
        For the current boundaries (areas, key sites, road sections).
    month : str
        ``YYYY-MM``.
    settings : PatrolSettings, optional
        Defaults as documented on :class:`PatrolSettings`.
    last_scores : dict of str to float, optional
        Last score per community or unit-grid code (0–100); below
        ``settings.poor_score`` raises the priority. None (default): what
        ``scores_feed`` gives; where they came from is in ``summary["last_scores"]``.
    scores_feed : callable, optional
        ``feed(session, store, first_day)`` → (scores, info): the previous month's
        scores. Scoring sits above patrol, so the caller passes it in
        (:class:`civgrid.grids.scoring.feeds.LastMonthScores`, under the caller's
        rules). Without either, no scores raise priorities (``source: none``).
    calendar : WorkingCalendar, optional
        The working-day calendar (default: the configured one, :func:`working_days`).
    campaigns : sequence of Campaign, optional
        Campaigns (专项行动; default: the city profile's). Those running in the month
        raise the priority of their places and of places with their categories'
        recent issues (:func:`campaign_boosts`).

    Returns
    -------
    PlanResult
        Visits (team, day, seq, target, kind, priority, reasons), unscheduled
        requirements with the reason, and a summary.

    Raises
    ------
    InvalidInputError
        Bad month or no teams.
    """
    s = settings or PatrolSettings()
    first, last_day = parse_month(month)
    if last_scores is not None:
        scores, scores_info = dict(last_scores), {"source": "given"}
    elif scores_feed is not None:
        scores, scores_info = scores_feed(session, store, first)
    else:
        scores, scores_info = {}, {"source": "none", "reason": "no score feed given"}
    cal = calendar or configured_calendar()
    days = working_days(first, last_day, s, cal)
    missing_years = cal.missing_years(first, last_day)
    if not days:
        raise InvalidInputError(f"no working days in {month}", field="month")
    teams = list(session.scalars(select(PatrolTeam).order_by(PatrolTeam.key)))
    if not teams:
        raise InvalidInputError("no supervision teams: import teams first", field="teams")
    finder = TeamFinder(store, session, teams)
    stats = _issue_stats(session, first)
    boosts = campaign_boosts(session, store, campaigns, first, last_day)
    lastv = _last_visits(session, first)
    quarter_done = _quarter_visited(session, first)

    def target(layer: str, obj: Any, community: str | None) -> _Target:
        lon, lat = _point(obj.geom)
        team, why = finder.team_of(lon, lat)
        return _Target(layer, obj.code, obj.name, lon, lat, community, team, why)

    communities = {a.code: a for a in store.areas(layer="community", session=session)}
    reqs: list[_Req] = []
    half = first + timedelta(days=(last_day.day - 1) // 2)

    # leaders' contracted communities: one visit per part of the month
    contracts = session.execute(
        select(Leader.key, Assignment.object_code)
        .join(Leader, Leader.id == Assignment.leader_id)
        .where(
            Assignment.role == Role.contract,
            Assignment.object_layer == "community",
            Assignment.in_force_during(first, last_day),
        )
        .order_by(Leader.key, Assignment.object_code)
    ).all()
    nl = s.leader_visits_per_month
    for lkey, ccode in contracts if nl else []:
        if ccode not in communities:
            continue
        t = target("community", communities[ccode], ccode)
        p, why = _priority("community", ccode, s, stats, lastv, scores, first, boosts)
        for i, win in enumerate(_windows(first, last_day, nl)):
            ordinal = {0: "first", 1: "second"}.get(i, f"#{i + 1}")
            reqs.append(
                _Req(
                    t,
                    "leader_inspection",
                    p + 10.0,
                    [f"leader {lkey} {ordinal} visit of {nl} (contracted community)", *why],
                    win,
                    lkey,
                    _tb(s.seed, month, lkey, ccode, str(i)),
                )
            )

    # key sites and their zones
    nk = max(0, s.key_site_visits_per_month)
    for ks in store.key_sites(session=session):
        t = target("key_site", ks, None)
        p, why = _priority("key_site", ks.code, s, stats, lastv, scores, first, boosts)
        for i, win in enumerate(_windows(first, last_day, nk) if nk else []):
            reqs.append(
                _Req(
                    t,
                    "key_site",
                    p + 5.0,
                    [
                        f"key site cadence {i + 1}/{nk} per month "
                        f"(with its {ks.zone_radius_m:.0f} m zone)",
                        *why,
                    ],
                    win,
                    tiebreak=_tb(s.seed, month, ks.code, str(i)),
                )
            )

    # hotspots: unit grids and road sections with recurrences / overdue issues
    hot: list[_Req] = []
    grids = {a.code: a for a in store.areas(layer="unit_grid", session=session)}
    roads = {r.code: r for r in store.road_sections(session=session)}
    for (layer, code), st in stats.items():
        pool = grids if layer == "unit_grid" else roads if layer == "road_section" else None
        if pool is None or code not in pool:
            continue
        if st["recurrences"] < s.hotspot_min_recurrences and not st["overdue"]:
            continue
        obj = pool[code]
        comm = obj.parent_code if layer == "unit_grid" else None
        p, why = _priority(layer, code, s, stats, lastv, scores, first, boosts)
        hot.append(
            _Req(
                target(layer, obj, comm),
                "hotspot",
                p + 5.0,
                why,
                (first, half),
                tiebreak=_tb(s.seed, month, code),
            )
        )
    hot.sort(key=lambda r: (-r.priority, r.tiebreak))
    reqs += hot[: s.max_hotspots]

    # communities: quarter coverage due first, then the highest priorities
    n_comm = len(communities)
    n_sample = math.ceil(s.sample_share * n_comm - 1e-9)
    cand = []
    for code, a in communities.items():
        p, why = _priority("community", code, s, stats, lastv, scores, first, boosts)
        cand.append((p, _tb(s.seed, month, code), code, a, why))
    cand.sort(key=lambda c: (-c[0], c[1]))
    chosen: list[tuple[str, list[str], float, str, Any]] = []
    if s.quarter_coverage:
        k = (first.month - 1) % 3
        left = [c for c in cand if c[2] not in quarter_done]
        must = math.ceil(len(left) / (3 - k)) if left else 0
        for p, tb, _code, a, why in left[:must]:
            chosen.append(
                (
                    "community_quarter",
                    [f"quarter coverage due (month {k + 1} of 3, {len(left)} left)", *why],
                    p,
                    tb,
                    a,
                )
            )
    picked = {c[4].code for c in chosen}
    for p, tb, code, a, why in cand:
        if len(chosen) >= n_sample:
            break
        if code in picked:
            continue
        chosen.append(("community_sample", [f"monthly sample (priority {p:g})", *why], p, tb, a))
    for kind, why, p, tb, a in chosen:
        reqs.append(_Req(target("community", a, a.code), kind, p, why, (first, last_day), None, tb))

    # townships (乡镇/街道): each inspected once a quarter, before the quarter is ranked
    reqs += _township_requirements(
        session,
        store,
        s,
        month,
        first,
        last_day,
        target,
        lambda layer, code: _priority(layer, code, s, stats, lastv, scores, first, boosts),
    )

    # field-assessment points (测评点位): must-check monthly, a third of the rest
    point_reqs = _point_requirements(session, s, month, first, last_day, half, target)
    reqs += point_reqs

    # supervised units (督导单位): the places each answers for, by the supervising team
    pools = {
        "unit_grid": grids,
        "road_section": roads,
        "key_site": {k.code: k for k in store.key_sites(session=session)},
        "community": communities,
    }
    unit_reqs, unit_skipped = _unit_requirements(
        session,
        s,
        month,
        first,
        last_day,
        teams,
        pools,
        reqs,
        lambda layer, code: _priority(layer, code, s, stats, lastv, scores, first, boosts),
    )
    reqs += unit_reqs

    visits, unscheduled = _schedule(reqs, teams, days, s)
    _order_days(visits, {t.key: t for t in teams})
    visits.sort(key=lambda v: (v["day"], v["team_key"], v["seq"]))
    by_kind: dict[str, int] = defaultdict(int)
    for v in visits:
        by_kind[v["kind"]] += 1
    load: dict[str, int] = defaultdict(int)
    for v in visits:
        load[v["team_key"]] += 1
    sampled = sorted(
        {v["target_code"] for v in visits if v["kind"] in ("community_quarter", "community_sample")}
    )
    summary = {
        "month": month,
        "working_days": len(days),
        "calendar": {"missing_years": missing_years},
        "campaigns": sorted({n for _, names in boosts.values() for n in names}),
        "communities": n_comm,
        "communities_sampled": len(sampled),
        "sample_share": round(len(sampled) / n_comm, 3) if n_comm else 0.0,
        "sampled_codes": sampled,
        "visits": len(visits),
        "by_kind": dict(sorted(by_kind.items())),
        "by_team": dict(sorted(load.items())),
        "unscheduled": len(unscheduled),
        "last_scores": {
            **scores_info,
            "scores": len(scores),
            "poor": sorted(c for c, v in scores.items() if v < s.poor_score),
        },
        "supervised_units": {"visits": by_kind.get("supervised_unit", 0), "skipped": unit_skipped},
        "points": {
            "wanted": len(point_reqs),
            "visits": by_kind.get("assessment_point", 0),
            "codes": sorted({v["target_code"] for v in visits if v["kind"] == "assessment_point"}),
        },
    }
    return PlanResult(month, s, visits, unscheduled, summary)


def _point_requirements(
    session: Session,
    s: PatrolSettings,
    month: str,
    first: date,
    last_day: date,
    half: date,
    target: Callable[[str, Any, str | None], _Target],
) -> list[_Req]:
    """One visit of each field-assessment point the month samples
    (:func:`civgrid.grids.points.sampling.monthly_points`).

    Every must-check point (必查点) each month and one of three stable cohorts of the
    others, so each point is visited within every quarter (004: "每月按照三分之一左右的比例
    对社区（行政村）网格和实地考察点位进行抽查"). A point whose last inspection failed
    (不达标) is re-visited first: a higher priority and the first half of the month.
    """
    from civgrid.grids.boundaries.models import AssessmentPoint
    from civgrid.grids.points.compliance import statuses
    from civgrid.grids.points.sampling import cohort_of, monthly_points

    points = {p.code: p for p in session.scalars(select(AssessmentPoint))}
    if not points:
        return []
    must = {c for c, p in points.items() if p.must_check}
    failed = {
        c
        for c, st in statuses(session, points.values()).items()
        if st.compliance == "non_compliant"
    }
    cohorts = cohort_of(c for c in points if c not in must)
    out = []
    for code in monthly_points(sorted(points), must, first.year, first.month, failed):
        p = points[code]
        why = (
            ["must-check point (every month)"]
            if code in must
            else [f"point sample: cohort {cohorts[code] + 1} of 3 (every point each quarter)"]
        )
        prio, window = 4.0, (first, last_day)
        if code in failed:
            why.append("failed its last inspection: re-visit first")
            prio, window = 8.0, (first, half)
        out.append(
            _Req(
                target("assessment_point", p, p.community_code),
                "assessment_point",
                prio,
                why,
                window,
                tiebreak=_tb(s.seed, month, "point", code),
            )
        )
    return out


#: Roles by which a unit answers for a place (order: most direct first).
_UNIT_ROLES = (Role.responsible, Role.lead, Role.road_chief)
_UNIT_LAYERS = ("unit_grid", "road_section", "key_site", "community")
_ROLE_WORDS = {"responsible": "responsible unit", "lead": "lead unit", "road_chief": "road chief"}


def _unit_requirements(
    session: Session,
    s: PatrolSettings,
    month: str,
    first: date,
    last_day: date,
    teams: list[PatrolTeam],
    pools: dict[str, dict[str, Any]],
    planned: list[_Req],
    priority: Any,
) -> tuple[list[_Req], list[dict[str, Any]]]:
    """Visits of each team's supervised units: the best place each answers for.

    A place already in the plan for the same team this month is not visited twice;
    a unit with no such place left (or none at all) is reported in ``skipped``.
    """
    n = s.unit_visits_per_month
    wanted = {k: t for t in teams for k in (t.unit_keys or [])}
    if not n or not wanted:
        return [], []
    rows = session.execute(
        select(
            Unit.key, Unit.name, Assignment.role, Assignment.object_layer, Assignment.object_code
        )
        .join(Unit, Unit.id == Assignment.unit_id)
        .where(
            Unit.key.in_(sorted(wanted)),
            Assignment.role.in_(_UNIT_ROLES),
            Assignment.object_layer.in_(_UNIT_LAYERS),
            Assignment.in_force_during(first, last_day),
        )
        .order_by(Unit.key, Assignment.object_layer, Assignment.object_code)
    ).all()
    places: dict[str, dict[tuple[str, str], str]] = defaultdict(dict)
    names: dict[str, str] = {}
    for ukey, uname, role, layer, code in rows:
        names[ukey] = uname
        layer = str(getattr(layer, "value", layer))
        role = str(getattr(role, "value", role))
        if code in pools.get(layer, {}):
            places[ukey].setdefault((layer, code), role)  # the first (most direct) role
    taken = {(r.target.team, r.target.layer, r.target.code) for r in planned}
    out: list[_Req] = []
    skipped: list[dict[str, Any]] = []
    for ukey in sorted(wanted):
        team = wanted[ukey]
        if not places.get(ukey):
            skipped.append(
                {
                    "team_key": team.key,
                    "unit_key": ukey,
                    "reason": "answers for no unit grid, road section, key site or community",
                }
            )
            continue
        cands = []
        for (layer, code), role in places[ukey].items():
            if (team.key, layer, code) in taken:
                continue
            p, why = priority(layer, code)
            order = _UNIT_LAYERS.index(layer)
            cands.append((-p, order, _tb(s.seed, month, ukey, code), layer, code, role, p, why))
        cands.sort()
        if not cands:
            skipped.append(
                {
                    "team_key": team.key,
                    "unit_key": ukey,
                    "reason": "every place it answers for is already in this month's plan",
                }
            )
            continue
        for i, (_, _, tb, layer, code, role, p, why) in enumerate(cands[:n]):
            obj = pools[layer][code]
            lon, lat = _point(obj.geom)
            comm = (
                code if layer == "community" else obj.parent_code if layer == "unit_grid" else None
            )
            tgt = _Target(layer, code, obj.name, lon, lat, comm, team.key)
            taken.add((team.key, layer, code))
            out.append(
                _Req(
                    tgt,
                    "supervised_unit",
                    p,
                    [
                        f"supervised unit {ukey} {names.get(ukey, '')} "
                        f"({_ROLE_WORDS.get(role, role)} of this {layer}), "
                        f"visit {i + 1} of {n} this month",
                        *why,
                    ],
                    (first, last_day),
                    tiebreak=tb,
                )
            )
    return out, skipped


def _windows(first: date, last: date, n: int) -> list[tuple[date, date]]:
    """``n`` consecutive windows splitting the month as evenly as possible."""
    span = (last - first).days + 1
    out = []
    for i in range(n):
        a = first + timedelta(days=span * i // n)
        b = first + timedelta(days=span * (i + 1) // n - 1)
        out.append((a, b))
    return out


def _schedule(
    reqs: list[_Req], teams: list[PatrolTeam], days: list[date], s: PatrolSettings
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    cap = {t.key: (s.capacity_per_day or t.capacity_per_day) for t in teams}
    load: dict[tuple[str, date], int] = defaultdict(int)
    visits: list[dict[str, Any]] = []
    unscheduled: list[dict[str, Any]] = []
    # hard windows first (narrow before wide), then kind order, then priority
    reqs = sorted(
        reqs,
        key=lambda r: (
            (r.window[1] - r.window[0]).days,
            KIND_ORDER[r.kind],
            -r.priority,
            r.tiebreak,
        ),
    )
    for r in reqs:
        team = r.target.team
        # no two visits of the same target by the same team on the same day
        taken = {
            v["day"] for v in visits if v["team_key"] == team and v["target_code"] == r.target.code
        }
        free = [
            d
            for d in days
            if r.window[0] <= d <= r.window[1] and load[(team, d)] < cap[team] and d not in taken
        ]
        reasons = list(r.reasons)
        if r.target.team_reason:
            reasons.append(r.target.team_reason)
        if not free:
            unscheduled.append(
                {
                    "team_key": team,
                    "target_layer": r.target.layer,
                    "target_code": r.target.code,
                    "kind": r.kind,
                    "window": [r.window[0].isoformat(), r.window[1].isoformat()],
                    "reasons": [
                        *reasons,
                        f"capacity: team {team} is full ({cap[team]} visits/day) in the window",
                    ],
                }
            )
            continue
        # hotspots as early as possible; the rest on the least loaded day (then earliest)
        day = free[0] if r.kind == "hotspot" else min(free, key=lambda d: (load[(team, d)], d))
        load[(team, day)] += 1
        visits.append(
            {
                "team_key": team,
                "day": day,
                "seq": 0,
                "target_layer": r.target.layer,
                "target_code": r.target.code,
                "target_name": r.target.name,
                "community_code": r.target.community_code,
                "kind": r.kind,
                "leader_key": r.leader_key,
                "priority": r.priority,
                "reasons": reasons,
                "lon": r.target.lon,
                "lat": r.target.lat,
            }
        )
    visits.sort(key=lambda v: (v["day"], v["team_key"], -v["priority"], v["target_code"]))
    return visits, unscheduled


def _order_days(visits: list[dict[str, Any]], teams: dict[str, PatrolTeam]) -> None:
    """Number each team-day's visits in route order from the team base (seq 1…)."""
    groups: dict[tuple[str, date], list[dict[str, Any]]] = defaultdict(list)
    for v in visits:
        groups[(v["team_key"], v["day"])].append(v)
    for (tk, _), vs in groups.items():
        t = teams[tk]
        r = plan_route((t.base_lon, t.base_lat), [(v["lon"], v["lat"]) for v in vs])
        for seq, i in enumerate(r.order, 1):
            vs[i]["seq"] = seq


def get_plan(session: Session, month: str) -> PatrolPlan:
    """The stored plan of ``month``.

    Raises
    ------
    NotFoundError
        No plan for that month.
    """
    parse_month(month)
    plan = session.scalars(select(PatrolPlan).where(PatrolPlan.month == month)).first()
    if plan is None:
        raise NotFoundError(f"no patrol plan for {month}", kind="plan", key=month)
    return plan


def _plan_counts(visits: list[Any], team_of: Any) -> dict[str, Any]:
    """Audited size of a plan: visits in all and per team."""
    by_team: dict[str, int] = defaultdict(int)
    for v in visits:
        by_team[team_of(v)] += 1
    return {"visits": len(visits), "by_team": dict(sorted(by_team.items()))}


def save_plan(
    session: Session, result: PlanResult, *, replace: bool = False, actor: Actor = SYSTEM_ACTOR
) -> PatrolPlan:
    """Store a computed plan (audited: ``patrol.plan.commit``, or ``patrol.plan.replace``).

    Parameters
    ----------
    session : Session
        The caller commits.
    result : PlanResult
    replace : bool
        Replace an existing plan of the month if none of its visits has started
        (status other than ``planned``).
    actor : Actor
        Who stores it (default: the system, for batch jobs). The audit record
        holds the visit counts (in all, per team) of the old and the new plan.

    Raises
    ------
    ConflictError
        A plan exists and ``replace`` is false, or it has started.
    """
    old = session.scalars(select(PatrolPlan).where(PatrolPlan.month == result.month)).first()
    if old is not None:
        if not replace:
            raise ConflictError(
                f"a patrol plan for {result.month} exists; replace it explicitly (CLI --replace, "
                f"API replace=true)（{result.month} 已有巡查计划，如需替换请加 --replace）",
                kind="plan",
                key=result.month,
            )
        started = [v.id for v in old.visits if v.status != "planned"]
        if started:
            raise ConflictError(
                f"the plan for {result.month} has started ({len(started)} visits done or "
                "missed); it cannot be replaced",
                kind="plan",
                key=result.month,
            )
        before = _plan_counts(old.visits, lambda v: v.team_key)
        session.delete(old)
        session.flush()
    else:
        before = None
    plan = PatrolPlan(
        month=result.month, settings=result.settings.to_dict(), summary=result.summary
    )
    for v in result.visits:
        plan.visits.append(
            PatrolVisit(
                team_key=v["team_key"],
                day=v["day"],
                seq=v["seq"],
                target_layer=v["target_layer"],
                target_code=v["target_code"],
                community_code=v["community_code"],
                kind=v["kind"],
                leader_key=v["leader_key"],
                priority=v["priority"],
                reasons=v["reasons"],
                status="planned",
            )
        )
    session.add(plan)
    session.flush()
    audit.record(
        session,
        actor,
        "patrol.plan.replace" if before is not None else "patrol.plan.commit",
        "patrol_plan",
        result.month,
        before=before,
        after=_plan_counts(result.visits, lambda v: v["team_key"]),
    )
    return plan


def plan_month(
    session: Session,
    store: Store,
    month: str,
    settings: PatrolSettings | None = None,
    *,
    last_scores: dict[str, float] | None = None,
    scores_feed: ScoresFeed | None = None,
    commit: bool = False,
    replace: bool = False,
    actor: Actor = SYSTEM_ACTOR,
) -> PlanResult:
    """Compute the plan of ``month`` and, with ``commit``, store it (see :func:`save_plan`)."""
    result = compute_plan(
        session, store, month, settings, last_scores=last_scores, scores_feed=scores_feed
    )
    if commit:
        save_plan(session, result, replace=replace, actor=actor)
    return result


def plan_dict(plan: PatrolPlan, *, team: str | None = None) -> dict[str, Any]:
    """JSON form of a stored plan (optionally one team's visits)."""
    return {
        "month": plan.month,
        "created_at": plan.created_at.isoformat() if plan.created_at else None,
        "settings": plan.settings,
        "summary": plan.summary,
        "visits": [visit_dict(v) for v in plan.visits if team is None or v.team_key == team],
    }


def visit_dict(v: PatrolVisit) -> dict[str, Any]:
    """JSON form of a planned visit."""
    return {
        "id": v.id,
        "team_key": v.team_key,
        "day": v.day.isoformat(),
        "seq": v.seq,
        "target_layer": v.target_layer,
        "target_code": v.target_code,
        "community_code": v.community_code,
        "kind": v.kind,
        "kind_label": KIND_LABELS.get(v.kind, v.kind),
        "leader_key": v.leader_key,
        "priority": v.priority,
        "reasons": v.reasons,
        "reasons_zh": reasons_zh(v.reasons),
        "status": v.status,
    }
