"""Scoring on the database: issue records, units, scores, indicators, cases, dashboards.

A thin layer over the pure core (:mod:`civgrid.grids.scoring.score`,
:mod:`civgrid.grids.scoring.indicators`, :mod:`civgrid.grids.scoring.triggers`): it reads
issues as :class:`~civgrid.grids.scoring.score.IssueRecord`, the scored units from
the current boundaries, and stores accountability cases with their history.

Which units a month scores (sampling) is the service's option or, by default, the
profile's (``sampling`` of the rule version): ``all`` (every unit), ``patrol``
(communities and points visited by patrol visits marked done — :func:`patrol_sample`),
``issues`` (where an inspection found something) or ``visited`` (both); ``sampled``
maps a period key to explicit codes. Everything is computed as of ``now`` (a clock): a period still
running is scored as it stands.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import civgrid.grids.scoring.events  # noqa: F401  (case history → domain events)
from civgrid.grids.boundaries.models import Assignment, Leader, RoadSection, Role, Unit
from civgrid.grids.core import audit
from civgrid.grids.core import labels as zh
from civgrid.grids.core.actors import Actor
from civgrid.grids.core.calendar import WorkingCalendar, local_zone
from civgrid.grids.core.errors import ConflictError, InvalidInputError, NotFoundError
from civgrid.grids.issues.models import Issue
from civgrid.grids.patrol.models import PatrolVisit
from civgrid.grids.scoring.indicators import (
    GROUPS,
    Indicators,
    compute_indicators,
    rank_indicators,
)
from civgrid.grids.scoring.models import AccountabilityCase, Bulletin, CaseEvent
from civgrid.grids.scoring.rules import RuleRegistry, RuleVersion
from civgrid.grids.scoring.score import (
    LEVELS,
    IssueRecord,
    LineItem,
    Period,
    Score,
    UnitRef,
    annual_result,
    bulletin_names,
    compute_scores,
    default_sample,
    in_period,
    pairing_scores,
    rank_scores,
    until_for,
)
from civgrid.grids.scoring.subjects import (
    adjustments_of,
    pairing_units,
    pairings,
    subject_units,
    work_points,
)
from civgrid.grids.scoring.triggers import PublishedNames, TriggerHit, evaluate_triggers

__all__ = [
    "CASE_ACTIONS",
    "SAMPLING",
    "SUBJECTS",
    "ScoringContext",
    "act_on_case",
    "case_dict",
    "issue_records",
    "leader_dashboard",
    "list_cases",
    "load_units",
    "negative_list",
    "open_cases",
    "open_manual_case",
    "patrol_sample",
    "published_names",
    "refer_overdue_cases",
]

#: What the command center can do with a case.
CASE_ACTIONS = ("interview", "public_criticism", "referral", "rectified", "note", "close")
#: Levels a manual case may name as its subject (``leader``: a leader by key).
CASE_SUBJECTS = ("department", "township", "community", "leader")
CASE_ACTION_LABELS = zh.CASE_ACTION_LABELS
#: The assessed subjects of :meth:`ScoringContext.subject_scores` (Sheqi 004 二、（三）2 三).
SUBJECTS = ("civilized_units", "key_task_units", "other_task_units")
#: Chinese names of the periods a subject list is assessed over.
_PERIOD_WORDS = {"quarter": "每季度", "half": "每半年", "year": "每年"}
#: Sampling modes (``inspected`` is accepted as the older name of ``issues``).
SAMPLING = ("all", "patrol", "issues", "visited")


def issue_records(
    session: Session, before: datetime | None = None, conditions: Sequence[Any] = ()
) -> list[IssueRecord]:
    """The issues (reported before ``before``, aware UTC; matching the SQL
    ``conditions``) as scoring records, in id order.

    One query of the columns scoring reads, no ORM objects (a county holds 10⁶
    issues: ``bench/scale.py``).
    """
    q = select(
        Issue.id,
        Issue.category_code,
        Issue.source,
        Issue.reported_at,
        Issue.state,
        Issue.priority,
        Issue.deadline,
        Issue.closed_at,
        Issue.submitted_at,
        Issue.return_count,
        Issue.extension_count,
        Issue.recurrence_of_id,
        Issue.attributes,
        Issue.township_code,
        Issue.community_code,
        Issue.unit_grid_code,
        Issue.road_section_code,
        Unit.key,
    ).outerjoin(Unit, Issue.owner_unit_id == Unit.id)
    if before is not None:
        q = q.where(Issue.reported_at < before)
    q = q.where(*conditions)
    out = []
    for (
        id_,
        category,
        source,
        reported_at,
        state,
        priority,
        deadline,
        closed_at,
        submitted_at,
        returns,
        extensions,
        recurrence_of,
        attrs,
        township,
        community,
        unit_grid,
        road_section,
        unit_key,
    ) in session.execute(q.order_by(Issue.id)):
        out.append(
            IssueRecord(
                id=id_,
                category_code=category,
                source=source,
                reported_at=reported_at,
                state=str(state.value if hasattr(state, "value") else state),
                priority=priority,
                deadline=deadline,
                closed_at=closed_at,
                submitted_at=submitted_at,
                return_count=returns,
                extension_count=extensions,
                recurrence=recurrence_of is not None,
                media_praise=bool(attrs.get("media_praise")) if attrs else False,
                township_code=township,
                community_code=community,
                unit_grid_code=unit_grid,
                road_section_code=road_section,
                owner_unit_key=unit_key,
            )
        )
    return out


def can_count_in(rec: IssueRecord, period: Period) -> bool:
    """Whether ``rec`` can count in ``period``: reported in it, closed in it, or with a
    deadline before its end and not closed before its start.

    A superset of what the period's scores, samples, indicators, triggers and negative
    lists read (each applies its own test to it): a record outside it was reported
    before the period and not closed in it, and its deadline (a trigger's
    ``overdue_days`` count from it) falls after the period, or before it with the
    issue closed before the period began.
    :func:`period_conditions` is the same test in SQL.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> p = Period.parse("2026-11")
    >>> old = IssueRecord(1, "x", "patrol", datetime(2026, 1, 5, tzinfo=UTC),
    ...                   deadline=datetime(2026, 1, 8, tzinfo=UTC),
    ...                   closed_at=datetime(2026, 1, 7, tzinfo=UTC))
    >>> can_count_in(old, p)
    False
    >>> from dataclasses import replace
    >>> can_count_in(replace(old, closed_at=None), p)  # still open: overdue in November
    True
    """
    start, end = period.start_utc, period.end_utc
    if start <= rec.reported_at < end:
        return True
    if rec.closed_at is not None and start <= rec.closed_at < end:
        return True
    d, closed = rec.deadline, rec.closed_at
    return d is not None and d < end and (d >= start or closed is None or closed >= start)


def period_conditions(period: Period) -> list[Any]:
    """:func:`can_count_in` as SQL conditions on ``issues``."""
    start, end = period.start_utc, period.end_utc
    return [
        or_(
            and_(Issue.reported_at >= start, Issue.reported_at < end),
            and_(Issue.closed_at >= start, Issue.closed_at < end),
            and_(
                Issue.deadline < end,
                or_(Issue.deadline >= start, Issue.closed_at.is_(None), Issue.closed_at >= start),
            ),
        )
    ]


def load_units(store: Any, session: Session, level: str) -> list[UnitRef]:
    """The units scored at ``level`` on the current boundaries (codes, Chinese names)."""
    if level == "community":  # with their number of unit grids (township weights)
        grids: dict[str, int] = {}
        for g in store.areas(layer="unit_grid", session=session):
            if g.parent_code:
                grids[g.parent_code] = grids.get(g.parent_code, 0) + 1
        return [
            UnitRef(a.code, a.name, a.parent_code, grids.get(a.code))
            for a in store.areas(layer=level, session=session)
        ]
    if level in ("township", "unit_grid"):
        return [
            UnitRef(a.code, a.name, a.parent_code)
            for a in store.areas(layer=level, session=session)
        ]
    if level == "road_section":
        return [UnitRef(r.code, r.name) for r in store.road_sections(session=session)]
    if level == "department":
        owners = set(session.scalars(select(Issue.owner_unit_id).distinct()))
        units = session.scalars(select(Unit).order_by(Unit.key)).all()
        return [
            UnitRef(u.key, u.name) for u in units if u.id in owners or str(u.kind) == "department"
        ]
    raise InvalidInputError(f"unknown level {level!r}; one of {', '.join(LEVELS)}", field="level")


def patrol_sample(
    store: Any, session: Session, period: Period, as_of: datetime | None = None
) -> set[str]:
    """Codes sampled by patrol visits marked done in ``period`` (up to ``as_of``).

    A visit samples its community (the visit's ``community_code``, a community
    target, or the community of a unit-grid target) and, for a township target or
    a key site, the township holding it — so a township without community grids
    is scored when its key sites or points were visited.

    Parameters
    ----------
    store : Store
    session : Session
    period : Period
    as_of : datetime, optional
        Now (aware UTC): visits of later days do not count.

    Returns
    -------
    set of str
        Community and township codes.
    """
    last = period.end - timedelta(days=1)
    if as_of is not None:
        last = min(last, as_of.astimezone(local_zone()).date())
    rows = session.execute(
        select(PatrolVisit.target_layer, PatrolVisit.target_code, PatrolVisit.community_code)
        .where(PatrolVisit.status == "done")
        .where(PatrolVisit.day >= period.start, PatrolVisit.day <= last)
    ).all()
    if not rows:
        return set()
    out: set[str] = set()
    grids: dict[str, str | None] | None = None
    sites: dict[str, Any] | None = None
    towns: list[Any] | None = None
    for layer, code, community in rows:
        if community:
            out.add(community)
        if layer in ("community", "township"):
            out.add(code)
        elif layer == "unit_grid":
            if grids is None:
                grids = {
                    a.code: a.parent_code for a in store.areas(layer="unit_grid", session=session)
                }
            if parent := grids.get(code):
                out.add(parent)
        elif layer == "key_site":
            if sites is None:
                sites = {k.code: k.geom for k in store.key_sites(session=session)}
                towns = list(store.areas(layer="township", session=session))
            geom = sites.get(code)
            if geom is not None:
                out.update(t.code for t in towns or [] if t.geom.covers(geom))
    return out


def published_names(session: Session, period: Period, level: str) -> PublishedNames | None:
    """Who the published monthly bulletin of ``period`` named worst at ``level``, as issued.

    Returns
    -------
    PublishedNames or None
        None when no monthly bulletin of that month was published.
    """
    if period.kind != "month":
        return None
    b = session.scalars(
        select(Bulletin).where(Bulletin.kind == "monthly", Bulletin.period == period.key)
    ).first()
    if b is None:
        return None
    content = b.content or {}
    rows = {
        r["code"]: r
        for r in content.get("communities" if level == "community" else "townships", [])
    }
    worst = {}
    for w in content.get("worst", []):
        if w.get("level") == level:
            row = rows.get(w["code"], {})
            worst[w["code"]] = (w.get("points", row.get("points")), row.get("rank"))
    return PublishedNames(b.number, worst)


@dataclass
class ScoringContext:
    """Scores of one database under one profile, with the records loaded once.

    Parameters
    ----------
    store : Store
    session : Session
    registry : RuleRegistry
    profile : str, optional
        Profile name (default: the registry's default).
    sampled : mapping, optional
        Period key → sampled community (and township) codes.
    sampling : str, optional
        For months missing from ``sampled``: ``all`` (every unit), ``patrol``
        (:func:`patrol_sample`) or ``issues`` (where an inspection found
        something, :func:`~civgrid.grids.scoring.score.default_sample`; ``inspected`` is
        the same). None → the profile's ``sampling`` (default ``all``).
    now : datetime, optional
        The time the scores are computed as of (aware UTC; default: the current
        time, fixed when the context is made).
    calendar : WorkingCalendar, optional
        The county's working days, for the rules that count overdue working days
        (default: the configured calendar, ``issues.config.configured_calendar``).

    Scores at level ``civilized_unit`` are the pairing units' (paired community +
    recorded 联建 work); the scores of a quarter, a half-year or a year take the
    adjustments recorded for that period and level (:mod:`~civgrid.grids.scoring.subjects`).
    """

    store: Any
    session: Session
    registry: RuleRegistry
    profile: str | None = None
    sampled: Mapping[str, Collection[str]] = field(default_factory=dict)
    sampling: str | None = None
    now: datetime | None = None
    _records: list[IssueRecord] | None = None
    _period_records: dict[str, list[IssueRecord]] = field(default_factory=dict)
    _units: dict[str, list[UnitRef]] = field(default_factory=dict)
    _scores: dict[tuple[str, str], list[Score]] = field(default_factory=dict)
    _samples: dict[str, Collection[str] | None] = field(default_factory=dict)
    _published: dict[tuple[str, str], PublishedNames | None] = field(default_factory=dict)
    _categories: dict[str, str] | None = None
    calendar: WorkingCalendar | None = None
    #: The point standards (a ``StandardsRegistry``; default: the shipped ones), for
    #: scoring point inspections (the rules' ``points``).
    standards: Any = None
    _points: tuple[list[Any], list[tuple[str, str]]] | None = None

    def __post_init__(self) -> None:
        if self.sampling == "inspected":
            self.sampling = "issues"
        if self.sampling is not None and self.sampling not in SAMPLING:
            raise InvalidInputError(
                f"sampling must be one of {', '.join(SAMPLING)}", field="sampling"
            )
        if self.now is None:
            self.now = datetime.now(UTC)

    @property
    def as_of(self) -> datetime:
        """The time the scores are computed as of (aware UTC)."""
        assert self.now is not None
        return self.now

    @property
    def records(self) -> list[IssueRecord]:
        """The issue records reported before :attr:`now` (loaded on first use)."""
        if self._records is None:
            self._records = issue_records(self.session, before=self.as_of)
        return self._records

    def period_records(self, period: Period) -> list[IssueRecord]:
        """The records that can count in ``period`` (:func:`can_count_in`), as of
        :attr:`now`: filtered from :attr:`records` when those are loaded, else read
        with :func:`period_conditions` (a month of a county with 10⁶ issues reads a
        few tens of thousands, not all of them). Cached per period."""
        if period.key not in self._period_records:
            if self._records is not None:
                got = [r for r in self._records if can_count_in(r, period)]
            else:
                got = issue_records(self.session, self.as_of, period_conditions(period))
            self._period_records[period.key] = got
        return self._period_records[period.key]

    @property
    def point_records(self) -> list[Any]:
        """Point inspections before :attr:`now` as
        :class:`~civgrid.grids.scoring.points.PointRecord` (loaded on first use)."""
        return self._point_data[0]

    @property
    def point_types(self) -> list[tuple[str, str]]:
        """(code, label) of the point types of the current standards."""
        return self._point_data[1]

    @property
    def _point_data(self) -> tuple[list[Any], list[tuple[str, str]]]:
        if self._points is None:
            from civgrid.grids.scoring.points import point_records

            if self.standards is None:
                from civgrid.grids.points.standards import StandardsRegistry

                self.standards = StandardsRegistry.with_shipped()
            self._points = point_records(self.session, self.standards, before=self.as_of)
        return self._points

    def period_points(self, period: Period) -> list[Any]:
        """Each point's last inspection in ``period`` (as of :attr:`now`)."""
        from civgrid.grids.scoring.points import period_points

        return period_points(self.point_records, period, self.as_of)

    def units(self, level: str) -> list[UnitRef]:
        """The units of ``level`` (cached)."""
        if level not in self._units:
            self._units[level] = load_units(self.store, self.session, level)
        return self._units[level]

    def names(self, level: str) -> dict[str, str]:
        """Code → Chinese name at ``level``."""
        return {u.code: u.name for u in self.units(level)}

    @property
    def category_names(self) -> dict[str, str]:
        """Category code → Chinese name (the categories table, else the seeded tree)."""
        if self._categories is None:
            from civgrid.grids.boundaries.models import Category

            rows = self.session.execute(select(Category.code, Category.name)).all()
            self._categories = {code: name for code, name in rows}
        return self._categories

    @property
    def day_calendar(self) -> WorkingCalendar:
        """The working-day calendar (loaded on first use)."""
        if self.calendar is None:
            from civgrid.grids.issues.config import configured_calendar

            self.calendar = configured_calendar()
        return self.calendar

    def _calendar_for(self, period: Period) -> WorkingCalendar | None:
        """The calendar when the period's rules count working days, else None."""
        rules = self.rules(period)
        if any(rules.counts_working(k) for k in ("overdue_deduction", "overdue_trigger")):
            return self.day_calendar
        return None

    def rules(self, period: Period) -> RuleVersion:
        """The rules in force on the period's first day."""
        return self.registry.rules(self.profile, period.start)

    def sample(self, period: Period) -> Collection[str] | None:
        """The codes sampled in a month (None: every unit), by the sampling mode."""
        if period.key in self.sampled:
            return self.sampled[period.key]
        if period.key not in self._samples:
            mode = self.sampling or self.rules(period).sampling
            got: Collection[str] | None = None
            if mode in ("issues", "visited"):
                recs = self.period_records(period)
                got = default_sample(recs, period, "community") | default_sample(
                    recs, period, "township"
                )
            if mode in ("patrol", "visited"):
                got = (got or set()) | patrol_sample(self.store, self.session, period, self.as_of)
            if got is not None and self.rules(period).points is not None:
                from civgrid.grids.scoring.points import sampled_by_points

                got = set(got) | sampled_by_points(self.period_points(period), self.rules(period))
            self._samples[period.key] = got
        return self._samples[period.key]

    def check_begun(self, period: Period) -> None:
        """Refuse a period that has not begun at :attr:`now` (there is nothing to score).

        Raises
        ------
        InvalidInputError
            The period starts after now.
        """
        if period.start_utc > self.as_of:
            raise InvalidInputError(
                f"{period.key} has not begun (it starts on {period.start.isoformat()}, county "
                "time): a future period cannot be scored, ranked or named",
                field="period",
            )

    def scores(self, period: Period, level: str) -> list[Score]:
        """Ranked scores of every unit at ``level`` for ``period`` (as of :attr:`now`).

        Raises
        ------
        InvalidInputError
            The period has not begun (:meth:`check_begun`).
        """
        self.check_begun(period)
        key = (period.key, level)
        if key not in self._scores:
            if level == "civilized_unit":
                got = self._civilized(period)
            else:
                got = compute_scores(
                    self.period_records(period),
                    self.rules(period),
                    period,
                    level,
                    self.units(level),
                    communities=self.units("community") if level == "township" else (),
                    sampled=self.sample if level in ("community", "township") else None,
                    as_of=self.as_of,
                    category_names=self.category_names,
                    calendar=self._calendar_for(period),
                    points=self._points_for(period),
                )
            self._scores[key] = self._adjusted(period, level, got)
        return self._scores[key]

    def _points_for(self, period: Period) -> list[Any]:
        """The point records when a month of ``period`` scores points, else none (so
        profiles without ``points`` never load them)."""
        if not any(self.rules(m).points is not None for m in period.months()):
            return []
        return self.point_records

    def _adjusted(self, period: Period, level: str, scores: list[Score]) -> list[Score]:
        """``scores`` with the adjustments recorded for ``period`` and ``level`` (none:
        unchanged). A year's base is the mean of its quarters (年总评)."""
        if period.kind not in ("quarter", "half", "year"):
            return scores
        adj = adjustments_of(self.session, period.key, level)
        if not adj:
            return scores
        label = "四个季度平均成绩" if period.kind == "year" else f"{period.label}考评成绩"
        return annual_result(scores, adj, self.rules(period), label)

    def _civilized(self, period: Period) -> list[Score]:
        """Civilized (pairing) units: in a month or quarter the paired community's score
        plus the 联建 work recorded for it; a half-year or year the mean of its quarters."""
        rules = self.rules(period)
        last = date.fromordinal(period.end.toordinal() - 1)
        units = pairing_units(self.session, last)
        if period.kind in ("month", "quarter", "week"):
            return pairing_scores(
                self.scores(period, "community"),
                pairings(self.session, last),
                work_points(self.session, period.key),
                units,
                rules,
                period,
            )
        parts = [p for p in period.parts() if p.start_utc <= self.as_of]
        per = [(p, {s.code: s for s in self.scores(p, "civilized_unit")}) for p in parts]
        out = []
        for u in units:
            got = [(p, m[u.code]) for p, m in per if u.code in m and m[u.code].sampled]
            if not got:
                out.append(
                    Score(
                        "civilized_unit",
                        u.code,
                        u.name,
                        period.key,
                        rules.base,
                        rules.base,
                        sampled=False,
                    )
                )
                continue
            value = round(sum(s.points for _, s in got) / len(got), 4)
            items = [LineItem("period", s.points, f"{p.label}得分", ref=p.key) for p, s in got]
            out.append(
                Score("civilized_unit", u.code, u.name, period.key, rules.base, value, items)
            )
        return rank_scores(out, rules)

    def subject_scores(self, period: Period, subject: str) -> dict[str, Any]:
        """The ranking of one group of assessed subjects (:data:`SUBJECTS`) in ``period``.

        ``civilized_units``: the pairing units (quarterly); ``key_task_units``: the profile's
        key-task departments, ranked among themselves quarterly; ``other_task_units``: the
        profile's other-task units, half-yearly. Each group is ranked over its own
        period (or the year); adjustments recorded for the period and level count.

        Raises
        ------
        NotFoundError
            The profile has no such group.
        InvalidInputError
            Unknown subject, or a period the group is not assessed over.
        """
        if subject not in SUBJECTS:
            raise InvalidInputError(
                f"subject must be one of {', '.join(SUBJECTS)}", field="subject", value=subject
            )
        rules = self.rules(period)
        spec = getattr(rules.subjects, subject)
        if spec is None:
            raise NotFoundError(
                f"profile {self.registry.profile(self.profile).profile} assesses no {subject}",
                kind="subject",
                key=subject,
            )
        if period.kind not in (spec.period, "year"):
            raise InvalidInputError(
                f"{spec.label}{_PERIOD_WORDS[spec.period]}考评（{spec.citation.clause}）："
                f"period {period.key} must be a {spec.period} or a year",
                field="period",
            )
        missing: list[str] = []
        if subject == "civilized_units":
            level = "civilized_unit"
            scores = self.scores(period, level)
        else:
            level = "department"
            units, missing = subject_units(self.session, spec.units)
            self.check_begun(period)
            raw = compute_scores(
                self.period_records(period),
                rules,
                period,
                "department",
                units,
                as_of=self.as_of,
                category_names=self.category_names,
                calendar=self._calendar_for(period),
            )
            scores = self._adjusted(period, level, raw)
        return {
            "subject": subject,
            "label": spec.label,
            "level": level,
            "period": period.key,
            "period_label": period.label,
            "assessed": spec.period,
            "citation": f"依据：{spec.citation.render()}",
            "scores": scores,
            "missing": missing,
        }

    def published(self, period: Period, level: str) -> PublishedNames | None:
        """Who the published monthly bulletin of ``period`` named worst (cached)."""
        key = (period.key, level)
        if key not in self._published:
            self._published[key] = published_names(self.session, period, level)
        return self._published[key]

    def score(self, period: Period, level: str, code: str) -> Score:
        """One unit's score (with its line items).

        A listed key-task or other-task unit that owns no issue (so is not among the
        department scores) is found in its group's ranking of a period it is assessed
        over, with that rank.
        """
        for s in self.scores(period, level):
            if s.code == code:
                return s
        if level == "department":
            rules = self.rules(period)
            for subject in ("key_task_units", "other_task_units"):
                spec = getattr(rules.subjects, subject)
                if spec is None or period.kind not in (spec.period, "year"):
                    continue
                for s in self.subject_scores(period, subject)["scores"]:
                    if s.code == code:
                        return s
        raise NotFoundError(f"no {level} {code!r}", kind=level, key=code)

    def indicators(self, period: Period, by: str) -> list[dict[str, Any]]:
        """Indicators per group, ranked by the composite with the minimum sample."""
        self.check_begun(period)
        rules = self.rules(period)
        level = "department" if by == "post" else by
        names = {} if by == "post" else self.names(level)
        recs = self.period_records(period)
        table = compute_indicators(
            recs, period, by, rules.composite_for(by), names, as_of=self.as_of
        )
        # a group with issues, none of which count in the period, is listed (empty)
        # as when every record is read
        for code in self._group_codes(by):
            table.setdefault(code, Indicators(code, name=names.get(code, code)))
        return [i.to_dict() for i in rank_indicators(table, rules.ranking.min_sample)]

    def _group_codes(self, by: str) -> set[str]:
        """The codes of group ``by`` of the issues as of :attr:`now` (not rejected or
        merged): those :func:`compute_indicators` lists when given every record."""
        attr = GROUPS[by]
        if self._records is not None:
            return {
                c
                for r in self._records
                if (c := getattr(r, attr)) and r.state not in ("rejected", "merged")
            }
        col = Unit.key if attr == "owner_unit_key" else getattr(Issue, attr)
        q = (
            select(col)
            .select_from(Issue)
            .distinct()
            .where(Issue.reported_at < self.as_of, Issue.state.not_in(["rejected", "merged"]))
        )
        if attr == "owner_unit_key":
            q = q.join(Unit, Issue.owner_unit_id == Unit.id)
        return {c for c in self.session.scalars(q) if c}

    def issuing(self, period: Period, level: str, number: str) -> PublishedNames:
        """Who the bulletin of ``period`` being issued (``number``) names worst at ``level``."""
        r = self.rules(period).ranking
        _, bad = bulletin_names(self.scores(period, level), r.best_named, r.worst_named)
        return PublishedNames(number, {s.code: (s.points, s.rank) for s in bad})

    def triggers(self, period: Period, issuing: str | None = None) -> list[TriggerHit]:
        """Triggers tripped in ``period`` under the profile's rules.

        Parameters
        ----------
        period : Period
        issuing : str, optional
            The number of the monthly bulletin of ``period`` being issued (or a
            draft's label): that month counts as published with the names the
            bulletin gives. Without it, only bulletins actually published count.
        """
        names = {lvl: self.names(lvl) for lvl in ("community", "township", "department")}
        names["civilized_unit"] = {
            u.code: u.name for u in pairing_units(self.session, period.start)
        }
        names["unit_grid"] = self.names("unit_grid")
        names["category"] = dict(self.category_names)  # facts name categories in Chinese

        def published(p: Period, level: str) -> PublishedNames | None:
            got = self.published(p, level)
            if got is None and issuing is not None and p == period and p.kind == "month":
                got = self.issuing(p, level, issuing)
            return got

        return evaluate_triggers(
            self.registry.profile(self.profile),
            self.period_records(period),
            period,
            self.scores,
            names,
            as_of=self.as_of,
            published=published,
            calendar=self._calendar_for(period),
        )


