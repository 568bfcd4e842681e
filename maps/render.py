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
from html import escape
from importlib import resources
from string import Template
from typing import Any

__all__ = ["Html", "esc", "render", "render_text"]


class Html(str):
    """A fragment of HTML whose parts are escaped already: inserted as it is."""

    __slots__ = ()


def esc(value: Any) -> str:
    """``value`` as escaped HTML text (``None`` → empty); a :class:`Html` stays as it is."""
    if isinstance(value, Html):
        return value
    return escape("" if value is None else str(value))


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
