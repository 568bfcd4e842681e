"""The work pages' plumbing: the navigation bar of the caller, the session renewal, the
to-do queues (待办, ``/queue``) and the Chinese error pages.

``POST /session/renew`` — while a page is used its script renews the session cookie (a
fresh access token for the same account; refused with 401 when the session has expired or
was revoked, and the page then goes to ``/login?next=<the page>``).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.orm import Session

from civgrid.api.deps import CurrentUser, SessionDep, SettingsDep, require
from civgrid.api.routers.issues import IssueConfigDep
from civgrid.grids.accounts.permissions import Perm, Role, Scope
from civgrid.grids.core.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from civgrid.maps.nav import nav_html
from civgrid.maps.render import Html

__all__ = ["page_nav", "pages"]

pages = APIRouter(include_in_schema=False)


def page_nav(session: Session, scope: Scope) -> Html:
    """The navigation bar of ``scope``'s account (links it may open, its role and unit)."""
    unit_name = None
    if scope.role is Role.unit_handler and scope.actor.unit:
        from sqlalchemy import select

        from civgrid.grids.boundaries.models import Unit

        unit_name = session.scalar(select(Unit.name).where(Unit.key == scope.actor.unit))
    from civgrid.grids.notify.inbox import unread_count

    unread = unread_count(session, scope.actor.who)
    return nav_html(
        str(scope.role),
        scope.actor.who,
        leader=scope.actor.leader,
        unit_name=unit_name,
        unread=unread,
    )


@pages.post("/session/renew")
def renew_session(request: Request, user: CurrentUser, settings: SettingsDep) -> Any:
    """A fresh session cookie for the logged-in account (the page is in use)."""
    from civgrid.api.routers.auth import with_session_cookie

    return with_session_cookie(JSONResponse({"renewed": True}), settings, user)


# ----------------------------------------------------------------------------- queues

QueueText = Annotated[str, Query(max_length=200)]


def _day(text: str, field: str, cal: Any, *, end: bool = False) -> datetime | None:
    """A local day (``YYYY-MM-DD``) → its start (or the next day's start) as an aware moment."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInputError(f"{field} must be a date YYYY-MM-DD", field=field) from exc
    if end:
        day += timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=cal.tz)


def _options(session: Session, cfg: Any) -> dict[str, list[tuple[str, str]]]:
    from sqlalchemy import select

    from civgrid.grids.boundaries.models import Area, Category, Unit
    from civgrid.grids.issues.workflow import states
    from civgrid.maps.work_queue import source_options

    areas: dict[str, str] = {}
    for code, name, kind in session.execute(
        select(Area.code, Area.name, Area.type)
        .where(Area.type.in_(["township", "community"]))
        .order_by(Area.code)
    ):
        areas.setdefault(code, ("　" if str(kind) == "community" else "") + name)
    return {
        "state": [(s, cfg.workflow.label(s)) for s in states()],
        "category": [
            (c.code, c.name)
            for c in session.scalars(select(Category).where(Category.parent_id.is_(None)))
        ],
        "source": source_options(),
        "area": list(areas.items()),
        "unit": [(u.key, u.name) for u in session.scalars(select(Unit).order_by(Unit.name))],
    }


@pages.get("/queue", response_class=HTMLResponse)
def queue_page(
    session: SessionDep,
    cfg: IssueConfigDep,
    scope: Annotated[Scope, require(Perm.issue_read)],
    view: QueueText = "",
    state: QueueText = "",
    category: QueueText = "",
    source: QueueText = "",
    area: QueueText = "",
    unit: QueueText = "",
    reported_from: QueueText = "",
    reported_to: QueueText = "",
    q: QueueText = "",
    order: QueueText = "",
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> HTMLResponse:
    """待办: the caller's queues (tabs with counts), filtered, sorted, paged, exportable."""
    from civgrid.grids.issues import service as svc
    from civgrid.maps.work_queue import (
        PAGE_SIZE,
        SORTS,
        VIEW_BY_KEY,
        QueueEnv,
        QueuePage,
        queue_page_html,
        views_for,
    )

    role = str(scope.role)
    mine = views_for(role)
    if not mine:
        raise PermissionDeniedError("no queue for this role")
    if view and view not in {v.key for v in mine}:
        raise NotFoundError(f"no queue {view!r} for this role", kind="queue", key=view)
    current = VIEW_BY_KEY[view] if view else mine[0]
    default_order = (
        "deadline" if current.key not in ("triage", "to_dispatch", "all") else "-reported_at"
    )
    order = order or default_order
    if order not in {o for pair in SORTS.values() for o in pair}:
        raise InvalidInputError(f"unknown order {order!r}", field="order")
    now = cfg.now()
    unit_fixed = scope.role is Role.unit_handler
    env = QueueEnv(now=now, unit=scope.actor.unit if unit_fixed else None)
    filters = {
        "state": state,
        "category": category,
        "source": source,
        "area": area,
        "unit": "" if unit_fixed else unit,
        "reported_from": reported_from,
        "reported_to": reported_to,
        "q": q,
    }

    def params_of(v: Any) -> dict[str, Any]:
        p = dict(v.params(env))
        if state:
            p["state"] = [s for s in p.get("state", [state]) if s == state] or ["__none__"]
        for key in ("category", "area", "q"):
            if filters[key]:
                p[key] = filters[key]
        if source:
            p["source"] = [source]
        if filters["unit"]:
            p["unit"] = filters["unit"]
        if reported_from:
            p["reported_from"] = _day(reported_from, "reported_from", cfg.calendar).isoformat()
        if reported_to:
            p["reported_to"] = _day(reported_to, "reported_to", cfg.calendar, end=True).isoformat()
        return p

    def query_of(p: dict[str, Any], limit: int, off: int) -> Any:
        states_ = p.get("state")
        if states_ == ["__none__"]:
            states_ = None
        query = svc.IssueQuery(
            states=states_,
            kinds=p.get("kind"),
            category=p.get("category"),
            sources=p.get("source"),
            area=p.get("area"),
            unit=p.get("unit"),
            owner_only=bool(p.get("owner_only")),
            reported_from=datetime.fromisoformat(p["reported_from"])
            if p.get("reported_from")
            else None,
            reported_to=datetime.fromisoformat(p["reported_to"]) if p.get("reported_to") else None,
            overdue=p.get("overdue"),
            supervised=p.get("supervised"),
            extension_pending=p.get("extension_pending"),
            proposed=p.get("proposed"),
            deadline_before=(
                datetime.fromisoformat(p["deadline_before"]) if p.get("deadline_before") else None
            ),
            text=p.get("q"),
            ids=[] if p.get("state") == ["__none__"] else None,
            limit=limit,
            offset=off,
            order=order,
        )
        query.scope = scope
        return query

    api_params = params_of(current)
    page = svc.list_issues(session, query_of(api_params, PAGE_SIZE, offset))
    tabs = [(v, svc.list_issues(session, query_of(params_of(v), 1, 0)).total) for v in mine]
    items = [svc.describe(i, cfg.workflow) for i in page.items]
    qp = QueuePage(
        view=current,
        views=tabs,
        items=items,
        total=page.total,
        offset=offset,
        order=order,
        filters={k: v for k, v in filters.items() if v},
        api_params={**api_params, "order": order},
        options=_options(session, cfg),
        unit_fixed=unit_fixed,
    )
    return HTMLResponse(
        queue_page_html(qp, nav=page_nav(session, scope), now=now, calendar=cfg.calendar)
    )


