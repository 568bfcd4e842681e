"""Bulletins (通报): the monthly bulletin, the quarterly assessment, the half-year
assessment and the annual result (年总评), as content and xlsx.

:func:`build_bulletin` assembles the content (ranking tables of communities and
townships, best and worst named, department indicators, accountability cases
with their facts, negative lists of the worst units, hotspots and a link to the
heat map) as a JSON-ready dict — with, from a quarter on, the rankings of the
profile's assessed subjects (``subjects``: civilized units and key-task departments
quarterly, other-task units half-yearly, all of them in the year) and the recorded
adjustments of the period (``adjustments``; the year's results take them: 年总评) and,
when the profile scores field points, the points section (``points``: per type 达标率,
the failing points by responsible unit);
:func:`bulletin_xlsx` writes it as a workbook;
:func:`publish_bulletin` freezes both with a number (``<prefix>〔2026〕第3号``,
the prefix from the city profile).
A published bulletin is never recomputed; publishing a period twice is refused, and
so is publishing a period that has not ended (its scores would still change).
Drafts of a running period are computed as of the context's ``now``.
"""

from __future__ import annotations

import hashlib
import io
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.grids.core import audit
from civgrid.grids.core import labels as zh
from civgrid.grids.core.actors import Actor
from civgrid.grids.core.errors import ConflictError, InvalidInputError, NotFoundError
from civgrid.grids.core.outbox import publish
from civgrid.grids.core.spreadsheet import values_only
from civgrid.grids.scoring.campaigns import campaign_section
from civgrid.grids.scoring.models import Bulletin
from civgrid.grids.scoring.points import points_section
from civgrid.grids.scoring.score import (
    LEVEL_LABELS,
    TIER_LABELS,
    Period,
    bulletin_names,
    in_period,
    until_for,
)
from civgrid.grids.scoring.service import SUBJECTS, ScoringContext, negative_list
from civgrid.grids.scoring.subjects import adjustment_dict, list_adjustments

__all__ = [
    "KIND_OF_PERIOD",
    "build_bulletin",
    "bulletin_dict",
    "bulletin_xlsx",
    "get_bulletin",
    "publish_bulletin",
    "published_through",
]

KIND_OF_PERIOD = {
    "month": "monthly",
    "quarter": "quarterly",
    "half": "half_yearly",
    "year": "annual",
}
#: The title's last words where the kind label would repeat the period (2026年度…年度总评).
_TITLE_WORDS = {"annual": "总评"}
_NO_KIND = "a bulletin covers a month, a quarter, a half-year or a year"
KIND_LABELS = zh.BULLETIN_KIND_LABELS
#: How a draft names itself in accountability facts (its number is not known yet).
DRAFT_NUMBER = "本期通报草稿"


def _row(s: Any) -> dict[str, Any]:
    d = s.to_dict(items=False)
    d["tier_label"] = TIER_LABELS.get(s.tier or "", "")
    return d