# --------------------------------------------------------------------------- cases


def _leader_of(session: Session, level: str, code: str, day: date) -> str | None:
    role = {"community": Role.contract, "township": Role.contact}.get(level)
    if role is None:
        return None
    q = (
        select(Leader.key)
        .join(Assignment, Assignment.leader_id == Leader.id)
        .where(Assignment.role == role, Assignment.object_code == code)
        .where(Assignment.valid_from <= day)
        .order_by(Leader.key)
    )
    return session.scalars(q).first()


def case_dict(case: AccountabilityCase, history: bool = True) -> dict[str, Any]:
    """JSON-ready dict of a case (labels in Chinese)."""
    d = {
        "id": case.id,
        "profile": case.profile,
        "rule_id": case.rule_id,
        "rule_label": case.rule_label,
        "action": case.action,
        "action_label": zh.CONSEQUENCE_LABELS.get(case.action, case.action),
        "level": case.level,
        "unit_code": case.unit_code,
        "unit_name": case.unit_name,
        "leader_key": case.leader_key,
        "period": case.period,
        "facts": list(case.facts or []),
        "issue_ids": list(case.issue_ids or []),
        "status": case.status,
        "opened_at": case.opened_at.isoformat(),
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        "close_note": case.close_note,
        "citation": case.citation or "",
        "origin": case.origin or "trigger",
        "evidence": list(case.evidence or []),
        "due_at": case.due_at.isoformat() if case.due_at else None,
        "referred_at": case.referred_at.isoformat() if case.referred_at else None,
    }
    if history:
        d["history"] = [
            {
                "at": e.at.isoformat(),
                "action": e.action,
                "action_label": CASE_ACTION_LABELS.get(e.action, e.action),
                "actor_who": e.actor_who,
                "actor_role": e.actor_role,
                "note": e.note,
            }
            for e in case.events
        ]
    return d


