"""The page 门前五包红黑榜: the month's red list, black list and street ranking.

Built from :meth:`civgrid.grids.issues.redblack.RedBlackList.to_dict` — the same data as
``GET /api/v1/shops/red-black`` and its workbook. Plain HTML (no map), every value
escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from civgrid.grids.core import labels as zh
from civgrid.maps.render import esc, report_page

__all__ = ["red_black_html"]

_CSS = "h2.red{color:#b3261e}h2.black{color:#222}"  # beside render.REPORT_CSS
L = zh.RED_BLACK_LABELS
F = zh.SHOP_FIELD_LABELS


def _shops(rows: Sequence[Mapping[str, Any]], tid: str) -> str:
    head = (
        f"<tr><th>{L['rank']}</th><th>{F['code']}</th><th>{F['name']}</th>"
        f"<th>{F['street']}</th><th>{L['issues']}</th><th>{L['reports']}</th>"
        f"<th>{L['overdue']}</th><th>{L['open']}</th></tr>"
    )
    body = "".join(
        f"<tr><td class='num'>{i}</td><td>{esc(r['code'])}</td><td>{esc(r['name'])}</td>"
        f"<td>{esc(r['street'])}</td><td class='num'>{int(r['issues'])}</td>"
        f"<td class='num'>{int(r['reports'])}</td><td class='num'>{int(r['overdue'])}</td>"
        f"<td class='num'>{int(r['open'])}</td></tr>"
        for i, r in enumerate(rows, 1)
    )
    if not rows:
        body = "<tr><td colspan='8' class='muted'>本月无</td></tr>"
    return f'<table id="{tid}"><thead>{head}</thead><tbody>{body}</tbody></table>'


def red_black_html(rb: Mapping[str, Any], county: str = "") -> str:
    """The red/black list as a page (Chinese).

    Parameters
    ----------
    rb : mapping
        ``RedBlackList.to_dict()``.
    county : str
        County name for the title.

    Returns
    -------
    str
        A complete HTML document.
    """
    month = str(rb["month"])
    title = f"{county}{L['title']}（{month}）"
    streets = "".join(
        f"<tr><td class='num'>{i}</td><td>{esc(s['street'])}</td>"
        f"<td class='num'>{int(s['shops'])}</td><td class='num'>{int(s['issues'])}</td>"
        f"<td class='num'>{int(s['overdue'])}</td>"
        f"<td class='num'>{float(s['per_shop']):.3f}</td></tr>"
        for i, s in enumerate(rb.get("streets", []), 1)
    )
    nav = (
        '<p class="nav"><a href="/">首页</a><a href="/scores">考核评分</a>'
        f'<a href="/api/v1/shops/red-black.xlsx?month={esc(month)}">下载（xlsx）</a>'
        f'<a href="/api/v1/shops/red-black?month={esc(month)}">数据（JSON）</a></p>'
    )
    form = (
        '<form method="get" action="/shops/red-black" data-perm="score.read">月份 '
        f'<input type="month" name="month" value="{esc(month)}"> '
        '<button data-perm="score.read">查看</button></form>'
    )
    note = (
        f'<p class="muted">登记商户 {int(rb.get("shops", 0))} 户。红榜：本月门前无问题的商户，'
        "前十二个月问题少者在前；黑榜：被报次数加超期问题数（扣分）多者在前，同分时未整改多者在前；"
        "街道（路）按每户问题数排序，少者在前。排序方法为本县自定（通知公布红黑榜，未给出公式）。</p>"
    )
    body = (
        f"{nav}<h1>{esc(title)}</h1>{form}"
        f'<h2 class="red">{L["red"]}</h2>{_shops(rb.get("red", []), "cg-red")}'
        f'<h2 class="black">{L["black"]}</h2>{_shops(rb.get("black", []), "cg-black")}'
        f"<h2>{L['streets']}</h2>"
        f'<table id="cg-streets"><thead><tr><th>{L["rank"]}</th><th>{F["street"]}</th>'
        f"<th>{L['shop_count']}</th><th>{L['issues']}</th><th>{L['overdue']}</th>"
        f"<th>{L['per_shop']}</th></tr></thead><tbody>{streets}</tbody></table>"
        f"{note}"
    )
    return report_page(title, body, _CSS)
