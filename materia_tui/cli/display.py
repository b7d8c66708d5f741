"""Show one campaign's stream: progress lines, JSON lines, or the monitor.

Shared by ``watch``, ``replay`` and ``demo``, which differ only in where the
events come from.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from materia_tui.source import EventSource
    from materia_tui.state import CampaignState


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
