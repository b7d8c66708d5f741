"""HS256 tokens: minting, verification, scope and publish claims, secret loading."""

from __future__ import annotations

import os
import time
from pathlib import Path

import jwt
import pytest

from materia_tui.backend.server.auth import (
    JwtAuth,
    NoAuth,
    TokenRejected,
    bearer_token,
    load_secret,
    parse_ttl,
)
from materia_tui.errors import UsageError

SECRET = b"s" * 40
OTHER_SECRET = b"o" * 40


def test_minted_token_verifies_with_its_claims() -> None:
    auth = JwtAuth(SECRET)
    principal = auth.authenticate(auth.mint(campaigns=["a", "b"], ttl_seconds=60, subject="ana"))
    assert principal.subject == "ana"
    assert principal.may_watch("a") and principal.may_watch("b")
    assert not principal.may_watch("c")
    assert not principal.may_publish
    assert principal.expires_at is not None and principal.expires_at > time.time()


def test_star_scope_and_absent_scope_allow_every_campaign() -> None:
    auth = JwtAuth(SECRET)
    assert auth.authenticate(auth.mint(campaigns="*")).may_watch("anything")
    assert auth.authenticate(auth.mint(campaigns=None)).may_watch("anything")


def test_publish_claim_must_be_exactly_true() -> None:
    auth = JwtAuth(SECRET)
    assert auth.authenticate(auth.mint(publish=True)).may_publish
    sloppy = jwt.encode({"publish": "yes"}, SECRET, algorithm="HS256")
    assert not auth.authenticate(sloppy).may_publish


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (None, "no token"),
        ("", "no token"),
        ("not-a-jwt", "not a valid JWT"),
        (jwt.encode({"campaigns": "*"}, OTHER_SECRET, algorithm="HS256"), "signature"),
        (jwt.encode({"exp": int(time.time()) - 60}, SECRET, algorithm="HS256"), "expired"),
        # alg=none must never be accepted, whatever its claims say
        (jwt.encode({"campaigns": "*"}, None, algorithm="none"),  # type: ignore[arg-type]
         "not a valid JWT"),
        (jwt.encode({"campaigns": "*"}, SECRET * 2, algorithm="HS512"), "not a valid JWT"),
    ],
)
def test_bad_tokens_are_rejected_with_a_reason(token: str | None, reason: str) -> None:
    with pytest.raises(TokenRejected, match=reason) as caught:
        JwtAuth(SECRET).authenticate(token)
    if token:
        assert token not in str(caught.value)


def test_a_malformed_scope_allows_nothing() -> None:
    token = jwt.encode({"campaigns": "a,b"}, SECRET, algorithm="HS256")
    with pytest.raises(TokenRejected, match="campaigns"):
        JwtAuth(SECRET).authenticate(token)


def test_expiry_has_a_small_leeway_only() -> None:
    auth = JwtAuth(SECRET)
    now = time.time()
    assert auth.authenticate(auth.mint(ttl_seconds=1, now=now - 3)).expires_at is not None
    with pytest.raises(TokenRejected, match="expired"):
        auth.authenticate(auth.mint(ttl_seconds=1, now=now - 30))


def test_short_secrets_are_refused_and_the_secret_never_shows() -> None:
    with pytest.raises(UsageError, match="32 bytes"):
        JwtAuth(b"short")
    assert SECRET.decode() not in repr(JwtAuth(SECRET))
    assert repr(NoAuth()) == "NoAuth()"


def test_secret_from_env_or_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert load_secret(None, {"MATERIA_JWT_SECRET": " abc \n"}) == b"abc"
    secret_file = tmp_path / "secret"
    secret_file.write_bytes(b"from-file\n")
    os.chmod(secret_file, 0o600)
    assert load_secret(str(secret_file), {"MATERIA_JWT_SECRET": "env"}) == b"from-file"
    assert capsys.readouterr().err == ""
    os.chmod(secret_file, 0o644)
    load_secret(str(secret_file), {})
    assert "readable by others" in capsys.readouterr().err
    with pytest.raises(UsageError, match="MATERIA_JWT_SECRET"):
        load_secret(None, {})
    with pytest.raises(UsageError, match="Cannot read"):
        load_secret(str(tmp_path / "missing"), {})


def test_ttl_and_bearer_parsing() -> None:
    assert parse_ttl("90") == 90
    assert parse_ttl("15m") == 900
    assert parse_ttl("1h") == 3600
    assert parse_ttl("7d") == 7 * 86400
    for bad in ("", "h", "-1h", "0", "soon"):
        with pytest.raises(UsageError):
            parse_ttl(bad)
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token("Bearer ") is None
    assert bearer_token(None) is None
