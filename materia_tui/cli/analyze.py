"""``materia-tui analyze CAMPAIGN_ID``: parameter importance, hypervolume and stop advice, headless.

The campaign is rebuilt from its REST history (as ``export`` does) or from a
recording (``--from-recording FILE``), folded by the monitor's reducer, and
analysed by ``materia_tui.output.analysis``: the same numbers the monitor's
views show. ``--json`` prints one object (docs: README, "analyze").
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING

from materia_tui.cli.common import add_history_arguments, check_campaign_id, settings_from_args
from materia_tui.cli.main import Subparsers, add_command
from materia_tui.errors import UsageError

if TYPE_CHECKING:
    from materia_tui.state import CampaignState


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        "analyze",
        (
            "Print a campaign's analysis: each objective's parameter importance, the hypervolume "
            "(or best-so-far) per iteration with its reference point, and the stop advisor's verdict "
            "with its evidence. From the campaign's REST history, or from a recording."
        ),
        run,
    )
    add_history_arguments(parser, "the campaign (not with --from-recording)", "analyse a recording instead")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--no-importance", action="store_true", help="skip parameter importance (seconds per objective)"
    )


def run(args: argparse.Namespace) -> int:
    from materia_tui.output.analysis import analysis_document, analysis_lines, analyze_state

    state = _state_from(args)
    analysis = analyze_state(state, importance=not args.no_importance)
    if args.json:
        print(json.dumps(analysis_document(analysis), ensure_ascii=False, allow_nan=False))
    else:
        print("\n".join(analysis_lines(analysis)))
    return 0


def _state_from(args: argparse.Namespace) -> CampaignState:
    if args.from_recording is not None:
        return state_from_recording(Path(args.from_recording), args.campaign_id)
    if args.campaign_id is None:
        raise UsageError("Give a CAMPAIGN_ID, or a recording with --from-recording FILE.")
    from materia_tui.cli.export import fetch_state

    campaign_id = check_campaign_id(args.campaign_id)
    return asyncio.run(fetch_state(campaign_id, settings_from_args(args)))


def state_from_recording(path: Path, campaign_id: str | None = None) -> CampaignState:
    """The state a replay of ``path`` ends in."""
    from materia_tui.source.recording import read_recording, recording_campaign_id
    from materia_tui.state import CampaignState
    from materia_tui.state.intake import apply_item

    if not path.is_file():
        raise UsageError(f"The recording {path} does not exist or is not a file.")
    state = CampaignState(campaign_id or recording_campaign_id(path) or path.stem or "replay")
    for item in read_recording(path):
        apply_item(state, item)
    return state
