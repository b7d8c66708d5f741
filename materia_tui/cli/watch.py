"""``materia-tui watch CAMPAIGN_ID``: the full-screen monitor, or line output."""

from __future__ import annotations

import argparse
import asyncio
import sys

from materia_tui.cli.common import add_connection_arguments, check_campaign_id, settings_from_args
from materia_tui.cli.main import EXIT_CODES_HELP


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "watch",
        help="watch a campaign live",
        description=(
            "Watch a campaign live: a full-screen monitor on a terminal, progress lines "
            "(--plain, the default when stdout is not a terminal) or JSON lines (--json)."
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("campaign_id", metavar="CAMPAIGN_ID")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--plain", action="store_true", help="progress lines, like MatCraft's CLI")
    output.add_argument("--json", action="store_true", help="one JSON object per event, for jq")
    parser.add_argument(
        "--exit-on-complete",
        action="store_true",
        help="leave the full-screen monitor by itself when the campaign ends",
    )
    parser.add_argument(
        "--record",
        metavar="FILE",
        help="append every applied event to FILE (JSON lines; replay it with `materia-tui replay`)",
    )
    parser.add_argument(
        "--notify",
        action="store_true",
        help="also send desktop notifications through the terminal (OSC 9 / OSC 777) on completion, "
        "errors and convergence (the bell and toasts are always on)",
    )
    add_connection_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from materia_tui.source import EventSource
    from materia_tui.source.websocket import WebSocketSource
    from materia_tui.state import CampaignState

    campaign_id = check_campaign_id(args.campaign_id)
    settings = settings_from_args(args)
    source: EventSource = WebSocketSource(campaign_id, settings)
    if args.record:
        from materia_tui.recording import Recorder, RecordingSource

        redact = [settings.token] if settings.token else []
        source = RecordingSource(source, Recorder(args.record, redact=redact))
    state = CampaignState(campaign_id)
    if args.json or args.plain or not sys.stdout.isatty():
        from materia_tui.output.stream import LineMode, print_stream

        mode: LineMode = "json" if args.json else "plain"
        return int(asyncio.run(print_stream(source, state, mode)))
    from materia_tui.alerts import AlertSettings
    from materia_tui.ui.app import MonitorApp

    app = MonitorApp(
        source,
        campaign_id,
        exit_on_complete=args.exit_on_complete,
        state=state,
        alerts=AlertSettings(desktop=args.notify),
    )
    code = app.run()
    message = getattr(app, "error_message", None)
    if message:
        print(f"materia-tui: {message}", file=sys.stderr)
    return int(code if code is not None else 0)
