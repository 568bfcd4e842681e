"""Scores (考核得分) from plain issue records: the pure core of scoring.

Every function here takes plain records (:class:`IssueRecord`) and rules
(:class:`~civgrid.grids.scoring.rules.RuleVersion`) and returns plain results,
so scenarios can be worked out by hand in tests; :mod:`civgrid.grids.scoring.service`
reads the records from the database.

A score is ``base − deductions + bonuses`` (never below 0), with one line item
per deduction or bonus (rule, issue, points, reason in Chinese). Issues count in
the period they were reported in (county time zone); overdue days are counted up to
the closing time, the end of the period or ``as_of`` (now), whichever comes first —
a period still running is scored as it stands, not as if its end had come. A
township is the mean (or weighted mean) of its sampled communities; a township
without community grids is scored from its own issues when it was sampled (a patrol
visited its points, or an inspection found something there). A quarter is the
mean of its months, a year the mean of its quarters (Sheqi: "以四个季度平均成绩为基数");
months (quarters) that have not begun at ``as_of`` are left out.
Ranks are competition ranks (ties share a rank: 1, 2, 2, 4).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from civgrid.grids.core import labels as zh
from civgrid.grids.core.calendar import WorkingCalendar, local_zone
from civgrid.grids.core.errors import InvalidInputError
from civgrid.grids.issues.workflow import ON_CLOCK
from civgrid.grids.scoring.rules import RuleVersion

__all__ = [
    "ADJUSTMENT_KINDS",
    "LEVELS",
    "LEVEL_LABELS",
    "TIER_LABELS",
    "Adjustment",
    "IssueRecord",
    "LineItem",
    "Period",
    "PointRecord",
    "Score",
    "UnitRef",
    "annual_result",
    "bulletin_names",
    "compute_scores",
    "default_sample",
    "named_best",
    "named_worst",
    "pairing_scores",
    "period_points",
    "point_items",
    "rank_scores",
    "sampled_by_points",
    "score_issue",
    "tier_for",
    "until_for",
]

#: Levels a score can be computed for.
LEVELS = ("unit_grid", "community", "township", "road_section", "department")
LEVEL_LABELS = zh.LEVEL_LABELS
TIER_LABELS = zh.TIER_LABELS

#: Sources that are inspections (sampled points), used by :func:`default_sample`.
INSPECTION_SOURCES = frozenset(
    {
        "field_supervision",
        "unannounced_visit",
        "mystery_inspector",
        "simulated_assessment",
        "referral",
        "media_exposure",
    }
)
_DAY = timedelta(days=1)
#: Line items that carry a part's score (a community in a township, a month in a quarter)
#: and what is added to it (a pairing unit's 联建 work, an annual adjustment).
AGGREGATE = frozenset({"community", "period", "pairing_work", "adjustment"})
_CN_QUARTER = {1: "一", 2: "二", 3: "三", 4: "四"}


# --------------------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    """A scoring period of local (county time zone) days: ``start`` inclusive, ``end`` exclusive.

    ``kind`` is ``week``, ``month``, ``quarter``, ``half`` (a half-year: Sheqi assesses
    other-task units “每半年”) or ``year``; ``key`` e.g. ``2026-12``, ``2026Q4``,
    ``2026H2``, ``2026``, ``2026-W50``.
    """

    kind: str
    start: date
    end: date
    key: str

    @classmethod
    def parse(cls, text: str) -> Period:
        """Parse ``YYYY-MM``, ``YYYYQn``, ``YYYY`` or ``YYYY-Www``.

        Examples
        --------
        >>> Period.parse("2026Q4").start, Period.parse("2026Q4").end
        (datetime.date(2026, 10, 1), datetime.date(2027, 1, 1))
        >>> Period.parse("2026-12").previous().key
        '2026-11'
        >>> Period.parse("0000")
        Traceback (most recent call last):
        ...
        civgrid.grids.core.errors.InvalidInputError: period '0000': the year must be 1–9998
        """
        s = str(text).strip().upper()
        if (year := re.match(r"\d{4}", s)) and not 1 <= int(year[0]) <= 9998:
            raise InvalidInputError(f"period {text!r}: the year must be 1–9998", field="period")
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})", s):
            y, mo = int(m[1]), int(m[2])
            if 1 <= mo <= 12:
                return cls._month(y, mo)
        elif m := re.fullmatch(r"(\d{4})Q([1-4])", s):
            y, q = int(m[1]), int(m[2])
            start = date(y, 3 * q - 2, 1)
            end = date(y + 1, 1, 1) if q == 4 else date(y, 3 * q + 1, 1)
            return cls("quarter", start, end, f"{y}Q{q}")
        elif m := re.fullmatch(r"(\d{4})H([12])", s):
            y, h = int(m[1]), int(m[2])
            start = date(y, 1, 1) if h == 1 else date(y, 7, 1)
            end = date(y, 7, 1) if h == 1 else date(y + 1, 1, 1)
            return cls("half", start, end, f"{y}H{h}")
        elif m := re.fullmatch(r"(\d{4})", s):
            y = int(m[1])
            return cls("year", date(y, 1, 1), date(y + 1, 1, 1), str(y))
        elif m := re.fullmatch(r"(\d{4})-W(\d{1,2})", s):
            try:
                start = date.fromisocalendar(int(m[1]), int(m[2]), 1)
            except ValueError:
                pass
            else:
                return cls("week", start, start + 7 * _DAY, f"{m[1]}-W{int(m[2]):02d}")
        raise InvalidInputError(
            f"period {text!r}: expected YYYY-MM, YYYYQn, YYYYHn, YYYY or YYYY-Www",
            field="period",
        )

    @classmethod
    def _month(cls, y: int, mo: int) -> Period:
        end = date(y + 1, 1, 1) if mo == 12 else date(y, mo + 1, 1)
        return cls("month", date(y, mo, 1), end, f"{y}-{mo:02d}")

    def previous(self, n: int = 1) -> Period:
        """The period ``n`` steps before this one (same kind)."""
        p = self
        for _ in range(n):
            p = Period.containing(p.kind, p.start - _DAY)
        return p

    @classmethod
    def containing(cls, kind: str, day: date) -> Period:
        """The period of ``kind`` that contains ``day``."""
        if kind == "month":
            return cls._month(day.year, day.month)
        if kind == "quarter":
            return cls.parse(f"{day.year}Q{(day.month - 1) // 3 + 1}")
        if kind == "half":
            return cls.parse(f"{day.year}H{1 if day.month <= 6 else 2}")
        if kind == "year":
            return cls.parse(str(day.year))
        iso = day.isocalendar()
        return cls.parse(f"{iso.year}-W{iso.week:02d}")

    def parts(self) -> list[Period]:
        """The sub-periods a quarter (its months), a half-year or a year (its quarters) is
        averaged from.

        Examples
        --------
        >>> [p.key for p in Period.parse("2026H2").parts()]
        ['2026Q3', '2026Q4']
        """
        kind = {"quarter": "month", "half": "quarter", "year": "quarter"}.get(self.kind)
        if kind is None:
            return [self]
        out, d = [], self.start
        while d < self.end:
            out.append(Period.containing(kind, d))
            d = out[-1].end
        return out

    def months(self) -> list[Period]:
        """The months inside this period (a month gives itself)."""
        out, d = [], self.start
        while d < self.end:
            out.append(Period._month(d.year, d.month))
            d = out[-1].end
        return out

    @property
    def start_utc(self) -> datetime:
        """First instant (aware UTC) of the period in the county's time zone."""
        return datetime.combine(self.start, time(), local_zone()).astimezone(UTC)

    @property
    def end_utc(self) -> datetime:
        """First instant (aware UTC) after the period in the county's time zone."""
        return datetime.combine(self.end, time(), local_zone()).astimezone(UTC)

    @property
    def label(self) -> str:
        """Chinese label, e.g. ``2026年12月``, ``2026年第四季度``."""
        y = self.start.year
        if self.kind == "month":
            return f"{y}年{self.start.month}月"
        if self.kind == "quarter":
            return f"{y}年第{_CN_QUARTER[(self.start.month - 1) // 3 + 1]}季度"
        if self.kind == "half":
            return f"{y}年{'上' if self.start.month == 1 else '下'}半年"
        if self.kind == "year":
            return f"{y}年度"
        return f"{self.key}（{self.start.isoformat()}起）"


