"""The navigation bar of the work pages: only the pages the role may open.

:data:`NAV_LINKS` is the table (path, label, the account roles that may open it); the
roles of each row are those the page's own permission check lets through (the
permission matrix in ``tests/accounts/test_permission_matrix.py`` is the reference).
A leader's own page (``/leaders/<key>``) is added for a leader account.

>>> html = nav_html("unit_handler", "uh1", unit_name="县城管局")
>>> 'href="/queue"' in html and 'href="/patrol"' not in html and "县城管局" in html
True
>>> 'href="/leaders/L10"' in nav_html("leader", "ld", leader="L10")
True
"""

from __future__ import annotations

from dataclasses import dataclass

from civgrid.grids.core.labels import ACCOUNT_ROLE_LABELS, NOTIFY_LABELS
from civgrid.maps.render import Html, esc, render

__all__ = ["NAV_LINKS", "NavLink", "links_for", "nav_html"]

_STAFF = frozenset(
    {"admin", "dispatcher", "inspector", "unit_handler", "grid_worker", "leader", "viewer"}
)
_CC = frozenset({"admin", "dispatcher"})


@dataclass(frozen=True)
class NavLink:
    """One link: where, its Chinese label, who may open it."""

    href: str
    label: str
    roles: frozenset[str]


#: The links, in bar order.
NAV_LINKS: tuple[NavLink, ...] = (
    NavLink("/", "首页", _STAFF),
    NavLink("/queue", "待办", _STAFF),
    NavLink("/map", "地图", _STAFF),
    NavLink("/map/heat", "热力图", _STAFF),
    NavLink("/patrol", "巡查", frozenset({"admin", "dispatcher", "inspector", "leader", "viewer"})),
    NavLink(
        "/scores",
        "考核排名",
        frozenset({"admin", "dispatcher", "inspector", "unit_handler", "leader", "viewer"}),
    ),
    NavLink(
        "/scores/bulletin",
        "通报（预览）",
        frozenset({"admin", "dispatcher", "inspector", "viewer"}),
    ),
    NavLink(
        "/shops/red-black",
        "红黑榜",
        frozenset({"admin", "dispatcher", "inspector", "unit_handler", "leader", "viewer"}),
    ),
    NavLink("/responsibility/gaps", "责任空白清单", frozenset({"admin", "dispatcher", "viewer"})),
    NavLink("/docs", "接口文档", _CC),
)


def links_for(role: str, leader: str | None = None) -> list[tuple[str, str]]:
    """``(href, label)`` of the pages ``role`` may open (a leader's own page included)."""
    out = [(link.href, link.label) for link in NAV_LINKS if role in link.roles]
    if role == "leader" and leader:
        out.insert(1, (f"/leaders/{leader}", "我的领导页"))
    return out


def nav_html(
    role: str,
    who: str,
    *,
    leader: str | None = None,
    unit_name: str | None = None,
    unread: int | None = None,
) -> Html:
    """The bar (``maps/templates/nav.html``): links, the account by role (and unit), logout.

    ``unread`` (the account's unread notifications) adds the notification centre's link
    with the count.

    >>> '<span class="cg-unread" id="cg-unread">3</span>' in nav_html("viewer", "v", unread=3)
    True
    """
    links = "".join(f'<a href="{esc(h)}">{esc(label)}</a>' for h, label in links_for(role, leader))
    if unread is not None:
        links += (
            f'<a href="/notifications" id="cg-notify">{esc(NOTIFY_LABELS["centre"])}'
            f'<span class="cg-unread" id="cg-unread">{int(unread)}</span></a>'
        )
    account = ACCOUNT_ROLE_LABELS.get(role, role) + (f"（{unit_name}）" if unit_name else "")
    return Html(render("nav.html", links=Html(links), account=account, who=who))
