"""The account pages (账号): login, change of password, and the command-center home.

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
from datetime import datetime

from civgrid.maps.render import Html, esc, render

__all__ = ["home_page_html", "login_page_html", "password_page_html"]


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


def home_page_html(
    county: str,
    who: str,
    *,
    generation_id: int | None = None,
    generation_source: str | None = None,
    generation_created: datetime | None = None,
) -> str:
    """The landing page of the command center (behind login).

    ``generation_id`` is the active boundary generation (``None``: none imported yet).
    """
    generation = (
        f"第 {generation_id} 版（{generation_source or ''}，{generation_created:%Y-%m-%d}）"
        if generation_id is not None
        else "尚未导入边界"
    )
    from civgrid.maps.banner import calendar_banner

    return render(
        "home.html", county=county, who=who, generation=generation, banner=Html(calendar_banner())
    )
