"""``materia-tui token``: mint an HS256 JWT for ``materia-tui serve`` (printed on stdout)."""

from __future__ import annotations

import argparse
from typing import Literal

from materia_tui.cli.main import Subparsers, add_command
from materia_tui.errors import ExitCode, UsageError


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        "token",
        "Mint an HS256 JWT with the secret from env MATERIA_JWT_SECRET or --jwt-secret-file.",
        run,
    )
    parser.add_argument("--campaigns", default="*", help="comma-separated campaign ids, or * (default)")
    parser.add_argument("--ttl", default="1h", help="lifetime: 90s, 15m, 1h, 7d (default 1h)")
    parser.add_argument("--publish", action="store_true", help="also allow publishing over HTTP")
    parser.add_argument("--subject", metavar="NAME", help="who the token is for (the 'sub' claim)")
    parser.add_argument("--jwt-secret-file", metavar="PATH", help="file holding the HS256 secret")


def parse_campaigns(text: str) -> list[str] | Literal["*"]:
    from materia_tui.protocol import is_valid_campaign_id

    if text.strip() == "*":
        return "*"
    ids = [part.strip() for part in text.split(",") if part.strip()]
    if not ids:
        raise UsageError("--campaigns needs at least one campaign id, or *.")
    for campaign_id in ids:
        if not is_valid_campaign_id(campaign_id):
            raise UsageError(f"--campaigns: {campaign_id!r} is not a valid campaign id.")
    return ids


def run(args: argparse.Namespace) -> int:
    from materia_tui.backend.server.auth import JwtAuth, load_secret, parse_ttl

    auth = JwtAuth(load_secret(args.jwt_secret_file))
    token = auth.mint(
        campaigns=parse_campaigns(args.campaigns),
        ttl_seconds=parse_ttl(args.ttl),
        publish=args.publish,
        subject=args.subject,
    )
    print(token)
    return int(ExitCode.OK)
