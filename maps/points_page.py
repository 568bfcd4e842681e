"""Pages of the assessment points (测评点位): the compliance list and the mock assessment.

Plain HTML (no map), every value escaped. The list colours each point by its status
(达标 / 不达标 / 未检, colours from :data:`~civgrid.grids.core.labels.POINT_COMPLIANCE_COLORS`),
marks must-check points (必查) and counts the statuses; filters are a GET form. The mock
page shows the predicted field score, its band, the scores by type and what costs most.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from civgrid.grids.core import labels as zh

__all__ = ["mock_html", "points_html"]

_POINTS = zh.LAYER_LABELS["assessment_point"]  # 测评点位
_MOCK = zh.SOURCE_LABELS["simulated_assessment"]  # 模拟测评
_F = zh.POINT_FIELD_LABELS

_CSS = (
    'body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2rem;color:#222}'
    "h1{color:#b3261e}table{border-collapse:collapse;margin:.5rem 0 1.5rem}"
    "th,td{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}"
    "td.num{text-align:right}.muted{color:#666}.nav a{margin-right:1rem}"
    ".st{color:#fff;padding:0 .4rem;border-radius:3px}.must{color:#b3261e;font-weight:bold}"
    ".big{font-size:2rem;font-weight:bold}"
)


def _e(v: Any) -> str:
    return escape("" if v is None else str(v))


def _page(title: str, body: str) -> str:
    nav = (
        f'<p class="nav"><a href="/">首页</a><a href="/points">{_POINTS}</a>'
        f'<a href="/points/mock">{_MOCK}</a><a href="/api/v1/points.geojson">GeoJSON</a></p>'
    )
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"{nav}<h1>{_e(title)}</h1>{body}</body></html>"
    )


def points_html(
    rows: Sequence[Mapping[str, Any]],
    *,
    county: str = "",
    types: Mapping[str, str] | None = None,
    filters: Mapping[str, str | None] | None = None,
    demo_standard: bool = False,
) -> str:
    """The compliance list: counts, a filter form and one row per point."""
    f = dict(filters or {})
    counts = {k: 0 for k in zh.POINT_COMPLIANCE_LABELS}
    for r in rows:
        counts[r["compliance"]] += 1
    summary = "；".join(
        f'<span id="pt-count-{k}">{_e(zh.POINT_COMPLIANCE_LABELS[k])} <b>{n}</b></span>'
        for k, n in counts.items()
    )

    def sel(key: str, value: str) -> str:
        return " selected" if f.get(key) == value else ""

    opts = "".join(
        f'<option value="{_e(c)}"{sel("point_type", c)}>{_e(lab)}</option>'
        for c, lab in (types or {}).items()
    )
    st_opts = "".join(
        f'<option value="{k}"{" selected" if f.get("compliance") == k else ""}>{_e(v)}</option>'
        for k, v in zh.POINT_COMPLIANCE_LABELS.items()
    )
    form = (
        '<form method="get" id="pt-filter">类型 <select name="point_type"><option value="">全部'
        f'</option>{opts}</select> 状态 <select name="compliance"><option value="">全部'
        f'</option>{st_opts}</select> 社区编码 <input name="community" size="14" '
        f'value="{_e(f.get("community") or "")}"> 包保单位 <input name="unit" size="8" '
        f'value="{_e(f.get("unit") or "")}"> <button type="submit">筛选</button></form>'
    )
    body_rows = "".join(
        f'<tr data-code="{_e(r["code"])}" data-compliance="{_e(r["compliance"])}">'
        f"<td>{_e(r['code'])}</td><td>{_e(r['name'])}"
        + (' <span class="must">必查</span>' if r["must_check"] else "")
        + f"</td><td>{_e(r['point_type_label'])}</td><td>{_e(r['community_code'])}</td>"
        f"<td>{_e(r['responsible_unit_name'])}</td><td>{_e(r['point_chief'])}</td>"
        f'<td><span class="st" style="background:{_e(r["compliance_color"])}">'
        f"{_e(r['compliance_label'])}</span></td>"
        f"<td>{_e((r['last_inspected_at'] or '')[:10])}</td>"
        f"<td>{_e('、'.join(r['failed']))}</td></tr>"
        for r in rows
    )
    note = (
        '<p class="muted">状态取最近一次实地检查：无必须项不合格且扣分低于该类型阈值为达标。'
        + ("当前测评标准为演示标准（非官方）。" if demo_standard else "")
        + "导出：<code>civgrid points export 点位.xlsx</code>。</p>"
    )
    table = (
        '<table id="pt-list"><thead><tr><th>编号</th><th>名称</th><th>类型</th>'
        f"<th>{zh.AREA_TYPE_LABELS['community']}</th><th>{_F['responsible_unit']}</th>"
        f"<th>{_F['point_chief']}</th><th>状态</th><th>最近检查</th><th>不合格项</th></tr>"
        f"</thead><tbody>{body_rows}</tbody></table>"
    )
    title = f"{county}{_POINTS}"
    return _page(title, f'<p id="pt-summary">{summary}</p>{form}{table}{note}')


def mock_html(
    result: Mapping[str, Any] | None,
    *,
    county: str = "",
    types: Mapping[str, str] | None = None,
    inspected: int = 0,
    seed: int = 1,
) -> str:
    """The mock assessment page: the seed form, the prediction and what costs most."""
    form = (
        f'<form method="get" id="mock-form">随机种子 <input name="seed" value="{int(seed)}" '
        'size="6"> <button type="submit">抽样测评</button></form>'
    )
    title = f"{county}{_MOCK}"
    if result is None:
        return _page(title, form + '<p id="mock-empty">尚无实地检查记录，无法模拟测评。</p>')
    t = types or {}
    low, high = result["band"]
    head = (
        f"<p>抽取 {len(result['sample'])} 个点位（共 {inspected} 个已检查点位）。预测实地测评得分 "
        f'<span class="big" id="mock-score">{result["predicted"]:.2f}</span> '
        f"（{int(result['level'] * 100)}% 区间 "
        f'<span id="mock-band">{low:.2f}–{high:.2f}</span>）</p>'
    )
    by_type = "".join(
        f"<tr><td>{_e(t.get(c, c))}</td><td class='num'>{v:.2f}</td></tr>"
        for c, v in result["by_type"].items()
    )
    items = "".join(
        f"<tr><td>{_e(c)}</td><td class='num'>+{g:.2f}</td></tr>" for c, g in result["costly_items"]
    )
    points = "".join(
        f"<tr><td>{_e(c)}</td><td class='num'>+{g:.2f}</td></tr>"
        for c, g in result["costly_points"]
    )
    body = (
        form
        + head
        + '<h2>分类型得分</h2><table id="mock-types"><thead><tr><th>类型</th><th>得分</th></tr>'
        f"</thead><tbody>{by_type}</tbody></table>"
        + '<h2>失分最多的测评项（整改后可提高）</h2><table id="mock-items"><thead><tr><th>测评项'
        f"</th><th>提高</th></tr></thead><tbody>{items}</tbody></table>"
        + '<h2>失分最多的点位</h2><table id="mock-points"><thead><tr><th>点位</th><th>提高</th>'
        f"</tr></thead><tbody>{points}</tbody></table>"
        + '<p class="muted">抽样：必查点全抽，其余每类随机抽约三分之一；'
        "区间由重抽样得出（本地算法，见 docs/points.md）。"
        "命令行：<code>civgrid points mock --seed N</code>。</p>"
    )
    return _page(title, body)
