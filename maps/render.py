"""HTML templates of ``maps/templates/`` (shipped as package data), filled safely.

A template is plain HTML with ``$name`` placeholders (:class:`string.Template`;
``$$`` is a literal dollar sign). :func:`render` escapes every value with
:func:`html.escape`, except a :class:`Html` fragment, which the caller has built
from escaped parts already (rows of a table, an error paragraph).

>>> render_text("<b>$who</b>$extra", who="<x>", extra=Html("<i>ok</i>"))
'<b>&lt;x&gt;</b><i>ok</i>'
"""

from __future__ import annotations

import functools
import re
from contextvars import ContextVar
from html import escape
from importlib import resources
from string import Template
from typing import Any

__all__ = ["Html", "esc", "nonce_scripts", "render", "render_text", "script_nonce"]


class Html(str):
    """A fragment of HTML whose parts are escaped already: inserted as it is."""

    __slots__ = ()


def esc(value: Any) -> str:
    """``value`` as escaped HTML text (``None`` → empty); a :class:`Html` stays as it is."""
    if isinstance(value, Html):
        return value
    return escape("" if value is None else str(value))


#: The style of the plain report pages (tables, no map): 责任空白清单, 红黑榜.
REPORT_CSS = (
    'body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2rem;color:#222}'
    "h1{color:#b3261e}table{border-collapse:collapse;margin:.5rem 0 1.5rem}"
    "th,td{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}"
    "td.num{text-align:right}.muted{color:#666}.nav a{margin-right:1rem}"
)


def report_page(title: str, body: str, css: str = "") -> str:
    """A complete plain report page (Chinese): ``body`` is escaped HTML already."""
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{esc(title)}</title><style>{REPORT_CSS}{css}</style></head><body>"
        f"{body}</body></html>"
    )


@functools.cache
def _template(name: str) -> Template:
    text = (resources.files("civgrid.maps") / "templates" / name).read_text(encoding="utf-8")
    return Template(text.removesuffix("\n"))  # the file's final newline is no part of the page


def render_text(template: str, **values: Any) -> str:
    """Fill ``template`` (text with ``$name`` placeholders), escaping every value."""
    return Template(template).substitute({k: esc(v) for k, v in values.items()})


def render(name: str, **values: Any) -> str:
    """Fill the template ``maps/templates/<name>``, escaping every value.

    Raises ``KeyError`` when a placeholder of the template has no value.
    """
    return _template(name).substitute({k: esc(v) for k, v in values.items()})


#: The CSP nonce of the response being built (set per request by the web app's
#: middleware, ``civgrid.api.websecurity``); None outside a request (files, notebooks).
script_nonce: ContextVar[str | None] = ContextVar("civgrid_script_nonce", default=None)

_SCRIPT_OPEN = re.compile(r"<script\b(?![^>]*\bnonce=)", re.I)


def nonce_scripts(html: str, nonce: str | None = None) -> str:
    """Mark every ``<script`` tag of a page the app built itself with the CSP nonce.

    Only for HTML generated from trusted templates whose data is JSON-escaped
    (folium pages, Swagger UI): user text never reaches it as raw markup.
    Without a nonce (outside a request) the page is returned unchanged.

    >>> nonce_scripts('<script>a()</script><script src="/x.js"></script>', "N")
    '<script nonce="N">a()</script><script nonce="N" src="/x.js"></script>'
    >>> nonce_scripts("<script>a()</script>")
    '<script>a()</script>'
    """
    nonce = nonce if nonce is not None else script_nonce.get()
    if not nonce:
        return html
    return _SCRIPT_OPEN.sub(f'<script nonce="{escape(nonce)}"', html)
