"""Tokens: OAuth2 password flow, signed JWTs (access + refresh).

* Access tokens (``typ=access``, default 30 min) and refresh tokens
  (``typ=refresh``, default 12 h) are HS256 JWTs signed with
  ``settings.secret_key``; when unset, a random key is generated once into
  ``<var_dir>/secret_key`` (mode 600) — never a hard-coded secret.
* Every token carries the user's ``token_version`` (``ver``); disabling a user
  or resetting the password raises it, so older tokens are refused at once.
* Rate limits (token buckets) are in ``api/ratelimit.py``.
"""

from __future__ import annotations

import os
import secrets
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from fastapi.security import OAuth2PasswordBearer

from civgrid.api.settings import Settings

__all__ = [
    "ALGORITHM",
    "COOKIE_NAME",
    "TokenError",
    "decode_token",
    "issue_token",
    "oauth2_scheme",
    "signing_key",
]

ALGORITHM = "HS256"
COOKIE_NAME = "civgrid_token"

#: The OpenAPI security scheme (the token endpoint of the password flow).
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)

_key_lock = threading.Lock()


class TokenError(Exception):
    """A token that is malformed, badly signed, expired or of the wrong type."""


def signing_key(settings: Settings) -> str:
    """The HS256 key: ``settings.secret_key`` or a random key kept in ``var_dir``."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.var_dir) / "secret_key"
    with _key_lock:
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            # created 0600 from the start (never readable by others, not even briefly);
            # O_EXCL: a second process racing here keeps the first key
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as f:
                    f.write(secrets.token_urlsafe(48))
        return path.read_text().strip()


def issue_token(
    settings: Settings,
    username: str,
    token_version: int,
    kind: str = "access",
    *,
    now: datetime | None = None,
) -> tuple[str, int]:
    """A signed token for ``username``; returns (token, lifetime in seconds)."""
    now = now or datetime.now(UTC)
    life = (
        timedelta(minutes=settings.access_token_minutes)
        if kind == "access"
        else timedelta(hours=settings.refresh_token_hours)
    )
    claims = {
        "sub": username,
        "typ": kind,
        "ver": token_version,
        "iat": int(now.timestamp()),
        "exp": int((now + life).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, signing_key(settings), algorithm=ALGORITHM), int(life.total_seconds())


def decode_token(settings: Settings, token: str, kind: str = "access") -> dict[str, Any]:
    """The claims of a valid token of type ``kind``.

    Raises
    ------
    TokenError
    """
    try:
        claims = jwt.decode(
            token,
            signing_key(settings),
            algorithms=[ALGORITHM],
            options={"require": ["exp", "sub", "typ", "ver"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("token expired") from exc
    except jwt.PyJWTError as exc:
        raise TokenError("invalid token") from exc
    if claims.get("typ") != kind:
        raise TokenError(f"not an {kind} token")
    return claims