def build_bulletin(
    ctx: ScoringContext, period: Period, now: datetime | None = None, *, number: str | None = None
) -> dict:
    """The content of the bulletin of ``period`` (a month or a quarter).

    Parameters
    ----------
    ctx : ScoringContext
    period : Period
        ``month`` → monthly bulletin (月通报); ``quarter`` → quarterly assessment with tiers
        (and the civilized units and key-task departments); ``half`` → the half-year
        assessment (other-task units); ``year`` → the annual result (年总评: every
        ranking with the year's recorded adjustments).
    now : datetime, optional
        Generation time (aware UTC; default: the context's ``now``, which the
        scores and the summary are computed as of).
    number : str, optional
        The document number being issued (None: a draft). The bulletin's own
        month counts as published in its accountability facts (``named_worst``):
        it is the bulletin being issued.

    Returns
    -------
    dict
        JSON-ready content.
    """
    kind = KIND_OF_PERIOD.get(period.kind)
    if kind is None:
        raise InvalidInputError(_NO_KIND, field="period")
    now = now or ctx.as_of
    until = until_for(period, ctx.as_of)
    rules = ctx.rules(period)
    profile = ctx.registry.profile(ctx.profile)
    communities = ctx.scores(period, "community")
    townships = ctx.scores(period, "township")
    r = rules.ranking
    best, worst = bulletin_names(communities, r.best_named, r.worst_named)
    best_t, worst_t = bulletin_names(townships, r.best_named, r.worst_named)
    depts = [d for d in ctx.indicators(period, "department") if d["filed"] or d["due"]]
    hits = ctx.triggers(period, issuing=number or DRAFT_NUMBER)
    recs = [r for r in ctx.period_records(period) if in_period(r, period)]
    grids = Counter(r.unit_grid_code for r in recs if r.unit_grid_code)
    grid_names = ctx.names("unit_grid")
    last = (period.end - timedelta(days=1)).isoformat()
    negative = [negative_list(ctx, "community", s.code, period) for s in worst]
    tiers = Counter(s.tier for s in communities if s.tier)
    return {
        "kind": kind,
        "kind_label": KIND_LABELS[kind],
        "period": period.key,
        "period_label": period.label,
        "title": f"{period.label}创建文明城市工作{_TITLE_WORDS.get(kind, KIND_LABELS[kind])}",
        "number": number,
        "profile": profile.profile,
        "profile_name": profile.name,
        "rules_effective_from": rules.effective_from.isoformat(),
        "generated_at": now.isoformat(),
        "as_of": until.isoformat(),
        "summary": {
            "issues": len(recs),
            "closed": sum(1 for r in recs if r.closed_at and r.closed_at < until),
            "overdue": sum(1 for r in recs if r.overdue_days(until) > 0),
            "recurrences": sum(1 for r in recs if r.recurrence),
            "cases": len(hits),
            "tiers": {TIER_LABELS[k]: v for k, v in tiers.items()},
        },
        "tier_thresholds": {"good": rules.tiers.good, "fair": rules.tiers.fair},
        "communities": [_row(s) for s in communities],
        "townships": [_row(s) for s in townships],
        "best": [
            {"level": "community", "code": s.code, "name": s.name, "points": s.points} for s in best
        ]
        + [
            {"level": "township", "code": s.code, "name": s.name, "points": s.points}
            for s in best_t
        ],
        "worst": [
            {"level": "community", "code": s.code, "name": s.name, "points": s.points}
            for s in worst
        ]
        + [
            {"level": "township", "code": s.code, "name": s.name, "points": s.points}
            for s in worst_t
        ],
        "departments": depts,
        "cases": [h.to_dict() for h in hits],
        "negative_lists": negative,
        "hotspots": [
            {"code": c, "name": grid_names.get(c, c), "issues": n} for c, n in grids.most_common(5)
        ],
        "campaigns": campaign_section(ctx.session, period.start, period.end - timedelta(days=1)),
        "heat_link": f"/map/heat?from={period.start.isoformat()}&to={last}",
        "hexbins_link": f"/api/v1/hexbins?from={period.start.isoformat()}&to={last}",
        "subjects": subject_sections(ctx, period),
        "adjustments": [adjustment_dict(a) for a in list_adjustments(ctx.session, period.key)],
        "points": points_part(ctx, period),
    }


def points_part(ctx: ScoringContext, period: Period) -> dict[str, Any] | None:
    """The bulletin's points section (实地考察点位抽查, 004: "每月按照三分之一左右的比例对
    社区（行政村）网格和实地考察点位进行抽查"): the points inspected in the period by type
    with their pass rate, the failing points by responsible unit, the worst points and
    the items failed most (:func:`~civgrid.grids.scoring.points.points_section`). None
    when the profile does not score points."""
    rules = ctx.rules(period)
    if rules.points is None:
        return None
    section = points_section(ctx.period_points(period), ctx.point_types)
    section["per_point"] = rules.points.per_point
    section["citation"] = rules.points.citation.render() if rules.points.citation else ""
    section["local_reason"] = rules.points.local_reason
    return section


