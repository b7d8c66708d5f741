"""``materia-tui serve``: the docs/PROTOCOL.md backend (REST + WebSocket) on a memory or Redis bus."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from asyncio import AbstractEventLoop

from materia_tui.cli.common import add_port_argument
from materia_tui.cli.main import Subparsers, add_command
from materia_tui.errors import ExitCode, MateriaError, UsageError
from materia_tui.source.settings import is_loopback

DEFAULT_PORT = 8765


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        "serve",
        (
            "Serve campaigns over REST and WebSocket. The JWT secret comes from env "
            "MATERIA_JWT_SECRET or --jwt-secret-file (never from the command line). "
            "Prints 'serving <REST base URL>' once ready; SIGINT/SIGTERM close clients with 1001."
        ),
        run,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    add_port_argument(parser, DEFAULT_PORT)
    parser.add_argument(
        "--redis", metavar="URL", help="use Redis (docs/PROTOCOL.md section 6) instead of memory"
    )
    parser.add_argument("--no-auth", action="store_true", help="accept every request (loopback only)")
    parser.add_argument(
        "--allow-remote-no-auth", action="store_true", help="allow --no-auth on a non-loopback address"
    )
    parser.add_argument("--jwt-secret-file", metavar="PATH", help="file holding the HS256 secret")
    parser.add_argument(
        "--queue-size", type=int, default=1024, help="frames a client may lag before it is closed (1013)"
    )
    parser.add_argument(
        "--max-connections-per-token",
        type=int,
        default=64,
        metavar="N",
        help="open WebSockets one token may hold at once (default 64; 0: no limit)",
    )
    parser.add_argument(
        "--loop",
        default="auto",
        choices=["auto", "uvloop", "asyncio"],
        help="event loop: uvloop (the 'fast' extra; cheaper socket writes for a large fan-out), "
        "asyncio, or auto: uvloop when installed (default)",
    )
    parser.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])


def run(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from materia_tui.backend.server.auth import AuthPolicy, JwtAuth, NoAuth, load_secret

    if args.queue_size < 1:
        raise UsageError("--queue-size must be at least 1.")
    auth: AuthPolicy
    if args.no_auth:
        if not is_loopback(args.host) and not args.allow_remote_no_auth:
            raise UsageError(
                f"--no-auth on {args.host} would let anyone on the network read every campaign; "
                "bind to 127.0.0.1 or add --allow-remote-no-auth."
            )
        auth = NoAuth()
    else:
        auth = JwtAuth(load_secret(args.jwt_secret_file))
    loop_factory = _loop_factory(args.loop)
    logging.basicConfig(level=args.log_level.upper(), format="materia-tui serve: %(levelname)s %(message)s")
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        logging.getLogger(__name__).info(
            "event loop: %s", "uvloop" if loop_factory is not None else "asyncio"
        )
        runner.run(_serve(args, auth))
    return int(ExitCode.OK)


def _loop_factory(choice: str) -> Callable[[], AbstractEventLoop] | None:
    """uvloop's loop factory, or None for asyncio's default loop.

    uvloop's transports write to the socket in C, so a fan-out to thousands
    of clients spends less of its per-delivery CPU in Python (most of what
    is left is the kernel's TCP send; docs/PERFORMANCE.md). ``auto`` falls
    back to asyncio silently when uvloop is not installed; ``uvloop``
    insists on it.
    """
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise UsageError(
                "--loop uvloop: uvloop is not installed (pip install 'materia-tui[fast]')."
            ) from None
        return None
    return uvloop.new_event_loop


async def _serve(args: argparse.Namespace, auth: Any) -> None:
    import asyncio
    import signal

    from materia_tui.backend.server.app import start_server
    from materia_tui.backend.server.bus import Bus, MemoryBus, RedisBus

    bus: Bus = RedisBus(args.redis) if args.redis else MemoryBus()
    try:
        server = await start_server(
            args.host,
            args.port,
            bus=bus,
            auth=auth,
            queue_size=args.queue_size,
            max_connections_per_token=args.max_connections_per_token,
        )
    except Exception as exc:
        if args.redis and _is_redis_error(exc):
            raise MateriaError(f"Cannot reach Redis at {_redis_address(args.redis)}.") from None
        if isinstance(exc, OSError):
            raise UsageError(f"Cannot serve on {args.host}:{args.port}: {exc.strerror or exc}.") from None
        raise
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(f"serving {server.base_url}", flush=True)
    try:
        await stop.wait()
    finally:
        await server.close()


def _is_redis_error(exc: Exception) -> bool:
    from redis.exceptions import RedisError

    return isinstance(exc, RedisError | ConnectionError)


def _redis_address(url: str) -> str:
    """Host and port of a Redis URL, never its password."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}"
