"""The notification centre page (通知中心): the account's notifications, unread marked.

>>> from datetime import UTC, datetime
>>> from civgrid.grids.notify.inbox import InAppItem
>>> item = InAppItem(1, "issue_notice", "issue:7", "督办通知", "问题#7…", datetime(2025, 3, 3,
...                  tzinfo=UTC), read=False)
>>> html = notification_page([item], 1, Html(""))
>>> 'class="cg-notice unread"' in html and 'href="/issues/7"' in html
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from civgrid.grids.core.calendar import local_zone
from civgrid.grids.core.labels import NOTIFY_LABELS
from civgrid.grids.notify.inbox import InAppItem
from civgrid.maps.render import Html, esc, render

__all__ = ["deliveries_html", "notification_page", "outbox_page"]


def _link(subject: str) -> str:
    kind, _, key = subject.partition(":")
    return f"/issues/{key}" if kind == "issue" and key.isdigit() else ""


def _item(i: InAppItem) -> str:
    when = i.at.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")
    href = _link(i.subject)
    title = f'<a href="{esc(href)}">{esc(i.title)}</a>' if href else esc(i.title)
    cls = "cg-notice" + ("" if i.read else " unread")
    return (
        f'<li class="{cls}" data-id="{i.id}"><b>{title}</b> '
        f"<time>{esc(when)}</time><p>{esc(i.body)}</p></li>"
    )


def notification_page(items: Sequence[InAppItem], unread: int, nav: Html) -> str:
    """The page (``maps/templates/notifications.html``)."""
    body = (
        '<ul id="cg-notify-list">' + "".join(_item(i) for i in items) + "</ul>"
        if items
        else f'<p id="cg-notify-empty">{esc(NOTIFY_LABELS["none"])}</p>'
    )
    return render(
        "notifications.html",
        title=NOTIFY_LABELS["centre"],
        nav=nav,
        unread_label=NOTIFY_LABELS["unread"],
        unread=unread,
        actions=Html(
            '<form method="post" action="/notifications/read" data-perm="session">'
            '<button type="submit" id="cg-mark-all" data-perm="session">'
            f"全部{esc(NOTIFY_LABELS['mark_read'])}</button></form>"
        ),
        items=Html(body),
    )


def deliveries_html(rows: Sequence[Mapping[str, Any]]) -> Html:
    """The issue page's delivery table: recipient, channel, status, attempts.

    >>> str(deliveries_html([]))
    '<p class="muted" id="cg-deliveries">无。</p>'
    >>> "已送达" in deliveries_html([{"recipient": "县城管局", "channel": "email",
    ...                               "status": "sent", "attempts": 1}])
    True
    """
    if not rows:
        return Html('<p class="muted" id="cg-deliveries">无。</p>')
    head = "".join(
        f"<th>{esc(NOTIFY_LABELS[k])}</th>" for k in ("recipient", "channel", "status", "attempts")
    )
    label = NOTIFY_LABELS.get
    body = "".join(
        f"<tr><td>{esc(r['recipient'])}</td><td>{esc(label(r['channel'], r['channel']))}</td>"
        f"<td>{esc(label(r['status'], r['status']))}</td><td>{int(r['attempts'])}</td></tr>"
        for r in rows
    )
    return Html(f'<table id="cg-deliveries"><tr>{head}</tr>{body}</table>')


def outbox_page(
    counts: Mapping[tuple[str, str], int], troubles: Sequence[Mapping[str, Any]], nav: Html
) -> str:
    """The command center's outbox view: counts by channel and status, failing messages.

    >>> html = outbox_page({("email", "dead"): 2}, [{"subject": "issue:7", "channel": "email",
    ...     "status": "dead", "attempts": 6, "error": "SMTP down"}], Html(""))
    >>> "发送失败" in html and "SMTP down" in html and 'href="/issues/7"' in html
    True
    """
    label = NOTIFY_LABELS.get
    count_rows = "".join(
        f"<tr><td>{esc(label(c, c))}</td><td>{esc(label(s, s))}</td><td>{n}</td></tr>"
        for (c, s), n in sorted(counts.items())
    )
    bad = "".join(
        f'<tr><td><a href="{esc(_link(t["subject"]) or "#")}">{esc(t["subject"])}</a></td>'
        f"<td>{esc(label(t['channel'], t['channel']))}</td>"
        f"<td>{esc(label(t['status'], t['status']))}</td><td>{int(t['attempts'])}</td>"
        f"<td>{esc(t.get('error') or '')}</td></tr>"
        for t in troubles
    )
    body = (
        f'<table id="cg-outbox-counts"><tr><th>{esc(label("channel"))}</th>'
        f"<th>{esc(label('status'))}</th><th>数量</th></tr>{count_rows}</table>"
        f"<h2>{esc(label('troubles'))}</h2>"
        + (
            f'<table id="cg-outbox-troubles"><tr><th>对象</th><th>{esc(label("channel"))}</th>'
            f"<th>{esc(label('status'))}</th><th>{esc(label('attempts'))}</th><th>错误</th></tr>"
            f"{bad}</table>"
            if troubles
            else '<p class="muted" id="cg-outbox-troubles">无。</p>'
        )
    )
    return render(
        "notifications.html",
        title=label("outbox"),
        nav=nav,
        unread_label=label("total"),
        unread=sum(counts.values()),
        actions=Html(""),
        items=Html(body),
    )