def subject_sections(ctx: ScoringContext, period: Period) -> list[dict[str, Any]]:
    """The rankings of the profile's assessed subjects assessed over ``period``'s kind
    (all of them in a year), as JSON-ready sections."""
    rules = ctx.rules(period)
    out = []
    for subject in SUBJECTS:
        spec = getattr(rules.subjects, subject)
        if spec is None or period.kind not in (spec.period, "year"):
            continue
        got = ctx.subject_scores(period, subject)
        out.append({**got, "scores": [_row(s) for s in got["scores"]]})
    return out


_COLS_SCORE = [
    ("rank", "名次"),
    ("name", "单位"),
    ("code", "代码"),
    ("points", "得分"),
    ("deductions", "扣分"),
    ("bonuses", "加分"),
    ("issues", "问题数"),
    ("tier_label", "档次"),
]
_COLS_DEPT = [
    ("rank", "名次"),
    ("name", zh.LEVEL_LABELS["department"]),
    *(
        (k, zh.INDICATOR_LABELS[k])
        for k in (
            "filed",
            "due",
            "closure_rate",
            "on_time_rate",
            "rework_rate",
            "extension_rate",
            "avg_handling_hours",
            "composite_score",
        )
    ),
]
_COLS_CASE = [
    ("unit_name", "单位"),
    ("level", "层级"),
    ("label", "问责情形"),
    ("action_label", "处理建议"),
    ("facts", "事实依据"),
    ("citation", "依据条款"),
]
_COLS_CAMPAIGN = [
    (k, zh.CAMPAIGN_REPORT_LABELS[k])
    for k in ("name", "windows", "found", "fixed", "found_before", "fixed_before")
]
_COLS_ADJ = [
    ("level", "层级"),
    ("code", "代码"),
    ("kind_label", "类别"),
    ("points", "分值"),
    ("reason", "事由"),
    ("source", "来源"),
]
_COLS_POINT_TYPE = [
    ("label", zh.POINT_FIELD_LABELS["point_type"]),
    ("inspected", "抽查点位数"),
    ("passed", "达标数"),
    ("failed", "不达标数"),
    ("pass_rate", "达标率（%）"),
]
_COLS_POINT_FAIL = [
    ("unit_name", zh.POINT_FIELD_LABELS["responsible_unit"]),
    ("name", "点位"),
    ("code", zh.POINT_FIELD_LABELS["code"]),
    ("type_label", zh.POINT_FIELD_LABELS["point_type"]),
    ("must_check", zh.POINT_FIELD_LABELS["must_check"]),
    ("score", "点位得分"),
    ("failed_items", "未达标条目"),
]
_COLS_NEG = [
    ("unit_name", "单位"),
    ("level", "层级"),
    ("issue", "问题编号"),
    ("category", "问题类别"),
    ("label", "情形"),
]


