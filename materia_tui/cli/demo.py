"""``materia-tui demo``: a real optimization campaign, served and watched locally.

One process runs three parts on one event loop: the server (``serve``'s code
on 127.0.0.1, an ephemeral port, a fresh HS256 secret), the GP optimizer
publishing through the in-memory publisher, and the monitor (or ``--plain`` /
``--json``) connected over a real WebSocket with a minted token.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import sys
import tempfile
from pathlib import Path
from typing import Any

from materia_tui.cli.common import add_display_arguments, positive_int, speed_factor
from materia_tui.cli.display import display
from materia_tui.cli.main import Subparsers, add_command
from materia_tui.errors import UsageError

DEMO_CAMPAIGN_ID = "demo-ro-membrane"


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        "demo",
        (
            "Run a Bayesian multi-objective optimization of a reverse-osmosis membrane "
            "(Gaussian-process surrogates, expected hypervolume improvement), serve it on "
            "127.0.0.1 over a real WebSocket, and watch it."
        ),
        run,
    )
    parser.add_argument("--iterations", type=positive_int, default=12, help="iterations (default 12)")
    parser.add_argument("--batch", type=positive_int, default=5, help="candidates per iteration (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="random seed: same seed, same campaign")
    parser.add_argument(
        "--speed",
        type=speed_factor,
        default=1.0,
        metavar="X",
        help="pace multiplier for simulated lab time (2 = twice as fast; 0 = as fast as possible)",
    )
    parser.add_argument("--port", type=int, default=0, help="port to serve on (default: any free port)")
    add_display_arguments(parser)


def run(args: argparse.Namespace) -> int:
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise UsageError("The demo needs its extra: pip install 'materia-tui[demo]'.") from None
    return asyncio.run(_demo(args))


async def _demo(args: argparse.Namespace) -> int:
    from materia_tui.backend.demo.campaign import run_campaign
    from materia_tui.backend.publish import MemoryPublisher
    from materia_tui.backend.server.app import start_server
    from materia_tui.backend.server.auth import JwtAuth
    from materia_tui.backend.server.bus import MemoryBus
    from materia_tui.source.settings import ConnectionSettings
    from materia_tui.source.websocket import WebSocketSource
    from materia_tui.state import CampaignState

    auth = JwtAuth(secrets.token_bytes(32))
    token = auth.mint(campaigns=[DEMO_CAMPAIGN_ID], ttl_seconds=7 * 24 * 3600)
    bus = MemoryBus()
    try:
        server = await start_server("127.0.0.1", args.port, bus=bus, auth=auth)
    except OSError as exc:
        raise UsageError(f"Cannot serve on 127.0.0.1:{args.port}: {exc.strerror or exc}.") from None
    publisher = MemoryPublisher(bus)
    campaign = asyncio.create_task(
        run_campaign(
            publisher,
            campaign_id=DEMO_CAMPAIGN_ID,
            iterations=args.iterations,
            batch=args.batch,
            seed=args.seed,
            speed=args.speed,
        )
    )
    token_dir = tempfile.TemporaryDirectory(prefix="materia-demo-")
    try:
        await _wait_for_campaign(bus, campaign)
        token_file = _write_token(Path(token_dir.name), token)
        print(
            f"demo: serving {server.base_url}; watch it from another terminal with\n"
            f"  materia-tui watch {DEMO_CAMPAIGN_ID} --url {server.base_url} --token-file {token_file}",
            file=sys.stderr,
        )
        settings = ConnectionSettings(server.base_url, token=token)
        source = WebSocketSource(DEMO_CAMPAIGN_ID, settings)
        state = CampaignState(DEMO_CAMPAIGN_ID)
        lines = args.plain or args.json or not sys.stdout.isatty()
        code = await display(args, source, state, DEMO_CAMPAIGN_ID, lines=lines)
        if campaign.done() and not campaign.cancelled() and campaign.exception() is not None:
            raise campaign.exception()  # type: ignore[misc]
        return code
    finally:
        campaign.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await campaign
        await server.close()
        token_dir.cleanup()


async def _wait_for_campaign(bus: Any, campaign: asyncio.Task[Any]) -> None:
    """The server answers 404 until the metadata exists: wait for the optimizer to write it."""
    for _ in range(500):
        if await bus.get_campaign(DEMO_CAMPAIGN_ID) is not None:
            return
        if campaign.done():
            campaign.result()  # raises what stopped it
        await asyncio.sleep(0.01)
    raise UsageError("The demo campaign did not start within 5 seconds.")


def _write_token(directory: Path, token: str) -> Path:
    path = directory / "token"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token)
    return path
