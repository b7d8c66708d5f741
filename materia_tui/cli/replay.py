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

from materia_tui.cli.common import add_display_arguments, speed_factor
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
        type=speed_factor,
        metavar="X",
        help="replay X times faster than recorded; 0 = as fast as possible (the default)",
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
    source = ReplaySource(path, speed=args.speed or None)  # 0 and no --speed: as fast as possible
    state = CampaignState(campaign_id)
    lines = args.json or args.plain or not sys.stdout.isatty()
    title = f"materia-tui replay {path.name}"
    return asyncio.run(display(args, source, state, campaign_id, lines=lines, title=title))
