"""The account pages (账号): login, change of password, and the role home pages.

The HTML lives in ``maps/templates/`` (``login.html``, ``password.html``,
``home.html``); every value is escaped by :func:`civgrid.maps.render.render`.

>>> page = login_page_html("<b>", "/issues?a=1&b=2", "账号或密码错误")
>>> "&lt;b&gt;创文网格化管理指挥中心" in page and 'value="/issues?a=1&amp;b=2"' in page
True
>>> '<p class="err">账号或密码错误</p>' in page
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from civgrid.maps.render import Html, esc, render

__all__ = ["HomeSection", "home_page_html", "login_page_html", "password_page_html"]


def _errors(problems: Sequence[str]) -> Html:
    return Html("".join(f'<p class="err">{esc(p)}</p>' for p in problems))


def login_page_html(county: str, next_url: str, error: str | None = None) -> str:
    """The login page (Chinese), with ``error`` above the form if given."""
    return render(
        "login.html", county=county, next_url=next_url, errors=_errors([error] if error else [])
    )


def password_page_html(
    county: str, username: str, next_url: str, problems: Sequence[str] | None = None
) -> str:
    """The change-password page (Chinese), with the password policy's complaints."""
    return render(
        "password.html",
        county=county,
        username=username,
        next_url=next_url,
        errors=_errors(problems or []),
    )


@dataclass(frozen=True)
class HomeSection:
    """One block of a role's home page: a heading and ``(href, text, data-perm)`` links."""

    title: str
    links: Sequence[tuple[str, str, str | None]] = ()
    html_id: str = ""
    empty: str = "无。"


def _cards(cards: Sequence[tuple[str, int, str]]) -> Html:
    """``(label, number, href)`` → the figure cards."""
    if not cards:
        return Html("")
    return Html(
        '<div class="cg-cards" id="cg-figures">'
        + "".join(
            f'<a class="cg-card" href="{esc(h)}" data-figure="{esc(label)}">'
            f"{esc(label)}<b>{n}</b></a>"
            for label, n, h in cards
        )
        + "</div>"
    )


def _section(sec: HomeSection) -> str:
    items = "".join(
        f'<li><a href="{esc(h)}"'
        + (f' data-perm="{esc(perm)}"' if perm else "")
        + f">{esc(text)}</a></li>"
        for h, text, perm in sec.links
    )
    body = f"<ul>{items}</ul>" if items else f'<p class="muted">{esc(sec.empty)}</p>'
    hid = f' id="{esc(sec.html_id)}"' if sec.html_id else ""
    return f"<section{hid}><h2>{esc(sec.title)}</h2>{body}</section>"


def home_page_html(
    county: str,
    who: str,
    *,
    generation_id: int | None = None,
    generation_source: str | None = None,
    generation_created: datetime | None = None,
    nav: Html | str = "",
    heading: str = "",
    cards: Sequence[tuple[str, int, str]] = (),
    sections: Sequence[HomeSection] = (),
    role: str = "",
) -> str:
    """A role's home page (behind login): the navigation, the role's figures (cards
    linking to its queues) and its sections of links.

    ``generation_id`` is the active boundary generation (``None``: none imported yet).

    >>> html = home_page_html("某县", "u", role="dispatcher", heading="今日待办",
    ...     cards=[("新报问题", 3, "/queue?view=triage")],
    ...     sections=[HomeSection("通报", [("/bulletins/1", "2026-11 月通报", None)])])
    >>> 'data-figure="新报问题"' in html and "<b>3</b>" in html and 'data-role="dispatcher"' in html
    True
    """
    generation = (
        f"第 {generation_id} 版（{generation_source or ''}，{generation_created:%Y-%m-%d}）"
        if generation_id is not None
        else "尚未导入边界"
    )
    from civgrid.maps.banner import calendar_banner

    return render(
        "home.html",
        county=county,
        who=who,
        role=role,
        generation=generation,
        banner=Html(calendar_banner()),
        nav=Html(nav),
        heading=heading or "首页",
        cards=_cards(cards),
        sections=Html("".join(_section(s) for s in sections)),
    )
