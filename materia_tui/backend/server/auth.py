"""HS256 JWT auth for ``materia-tui serve`` (docs/PROTOCOL.md section 3).

Claims the server reads (all optional, unknown claims ignored):

- ``exp``: expiry (checked with a few seconds of leeway). A connected
  WebSocket whose token expires is closed with 4401.
- ``campaigns``: the campaigns the token may watch, a list of ids or ``"*"``.
  Absent means every campaign (a plain MatCraft API token carries no scope).
  A campaign outside the scope answers 403 (checked before existence, so a
  scoped token cannot probe which campaign ids exist).
- ``publish``: ``true`` lets the token write through the HTTP publisher
  endpoints (``POST /api/v1/campaigns/{id}/events``, ``PUT
  /api/v1/campaigns/{id}``), still only for campaigns in its scope. Without it
  those endpoints answer 403.
- ``sub``: a name for logs.

The secret comes from env ``MATERIA_JWT_SECRET`` or a file, never argv; it is
at least 32 bytes (RFC 7518 section 3.2 wants a key as long as the hash) and
never appears in a repr, log line or exception.
"""

from __future__ import annotations

import os
import stat
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import jwt

from materia_tui.errors import UsageError

SECRET_ENV = "MATERIA_JWT_SECRET"
MIN_SECRET_BYTES = 32
ALGORITHM = "HS256"
LEEWAY_SECONDS = 5.0


class TokenRejected(Exception):
    """No token, or one that does not verify: HTTP 401 / close 4401.

    The message says why in general terms and never includes the token.
    """


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a verified token speaks for, and what it may do."""

    subject: str | None = None
    campaigns: frozenset[str] | Literal["*"] = "*"
    may_publish: bool = False
    expires_at: float | None = None  # epoch seconds

    def may_watch(self, campaign_id: str) -> bool:
        return self.campaigns == "*" or campaign_id in self.campaigns


ANYONE = Principal(subject="anonymous (--no-auth)", campaigns="*", may_publish=True)


class AuthPolicy(Protocol):
    """What the server asks of an auth scheme."""

    def authenticate(self, token: str | None) -> Principal:
        """The token's principal, or raise :class:`TokenRejected`."""
        ...


class NoAuth:
    """``--no-auth``: every request may read and publish everything."""

    def authenticate(self, token: str | None) -> Principal:
        return ANYONE

    def __repr__(self) -> str:
        return "NoAuth()"


@dataclass(frozen=True, slots=True)
class JwtAuth:
    """Verifies (and mints) HS256 tokens with one shared secret."""

    secret: bytes = field(repr=False)
    leeway: float = LEEWAY_SECONDS

    def __post_init__(self) -> None:
        if len(self.secret) < MIN_SECRET_BYTES:
            raise UsageError(f"The JWT secret must be at least {MIN_SECRET_BYTES} bytes long.")

    def authenticate(self, token: str | None) -> Principal:
        if not token:
            raise TokenRejected("no token")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                leeway=self.leeway,
                options={"require": [], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected("token expired") from None
        except jwt.InvalidSignatureError:
            raise TokenRejected("token signature does not verify") from None
        except jwt.InvalidTokenError:
            raise TokenRejected("token is not a valid JWT") from None
        return principal_from_claims(claims)

    def mint(
        self,
        *,
        campaigns: list[str] | Literal["*"] | None = "*",
        ttl_seconds: float | None = 3600.0,
        publish: bool = False,
        subject: str | None = None,
        now: float | None = None,
    ) -> str:
        issued = time.time() if now is None else now
        claims: dict[str, Any] = {"iat": int(issued), "jti": uuid.uuid4().hex}
        if ttl_seconds is not None:
            claims["exp"] = int(issued + ttl_seconds)
        if campaigns is not None:
            claims["campaigns"] = campaigns if campaigns == "*" else list(campaigns)
        if publish:
            claims["publish"] = True
        if subject:
            claims["sub"] = subject
        token: str = jwt.encode(claims, self.secret, algorithm=ALGORITHM)
        return token


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    scope = claims.get("campaigns", "*")
    campaigns: frozenset[str] | Literal["*"]
    if scope == "*":
        campaigns = "*"
    elif isinstance(scope, list) and all(isinstance(c, str) for c in scope):
        campaigns = frozenset(scope)
    else:
        # A malformed scope must never widen access: it allows nothing.
        raise TokenRejected("token has a malformed 'campaigns' claim")
    exp = claims.get("exp")
    subject = claims.get("sub")
    return Principal(
        subject=subject if isinstance(subject, str) else None,
        campaigns=campaigns,
        may_publish=claims.get("publish") is True,
        expires_at=float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None,
    )


def load_secret(secret_file: str | None, environ: dict[str, str] | None = None) -> bytes:
    """The JWT secret: from ``secret_file`` when given, else from env ``MATERIA_JWT_SECRET``.

    Raises :class:`UsageError` (without the secret in it) when there is none.
    """
    env = os.environ if environ is None else environ
    if secret_file:
        path = Path(secret_file)
        try:
            mode = path.stat().st_mode
            raw = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"Cannot read the JWT secret file {secret_file!r}: {exc.strerror}.") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            import sys

            print(
                f"materia-tui: warning: the JWT secret file {secret_file!r} is readable by others "
                "(chmod 600 it)",
                file=sys.stderr,
            )
        secret = raw.strip()
    else:
        secret = env.get(SECRET_ENV, "").strip().encode()
    if not secret:
        raise UsageError(
            f"No JWT secret: set {SECRET_ENV} or pass --jwt-secret-file (or --no-auth on loopback)."
        )
    return secret


def parse_ttl(text: str) -> float:
    """``90``, ``90s``, ``15m``, ``1h``, ``7d`` -> seconds."""
    units = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
    value = text.strip().lower()
    factor = units.get(value[-1:])
    number = value[:-1] if factor is not None else value
    try:
        seconds = float(number) * (factor or 1.0)
    except ValueError:
        raise UsageError(f"--ttl {text!r} is not a duration like 90s, 15m, 1h or 7d.") from None
    if not seconds > 0:
        raise UsageError("--ttl must be positive.")
    return seconds


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value."""
    if not authorization:
        return None
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip() or None
