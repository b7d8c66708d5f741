"""``materia-tui replay FILE``: drive the monitor, or line output, from a recording.

A recording is what ``watch --record FILE`` writes, or a ``watch --json``
capture. Replays are how bug reports and demos travel: the same file always
ends in the same state.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from materia_tui.cli.common import add_display_arguments
from materia_tui.cli.display import display
from materia_tui.cli.main import Subparsers, add_command
from materia_tui.errors import UsageError


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        "replay",
        (
            "Replay a recorded campaign: the full-screen monitor on a terminal, progress "
            "lines (--plain, the default when stdout is not a terminal) or JSON lines (--json)."
        ),
        run,
        exit_codes=True,
    )
    parser.add_argument("file", metavar="FILE", help="the recording (JSON lines)")
    parser.add_argument(
        "--speed",
        type=_speed,
        metavar="X",
        help="replay X times faster than recorded (default: as fast as possible)",
    )
    add_display_arguments(parser, what="the recording")


def run(args: argparse.Namespace) -> int:
    from materia_tui.source.recording import recording_campaign_id
    from materia_tui.source.replay import ReplaySource
    from materia_tui.state import CampaignState

    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"The recording {args.file} does not exist or is not a file.")
    campaign_id = recording_campaign_id(path) or path.stem or "replay"
    source = ReplaySource(path, speed=args.speed)
    state = CampaignState(campaign_id)
    lines = args.json or args.plain or not sys.stdout.isatty()
    title = f"materia-tui replay {path.name}"
    return asyncio.run(display(args, source, state, campaign_id, lines=lines, title=title))


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError("must be a positive number")
    return value
