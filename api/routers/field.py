"""The field app under ``/m/`` (installable web app) and the public receipt status.

Pages: ``/m/`` (home), ``/m/report`` (上报 / 随手拍, also without an account),
``/m/status`` (a receipt's state), ``/m/queue`` (what waits to be sent),
``/m/day`` (the inspector's patrol day), ``/m/reinspect`` (re-inspections due),
``/m/track`` (record a GPS track), ``/m/points`` (field-assessment points: the list,
and with ``?code=`` the checklist of one point, sent to the inspection API). The
manifest, the service worker (at ``/m/sw.js``, so that its scope is ``/m/``) and the
icons are served here too. The pages send their actions to the ordinary API with an
``Idempotency-Key`` (docs/field-app.md).

A receipt (回执号) is the issue id and a 6-hex-digit HMAC of it under the app's
signing key (a local choice): a citizen can look up their own report, and nobody
can walk through the others by counting. The status answer has no personal data
(no reporter, no contact, no description, no place).
"""

from __future__ import annotations

import struct
import zlib
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from civgrid.api.deps import ScopeDep, SettingsDep, StoreDep, require
from civgrid.api.receipts import issue_of_receipt, receipt_for
from civgrid.api.schemas import ERRORS_READ
from civgrid.grids.accounts.permissions import Perm, Role, Scope
from civgrid.grids.core.calendar import local_today
from civgrid.grids.core.errors import NotFoundError
from civgrid.grids.issues import service as svc
from civgrid.grids.issues.models import Issue
from civgrid.grids.issues.queries import IssueQuery
from civgrid.grids.issues.workflow import DEFAULT_LABELS
from civgrid.maps import field_app as fa
from civgrid.maps.assets import STATIC_URL
from civgrid.maps.basemaps import basemap_from_settings
from civgrid.maps.context import map_center

router = APIRouter(tags=["field"])
pages = APIRouter(include_in_schema=False)

#: Bumped when the app shell changes: the service worker drops older caches.
APP_VERSION = "1"


# ----------------------------------------------------------------------------- receipts


class ReceiptOut(BaseModel):
    """The public state of one report: no reporter, contact, description or place."""

    receipt: str
    state: str
    state_label: str = Field(description="State in Chinese.")
    kind: str = Field(description="open, closed_fixed or closed_not_fixed")
    category: str | None = Field(description="Category name.")
    reported_on: str = Field(description="Local date of the report (YYYY-MM-DD).")
    updated_on: str | None = Field(description="Local date of the last change.")


def _receipt_out(settings: Any, issue: Issue, cfg: Any) -> ReceiptOut:
    d = svc.describe(issue, cfg.workflow)
    local = cfg.calendar.local
    return ReceiptOut(
        receipt=receipt_for(settings, issue.id),
        state=d["state"],
        state_label=d["state_label"],
        kind=d["kind"],
        category=(d.get("category") or {}).get("name"),
        reported_on=local(issue.reported_at).date().isoformat(),
        updated_on=local(issue.updated_at).date().isoformat() if issue.updated_at else None,
    )


def _issue_config(request: Request) -> Any:
    from civgrid.api.routers.issues import get_issue_config

    return get_issue_config(request)


@router.get(
    "/api/v1/receipts/{receipt}",
    response_model=ReceiptOut,
    responses=ERRORS_READ,
    summary="The state of a report by its receipt number (回执号), for anyone",
)
def receipt_status(
    receipt: Annotated[str, Path(max_length=40)],
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
) -> ReceiptOut:
    """State, category and dates only; an unknown or forged number is 404."""
    issue_id = issue_of_receipt(settings, receipt)
    with store.session() as session:
        issue = session.get(Issue, issue_id)
        if issue is None:
            raise NotFoundError(f"no report with receipt {receipt!r}", kind="receipt", key=receipt)
        return _receipt_out(settings, issue, _issue_config(request))


# ----------------------------------------------------------------------------- app shell


def _page(html: str) -> HTMLResponse:
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})


def _user(scope: Scope) -> dict[str, Any] | None:
    if scope.role is Role.public:
        return None
    return {
        "who": scope.actor.who,
        "role": str(scope.role),
        "team": scope.actor.team,
        "perms": sorted(str(p) for p in scope.permissions),
    }


@pages.get("/m", response_class=HTMLResponse)
@pages.get("/m/", response_class=HTMLResponse)
def home(scope: ScopeDep, settings: SettingsDep) -> HTMLResponse:
    """The app's home screen: big buttons to each page."""
    return _page(fa.render_field("home", title=settings.county_name, user=_user(scope)))


