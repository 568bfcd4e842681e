"""Human pages: the command-center home (指挥中心首页)."""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from civgrid.api.deps import SettingsDep, StoreDep, require
from civgrid.grids.accounts.permissions import Perm, Scope

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(
    store: StoreDep, settings: SettingsDep, scope: Annotated[Scope, require(Perm.map_read)]
) -> HTMLResponse:
    """Landing page of the command center, in Chinese (behind login)."""
    with store.session() as session:
        gen = store.active_generation(session)
    gen_text = (
        f"第 {gen.id} 版（{escape(gen.source or '')}，{gen.created:%Y-%m-%d}）"
        if gen is not None
        else "尚未导入边界"
    )
    county = escape(settings.county_name)
    html = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{county}创文网格化管理指挥中心</title>
<style>body{{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2rem;color:#222}}
h1{{color:#b3261e}} li{{margin:.4rem 0}} .muted{{color:#666}}</style></head>
<body><h1>{county}创文网格化管理指挥中心</h1>
<p class="muted">civgrid · 当前边界版本：{gen_text}</p>
<ul>
<li><a href="/map">指挥中心地图</a></li>
<li><a href="/map/heat">问题热力图</a></li>
<li><a href="/patrol">巡查计划与覆盖</a></li>
<li><a href="/scores">考核排名与通报</a></li>
<li><a href="/docs">接口文档（API）</a></li>
<li><a href="/healthz">运行状态</a></li>
</ul>
<p class="muted">当前账号：{escape(scope.actor.who)}
<form method="post" action="/logout" style="display:inline"><button>退出登录</button></form>
</p></body></html>"""
    return HTMLResponse(html)