# ----------------------------------------------------------------------------- home pages


def _count(session: Session, scope: Scope, **filters: Any) -> int:
    from civgrid.grids.issues import service as svc

    q = svc.IssueQuery(limit=1, **filters)
    q.scope = scope
    return svc.list_issues(session, q).total


def _queue_cards(session: Session, cfg: Any, scope: Scope) -> list[tuple[str, int, str]]:
    """The role's queues as figure cards (label, total, link), the catch-all views left out."""
    from civgrid.maps.work_queue import QueueEnv, views_for

    env = QueueEnv(
        now=cfg.now(), unit=scope.actor.unit if scope.role is Role.unit_handler else None
    )
    cards = []
    for v in views_for(str(scope.role)):
        if v.key in ("open", "all"):
            continue
        p = v.params(env)
        n = _count(
            session,
            scope,
            states=p.get("state"),
            kinds=p.get("kind"),
            unit=p.get("unit"),
            owner_only=bool(p.get("owner_only")),
            overdue=p.get("overdue"),
            supervised=p.get("supervised"),
            extension_pending=p.get("extension_pending"),
            proposed=p.get("proposed"),
            deadline_before=(
                datetime.fromisoformat(p["deadline_before"]) if p.get("deadline_before") else None
            ),
        )
        cards.append((v.label, n, f"/queue?view={v.key}"))
    return cards


def _today_cards(session: Session, cfg: Any, scope: Scope) -> list[tuple[str, int, str]]:
    """今日上报 and 今日结案 (the county's local day)."""
    from sqlalchemy import func, select

    from civgrid.grids.issues.models import Issue

    day = cfg.calendar.local(cfg.now()).date()
    start = datetime.combine(day, time(0), tzinfo=cfg.calendar.tz)
    end = start + timedelta(days=1)
    reported = _count(session, scope, reported_from=start, reported_to=end)
    closed = (
        session.scalar(
            select(func.count())
            .select_from(Issue)
            .where(Issue.closed_at >= start, Issue.closed_at < end, *scope.issue_conditions())
        )
        or 0
    )
    return [
        ("今日上报", reported, f"/queue?view=all&reported_from={day}&reported_to={day}"),
        ("今日结案", int(closed), "/queue?view=all&state=closed"),
    ]


