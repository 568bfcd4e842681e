"""Contacts and subscriptions: where a unit or account is reached, and what it hears.

Contact details (e-mail addresses, robot webhooks, mobile numbers) are configured per
unit or account by an administrator (``civgrid notify contact``), never shipped in the
demo data.

Examples
--------
>>> check_owner("unit:D03")
'unit:D03'
>>> check_channel("fax")
Traceback (most recent call last):
...
civgrid.grids.core.errors.InvalidInputError: unknown channel 'fax': email, dingtalk, wecom, sms
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.grids.accounts.models import User
from civgrid.grids.boundaries.models import Unit
from civgrid.grids.core.errors import InvalidInputError, NotFoundError
from civgrid.grids.core.outbox import EVENT_KINDS
from civgrid.grids.notify.models import Contact, Subscription

__all__ = ["CONTACT_CHANNELS", "add_contact", "check_channel", "check_owner", "subscribe"]

#: Channels that need a contact (in-app needs none).
CONTACT_CHANNELS = ("email", "dingtalk", "wecom", "sms")


def check_owner(owner: str) -> str:
    """``unit:<key>`` or ``account:<username>``."""
    kind, sep, key = owner.partition(":")
    if not sep or kind not in ("unit", "account") or not key:
        raise InvalidInputError(
            f"owner {owner!r} is not unit:<key> or account:<username>", field="owner"
        )
    return owner


def check_channel(channel: str) -> str:
    """One of :data:`CONTACT_CHANNELS`."""
    if channel not in CONTACT_CHANNELS:
        raise InvalidInputError(
            f"unknown channel {channel!r}: {', '.join(CONTACT_CHANNELS)}", field="channel"
        )
    return channel


def _exists(session: Session, owner: str) -> None:
    kind, _, key = owner.partition(":")
    col = Unit.key if kind == "unit" else User.username
    if session.scalar(select(col).where(col == key)) is None:
        raise NotFoundError(f"no {kind} {key!r}", field="owner", value=owner)


def add_contact(
    session: Session, owner: str, channel: str, address: str, secret: str | None = None
) -> Contact:
    """Add (or update the secret of) one contact of a unit or account."""
    check_owner(owner)
    check_channel(channel)
    _exists(session, owner)
    address = address.strip()
    if not address:
        raise InvalidInputError("the address is empty", field="address")
    if channel in ("dingtalk", "wecom") and not address.startswith(("https://", "http://")):
        raise InvalidInputError(f"a {channel} robot needs its webhook URL", field="address")
    found = session.scalar(
        select(Contact).where(
            Contact.owner == owner, Contact.channel == channel, Contact.address == address
        )
    )
    if found is None:
        found = Contact(owner=owner, channel=channel, address=address, enabled=True)
        session.add(found)
    found.secret = secret or None
    session.flush()
    return found


def subscribe(
    session: Session, subscriber: str, event_kind: str, channel: str, enabled: bool
) -> Subscription:
    """Turn ``event_kind`` (or ``*``) on ``channel`` (or ``*``) on or off for a subscriber."""
    if not subscriber.startswith(("unit:", "account:", "role:")):
        raise InvalidInputError(
            f"subscriber {subscriber!r} is not unit:, account: or role:", field="subscriber"
        )
    if event_kind != "*" and event_kind not in EVENT_KINDS:
        raise InvalidInputError(f"unknown event kind {event_kind!r}", field="event_kind")
    if channel not in ("*", "in_app", *CONTACT_CHANNELS):
        raise InvalidInputError(f"unknown channel {channel!r}", field="channel")
    found = session.scalar(
        select(Subscription).where(
            Subscription.subscriber == subscriber,
            Subscription.event_kind == event_kind,
            Subscription.channel == channel,
        )
    )
    if found is None:
        found = Subscription(subscriber=subscriber, event_kind=event_kind, channel=channel)
        session.add(found)
    found.enabled = enabled
    session.flush()
    return found
