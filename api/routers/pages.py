"""Human pages: the command-center home (指挥中心首页), the API docs (``/docs``,
``/redoc``) and the favicon.

``/docs`` is Swagger UI served from ``/static/vendor/swagger-ui`` and ``/redoc`` ReDoc's
standalone bundle from ``/static/vendor/redoc`` (npm at build time, ``make assets``),
never from a CDN, each started by a static script (no inline script under the
Content-Security-Policy).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from civgrid.api.deps import SettingsDep, StoreDep, require
from civgrid.api.routers.issues import IssueConfigDep
from civgrid.grids.accounts.permissions import Perm, Role, Scope
from civgrid.maps.account_pages import home_page_html
from civgrid.maps.assets import STATIC_DIR, STATIC_URL
from civgrid.maps.render import render_text

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(
    store: StoreDep,
    settings: SettingsDep,
    cfg: IssueConfigDep,
    scope: Annotated[Scope, require(Perm.map_read)],
) -> Response:
    """The role's home page, in Chinese (behind login); a viewer's home is the map."""
    from civgrid.api.routers.work import home_content, page_nav

    if scope.role is Role.viewer:
        return RedirectResponse("/map", status_code=303)
    with store.session() as session:
        gen = store.active_generation(session)
        content = home_content(session, cfg, scope)
        nav = page_nav(session, scope)
    return HTMLResponse(
        home_page_html(
            settings.county_name,
            scope.actor.who,
            generation_id=gen.id if gen is not None else None,
            generation_source=gen.source if gen is not None else None,
            generation_created=gen.created if gen is not None else None,
            nav=nav,
            role=str(scope.role),
            **content,
        )
    )


_DOCS_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>$title</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="$static/vendor/swagger-ui/swagger-ui.css"></head>
<body><div id="swagger-ui" data-openapi-url="$openapi"></div>
<script src="$static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="$static/js/swagger-init.js"></script></body></html>"""


@router.get("/docs", response_class=HTMLResponse)
def api_docs() -> HTMLResponse:
    """Swagger UI of the OpenAPI document, from local assets."""
    return HTMLResponse(
        render_text(_DOCS_PAGE, title="civgrid API", static=STATIC_URL, openapi="/openapi.json")
    )


_REDOC_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>$title</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<link rel="icon" href="/favicon.ico"></head>
<body style="margin:0"><div id="redoc" data-openapi-url="$openapi"></div>
<script src="$static/vendor/redoc/redoc.standalone.js"></script>
<script src="$static/js/redoc-init.js"></script></body></html>"""


@router.get("/redoc", response_class=HTMLResponse)
def api_redoc() -> HTMLResponse:
    """ReDoc of the OpenAPI document, from local assets."""
    return HTMLResponse(
        render_text(_REDOC_PAGE, title="civgrid API", static=STATIC_URL, openapi="/openapi.json")
    )


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """The site icon (an SVG: browsers take it by its media type)."""
    return FileResponse(
        STATIC_DIR / "favicon.svg",
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )
