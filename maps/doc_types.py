"""What each official document says: issue, notice, case and bulletin data → :class:`Doc`.

One builder per series of :data:`civgrid.grids.documents.series.SERIES`; each takes the
stored data and the heading (number, version, issue time) and returns the blocks that
:mod:`civgrid.maps.official_docs` prints. People are named by title (the leaders'
titles, never names or leader codes); units by name.

Left out for now (a local choice): the small map image and the QR code of the 交办单
(the link to the issue page is printed instead), and the photos of the 整改回执 (their
count per stage is printed; the photos themselves stay on the issue page).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from civgrid.grids.core.labels import (
    CONSEQUENCE_LABELS,
    LEVEL_LABELS,
    NOTICE_REASON_LABELS,
    PARTY_ROLE_LABELS,
    RED_BLACK_LABELS,
)
from civgrid.grids.documents.store import Heading
from civgrid.grids.issues import service as svc
from civgrid.grids.issues.config import IssueConfig
from civgrid.grids.issues.models import Issue, SupervisionNotice
from civgrid.grids.scoring.models import AccountabilityCase, Bulletin
from civgrid.maps.official_docs import Doc, cn_date, form, heading, para, table

__all__ = [
    "bulletin_doc",
    "case_doc",
    "duban_doc",
    "ducha_report_doc",
    "huizhi_doc",
    "jiaoban_doc",
]


#: 责任单位 (the level label of a responsible unit).
UNIT = LEVEL_LABELS["department"]


def _when(cfg: IssueConfig, x: datetime | None) -> str:
    return cfg.calendar.local(x).strftime("%Y年%m月%d日 %H:%M") if x else "—"


def _issue_rows(issue: Issue, cfg: IssueConfig) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    d = svc.describe(issue, cfg.workflow)
    place = " / ".join(p["name"] for p in (d["township"], d["community"], d["unit_grid"]) if p)
    road = d["road_section"]["name"] if d["road_section"] else "—"
    rows = [
        ("问题编号", str(issue.id)),
        ("问题类别", d["category"]["name"] or issue.category_code),
        ("问题来源", str(d["source_label"])),
        ("发现时间", _when(cfg, issue.reported_at)),
        ("问题位置", place or issue.address or "—"),
        ("所在路段", road),
        ("问题描述", issue.description or "—"),
    ]
    return d, rows


def _leaders(d: dict[str, Any]) -> str:
    """Leaders answering for the place, by title and role (never names or codes)."""
    return (
        "；".join(
            f"{x['title']}（{PARTY_ROLE_LABELS.get(x['role'], x['role'])}）" for x in d["leaders"]
        )
        or "—"
    )


def _units(d: dict[str, Any]) -> tuple[str, str]:
    owner = d["owner_unit"]["name"] if d["owner_unit"] else "（待定）"
    co = "、".join(u["name"] for u in d["co_responsible_units"]) or "无"
    return owner, co


def _doc(
    h: Heading,
    cfg: IssueConfig,
    office: str,
    addressee: str | None,
    blocks: list,
    *,
    title: str | None = None,
    letter: bool = False,
) -> Doc:
    """A document under heading ``h`` (its number, version and date), issued by ``office``."""
    return Doc(
        title=title or h.title,
        number=h.number,
        version=h.version,
        issuer=office,
        date=cn_date(cfg.calendar.local(h.issued_at)),
        addressee=addressee,
        blocks=blocks,
        letter=letter,
    )


def jiaoban_doc(issue: Issue, cfg: IssueConfig, office: str, h: Heading, link: str) -> Doc:
    """交办单: a problem handed to its unit at dispatch (place, category, deadline, units)."""
    d, rows = _issue_rows(issue, cfg)
    owner, co = _units(d)
    rows += [
        (UNIT, owner),
        ("配合单位", co),
        ("交办时间", _when(cfg, issue.assigned_at)),
        ("整改时限", _when(cfg, issue.deadline)),
        ("责任领导", _leaders(d)),
        ("问题链接", link),
    ]
    return _doc(
        h,
        cfg,
        office,
        owner,
        [
            para(
                f"现将以下问题交你单位办理，请于{_when(cfg, issue.deadline)}前整改到位，"
                "整改完成后在系统中提交整改情况（附整改前后照片），逾期未完成的将发出督办通知。"
            ),
            form(rows),
        ],
    )


def huizhi_doc(issue: Issue, cfg: IssueConfig, office: str, h: Heading) -> Doc:
    """整改回执: the unit's report of its fix (measures, when, photos per stage)."""
    d, rows = _issue_rows(issue, cfg)
    owner, _ = _units(d)
    submit = next((e for e in reversed(issue.events) if e.action == "submit"), None)
    stages: dict[str, int] = {}
    for p in issue.photos:
        stages[p.stage] = stages.get(p.stage, 0) + 1
    rows += [
        (UNIT, owner),
        ("整改时限", _when(cfg, issue.deadline)),
        ("提交时间", _when(cfg, issue.submitted_at)),
        ("整改措施", (submit.note if submit and submit.note else "—")),
        ("整改前照片", f"{stages.get('report', 0)} 张"),
        ("整改后照片", f"{sum(n for s, n in stages.items() if s != 'report')} 张"),
    ]
    return _doc(
        h,
        cfg,
        office,
        None,
        [
            para(f"{owner}已于{_when(cfg, issue.submitted_at)}报送以下问题的整改情况，待复查。"),
            form(rows),
        ],
    )