# --------------------------------------------------------------------------- records


#: States in which the rectification deadline is running (as in grids.issues).


@dataclass(frozen=True)
class IssueRecord:
    """What scoring needs of one issue (times aware UTC)."""

    id: int
    category_code: str
    source: str
    reported_at: datetime
    state: str = "assigned"
    priority: str = "normal"
    deadline: datetime | None = None
    closed_at: datetime | None = None
    #: The last report of the rectification (整改上报); the deadline is for it.
    submitted_at: datetime | None = None
    return_count: int = 0
    extension_count: int = 0
    recurrence: bool = False
    media_praise: bool = False
    township_code: str | None = None
    community_code: str | None = None
    unit_grid_code: str | None = None
    road_section_code: str | None = None
    owner_unit_key: str | None = None

    def code_at(self, level: str) -> str | None:
        """The code of the unit answering for this issue at ``level``."""
        if level == "department":
            return self.owner_unit_key
        return getattr(self, f"{level}_code")

    def overdue_days(self, until: datetime, calendar: WorkingCalendar | None = None) -> int:
        """Days past the deadline when the clock stopped: calendar days (rounded up), or
        with ``calendar`` working days.

        The deadline is for reporting the rectification, as the deadline checker
        (``grids.issues.check_deadlines``) sees it: the clock stops at the last report
        (submitted, then closed or awaiting re-inspection), at closing without one, or
        at ``until``; an issue back at work (assigned, rectifying, returned) is still
        on the clock.

        Working days (a profile's ``day_counts: working``) are the county calendar's
        working days after the deadline's local day up to the stop's local day; a stop
        later on the deadline's own working day counts one. A holiday (国庆) or a
        weekend after the deadline adds nothing.

        Examples
        --------
        >>> from datetime import UTC, datetime
        >>> from civgrid.grids.core.calendar import WorkingCalendar
        >>> r = IssueRecord(1, "x", "patrol", datetime(2026, 9, 1, tzinfo=UTC),
        ...                 deadline=datetime(2026, 9, 30, 10, tzinfo=UTC))
        >>> stop = datetime(2026, 10, 9, 2, tzinfo=UTC)  # 9 October, 10:00 Beijing
        >>> r.overdue_days(stop), r.overdue_days(stop, WorkingCalendar.china())
        (9, 2)
        """
        if self.deadline is None:
            return 0
        stops = [until]
        if self.closed_at is not None:
            stops.append(self.closed_at)
        if self.submitted_at is not None and self.state not in ON_CLOCK:
            stops.append(self.submitted_at)
        stop = min(stops)
        late = (stop - self.deadline).total_seconds()
        if late <= 0:
            return 0
        if calendar is None:
            return math.ceil(late / 86400.0)
        # the days the late interval (deadline, stop] enters: a stop at 00:00 enters no day
        first = calendar.local(self.deadline).date()
        last = (calendar.local(stop) - timedelta(microseconds=1)).date()
        n = calendar.working_days_between(first, last)
        if n == 0 and first == last and calendar.is_working_day(first):
            n = 1
        return n

    def closed_on_time(self, until: datetime) -> bool:
        """Closed before ``until``, its rectification reported by the deadline."""
        if self.closed_at is None or self.closed_at >= until:
            return False
        done = self.submitted_at if self.submitted_at is not None else self.closed_at
        return self.deadline is None or min(done, self.closed_at) <= self.deadline


