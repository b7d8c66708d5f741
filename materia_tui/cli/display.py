"""Show campaigns' streams: progress lines, JSON lines, the monitor, or the tabbed monitor.

Shared by ``watch`` (of a server or of Optuna studies), ``replay`` and ``demo``,
which differ only in where the events come from.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from materia_tui.errors import UsageError

if TYPE_CHECKING:
    from materia_tui.source import EventSource
    from materia_tui.state import CampaignState
    from materia_tui.ui.multi_app import MultiMonitorApp, SourceFactory
    from materia_tui.ui.screens.campaign_picker import CampaignLister


def wants_lines(args: argparse.Namespace, count: int, *, several: str, one: str, verb: str = "watch") -> bool:
    """Whether ``count`` campaigns (``several`` of them, or ``one``) are shown as lines
    (``--plain``, ``--json``, or stdout not a terminal) rather than the monitor;
    a combination of options that cannot be honoured is a usage error."""
    lines = bool(args.json or args.plain or not sys.stdout.isatty())
    if args.compare and count < 2:
        raise UsageError(f"--compare needs two or more {several}.")
    if count != 1:
        if getattr(args, "record", None):  # watch only: replay has no --record
            raise UsageError(f"--record records exactly one {one}.")
        if lines:
            raise UsageError(f"--plain and --json (and output to a pipe) {verb} exactly one {one}.")
    return lines


def watch_one(
    args: argparse.Namespace,
    source: EventSource,
    campaign_id: str,
    *,
    lines: bool,
    redact: Iterable[str] = (),
    title: str | None = None,
) -> int:
    """Watch one campaign (recorded to ``--record``'s file, ``redact`` kept out of it)."""
    from materia_tui.state import CampaignState

    if args.record:
        from materia_tui.source.recording import Recorder, RecordingSource

        source = RecordingSource(source, Recorder(args.record, redact=redact))
    state = CampaignState(campaign_id)
    if lines:
        return asyncio.run(display(args, source, state, campaign_id, lines=True))
    return asyncio.run(_monitor(args, source, state, campaign_id, title))


async def _monitor(
    args: argparse.Namespace, source: EventSource, state: CampaignState, campaign_id: str, title: str | None
) -> int:
    """The monitor, connecting while it is built: the source starts now (metadata,
    handshake, history) and folds into ``state`` while the UI is imported in a
    thread, so the first frame shows the history (issue #5: start-up)."""
    from materia_tui.cli.headstart import HeadStart
    from materia_tui.cli.main import resume_collector

    head = HeadStart(source, state)
    head.on_first_frame = resume_collector  # `watch` pauses it for its start (cli/main.py)
    try:
        await asyncio.to_thread(importlib.import_module, "materia_tui.ui.app")
        return await display(args, head, state, campaign_id, lines=False, title=title)
    finally:
        await head.aclose()  # the monitor closes it too; closing twice is harmless


def several_app(
    args: argparse.Namespace,
    campaigns: Sequence[tuple[str, EventSource]],
    *,
    open_source: SourceFactory | None = None,
    list_campaigns: CampaignLister | None = None,
    title: str | None = None,
) -> MultiMonitorApp:
    """The tabbed monitor of several campaigns, with the display options of ``args``."""
    from materia_tui.output.alerts import AlertSettings
    from materia_tui.ui.multi_app import MultiMonitorApp

    return MultiMonitorApp(
        campaigns,
        open_source=open_source,
        list_campaigns=list_campaigns,
        exit_on_complete=args.exit_on_complete,
        alerts=AlertSettings(desktop=args.notify),
        refresh=args.refresh,
        title=title,
        compare=args.compare,
    )


async def display(
    args: argparse.Namespace,
    source: EventSource,
    state: CampaignState,
    campaign_id: str,
    *,
    lines: bool,
    title: str | None = None,
    on_app: Callable[[Any], None] | None = None,
) -> int:
    """Consume ``source`` until it ends (lines) or the user quits (monitor); the exit code.
    ``on_app`` is given the monitor's app before it runs (e.g. to notify it)."""
    if lines:
        from materia_tui.output.stream import LineMode, print_stream

        mode: LineMode = "json" if args.json else "plain"
        state.store.keep_proposals = False  # lines show no parameters: ~90 B a candidate less
        return int(await print_stream(source, state, mode))
    from materia_tui.output.alerts import AlertSettings
    from materia_tui.ui.app import MonitorApp

    app = MonitorApp(
        source,
        campaign_id,
        exit_on_complete=args.exit_on_complete,
        state=state,
        title=title,
        alerts=AlertSettings(desktop=args.notify),
        refresh=args.refresh,
    )
    if on_app is not None:
        on_app(app)
    return report_app_exit(app, await app.run_async())


def report_app_exit(app: Any, code: int | None) -> int:
    """Print the one-sentence error a monitor exited with, if any; its exit code."""
    message = getattr(app, "error_message", None)
    if message:
        print(f"materia-tui: {message}", file=sys.stderr)
    return int(code if code is not None else 0)