def _covered(session: Session, profile: str, hit: TriggerHit) -> bool:
    """Whether earlier cases of the hit's rule and unit already cover its periods.

    A case covers the periods of its hit up to its own period (the namings it
    counted, the run it was opened on). A hit opens a new case only when at least
    ``count`` of its periods come after the latest such case: the same streak
    never opens a case twice, a fresh one does.
    """
    rows = session.scalars(
        select(AccountabilityCase.period).where(
            AccountabilityCase.profile == profile,
            AccountabilityCase.rule_id == hit.rule_id,
            AccountabilityCase.level == hit.level,
            AccountabilityCase.unit_code == hit.unit_code,
        )
    ).all()
    ends = []
    for key in rows:
        try:
            ends.append(Period.parse(key).end)
        except InvalidInputError:
            continue
    if not ends:
        return False
    last = max(ends)
    fresh = [k for k in hit.periods if Period.parse(k).start >= last]
    return len(fresh) < hit.count


def open_cases(
    ctx: ScoringContext,
    period: Period,
    actor: Actor,
    now: datetime | None = None,
) -> tuple[list[AccountabilityCase], list[AccountabilityCase]]:
    """Evaluate the triggers of ``period`` and open a case for each new hit.

    Only a period that has ended (at the real time ``now`` and at the context's
    ``as_of``) is evaluated: a running or future month would open cases from a
    ranking that is still hypothetical. ``named_worst`` counts published
    bulletins only. Idempotent: a hit that already has a case (same profile,
    rule, unit, period) opens nothing, nor does a hit whose namings or run are
    already covered by an earlier case of the same rule and unit (open or
    closed; see :func:`_covered`). Each case opened is audited (``case.open``:
    profile, rule, suggested action, level, unit, period, status) as ``actor``.

    Parameters
    ----------
    ctx : ScoringContext
    period : Period
    actor : Actor
    now : datetime, optional
        The real time (aware UTC; default: the system clock), kept as ``opened_at``.

    Returns
    -------
    (opened, existing) : lists of AccountabilityCase

    Raises
    ------
    InvalidInputError
        The period has not ended.
    """
    now = now or datetime.now(UTC)
    if period.end_utc > min(now, ctx.as_of):
        raise InvalidInputError(
            f"{period.key} has not ended: its accountability cases can be evaluated from "
            f"{period.end.isoformat()} 00:00 county time (its ranking is not final before)",
            field="period",
        )
    profile = ctx.registry.profile(ctx.profile).profile
    rectify_days = ctx.rules(period).rectify_days
    opened, existing = [], []
    for hit in ctx.triggers(period):
        q = select(AccountabilityCase).where(
            AccountabilityCase.profile == profile,
            AccountabilityCase.rule_id == hit.rule_id,
            AccountabilityCase.level == hit.level,
            AccountabilityCase.unit_code == hit.unit_code,
            AccountabilityCase.period == hit.period,
        )
        found = ctx.session.scalars(q).first()
        if found is not None:
            existing.append(found)
            continue
        if _covered(ctx.session, profile, hit):
            continue
        case = AccountabilityCase(
            profile=profile,
            rule_id=hit.rule_id,
            rule_label=hit.label,
            action=hit.action,
            level=hit.level,
            unit_code=hit.unit_code,
            unit_name=hit.unit_name,
            leader_key=_leader_of(ctx.session, hit.level, hit.unit_code, period.start),
            period=hit.period,
            facts=hit.facts,
            issue_ids=hit.issue_ids,
            status="open",
            opened_at=now,
            citation=hit.citation or None,
            origin="trigger",
        )
        case.events.append(
            CaseEvent(
                at=now,
                action="opened",
                actor_who=actor.who,
                actor_role=str(actor.role),
                note=f"{hit.label}（建议：{hit.action_label}）",
            )
        )
        if rectify_days:  # Shaoxing: 限期整改 first, referred only if not rectified in time
            case.due_at = now + timedelta(days=rectify_days)
            case.events.append(
                CaseEvent(
                    at=now,
                    action="rectify_order",
                    actor_who=actor.who,
                    actor_role=str(actor.role),
                    note=f"限期{rectify_days}天整改，逾期未整改到位的移送纪委监委",
                )
            )
        ctx.session.add(case)
        try:
            with ctx.session.begin_nested():
                ctx.session.flush()
        except IntegrityError as exc:  # a concurrent evaluation opened it first
            raise ConflictError(
                "case already opened", kind="accountability_case", key=hit.rule_id
            ) from exc
        after = {
            "profile": profile,
            "rule_id": hit.rule_id,
            "action": hit.action,
            "level": hit.level,
            "unit_code": hit.unit_code,
            "period": hit.period,
            "status": "open",
        }
        if case.due_at is not None:  # 限期整改 (Shaoxing)
            after["due_at"] = case.due_at.isoformat()
        audit.record(ctx.session, actor, "case.open", "accountability_case", case.id, after=after)
        opened.append(case)
    return opened, existing


