"""``materia-tui export CAMPAIGN_ID``: every candidate (or the Pareto front) to a file.

The state is rebuilt from the campaign's REST metadata and whole history
(docs/PROTOCOL.md section 5), folded by the same reducer as the live monitor, so
the export shows exactly what the monitor shows.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import TYPE_CHECKING

from materia_tui.cli.common import (
    add_campaign_id_argument,
    add_connection_arguments,
    add_optuna_arguments,
    add_trial_grouping_arguments,
    check_campaign_id,
    settings_from_args,
)
from materia_tui.cli.main import Subparsers, add_command
from materia_tui.source.settings import ConnectionSettings

if TYPE_CHECKING:
    from materia_tui.output.export import ExportFormat
    from materia_tui.state import CampaignState

# Kept here rather than imported: materia_tui.output.export pulls in the pydantic
# schemas, and every --help would pay for them.
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("csv", "json", "parquet")


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        "export",
        (
            "Export every candidate of a campaign with its parameters, predictions, "
            "uncertainties, measurements and Pareto membership, from the campaign's REST history."
        ),
        run,
    )
    add_campaign_id_argument(parser, "a campaign (a study name with --optuna)")
    parser.add_argument(
        "--format",
        choices=EXPORT_FORMATS,
        default="csv",
        help="output format (default: csv; parquet needs the extra: pip install 'materia-tui[parquet]')",
    )
    parser.add_argument("--front-only", action="store_true", help="only the candidates on the Pareto front")
    parser.add_argument(
        "--where",
        metavar="EXPR",
        help="only the candidates matching the filter expression EXPR (the monitor's / language, "
        "e.g. 'polymer=PA and salt_rejection>95')",
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")
    optuna = add_optuna_arguments(parser, "export a study of this Optuna storage (RDB URL or journal file)")
    add_trial_grouping_arguments(optuna, needs="--optuna")
    add_connection_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from materia_tui.output.export import write_export

    fmt: ExportFormat = args.format
    if args.optuna is not None:
        state = read_study_state(args.optuna, args.campaign_id, batch=args.batch)
    else:
        campaign_id = check_campaign_id(args.campaign_id)
        state = asyncio.run(fetch_state(campaign_id, settings_from_args(args)))
    count = write_export(state, fmt, args.output, front_only=args.front_only, where=args.where)
    if args.output:
        noun = "candidate" if count == 1 else "candidates"
        print(f"Wrote {count} {noun} to {args.output}.", file=sys.stderr)
    return 0


async def fetch_state(campaign_id: str, settings: ConnectionSettings) -> CampaignState:
    """The campaign's state from its metadata and its whole history."""
    from materia_tui.protocol import Rejected
    from materia_tui.source.rest import RestClient
    from materia_tui.state import CampaignState

    state = CampaignState(campaign_id)
    async with RestClient(settings) as rest:
        state.set_metadata(await rest.get_campaign(campaign_id))
        async for page in rest.events_after(campaign_id, 0):
            received_at = time.time()
            for parsed in page:
                if isinstance(parsed, Rejected):
                    state.apply_rejected(parsed, received_at)
                else:
                    state.apply(parsed, received_at)
    return state


def read_study_state(storage: str, study_name: str, *, batch: int | None = None) -> CampaignState:
    """An Optuna study's state as the monitor would show it, from one full read."""
    from materia_tui.source.optuna import StudyFollower
    from materia_tui.state import CampaignState
    from materia_tui.state.intake import apply_item

    follower = StudyFollower(storage, study_name, batch=batch)
    try:
        items = follower.poll()
    finally:
        follower.close()
    state = CampaignState(follower.campaign_id)
    for item in items:
        apply_item(state, item)
    return state
