"""Accounts (账号): users, password policy and hashing (argon2 via pwdlib), lockout, expiry.

* Passwords are hashed with argon2id (:func:`hash_password`); the plain text is
  never stored, logged or returned.
* :class:`PasswordPolicy` (等保 2.0 level 2 practice): at least 10 characters
  from at least three of lower case, upper case, digits, symbols; not the
  username; expires after ``max_age_days`` (a login then must change it).
* :func:`authenticate` counts failures; ``lockout_threshold`` failures in a row
  lock the account for ``lockout_minutes``. A disabled or locked user is refused
  with the same message as a wrong password (no account enumeration).

Examples
--------
>>> PasswordPolicy().problems("short", "u")
['at least 10 characters', 'at least three of: lower case, upper case, digits, symbols']
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from civgrid.grids.accounts.models import User
from civgrid.grids.accounts.permissions import Role, workflow_role
from civgrid.grids.core import audit
from civgrid.grids.core.actors import Actor
from civgrid.grids.core.errors import ConflictError, InvalidInputError, NotFoundError

__all__ = [
    "AuthError",
    "PasswordPolicy",
    "actor_of",
    "authenticate",
    "change_password",
    "create_user",
    "generate_password",
    "get_user",
    "hash_password",
    "set_disabled",
    "verify_password",
]


class AuthError(Exception):
    """Login refused (wrong user or password, disabled, locked). Deliberately vague."""


@lru_cache(maxsize=1)
def _hasher():
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    return PasswordHash((Argon2Hasher(),))


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``."""
    return _hasher().hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (constant time)."""
    try:
        return bool(_hasher().verify(password, password_hash))
    except Exception:  # malformed hash: never a match
        return False


#: Verified against when the user does not exist, so timing does not reveal it.
_DUMMY_HASH: list[str] = []


@dataclass(frozen=True)
class PasswordPolicy:
    """Password rules (等保 2.0 level 2 practice)."""

    min_length: int = 10
    min_classes: int = 3
    max_age_days: int = 90
    lockout_threshold: int = 5
    lockout_minutes: int = 15

    def problems(self, password: str, username: str = "") -> list[str]:
        """What is wrong with ``password`` (empty list: acceptable)."""
        out = []
        if len(password) < self.min_length:
            out.append(f"at least {self.min_length} characters")
        classes = sum(
            any(c in chars for c in password)
            for chars in (string.ascii_lowercase, string.ascii_uppercase, string.digits)
        ) + any(not c.isalnum() for c in password)
        if classes < self.min_classes:
            out.append("at least three of: lower case, upper case, digits, symbols")
        if username and username.lower() in password.lower():
            out.append("must not contain the username")
        return out

    def check(self, password: str, username: str = "") -> None:
        """Raise :class:`InvalidInputError` (field ``password``) when not acceptable."""
        problems = self.problems(password, username)
        if problems:
            raise InvalidInputError("password too weak: " + "; ".join(problems), field="password")

    def expired(self, user: User, now: datetime) -> bool:
        """Whether the user's password is older than ``max_age_days``."""
        return self.max_age_days > 0 and now - user.password_changed_at > timedelta(
            days=self.max_age_days
        )


def generate_password(length: int = 16, username: str = "") -> str:
    """A random password meeting the default policy for ``username`` (one-time passwords).

    The policy refuses a password that contains the username, so a short username
    ("m3") would now and then make a random one unusable: it is drawn again.
    """
    alphabet = string.ascii_letters + string.digits + "-_.!@#%"
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(length))
        if not PasswordPolicy().problems(pw, username):
            return pw


def _check_links(session: Session, role: Role, unit_key: str | None, leader_key: str | None):
    from civgrid.grids.boundaries.models import Leader, Unit

    if role in (Role.unit_handler,) and not unit_key:
        raise InvalidInputError("a unit handler needs a unit (unit_key)", field="unit_key")
    if role is Role.leader and not leader_key:
        raise InvalidInputError("a leader account needs a leader key", field="leader_key")
    if unit_key and session.scalar(select(Unit.id).where(Unit.key == unit_key)) is None:
        raise InvalidInputError(f"unknown unit {unit_key!r}", field="unit_key", value=unit_key)
    if leader_key and session.scalar(select(Leader.id).where(Leader.key == leader_key)) is None:
        raise InvalidInputError(
            f"unknown leader {leader_key!r}", field="leader_key", value=leader_key
        )


