"""``materia-tui watch CAMPAIGN_ID...``: the full-screen monitor, or line output.

One id: the one-campaign monitor (or ``--plain`` / ``--json`` lines). Several
ids: one tab per campaign plus an "All" overview. No id (on a terminal): the
campaign picker lists the server's campaigns (REST) and opens the chosen ones.
With ``--optuna STORAGE`` the ids are Optuna study names, read from the storage
(materia_tui/cli/watch_optuna.py).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from typing import TYPE_CHECKING

from materia_tui.cli.common import (
    add_connection_arguments,
    add_display_arguments,
    check_campaign_id,
    positive_int,
    settings_from_args,
)
from materia_tui.cli.display import display, report_app_exit
from materia_tui.cli.main import Subparsers, add_command
from materia_tui.errors import UsageError

if TYPE_CHECKING:
    from materia_tui.source import EventSource
    from materia_tui.state import CampaignState


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
    add_optuna_arguments(parser)
    add_connection_arguments(parser)


def add_optuna_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Optuna studies (pip install 'materia-tui[optuna]')")
    group.add_argument(
        "--optuna",
        metavar="STORAGE",
        help="watch studies of an Optuna storage: an RDB URL (sqlite:///study.db, postgresql://...) "
        "or a journal file; the ids are study names; the storage is only read",
    )
    group.add_argument(
        "--batch",
        type=positive_int,
        metavar="N",
        help="with --optuna: trials per iteration, grouped by completion "
        "(default: the number of trials that ran at once)",
    )
    group.add_argument(
        "--n-trials",
        type=positive_int,
        metavar="N",
        help="with --optuna: the study's number of trials; progress counts towards it and "
        "the watch ends like a completed campaign once N trials have finished",
    )


def skip_httpx_command_line() -> None:
    """httpx's package imports its own command-line tool (click, pygments, rich.progress:
    ~20 ms of a start) unless that import fails; nothing here runs it."""
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # None: "cannot import"


def run(args: argparse.Namespace) -> int:
    if args.optuna is not None:
        from materia_tui.cli.watch_optuna import run_optuna

        return run_optuna(args)
    if args.batch is not None or args.n_trials is not None:
        raise UsageError("--batch and --n-trials go with --optuna STORAGE.")
    campaign_ids = list(dict.fromkeys(check_campaign_id(c) for c in args.campaign_ids))
    lines = args.json or args.plain or not sys.stdout.isatty()
    if args.compare and len(campaign_ids) < 2:
        raise UsageError("--compare needs two or more campaign ids.")
    if len(campaign_ids) != 1:
        if args.record:
            raise UsageError("--record records exactly one campaign.")
        if lines:
            raise UsageError("--plain and --json (and output to a pipe) watch exactly one campaign id.")
        return _watch_several(args, campaign_ids)
    return _watch_one(args, campaign_ids[0], lines)


def _watch_one(args: argparse.Namespace, campaign_id: str, lines: bool) -> int:
    skip_httpx_command_line()
    from materia_tui.source.websocket import WebSocketSource
    from materia_tui.state import CampaignState

    settings = settings_from_args(args)
    source: EventSource = WebSocketSource(campaign_id, settings)
    if args.record:
        from materia_tui.source.recording import Recorder, RecordingSource

        redact = [settings.token] if settings.token else []
        source = RecordingSource(source, Recorder(args.record, redact=redact))
    state = CampaignState(campaign_id)
    if lines:
        return asyncio.run(display(args, source, state, campaign_id, lines=True))
    return asyncio.run(_monitor(args, source, state, campaign_id))


async def _monitor(
    args: argparse.Namespace, source: EventSource, state: CampaignState, campaign_id: str
) -> int:
    """The monitor, connecting while it is built: the source starts now (metadata,
    handshake, history) and folds into ``state`` while the UI is imported in a
    thread, so the first frame shows the history (issue #5: start-up)."""
    from materia_tui.cli.headstart import HeadStart

    head = HeadStart(source, state)
    try:
        await asyncio.to_thread(importlib.import_module, "materia_tui.ui.app")
        return await display(args, head, state, campaign_id, lines=False)
    finally:
        await head.aclose()  # the monitor closes it too; closing twice is harmless


def _watch_several(args: argparse.Namespace, campaign_ids: list[str]) -> int:
    skip_httpx_command_line()
    from materia_tui.output.alerts import AlertSettings
    from materia_tui.protocol import Campaign
    from materia_tui.source.rest import RestClient
    from materia_tui.source.websocket import WebSocketSource
    from materia_tui.ui.multi_app import MultiMonitorApp

    settings = settings_from_args(args)

    def open_source(campaign_id: str) -> EventSource:
        return WebSocketSource(campaign_id, settings)

    async def list_campaigns() -> list[Campaign]:
        async with RestClient(settings) as rest:
            return await rest.list_campaigns()

    app = MultiMonitorApp(
        [(campaign_id, open_source(campaign_id)) for campaign_id in campaign_ids],
        open_source=open_source,
        list_campaigns=list_campaigns,
        exit_on_complete=args.exit_on_complete,
        alerts=AlertSettings(desktop=args.notify),
        refresh=args.refresh,
        compare=args.compare,
    )
    return report_app_exit(app, app.run())
