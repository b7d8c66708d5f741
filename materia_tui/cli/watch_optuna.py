"""``materia-tui watch --optuna STORAGE [STUDY ...]``: Optuna studies as campaigns.

Everything ``watch`` does works the same (monitor, ``--plain``, ``--json``,
``--record``, ``--exit-on-complete``, tabs, the picker); only the source
differs: ``OptunaSource`` reads the storage instead of a server.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from typing import TYPE_CHECKING

from materia_tui.cli.display import display, report_app_exit
from materia_tui.errors import UsageError

if TYPE_CHECKING:
    from materia_tui.protocol import Campaign
    from materia_tui.source import EventSource
    from materia_tui.source.optuna import OptunaSource
    from materia_tui.ui.multi_app import MultiMonitorApp


def optuna_source(args: argparse.Namespace, study_name: str) -> OptunaSource:
    from materia_tui.source.optuna import OptunaSource

    return OptunaSource(args.optuna, study_name, batch=args.batch, n_trials=args.n_trials)


def run_optuna(args: argparse.Namespace) -> int:
    names = list(dict.fromkeys(args.campaign_ids))
    lines = args.json or args.plain or not sys.stdout.isatty()
    if args.compare and len(names) < 2:
        raise UsageError("--compare needs two or more study names.")
    if len(names) != 1:
        if args.record:
            raise UsageError("--record records exactly one study.")
        if lines:
            raise UsageError("--plain and --json (and output to a pipe) watch exactly one study.")
        return _watch_several(args, names)
    return _watch_one(args, names[0], lines)


def _watch_one(args: argparse.Namespace, study_name: str, lines: bool) -> int:
    from materia_tui.state import CampaignState

    optuna = optuna_source(args, study_name)
    source: EventSource = optuna
    if args.record:
        from materia_tui.source.recording import Recorder, RecordingSource

        source = RecordingSource(source, Recorder(args.record))
    state = CampaignState(optuna.campaign_id)
    if lines:
        return asyncio.run(display(args, source, state, optuna.campaign_id, lines=True))
    return asyncio.run(_monitor(args, source, state, optuna.campaign_id))


async def _monitor(args: argparse.Namespace, source: EventSource, state: object, campaign_id: str) -> int:
    """The monitor, reading the study while the UI is imported (as ``watch`` does)."""
    from materia_tui.cli.headstart import HeadStart
    from materia_tui.state import CampaignState

    assert isinstance(state, CampaignState)
    head = HeadStart(source, state)
    try:
        await asyncio.to_thread(importlib.import_module, "materia_tui.ui.app")
        return await display(args, head, state, campaign_id, lines=False, title=f"materia-tui {campaign_id}")
    finally:
        await head.aclose()


def _watch_several(args: argparse.Namespace, study_names: list[str]) -> int:
    app = several_studies_app(args, study_names)
    return report_app_exit(app, app.run())


def several_studies_app(args: argparse.Namespace, study_names: list[str]) -> MultiMonitorApp:
    """One tab per study; with no names, the picker lists the storage's studies."""
    from materia_tui.output.alerts import AlertSettings
    from materia_tui.source.optuna_listing import list_study_campaigns
    from materia_tui.source.optuna_study import campaign_id_for
    from materia_tui.ui.multi_app import MultiMonitorApp

    study_of = {campaign_id_for(name): name for name in study_names}
    first_listing: list[tuple[str, Campaign]] | None = None
    if not study_names:
        # Read the list now: an unreadable storage is exit 2 here, not an error in a picker.
        first_listing = list_study_campaigns(args.optuna)

    def open_source(campaign_id: str) -> EventSource:
        return optuna_source(args, study_of.get(campaign_id, campaign_id))

    async def list_campaigns() -> list[Campaign]:
        nonlocal first_listing
        listing, first_listing = first_listing, None
        if listing is None:
            listing = await asyncio.to_thread(list_study_campaigns, args.optuna)
        study_of.update({campaign.id: name for name, campaign in listing})
        return [campaign for _, campaign in listing]

    app = MultiMonitorApp(
        [(campaign_id, open_source(campaign_id)) for campaign_id in study_of],
        open_source=open_source,
        list_campaigns=list_campaigns,
        exit_on_complete=args.exit_on_complete,
        alerts=AlertSettings(desktop=args.notify),
        refresh=args.refresh,
        title=f"materia-tui {args.optuna}" if not study_names else None,
        compare=args.compare,
    )
    return app