@dataclass(frozen=True)
class UnitRef:
    """A scored unit: ``code``, Chinese ``name``, ``parent`` (a community's township).

    ``grids`` is a community's number of unit grids (the township weight under
    ``weight_by: unit_grids``); None when unknown.
    """

    code: str
    name: str
    parent: str | None = None
    grids: int | None = None


@dataclass(frozen=True)
class LineItem:
    """One deduction (negative ``points``) or bonus (positive) with its reason."""

    rule: str
    points: float
    reason: str
    issue_id: int | None = None
    ref: str | None = None


@dataclass
class Score:
    """A unit's score for a period, explained by its line items."""

    level: str
    code: str
    name: str
    period: str
    base: float
    points: float
    items: list[LineItem] = field(default_factory=list)
    issues: int = 0
    rank: int | None = None
    tier: str | None = None
    sampled: bool = True

    @property
    def aggregated(self) -> bool:
        """Made of parts' scores (a township's communities, a quarter's months)."""
        return bool(self.items) and all(i.rule in AGGREGATE for i in self.items)

    @property
    def deductions(self) -> float:
        """Sum of deductions (positive number); for an aggregate, the net loss."""
        if self.aggregated:
            return round(max(0.0, self.base - self.points), 4)
        return round(-sum(i.points for i in self.items if i.points < 0), 4)

    @property
    def bonuses(self) -> float:
        """Sum of bonuses; for an aggregate, the net gain above the base."""
        if self.aggregated:
            return round(max(0.0, self.points - self.base), 4)
        return round(sum(i.points for i in self.items if i.points > 0), 4)

    def to_dict(self, items: bool = True) -> dict[str, Any]:
        """JSON-ready dict (``tier_label`` in Chinese)."""
        d = {
            "level": self.level,
            "code": self.code,
            "name": self.name,
            "period": self.period,
            "base": self.base,
            "points": self.points,
            "deductions": self.deductions,
            "bonuses": self.bonuses,
            "issues": self.issues,
            "rank": self.rank,
            "tier": self.tier,
            "tier_label": TIER_LABELS.get(self.tier or ""),
            "sampled": self.sampled,
        }
        if items:
            d["items"] = [asdict(i) for i in self.items]
        return d


# --------------------------------------------------------------------------- scoring


def in_period(rec: IssueRecord, period: Period) -> bool:
    """Reported inside the period (county-local days) and a real problem (not rejected/merged)."""
    return period.start_utc <= rec.reported_at < period.end_utc and rec.state not in (
        "rejected",
        "merged",
    )


def until_for(period: Period, as_of: datetime | None = None) -> datetime:
    """Where a period's clock stops: its end, or ``as_of`` (now) while it is running.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> p = Period.parse("2026-12")
    >>> until_for(p, datetime(2026, 12, 6, tzinfo=UTC)).isoformat()
    '2026-12-06T00:00:00+00:00'
    >>> until_for(p, datetime(2027, 2, 1, tzinfo=UTC)) == p.end_utc
    True
    """
    return period.end_utc if as_of is None else min(period.end_utc, as_of)