def bulletin_xlsx(content: dict[str, Any]) -> bytes:
    """The bulletin as xlsx: sheets 社区排名, 乡镇排名, 部门指标, 问责情形, 负面清单, 专项行动,
    then one per assessed subject and 加减分 (the recorded adjustments), if any, and
    点位抽查 (per point type) with 不达标点位 (by responsible unit) when points are scored."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="F2DCDB")

    def sheet(title: str, cols: list[tuple[str, str]], rows: list[dict]) -> None:
        ws = wb.create_sheet(title)
        ws.append([content["title"] + (f" {content['number']}" if content.get("number") else "")])
        ws["A1"].font = Font(bold=True, size=14)
        ws.append([h for _, h in cols])
        for cell in ws[2]:
            cell.font, cell.fill = bold, fill
            cell.alignment = Alignment(horizontal="center", wrap_text=True)
        for r in rows:
            vals = []
            for k, _ in cols:
                v = r.get(k)
                if k == "level":
                    v = LEVEL_LABELS.get(v, v)
                elif k in ("points", "deductions", "bonuses") and r.get("sampled") is False:
                    v = "未抽查"  # not sampled: no score, not 100
                elif k == "tier_label" and r.get("sampled") is False:
                    v = "未抽查"
                vals.append("；".join(v) if isinstance(v, list) else v)
            ws.append(vals)
        ws.freeze_panes = "A3"
        for i, (_, h) in enumerate(cols, 1):
            ws.column_dimensions[get_column_letter(i)].width = max(10, len(h) * 2 + 4)

    sheet("社区排名", _COLS_SCORE, content["communities"])
    sheet("乡镇排名", _COLS_SCORE, content["townships"])
    sheet("部门指标", _COLS_DEPT, content["departments"])
    sheet("问责情形", _COLS_CASE, content["cases"])
    neg = [
        {
            "unit_name": n["name"],
            "level": n["level"],
            "label": e["label"],
            "issue": f"问题#{e['issue_id']}",
            "category": e.get("category_name") or e["category_code"],
        }
        for n in content["negative_lists"]
        for e in n["entries"]
    ]
    sheet("负面清单", _COLS_NEG, neg)
    sheet("专项行动", _COLS_CAMPAIGN, content.get("campaigns") or [])
    for sec in content.get("subjects") or []:
        sheet(sec["label"][:31], _COLS_SCORE, sec["scores"])
    if content.get("adjustments"):
        sheet("加减分", _COLS_ADJ, content["adjustments"])
    if (pts := content.get("points")) is not None:
        sheet("点位抽查", _COLS_POINT_TYPE, pts["by_type"])
        failing = [
            {
                **p,
                "unit_name": u["unit_name"],
                "must_check": "是" if p["must_check"] else "",
                "failed_items": [f"{i['code']} {i['text']}" for i in p["failed_items"]],
            }
            for u in pts["failing_by_unit"]
            for p in u["points"]
        ]
        sheet("不达标点位", _COLS_POINT_FAIL, failing)
    wb.properties.title = content["title"]
    wb.properties.creator = "civgrid"
    buf = io.BytesIO()
    values_only(wb).save(buf)  # names and notes never run as formulas
    return buf.getvalue()


def bulletin_dict(b: Bulletin) -> dict[str, Any]:
    """JSON-ready dict of a stored bulletin (without the xlsx bytes)."""
    return {
        "id": b.id,
        "kind": b.kind,
        "period": b.period,
        "number": b.number,
        "profile": b.profile,
        "rules_effective_from": b.rules_effective_from,
        "issued_at": b.issued_at.isoformat(),
        "issued_by": b.issued_by,
        "sha256": b.sha256,
        "content": b.content,
    }


def get_bulletin(session: Session, bulletin_id: int) -> Bulletin:
    """A published bulletin by id."""
    b = session.get(Bulletin, bulletin_id)
    if b is None:
        raise NotFoundError(f"no bulletin {bulletin_id}", kind="bulletin", key=bulletin_id)
    return b


def find_bulletin(session: Session, kind: str, period: str) -> Bulletin | None:
    """The published bulletin of ``kind`` and ``period``, if any."""
    q = select(Bulletin).where(Bulletin.kind == kind, Bulletin.period == period)
    return session.scalars(q).first()


def published_through(session: Session, profile: str | None = None) -> date | None:
    """The last day of the latest period with a published bulletin (of ``profile``).

    Rules in force up to that day are frozen: the bulletin was issued on them.
    """
    q = select(Bulletin.period)
    if profile is not None:
        q = q.where(Bulletin.profile == profile)
    ends = [Period.parse(p).end for p in session.scalars(q)]
    return max(ends) - timedelta(days=1) if ends else None


def publish_bulletin(
    ctx: ScoringContext, period: Period, actor: Actor, now: datetime | None = None
) -> Bulletin:
    """Build, number and freeze the bulletin of ``period``.

    Parameters
    ----------
    ctx : ScoringContext
        The scores are computed as of its ``now`` (``as_of``), which may not be
        later than the real time of publication.
    period : Period
    actor : Actor
        Who publishes (kept as ``issued_by``; audited as ``bulletin.publish`` with
        the kind, period, number, profile and the xlsx's SHA-256).
    now : datetime, optional
        The real time of publication (aware UTC; default: the system clock). It
        is stored as ``issued_at``; an "as of" moment never stands in for it.

    Raises
    ------
    ConflictError
        The period is already published (the stored bulletin stays as issued), or
        has not ended yet at the real time.
    InvalidInputError
        The context computes as of a moment later than the real time.
    """
    kind = KIND_OF_PERIOD.get(period.kind)
    if kind is None:
        raise InvalidInputError(_NO_KIND, field="period")
    now = now or datetime.now(UTC)
    if period.end_utc > now:
        raise ConflictError(
            f"{period.key} has not ended: its {kind} bulletin can be published from "
            f"{period.end.isoformat()} 00:00 county time (scores still change until then)",
            kind="bulletin",
            key=period.key,
        )
    if ctx.as_of > now:
        raise InvalidInputError(
            f"cannot publish as of {ctx.as_of.isoformat()}: that is later than now "
            f"({now.isoformat()}); a bulletin is issued on what is known when it is issued",
            field="as_of",
        )
    if period.end_utc > ctx.as_of:
        raise ConflictError(
            f"{period.key} has not ended as of {ctx.as_of.isoformat()}: its {kind} bulletin "
            f"covers the whole period (as of {period.end.isoformat()} 00:00 county time or later)",
            kind="bulletin",
            key=period.key,
        )
    if (old := find_bulletin(ctx.session, kind, period.key)) is not None:
        raise ConflictError(
            f"{period.key} {kind} bulletin already published as {old.number} (id {old.id})",
            kind="bulletin",
            key=old.id,
        )
    number = next_number(ctx.session, kind, period.start.year)
    content = build_bulletin(ctx, period, now, number=number)
    data = bulletin_xlsx(content)
    b = Bulletin(
        kind=kind,
        period=period.key,
        number=content["number"],
        profile=content["profile"],
        rules_effective_from=content["rules_effective_from"],
        issued_at=now,
        issued_by=actor.who,
        content=content,
        xlsx=data,
        sha256=hashlib.sha256(data).hexdigest(),
    )
    ctx.session.add(b)
    ctx.session.flush()
    audit.record(
        ctx.session,
        actor,
        "bulletin.publish",
        "bulletin",
        b.id,
        after={
            "kind": kind,
            "period": period.key,
            "number": b.number,
            "profile": b.profile,
            "sha256": b.sha256,
        },
    )
    publish(
        ctx.session,
        "bulletin_published",
        "bulletin",
        b.id,
        now,
        {"number": b.number, "period": period.key, "bulletin_kind": kind},
    )
    return b


def series(kind: str) -> str:
    """The document series (文号 prefix) of ``kind``, from the city profile's
    ``bulletin_prefixes``; each series is numbered separately per year. Without a
    ``half_yearly`` or ``annual`` prefix, the quarterly one with 半年 / 年 (a local
    default, so the numbers never collide)."""
    from civgrid.grids.core.city import current_city

    prefixes = current_city().bulletin_prefixes
    got = getattr(prefixes, kind, None)
    if got:
        return str(got)
    return prefixes.quarterly + {"half_yearly": "半年", "annual": "年"}[kind]


def next_number(session: Session, kind: str, year: int) -> str:
    """The next document number of ``kind``'s series in ``year`` (``<prefix>〔2026〕第2号``).

    Each series (kind) has its own counter per year: the first quarterly
    assessment is 第1号 whatever the monthly bulletins before it.
    """
    tag = series(kind)
    prefix = f"{tag}〔{year}〕第"
    used = session.scalars(
        select(Bulletin.number).where(Bulletin.kind == kind, Bulletin.number.like(f"{prefix}%"))
    ).all()
    seqs = [int(n[len(prefix) : -1]) for n in used if n[len(prefix) : -1].isdigit()]
    return f"{prefix}{max(seqs, default=0) + 1}号"