@pages.get("/m/report", response_class=HTMLResponse)
def report(
    scope: ScopeDep,
    store: StoreDep,
    settings: SettingsDep,
    lng: Annotated[str | None, Query(max_length=32)] = None,
    lat: Annotated[str | None, Query(max_length=32)] = None,
    crs: Annotated[str | None, Query(max_length=16)] = None,
    visit: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    """The report form (上报 / 随手拍). A point in the link (``lng``, ``lat``, ``crs``:
    a map app's GCJ-02 share) is converted to WGS84 here and placed as the pin."""
    point = fa.link_point(lng, lat, crs)
    basemap = basemap_from_settings(settings)
    with store.session() as session:
        cats = fa.category_choices(session)
        center = map_center(store, session, basemap.display_crs)  # (lat, lon), display CRS
        outlines = fa.community_outlines(store, session) if basemap.offline else None
    config = {
        "categories": cats,
        "point": None if point is None else {"lon": point[0], "lat": point[1], "from": point[2]},
        "center": list(center) if center else None,
        "basemap": basemap.to_dict(),
        "outlines": outlines,
        "public": scope.role is Role.public,
        "visit": visit,
    }
    return _page(
        fa.render_field(
            "report",
            title="随手拍" if scope.role is Role.public else "上报问题",
            user=_user(scope),
            config=config,
        )
    )


@pages.get("/m/queue", response_class=HTMLResponse)
def queue(scope: ScopeDep) -> HTMLResponse:
    """What waits on the phone to be sent, and what the server refused (and why)."""
    return _page(fa.render_field("queue", title="待发送", user=_user(scope)))


@pages.get("/m/status", response_class=HTMLResponse)
def status(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    scope: ScopeDep,
    no: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    """Look up a receipt number: its state, category and dates (no personal data)."""
    found: ReceiptOut | None = None
    missing = False
    if no:
        try:
            issue_id = issue_of_receipt(settings, no)
            with store.session() as session:
                issue = session.get(Issue, issue_id)
                if issue is None:
                    missing = True
                else:
                    found = _receipt_out(settings, issue, _issue_config(request))
        except NotFoundError:
            missing = True
    return _page(
        fa.render_field(
            "status",
            title="查询回执",
            user=_user(scope),
            no=no or "",
            found=found.model_dump() if found else None,
            missing=missing,
        )
    )


@pages.get("/m/day", response_class=HTMLResponse)
def day(
    store: StoreDep,
    scope: Annotated[Scope, require(Perm.patrol_read)],
    team: Annotated[str | None, Query(max_length=32)] = None,
    date: Annotated[str | None, Query(max_length=10)] = None,
) -> HTMLResponse:
    """The patrol day: the stops in route order, navigate-to links, mark a visit done."""
    from civgrid.grids.patrol.routes import team_route

    the_day = fa.today_or(date, local_today())
    team = team or scope.actor.team
    stops: list[dict[str, Any]] = []
    error = None
    if not team:
        error = "未指定督查组：请从链接带上 team 参数，或由管理员为账号设置督查组。"
    else:
        with store.session() as session:
            try:
                route = team_route(session, store, team, the_day)
                stops = fa.day_stops(route, session)
            except NotFoundError:
                error = f"{team} 在 {the_day.isoformat()} 没有计划走访。"
    return _page(
        fa.render_field(
            "day",
            title="今日巡查",
            user=_user(scope),
            team=team or "",
            day=the_day.isoformat(),
            stops=stops,
            error=error,
        )
    )


@pages.get("/m/reinspect", response_class=HTMLResponse)
def reinspect(
    request: Request,
    store: StoreDep,
    scope: Annotated[Scope, require(Perm.issue_transition)],
) -> HTMLResponse:
    """Issues whose fix was submitted: report and fix photos side by side, pass or fail."""
    cfg = _issue_config(request)
    items = []
    with store.session() as session:
        page = svc.list_issues(
            session, IssueQuery(states=["submitted"], scope=scope, limit=100, order="deadline")
        )
        for issue in page.items:
            d = svc.describe(issue, cfg.workflow)
            items.append(
                {
                    "id": issue.id,
                    "version": issue.version,
                    "category": (d.get("category") or {}).get("name") or issue.category_code,
                    "address": issue.address or (d.get("community") or {}).get("name") or "",
                    "owner": (d.get("owner_unit") or {}).get("name") or "",
                    "photos": fa.photos_by_stage(session, issue),
                }
            )
    return _page(
        fa.render_field(
            "reinspect", title=DEFAULT_LABELS["submitted"], user=_user(scope), items=items
        )
    )


PointCodeQ = Annotated[
    str | None, Query(max_length=32, pattern=r"^[A-Za-z0-9_.-]+$", description="Point code.")
]


@pages.get("/m/points", response_class=HTMLResponse)
def points(
    request: Request,
    store: StoreDep,
    scope: Annotated[Scope, require(Perm.patrol_write)],
    code: PointCodeQ = None,
) -> HTMLResponse:
    """Assessment points (测评点位检查): the points the inspector may see (不达标 first), or
    with ``code`` the point's checklist — every item pass/fail, a note, photos — sent to
    ``POST /api/v1/points/{code}/inspections`` through the phone's queue (offline-safe,
    one ``Idempotency-Key`` per inspection)."""
    from sqlalchemy import select

    from civgrid.api.routers.points import point_standards
    from civgrid.grids.boundaries.models import AssessmentPoint
    from civgrid.grids.points.compliance import statuses
    from civgrid.grids.points.register import point_rows

    version = point_standards(request).version_on(None, local_today())
    with store.session() as session:
        if code is None:
            rows = point_rows(session, version, visible=scope.can_see_point)
            order = {"non_compliant": 0, "uninspected": 1, "compliant": 2}
            rows.sort(key=lambda r: (order[r["compliance"]], not r["must_check"], r["code"]))
            return _page(fa.render_field("points", title="点位检查", user=_user(scope), rows=rows))
        p = session.scalar(select(AssessmentPoint).where(AssessmentPoint.code == code))
        scope.check_point(p, code)
        assert p is not None
        st = statuses(session, [p])[p.code]
        ptype = version.point_type(p.point_type)
        point = {
            "code": p.code,
            "name": p.name,
            "type_label": ptype.label,
            "must_check": p.must_check,
            "compliance_label": st.label,
            "failed": list(st.failed),
        }
    return _page(
        fa.render_field(
            "points",
            title=f"点位检查：{point['name']}",
            user=_user(scope),
            point=point,
            items=ptype.items,
            rows=None,
        )
    )


@pages.get("/m/mine", response_class=HTMLResponse)
def mine(
    request: Request,
    store: StoreDep,
    scope: Annotated[Scope, require(Perm.issue_transition)],
) -> HTMLResponse:
    """My issues: open issues in the caller's scope (a unit's own, a grid worker's area),
    the deadline first, with the desktop issue page's unit actions: accept, submit a fix
    with photos (the workflow checks who may)."""
    cfg = _issue_config(request)
    items = []
    with store.session() as session:
        page = svc.list_issues(
            session,
            IssueQuery(
                states=["assigned", "rectifying", "returned"],
                scope=scope,
                limit=100,
                order="deadline",
            ),
        )
        for issue in page.items:
            d = svc.describe(issue, cfg.workflow)
            items.append(
                {
                    "id": issue.id,
                    "state": issue.state,
                    "state_label": d["state_label"],
                    "category": (d.get("category") or {}).get("name") or issue.category_code,
                    "address": issue.address or (d.get("community") or {}).get("name") or "",
                    "owner": (d.get("owner_unit") or {}).get("name") or "",
                    "deadline": cfg.calendar.local(issue.deadline).strftime("%m-%d %H:%M")
                    if issue.deadline
                    else "",
                    "photos": fa.photos_by_stage(session, issue)["before"],
                }
            )
    return _page(fa.render_field("mine", title="我的问题", user=_user(scope), items=items))


@pages.get("/m/track", response_class=HTMLResponse)
def track(
    scope: Annotated[Scope, require(Perm.patrol_write)],
    team: Annotated[str | None, Query(max_length=32)] = None,
) -> HTMLResponse:
    """Record the GPS track of a patrol while the page is open, upload it at the end."""
    return _page(
        fa.render_field(
            "track", title="轨迹记录", user=_user(scope), team=team or scope.actor.team or ""
        )
    )


@pages.get("/m/manifest.webmanifest")
def manifest(settings: SettingsDep) -> JSONResponse:
    """The web app manifest (installable to the home screen)."""
    return JSONResponse(
        {
            "name": f"{settings.county_name}创文外勤",
            "short_name": "创文外勤",
            "lang": "zh-CN",
            "start_url": "/m/",
            "scope": "/m/",
            "display": "standalone",
            "orientation": "portrait",
            "background_color": "#ffffff",
            "theme_color": "#b03a2e",
            "icons": [
                {"src": f"/m/icon-{n}.png", "sizes": f"{n}x{n}", "type": "image/png"}
                for n in (192, 512)
            ],
        },
        media_type="application/manifest+json",
    )


@pages.get("/m/sw.js")
def service_worker() -> Response:
    """The service worker, served at ``/m/`` so that it controls the app's pages."""
    from importlib import resources

    text = (resources.files("civgrid.maps") / "static" / "js" / "field-sw.js").read_text("utf-8")
    text = text.replace("__VERSION__", APP_VERSION).replace("__STATIC__", STATIC_URL)
    return Response(text, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


@pages.get("/m/icon-{size}.png")
def icon(size: Annotated[int, Path(ge=48, le=512)]) -> Response:
    """A plain app icon (a red square with a white band), drawn here: no binary in the repo."""
    return Response(
        _icon_png(size), media_type="image/png", headers={"Cache-Control": "max-age=86400"}
    )


def _icon_png(n: int) -> bytes:
    red, white = b"\xb0\x3a\x2e", b"\xff\xff\xff"
    rows = []
    for y in range(n):
        band = n * 0.42 <= y <= n * 0.58
        row = b"".join(white if band and n * 0.2 <= x <= n * 0.8 else red for x in range(n))
        rows.append(b"\x00" + row)
    raw = zlib.compress(b"".join(rows), 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    head = struct.pack(">IIBBBBB", n, n, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


__all__ = ["pages", "router"]
