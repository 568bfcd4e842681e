"""The command-center page 责任空白清单: places without a responsible unit or person.

Built from :meth:`civgrid.grids.boundaries.responsibility.GapReport.to_dict` — the
same report as ``civgrid check responsibility`` and the 责任空白 sheet of the
责任清单 workbook. Plain HTML (no map), every value escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from civgrid.grids.core import labels as zh
from civgrid.maps.render import esc, report_page

__all__ = ["responsibility_gaps_html"]

_CSS = ".ok{color:#1b5e20}"  # beside render.REPORT_CSS


_TOWNSHIP = zh.LEVEL_LABELS["township"]  # 乡镇（街道）


def _counts(rows: Sequence[Mapping[str, Any]], tid: str, head: str) -> str:
    body = "".join(
        f"<tr><td>{esc(r['name'] or '（不在社区范围内）')}</td><td>{esc(r['code'])}</td>"
        f"<td class='num'>{int(r['gaps'])}</td><td class='num'>{int(r['no_unit'])}</td>"
        f"<td class='num'>{int(r['no_person'])}</td></tr>"
        for r in rows
    )
    return (
        f'<table id="{tid}"><thead><tr><th>{head}</th><th>编码</th><th>空白合计</th>'
        "<th>无责任单位</th><th>无责任人职务</th></tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def responsibility_gaps_html(report: Mapping[str, Any], county: str = "") -> str:
    """The gap report as a page (Chinese).

    Parameters
    ----------
    report : mapping
        ``GapReport.to_dict()``.
    county : str
        County name for the title.

    Returns
    -------
    str
        A complete HTML document.
    """
    title = f"{county}责任空白清单" if county else "责任空白清单"
    places = report.get("places", {})
    checked = "、".join(f"{zh.LAYER_LABELS.get(lay, lay)} {int(n)} 处" for lay, n in places.items())
    gaps = report.get("gaps", [])
    summary = (
        f'<p id="cg-gap-summary">{esc(report["day"])} 有效的责任分工，检查{esc(checked)}：'
        f"<b>{len(gaps)}</b> 处无责任单位或无责任人职务。</p>"
    )
    if not gaps:
        body = '<p class="ok" id="cg-gap-ok">每个单元网格、路段和重点点位都有责任单位和责任人。</p>'
    else:
        rows = "".join(
            f"<tr><td>{esc(g['township_name'])}</td><td>{esc(g['community_name'])}</td>"
            f"<td>{esc(g['layer_label'])}</td><td>{esc(g['code'])}</td><td>{esc(g['name'])}</td>"
            f"<td>{esc(g['kind_label'])}</td><td>{esc('、'.join(g['units']))}</td></tr>"
            for g in gaps
        )
        body = (
            "<h2>空白清单</h2>"
            f'<table id="cg-gaps"><thead><tr><th>{_TOWNSHIP}</th><th>社区（村）</th>'
            "<th>图层</th><th>编码</th><th>名称</th><th>空白类型</th><th>现有责任单位</th>"
            f"</tr></thead><tbody>{rows}</tbody></table>"
            f"<h2>按{_TOWNSHIP}统计</h2>"
            + _counts(report.get("by_township", []), "cg-gaps-township", _TOWNSHIP)
            + "<h2>按社区（村）统计</h2>"
            + _counts(report.get("by_community", []), "cg-gaps-community", "社区（村）")
        )
    nav = (
        '<p class="nav"><a href="/">首页</a><a href="/map">指挥中心地图</a>'
        '<a href="/api/v1/responsibility/gaps">数据（JSON）</a></p>'
    )
    note = (
        '<p class="muted">每个单元网格、路段、重点点位都应有责任单位和以职务记录的责任人'
        "（物业经理、网格长、路长、点位负责人等，不记姓名）。命令行："
        "<code>civgrid check responsibility</code>；责任清单（xlsx）的“责任空白”表相同。</p>"
    )
    return report_page(title, f"{nav}<h1>{esc(title)}</h1>{summary}{body}{note}", _CSS)