def get_user(session: Session, username: str) -> User:
    """A user by name; :class:`NotFoundError` if absent."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFoundError(f"no user {username!r}", kind="user", key=username)
    return user


def create_user(
    session: Session,
    actor: Actor,
    username: str,
    password: str,
    role: Role | str,
    *,
    unit_key: str | None = None,
    leader_key: str | None = None,
    title: str | None = None,
    must_change_password: bool = False,
    policy: PasswordPolicy | None = None,
    check_links: bool = True,
    now: datetime | None = None,
) -> User:
    """Add an account (audited).

    Raises
    ------
    InvalidInputError
        Bad username, role, weak password, unknown unit or leader.
    ConflictError
        The username exists.
    """
    username = (username or "").strip()
    if not (1 <= len(username) <= 64) or any(c.isspace() for c in username):
        raise InvalidInputError("username: 1–64 characters, no spaces", field="username")
    try:
        role = Role(role)
    except ValueError as exc:
        raise InvalidInputError(
            f"unknown role {role!r}; roles: " + ", ".join(r.value for r in Role if r != "public"),
            field="role",
        ) from exc
    if role is Role.public:
        raise InvalidInputError("the public has no accounts", field="role")
    (policy or PasswordPolicy()).check(password, username)
    if check_links:
        _check_links(session, role, unit_key, leader_key)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ConflictError(f"user {username!r} exists", kind="user", key=username)
    now = now or datetime.now(UTC)
    user = User(
        username=username,
        title=title,
        role=role.value,
        unit_key=unit_key,
        leader_key=leader_key,
        password_hash=hash_password(password),
        password_changed_at=now,
        must_change_password=must_change_password,
        disabled=False,
        failed_logins=0,
        token_version=1,
        created_at=now,
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.add", "user", username, after=describe(user))
    return user


def describe(user: User) -> dict:
    """Public fields of a user (never the hash)."""
    return {
        "username": user.username,
        "title": user.title,
        "role": user.role,
        "unit_key": user.unit_key,
        "leader_key": user.leader_key,
        "disabled": user.disabled,
        "must_change_password": user.must_change_password,
        "locked_until": user.locked_until.isoformat() if user.locked_until else None,
        "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
        "password_changed_at": user.password_changed_at.isoformat(),
    }


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    policy: PasswordPolicy | None = None,
    now: datetime | None = None,
) -> User:
    """Check a login; count failures and lock after ``lockout_threshold`` in a row.

    Returns
    -------
    User
        ``must_change_password`` is set when the password has expired.

    Raises
    ------
    AuthError
        Unknown user, wrong password, disabled or locked (one vague message).
    """
    policy = policy or PasswordPolicy()
    now = now or datetime.now(UTC)
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        if not _DUMMY_HASH:
            _DUMMY_HASH.append(hash_password(generate_password()))
        verify_password(password, _DUMMY_HASH[0])
        raise AuthError("wrong username or password")
    if user.locked_until is not None and user.locked_until > now:
        raise AuthError("wrong username or password, or the account is locked")
    if not verify_password(password, user.password_hash):
        # counted in SQL (no read-modify-write): parallel wrong guesses are each counted
        failed = session.execute(
            update(User)
            .where(User.id == user.id)
            .values(failed_logins=User.failed_logins + 1)
            .returning(User.failed_logins)
            .execution_options(synchronize_session=False)
        ).scalar_one()
        set_committed_value(user, "failed_logins", failed)
        if failed >= policy.lockout_threshold:
            user.locked_until = now + timedelta(minutes=policy.lockout_minutes)
            user.failed_logins = 0
            audit.record(
                session,
                Actor("system"),
                "user.lock",
                "user",
                user.username,
                after={"locked_until": user.locked_until.isoformat()},
            )
        session.flush()
        raise AuthError("wrong username or password")
    if user.disabled:
        raise AuthError("wrong username or password")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if policy.expired(user, now):
        user.must_change_password = True
    session.flush()
    return user


def change_password(
    session: Session,
    actor: Actor,
    username: str,
    new_password: str,
    *,
    must_change: bool = False,
    policy: PasswordPolicy | None = None,
    now: datetime | None = None,
) -> User:
    """Set a new password (reset by an admin with ``must_change=True``, or by the user).

    Earlier tokens stop working (``token_version`` goes up); the lock is lifted.
    """
    user = get_user(session, username)
    (policy or PasswordPolicy()).check(new_password, username)
    if verify_password(new_password, user.password_hash):
        raise InvalidInputError("the new password must differ from the old", field="password")
    user.password_hash = hash_password(new_password)
    user.password_changed_at = now or datetime.now(UTC)
    user.must_change_password = must_change
    user.token_version += 1
    user.locked_until = None
    user.failed_logins = 0
    session.flush()
    audit.record(
        session,
        actor,
        "user.reset_password" if must_change else "user.password",
        "user",
        username,
        after={"must_change_password": must_change},
    )
    return user


def set_disabled(session: Session, actor: Actor, username: str, disabled: bool) -> User:
    """Disable (tokens refused at once) or enable an account (audited)."""
    user = get_user(session, username)
    before = user.disabled
    user.disabled = disabled
    if disabled:
        user.token_version += 1
    session.flush()
    audit.record(
        session,
        actor,
        "user.disable" if disabled else "user.enable",
        "user",
        username,
        before={"disabled": before},
        after={"disabled": disabled},
    )
    return user


def actor_of(user: User) -> Actor:
    """The domain :class:`Actor` of a logged-in user."""
    role = Role(user.role)
    team = user.unit_key if role is Role.inspector else None
    return Actor(
        user.username,
        workflow_role(role),
        user.unit_key,
        account_role=role.value,
        leader=user.leader_key,
        team=team,
    )
