"""Printable Chinese pages of scoring: the bulletin (通报), the rankings, the leader dashboard.

Plain HTML strings (no map library): a bulletin must print on A4 and open on an
intranet without any CDN. The heat map of the period's hotspots is linked
(``/map/heat?from=&to=``), not embedded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any
from urllib.parse import quote

from civgrid.grids.core import labels as zh
from civgrid.maps.assets import STATIC_URL

__all__ = [
    "bulletin_html",
    "dashboard_page_html",
    "dashboard_section_html",
    "leader_dashboard_loader",
    "scores_page_html",
    "unit_page_html",
]

_LEVELS = zh.LEVEL_LABELS
_TIERS = zh.TIER_LABELS
#: Chinese names of the line-item rules shown on a unit's page.
_RULES = zh.SCORE_LINE_LABELS

_CSS = """
body{font-family:"Noto Sans CJK SC","Noto Serif CJK SC","WenQuanYi Micro Hei",sans-serif;
margin:24px auto;max-width:1000px;color:#222;font-size:14px;line-height:1.5}
h1{text-align:center;color:#b00;font-size:24px;margin:8px 0}
h2{font-size:17px;border-left:4px solid #b00;padding-left:8px;margin-top:22px}
.no{text-align:center;color:#555}.muted{color:#777}.draft{color:#b00;text-align:center}
table{border-collapse:collapse;width:100%;margin:6px 0}
th,td{border:1px solid #999;padding:3px 6px;text-align:left}th{background:#f2dcdb}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.tier-good{color:#070}.tier-fair{color:#a60}.tier-poor{color:#b00;font-weight:bold}
.named{background:#fff3f3}.nav a{margin-right:12px}
.closing{text-align:right;margin:36px 24px 0}.closing p{margin:4px 0}
.publish button{font-size:15px;padding:6px 16px;background:#b00;color:#fff;border:0}
@media print{.nav,.noprint{display:none}body{margin:0;max-width:none}
h2{page-break-after:avoid}table{page-break-inside:auto}tr{page-break-inside:avoid}}
"""


_DEPT_HEAD = "".join(
    f"<th>{escape(zh.INDICATOR_LABELS[k])}</th>"
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
)


def _e(v: Any) -> str:
    return escape("" if v is None else str(v))


def _cat(e: Mapping[str, Any]) -> str:
    """The Chinese category name of a negative-list entry (the code for old content)."""
    return _e(e.get("category_name") or e.get("category_code"))


def _num(v: Any, pct: bool = False) -> str:
    if v is None:
        return "—"
    if pct:
        return f"{100 * float(v):.1f}%"
    return f"{round(float(v), 2):g}" if isinstance(v, int | float) else _e(v)


def _points(r: Mapping[str, Any]) -> str:
    """A score's points, or 未抽查 for a unit not sampled (never a full score)."""
    return _num(r["points"]) if r.get("sampled", True) else "未抽查"


def _page(title: str, body: str) -> str:
    from civgrid.maps.banner import calendar_banner

    body = calendar_banner() + body
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style>"
        f'<script src="{STATIC_URL}/js/print.js" defer></script>'
        f'<script src="{STATIC_URL}/js/bulletin-publish.js" defer></script>'
        f"</head><body>{body}</body></html>"
    )


def _unit_link(r: Mapping[str, Any]) -> str:
    href = f"/scores/{r.get('level')}/{r.get('code')}?period={r.get('period')}"
    return f'<a href="{_e(href)}">{_e(r["name"])}</a>'


def _score_table(rows: Sequence[Mapping[str, Any]], named: set[str], tid: str) -> str:
    body = "".join(
        f"<tr class='{'named' if r['code'] in named else ''}'>"
        f"<td class='num'>{_e(r.get('rank') or '—')}</td><td>{_unit_link(r)}</td>"
        f"<td class='num'>{_points(r)}</td><td class='num'>{_num(r.get('deductions'))}</td>"
        f"<td class='num'>{_num(r.get('bonuses'))}</td><td class='num'>{_e(r.get('issues'))}</td>"
        f"<td class='tier-{_e(r.get('tier'))}'>{_e(_TIERS.get(r.get('tier') or '', '未抽查'))}</td>"
        "</tr>"
        for r in rows
    )
    return (
        f'<table id="{tid}"><thead><tr><th>名次</th><th>单位</th><th>得分</th><th>扣分</th>'
        f"<th>加分</th><th>问题数</th><th>档次</th></tr></thead><tbody>{body}</tbody></table>"
    )


def _dept_table(rows: Sequence[Mapping[str, Any]], limit: int = 30) -> str:
    body = "".join(
        f"<tr><td class='num'>{_e(r.get('rank') or '—')}</td><td>{_e(r['name'])}</td>"
        f"<td class='num'>{r['filed']}</td><td class='num'>{r['due']}</td>"
        f"<td class='num'>{_num(r['closure_rate'], True)}</td>"
        f"<td class='num'>{_num(r['on_time_rate'], True)}</td>"
        f"<td class='num'>{_num(r['rework_rate'], True)}</td>"
        f"<td class='num'>{_num(r['extension_rate'], True)}</td>"
        f"<td class='num'>{_num(r['avg_handling_hours'])}</td>"
        f"<td class='num'>{_num(r['composite_score'])}</td></tr>"
        for r in list(rows)[:limit]
    )
    return (
        f'<table id="cg-dept"><thead><tr><th>名次</th><th>{_LEVELS["department"]}</th>'
        f"{_DEPT_HEAD}</tr></thead><tbody>{body}</tbody></table>"
        '<p class="muted">名次仅排应结案数达到最低样本量的单位（“—”为样本不足）。</p>'
    )


def _as_of(c: Mapping[str, Any]) -> str:
    """``；统计截至2026-12-06 18:00`` (county time) from the content's ``as_of``, else empty."""
    from datetime import datetime

    from civgrid.grids.core.calendar import local_zone

    try:
        at = datetime.fromisoformat(str(c["as_of"])).astimezone(local_zone())
    except (KeyError, ValueError, TypeError):
        return ""
    return f"；统计截至{at:%Y-%m-%d %H:%M}"


def _issued_on(value: Any) -> str:
    """``2025年12月1日`` (county date) from a datetime or ISO text; empty when unknown.

    >>> from datetime import UTC, datetime
    >>> _issued_on(datetime(2025, 11, 30, 17, 0, tzinfo=UTC))
    '2025年12月1日'
    >>> _issued_on(None)
    ''
    """
    from datetime import datetime

    from civgrid.grids.core.calendar import local_zone

    try:
        at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except (ValueError, TypeError):
        return ""
    local = at.astimezone(local_zone())
    return f"{local.year}年{local.month}月{local.day}日"


def _closing(content: Mapping[str, Any], draft: bool, issued_at: Any) -> str:
    """The end of a bulletin: the issuing office and the date (印发单位、日期)."""
    from civgrid.grids.core.city import current_city

    when = _issued_on(issued_at if issued_at is not None else content.get("generated_at"))
    date = f"（草稿）{when}" if draft else when
    return (
        f'<div class="closing" id="cg-bulletin-closing"><p id="cg-bulletin-office">'
        f'{_e(current_city().office)}</p><p id="cg-bulletin-date">{_e(date)}</p></div>'
    )


def _publish(period: str, profile: str | None) -> str:
    """The publish button (印发) of a draft, for those allowed to publish (score.write)."""
    return (
        '<p class="noprint publish" id="cg-publish-box">'
        f'<button type="button" id="cg-publish" data-perm="score.write" data-period="{_e(period)}"'
        f' data-profile="{_e(profile or "")}">印发本期通报</button>'
        ' <span id="cg-publish-msg" role="status"></span></p>'
    )


def bulletin_html(
    content: Mapping[str, Any],
    *,
    draft: bool = False,
    xlsx: str = "",
    publish: bool = False,
    published: str | None = None,
    issued_at: Any = None,
) -> str:
    """The bulletin as a printable Chinese HTML page.

    Parameters
    ----------
    content : mapping
        From :func:`civgrid.grids.scoring.bulletins.build_bulletin` (or a stored bulletin).
    draft : bool
        Mark as a draft (not yet issued).
    xlsx : str
        Link to the stored workbook, if any.
    publish : bool
        Show the publish button (a draft, for a role allowed to publish).
    published : str, optional
        Link to the published bulletin of the same period (instead of the button).
    issued_at : datetime, optional
        When it was issued (the date at its end; default: when it was built).
    """
    c = content
    worst = {w["code"] for w in c.get("worst", [])}
    s = c.get("summary", {})
    tiers = "，".join(f"{k}{v}个" for k, v in (s.get("tiers") or {}).items())
    tiers = f"社区档次：{tiers}。" if tiers else ""

    def named(lvl: str, key: str) -> str:
        got = [x for x in c.get(key, []) if x["level"] == lvl]
        return "、".join(f"{_e(x['name'])}（{_num(x['points'])}分）" for x in got) or "无"

    cases = "".join(
        f"<tr><td>{_e(h['unit_name'])}</td><td>{_e(_LEVELS.get(h['level'], h['level']))}</td>"
        f"<td>{_e(h['label'])}</td><td>{_e(h.get('action_label'))}</td>"
        f"<td>{'<br>'.join(_e(f) for f in h['facts'][:6])}</td>"
        f"<td class='cite'>{_e(h.get('citation') or '')}</td></tr>"
        for h in c.get("cases", [])
    )
    negs = (
        "".join(
            f"<h3>{_e(n['name'])}</h3><ul>"
            + "".join(
                f"<li>问题#{e['issue_id']}（{_cat(e)}）：{_e(e['label'])}</li>"
                for e in n["entries"][:20]
            )
            + "</ul>"
            for n in c.get("negative_lists", [])
        )
        or "<p>无。</p>"
    )
    hot = "".join(
        f"<li>{_e(h['name'])}（{_e(h['code'])}）：{h['issues']}件</li>"
        for h in c.get("hotspots", [])
    )
    heat = _e(c.get("heat_link"))
    case_head = (
        '<table id="cg-cases"><thead><tr><th>单位</th><th>层级</th><th>情形</th>'
        "<th>处理建议</th><th>事实依据</th><th>依据条款</th></tr></thead><tbody>"
    )
    parts = [
        '<p class="nav noprint"><a href="/">首页</a><a href="/scores">考核排名</a>',
        f'<a href="{heat}">问题热力图</a>',
        f'<a href="{_e(xlsx)}">下载xlsx</a>' if xlsx else "",
        '<a href="#" data-print>打印</a></p>',
        f'<p class="draft">（草稿，未正式印发{_as_of(c)}）</p>' if draft else "",
        (
            f'<p class="noprint publish" id="cg-published">本期通报已印发：'
            f'<a href="{_e(published)}">查看正式通报</a></p>'
        )
        if draft and published
        else "",
        _publish(str(c.get("period") or ""), c.get("profile")) if draft and publish else "",
        f'<h1 id="cg-bulletin-title">{_e(c["title"])}</h1>',
        f'<p class="no">{_e(c.get("number") or "")}　考核规则：{_e(c.get("profile_name"))}',
        f"（{_e(c.get('rules_effective_from'))}起施行）</p>",
        "<h2>一、总体情况</h2>",
        f"<p>{_e(c['period_label'])}共发现问题{s.get('issues', 0)}件，",
        f"已结案{s.get('closed', 0)}件，超期{s.get('overdue', 0)}件，",
        f"反弹回潮{s.get('recurrences', 0)}件；触发问责情形{s.get('cases', 0)}起。{_e(tiers)}</p>",
        f"<p><b>表扬：</b>社区 {named('community', 'best')}；",
        f"乡镇（街道） {named('township', 'best')}。</p>",
        f"<p><b>通报：</b>社区 {named('community', 'worst')}；",
        f"乡镇（街道） {named('township', 'worst')}。</p>",
        "<h2>二、社区（行政村）排名</h2>",
        _score_table(c["communities"], worst, "cg-communities"),
        "<h2>三、乡镇（街道）排名</h2>",
        '<p class="muted">乡镇得分为所辖被抽查社区得分的加权平均；',
        "无社区网格的乡镇按其自身点位问题计分。</p>",
        _score_table(c["townships"], worst, "cg-townships"),
        "<h2>四、责任单位处置指标</h2>",
        _dept_table(c.get("departments", [])),
        "<h2>五、问责情形</h2>",
        f"{case_head}{cases}</tbody></table>" if cases else "<p>无。</p>",
        "<h2>六、负面清单</h2>",
        negs,
        "<h2>七、问题热点</h2>",
        f"<ul>{hot}</ul>" if hot else "<p>无。</p>",
        f'<p class="noprint">热力图：<a href="{heat}">在系统中查看问题热力图</a></p>',
        "<h2>八、专项行动</h2>",
        campaign_section_html(c.get("campaigns") or [], c.get("period")),
        _subjects_html(c.get("subjects") or [], worst),
        _adjustments_html(c.get("adjustments") or []),
        points_section_html(c.get("points")),
        _closing(c, draft, issued_at),
    ]
    body = "".join(parts)
    return _page(c["title"], body)


def _subjects_html(sections: Sequence[Mapping[str, Any]], named: set[str]) -> str:
    """九、: the rankings of the assessed subjects (civilized units, key-task departments,
    other-task units), each with its clause; empty when the bulletin has none."""
    if not sections:
        return ""
    parts = ["<h2>九、文明单位及县直单位考评</h2>"]
    for sec in sections:
        sid = f"cg-subject-{_e(sec['subject'])}"
        missing = "、".join(_e(n) for n in sec.get("missing") or [])
        parts += [
            f"<h3>{_e(sec['label'])}（{_e(sec['period_label'])}）</h3>",
            f'<p class="muted">{_e(sec.get("citation"))}</p>',
            _score_table(sec["scores"], named, sid),
            f'<p class="muted">本县单位中未找到：{missing}</p>' if missing else "",
        ]
    return "".join(parts)


def _adjustments_html(rows: Sequence[Mapping[str, Any]]) -> str:
    """十、: the adjustments recorded for the period (年总评 加减分); empty when none."""
    if not rows:
        return ""
    body = "".join(
        f"<tr><td>{_e(_LEVELS.get(r['level'], r['level']))}</td><td>{_e(r['code'])}</td>"
        f"<td>{_e(r['kind_label'])}</td><td class='num'>{_num(r['points'])}</td>"
        f"<td>{_e(r['reason'])}</td><td>{_e(r['source'])}</td></tr>"
        for r in rows
    )
    return (
        "<h2>十、综合加减分</h2>"
        '<table id="cg-adjustments"><thead><tr><th>层级</th><th>单位代码</th><th>类别</th>'
        f"<th>分值</th><th>事由</th><th>来源</th></tr></thead><tbody>{body}</tbody></table>"
    )


def scores_page_html(
    period: Any,
    communities: Sequence[Any],
    townships: Sequence[Any],
    departments: Sequence[Mapping[str, Any]],
    rules: Any,
    transfers: Sequence[Mapping[str, Any]] = (),
) -> str:
    """The rankings overview (考核排名) of a period; ``transfers`` are the units' transfer
    request counts (:func:`civgrid.grids.issues.transfers.transfer_counts`, as dicts)."""
    rows_c = [s.to_dict(items=False) for s in communities]
    rows_t = [s.to_dict(items=False) for s in townships]
    body = (
        '<p class="nav noprint"><a href="/">首页</a>'
        f'<a href="/scores/bulletin?period={_e(period.key)}">本期通报（草稿）</a>'
        '<a href="/map/heat">问题热力图</a></p>'
        f"<h1>{_e(period.label)}考核排名</h1>"
        f'<p class="no">档次：≥{rules.tiers.good:g}分为“{_TIERS["good"]}”，'
        f"≥{rules.tiers.fair:g}分为“{_TIERS['fair']}”，其余为“{_TIERS['poor']}”"
        f"（规则{rules.effective_from.isoformat()}起施行）</p>"
        "<h2>社区（行政村）</h2>"
        + _score_table(rows_c, set(), "cg-communities")
        + f"<h2>{_LEVELS['township']}</h2>"
        + _score_table(rows_t, set(), "cg-townships")
        + f"<h2>{_LEVELS['department']}</h2>"
        + _dept_table(departments)
        + _transfer_table(transfers)
    )
    return _page(f"{period.label}考核排名", body)


def _transfer_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """转办申请与推诿扯皮: requests per unit in the period, the worst first."""
    keys = ("requested", "approved", "refused", "repeated", "pending")
    head = "".join(f"<th>{_e(zh.TRANSFER_COUNT_LABELS[k])}</th>" for k in keys)
    body = "".join(
        f"<tr><td>{_e(r['unit_name'])}</td>"
        + "".join(f"<td class='num'>{_e(r[k])}</td>" for k in keys)
        + "</tr>"
        for r in rows
    )
    table = (
        f'<table id="cg-transfers"><thead><tr><th>{_LEVELS["department"]}</th>{head}</tr>'
        f"</thead><tbody>{body}</tbody></table>"
        if rows
        else '<p id="cg-transfers">本期无转办申请。</p>'
    )
    return (
        "<h2>转办申请与推诿扯皮</h2>"
        + table
        + '<p class="muted">驳回后再申请：同一单位在同一问题上'
        "被驳回后再次申请转办。数据接口：/api/v1/transfer-counts</p>"
    )


def dashboard_section_html(dash: Mapping[str, Any]) -> str:
    """The leader's scores table (score, rank, tier, trend, open cases) as an HTML fragment."""
    rows = "".join(
        f"<tr><td>{_e(r['name'])}</td><td>{_e(_LEVELS.get(r['level']))}</td>"
        f"<td class='num'>{_num(r['points'])}</td>"
        f"<td class='num'>{_e(r['rank'] or '—')}/{r['of']}</td>"
        f"<td class='tier-{_e(r['tier'])}'>{_e(_TIERS.get(r['tier'] or '', '—'))}</td>"
        f"<td>{' → '.join(_num(t['points']) for t in r['trend'])}</td>"
        f"<td>{'；'.join(_e(c['rule_label']) for c in r['open_cases']) or '无'}</td></tr>"
        for r in dash["rows"]
    )
    return (
        '<div class="cg-scores" id="cg-leader-scores">'
        f"<h3>考核得分（{_e(dash['period_label'])}）</h3>"
        '<table class="cg-table"><thead><tr><th>片区</th><th>层级</th><th>得分</th><th>名次</th>'
        f"<th>档次</th><th>趋势</th><th>未结问责</th></tr></thead><tbody>{rows}</tbody></table></div>"
        + road_chief_html(dash.get("road_sections") or [])
    )


def road_chief_html(roads: Sequence[Mapping[str, Any]]) -> str:
    """The road sections a leader is road chief (路长) of, as an HTML fragment ("" if none)."""
    if not roads:
        return ""
    items = "".join(f"<li>{_e(r['name'])}（{_e(r['code'])}）</li>" for r in roads)
    return (
        '<div class="cg-roads" id="cg-leader-roads"><h3>包联路段（路长）</h3>'
        f"<ul>{items}</ul></div>"
    )


def dashboard_page_html(dash: Mapping[str, Any]) -> str:
    """The leader's scores dashboard as a page."""
    who = dash["leader"]["title"]
    body = (
        '<p class="nav noprint"><a href="/">首页</a>'
        f'<a href="/leaders/{_e(dash["leader"]["key"])}">领导视图地图</a>'
        f'<a href="/scores?period={_e(dash["period"])}">考核排名</a></p>'
        f"<h1>{_e(who)} · 考核看板</h1>" + dashboard_section_html(dash)
    )
    return _page(f"{who} 考核看板", body)


def leader_dashboard_loader(leader_key: str) -> str:
    """A small fragment for the leader map page: the page script (``civgrid-map.js``) loads
    the dashboard from the API into it (no inline script: the page runs under a strict CSP)."""
    url = escape(f"/api/v1/leaders/{quote(leader_key, safe='')}/dashboard")
    tiers = escape(json.dumps(_TIERS, ensure_ascii=False))
    key = escape(leader_key)
    return (
        f'<div class="cg-scores" id="cg-leader-scores" data-url="{url}" data-tiers="{tiers}">'
        "<h3>考核得分（本月）</h3>"
        f'<p class="cg-muted"><a href="/leaders/{key}/scores">查看考核看板</a></p>'
        '<table class="cg-table"><thead><tr><th>片区</th><th>得分</th><th>名次</th>'
        '<th>档次</th></tr></thead><tbody id="cg-leader-scores-body"></tbody></table></div>'
    )


def _indicator_head(score: Mapping[str, Any], ind: Mapping[str, Any] | None) -> str:
    """A department's headline: the composite of the bulletin's 处置指标 and its rank there.

    Departments are ranked in the bulletin (月通报 四、责任单位处置指标) by the composite
    of their handling indicators; the point deductions below are the issues' detail and
    take no rank of their own (issue 21: a page said 第24 · 差 for a department the
    bulletin ranked 2nd).
    """
    if ind is None:
        return (
            f'<p class="no" id="cg-unit-head">{_e(_LEVELS["department"])}　'
            "本期无应结案问题，不参与处置指标排名</p>"
        )
    return (
        f'<p class="no" id="cg-unit-head">{_e(_LEVELS["department"])}　处置指标综合分 '
        f"<b>{_num(ind.get('composite_score'))}</b>　名次 {_e(ind.get('rank') or '—')}"
        f"（与月通报排名一致）</p>"
        f'<p class="muted">结案率 {_num(ind.get("closure_rate"), True)}，'
        f"按期结案率 {_num(ind.get('on_time_rate'), True)}，"
        f"返工率 {_num(ind.get('rework_rate'), True)}；应结案 {_e(ind.get('due'))} 件。"
        + ("名次“—”为样本不足。" if not ind.get("rank") else "")
        + "</p>"
    )


def unit_page_html(
    score: Mapping[str, Any],
    negative: Mapping[str, Any],
    label: str,
    indicator: Mapping[str, Any] | None = None,
) -> str:
    """One unit's page: its score explained line by line, and its negative list (负面清单).

    A department (``score["level"] == "department"``) is headed by ``indicator``, its row
    of the bulletin's handling indicators (the measure it is ranked by); its deductions
    follow as detail, without a rank or tier of their own.
    """
    items = "".join(
        f"<tr><td>{_e(i['reason'])}</td><td>{_e(_RULES.get(i['rule'], i['rule']))}</td>"
        f"<td>{'#' + str(i['issue_id']) if i.get('issue_id') else _e(i.get('ref'))}</td>"
        f"<td class='num'>{_num(i['points'])}</td></tr>"
        for i in score.get("items", [])
    )
    neg = "".join(
        f"<li>问题#{e['issue_id']}（{_cat(e)}）：{_e(e['label'])}</li>"
        for e in negative.get("entries", [])
    )
    trig = "".join(
        f"<li>{_e(t['label'])}（{_e(t['action_label'])}）：{_e('；'.join(t['facts']))}</li>"
        for t in negative.get("triggers", [])
    )
    tier = _TIERS.get(score.get("tier") or "", "未抽查")
    if score.get("level") == "department":
        head = _indicator_head(score, indicator)
        detail = "<h2>问题扣分明细（不参与部门排名）</h2>"
    else:
        head = (
            f'<p class="no">{_e(_LEVELS.get(score["level"], score["level"]))}　'
            f"得分 <b>{_points(score)}</b>　名次 {_e(score.get('rank') or '—')}　档次 {tier}</p>"
        )
        detail = "<h2>得分明细</h2>"
    body = (
        '<p class="nav noprint"><a href="/">首页</a>'
        f'<a href="/scores?period={_e(score["period"])}">考核排名</a></p>'
        f'<h1 id="cg-unit-title">{_e(score["name"])} · {_e(label)}得分</h1>'
        + head
        + detail
        + f"<p>基础分{_num(score['base'])}，扣{_num(score['deductions'])}分，"
        f"加{_num(score['bonuses'])}分。</p>"
        '<table id="cg-items"><thead><tr><th>事由</th><th>规则</th><th>问题/组成</th>'
        f"<th>分值</th></tr></thead><tbody>{items}</tbody></table>"
        "<h2>负面清单</h2>"
        + (f'<ul id="cg-negative">{neg}</ul>' if neg else "<p>无。</p>")
        + "<h2>问责情形</h2>"
        + (f"<ul>{trig}</ul>" if trig else "<p>无。</p>")
    )
    return _page(f"{score['name']} {label}得分", body)


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:+.0f}%"


_RUN_COLS = ("start", "end", "found", "fixed", "found_before", "fixed_before")


def campaign_report_html(report: Mapping[str, Any], *, xlsx: str = "") -> str:
    """The campaign report (专项行动成效对比) as a printable Chinese page.

    ``report`` is :func:`civgrid.grids.scoring.campaigns.campaign_report`'s.
    """
    c, t = report["campaign"], report["totals"]
    rows = "".join(
        f"<tr><td>{_e(r['start'].replace('T', ' '))}</td>"
        f"<td>{_e(r['end'].replace('T', ' '))}</td>"
        f"<td>{r['found']}</td><td>{r['fixed']}</td>"
        f"<td>{r['found_before']}</td><td>{r['fixed_before']}</td></tr>"
        for r in report["runs"]
    )
    goals = "".join(f"<li>{_e(g)}</li>" for g in c.get("goals") or [])
    title = f"{c['name']}成效对比"
    parts = [
        '<p class="nav noprint"><a href="/">首页</a><a href="/scores">考核排名</a>',
        f'<a href="{_e(xlsx)}">下载xlsx</a>' if xlsx else "",
        '<a href="javascript:window.print()">打印</a></p>',
        f'<h1 id="cg-campaign-title">{_e(title)}</h1>',
        f"<p>统计区间：{_e(report['from'])}至{_e(report['to'])}；行动时段：{_e(c['windows'])}</p>",
        f'<p class="muted">依据：{_e(c["clause"])}</p>' if c.get("clause") else "",
        f"<h2>行动目标</h2><ul>{goals}</ul>" if goals else "",
        "<h2>成效对比</h2>",
        f'<p id="cg-campaign-totals">行动期间发现问题{t["found"]}件（行动前同等时段',
        f"{t['found_before']}件，{_pct(t['found_change'])}），整改完成{t['fixed']}件（行动前",
        f"同等时段{t['fixed_before']}件，{_pct(t['fixed_change'])}）。</p>",
        '<table id="cg-campaign-runs"><thead><tr>',
        "".join(f"<th>{_e(zh.CAMPAIGN_REPORT_LABELS[k])}</th>" for k in _RUN_COLS),
        "</tr></thead><tbody>",
        rows or '<tr><td colspan="6">统计区间内无行动时段。</td></tr>',
        "</tbody></table>",
        '<p class="muted">对照时段为每次行动开始前同等长度的时段；发现问题不含合并的重复上报，',
        "整改完成为期间结案（已整改）的问题。</p>",
    ]
    return _page(title, "".join(parts))


def points_section_html(section: Mapping[str, Any] | None) -> str:
    """附：实地考察点位抽查情况 — per type inspected, 达标 and 达标率; the failing points by
    responsible unit with their failed items; empty when the profile scores no points."""
    if section is None:
        return ""
    rows = "".join(
        f"<tr><td>{_e(t['label'])}</td><td>{t['inspected']}</td><td>{t['passed']}</td>"
        f"<td>{t['failed']}</td><td>{_num(t['pass_rate'])}</td></tr>"
        for t in section["by_type"]
        if t["inspected"]
    )
    rate = section.get("pass_rate")
    head = (
        f'<p id="cg-points-summary">本期抽查实地考察点位{section["inspected"]}个，达标'
        f"{section['passed']}个，不达标{section['failed']}个"
        + (f"，达标率{_num(rate)}%" if rate is not None else "")
        + "。</p>"
    )
    table = (
        '<table id="cg-points-types"><thead><tr>'
        f"<th>{_e(zh.POINT_FIELD_LABELS['point_type'])}</th><th>抽查数</th><th>达标数</th>"
        f"<th>不达标数</th><th>达标率（%）</th></tr></thead><tbody>{rows}</tbody></table>"
        if rows
        else ""
    )
    failing = "".join(
        f"<h3>{_e(u['unit_name'] or '未指定单位')}</h3><ul>"
        + "".join(
            f"<li>{_e(p['name'])}（{_e(p['type_label'])}{'，必查点' if p['must_check'] else ''}，"
            f"得分{_num(p['score'])}）："
            + "；".join(_e(i["text"]) for i in p["failed_items"])
            + "</li>"
            for p in u["points"]
        )
        + "</ul>"
        for u in section["failing_by_unit"]
    )
    return (
        '<section id="cg-points"><h2>附：实地考察点位抽查情况</h2>'
        + head
        + table
        + "<h3>不达标点位（按包保单位）</h3>"
        + (f'<div id="cg-points-failing">{failing}</div>' if failing else "<p>无。</p>")
        + f'<p class="muted cite">计分：{_e(section.get("citation"))}；本地规定：'
        f"{_e(section.get('local_reason'))}</p></section>"
    )


def campaign_section_html(sections: Sequence[Mapping[str, Any]], period: str | None = None) -> str:
    """The bulletin's campaign section: one line per campaign of the period."""
    if not sections:
        return "<p>本期无专项行动。</p>"
    query = f"?period={_e(period)}" if period else ""
    items = "".join(
        f'<li><a href="/campaigns/{_e(s["key"])}{query}"><b>{_e(s["name"])}</b></a>'
        f"（{_e(s['windows'])}）：发现问题{s['found']}件，整改完成{s['fixed']}件；"
        f"行动前同等时段发现{s['found_before']}件，整改{s['fixed_before']}件。</li>"
        for s in sections
    )
    return f'<ul id="cg-campaigns">{items}</ul>'
