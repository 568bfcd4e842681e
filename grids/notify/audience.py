"""Who hears what: the default audience of each event kind, subscriptions, quiet hours.

The defaults are local choices for a county (the issue asks for "a unit hears its own
issues; a leader hears escalations and cases in their areas; the command center hears
escalations and failed deliveries"):

============================  =========================================
event kind                    audience
============================  =========================================
issue_dispatched/transferred  owner unit, co-responsible units
issue_due_soon                owner unit
issue_overdue                 owner unit
issue_notice                  owner unit, the issue's leaders
issue_escalated               owner unit, the issue's leaders, command center
issue_extension_decided       owner unit
issue_reinspection_failed     owner unit
point_inspection_failed       the point's responsible unit (包保单位)
case_opened                   the unit (a department's case), its leader, command center
case_acted                    the unit (a department's case), its leader
bulletin_published            every leader, command center
delivery_failed               command center
============================  =========================================

A :class:`~civgrid.grids.notify.models.Subscription` row turns a kind on or off for a
subscriber on a channel; the most specific row wins (the subscriber itself before its
role, an exact kind before ``*``, an exact channel before ``*``).

Quiet hours (local choice: 22:00–07:00 local time) hold back SMS, except escalations.

Examples
--------
>>> from datetime import UTC, datetime
>>> q = QuietHours()
>>> q.held_until("issue_due_soon", "sms", datetime(2025, 3, 3, 15, 0, tzinfo=UTC))
datetime.datetime(2025, 3, 3, 23, 0, tzinfo=datetime.timezone.utc)
>>> q.held_until("issue_escalated", "sms", datetime(2025, 3, 3, 15, 0, tzinfo=UTC)) is None
True
>>> q.held_until("issue_due_soon", "in_app", datetime(2025, 3, 3, 15, 0, tzinfo=UTC)) is None
True
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from civgrid.grids.core.calendar import local_zone

__all__ = ["DEFAULT_AUDIENCE", "QuietHours", "best_choice"]

#: event kind → audiences (``unit``, ``co_units``, ``leaders``, ``all_leaders``,
#: ``command_center``).
DEFAULT_AUDIENCE: dict[str, tuple[str, ...]] = {
    "issue_dispatched": ("unit", "co_units"),
    "issue_transferred": ("unit", "co_units"),
    "issue_due_soon": ("unit",),
    "issue_overdue": ("unit",),
    "issue_notice": ("unit", "leaders"),
    "issue_escalated": ("unit", "leaders", "command_center"),
    "issue_extension_decided": ("unit",),
    "issue_reinspection_failed": ("unit",),
    "point_inspection_failed": ("unit",),
    "case_opened": ("unit", "leaders", "command_center"),
    "case_acted": ("unit", "leaders"),
    "bulletin_published": ("all_leaders", "command_center"),
    "delivery_failed": ("command_center",),
}

#: Account roles that make up the command center (指挥中心).
COMMAND_CENTER_ROLES = ("admin", "dispatcher")


@dataclass(frozen=True)
class QuietHours:
    """No message on ``channels`` between ``start`` and ``end`` (local), except ``urgent``."""

    start: time = time(22, 0)
    end: time = time(7, 0)
    channels: frozenset[str] = frozenset({"sms"})
    urgent: frozenset[str] = frozenset({"issue_escalated"})
    tz: ZoneInfo | None = field(default=None)

    def held_until(self, kind: str, channel: str, now: datetime) -> datetime | None:
        """The end of the quiet hours ``now`` falls in (UTC), or None to send now."""
        if channel not in self.channels or kind in self.urgent:
            return None
        local = now.astimezone(self.tz or local_zone())
        t = local.time()
        quiet = (
            (self.start <= t or t < self.end)
            if self.start > self.end
            else (self.start <= t < self.end)
        )
        if not quiet:
            return None
        day = local.date() if t < self.end else local.date() + timedelta(days=1)
        end = datetime.combine(day, self.end, tzinfo=local.tzinfo)
        return end.astimezone(UTC)


def best_choice(
    rows: Iterable[tuple[str, str, str, bool]],
    subscribers: Sequence[str],
    kind: str,
    channel: str,
) -> bool | None:
    """The most specific subscription choice for (subscribers, kind, channel), or None.

    ``rows`` are (subscriber, event_kind, channel, enabled); ``subscribers`` lists the
    names of one recipient from the most specific (itself) to the least (its role).

    >>> rows = [("role:leader", "*", "sms", False), ("account:a", "issue_notice", "sms", True)]
    >>> best_choice(rows, ["account:a", "role:leader"], "issue_notice", "sms")
    True
    >>> best_choice(rows, ["account:b", "role:leader"], "issue_notice", "sms")
    False
    >>> best_choice(rows, ["account:b", "role:leader"], "issue_notice", "email") is None
    True
    """
    best: tuple[int, int, int] | None = None
    choice: bool | None = None
    for sub, k, ch, enabled in rows:
        if sub not in subscribers or k not in (kind, "*") or ch not in (channel, "*"):
            continue
        rank = (-subscribers.index(sub), int(k == kind), int(ch == channel))
        if best is None or rank > best:
            best, choice = rank, enabled
    return choice
