"""The demo accounts: the first admin and one account per role, by title, never by name.

``civgrid user bootstrap-demo`` (the end of ``make demo``) calls
:func:`bootstrap_demo_accounts`; each account gets a one-time password that must be
changed at first login. Nothing is made once an admin exists.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.grids.accounts import service as accounts
from civgrid.grids.accounts.models import User
from civgrid.grids.boundaries.models import Leader
from civgrid.grids.core.actors import Actor
from civgrid.grids.core.labels import ACCOUNT_ROLE_LABELS

__all__ = ["DEMO_USERS", "bootstrap_demo_accounts"]

#: The demo accounts: username, role, unit, leader, title (people by title only).
DEMO_USERS: tuple[tuple[str, str, str | None, str | None, str], ...] = (
    ("admin", "admin", None, None, ACCOUNT_ROLE_LABELS["admin"]),
    ("dispatcher", "dispatcher", None, None, ACCOUNT_ROLE_LABELS["dispatcher"]),
    ("inspector", "inspector", "ST01", None, "第一督查组督查员"),
    ("unit_d04", "unit_handler", "D04", None, "县公安局经办人"),
    ("gridworker", "grid_worker", None, None, ACCOUNT_ROLE_LABELS["grid_worker"]),
    ("leader_l01", "leader", None, "L01", "县委副书记"),
    ("viewer", "viewer", None, None, ACCOUNT_ROLE_LABELS["viewer"]),
)


def bootstrap_demo_accounts(
    session: Session, actor: Actor, policy: Any = None
) -> list[tuple[str, str, str]] | None:
    """Create the demo accounts that are missing; None when an admin exists already.

    Returns
    -------
    list of (username, role, one-time password), or None
        The passwords are returned once, to be shown once; only their hashes are stored.
    """
    if session.scalar(select(User.id).where(User.role == "admin")) is not None:
        return None
    shown = []
    for name, role, unit, leader, title in DEMO_USERS:
        if session.scalar(select(User.id).where(User.username == name)) is not None:
            continue
        has_leader = leader is None or (
            session.scalar(select(Leader.id).where(Leader.key == leader)) is not None
        )
        pw = accounts.generate_password(username=name)
        accounts.create_user(
            session,
            actor,
            name,
            pw,
            role,
            unit_key=unit,
            leader_key=leader,
            title=title,
            must_change_password=True,
            check_links=has_leader,
            policy=policy,
        )
        shown.append((name, role, pw))
    return shown
