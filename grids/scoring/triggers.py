"""Accountability triggers (问责情形) evaluated on plain issue records.

:func:`evaluate_triggers` applies the triggers of the rules in force for a
period and returns one :class:`TriggerHit` per (trigger, unit): the facts that
tripped it, in Chinese, and the issues behind them. Past periods are scored
with the rules in force for each of them, so a later rule change does not
change what a past period tripped.

Ranking triggers (``named_worst``, ``poor_tier_consecutive``,
``bottom_consecutive``) look at the period's own cadence: a monthly trigger is
evaluated on a month, a quarterly one on a quarter. Of several triggers of the
same kind, the one with the largest ``count`` reached fires (Sheqi: notified
twice → interview, three times → written self-criticism — not both).

``named_worst`` counts only who the published monthly bulletins actually named
(``published``): a month without a published bulletin names nobody — it neither
counts nor breaks anything. A hit lists the periods it rests on (``periods``) and
the ``count`` of its trigger, so that a case already opened on the same namings
or the same run is not opened again. Issue triggers stop the clock at
``as_of`` (now) in a period still running: an overdue threshold crossed in the
future has not been crossed yet.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from civgrid.grids.core.calendar import WorkingCalendar
from civgrid.grids.core.labels import CONSEQUENCE_LABELS
from civgrid.grids.scoring.rules import Profile, Trigger
from civgrid.grids.scoring.score import (
    TIER_LABELS,
    IssueRecord,
    Period,
    Score,
    in_period,
    issue_units,
    named_worst,
    source_label,
    until_for,
)

__all__ = ["PublishedFn", "PublishedNames", "ScoreFn", "TriggerHit", "evaluate_triggers"]

#: ``scores(period, level)`` → the ranked scores of that period and level.
ScoreFn = Callable[[Period, str], Sequence[Score]]


@dataclass(frozen=True)
class PublishedNames:
    """Who a published monthly bulletin named worst at one level, as issued.

    ``worst`` maps each named unit's code to its (points, rank) in the bulletin.
    """

    number: str
    worst: dict[str, tuple[float, int | None]]


#: ``published(month, level)`` → the names of that month's published bulletin, or None.
PublishedFn = Callable[[Period, str], PublishedNames | None]


@dataclass
class TriggerHit:
    """A tripped trigger for one unit: what happened and what it calls for."""

    rule_id: str
    label: str
    action: str
    level: str
    unit_code: str
    unit_name: str
    period: str
    facts: list[str] = field(default_factory=list)
    issue_ids: list[int] = field(default_factory=list)
    quarters: int = 0
    #: The periods the hit rests on (namings in the window, the run of a streak).
    periods: list[str] = field(default_factory=list)
    #: The trigger's ``count``: how many new periods a further case needs.
    count: int = 1
    #: The notice clause the trigger rests on, quoted (and the local choice, if any).
    citation: str = ""

    @property
    def action_label(self) -> str:
        """Chinese label of the action."""
        return CONSEQUENCE_LABELS.get(self.action, self.action)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {**asdict(self), "action_label": self.action_label}


def _pick(triggers: Sequence[Trigger], reached: int, run: int | None = None) -> Trigger | None:
    """Of triggers of one kind, the one with the largest ``count`` reached.

    ``reached`` counts the marks in the window; ``run`` the current run of
    consecutive marks, which ``consecutive`` triggers count instead.
    """
    ok = [t for t in triggers if t.count <= (run if t.consecutive and run is not None else reached)]
    return max(ok, key=lambda t: t.count) if ok else None


def _streak(flags: Sequence[bool]) -> int:
    n = 0
    for f in reversed(flags):
        if not f:
            break
        n += 1
    return n


def _ranking_hits(
    profile: Profile,
    triggers: Sequence[Trigger],
    period: Period,
    scores: ScoreFn,
    published: PublishedFn | None = None,
) -> list[TriggerHit]:
    hits: list[TriggerHit] = []
    groups: dict[tuple[str, str, int, str], list[Trigger]] = defaultdict(list)
    for t in triggers:
        if t.kind in ("named_worst", "poor_tier_consecutive", "bottom_consecutive"):
            default = "quarter" if t.kind == "poor_tier_consecutive" else "month"
            # one group per kind/level/depth; consecutive and windowed namings share it
            cadence = "month" if t.kind == "named_worst" else (t.cadence or default)
            groups[(t.kind, t.level, t.bottom, cadence)].append(t)
    for (kind, level, bottom, cadence), ts in groups.items():
        if period.kind != cadence:
            continue
        depth = max(t.window if kind == "named_worst" else t.count for t in ts)
        periods = [period.previous(n) for n in range(depth - 1, -1, -1)]
        per: list[dict[str, Score]] = []
        flagged: list[set[str]] = []
        issued: list[PublishedNames | None] = []
        for p in periods:
            # named_worst reads the bulletins; only the period itself is scored (for names)
            ss = list(scores(p, level)) if kind != "named_worst" or p == period else []
            per.append({s.code: s for s in ss})
            pub = published(p, level) if published and kind == "named_worst" else None
            issued.append(pub)
            if kind == "poor_tier_consecutive":
                flagged.append({s.code for s in ss if s.sampled and s.tier == "poor"})
            elif kind == "named_worst":  # only what a published bulletin actually named
                flagged.append(set(pub.worst) if pub is not None else set())
            else:
                flagged.append({s.code for s in named_worst(ss, bottom)})
        for code in sorted(flagged[-1]):
            marks = [code in f for f in flagged]
            reached = sum(marks) if kind == "named_worst" else _streak(marks)
            # consecutive namings: the run over the months that had a published bulletin
            held = [i for i, pub in enumerate(issued) if pub is not None]
            run = _streak([marks[i] for i in held]) if kind == "named_worst" else None
            t = _pick(ts, reached, run)
            if t is None:
                continue
            name = per[-1][code].name if code in per[-1] else code
            facts, used = [], []
            # facts: every naming in the window, or the current run of a streak
            first = 0 if kind == "named_worst" else len(periods) - reached
            if kind == "named_worst" and t.consecutive and run:
                first = held[len(held) - run]
            for i, (p, f, sc, pub) in enumerate(zip(periods, flagged, per, issued, strict=True)):
                if code not in f or i < first:
                    continue
                used.append(p.key)
                if pub is not None:
                    points, rank = pub.worst[code]
                    facts.append(
                        f"{p.label}：得分{points:g}，第{rank}名，月通报（{pub.number}）中被点名"
                    )
                elif (s := sc.get(code)) is not None:
                    what = {
                        "poor_tier_consecutive": f"{'年度' if cadence == 'year' else '季度'}"
                        f"考评为“{TIER_LABELS['poor']}”",
                        "bottom_consecutive": f"排名末{bottom}位",
                    }[kind]
                    facts.append(f"{p.label}：得分{s.points:g}，第{s.rank}名，{what}")
            hits.append(
                TriggerHit(
                    t.id,
                    t.label,
                    t.action,
                    level,
                    code,
                    name,
                    period.key,
                    facts,
                    [],
                    t.quarters,
                    used,
                    t.count,
                    t.citation_text,
                )
            )
    hits += _below_hits(triggers, period, scores)
    return hits


def _below_hits(triggers: Sequence[Trigger], period: Period, scores: ScoreFn) -> list[TriggerHit]:
    """``below_score``: sampled units scoring below the passing score in ``period``."""
    hits = []
    for t in triggers:
        if t.kind != "below_score" or period.kind != (t.cadence or "quarter"):
            continue
        for s in scores(period, t.level):
            if s.sampled and s.points < t.score:
                hits.append(
                    TriggerHit(
                        t.id,
                        t.label,
                        t.action,
                        t.level,
                        s.code,
                        s.name,
                        period.key,
                        [f"{period.label}：得分{s.points:g}，低于合格分{t.score:g}分"],
                        [],
                        t.quarters,
                        [period.key],
                        1,
                        t.citation_text,
                    )
                )
    return hits


def _issue_hits(
    triggers: Sequence[Trigger],
    records: Sequence[IssueRecord],
    period: Period,
    names: dict[str, dict[str, str]],
    as_of: datetime | None = None,
    calendar: WorkingCalendar | None = None,
) -> list[TriggerHit]:
    """Issue triggers; ``calendar`` given: ``overdue_days`` counts working days (the
    ``days``-th working day after the deadline's, at its close)."""
    hits: list[TriggerHit] = []
    start, end = period.start_utc, until_for(period, as_of)
    unit = "天" if calendar is None else "个工作日"
    for t in triggers:
        found: dict[str, list[tuple[IssueRecord, str]]] = defaultdict(list)
        if t.kind == "overdue_days":
            for r in records:
                if r.deadline is None or r.state in ("rejected", "merged"):
                    continue
                crossed = (
                    r.deadline + timedelta(days=t.days)
                    if calendar is None
                    else calendar.add_working_days(r.deadline, t.days).astimezone(UTC)
                )
                late = r.closed_at is None or r.closed_at > crossed
                if start <= crossed < end and late and crossed < (r.closed_at or end):
                    found[r.code_at(t.level) or ""].append(
                        (r, f"问题#{r.id}超期逾{t.days}{unit}未整改")
                    )
        elif t.kind == "returned":
            for r in records:
                if in_period(r, period) and r.return_count >= t.count:
                    found[r.code_at(t.level) or ""].append(
                        (r, f"问题#{r.id}整改被退回{r.return_count}次")
                    )
        elif t.kind == "source":
            for r in records:
                if not (in_period(r, period) and r.source in t.sources):
                    continue
                fact = f"问题#{r.id}来源：{source_label(r.source)}"
                if t.poor_rectification:
                    poor = _poor_rectification(r, end)
                    if poor is None:
                        continue
                    fact += f"，{poor}"
                found[r.code_at(t.level) or ""].append((r, fact))
        elif t.kind == "recurrence":
            mine = [r for r in records if in_period(r, period) and r.recurrence]
            for code, rs in issue_units(mine, t.level).items():
                by_place: dict[tuple, list[IssueRecord]] = defaultdict(list)
                for r in rs:
                    by_place[(r.unit_grid_code, r.category_code)].append(r)
                for (grid, cat), group in by_place.items():
                    if len(group) >= t.count:
                        place = names.get("unit_grid", {}).get(grid, grid) if grid else ""
                        what = names.get("category", {}).get(cat, cat)
                        fact = f"{place}同一问题（{what}）反复出现"
                        for r in group:
                            found[code].append((r, f"问题#{r.id}：{fact}"))
        else:
            continue
        for code, items in sorted(found.items()):
            if not code:
                continue
            hits.append(
                TriggerHit(
                    t.id,
                    t.label,
                    t.action,
                    t.level,
                    code,
                    names.get(t.level, {}).get(code, code),
                    period.key,
                    [f for _, f in items],
                    sorted({r.id for r, _ in items}),
                    t.quarters,
                    [period.key],
                    1,
                    t.citation_text,
                )
            )
    return hits


def _poor_rectification(r: IssueRecord, until: datetime) -> str | None:
    """Why the rectification of ``r`` was poor by ``until`` (None: it was not).

    Poor (整改落实不力) is a local reading: the fix was returned at least once, or
    the deadline passed before the issue was closed.
    """
    if r.return_count >= 1:
        return f"整改被退回{r.return_count}次"
    if r.deadline is not None and r.state not in ("rejected", "merged"):
        done = r.closed_at if r.closed_at is not None else until
        if done > r.deadline and r.deadline < until:
            return "逾期未整改到位"
    return None


def evaluate_triggers(
    profile: Profile,
    records: Iterable[IssueRecord],
    period: Period,
    scores: ScoreFn,
    names: dict[str, dict[str, str]] | None = None,
    *,
    as_of: datetime | None = None,
    published: PublishedFn | None = None,
    calendar: WorkingCalendar | None = None,
) -> list[TriggerHit]:
    """All triggers tripped in ``period`` under the rules in force then.

    Parameters
    ----------
    profile : Profile
    records : iterable of IssueRecord
    period : Period
        A month or a quarter (ranking triggers of the other cadence are skipped).
    scores : callable
        ``scores(period, level)`` → ranked scores (e.g. a closure over
        :func:`~civgrid.grids.scoring.score.compute_scores`).
    names : dict, optional
        level → code → Chinese name, for issue-based hits.
    as_of : datetime, optional
        Now (aware UTC): issue triggers of a period still running look up to it.
    published : callable, optional
        ``published(month, level)`` → :class:`PublishedNames` of that month's
        published bulletin, or None. ``named_worst`` counts the units a published
        bulletin named; a month without one names nobody.
    calendar : WorkingCalendar, optional
        The county's working days, for ``overdue_days`` triggers when the rules count
        them in working days (``day_counts: {overdue_trigger: {count: working}}``).

    Returns
    -------
    list of TriggerHit
        Ordered by rule id and unit.
    """
    recs = list(records)
    rules = profile.version_on(period.start)
    hits = _ranking_hits(profile, rules.triggers, period, scores, published)
    working = calendar if rules.counts_working("overdue_trigger") else None
    hits += _issue_hits(rules.triggers, recs, period, names or {}, as_of, working)
    return sorted(hits, key=lambda h: (h.rule_id, h.level, h.unit_code))
