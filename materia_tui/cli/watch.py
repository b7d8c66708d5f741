"""``materia-tui watch CAMPAIGN_ID...``: the full-screen monitor, or line output.

One id: the one-campaign monitor (or ``--plain`` / ``--json`` lines). Several
ids: one tab per campaign plus an "All" overview. No id (on a terminal): the
campaign picker lists the server's campaigns (REST) and opens the chosen ones.
With ``--optuna STORAGE`` the ids are Optuna study names, read from the storage
(materia_tui/cli/watch_optuna.py).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from materia_tui.cli.common import (
    add_connection_arguments,
    add_display_arguments,
    add_optuna_arguments,
    add_trial_grouping_arguments,
    check_campaign_id,
    settings_from_args,
)
from materia_tui.cli.display import report_app_exit, several_app, wants_lines, watch_one
from materia_tui.cli.main import Subparsers, add_command, pause_collector, resume_collector
from materia_tui.errors import UsageError

if TYPE_CHECKING:
    from materia_tui.source import EventSource


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        "watch",
        (
            "Watch a campaign live: a full-screen monitor on a terminal, progress lines "
            "(--plain, the default when stdout is not a terminal) or JSON lines (--json). "
            "Several ids open one tab per campaign; no id opens a campaign picker. "
            "--optuna STORAGE watches Optuna studies instead (the ids are study names)."
        ),
        run,
        exit_codes=True,
    )
    parser.add_argument(
        "campaign_ids",
        metavar="CAMPAIGN_ID",
        nargs="*",
        help="one or more campaigns, or study names with --optuna (none: pick from the list)",
    )
    add_display_arguments(parser)
    parser.add_argument(
        "--compare",
        action="store_true",
        help="with several campaigns: a Compare tab overlaying their hypervolume and Pareto fronts",
    )
    parser.add_argument(
        "--record",
        metavar="FILE",
        help="append every applied event to FILE (JSON lines; replay it with `materia-tui replay`)",
    )
    optuna = add_optuna_arguments(
        parser,
        "watch studies of an Optuna storage: an RDB URL (sqlite:///study.db, postgresql://...) "
        "or a journal file; the ids are study names; the storage is only read",
    )
    add_trial_grouping_arguments(
        optuna,
        needs="--optuna",
        n_trials_help="the study's number of trials; progress counts towards it and "
        "the watch ends like a completed campaign once N trials have finished",
    )
    add_connection_arguments(parser)


def skip_httpx_command_line() -> None:
    """httpx's package imports its own command-line tool (click, pygments, rich.progress:
    ~20 ms of a start) unless that import fails; nothing here runs it."""
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # None: "cannot import"


def run(args: argparse.Namespace) -> int:
    if _one_campaign_monitor(args):
        pause_collector()  # until the monitor's first frame is out (cli/display.py)
    try:
        return _run(args)
    finally:
        resume_collector()


def _one_campaign_monitor(args: argparse.Namespace) -> bool:
    """Whether this command line shows one campaign full screen (``wants_lines`` decides it
    for good, with its usage errors, once the ids are checked)."""
    lines = args.json or args.plain or not sys.stdout.isatty()
    return args.optuna is None and len(args.campaign_ids) == 1 and not lines


def _run(args: argparse.Namespace) -> int:
    if args.optuna is not None:
        from materia_tui.cli.watch_optuna import run_optuna

        return run_optuna(args)
    if args.batch is not None or args.n_trials is not None:
        raise UsageError("--batch and --n-trials go with --optuna STORAGE.")
    campaign_ids = list(dict.fromkeys(check_campaign_id(c) for c in args.campaign_ids))
    lines = wants_lines(args, len(campaign_ids), several="campaign ids", one="campaign")
    if len(campaign_ids) != 1:
        return _watch_several(args, campaign_ids)
    return _watch_one(args, campaign_ids[0], lines)


def _watch_one(args: argparse.Namespace, campaign_id: str, lines: bool) -> int:
    skip_httpx_command_line()
    settings = settings_from_args(args)
    redact = [settings.token] if settings.token else []  # the token stays out of --record's file
    source: EventSource
    if lines:
        from materia_tui.source.websocket import WebSocketSource

        source = WebSocketSource(campaign_id, settings)
    else:
        # The monitor: the first page before the live source's imports (websockets, httpx),
        # which wait for the first frame (source/first_page.py).
        from materia_tui.source.first_page import FirstPageSource

        source = FirstPageSource(campaign_id, settings, wait_for_first_frame=True)
    return watch_one(args, source, campaign_id, lines=lines, redact=redact)


def _watch_several(args: argparse.Namespace, campaign_ids: list[str]) -> int:
    skip_httpx_command_line()
    from materia_tui.protocol import Campaign
    from materia_tui.source.rest import RestClient
    from materia_tui.source.websocket import WebSocketSource

    settings = settings_from_args(args)

    def open_source(campaign_id: str) -> EventSource:
        return WebSocketSource(campaign_id, settings)

    async def list_campaigns() -> list[Campaign]:
        async with RestClient(settings) as rest:
            return await rest.list_campaigns()

    campaigns = [(campaign_id, open_source(campaign_id)) for campaign_id in campaign_ids]
    app = several_app(args, campaigns, open_source=open_source, list_campaigns=list_campaigns)
    return report_app_exit(app, app.run())