def score_issue(
    rec: IssueRecord,
    rules: RuleVersion,
    until: datetime,
    *,
    as_of: datetime | None = None,
    category_names: Mapping[str, str] | None = None,
    calendar: WorkingCalendar | None = None,
) -> list[LineItem]:
    """The line items one issue brings to its unit's score.

    Parameters
    ----------
    rec : IssueRecord
    rules : RuleVersion
    until : datetime
        End of the period (aware UTC): overdue days are counted up to it.
    as_of : datetime, optional
        Now (aware UTC): when earlier than ``until``, overdue days and on-time
        closures are counted up to it instead (a period still running).
    category_names : mapping, optional
        Category code → Chinese name, for the reasons (default: the code).
    calendar : WorkingCalendar, optional
        The county's working days: overdue days are counted on it when the rules
        say so (``day_counts: {overdue_deduction: {count: working}}``); without it,
        or when the rules count calendar days, in calendar days.

    Returns
    -------
    list of LineItem
        Deductions (negative) then bonuses (positive), uncapped.
    """
    if as_of is not None:
        until = min(until, as_of)
    d, b = rules.deductions, rules.bonuses
    items = []
    base = d.by_category.get(rec.category_code, d.by_priority.get(rec.priority, d.per_issue))
    if base:
        cat = (category_names or {}).get(rec.category_code, rec.category_code)
        items.append(LineItem("issue", -base, f"发现问题（{cat}）", rec.id))
    if (extra := d.by_source.get(rec.source)) is not None and extra:
        src = source_label(rec.source)
        items.append(LineItem("source", -extra, f"问题来源加重扣分（{src}）", rec.id))
    working = calendar if rules.counts_working("overdue_deduction") else None
    days = min(rec.overdue_days(until, working), d.max_overdue_days)
    if days and d.per_overdue_day:
        unit = "个工作日" if working is not None else "天"
        items.append(
            LineItem("overdue", -round(d.per_overdue_day * days, 4), f"超期{days}{unit}", rec.id)
        )
    if rec.recurrence and d.per_recurrence:
        items.append(LineItem("recurrence", -d.per_recurrence, "问题反弹回潮", rec.id))
    if rec.return_count and d.per_return:
        items.append(
            LineItem(
                "return",
                -round(d.per_return * rec.return_count, 4),
                f"整改被退回{rec.return_count}次",
                rec.id,
            )
        )
    if rec.extension_count and d.per_extension:
        items.append(
            LineItem(
                "extension",
                -round(d.per_extension * rec.extension_count, 4),
                f"延期{rec.extension_count}次",
                rec.id,
            )
        )
    if b.on_time_closure and rec.closed_on_time(until):
        items.append(LineItem("on_time_closure", b.on_time_closure, "按期整改结案", rec.id))
    if b.media_praise and rec.media_praise:
        items.append(LineItem("media_praise", b.media_praise, "媒体正面报道", rec.id))
    return items


# --------------------------------------------------------------------------- points


@dataclass(frozen=True)
class PointRecord:
    """One inspection of a point, as scoring needs it (``inspected_at`` aware UTC).

    ``score`` is the point score (0–100) of the inspection; ``failed`` the failed
    items as ``(code, text)``; ``compliant`` the inspection's verdict (达标).
    """

    code: str
    name: str
    point_type: str
    type_label: str
    inspected_at: datetime
    score: float
    compliant: bool
    must_check: bool = False
    failed: tuple[tuple[str, str], ...] = ()
    community_code: str | None = None
    township_code: str | None = None
    unit_key: str | None = None
    unit_name: str | None = None
    inspection_id: int | None = None

    def code_at(self, level: str) -> str | None:
        """The code of the unit answering for the point at ``level``."""
        if level == "department":
            return self.unit_key
        if level in ("community", "township"):
            return getattr(self, f"{level}_code")
        return None


def period_points(
    points: Iterable[PointRecord], period: Period, as_of: datetime | None = None
) -> list[PointRecord]:
    """Each point's last inspection in ``period`` (before ``as_of``), by point code.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> a = PointRecord("P1", "甲", "market", "市场", datetime(2026, 10, 3, tzinfo=UTC), 50, False)
    >>> b = PointRecord("P1", "甲", "market", "市场", datetime(2026, 10, 9, tzinfo=UTC), 100, True)
    >>> [p.score for p in period_points([b, a], Period.parse("2026-10"))]
    [100]
    """
    last: dict[str, PointRecord] = {}
    for p in points:
        if not (period.start_utc <= p.inspected_at < period.end_utc):
            continue
        if as_of is not None and p.inspected_at >= as_of:
            continue
        old = last.get(p.code)
        key = (p.inspected_at, p.inspection_id or 0)
        if old is None or key > (old.inspected_at, old.inspection_id or 0):
            last[p.code] = p
    return [last[c] for c in sorted(last)]