def duban_doc(notice: SupervisionNotice, cfg: IssueConfig, office: str, h: Heading) -> Doc:
    """督办通知单: an overdue (or repeatedly returned) issue chased with a second deadline."""
    issue = notice.issue
    d, rows = _issue_rows(issue, cfg)
    # addressed to the unit answering now (a re-issue after a reassignment goes to the new one)
    owner = issue.owner_unit or notice.unit
    unit = owner.name if owner is not None else "（待定）"
    reason = NOTICE_REASON_LABELS.get(notice.reason, notice.reason)
    rows += [
        ("原整改时限", _when(cfg, issue.deadline)),
        ("当前状态", str(d["state_label"])),
        ("督办事由", reason),
        ("督办时限", _when(cfg, notice.deadline)),
        ("责任领导", _leaders(d)),
    ]
    return _doc(
        h,
        cfg,
        office,
        unit,
        [
            para(
                f"经查，你单位负责的以下问题{reason}。请于{_when(cfg, notice.deadline)}前整改到位，"
                f"并将整改情况（附整改前后照片）报{office}。"
                "逾期未完成的，将按有关规定提级督办、通报问责。"
            ),
            form(rows),
        ],
    )


def case_doc(case: AccountabilityCase, cfg: IssueConfig, office: str, h: Heading) -> Doc:
    """约谈通知书 (series ``yuetan``) or 问责建议书 (``wenze``) of an accountability case."""
    facts = [para(f"{i}. {f}") for i, f in enumerate(case.facts, 1)] or [para("—")]
    action = CONSEQUENCE_LABELS.get(case.action, case.action)
    due = _when(cfg, case.due_at) if case.due_at else None
    if h.series == "yuetan":
        ask = (
            f"根据{case.rule_label}的规定，经研究，决定对你单位主要负责同志进行约谈。"
            "请按通知时间、地点参加约谈，并书面报告问题整改情况。"
        )
    else:
        ask = (
            f"根据{case.rule_label}的规定，建议对{case.unit_name}相关责任人予以{action}，"
            "请有关部门依规依纪处理，并将结果反馈本办。"
        )
    blocks = [para(ask), heading("一、存在问题"), *facts]
    blocks.append(heading("二、有关要求"))
    blocks.append(
        para(f"请于{due}前完成整改并书面报告。" if due else "请立即组织整改，并书面报告整改情况。")
    )
    if case.issue_ids:
        blocks.append(para("涉及问题编号：" + "、".join(str(i) for i in case.issue_ids)))
    if case.citation:
        blocks.append(para(f"依据：{case.citation}"))
    return _doc(h, cfg, office, case.unit_name, blocks, letter=True)