def refer_overdue_cases(
    session: Session, actor: Actor, now: datetime | None = None
) -> list[AccountabilityCase]:
    """Refer the open cases whose 限期整改 window has passed unrectified.

    Shaoxing 附件1: “由主体单位、相关责任部门督促整改落实，在规定时间内未整改到位的，由纪委监委
    启动责任调查”. A case with ``due_at`` at or before ``now``, no ``rectified`` event and
    not yet referred gets a ``referral`` event and ``referred_at`` (audited as
    ``case.refer``). A case rectified in time, or whose window is still open, is left.

    Parameters
    ----------
    session : Session
    actor : Actor
        Who refers (the command center, or the system on a schedule).
    now : datetime, optional
        Aware UTC (default: the system clock).

    Returns
    -------
    list of AccountabilityCase
        The cases referred now.
    """
    now = now or datetime.now(UTC)
    rows = session.scalars(
        select(AccountabilityCase).where(
            AccountabilityCase.status == "open",
            AccountabilityCase.due_at.is_not(None),
            AccountabilityCase.due_at <= now,
            AccountabilityCase.referred_at.is_(None),
        )
    ).all()
    out = []
    for case in rows:
        if any(e.action == "rectified" for e in case.events):
            continue
        case.referred_at = now
        case.events.append(
            CaseEvent(
                at=now,
                action="referral",
                actor_who=actor.who,
                actor_role=str(actor.role),
                note="限期整改期满未整改到位，移送纪委监委启动责任调查",
            )
        )
        audit.record(
            session,
            actor,
            "case.refer",
            "accountability_case",
            case.id,
            before={"referred_at": None},
            after={"referred_at": now.isoformat(), "due_at": case.due_at.isoformat()},
        )
        out.append(case)
    session.flush()
    return out