def _bulletins(session: Session, scope: Scope) -> list[tuple[str, str, str | None]]:
    if not scope.has(Perm.score_read):
        return []
    from sqlalchemy import select

    from civgrid.grids.scoring.models import Bulletin

    rows = session.scalars(select(Bulletin).order_by(Bulletin.issued_at.desc()).limit(5))
    return [(f"/bulletins/{b.id}", f"{b.number}（{b.period}）", None) for b in rows]


def _notices(session: Session, scope: Scope) -> list[tuple[str, str, str | None]]:
    from sqlalchemy import select

    from civgrid.grids.issues.models import Issue, SupervisionNotice

    q = (
        select(SupervisionNotice)
        .join(Issue, Issue.id == SupervisionNotice.issue_id)
        .where(*scope.issue_conditions())
        .order_by(SupervisionNotice.issued_at.desc())
        .limit(5)
    )
    return [
        (f"/api/v1/notices/{n.id}", f"{n.number}（问题 #{n.issue_id}）", None)
        for n in session.scalars(q)
    ]


def _today_visits(session: Session, cfg: Any, scope: Scope) -> list[tuple[str, str, str | None]]:
    from sqlalchemy import select

    from civgrid.grids.patrol.models import PatrolVisit

    day = cfg.calendar.local(cfg.now()).date()
    q = select(PatrolVisit).where(PatrolVisit.day == day)
    if scope.actor.team:
        q = q.where(PatrolVisit.team_key == scope.actor.team)
    rows = session.scalars(q.order_by(PatrolVisit.team_key, PatrolVisit.seq).limit(20))
    return [
        (
            f"/patrol?month={day:%Y-%m}",
            f"{v.team_key} 第 {v.seq + 1} 站：{v.target_code}（{v.community_code or ''}）",
            None,
        )
        for v in rows
    ]


def home_content(session: Session, cfg: Any, scope: Scope) -> dict[str, Any]:
    """A role's home: ``heading``, ``cards`` and ``sections`` for
    :func:`civgrid.maps.account_pages.home_page_html`."""
    from civgrid.maps.account_pages import HomeSection

    role = scope.role
    exports = HomeSection(
        "清单与文书",
        [("/api/v1/lists.xlsx", "下载三个清单（问题、责任、整改）", str(Perm.lists_export))],
    )
    bulletins = HomeSection("已发布的通报", _bulletins(session, scope), "cg-bulletins")
    notices = HomeSection("督办通知单（可打印）", _notices(session, scope), "cg-notices")
    if role in (Role.admin, Role.dispatcher):
        cards = _today_cards(session, cfg, scope) + _queue_cards(session, cfg, scope)
        sections = [bulletins, notices, exports]
        if role is Role.admin:
            sections.append(
                HomeSection(
                    "系统",
                    [
                        ("/notifications/outbox", "消息发送情况", None),
                        ("/docs", "接口文档（API）", None),
                        ("/healthz", "运行状态", None),
                    ],
                )
            )
        return {"heading": "今日待办与数据", "cards": cards, "sections": sections}
    if role is Role.unit_handler:
        return {
            "heading": "本单位待办",
            "cards": _queue_cards(session, cfg, scope),
            "sections": [notices, bulletins, exports],
        }
    if role is Role.inspector:
        visits = HomeSection(
            "今日巡查", _today_visits(session, cfg, scope), "cg-today-visits", "今日无巡查任务。"
        )
        return {
            "heading": "今日巡查与复查",
            "cards": _queue_cards(session, cfg, scope),
            "sections": [visits, notices, bulletins, exports],
        }
    if role is Role.leader:
        key = scope.actor.leader or ""
        mine = HomeSection(
            "我的领导页",
            [
                (f"/leaders/{key}", "领导页（联系、分包的片区与问题）", None),
                (f"/leaders/{key}/scores", "考核看板", None),
            ],
            "cg-leader-links",
        )
        return {
            "heading": "我负责的片区",
            "cards": _queue_cards(session, cfg, scope),
            "sections": [mine, bulletins, notices, exports],
        }
    # grid worker (and any other role): their own reports
    return {
        "heading": "我上报的问题",
        "cards": _queue_cards(session, cfg, scope),
        "sections": [
            HomeSection(
                "常用",
                [
                    ("/m/report", "上报问题（手机版）", None),
                    ("/queue?view=open", "我上报的在办问题", None),
                ],
            ),
            exports,
        ],
    }
