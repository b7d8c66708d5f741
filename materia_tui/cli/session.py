"""One ``run`` (or ``demo``) session: a campaign runner, a server, and the monitor on one event loop.

The runner publishes through the project's publisher into an in-process bus
(or Redis with ``--redis``); the embedded server on 127.0.0.1 serves that bus
over a real WebSocket; the monitor (or ``--plain`` / ``--json``) watches it with
a minted token, exactly as ``watch`` would from a second terminal. SIGINT and
SIGTERM cancel the campaign (its evaluations' process groups are killed, the
journal is flushed, the status says cancelled) and exit 130 / 143.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from materia_tui.cli.common import check_campaign_id
from materia_tui.cli.display import display
from materia_tui.errors import ExitCode, MateriaError, UsageError
from materia_tui.sanitize import clean

if TYPE_CHECKING:
    from materia_tui.backend.run.config import LoadedConfig
    from materia_tui.backend.run.runner import CampaignRunner

TOKEN_TTL_SECONDS = 7 * 24 * 3600
INTERRUPTED = 130  # the monitor was left before the campaign ended: cancelled, resumable


def run_session(
    args: argparse.Namespace, loaded: LoadedConfig, *, pace: float = 0.0, label: str = "run"
) -> int:
    from materia_tui.backend.run.journal import check_journal, read_journal

    campaign_id = check_campaign_id(args.campaign_id or loaded.default_campaign_id())
    # Before the optimizer's slow imports: a wrong --resume is answered at once.
    journal = journal_path(args, loaded, campaign_id)
    check_journal(journal, resume=args.resume, campaign_id=campaign_id)
    if args.resume and (journaled := read_journal(journal).metadata) is not None:
        loaded.check_same_campaign(journaled, journal)
    return asyncio.run(_session(args, loaded, campaign_id, pace=pace, label=label))


def journal_path(args: argparse.Namespace, loaded: LoadedConfig, campaign_id: str) -> Path:
    if args.journal:
        return Path(args.journal).absolute()
    return loaded.folder / ".materia" / f"{campaign_id}.jsonl"


async def _session(
    args: argparse.Namespace, loaded: LoadedConfig, campaign_id: str, *, pace: float, label: str
) -> int:
    from materia_tui.backend.run.runner import CampaignRunner
    from materia_tui.backend.server.app import start_server
    from materia_tui.backend.server.auth import JwtAuth

    auth = JwtAuth(secrets.token_bytes(32))
    token = auth.mint(campaigns=[campaign_id], ttl_seconds=TOKEN_TTL_SECONDS)
    executor = executor_for(args)  # first: a bad --executor/--broker is a usage error before anything starts
    bus, sink, sink_seq = await _bus_and_sink(args, campaign_id)
    try:
        server = await start_server("127.0.0.1", args.port, bus=bus, auth=auth)
    except OSError as exc:
        await sink.aclose()
        raise UsageError(f"Cannot serve on 127.0.0.1:{args.port}: {exc.strerror or exc}.") from None
    seed = args.seed if args.seed is not None else loaded.config.seed
    journal = journal_path(args, loaded, campaign_id)
    token_dir = tempfile.TemporaryDirectory(prefix="materia-run-")
    try:
        runner = CampaignRunner(
            loaded, sink, executor, campaign_id=campaign_id, seed=seed, journal_path=journal, pace=pace
        )
        await runner.prepare(resume=args.resume, sink_seq=sink_seq)
        if hasattr(executor, "instance"):  # Celery: a resumed campaign's tasks keep their ids
            executor.instance = runner.created_at
        token_file = _write_token(Path(token_dir.name), token)
        _announce(label, server.base_url, campaign_id, token_file, args, runner)
        code = await _run_and_watch(args, runner, server.base_url, token, campaign_id)
        # Leaving the demo's monitor early is just leaving (as for watch); a run says it was cut short.
        return 0 if label == "demo" and code == INTERRUPTED else code
    finally:
        await executor.aclose()
        await server.close()
        await sink.aclose()
        token_dir.cleanup()


def executor_for(args: argparse.Namespace) -> Any:
    from materia_tui.backend.run.executors import make_executor

    return make_executor(
        getattr(args, "executor", "local"),
        getattr(args, "broker", None),
        args.workers,
        queue=getattr(args, "queue", None),
        visibility_timeout=getattr(args, "visibility_timeout", None),
    )


async def _bus_and_sink(args: argparse.Namespace, campaign_id: str) -> tuple[Any, Any, int]:
    """(bus the embedded server reads, publisher the runner writes, last seq the bus already holds)."""
    from materia_tui.backend.publish import AsyncPublisher, MemoryPublisher
    from materia_tui.backend.server.bus import MemoryBus, RedisBus

    if not args.redis:
        bus = MemoryBus()
        return bus, MemoryPublisher(bus), 0
    try:
        import redis.asyncio
    except ImportError:
        raise UsageError("--redis needs its extra: pip install 'materia-tui[redis]'.") from None
    from materia_tui.backend.server import layout

    try:
        client: Any = redis.asyncio.Redis.from_url(args.redis)
    except ValueError:
        raise UsageError("--redis is not a Redis URL (redis://host:port/db).") from None
    publisher = AsyncPublisher(client=client)
    try:
        seq = int(await client.get(layout.seq_key(campaign_id)) or 0)
        exists = seq > 0 or bool(await client.exists(layout.meta_key(campaign_id)))
    except Exception as exc:
        await publisher.aclose()
        raise UsageError(f"Cannot reach Redis ({type(exc).__name__}): check --redis.") from None
    if exists and not args.resume:
        await publisher.aclose()
        raise UsageError(
            f"Campaign {campaign_id} already exists in Redis: continue it with --resume, "
            "or choose another --campaign-id."
        )
    return RedisBus(args.redis), publisher, seq


def _announce(
    label: str,
    base_url: str,
    campaign_id: str,
    token_file: Path,
    args: argparse.Namespace,
    runner: CampaignRunner,
) -> None:
    lines = [
        f"{label}: serving {base_url}; watch it from another terminal with",
        f"  materia-tui watch {campaign_id} --url {base_url} --token-file {token_file}",
    ]
    if args.redis:
        lines.append(f"  or with any `materia-tui serve` on the same Redis (campaign {campaign_id})")
    if runner.resumed_from:
        lines.append(f"{label}: resumed from {runner.journal_path} after event {runner.resumed_from}")
    elif args.journal or label == "run":
        lines.append(f"{label}: journal {runner.journal_path} (continue an interrupted run with --resume)")
    print("\n".join(lines), file=sys.stderr, flush=True)


async def _run_and_watch(
    args: argparse.Namespace, runner: CampaignRunner, base_url: str, token: str, campaign_id: str
) -> int:
    from materia_tui.source.settings import ConnectionSettings
    from materia_tui.source.websocket import WebSocketSource
    from materia_tui.state import CampaignState

    loop = asyncio.get_running_loop()
    campaign = asyncio.create_task(runner.run(), name="campaign")
    source = WebSocketSource(campaign_id, ConnectionSettings(base_url, token=token))
    lines = bool(args.plain or args.json or not sys.stdout.isatty())
    monitor: list[Any] = []  # the monitor's app, once display() made it
    reporter = _report_executor(args, runner, lines, monitor)
    watcher = asyncio.create_task(
        display(args, source, CampaignState(campaign_id), campaign_id, lines=lines, on_app=monitor.append)
    )
    received: list[int] = []

    def on_signal(signum: int) -> None:
        received.append(signum)
        campaign.cancel()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        await asyncio.wait({campaign, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if watcher.done() and not campaign.done():
            if lines:
                # Lines cannot be quit: a printer that stopped early is reported, the campaign goes on.
                print(f"materia-tui: the event stream ended early ({_ending(watcher)})", file=sys.stderr)
            else:
                campaign.cancel()  # the monitor was left: the campaign stops, resumable
        try:
            await campaign
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # a sink or journal that broke: one sentence, not a traceback
            if isinstance(exc, MateriaError):
                raise
            reason = clean(f"{type(exc).__name__}: {exc}", 300)
            raise MateriaError(
                f"campaign {campaign_id} stopped: {reason} (continue it with --resume)."
            ) from None
        if received:
            watcher.cancel()
        elif not watcher.done():
            # The lines printer ends with the campaign's last event; give it that long.
            await asyncio.wait({watcher}, timeout=None if not lines else 30)
        if watcher.done() and not watcher.cancelled() and isinstance(watcher.exception(), MateriaError):
            raise watcher.exception()  # type: ignore[misc]
    except MateriaError:
        raise
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        if reporter is not None:
            reporter.cancel()
        watcher.cancel()
        with contextlib.suppress(BaseException):
            await watcher
    if received:
        notice = f"interrupted; campaign {campaign_id} cancelled (continue it with --resume)"
        print(f"materia-tui: {notice}", file=sys.stderr)
        return 128 + received[-1]
    if runner.status == "cancelled":
        notice = f"left before the end; campaign {campaign_id} cancelled (continue it with --resume)"
        print(f"materia-tui: {notice}", file=sys.stderr)
        return INTERRUPTED
    if runner.status == "failed":
        if runner.error:
            print(f"materia-tui: campaign {campaign_id} failed: {runner.error}", file=sys.stderr)
        return int(ExitCode.CAMPAIGN_FAILED)
    return int(ExitCode.OK)


def _report_executor(
    args: argparse.Namespace, runner: CampaignRunner, lines: bool, monitor: list[Any]
) -> asyncio.Task[None] | None:
    """With --executor celery: where evaluations run (workers, busy, waiting, a broker away),
    on stderr with progress lines (stdout keeps MatCraft's line format), as a notification
    in the monitor."""
    if getattr(args, "executor", "local") == "local":
        return None
    from materia_tui.backend.run.executors import report_status

    def write(line: str) -> None:
        if lines:
            print(f"run: {line}", file=sys.stderr, flush=True)
        elif monitor:
            severity = "warning" if "unreachable" in line else "information"
            monitor[0].notify(clean(line, 300), title="evaluations", severity=severity, markup=False)

    return asyncio.create_task(report_status(runner.executor, write), name="executor-status")


def _ending(task: asyncio.Task[int]) -> str:
    if task.cancelled():
        return "cancelled"
    exc = task.exception()
    return f"{type(exc).__name__}: {exc}" if exc is not None else f"exit code {task.result()}"


def _write_token(directory: Path, token: str) -> Path:
    path = directory / "token"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token)
    return path