def _subject(store: Any, session: Session, level: str, key: str) -> tuple[str, str | None]:
    """The Chinese name of a manual case's subject and the leader answering for it."""
    if level == "leader":
        leader = session.scalars(select(Leader).where(Leader.key == key)).first()
        if leader is None:
            raise NotFoundError(f"no leader {key!r}", kind="leader", key=key)
        return str(leader.title or key), key
    if level == "department":
        unit = session.scalars(select(Unit).where(Unit.key == key)).first()
        if unit is None:
            raise NotFoundError(f"no unit {key!r}", kind="unit", key=key)
        return unit.name, None
    for a in store.areas(layer=level, session=session):
        if a.code == key:
            return a.name, _leader_of(session, level, key, local_day(datetime.now(UTC)))
    raise NotFoundError(f"no {level} {key!r}", kind=level, key=key)


def local_day(at: datetime) -> date:
    """The county-local day of ``at`` (aware)."""
    return at.astimezone(local_zone()).date()


def open_manual_case(
    store: Any,
    session: Session,
    rules: RuleVersion,
    profile: str,
    actor: Actor,
    *,
    case_type: str,
    level: str,
    key: str,
    facts: list[str],
    evidence: list[dict[str, Any]] | None = None,
    now: datetime | None = None,
) -> AccountabilityCase:
    """Open a manual case (what the data cannot show) with its clause and evidence.

    Parameters
    ----------
    store : Store
    session : Session
    rules : RuleVersion
        The rules in force (their ``case_types`` and ``rectify_days``).
    profile : str
    actor : Actor
        The command center.
    case_type : str
        One of the rules' ``case_types`` (e.g. ``obstruction``).
    level : str
        The subject's level: ``department`` (unit key), ``township``, ``community``
        (area code) or ``leader`` (leader key).
    key : str
    facts : list of str
        What happened (at least one line).
    evidence : list of dict, optional
        Attachments ``{"name", "ref", "note"}`` (file names or links).
    now : datetime, optional

    Raises
    ------
    InvalidInputError
        Unknown level, no facts.
    NotFoundError
        Unknown case type or subject.
    """
    if level not in CASE_SUBJECTS:
        raise InvalidInputError(f"level must be one of {', '.join(CASE_SUBJECTS)}", field="level")
    facts = [f.strip() for f in facts if f and f.strip()]
    if not facts:
        raise InvalidInputError("a manual case needs facts (what happened)", field="facts")
    ct = rules.case_type(case_type)
    name, leader = _subject(store, session, level, key)
    now = now or datetime.now(UTC)
    # the case's key: its local day and a running number (several cases a day may name
    # the same subject for the same situation)
    day = now.astimezone(local_zone()).strftime("%Y%m%d")
    same = session.scalars(
        select(AccountabilityCase.period).where(
            AccountabilityCase.profile == profile,
            AccountabilityCase.rule_id == ct.id,
            AccountabilityCase.level == level,
            AccountabilityCase.unit_code == key,
            AccountabilityCase.period.like(f"{day}-%"),
        )
    ).all()
    case = AccountabilityCase(
        profile=profile,
        rule_id=ct.id,
        rule_label=ct.label,
        action=ct.action,
        level=level,
        unit_code=key,
        unit_name=name,
        leader_key=leader,
        period=f"{day}-{len(same) + 1}",
        facts=facts,
        issue_ids=[],
        status="open",
        opened_at=now,
        citation=ct.citation_text,
        origin="manual",
        evidence=list(evidence or []),
    )
    action_label = zh.CONSEQUENCE_LABELS.get(ct.action, ct.action)
    case.events.append(
        CaseEvent(
            at=now,
            action="opened",
            actor_who=actor.who,
            actor_role=str(actor.role),
            note=f"{ct.label}（建议：{action_label}）",
        )
    )
    if rules.rectify_days:
        case.due_at = now + timedelta(days=rules.rectify_days)
        case.events.append(
            CaseEvent(
                at=now,
                action="rectify_order",
                actor_who=actor.who,
                actor_role=str(actor.role),
                note=f"限期{rules.rectify_days}天整改，逾期未整改到位的移送纪委监委",
            )
        )
    session.add(case)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise ConflictError("case already opened", kind="accountability_case", key=ct.id) from exc
    audit.record(
        session,
        actor,
        "case.open",
        "accountability_case",
        case.id,
        after={
            "profile": profile,
            "rule_id": ct.id,
            "origin": "manual",
            "action": ct.action,
            "level": level,
            "unit_code": key,
            "evidence": len(case.evidence or []),
            "status": "open",
        },
    )
    return case