def point_items(points: Sequence[PointRecord], rules: RuleVersion, level: str) -> dict:
    """Unit code → the line items its points bring at ``level`` (``points`` already
    :func:`period_points`); empty when the rules do not score points there.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> r = RuleVersion(effective_from="2026-01-01",
    ...                 points={"per_point": 2, "local": True, "local_reason": "x"})
    >>> p = PointRecord("P1", "甲市场", "market", "农贸市场", datetime(2026, 10, 3, tzinfo=UTC),
    ...                 75.0, True, community_code="C1")
    >>> point_items([p], r, "community")["C1"][0].points
    -0.5
    """
    rule = rules.points
    out: dict[str, list[LineItem]] = defaultdict(list)
    if rule is None or level not in rule.levels:
        return out
    for p in points:
        code = p.code_at(level)
        lost = rule.deduction(p.score)
        if code and lost:
            verdict = zh.POINT_COMPLIANCE_LABELS["compliant" if p.compliant else "non_compliant"]
            out[code].append(
                LineItem(
                    "point",
                    -lost,
                    f"测评点位失分（{p.name}，{p.type_label}，{verdict}，得分{p.score:g}）",
                    ref=p.code,
                )
            )
    return out


def sampled_by_points(points: Iterable[PointRecord], rules: RuleVersion) -> set[str]:
    """The community and township codes a period's point inspections sample
    (when the rules say points sample: ``points.samples``)."""
    if rules.points is None or not rules.points.samples:
        return set()
    return {c for p in points for c in (p.community_code, p.township_code) if c}


def source_label(code: str) -> str:
    """The Chinese label of an issue source (``media_exposure`` → 媒体曝光)."""
    return zh.SOURCE_LABELS.get(code, code)


def _total(base: float, items: Sequence[LineItem], max_bonus: float) -> tuple[float, list]:
    """``base − deductions + min(bonuses, max_bonus)``, not below 0; the cap as a line item."""
    bonus = sum(i.points for i in items if i.points > 0)
    items = list(items)
    if bonus > max_bonus:
        items.append(LineItem("bonus_cap", -(bonus - max_bonus), f"加分封顶{max_bonus:g}分"))
    return max(0.0, round(base + sum(i.points for i in items), 4)), items


def default_sample(records: Iterable[IssueRecord], period: Period, level: str) -> set[str]:
    """Units at ``level`` with issues from inspection sources in ``period``.

    The stand-in for patrol visits (sampled points) until patrols are wired in.
    """
    return {
        c
        for r in records
        if in_period(r, period) and r.source in INSPECTION_SOURCES and (c := r.code_at(level))
    }


#: The sampled codes of a period, or a function giving them per (month) period.
Sample = Collection[str] | Callable[[Period], Collection[str] | None] | None


def compute_scores(
    records: Iterable[IssueRecord],
    rules: RuleVersion,
    period: Period,
    level: str,
    units: Sequence[UnitRef],
    *,
    communities: Sequence[UnitRef] = (),
    sampled: Sample = None,
    as_of: datetime | None = None,
    category_names: Mapping[str, str] | None = None,
    calendar: WorkingCalendar | None = None,
    points: Sequence[PointRecord] = (),
) -> list[Score]:
    """Scores of ``units`` at ``level`` for ``period``, ranked and tiered.

    Parameters
    ----------
    records : iterable of IssueRecord
        Issues (any period; only those reported in ``period`` count).
    rules : RuleVersion
        The rules in force for the period.
    period : Period
    level : str
        One of :data:`LEVELS`.
    units : sequence of UnitRef
        The units to score (all of them appear in the result).
    communities : sequence of UnitRef
        For ``level="township"``: the communities with their township as ``parent``.
    sampled : collection of str or callable, optional
        Codes of the sampled communities and townships without community grids
        (township level) or units; None → all, except townships without community
        grids, which are sampled when an inspection found something there
        (:func:`default_sample`). A callable gives the codes per month (a quarter
        averages months with their own samples). Units not sampled get no score
        (``sampled=False``, unranked).
    as_of : datetime, optional
        Now (aware UTC). Issues reported later are not known yet; overdue days and
        on-time closures of a period still running are counted up to it
        (:func:`until_for`); months of a quarter that have not begun are left out.
        None → the period is taken as ended.
    category_names : mapping, optional
        Category code → Chinese name, for the reasons of the line items.
    calendar : WorkingCalendar, optional
        The county's working days, for rules counting overdue working days
        (:func:`score_issue`).
    points : sequence of PointRecord, optional
        Point inspections (:class:`PointRecord`, any period): with the rules'
        ``points``, each point's last inspection in a month deducts from the unit
        answering for it (:func:`point_items`)
        and, with ``points.samples``, samples a township without community grids
        when ``sampled`` is None.

    Returns
    -------
    list of Score
        Ordered by rank (best first), then code.
    """
    if level not in LEVELS:
        raise InvalidInputError(f"unknown level {level!r}", field="level")
    if period.kind in ("quarter", "half", "year"):
        return _averaged(
            records,
            rules,
            period,
            level,
            units,
            communities,
            sampled,
            as_of,
            category_names,
            calendar,
            points,
        )
    if callable(sampled):
        sampled = sampled(period)
    pts = period_points(points, period, as_of) if points else []
    by_point = {lvl: point_items(pts, rules, lvl) for lvl in ("community", level)}
    recs = [r for r in records if in_period(r, period) and (as_of is None or r.reported_at < as_of)]
    until = until_for(period, as_of)
    by_unit: dict[str, list[IssueRecord]] = defaultdict(list)
    for r in recs:
        if code := r.code_at(level):
            by_unit[code].append(r)

    def own(u: UnitRef, lvl: str, rs: Sequence[IssueRecord]) -> Score:
        items = [
            i
            for r in sorted(rs, key=lambda x: x.id)
            for i in score_issue(r, rules, until, category_names=category_names, calendar=calendar)
        ]
        items += by_point[lvl].get(u.code, [])
        points, items = _total(rules.base, items, rules.bonuses.max_total)
        return Score(lvl, u.code, u.name, period.key, rules.base, points, items, len(rs))

    scores: list[Score] = []
    if level == "township" and communities:
        by_comm: dict[str, list[IssueRecord]] = defaultdict(list)
        for r in recs:
            if r.community_code:
                by_comm[r.community_code].append(r)
        kids: dict[str, list[UnitRef]] = defaultdict(list)
        for c in communities:
            if c.parent:
                kids[c.parent].append(c)
        weights = _community_weights(rules, communities)
        inspected = default_sample(recs, period, "township") | sampled_by_points(pts, rules)
        for u in units:
            mine = kids.get(u.code, [])
            picked = [c for c in mine if sampled is None or c.code in sampled]
            if mine and not picked:
                scores.append(
                    Score(
                        level,
                        u.code,
                        u.name,
                        period.key,
                        rules.base,
                        rules.base,
                        [],
                        0,
                        sampled=False,
                    )
                )
                continue
            if not mine:  # no community grids: scored from its own sampled points
                s = own(u, level, by_unit.get(u.code, []))
                s.sampled = u.code in (inspected if sampled is None else sampled)
                scores.append(s)
                continue
            parts = [(c, own(c, "community", by_comm.get(c.code, []))) for c in picked]
            total_w = sum(weights.get(c.code, 1.0) for c, _ in parts)
            value = sum(weights.get(c.code, 1.0) * s.points for c, s in parts) / total_w
            items = [
                LineItem(
                    "community",
                    s.points,
                    f"社区得分（权重{weights.get(c.code, 1.0):g}）",
                    ref=c.code,
                )
                for c, s in parts
            ]
            n = sum(s.issues for _, s in parts)
            scores.append(
                Score(level, u.code, u.name, period.key, rules.base, round(value, 4), items, n)
            )
    else:
        for u in units:
            s = own(u, level, by_unit.get(u.code, []))
            s.sampled = sampled is None or u.code in sampled
            scores.append(s)
    return rank_scores(scores, rules)


