"""``materia-tui replay FILE``: drive the monitor, or line output, from a recording.

A recording is what ``watch --record FILE`` writes, or a ``watch --json``
capture. Replays are how bug reports and demos travel: the same file always
ends in the same state.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from materia_tui.cli.common import add_display_arguments, speed_factor
from materia_tui.cli.display import display, several_app, wants_lines
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
    parser.add_argument(
        "files", metavar="FILE", nargs="+", help="the recording (JSON lines); several open one tab each"
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="with several recordings: a Compare tab overlaying their hypervolume and Pareto fronts",
    )
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

    paths = [Path(name) for name in args.files]
    for path in paths:
        if not path.is_file():
            raise UsageError(f"The recording {path} does not exist or is not a file.")
    lines = wants_lines(args, len(paths), several="recordings", one="recording", verb="replay")
    if len(paths) > 1:
        return _replay_several(args, paths)
    path = paths[0]
    campaign_id = recording_campaign_id(path) or path.stem or "replay"
    source = ReplaySource(path, speed=args.speed or None)  # 0 and no --speed: as fast as possible
    state = CampaignState(campaign_id)
    title = f"materia-tui replay {path.name}"
    return asyncio.run(display(args, source, state, campaign_id, lines=lines, title=title))


def _replay_several(args: argparse.Namespace, paths: list[Path]) -> int:
    """One tab per recording (the several-campaign monitor), with ``--compare`` a Compare tab."""
    from materia_tui.cli.display import report_app_exit
    from materia_tui.source.recording import recording_campaign_id
    from materia_tui.source.replay import ReplaySource

    campaigns = []
    seen: set[str] = set()
    for path in paths:
        campaign_id = recording_campaign_id(path) or path.stem or "replay"
        if campaign_id in seen:  # two runs of one campaign: tell them apart by file
            campaign_id = f"{campaign_id} ({path.name})"
        seen.add(campaign_id)
        campaigns.append((campaign_id, ReplaySource(path, speed=args.speed or None)))
    app = several_app(args, campaigns, title="materia-tui replay " + " ".join(path.name for path in paths))
    return report_app_exit(app, app.run())