def _pts(x: Any) -> str:
    return f"{x:.1f}" if isinstance(x, int | float) else str(x or "—")


def bulletin_doc(b: Bulletin, cfg: IssueConfig, office: str, h: Heading) -> Doc:
    """月通报 in the official layout: red 版头, number, title, summary, rankings, named."""
    c = b.content
    s = c.get("summary", {})
    blocks = [
        para(
            f"{c.get('period_label', b.period)}，全县共发现问题{s.get('issues', 0)}件，"
            f"已办结{s.get('closed', 0)}件，逾期{s.get('overdue', 0)}件，"
            f"反弹回潮{s.get('recurrences', 0)}件，触发问责情形{s.get('cases', 0)}起。"
            "现将有关情况通报如下。"
        ),
        heading("一、社区（村）排名"),
        table(
            ["名次", "社区（村）", "得分"],
            [
                [i, r.get("name", ""), _pts(r.get("points"))]
                for i, r in enumerate(c.get("communities", []), 1)
            ],
        ),
        heading("二、乡镇（街道）排名"),
        table(
            ["名次", LEVEL_LABELS["township"], "得分"],
            [
                [i, r.get("name", ""), _pts(r.get("points"))]
                for i, r in enumerate(c.get("townships", []), 1)
            ],
        ),
    ]
    best = "、".join(x["name"] for x in c.get("best", [])) or "无"
    worst = "、".join(x["name"] for x in c.get("worst", [])) or "无"
    blocks += [
        heading("三、表扬与通报批评"),
        para(f"对{best}予以通报表扬；对{worst}予以通报批评，请限期整改。"),
    ]
    if c.get("cases"):
        blocks.append(heading("四、问责情形"))
        for i, case in enumerate(c["cases"], 1):
            blocks.append(para(f"{i}. {case.get('unit_name', '')}：{case.get('rule_label', '')}"))
    return _doc(
        h,
        cfg,
        office,
        "各乡镇（街道）、县直各有关单位",
        blocks,
        title=c.get("title") or h.title,
        letter=True,
    )


def ducha_report_doc(report: dict[str, Any], cfg: IssueConfig, office: str, h: Heading) -> Doc:
    """督查报告 of a month (:func:`civgrid.grids.scoring.reports.supervision_report`): what
    the inspections found, what was rectified, what is open and overdue, per unit."""
    first, last = (cn_date(date.fromisoformat(d)) for d in report["window"])
    blocks = [
        para(
            f"{first}至{last}，各督查组共完成督查走访{report['visits']}次，"
            f"发现问题{report['found']}件，已整改{report['rectified']}件，"
            f"尚未整改{report['open']}件，其中逾期{report['overdue']}件。现将有关情况报告如下。"
        ),
        heading("一、各责任单位问题整改情况"),
        table(
            [UNIT, "发现", "已整改", RED_BLACK_LABELS["open"], "逾期"],
            [
                [u["unit_name"], u["found"], u["rectified"], u["open"], u["overdue"]]
                for u in report.get("units", [])
            ],
        ),
        heading("二、下一步工作"),
        para(
            "对未整改和逾期问题，督查组将持续跟踪督办，逾期仍未整改的按有关规定提级督办、通报问责。"
        ),
    ]
    if report.get("citation"):
        blocks.append(para(str(report["citation"])))
    return _doc(
        h,
        cfg,
        office,
        None,
        blocks,
        title=f"{report['month'][:4]}年{int(report['month'][5:7])}月创建文明城市督查报告",
        letter=True,
    )