def list_cases(
    session: Session,
    *,
    status: str | None = None,
    level: str | None = None,
    unit_code: str | None = None,
    leader_key: str | None = None,
    period: str | None = None,
) -> list[AccountabilityCase]:
    """Cases, newest first, filtered."""
    q = select(AccountabilityCase)
    if status:
        q = q.where(AccountabilityCase.status == status)
    if level:
        q = q.where(AccountabilityCase.level == level)
    if unit_code:
        q = q.where(AccountabilityCase.unit_code == unit_code)
    if leader_key:
        q = q.where(AccountabilityCase.leader_key == leader_key)
    if period:
        q = q.where(AccountabilityCase.period == period)
    return list(session.scalars(q.order_by(AccountabilityCase.id.desc())))


def act_on_case(
    session: Session,
    actor: Actor,
    case_id: int,
    action: str,
    note: str | None = None,
    now: datetime | None = None,
) -> AccountabilityCase:
    """Record an action on a case (约谈, 通报批评, 问责, note) or close it with a note.

    Audited as ``case.action`` (or ``case.close``): the case's status before and
    after, the action, and the note (first 200 characters).

    Raises
    ------
    NotFoundError, InvalidInputError, ConflictError
        Unknown case; unknown action or closing without a note; case already closed.
    """
    if action not in CASE_ACTIONS:
        raise InvalidInputError(f"action must be one of {', '.join(CASE_ACTIONS)}", field="action")
    case = session.get(AccountabilityCase, case_id)
    if case is None:
        raise NotFoundError(f"no accountability case {case_id}", kind="case", key=case_id)
    if case.status == "closed":
        raise ConflictError(f"case {case_id} is closed", kind="case", key=case_id)
    if action == "close" and not (note or "").strip():
        raise InvalidInputError("closing a case needs a note", field="note")
    now = now or datetime.now(UTC)
    before = {"status": case.status}
    case.events.append(
        CaseEvent(at=now, action=action, actor_who=actor.who, actor_role=str(actor.role), note=note)
    )
    if action == "close":
        case.status, case.closed_at, case.close_note = "closed", now, note
    audit.record(
        session,
        actor,
        "case.close" if action == "close" else "case.action",
        "accountability_case",
        case.id,
        before=before,
        after={"status": case.status, "action": action},
        note=(note or "")[:200] or None,
    )
    session.flush()
    return case