def _community_weights(rules: RuleVersion, communities: Sequence[UnitRef]) -> dict[str, float]:
    """Each community's weight in its township (empty: a plain mean).

    ``community_weights`` first, then with ``weight_by: unit_grids`` the number of
    unit grids of the community (Sheqi's "加权平均值"; the weights are a local
    choice, see ``grids/profiles/sheqi.yaml``), else 1.

    Examples
    --------
    >>> from civgrid.grids.scoring.rules import RuleVersion
    >>> r = RuleVersion(effective_from="2026-01-01",
    ...                 weights={"township": "weighted", "weight_by": "unit_grids"})
    >>> _community_weights(r, [UnitRef("C1", "甲", "T", 3), UnitRef("C2", "乙", "T")])
    {'C1': 3.0, 'C2': 1.0}
    """
    w = rules.weights
    if w.township != "weighted":
        return {}
    out: dict[str, float] = {}
    for c in communities:
        if c.code in w.community_weights:
            out[c.code] = float(w.community_weights[c.code])
        elif w.weight_by == "unit_grids" and c.grids:
            out[c.code] = float(c.grids)
        else:
            out[c.code] = 1.0
    for code, v in w.community_weights.items():
        out.setdefault(code, float(v))
    return out


def pairing_scores(
    community_scores: Sequence[Score],
    pairs: Mapping[str, str],
    work: Mapping[str, float],
    units: Sequence[UnitRef],
    rules: RuleVersion,
    period: Period,
) -> list[Score]:
    """Scores of civilized (pairing, 联建) units: the paired community's score plus the
    unit's 联建 work points.

    Sheqi (004 二、（三）2 三（1））: “县直联建单位的成绩由联建社区网格的考评成绩和联建工作情况
    组成，县直单位参与联建工作情况由社区提供，县指挥部抽查”. Adding the work points (positive or
    negative, as the community reports them) to the community's score is a LOCAL
    reading of “组成” (the notice gives no formula). A unit whose community was not
    sampled is not scored either.

    Parameters
    ----------
    community_scores : sequence of Score
        The period's community scores.
    pairs : mapping
        Unit key → the community code it is paired with.
    work : mapping
        Unit key → 联建 work points in the period (missing: 0).
    units : sequence of UnitRef
        The pairing units (key, name).
    rules : RuleVersion
    period : Period

    Returns
    -------
    list of Score
        Level ``civilized_unit``, ranked and tiered.

    Examples
    --------
    >>> from civgrid.grids.scoring.rules import RuleVersion
    >>> r = RuleVersion(effective_from="2026-01-01")
    >>> c = [Score("community", "C1", "甲社区", "2026Q4", 100, 96.5)]
    >>> [s.points for s in pairing_scores(c, {"U1": "C1"}, {"U1": 1.5},
    ...                                   [UnitRef("U1", "县文广旅游局")], r,
    ...                                   Period.parse("2026Q4"))]
    [98.0]
    """
    by_code = {s.code: s for s in community_scores}
    out = []
    for u in units:
        comm = by_code.get(pairs.get(u.code, ""))
        if comm is None or not comm.sampled:
            unsampled = Score(
                "civilized_unit", u.code, u.name, period.key, rules.base, rules.base, sampled=False
            )
            out.append(unsampled)
            continue
        w = float(work.get(u.code, 0.0))
        items = [
            LineItem("community", comm.points, f"联建社区（{comm.name}）得分", ref=comm.code),
            LineItem("pairing_work", w, "联建工作情况（社区提供）"),
        ]
        points = max(0.0, round(comm.points + w, 4))
        out.append(
            Score("civilized_unit", u.code, u.name, period.key, rules.base, points, items, 0)
        )
    return rank_scores(out, rules)


#: Kinds of recorded adjustments of the annual result (Sheqi 年总评: “综合省、市年度测评反馈
#: 情况，以及领导批示、县指挥部通报、媒体监督、市民投诉等情况”).
ADJUSTMENT_KINDS: dict[str, str] = {
    "provincial_feedback": "省年度测评反馈",
    "city_feedback": "市年度测评反馈",
    "leader_instruction": "领导批示",
    "command_notice": "县指挥部通报",
    "media": "媒体监督",
    "complaint": zh.SOURCE_LABELS["citizen_complaint"],
}


@dataclass(frozen=True)
class Adjustment:
    """A recorded adjustment of a unit's annual result: ``kind`` (see
    :data:`ADJUSTMENT_KINDS`), ``points`` (positive or negative) and the ``reason``."""

    code: str
    kind: str
    points: float
    reason: str


def annual_result(
    year_scores: Sequence[Score],
    adjustments: Iterable[Adjustment],
    rules: RuleVersion,
    base_label: str = "四个季度平均成绩",
) -> list[Score]:
    """The annual result (年总评): the year's score (mean of its quarters) plus the
    recorded adjustments, ranked and tiered again.

    Sheqi (004 二、（三）1 四）: “以四个季度平均成绩为基数，综合省、市年度测评反馈情况，以及领导
    批示、县指挥部通报、媒体监督、市民投诉等情况，分别排名排序”. Adding the adjustment points
    to the base is a LOCAL reading of “综合” (no formula in the notice). A unit not
    scored in the year gets no result; adjustments of unknown kinds are refused.
    The same applies to a quarter (key-task departments) or a half-year (other-task
    units), whose rankings also “综合…领导批示、县指挥部通报、媒体监督、市民投诉等情况”:
    ``base_label`` names the base line item.

    Examples
    --------
    >>> from civgrid.grids.scoring.rules import RuleVersion
    >>> r = RuleVersion(effective_from="2026-01-01")
    >>> y = [Score("township", "T1", "一镇", "2026", 100, 92.0),
    ...      Score("township", "T2", "二镇", "2026", 100, 91.0)]
    >>> out = annual_result(y, [Adjustment("T1", "media", -2.5, "电视台报道")], r)
    >>> [(s.code, s.points, s.rank) for s in out]
    [('T2', 91.0, 1), ('T1', 89.5, 2)]
    """
    by_code: dict[str, list[Adjustment]] = defaultdict(list)
    for a in adjustments:
        if a.kind not in ADJUSTMENT_KINDS:
            raise InvalidInputError(
                f"unknown adjustment kind {a.kind!r}; one of {', '.join(ADJUSTMENT_KINDS)}",
                field="kind",
            )
        by_code[a.code].append(a)
    out = []
    for s in year_scores:
        if not s.sampled:
            out.append(Score(s.level, s.code, s.name, s.period, s.base, s.base, sampled=False))
            continue
        items = [LineItem("period", s.points, base_label, ref=s.period)]
        items += [
            LineItem("adjustment", a.points, f"{ADJUSTMENT_KINDS[a.kind]}：{a.reason}", ref=a.kind)
            for a in by_code.get(s.code, [])
        ]
        points = max(0.0, round(sum(i.points for i in items), 4))
        out.append(Score(s.level, s.code, s.name, s.period, s.base, points, items, s.issues))
    return rank_scores(out, rules)