# --------------------------------------------------------------------------- views


def negative_list(ctx: ScoringContext, level: str, code: str, period: Period) -> dict[str, Any]:
    """A unit's repeated failures (负面清单) in ``period``.

    Entries: recurring problems, returned fixes, overdue issues (days counted up to
    the end of the period or the context's ``now``, whichever is first; working days
    when the rules say so, ``day_counts: {negative_list: …}``), and the
    accountability triggers tripped — each with its issue.
    """
    until = until_for(period, ctx.as_of)
    entries = []
    cats = ctx.category_names
    working = ctx.day_calendar if ctx.rules(period).counts_working("negative_list") else None
    for r in ctx.period_records(period):
        if r.code_at(level) != code or not in_period(r, period):
            continue
        cat = {
            "category_code": r.category_code,
            "category_name": cats.get(r.category_code, r.category_code),
        }
        if r.recurrence:
            entries.append(
                {
                    "issue_id": r.id,
                    "kind": "recurrence",
                    "label": zh.ISSUE_ACTION_LABELS["recurrence"],
                    **cat,
                }
            )
        if r.return_count:
            entries.append(
                {
                    "issue_id": r.id,
                    "kind": "returned",
                    "label": f"整改被退回{r.return_count}次",
                    **cat,
                }
            )
        if (days := r.overdue_days(until, working)) > 0:
            label = f"超期{days}{'个工作日' if working is not None else '天'}"
            entries.append({"issue_id": r.id, "kind": "overdue", "label": label, **cat})
    hits = [h.to_dict() for h in ctx.triggers(period) if h.level == level and h.unit_code == code]
    name = ctx.names(level).get(code)
    if name is None:
        raise NotFoundError(f"no {level} {code!r}", kind=level, key=code)
    return {
        "level": level,
        "code": code,
        "name": name,
        "period": period.key,
        "entries": entries,
        "triggers": hits,
    }