def _averaged(
    records: Iterable[IssueRecord],
    rules: RuleVersion,
    period: Period,
    level: str,
    units: Sequence[UnitRef],
    communities: Sequence[UnitRef],
    sampled: Sample,
    as_of: datetime | None,
    category_names: Mapping[str, str] | None = None,
    calendar: WorkingCalendar | None = None,
    points: Sequence[Any] = (),
) -> list[Score]:
    """A quarter as the mean of its months, a year as the mean of its quarters.

    Parts that have not begun at ``as_of``, and parts in which nothing was measured (no
    issue reported in the county and no per-month sample: before the system held data),
    are left out; a unit with no part left is not scored (未考核).
    """
    recs = list(records)
    # a part is averaged when it has begun and something was measured in it (an issue
    # reported anywhere in the county, or a patrol sample): months before the system held
    # any data are 未考核, not a full score
    begun = [
        p
        for p in period.parts()
        if (as_of is None or p.start_utc <= as_of) and _measured(p, recs, sampled, points)
    ]
    parts = [
        {
            s.code: s
            for s in compute_scores(
                recs,
                rules,
                p,
                level,
                units,
                communities=communities,
                sampled=sampled,
                as_of=as_of,
                category_names=category_names,
                calendar=calendar,
                points=points,
            )
        }
        for p in begun
    ]
    out = []
    for u in units:
        got = [(p, part[u.code]) for p, part in zip(begun, parts, strict=True)]
        got = [(p, s) for p, s in got if s.sampled]
        if not got:
            out.append(
                Score(level, u.code, u.name, period.key, rules.base, rules.base, sampled=False)
            )
            continue
        value = round(sum(s.points for _, s in got) / len(got), 4)
        items = [LineItem("period", s.points, f"{p.label}得分", ref=p.key) for p, s in got]
        out.append(
            Score(
                level,
                u.code,
                u.name,
                period.key,
                rules.base,
                value,
                items,
                sum(s.issues for _, s in got),
            )
        )
    return rank_scores(out, rules)


def _measured(
    part: Period, records: Sequence[IssueRecord], sampled: Sample, points: Sequence[Any] = ()
) -> bool:
    """Whether anything was measured in ``part``: an issue reported in the county, a
    point inspected, or a per-month sample (patrol visits) naming a unit in one of its
    months."""
    if any(in_period(r, part) for r in records):
        return True
    if any(part.start_utc <= p.inspected_at < part.end_utc for p in points):
        return True
    return callable(sampled) and any(sampled(m) for m in part.months())


def tier_for(points: float, rules: RuleVersion) -> str:
    """``good`` (好), ``fair`` (中) or ``poor`` (差) from the rules' thresholds."""
    if points >= rules.tiers.good:
        return "good"
    if points >= rules.tiers.fair:
        return "fair"
    return "poor"


def rank_scores(scores: list[Score], rules: RuleVersion) -> list[Score]:
    """Set competition ranks (ties share: 1, 2, 2, 4) and tiers of the sampled scores.

    Returns the scores ordered best first (unsampled last), ties by code.
    """
    ranked = sorted((s for s in scores if s.sampled), key=lambda s: (-s.points, s.code))
    prev, rank = None, 0
    for i, s in enumerate(ranked, 1):
        if s.points != prev:
            rank, prev = i, s.points
        s.rank = rank
        s.tier = tier_for(s.points, rules)
    rest = sorted((s for s in scores if not s.sampled), key=lambda s: s.code)
    for s in rest:
        s.rank, s.tier = None, None
    return ranked + rest


def named_worst(scores: Sequence[Score], n: int) -> list[Score]:
    """The units named as the worst: among the bottom ``n`` and below the base score.

    A unit is in the bottom ``n`` when fewer than ``n`` sampled units score
    strictly lower; nobody with a full score is named (a clean season names none),
    and nobody when all units tie (no one did worse than the others).
    """
    ranked = [s for s in scores if s.sampled]
    out = []
    for s in ranked:
        lower = sum(1 for o in ranked if o.points < s.points)
        better = any(o.points > s.points for o in ranked)
        if s.points < s.base and better and lower < n:
            out.append(s)
    return sorted(out, key=lambda s: (s.points, s.code))


def named_best(scores: Sequence[Score], n: int) -> list[Score]:
    """The best ``n`` sampled units (ties at the cut are all named)."""
    ranked = [s for s in scores if s.sampled and s.rank is not None]
    return [s for s in ranked if s.rank <= n]


def bulletin_names(scores: Sequence[Score], best: int, worst: int) -> tuple[list, list]:
    """Who a bulletin names: (best, worst), each at most a third of the ranked units.

    With few ranked units (three townships) the best and the worst would otherwise
    be the same; a unit named worst is never also named best, and a unit of tier
    差 is never praised.
    """
    k = sum(1 for s in scores if s.sampled)
    cap = max(1, k // 3)
    bad = named_worst(scores, min(worst, cap))
    good = [s for s in named_best(scores, min(best, cap)) if s not in bad and s.tier != "poor"]
    return good, bad


def issue_units(records: Iterable[IssueRecord], level: str) -> dict[str, list[IssueRecord]]:
    """Records grouped by their unit code at ``level``."""
    out: dict[str, list[IssueRecord]] = defaultdict(list)
    for r in records:
        if code := r.code_at(level):
            out[code].append(r)
    return out


def scores_by_code(scores: Iterable[Score]) -> Mapping[str, Score]:
    """Index scores by unit code."""
    return {s.code: s for s in scores}