def leader_dashboard(
    ctx: ScoringContext, leader_key: str, period: Period, trend: int = 3
) -> dict[str, Any]:
    """A leader's communities and townships: score, rank, tier, trend, open cases.

    Only the leader's own areas (contract → communities, contact → townships), and
    the road sections the leader is road chief of (路长, ``road_sections``: code and
    name; Lüliang's "市委常委包路段").
    """
    leader = ctx.session.scalars(select(Leader).where(Leader.key == leader_key)).first()
    if leader is None:
        raise NotFoundError(f"no leader {leader_key!r}", kind="leader", key=leader_key)
    rows = ctx.session.execute(
        select(Assignment.role, Assignment.object_layer, Assignment.object_code).where(
            Assignment.leader_id == leader.id,
            Assignment.in_force_during(period.start, period.end - timedelta(days=1)),
        )
    ).all()
    mine: dict[str, list[str]] = {"community": [], "township": []}
    roads: set[str] = set()
    for role, layer, code in rows:
        lay = str(layer.value if hasattr(layer, "value") else layer)
        if role == Role.road_chief and lay == "road_section":
            roads.add(code)
        ok = role in (Role.contract, Role.contact)
        if ok and lay in mine and code not in mine[lay]:
            mine[lay].append(code)
    periods = [period.previous(n) for n in range(trend - 1, -1, -1)]
    out: list[dict[str, Any]] = []
    for level in ("community", "township"):
        total = len([s for s in ctx.scores(period, level) if s.sampled])
        for code in sorted(mine[level]):
            s = ctx.score(period, level, code)
            cases = list_cases(ctx.session, level=level, unit_code=code, status="open")
            out.append(
                {
                    "level": level,
                    "code": code,
                    "name": s.name,
                    "points": s.points,
                    "rank": s.rank,
                    "of": total,
                    "tier": s.tier,
                    "issues": s.issues,
                    "trend": [
                        {
                            "period": p.key,
                            "points": ctx.score(p, level, code).points,
                            "rank": ctx.score(p, level, code).rank,
                        }
                        for p in periods
                    ],
                    "open_cases": [case_dict(c, history=False) for c in cases],
                }
            )
    road_names = dict(
        ctx.session.execute(
            select(RoadSection.code, RoadSection.name)
            .where(RoadSection.code.in_(roads))
            .order_by(RoadSection.generation_high_id)  # the newest name wins
        ).all()
    )
    return {
        "leader": {"key": leader.key, "title": leader.title},
        "period": period.key,
        "period_label": period.label,
        "rows": out,
        "road_sections": [{"code": c, "name": road_names.get(c, c)} for c in sorted(roads)],
    }


ScoresFn = Callable[[Period, str], list[Score]]
